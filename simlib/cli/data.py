"""``simlib data check`` and ``simlib data demo``: CRM exports in, the demo company out."""

from __future__ import annotations

import sys

from simlib.cli.common import (
    EXIT_OK,
    EXIT_USER,
)


def cmd_data_check(args) -> int:
    """Validate a CRM export through a mapping; exit 2 when it has errors."""
    from simlib.data import DataError, load_data

    try:
        data = load_data(args.data, args.mapping, strict=not args.lenient, rejects=args.rejects)
    except DataError as e:
        print(e.report.format(limit=args.limit))
        _write_issues(e.report, args.issues)  # exits 2 anyway
        print(
            f"\n{args.data}: {len(e.report.errors):,} error(s); nothing loaded "
            "(use --lenient to load the good rows and write the rest to a rejects file)",
            file=sys.stderr,
        )
        return EXIT_USER
    print(data.report.format(limit=args.limit))
    written = _write_issues(data.report, args.issues)
    # lenient: loaded the good rows, but the input had errors
    if data.report.errors or not written:
        return EXIT_USER
    return EXIT_OK


def _write_issues(report, path) -> bool:
    """``--issues FILE``: every issue, one a row, as CSV. False when it cannot be written."""
    if not path:
        return True
    try:
        written = report.write_issues(path)
    except OSError as e:
        print(f"{path}: cannot write the issues file: {e.strerror or e}", file=sys.stderr)
        return False
    print(f"{len(report.issues):,} issue(s) written to {written}")
    return True


def cmd_data_demo(args) -> int:
    """Write the demo company's canonical tables to a folder."""
    from simlib.data import load_demo, write_tables

    data = load_demo(seed=args.seed)
    paths = write_tables(data.tables, args.out, fmt=args.format)
    for p in paths:
        print(p)
    print(
        f"{len(paths)} tables written to {args.out} "
        f"(read them back with: simlib data check --data {args.out} --mapping demo)"
    )
    return EXIT_OK


def add_parser(sub) -> None:
    data = sub.add_parser("data", help="check CRM exports, write the demo company")
    dsub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    c = dsub.add_parser("check", help="validate a CRM export through a column mapping")
    c.add_argument("--data", required=True, help="folder, file or SQLAlchemy URL")
    c.add_argument("--mapping", required=True, help="mapping file or name in params/mappings/")
    c.add_argument(
        "--lenient",
        action="store_true",
        help="load the good rows and write rejected ones to a rejects file",
    )
    c.add_argument("--rejects", default=None, help="where to write rejected rows (lenient)")
    c.add_argument(
        "--limit",
        type=int,
        default=200,
        help="show at most this many kinds of issue (each with a count and 3 examples)",
    )
    c.add_argument(
        "--issues",
        default=None,
        metavar="FILE",
        help="write every issue (file, row, column, value, message) to this CSV file",
    )
    c.set_defaults(func=cmd_data_check)
    w = dsub.add_parser("demo", help="write the demo company's tables")
    w.add_argument("--out", required=True)
    w.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    w.add_argument("--seed", type=int, default=None)
    w.set_defaults(func=cmd_data_demo)

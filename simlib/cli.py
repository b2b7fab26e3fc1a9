"""The ``simlib`` command line.

Every failure a user can cause (a bad file, a bad parameter, a bad flag) prints a
message naming what is wrong and exits with status 2; tracebacks are shown only with
``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simlib.config import ParamError

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2


class UserError(Exception):
    """A mistake in how simlib was called; shown as a message, not a traceback."""


# --------------------------------------------------------------------------- helpers


def _lang(args) -> str:
    if getattr(args, "lang", None):
        return args.lang
    from simlib.config import load_params

    try:
        return load_params("company.yaml").language
    except ParamError:
        return "en"


def _load_dataset(args):
    """The demo company, or ``--data`` through ``--mapping``."""
    from simlib.data import load_data, load_demo

    if getattr(args, "data", None):
        if not getattr(args, "mapping", None):
            raise UserError("--data needs --mapping (a file in params/mappings/, e.g. salesforce)")
        return load_data(args.data, args.mapping, strict=not getattr(args, "lenient", False),
                         rejects=getattr(args, "rejects", None))
    return load_demo(seed=getattr(args, "seed", None))


def _print_table(df, money_cols=(), pct_cols=(), lang="en", unit=None, out=None):
    from simlib.money import format_money, format_percent

    out = out or sys.stdout
    view = df.copy()
    for c in money_cols:
        view[c] = [("–" if v != v else format_money(v, "CNY", lang, unit=unit)) for v in view[c]]
    for c in pct_cols:
        view[c] = [format_percent(v) for v in view[c]]
    print(view.to_string(index=False), file=out)


# --------------------------------------------------------------------------- commands


def cmd_demo(args) -> int:
    """The main job on the demo company: today, a plan summary."""
    from simlib.overview import build_overview

    lang = _lang(args)
    data = _load_dataset(args)
    ov = build_overview(data, lang=lang)
    unit = "wan" if lang == "zh-CN" else "m"
    zh = lang == "zh-CN"
    print(f"{ov.company} — {'计划概览' if zh else 'plan summary'} "
          f"({'数据截至' if zh else 'data as of'} {ov.as_of.date()})")
    print()
    print(f"{'人员' if zh else 'Sales force'}:")
    _print_table(ov.headcount[["name", "teams", "reps", "new_hires"]], lang=lang)
    print()
    print(f"{ov.last_year} {'全年业绩 vs 目标' if zh else 'results vs target'}:")
    _print_table(ov.results_by_region[["name", "won", "target", "attainment"]],
                 money_cols=("won", "target"), pct_cols=("attainment",), lang=lang, unit=unit)
    print()
    print(f"{ov.as_of.year} {'年初至今 vs 全年目标' if zh else 'year to date vs full-year target'}:")
    _print_table(ov.ytd_by_region[["name", "won", "target", "attainment"]],
                 money_cols=("won", "target"), pct_cols=("attainment",), lang=lang, unit=unit)
    print()
    print(f"{'在途商机' if zh else 'Open pipeline'}:")
    _print_table(ov.pipeline_by_stage, money_cols=("amount", "weighted"), lang=lang, unit=unit)
    return EXIT_OK


def cmd_data_check(args) -> int:
    """Validate a CRM export through a mapping; exit 2 when it has errors."""
    from simlib.data import DataError, load_data

    try:
        data = load_data(args.data, args.mapping, strict=not args.lenient, rejects=args.rejects)
    except DataError as e:
        print(e.report.format(limit=args.limit))
        print(f"\n{args.data}: {len(e.report.errors):,} error(s); nothing loaded "
              "(use --lenient to load the good rows and write the rest to a rejects file)",
              file=sys.stderr)
        return EXIT_USER
    print(data.report.format(limit=args.limit))
    if data.report.errors:  # lenient: loaded the good rows, but the input had errors
        return EXIT_USER
    return EXIT_OK


def cmd_data_demo(args) -> int:
    """Write the demo company's canonical tables to a folder."""
    from simlib.data import load_demo, write_tables

    data = load_demo(seed=args.seed)
    paths = write_tables(data.tables, args.out, fmt=args.format)
    for p in paths:
        print(p)
    print(f"{len(paths)} tables written to {args.out} "
          f"(read them back with: simlib data check --data {args.out} --mapping demo)")
    return EXIT_OK


def cmd_params_check(args) -> int:
    """Validate every parameter file."""
    from simlib.config import validate_params

    loaded = validate_params(args.dir)
    for rel, model in loaded.items():
        print(f"ok  {rel}  ({type(model).__name__})")
    print(f"{len(loaded)} parameter files valid")
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simlib",
        description="Sales targets, commission design and performance tracking.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="run the main job on the embedded demo company")
    d.add_argument("--seed", type=int, default=None, help="demo company seed")
    d.add_argument("--lang", choices=["en", "zh-CN"], default=None)
    d.set_defaults(func=cmd_demo)

    data = sub.add_parser("data", help="check CRM exports, write the demo company")
    dsub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    c = dsub.add_parser("check", help="validate a CRM export through a column mapping")
    c.add_argument("--data", required=True, help="folder, file or SQLAlchemy URL")
    c.add_argument("--mapping", required=True, help="mapping file or name in params/mappings/")
    c.add_argument("--lenient", action="store_true",
                   help="load the good rows and write rejected ones to a rejects file")
    c.add_argument("--rejects", default=None, help="where to write rejected rows (lenient)")
    c.add_argument("--limit", type=int, default=200, help="show at most this many issues")
    c.set_defaults(func=cmd_data_check)
    w = dsub.add_parser("demo", help="write the demo company's tables")
    w.add_argument("--out", required=True)
    w.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    w.add_argument("--seed", type=int, default=None)
    w.set_defaults(func=cmd_data_demo)

    pc = sub.add_parser("params", help="validate parameter files")
    psub = pc.add_subparsers(dest="params_command", metavar="SUBCOMMAND")
    chk = psub.add_parser("check", help="validate every file in params/")
    chk.add_argument("dir", nargs="?", default=None)
    chk.set_defaults(func=cmd_params_check)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER
    from simlib.data.io import DataError

    try:
        return args.func(args)
    except (ParamError, DataError, UserError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - last line of defence: a message, not a traceback
        if args.debug:
            raise
        print(f"internal error: {type(e).__name__}: {e}\n(rerun with --debug for the traceback "
              "and please report it)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

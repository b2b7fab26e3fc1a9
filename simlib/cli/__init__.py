"""The ``simlib`` command line: parse, call one function, print.

One module per command group (:mod:`~simlib.cli.demo`, :mod:`~simlib.cli.data`,
:mod:`~simlib.cli.forecast`, :mod:`~simlib.cli.pay`, :mod:`~simlib.cli.targets`,
:mod:`~simlib.cli.tracking`, :mod:`~simlib.cli.reports`, :mod:`~simlib.cli.app`,
:mod:`~simlib.cli.params`); shared helpers in :mod:`~simlib.cli.common`. Building the
parser imports none of numpy, pandas, scipy, numba or matplotlib: each command imports
what it uses when it runs, so ``simlib --help`` answers at once and ``simlib payout``
loads only the plan code.

Every failure a user can cause (a bad file, a bad parameter, a bad flag) prints a
message naming what is wrong and exits with status 2; tracebacks are shown only with
``--debug``.
"""

from __future__ import annotations

import argparse
import sys

from simlib.cli import (
    app,
    clawbacks,
    data,
    demo,
    followups,
    forecast,
    honours,
    ledger,
    params,
    pay,
    plan_doc,
    pool,
    proposal,
    reports,
    solve,
    targets,
    tracking,
)
from simlib.cli import cache as cache_cli
from simlib.cli import deliver as deliver_cli
from simlib.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_USER, UserError, tune_memory

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_USER", "UserError", "build_parser", "main"]

#: Command groups in the order ``simlib --help`` lists them.
_GROUPS = (
    demo,
    data,
    forecast,
    pay,
    plan_doc,
    pool,
    proposal,
    ledger,
    targets,
    tracking,
    followups,
    honours,
    clawbacks,
    solve,
    reports,
    deliver_cli,
    app,
    cache_cli,
    params,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simlib",
        description="Sales targets, commission design and performance tracking.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        group.add_parser(sub)
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that are the user's to fix (shown as one line, exit 2)."""
    from simlib.config import ParamError
    from simlib.data.io import DataError
    from simlib.reports.templates import ReportError

    return (ParamError, DataError, UserError, ReportError)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # anywhere on the line, not only before the command
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(argv)
    args.debug = debug
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER
    tune_memory()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - last line of defence: a message, not a traceback
        if debug:
            raise
        if isinstance(e, _user_errors()):
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USER
        print(
            f"internal error: {type(e).__name__}: {e}\n(rerun with --debug for the traceback "
            "and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

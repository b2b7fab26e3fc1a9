"""``simlib params check``: validate every parameter file."""

from __future__ import annotations

from simlib.cli.common import (
    EXIT_OK,
)


def cmd_params_check(args) -> int:
    """Validate every parameter file."""
    from simlib.params import validate_params

    loaded = validate_params(args.dir)
    for rel, model in loaded.items():
        print(f"ok  {rel}  ({type(model).__name__})")
    print(f"{len(loaded)} parameter files valid")
    return EXIT_OK


def add_parser(sub) -> None:
    pc = sub.add_parser("params", help="validate parameter files")
    psub = pc.add_subparsers(dest="params_command", metavar="SUBCOMMAND")
    chk = psub.add_parser("check", help="validate every file in params/")
    chk.add_argument("dir", nargs="?", default=None)
    chk.set_defaults(func=cmd_params_check)

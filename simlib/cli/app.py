"""``simlib app``: the planners' web app (Voilà) on 127.0.0.1."""

from __future__ import annotations

from simlib.cli.common import (
    UserError,
)


def cmd_app(args) -> int:
    """``simlib app``: serve the widget notebooks until Ctrl-C."""
    from simlib.apps.server import AppError, serve

    try:
        return serve(args.port, open_browser=args.open)
    except AppError as e:
        raise UserError(str(e)) from None


def add_parser(subparsers) -> None:
    """Add ``simlib app [--port N] [--open]`` to the ``simlib`` command line."""
    p = subparsers.add_parser(
        "app",
        help="serve the target workshop, commission lab and tracking dashboard as a web app",
        description="Serve the widget notebooks in notebooks/ with Voilà on 127.0.0.1 (code "
        "hidden) until Ctrl-C.",
    )
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    p.add_argument("--open", action="store_true", help="open the app in the default web browser")
    p.set_defaults(func=cmd_app)

"""``simlib app``: the planners' web app (Voilà) on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

from simlib.cli.common import (
    UserError,
)


def _checked_source(data: str, mapping: str) -> tuple[str, str]:
    """The export and mapping the app kernels get, loaded once here so that a bad path
    or mapping is a message on the command line, not a broken app page. Paths are made
    absolute (each kernel starts in the notebooks' folder)."""
    from simlib.apps.session import open_data

    if not data:
        if mapping:
            raise UserError("--mapping needs --data (the CRM export the apps should open)")
        return "", ""
    if not mapping:
        raise UserError(
            f"--data {data} needs --mapping (a name in params/mappings/, e.g. salesforce, "
            "or a YAML file)"
        )
    if "://" not in data:
        data = str(Path(data).expanduser().resolve())
    if Path(mapping).expanduser().is_file():
        mapping = str(Path(mapping).expanduser().resolve())
    print(f"simlib app: checking {data} with mapping {mapping} ...", flush=True)
    dataset = open_data(data, mapping)  # DataError / ParamError: one clear message, exit 2
    report = getattr(dataset, "report", None)
    warnings = len(getattr(report, "warnings", ()) or ())
    note = f" ({warnings:,} warning(s): see simlib data check)" if warnings else ""
    print(f"simlib app: the apps open {data}{note}", flush=True)
    return data, mapping


def cmd_app(args) -> int:
    """``simlib app``: serve the widget notebooks until Ctrl-C."""
    from simlib.apps.server import AppError, port_is_free, serve

    if args.port is not None and not (0 < args.port < 65536):
        raise UserError(f"port must be a whole number from 1 to 65535; got {args.port}")
    if not port_is_free(args.port):
        # before the (possibly slow) check of the export
        raise UserError(
            f"port {args.port} on 127.0.0.1 is already in use (another simlib app?); "
            "stop it or choose another port with --port"
        )
    source, mapping = _checked_source(args.data or "", args.mapping or "")
    try:
        return serve(
            args.port,
            open_browser=args.open,
            source=source,
            mapping=mapping,
            preheat=args.preheat,
        )
    except AppError as e:
        raise UserError(str(e)) from None


def add_parser(subparsers) -> None:
    """Add ``simlib app [--port N] [--open] [--data PATH --mapping M]`` to ``simlib``."""
    from simlib.apps.session import MAPPING_ENV, SOURCE_ENV

    p = subparsers.add_parser(
        "app",
        help="serve the target workshop, commission lab and tracking dashboard as a web app",
        description="Serve the widget notebooks in notebooks/ with Voilà on 127.0.0.1 (code "
        "hidden) until Ctrl-C. The front page lists the three apps in the company's "
        "language (English / 中文 switch). Without --data the apps show the demo company.",
    )
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    p.add_argument("--open", action="store_true", help="open the app in the default web browser")
    p.add_argument(
        "--data",
        default=os.environ.get(SOURCE_ENV, ""),
        metavar="PATH",
        help="the CRM export the apps open (a folder, a file or a database URL; checked "
        f"before the server starts; default ${SOURCE_ENV} or the demo company)",
    )
    p.add_argument(
        "--mapping",
        default=os.environ.get(MAPPING_ENV, ""),
        metavar="M",
        help="the export's column mapping: a name in params/mappings/ (demo, salesforce, "
        f"hubspot) or a YAML file (default ${MAPPING_ENV})",
    )
    p.add_argument(
        "--preheat",
        type=int,
        default=0,
        metavar="N",
        help="keep N kernels per app started and computed ahead of a visit (default 0; "
        "each costs a full first computation and its memory)",
    )
    p.set_defaults(func=cmd_app)

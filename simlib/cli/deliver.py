"""``simlib deliver``: send each person their documents of an output folder."""

from __future__ import annotations

import json
import sys

from simlib.cli.common import EXIT_OK, LANG_CHOICES, user_lang

EXIT_NOT_DELIVERED = 1


def cmd_deliver(args) -> int:
    import logging

    from simlib.delivery.run import deliver
    from simlib.delivery.text import report_lines

    if not args.json:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    only = [w for text in args.only or () for w in text.split(",") if w.strip()]
    report = deliver(
        args.source,
        dry_run=args.dry_run,
        only=only,
        channel=args.channel,
        run=args.run,
        log_url=args.log,
    )
    lang = user_lang(args)
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(report.folder),
                    "dry_run": report.dry_run,
                    "log": report.log_url,
                    "ok": report.ok,
                    "deliveries": [o.to_dict(lang) for o in report.outcomes],
                    "nobody": [{"document": d.name, "why": why} for d, why in report.nobody],
                    "warnings": report.warnings,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        lines = report_lines(report, lang)
        for line in lines:
            bad = line.startswith(("NOT DELIVERED", "未送达"))
            print(line, file=sys.stderr if bad else sys.stdout)
    if report.dry_run:
        return EXIT_OK
    return EXIT_OK if report.ok else EXIT_NOT_DELIVERED


def add_parser(sub) -> None:
    d = sub.add_parser(
        "deliver",
        help="send each person their own documents (email, robot webhook)",
        description=(
            "Send each person only their documents of a folder of rendered reports (a report "
            "pack or the schedule's output): reps their own pack and statement, managers "
            "their team's reviews, the director the director pack. Recipients come from the "
            "org data and params/recipients.yaml; the mail server and robot from "
            "params/delivery.yaml. Nothing is sent twice: a delivery log remembers what "
            "reached whom. Exit status 1 when someone did not get their documents."
        ),
    )
    d.add_argument(
        "--from", dest="source", required=True, metavar="FOLDER", help="folder of rendered reports"
    )
    d.add_argument("--dry-run", action="store_true", help="list who gets what; send nothing")
    d.add_argument(
        "--only",
        action="append",
        metavar="WHO",
        help="only these people: id, name, email, team, or director/managers/reps "
        "(repeatable, or comma-separated)",
    )
    d.add_argument(
        "--channel", choices=("email", "webhook"), default=None, help="only this channel"
    )
    d.add_argument("--run", default=None, metavar="RUN_ID", help="only the documents of this run")
    d.add_argument(
        "--log",
        default=None,
        metavar="URL",
        help="delivery log (SQLAlchemy URL; default: delivery-log.sqlite in the folder)",
    )
    d.add_argument("--json", action="store_true", help="print the plan or outcome as JSON")
    d.add_argument("--lang", choices=LANG_CHOICES, default=None)
    d.set_defaults(func=cmd_deliver)

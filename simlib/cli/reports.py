"""``simlib render`` and ``simlib schedule``."""

from __future__ import annotations

import datetime as dt
import signal
import sys

from simlib.cli.common import EXIT_USER, UserError

EXIT_OK, EXIT_FAILED_ITEMS = 0, 1


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd stopping the timer's service, kill) ends a batch like Ctrl-C:
    reports being rendered finish, the manifest says ``interrupted``."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        pass


def _pairs(texts, flag: str) -> list[tuple[str, str]]:
    out = []
    for text in texts or ():
        if "=" not in text:
            raise UserError(f"{flag} {text!r}: expected NAME=VALUE")
        k, v = text.split("=", 1)
        out.append((k.strip(), v))
    return out


def cmd_render(args) -> int:
    from simlib.reports.batch import render_batch
    from simlib.reports.templates import available, parse_cli_value, template_info

    if args.list or not args.template:
        for name in available():
            t = template_info(name)
            print(name)
            for p in t.parameters.values():
                print(
                    f"    {p.name}: {p.type_text} = {p.default!r}"
                    + (f"   # {p.comment}" if p.comment else "")
                )
        return EXIT_OK
    t = template_info(args.template)
    grid: dict = {}
    for k, v in _pairs(args.param, "-p"):
        grid[k] = parse_cli_value(t, k, v)
    for k, v in _pairs(args.grid, "--grid"):
        grid[k] = "all" if v == "all" else [parse_cli_value(t, k, x) for x in v.split(",")]
    client = None
    if args.dask:
        from dask.distributed import Client

        client = Client(args.dask)
    _stop_on_sigterm()
    try:
        batch = render_batch(
            t.path,
            grid,
            args.out,
            pattern=args.name,
            workers=args.workers,
            client=client,
            progress=not args.quiet,
            pdf=not getattr(args, "no_pdf", False),
        )
    finally:
        if client is not None:
            client.close()
    for r in batch.results:
        if r.ok:
            print(f"ok      {r.html}")
    print(batch.summary())
    if batch.manifest_error:
        print(f"error: {batch.manifest_error}", file=sys.stderr)
        return EXIT_USER
    print(f"manifest: {batch.manifest}")
    return EXIT_OK if batch.ok else EXIT_FAILED_ITEMS


def _now(text: str | None):
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--now {text!r}: expected a date/time like 2026-11-30T08:05") from None


def cmd_schedule_list(args) -> int:
    from simlib.reports.schedule import job_table

    print(job_table(args.schedule, now=_now(args.now), out=args.out).to_string(index=False))
    return EXIT_OK


def cmd_schedule_run_due(args) -> int:
    from simlib.delivery import schedule_hook
    from simlib.reports.schedule import check_now, load_schedule, run_due

    schedule = load_schedule(args.schedule)
    now = _now(args.now)
    check_now(now, schedule.timezone, force=args.force or args.dry_run)
    _stop_on_sigterm()
    done = run_due(
        schedule,
        now=now,
        out=args.out,
        workers=args.workers,
        dry_run=args.dry_run,
        progress=not args.quiet,
        pdf=not getattr(args, "no_pdf", False),
        deliver=schedule_hook(dry_run=args.dry_run),  # jobs that say deliver: true
    )
    if not done:
        print("nothing due")
    for d in done:
        if d.status == "would run":
            print(f"due     {d.job} @ {d.occurrence:%Y-%m-%d %H:%M}")
    failed = [d for d in done if d.status == "failed"]
    for d in failed:
        print(
            f"failed  {d.job} @ {d.occurrence:%Y-%m-%d %H:%M}: " + ", ".join(d.failed or []),
            file=sys.stderr,
        )
    return EXIT_FAILED_ITEMS if failed else EXIT_OK


def add_parser(sub) -> None:
    r = sub.add_parser("render", help="render a report template, or a batch over a grid")
    r.add_argument("template", nargs="?", help="a template name (see --list) or a notebook path")
    r.add_argument(
        "-p", "--param", action="append", metavar="NAME=VALUE", help="a parameter (repeatable)"
    )
    r.add_argument(
        "--grid",
        action="append",
        metavar="NAME=V1,V2|all",
        help="render once per value (repeatable: every combination); "
        "'all' = every rep/team/region for rep_id/team/region",
    )
    r.add_argument("--out", default="reports", help="output folder (default: reports)")
    r.add_argument(
        "--name",
        default=None,
        metavar="PATTERN",
        help="output path pattern, e.g. 'reps/{rep_id}/{period}'",
    )
    r.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    r.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="render on a Dask cluster (scheduler address)",
    )
    r.add_argument("--list", action="store_true", help="list templates and their parameters")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--no-pdf", action="store_true", help="HTML only, no PDF beside it")
    r.set_defaults(func=cmd_render)

    s = sub.add_parser("schedule", help="scheduled reports (params/schedule.yaml)")
    ssub = s.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND")
    for name, func, text in (
        ("list", cmd_schedule_list, "jobs, last run and next run"),
        ("run-due", cmd_schedule_run_due, "render what fell due since each job's last success"),
    ):
        c = ssub.add_parser(name, help=text)
        c.add_argument(
            "--schedule", default=None, help="schedule file (default: params/schedule.yaml)"
        )
        c.add_argument("--out", default=None, help="output root (default: the schedule's output)")
        c.add_argument("--now", default=None, help="pretend it is this time (ISO), for testing")
        if name == "run-due":
            c.add_argument("--workers", type=int, default=None)
            c.add_argument(
                "--dry-run", action="store_true", help="list what is due, render nothing"
            )
            c.add_argument("--quiet", action="store_true", help="no progress bar")
            c.add_argument("--no-pdf", action="store_true", help="HTML only, no PDF beside it")
            c.add_argument(
                "--force",
                action="store_true",
                help="accept a --now more than a day from the clock (its runs are recorded)",
            )
        c.set_defaults(func=func)

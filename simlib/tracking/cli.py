"""``simlib alerts``: the early-warning report on the command line."""

from __future__ import annotations

__all__ = ["add_cli", "cmd_alerts"]


def cmd_alerts(args) -> int:
    """Alert episodes of a period (raised and cleared), or the active ones with --active."""
    import pandas as pd

    from simlib.cli import UserError, _json_rows, _lang, _load_dataset
    from simlib.periods import as_window
    from simlib.tracking.early_warning import alert_history
    from simlib.tracking.facts import prepare

    try:
        win = as_window(args.period)
    except ValueError as e:
        raise UserError(str(e)) from None
    data = _load_dataset(args)
    f = prepare(data)
    if win.start > f.as_of:
        raise UserError(
            f"--period {args.period} starts after the data end ({f.as_of.date()}); "
            "nothing to check yet"
        )
    if args.within is not None:
        try:
            f.members(args.within)
        except ValueError as e:
            raise UserError(f"--within: {e}") from None
    try:
        hist = alert_history(f, win.start, min(win.end, f.as_of), within=args.within)
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.active:
        hist = hist[hist["status"] == "active"]
    lang = _lang(args)
    zh = lang == "zh-CN"
    if args.json:
        cols = [
            "rule_id",
            "kind",
            "metric",
            "rep_id",
            "name",
            "team_id",
            "raised_on",
            "cleared_on",
            "status",
            "weeks_active",
            "value",
            "reference",
            "ratio",
            "threshold",
            "window_start",
            "window_end",
            "classification",
            "evidence_zh" if zh else "evidence",
            "diagnosis_zh" if zh else "diagnosis",
            "intervention_zh" if zh else "intervention",
        ]
        out = hist[cols].rename(
            columns={
                "evidence_zh": "evidence",
                "diagnosis_zh": "diagnosis",
                "intervention_zh": "intervention",
            }
        )
        print(_json_rows(out.assign(period=win.label, as_of=str(f.as_of.date()))))
        return 0
    head = (
        f"预警 {win.label}（数据截至 {f.as_of.date()}）：{len(hist)} 条，其中 "
        f"{int((hist['status'] == 'active').sum())} 条仍在生效"
        if zh
        else f"Alerts {win.label} (data as of {f.as_of.date()}): {len(hist)} episodes, "
        f"{int((hist['status'] == 'active').sum())} still active"
    )
    print(head)
    for r in hist.itertuples():
        cleared = (
            ("生效中" if zh else "active")
            if pd.isna(r.cleared_on)
            else (
                f"{pd.Timestamp(r.cleared_on).date()} 解除"
                if zh
                else f"cleared {pd.Timestamp(r.cleared_on).date()}"
            )
        )
        raised = pd.Timestamp(r.raised_on).date()
        print(
            f"- [{r.rule_id}] {r.rep_id} {r.name} ({r.team_id}) "
            + (f"{raised} 触发，{cleared}" if zh else f"raised {raised}, {cleared}")
        )
        print(f"    {r.evidence_zh if zh else r.evidence}")
        if r.classification:
            print(f"    {r.intervention_zh if zh else r.intervention}")
    return 0


def add_cli(subparsers) -> None:
    """Add ``simlib alerts --period P [--json]`` to the ``simlib`` command line."""
    p = subparsers.add_parser("alerts", help="early-warning alerts of a period (SPEC R8)")
    p.add_argument(
        "--period", required=True, help="2026-11, 2026-Q4, 2026-W47 or 2026-10-01..2026-11-20"
    )
    p.add_argument("--within", default=None, help="only reps at or below this org node")
    p.add_argument("--active", action="store_true", help="only alerts still active at the end")
    p.add_argument("--json", action="store_true", help="one JSON object per alert episode")
    from simlib.cli import add_data_args

    add_data_args(p)
    p.set_defaults(func=cmd_alerts)

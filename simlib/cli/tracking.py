"""``simlib alerts`` and ``simlib scorecard``: early warnings and scorecards."""

from __future__ import annotations

import json

from simlib.cli.common import (
    UserError,
    add_data_args,
    json_rows,
    load_dataset,
    user_lang,
)


def cmd_alerts(args) -> int:
    """Alert episodes of a period (raised and cleared), or the active ones with --active."""
    import pandas as pd

    from simlib.periods import as_window
    from simlib.tracking.early_warning import alert_history
    from simlib.tracking.facts import prepare

    try:
        win = as_window(args.period)
    except ValueError as e:
        raise UserError(str(e)) from None
    data = load_dataset(args)
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
    lang = user_lang(args)
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
        print(json_rows(out.assign(period=win.label, as_of=str(f.as_of.date()))))
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


def cmd_scorecard(args) -> int:
    """``simlib scorecard``: the ranked scorecard of a period, or one rep's review pack."""
    from simlib.periods import as_window
    from simlib.scorecard import evaluation_period, review_pack, scorecard
    from simlib.tracking.facts import prepare

    data = load_dataset(args)
    f = prepare(data)
    try:
        win = as_window(args.period)
    except ValueError as e:
        raise UserError(str(e)) from None
    if win.start > f.as_of:
        raise UserError(
            f"--period {args.period} starts after the data end ({f.as_of.date()}); "
            "nothing to score yet"
        )
    try:
        if args.within is not None:
            f.members(args.within)
        card = scorecard(f, win, weight_set=args.weight_set, within=args.within)
    except ValueError as e:
        raise UserError(str(e)) from None
    lang = user_lang(args)
    if args.rep:
        try:
            evaluated = evaluation_period(f, args.rep, win)
            if evaluated != win.label:  # the rep's team is evaluated quarterly
                card = scorecard(f, evaluated, weight_set=args.weight_set)
                win = as_window(evaluated)
            pack = review_pack(f, args.rep, win, card=card)
        except ValueError as e:
            raise UserError(str(e)) from None
        if args.json:
            print(
                json.dumps(
                    {
                        "rep_id": pack.rep_id,
                        "period": pack.period,
                        "score": pack.score,
                        "rank": pack.rank,
                        "classification": pack.classification,
                        "markdown": pack.to_markdown(lang),
                    },
                    ensure_ascii=False,
                    indent=1,
                )
            )
        else:
            print(pack.to_markdown(lang), end="")
        return 0
    if args.json:
        print(
            json_rows(
                card.table.assign(
                    period=card.period, weight_set=card.weight_set, as_of=str(card.as_of.date())
                )
            )
        )
        return 0
    zh = lang == "zh-CN"
    print(
        f"{card.period} 绩效评分（权重方案 {card.weight_set}，数据截至 {card.as_of.date()}）"
        if zh
        else (
            f"{card.period} scorecard (weight set {card.weight_set}, "
            f"data as of {card.as_of.date()})"
        )
    )
    view = card.table[
        ["rank", "rep_id", "name", "team_id", "score", "team_rank", "quartile"]
    ].copy()
    view["score"] = view["score"].map(lambda x: "–" if x != x else f"{x:.1f}")
    view["quartile"] = view["quartile"].map(lambda x: "–" if x != x else f"Q{int(x)}")
    if zh:
        view.columns = ["排名", "编号", "姓名", "团队", "得分", "团队排名", "四分位"]
    print(view.to_string(index=False))
    if card.other_cycle:
        names = f.nodes.drop_duplicates("node_id").set_index("node_id")
        teams = [
            str(names.at[t, "name_zh" if zh else "name"]) if t in names.index else t
            for t in card.other_cycle
        ]
        print(
            f"按季度考核的团队不在月度评分中：{'、'.join(teams)}（用 --period 季度查看）"
            if zh
            else f"Teams evaluated quarterly are not in a month's scorecard: {', '.join(teams)} "
            "(use a quarter as --period)"
        )
    return 0


def add_alerts_parser(subparsers) -> None:
    """Add ``simlib alerts --period P [--json]`` to the ``simlib`` command line."""
    p = subparsers.add_parser("alerts", help="early-warning alerts of a period (SPEC R8)")
    p.add_argument(
        "--period", required=True, help="2026-11, 2026-Q4, 2026-W47 or 2026-10-01..2026-11-20"
    )
    p.add_argument("--within", default=None, help="only reps at or below this org node")
    p.add_argument("--active", action="store_true", help="only alerts still active at the end")
    p.add_argument("--json", action="store_true", help="one JSON object per alert episode")
    add_data_args(p)
    p.set_defaults(func=cmd_alerts)


def add_scorecard_parser(subparsers) -> None:
    """Add ``simlib scorecard --period P [--json]`` to the ``simlib`` command line."""
    p = subparsers.add_parser("scorecard", help="weighted KPI scorecard of a period (SPEC R11)")
    p.add_argument("--period", required=True, help="2026-10 (monthly), 2026-Q3 (quarterly), ...")
    p.add_argument(
        "--weight-set", default=None, help="weight set in params/scorecard.yaml (e.g. saas)"
    )
    p.add_argument("--within", default=None, help="only reps at or below this org node")
    p.add_argument("--rep", default=None, help="print this rep's review pack instead")
    p.add_argument("--json", action="store_true", help="one JSON object per rep")
    add_data_args(p)
    p.set_defaults(func=cmd_scorecard)


def add_parser(sub) -> None:
    add_alerts_parser(sub)
    add_scorecard_parser(sub)

"""``simlib honours``, ``simlib promotion`` and ``simlib milestones`` (SPEC R12, R15).

* ``simlib honours --period P [--nominations FILE]``: top seller (company and each team),
  best newcomer, customer-reputation award and the exploration award. The exploration
  award needs a nominations file (CSV or Excel), one row per nomination:

  ==========  ===========================================================
  rep_id      the rep (id or name; also ``rep``)
  period      the period nominated for, as the scorecard says it (2026-10, 2026-Q3)
  approach    the new approach tried, in a few words (required)
  evidence    where it is documented (optional)
  ==========  ===========================================================

  A nominee who met the period's target is not awarded (the award is for an experiment
  that missed); the command says so.
* ``simlib promotion --period P``: reps in the top quartile so many periods running.
* ``simlib milestones [--as-of D]``: progress of ``params/milestones.yaml``.
"""

from __future__ import annotations

from simlib.cli.common import EXIT_OK, UserError, add_data_args, parse_date
from simlib.cli.reach import (
    Names,
    check_period,
    dataset,
    date_text,
    dump_json,
    lang_of,
    print_table,
    say,
)

_NOMINATION_COLUMNS = {
    "rep_id": ("rep_id", "rep", "owner_id", "owner", "salesperson", "销售"),
    "period": ("period", "期间"),
    "approach": ("approach", "new_approach", "方法"),
    "evidence": ("evidence", "documentation", "证据"),
}


def read_nominations(path: str, names: Names, lang: str):
    """The nominations file as ``rep_id, period, approach, evidence`` (reps by id or name);
    a user error naming the file, the row and the column for anything wrong."""
    import pandas as pd

    from simlib.cli.pay import _read_table

    noms = _read_table(path, "--nominations", _NOMINATION_COLUMNS, ("rep_id", "period", "approach"))
    problems = []
    ids = []
    for i, r in noms.iterrows():
        row = i + 2  # as a spreadsheet numbers it (the header is row 1)
        rep = r["rep_id"]
        try:
            ids.append(
                names.resolve(str(rep), "rep_id", ("rep",)) if isinstance(rep, str) else None
            )
        except UserError as e:
            problems.append(f"{path}, {say(lang, 'row', '第')} {row}: {e}")
            ids.append(None)
        if not isinstance(rep, str) or not rep.strip():
            problems.append(
                say(
                    lang, f"{path}, row {row}: rep_id is empty", f"{path}，第 {row} 行：rep_id 为空"
                )
            )
        per = r["period"]
        if not isinstance(per, str) or not per.strip():
            problems.append(
                say(
                    lang, f"{path}, row {row}: period is empty", f"{path}，第 {row} 行：period 为空"
                )
            )
        else:
            try:
                check_period(per.strip(), lang, "period")
            except UserError as e:
                problems.append(f"{path}, {say(lang, 'row', '第')} {row}: {e}")
        ap = r["approach"]
        if not isinstance(ap, str) or not ap.strip():
            problems.append(
                say(
                    lang,
                    f"{path}, row {row}: approach is empty (say what new approach was tried)",
                    f"{path}，第 {row} 行：approach 为空（请写明尝试的新方法）",
                )
            )
    if problems:
        raise UserError("\n".join(problems))
    out = pd.DataFrame(
        {
            "rep_id": ids,
            "period": noms["period"].str.strip(),
            "approach": noms["approach"].str.strip(),
            "evidence": noms["evidence"] if "evidence" in noms else "",
        }
    )
    return out


def _scored_period(args, f, lang):
    win = check_period(args.period, lang)
    if win.start > f.as_of:
        raise UserError(
            say(
                lang,
                f"--period {args.period} starts after the data end ({date_text(f.as_of)})",
                f"--period {args.period} 晚于数据截止日（{date_text(f.as_of)}）",
            )
        )
    return win


def _reason(r, period: str, units, lang: str) -> str:
    """Why the award, with a top seller's amount in the page's unit."""
    if r["award"] != "top_seller":
        return r["reason_zh"] if lang == "zh-CN" else r["reason"]
    amt = units.amount(r["value"], unit=True)
    if r["scope"] == "company":
        return say(lang, f"{amt} won in {period}, the most in the company",
                   f"{period}成交{amt}，全公司第一")  # fmt: skip
    return say(lang, f"{amt} won in {period}, the most in the team", f"{period}成交{amt}，团队第一")


def cmd_honours(args) -> int:
    """The period's honours, with the exploration award from a nominations file."""
    from simlib.present import Units
    from simlib.scorecard import honours, scorecard
    from simlib.tracking import metrics, prepare

    lang = lang_of(args)
    zh = lang == "zh-CN"
    data = dataset(args)
    f = prepare(data)
    names = Names(f, lang)
    _scored_period(args, f, lang)
    noms = read_nominations(args.nominations, names, lang) if args.nominations else None
    try:
        card = scorecard(f, args.period)
        tab = honours(f, args.period, card=card, nominations=noms)
    except ValueError as e:
        raise UserError(str(e)) from None
    units = Units(lang)
    awards = [
        {
            "award": r["award"],
            "award_name": r["award_name_zh"] if zh else r["award_name"],
            "scope": r["scope"],
            "scope_name": say(lang, "company", "全公司")
            if r["scope"] == "company"
            else names(r["scope"]),
            "rep_id": r["rep_id"],
            "rep": names(r["rep_id"]),
            "team": names(r["team_id"]),
            "value": r["value"],
            "reason": _reason(r, card.period, units, lang),
        }
        for _, r in tab.iterrows()
    ]
    not_awarded = []
    if noms is not None:
        mine = noms[noms["period"] == card.period]
        won = set(tab.loc[tab["award"] == "exploration", "rep_id"])
        att = metrics(f, args.period, level="rep", as_of=card.as_of).set_index("node_id")[
            "attainment"
        ]
        scored = set(card.table["rep_id"])
        for r in mine.itertuples():
            if r.rep_id in won:
                continue
            a = att.get(r.rep_id, float("nan"))
            if r.rep_id not in scored:
                why = say(lang, "not on this period's scorecard", "不在本期评分名单中")
            elif a == a and a >= 1:
                why = say(
                    lang,
                    f"met the target ({a:.0%}): the award is for an experiment that missed",
                    f"已达成目标（{a:.0%}）：探索奖只颁给未达标的新尝试",
                )
            else:
                why = say(lang, "no target for the period", "本期没有目标")
            not_awarded.append({"rep_id": r.rep_id, "rep": names(r.rep_id), "reason": why})
    if args.json:
        dump_json({"period": card.period, "as_of": card.as_of, "awards": awards,
                   "nominated_not_awarded": not_awarded})  # fmt: skip
        return EXIT_OK
    print(
        say(
            lang,
            f"Honours {card.period} (data as of {date_text(card.as_of)})",
            f"{card.period} 荣誉榜（数据截至 {date_text(card.as_of)}）",
        )
    )
    if not awards:
        print(say(lang, "No awards this period.", "本期没有获奖者。"))
    else:
        print_table(
            [say(lang, "Award", "奖项"), say(lang, "Scope", "范围"), say(lang, "Rep", "销售"),
             say(lang, "Team", "团队"), say(lang, "Why", "理由")],
            [[a["award_name"], a["scope_name"], a["rep"], a["team"], a["reason"]] for a in awards],
        )  # fmt: skip
    if args.nominations is None:
        print(
            say(
                lang,
                "Exploration award: no nominations given (--nominations FILE with rep_id, "
                "period, approach, evidence)",
                "探索奖：未提供提名（--nominations 文件，列为 rep_id、period、approach、evidence）",
            )
        )
    for x in not_awarded:
        print(
            say(lang, f"Nominated, not awarded: {x['rep']} — {x['reason']}",
                f"获提名未获奖：{x['rep']}——{x['reason']}")
        )  # fmt: skip
    return EXIT_OK


def cmd_promotion(args) -> int:
    """Promotion candidates: the top quartile of the score so many periods running."""
    from simlib.present import pct
    from simlib.scorecard import promotion_candidates
    from simlib.tracking import prepare

    lang = lang_of(args)
    data = dataset(args)
    f = prepare(data)
    names = Names(f, lang)
    _scored_period(args, f, lang)
    if args.periods is not None and args.periods < 1:
        raise UserError(
            say(lang, f"--periods must be at least 1; got {args.periods}",
                f"--periods 至少为 1；输入为 {args.periods}")
        )  # fmt: skip
    noms = read_nominations(args.nominations, names, lang) if args.nominations else None
    try:
        tab = promotion_candidates(f, args.period, periods=args.periods, nominations=noms)
    except ValueError as e:
        raise UserError(str(e)) from None
    role = {
        "supervisor": ("supervisor", "主管"),
        "regional_manager": ("regional manager", "区域经理"),
    }
    rows = [
        {
            "rep_id": r["rep_id"],
            "rep": names(r["rep_id"]),
            "team": names(r["team_id"]),
            "periods": [p.strip() for p in str(r["periods"]).split(",")],
            "scores": [float(s) for s in str(r["scores"]).split(",")],
            "worst_percentile": float(r["worst_percentile"]),
            "next_role": r["next_role"],
            "next_role_name": say(
                lang, *role.get(r["next_role"], (r["next_role"], r["next_role"]))
            ),
        }
        for _, r in tab.iterrows()
    ]
    if args.json:
        dump_json({"period": args.period, "candidates": rows})
        return EXIT_OK
    print(
        say(
            lang,
            f"Promotion candidates up to {args.period}: {len(rows)} "
            "(top quartile of the score every period of the run)",
            f"截至 {args.period} 的晋升候选人：{len(rows)} 名（连续各期得分均在前四分之一）",
        )
    )
    if rows:
        print_table(
            [say(lang, "Rep", "销售"), say(lang, "Team", "团队"), say(lang, "Periods", "期间"),
             say(lang, "Scores", "得分"), say(lang, "Lowest percentile", "最低百分位"),
             say(lang, "Next role", "晋升方向")],
            [[r["rep"], r["team"], ", ".join(r["periods"]),
              ", ".join(f"{s:.1f}" for s in r["scores"]), pct(r["worst_percentile"], 0),
              r["next_role_name"]] for r in rows],
            right=(4,),
        )  # fmt: skip
    return EXIT_OK


_METRIC = {
    "new_customers": ("new customers", "新客户"),
    "revenue": ("revenue", "成交额"),
    "deals_won": ("deals won", "成交单数"),
    "qualified_visits": ("qualified visits", "有效拜访"),
}
_STATUS = {
    "achieved": ("achieved", "已达成"),
    "on_track": ("on track", "进度正常"),
    "behind": ("behind", "落后"),
    "missed": ("missed", "未达成"),
    "not_started": ("not started", "未开始"),
}


def cmd_milestones(args) -> int:
    """Progress of the milestones in params/milestones.yaml."""
    import pandas as pd

    from simlib.present import Units, number, pct
    from simlib.scorecard import Milestone, milestone_progress
    from simlib.tracking import prepare
    from simlib.tracking.milestones import load_milestones, resolve_milestones

    lang = lang_of(args)
    params, source = load_milestones(args.file)
    data = dataset(args)
    f = prepare(data)
    names = Names(f, lang)
    items = resolve_milestones(params, f.nodes.drop_duplicates("node_id"), source)
    as_of = parse_date(args.as_of) if args.as_of else None
    day = f.as_of if as_of is None else min(pd.Timestamp(as_of), f.as_of)
    ms = [Milestone(**{k: v for k, v in it.items() if k != "name_zh"}) for it in items]
    tab = milestone_progress(f, ms, as_of=as_of) if ms else None
    units = Units(lang)
    rows = []
    for it, (_, r) in zip(items, tab.iterrows() if tab is not None else []):
        title = (it["name_zh"] or it["name"]) if lang == "zh-CN" else (it["name"] or it["name_zh"])
        rows.append(
            {
                "node_id": r["node_id"],
                "node": names(r["node_id"]),
                "name": title or names(r["node_id"]),
                "metric": r["metric"],
                "target": float(r["target"]),
                "start": r["start"],
                "deadline": r["deadline"],
                "actual": float(r["actual"]),
                "expected": float(r["expected"]),
                "progress": float(r["progress"]),
                "achieved_on": r["achieved_on"],
                "status": r["status"],
                "status_name": say(lang, *_STATUS[r["status"]]),
            }
        )
    if args.json:
        dump_json({"as_of": day, "milestones": rows})
        return EXIT_OK
    print(
        say(
            lang,
            f"Milestones on {date_text(day)}: {len(rows)}",
            f"{date_text(day)} 里程碑进度：{len(rows)} 项",
        )
    )

    def amount(r, key):
        if r["metric"] == "revenue":
            return units.amount(r[key], unit=True)
        return number(r[key], 1 if key == "expected" else 0)

    if rows:
        print_table(
            [say(lang, "Milestone", "里程碑"), say(lang, "Who", "对象"),
             say(lang, "Measure", "指标"), say(lang, "Target", "目标"),
             say(lang, "So far", "已完成"), say(lang, "Expected by now", "按进度应完成"),
             say(lang, "Progress", "完成度"), say(lang, "Period", "期限"),
             say(lang, "Status", "状态")],
            [[r["name"], r["node"], say(lang, *_METRIC[r["metric"]]), amount(r, "target"),
              amount(r, "actual"), amount(r, "expected"), pct(r["progress"], 0),
              f"{date_text(r['start'])} – {date_text(r['deadline'])}",
              r["status_name"] + (say(lang, f" ({date_text(r['achieved_on'])})",
                                      f"（{date_text(r['achieved_on'])}）")
                                  if r["status"] == "achieved" else "")]
             for r in rows],
            right=(3, 4, 5, 6),
        )  # fmt: skip
    return EXIT_OK


def add_parser(sub) -> None:
    h = sub.add_parser(
        "honours", help="the period's honours, incl. the exploration award (SPEC R15)"
    )
    h.add_argument("--period", required=True, help="2026-10 (monthly) or 2026-Q3 (quarterly)")
    h.add_argument(
        "--nominations",
        default=None,
        help="CSV/Excel for the exploration award: rep_id, period, approach, evidence",
    )
    h.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(h)
    h.set_defaults(func=cmd_honours)

    p = sub.add_parser("promotion", help="promotion candidates: sustained top quartile (SPEC R15)")
    p.add_argument("--period", required=True, help="the last period of the run (2026-10, 2026-Q3)")
    p.add_argument("--periods", type=int, default=None, help="periods running (default in params)")
    p.add_argument("--nominations", default=None, help="exploration nominations (excused periods)")
    p.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(p)
    p.set_defaults(func=cmd_promotion)

    m = sub.add_parser("milestones", help="progress of the milestones in params (SPEC R12)")
    m.add_argument("--as-of", default=None, help="the day to judge on (default: data end)")
    m.add_argument("--file", default=None, help="milestones file (default params/milestones.yaml)")
    m.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(m)
    m.set_defaults(func=cmd_milestones)

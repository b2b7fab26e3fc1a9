"""``simlib reminders``, ``simlib leads``, ``simlib drill`` and ``simlib key-accounts``:
follow-ups, lead analysis and the dashboard's drill-down on the command line (SPEC R6,
R9, R10).

Each prints a table for people (names, not ids; amounts in the page's unit: 万元 in
zh-CN, ¥M or ¥k in English) or, with ``--json``, plain data with stable snake_case keys.
"""

from __future__ import annotations

from simlib.cli.common import EXIT_OK, UserError, add_data_args, parse_date
from simlib.cli.reach import (
    Names,
    category,
    check_period,
    dataset,
    date_text,
    dump_json,
    lang_of,
    plural,
    print_table,
    say,
)

# --------------------------------------------------------------------------- reminders

_KINDS = ("followup", "renewal", "appeal")
_KIND_TEXT = {
    "followup": ("Follow-up", "线索跟进"),
    "renewal": ("Renewal", "续约"),
    "appeal": ("Appeal", "申诉"),
}


def _when(r, lang: str) -> str:
    """How due a reminder is, said plainly ("745 days overdue")."""
    d = int(r["days"])
    if r["kind"] == "followup":
        if r["status"] == "overdue":
            return say(lang, f"{plural(d, 'day')} overdue", f"已逾期{d}天")
        if d == 0:
            return say(lang, "due today", "今天到期")
        if d > 0:
            return say(lang, f"due, {plural(d, 'day')} late", f"到期，晚了{d}天")
        return say(lang, f"due in {plural(-d, 'day')}", f"{-d}天后到期")
    if r["kind"] == "renewal":
        return say(lang, f"renews in {plural(-d, 'day')}", f"{-d}天后续约")
    if r["status"] == "overdue":
        return say(
            lang, f"{plural(d, 'working day')} past the deadline", f"超过裁决期限{d}个工作日"
        )
    return (
        say(lang, "decision due today", "今天需裁决")
        if d == 0
        else say(lang, "decision due next working day", "下一个工作日需裁决")
    )


def _subject(r, lang: str) -> str:
    if r["kind"] == "followup":
        src, _, ctype = str(r["subject"]).partition(" lead, ")
        ctype = ctype.replace(" ", "_")
        return say(
            lang,
            f"lead {r['subject_id']} ({category(src, lang)}, {category(ctype, lang)})",
            f"线索 {r['subject_id']}（{category(src, lang)}，{category(ctype, lang)}）",
        )
    if r["kind"] == "appeal":
        return say(lang, f"appeal {r['subject_id']}", f"申诉 {r['subject_id']}")
    return str(r["subject"])


def _appeals(args, data, lang):
    """Open appeals due or overdue, from the governance ledger when it exists (asking
    never creates a ledger file); ``(frame or None, note)``."""
    from simlib.ledger.params import ledger_exists, load_appeal_params, resolve_ledger_url

    url = resolve_ledger_url(args.ledger, load_appeal_params())
    if not ledger_exists(url):
        return None, say(
            lang,
            "no governance ledger yet: no appeals to decide",
            "尚无治理台账：没有待裁决的申诉",
        )
    from simlib.ledger import open_ledger
    from simlib.tracking import appeal_reminders

    led = open_ledger(data.reps, data.org, url=url)
    try:
        return appeal_reminders(led), ""
    finally:
        close = getattr(led, "close", None)
        if close:
            close()


def reminder_rows(args, data, facts, names: Names, lang: str):
    """The reminders as records (see ``--json``) and a note line."""
    import pandas as pd

    from simlib.tracking import followup_reminders, renewal_reminders

    as_of = parse_date(args.as_of) if args.as_of else None
    kinds = [args.kind] if args.kind else list(_KINDS)
    parts, note = [], ""
    if "followup" in kinds:
        parts.append(followup_reminders(facts, as_of))
    if "renewal" in kinds:
        parts.append(renewal_reminders(facts, as_of))
    if "appeal" in kinds:
        ap, note = _appeals(args, data, lang)
        if ap is not None:
            parts.append(ap)
    if not parts:  # only appeals asked for, and no ledger
        parts.append(followup_reminders(facts, as_of).iloc[:0])
    frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    rep = names.resolve(args.rep, "--rep", ("rep",))
    team = names.resolve(args.team, "--team", ("team",))
    if rep is not None:
        frame = frame[frame["rep_id"] == rep]
    if team is not None:
        frame = frame[frame["team_id"] == team]
    msg = "message_zh" if lang == "zh-CN" else "message"
    rows = [
        {
            "kind": r["kind"],
            "status": r["status"],
            "rep_id": r["rep_id"],
            "rep": names(r["rep_id"]),
            "team_id": r["team_id"],
            "team": names(r["team_id"]),
            "subject_id": r["subject_id"],
            "subject": _subject(r, lang),
            "due_date": r["due_date"],
            "days": int(r["days"]),
            "when": _when(r, lang),
            "value": r["value"],
            "message": r[msg],
        }
        for _, r in frame.iterrows()
    ]
    return rows, note


def cmd_reminders(args) -> int:
    """Follow-ups overdue or due, renewals coming up, appeals waiting, grouped by rep."""
    import pandas as pd

    from simlib.present import Units
    from simlib.tracking import prepare

    lang = lang_of(args)
    if args.rep and args.team:
        raise UserError(say(lang, "give --rep or --team, not both", "--rep 与 --team 只能选一个"))
    data = dataset(args)
    f = prepare(data)
    names = Names(f, lang)
    rows, note = reminder_rows(args, data, f, names, lang)
    day = f.as_of if not args.as_of else min(pd.Timestamp(parse_date(args.as_of)), f.as_of)
    reps: dict[str, list] = {}
    for r in rows:
        reps.setdefault(r["rep_id"], []).append(r)
    order = sorted(reps, key=lambda k: (-max(x["days"] for x in reps[k]), names(k)))
    if args.json:
        dump_json(
            {
                "as_of": day,
                "count": len(rows),
                "by_rep": [
                    {
                        "rep_id": k,
                        "rep": names(k),
                        "team": reps[k][0]["team"],
                        "count": len(reps[k]),
                    }
                    for k in order
                ],
                "reminders": rows,
                "note": note or None,
            }
        )
        return EXIT_OK
    units = Units(lang)
    counts = {k: sum(r["kind"] == k for r in rows) for k in _KINDS}
    overdue = sum(r["status"] == "overdue" for r in rows)
    print(
        say(
            lang,
            f"Reminders on {date_text(day)}: {len(rows)} for "
            f"{plural(len(reps), 'person', 'people')} "
            f"({plural(counts['followup'], 'follow-up')}, {overdue} overdue; "
            f"{plural(counts['renewal'], 'renewal')}; {plural(counts['appeal'], 'appeal')})",
            f"{date_text(day)} 待办提醒：{len(rows)} 条，涉及 {len(reps)} 人"
            f"（线索跟进 {counts['followup']} 条，其中逾期 {overdue} 条；续约 "
            f"{counts['renewal']} 条；申诉 {counts['appeal']} 条）",
        )
    )
    if note:
        print(note)
    if not rows:
        print(say(lang, "Nothing to remind.", "没有需要提醒的事项。"))
        return EXIT_OK
    heads = [
        say(lang, "What", "类型"),
        say(lang, "Subject", "对象"),
        say(lang, "Due", "到期日"),
        say(lang, "When", "状态"),
        units.header("金额", "Value"),
    ]
    for k in order:
        items = reps[k]
        print()
        print(
            f"{names(k)} · {items[0]['team']} · " + say(lang, f"{len(items)}", f"{len(items)} 条")
        )
        print_table(
            heads,
            [
                [
                    _KIND_TEXT[r["kind"]][1 if lang == "zh-CN" else 0],
                    r["subject"],
                    date_text(r["due_date"]),
                    r["when"],
                    units.amount(r["value"]),
                ]
                for r in items
            ],
            right=(4,),
            indent="  ",
        )
    return EXIT_OK


# --------------------------------------------------------------------------- leads

_REASON = {
    "qualified": ("qualified lead", "已确认线索"),
    "key_account": ("key account", "大客户"),
    "log_value": ("estimated value", "预计金额"),
    "rep_conversion": ("the rep's conversion record", "销售的转化记录"),
}


def reason_text(feature: str, lang: str) -> str:
    """The main reason of a lead's rank as people read it."""
    if feature.startswith("source="):
        src = category(feature.split("=", 1)[1], lang)
        return say(lang, f"source: {src}", f"来源：{src}")
    en, zh = _REASON.get(feature, (feature.replace("_", " "), feature))
    return say(lang, en, zh)


def _within(args, names: Names) -> str | None:
    return names.resolve(getattr(args, "within", None), "--within")


def cmd_leads(args) -> int:
    """``simlib leads sources`` and ``simlib leads rank``."""
    if args.leads_command == "sources":
        return _leads_sources(args)
    return _leads_rank(args)


def _leads_units(lang):
    from simlib.present import Units

    return Units(lang, scale="wan" if lang == "zh-CN" else "k")


def _leads_sources(args) -> int:
    from simlib.tracking import lead_source_conversion, prepare

    lang = lang_of(args)
    if args.period is not None:
        win = check_period(args.period, lang)
    data = dataset(args)
    f = prepare(data)
    names = Names(f, lang)
    within = _within(args, names)
    if args.period is not None and win.start > f.as_of:
        raise UserError(
            say(
                lang,
                f"--period {args.period} starts after the data end ({date_text(f.as_of)})",
                f"--period {args.period} 晚于数据截止日（{date_text(f.as_of)}）",
            )
        )
    tab = lead_source_conversion(f, args.period, by=args.by, within=within)
    rows = [
        {
            args.by: r[args.by],
            "label": category(r[args.by], lang),
            "leads": int(r["leads"]),
            "open": int(r["open"]),
            "decided": int(r["decided"]),
            "converted": int(r["converted"]),
            "conversion": r["conversion"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "won_deals": int(r["won_deals"]),
            "won_revenue": float(r["won_revenue"]),
            "revenue_per_lead": r["revenue_per_lead"],
        }
        for _, r in tab.iterrows()
    ]
    period = args.period or say(lang, "the twelve months to the data end", "截至数据日的十二个月")
    if args.json:
        dump_json({"period": args.period, "by": args.by, "within": within, "rows": rows})
        return EXIT_OK
    from simlib.present import pct

    units = _leads_units(lang)
    scope = f" · {names(within)}" if within else ""
    print(
        say(
            lang,
            f"Lead conversion by {'source' if args.by == 'source' else 'customer type'} · "
            f"{period}{scope} (decided leads: converted ÷ converted or disqualified; "
            "95% interval)",
            f"线索转化（按{'来源' if args.by == 'source' else '客户类型'}）· {period}{scope}"
            "（已有结论的线索：转化 ÷（转化 + 不合格）；95% 区间）",
        )
    )
    print_table(
        [
            say(lang, "Source", "来源")
            if args.by == "source"
            else say(lang, "Customer type", "客户类型"),
            say(lang, "Leads", "线索数"),
            say(lang, "Open", "跟进中"),
            say(lang, "Converted", "已转化"),
            say(lang, "Conversion", "转化率"),
            say(lang, "95% interval", "95% 区间"),
            units.header("成交额", "Won revenue"),
            units.header("每条线索成交额", "Revenue per lead"),
        ],
        [
            [
                r["label"],
                f"{r['leads']:,}",
                f"{r['open']:,}",
                f"{r['converted']:,}",
                pct(r["conversion"]),
                f"{pct(r['ci_low'])}–{pct(r['ci_high'])}",
                units.amount(r["won_revenue"]),
                units.amount(r["revenue_per_lead"], decimals=2 if lang == "zh-CN" else 1),
            ]
            for r in rows
        ],
        right=(1, 2, 3, 4, 5, 6, 7),
    )
    return EXIT_OK


def _leads_rank(args) -> int:
    from simlib.present import pct
    from simlib.tracking import prepare, rank_open_leads

    lang = lang_of(args)
    if args.top < 1:
        raise UserError(
            say(
                lang,
                f"--top must be at least 1; got {args.top}",
                f"--top 至少为 1；输入为 {args.top}",
            )
        )
    data = dataset(args)
    f = prepare(data)
    names = Names(f, lang)
    rep = names.resolve(args.rep, "--rep", ("rep",))
    within = rep or _within(args, names)
    tab = rank_open_leads(f, within=within)
    total = len(tab)
    tab = tab.head(args.top)
    rows = [
        {
            "rank": int(r["rank"]),
            "lead_id": r["lead_id"],
            "rep_id": r["rep_id"],
            "rep": names(r["rep_id"]),
            "source": r["source"],
            "customer_type": r["customer_type"],
            "estimated_value": float(r["estimated_value"]),
            "p_convert": float(r["p_convert"]),
            "expected_value": float(r["expected_value"]),
            "next_followup_date": r["next_followup_date"],
            "top_reason": r["top_reason"],
            "reason": reason_text(r["top_reason"], lang),
        }
        for _, r in tab.iterrows()
    ]
    if args.json:
        dump_json({"open_leads": total, "within": within, "rows": rows})
        return EXIT_OK
    units = _leads_units(lang)
    scope = f" · {names(within)}" if within else ""
    print(
        say(
            lang,
            f"Open leads by their chance to convert{scope}: top {len(rows)} of {total}",
            f"待跟进线索按转化可能性排序{scope}：{total} 条中的前 {len(rows)} 条",
        )
    )
    print_table(
        [
            "#",
            say(lang, "Lead", "线索"),
            say(lang, "Rep", "销售"),
            say(lang, "Source", "来源"),
            say(lang, "Customer type", "客户类型"),
            units.header("预计金额", "Est. value"),
            say(lang, "Chance", "转化概率"),
            units.header("期望金额", "Expected"),
            say(lang, "Next follow-up", "下次跟进"),
            say(lang, "Main reason", "主要原因"),
        ],
        [
            [
                r["rank"],
                r["lead_id"],
                r["rep"],
                category(r["source"], lang),
                category(r["customer_type"], lang),
                units.amount(r["estimated_value"]),
                pct(r["p_convert"], 0),
                units.amount(r["expected_value"]),
                date_text(r["next_followup_date"]),
                r["reason"],
            ]
            for r in rows
        ],
        right=(0, 5, 6, 7),
    )
    return EXIT_OK


# --------------------------------------------------------------------------- drill

_CHILD = {"company": "region", "region": "team", "team": "rep", "rep": "rep"}


def drill_rows(f, period: str, by, within, level, names: Names, lang: str):
    """The drill-down as records (see ``--json``)."""
    from simlib.tracking import metrics

    m = metrics(f, period, level=level, within=within, by=by)
    if by:
        tot = m.groupby("node_id")["revenue"].transform("sum")
        m = m.assign(share=m["revenue"] / tot.where(tot > 0))
    keep = [
        "revenue",
        "target",
        "attainment",
        "deals_won",
        "new_customers",
        "win_rate",
        "collected",
        "collection_rate",
        "visits",
        "lead_conversion",
        "status",
    ]
    out = []
    for _, r in m.iterrows():
        row = {"node_id": r["node_id"], "name": names(r["node_id"])}
        if by:
            row[by] = r[by]
            row["label"] = category(r[by], lang)
            row["share"] = r["share"]
        for k in keep:
            v = r[k]
            row[k] = v if k == "status" else (None if v != v else float(v))
        out.append(row)
    return out, m


def cmd_drill(args) -> int:
    """The dashboard's metrics for a period, per node and per product line or customer type."""
    from simlib.present import Units, count, pct
    from simlib.tracking import prepare

    lang = lang_of(args)
    win = check_period(args.period, lang)
    data = dataset(args)
    f = prepare(data)
    if win.start > f.as_of:
        raise UserError(
            say(
                lang,
                f"--period {args.period} starts after the data end ({date_text(f.as_of)})",
                f"--period {args.period} 晚于数据截止日（{date_text(f.as_of)}）",
            )
        )
    names = Names(f, lang)
    within = _within(args, names)
    level = args.level or _CHILD[names.level.get(within, "company")]
    rows, _ = drill_rows(f, args.period, args.by, within, level, names, lang)
    if args.json:
        dump_json(
            {
                "period": win.label,
                "as_of": f.as_of,
                "level": level,
                "by": args.by,
                "within": within,
                "rows": rows,
            }
        )
        return EXIT_OK
    units = Units(lang)
    by_text = {
        None: ("", ""),
        "product_line": (" by product line", "（按产品线）"),
        "customer_type": (" by customer type", "（按客户类型）"),
    }[args.by]
    scope = f" · {names(within)}" if within else ""
    print(
        say(
            lang,
            f"{win.label}{by_text[0]}{scope} (data as of {date_text(f.as_of)})",
            f"{win.label}{by_text[1]}{scope}（数据截至 {date_text(f.as_of)}）",
        )
    )
    lvl = {"region": ("Region", "大区"), "team": ("Team", "团队"), "rep": ("Rep", "销售")}.get(
        level, ("Node", "节点")
    )
    if args.by:
        heads = [
            say(lang, *lvl),
            say(lang, "Product line", "产品线")
            if args.by == "product_line"
            else say(lang, "Customer type", "客户类型"),
            units.header("成交额", "Revenue"),
            say(lang, "Share", "占比"),
            say(lang, "Deals won", "成交单数"),
            say(lang, "New customers", "新客户"),
            say(lang, "Win rate", "赢单率"),
            say(lang, "Collection rate", "回款率"),
        ]
        body = [
            [
                r["name"],
                r["label"],
                units.amount(r["revenue"]),
                pct(r["share"]),
                count(r["deals_won"]),
                count(r["new_customers"]),
                pct(r["win_rate"]),
                pct(r["collection_rate"]),
            ]
            for r in rows
        ]
        if args.by == "customer_type":
            heads += [say(lang, "Visits", "拜访"), say(lang, "Lead conversion", "线索转化率")]
            for b, r in zip(body, rows):
                b += [count(r["visits"]), pct(r["lead_conversion"])]
        print_table(heads, body, right=tuple(range(2, len(heads))))
        return EXIT_OK
    status = {
        "ahead": ("ahead", "领先"),
        "on_pace": ("on pace", "正常"),
        "not_started": ("not started", "未开始"),
        "behind": ("behind pace", "落后"),
        "no_target": ("no target", "无目标"),
    }
    print_table(
        [
            say(lang, *lvl),
            units.header("成交额", "Revenue"),
            units.header("目标", "Target"),
            say(lang, "Attainment", "达成率"),
            say(lang, "Pace", "进度"),
            say(lang, "New customers", "新客户"),
            say(lang, "Collection rate", "回款率"),
            say(lang, "Visits", "拜访"),
            say(lang, "Lead conversion", "线索转化率"),
        ],
        [
            [
                r["name"],
                units.amount(r["revenue"]),
                units.amount(r["target"]),
                pct(r["attainment"]),
                say(lang, *status.get(r["status"], (str(r["status"]), str(r["status"]))))
                if isinstance(r["status"], str) and r["status"]
                else "—",
                count(r["new_customers"]),
                pct(r["collection_rate"]),
                count(r["visits"]),
                pct(r["lead_conversion"]),
            ]
            for r in rows
        ],
        right=(1, 2, 3, 5, 6, 7, 8),
    )
    return EXIT_OK


# --------------------------------------------------------------------------- key accounts


def cmd_key_accounts(args) -> int:
    """Key-account follow-up: last visit, days since, overdue; coverage per node."""
    import pandas as pd

    from simlib.present import Units, count, pct
    from simlib.tracking import key_account_followup, key_account_status, prepare

    lang = lang_of(args)
    if args.max_gap_days < 1:
        raise UserError(
            say(lang, f"--max-gap-days must be at least 1; got {args.max_gap_days}",
                f"--max-gap-days 至少为 1；输入为 {args.max_gap_days}")
        )  # fmt: skip
    data = dataset(args)
    f = prepare(data)
    names = Names(f, lang)
    within = _within(args, names)
    as_of = parse_date(args.as_of) if args.as_of else None
    day = f.as_of if as_of is None else min(pd.Timestamp(as_of), f.as_of)
    level = args.level or {"company": "team", "region": "team"}.get(
        names.level.get(within, "company"), "rep"
    )
    st = key_account_status(f, as_of=as_of, within=within, max_gap_days=args.max_gap_days)
    cov = key_account_followup(
        f, level=level, as_of=as_of, within=within, max_gap_days=args.max_gap_days
    )
    accounts = [
        {
            "customer_id": r["customer_id"],
            "customer": r["name"],
            "rep_id": r["rep_id"],
            "rep": names(r["rep_id"]),
            "team": names(r["team_id"]),
            "last_visit": r["last_visit"],
            "days_since_visit": None
            if r["days_since_visit"] != r["days_since_visit"]
            else int(r["days_since_visit"]),
            "visits_90d": int(r["visits_90d"]),
            "open_pipeline": float(r["open_pipeline"]),
            "overdue": bool(r["overdue"]),
        }
        for _, r in st.iterrows()
    ]
    nodes = [
        {
            "node_id": r["node_id"],
            "name": names(r["node_id"]),
            "key_accounts": int(r["key_accounts"]),
            "followed_up": int(r["followed_up"]),
            "overdue": int(r["overdue"]),
            "coverage": float(r["coverage"]),
        }
        for _, r in cov.sort_values("coverage").iterrows()
    ]
    if args.json:
        dump_json(
            {
                "as_of": day,
                "max_gap_days": args.max_gap_days,
                "within": within,
                "level": level,
                "nodes": nodes,
                "accounts": accounts,
            }
        )
        return EXIT_OK
    units = Units(lang)
    n_over = sum(a["overdue"] for a in accounts)
    scope = f" · {names(within)}" if within else ""
    print(
        say(
            lang,
            f"Key accounts on {date_text(day)}{scope}: {len(accounts)}, {n_over} not visited "
            f"in the last {args.max_gap_days} days",
            f"{date_text(day)} 大客户跟进{scope}：共 {len(accounts)} 家，其中 {n_over} 家超过 "
            f"{args.max_gap_days} 天未拜访",
        )
    )
    lvl = {"team": ("Team", "团队"), "rep": ("Rep", "销售"), "region": ("Region", "大区")}[level]
    print_table(
        [
            say(lang, *lvl),
            say(lang, "Key accounts", "大客户数"),
            say(lang, "Visited", "已拜访"),
            say(lang, "Overdue", "逾期"),
            say(lang, "Coverage", "覆盖率"),
        ],
        [
            [
                n["name"],
                count(n["key_accounts"]),
                count(n["followed_up"]),
                count(n["overdue"]),
                pct(n["coverage"]),
            ]
            for n in nodes
        ],  # fmt: skip
        right=(1, 2, 3, 4),
    )
    shown = [a for a in accounts if a["overdue"] or args.all]
    if not shown:
        return EXIT_OK
    top = shown[: args.top]
    print()
    print(
        say(
            lang,
            ("Key accounts" if args.all else "Overdue key accounts")
            + (f" (top {len(top)} of {len(shown)})" if len(top) < len(shown) else ""),
            ("大客户" if args.all else "逾期未拜访的大客户")
            + (f"（{len(shown)} 家中的前 {len(top)} 家）" if len(top) < len(shown) else ""),
        )
    )
    never = say(lang, "never visited", "从未拜访")
    print_table(
        [
            say(lang, "Customer", "客户"),
            say(lang, "Rep", "销售"),
            say(lang, "Last visit", "最近拜访"),
            say(lang, "Days since", "间隔天数"),
            say(lang, "Visits (90 days)", "近90天拜访"),
            units.header("在途商机", "Open pipeline"),
        ],
        [
            [
                a["customer"],
                a["rep"],
                date_text(a["last_visit"]) if a["days_since_visit"] is not None else never,
                "—"
                if a["days_since_visit"] is None
                else say(lang, f"{a['days_since_visit']} days", f"{a['days_since_visit']} 天"),
                count(a["visits_90d"]),
                units.amount(a["open_pipeline"]),
            ]
            for a in top
        ],
        right=(3, 4, 5),
    )
    return EXIT_OK


# --------------------------------------------------------------------------- parsers


def add_parser(sub) -> None:
    p = sub.add_parser(
        "reminders",
        help="follow-ups overdue or due, renewals coming up, appeals waiting (SPEC R9)",
    )
    p.add_argument(
        "--as-of", default=None, help="the day the reminders are for (default: data end)"
    )
    who = p.add_mutually_exclusive_group()
    who.add_argument("--rep", default=None, help="one rep (name or id)")
    who.add_argument("--team", default=None, help="one team (name or id)")
    p.add_argument("--kind", choices=_KINDS, default=None, help="only this kind of reminder")
    p.add_argument(
        "--ledger", default=None, help="the governance ledger's URL (default params/appeals.yaml)"
    )
    p.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(p)
    p.set_defaults(func=cmd_reminders)

    lp = sub.add_parser("leads", help="lead-source conversion and open leads ranked (SPEC R10)")
    lsub = lp.add_subparsers(dest="leads_command", metavar="SUBCOMMAND")
    lp.set_defaults(func=lambda args: (lp.print_help(), 2)[1])
    s = lsub.add_parser("sources", help="which lead sources or customer types convert best")
    s.add_argument(
        "--period", default=None, help="leads created in this period (default: 12 months)"
    )
    s.add_argument("--by", choices=("source", "customer_type"), default="source")
    s.add_argument("--within", default=None, help="only leads of reps under this node (name or id)")
    s.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(s)
    s.set_defaults(func=cmd_leads)
    r = lsub.add_parser("rank", help="open leads ranked by their chance to convert")
    r.add_argument("--rep", default=None, help="one rep's leads (name or id)")
    r.add_argument("--within", default=None, help="only leads of reps under this node")
    r.add_argument("--top", type=int, default=20, help="how many to list (default 20)")
    r.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(r)
    r.set_defaults(func=cmd_leads)

    d = sub.add_parser(
        "drill", help="a period's metrics per node, by product line or customer type (SPEC R6)"
    )
    d.add_argument("--period", required=True, help="2026-11, 2026-Q3, 2026, 2026-W45, ...")
    d.add_argument("--by", choices=("product_line", "customer_type"), default=None)
    d.add_argument("--within", default=None, help="a region, team or rep (name or id)")
    d.add_argument(
        "--level",
        choices=("region", "team", "rep"),
        default=None,
        help="the rows (default: the level below --within)",
    )
    d.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(d)
    d.set_defaults(func=cmd_drill)

    k = sub.add_parser(
        "key-accounts", help="key-account follow-up: last visit, days since, overdue (SPEC R6)"
    )
    k.add_argument("--within", default=None, help="a region, team or rep (name or id)")
    k.add_argument("--as-of", default=None, help="the day to judge on (default: data end)")
    k.add_argument("--max-gap-days", type=int, default=30, help="overdue after this many days")
    k.add_argument("--level", choices=("region", "team", "rep"), default=None)
    k.add_argument("--top", type=int, default=20, help="accounts listed (default 20)")
    k.add_argument("--all", action="store_true", help="list every key account, not only overdue")
    k.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(k)
    k.set_defaults(func=cmd_key_accounts)

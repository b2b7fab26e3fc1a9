"""Report sections for what the reach commands compute (issue 16: follow-ups, leads,
drill-down, key accounts, milestones, clawbacks, the bonus pool, promotion and honours),
for the weekly and monthly team reviews, the rep pack and the director's pay document.

Each builder is a pure function of the company's facts (and, for the pay sections, its
deals) returning a :class:`~simlib.views.governance.Section`: a title, one sentence
(what is shown, or why there is nothing), and a table by name in the page's units
(:class:`simlib.present.Units`), both languages. The numbers are the library's own
(:mod:`simlib.tracking`, :mod:`simlib.scorecard`, :mod:`simlib.plans`), the same the
commands print.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simlib import tracking
from simlib.cache import memo_on
from simlib.i18n import category as _category
from simlib.i18n import escape as _esc
from simlib.present import Col, Units, pct, status_color
from simlib.present import table as present_table
from simlib.tracking.facts import Facts
from simlib.views.governance import Section, pay_units

__all__ = [
    "Director",
    "KEY_ACCOUNT_GAP_DAYS",
    "LEAD_REASONS",
    "MIN_DECIDED",
    "category",
    "clawbacks",
    "drill",
    "followups_due",
    "honours",
    "key_account_coverage",
    "key_accounts_idle",
    "lead_reason",
    "lead_sources",
    "milestones",
    "open_leads",
    "pool_payouts",
    "promotion",
    "read_nominations",
]

#: A key account not visited for more than this many days is overdue (``simlib
#: key-accounts``' default).
KEY_ACCOUNT_GAP_DAYS = 30
#: Fewer decided leads than this: a source's conversion is said to be too uncertain.
MIN_DECIDED = 20

#: The main reason of an open lead's rank (the lead model's feature), in words.
LEAD_REASONS: dict[str, tuple[str, str]] = {
    "qualified": ("a qualified lead", "已确认的线索"),
    "key_account": ("a key account", "大客户"),
    "log_value": ("its estimated value", "预计金额较高"),
    "rep_conversion": ("your conversion record", "本人的转化记录"),
}

_W: dict[str, tuple[str, str]] = {
    # titles
    "followups": ("Follow-ups due", "待跟进事项"),
    "my_followups": ("My follow-ups due", "我的待跟进事项"),
    "idle": ("Key accounts not visited", "久未拜访的大客户"),
    "sources": ("Lead sources", "线索来源转化"),
    "drill": ("The month by product line and customer type", "本月按产品线与客户类型"),
    "coverage": ("Key-account follow-up", "大客户跟进覆盖"),
    "milestones": ("Milestones", "里程碑"),
    "my_milestones": ("My milestones", "我的里程碑"),
    "clawbacks": ("Clawbacks", "提成追回"),
    "my_clawbacks": ("My clawbacks", "我的提成追回"),
    "leads": ("My open leads by chance to convert", "我的在途线索（按转化可能性）"),
    "pool": ("Bonus pool payouts", "奖金池发放名单"),
    "promotion": ("Promotion candidates", "晋升候选人"),
    "honours": ("Honours", "荣誉榜"),
    # columns
    "rep": ("Rep", "销售"),
    "team": ("Team", "团队"),
    "what": ("What", "类型"),
    "subject": ("Lead or customer", "线索或客户"),
    "due": ("Due", "到期日"),
    "when": ("How late", "逾期情况"),
    "value": ("Value", "金额"),
    "items": ("Items", "事项数"),
    "overdue_fu": ("Follow-ups overdue", "逾期跟进"),
    "most": ("Most overdue", "最长逾期"),
    "renewals": ("Renewals due", "待续约"),
    "customer": ("Customer", "客户"),
    "last_visit": ("Last visit", "最近拜访"),
    "days_since": ("Days since", "间隔天数"),
    "visits90": ("Visits (90 days)", "近90天拜访"),
    "pipeline": ("Open pipeline", "在途商机"),
    "never": ("never visited", "从未拜访"),
}


def _t(key: str, lang: str, **kw) -> str:
    en, zh = _W[key]
    return (zh if lang == "zh-CN" else en).format(**kw)


def _say(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh-CN" else en


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def category(value, lang: str) -> str:
    """A category of the data (lead source, customer type, product line) in ``lang``."""
    if value is None or value != value:
        return _say(lang, "unknown", "未知")
    return _category(value, lang)


def lead_reason(feature: str, lang: str) -> str:
    """The main reason of an open lead's rank as people read it."""
    if feature.startswith("source="):
        src = category(feature.split("=", 1)[1], lang)
        return _say(lang, f"its source: {src}", f"来源：{src}")
    en, zh = LEAD_REASONS.get(feature, (feature.replace("_", " "), feature))
    return _say(lang, en, zh)


def _date(x) -> str:
    if x is None or x is pd.NaT or (not isinstance(x, str) and pd.isna(x)):
        return "—"
    return f"{pd.Timestamp(x):%Y-%m-%d}"


class _Names:
    """Ids → names in the page's language (the Chinese name in zh-CN where there is one)."""

    def __init__(self, f: Facts, lang: str):
        nodes = f.nodes.drop_duplicates("node_id")
        self.zh = lang == "zh-CN"
        self.en_ = {}
        self.zh_ = {}
        for nid, en, zh in zip(nodes["node_id"].astype(str), nodes["name"], nodes["name_zh"]):
            self.en_[nid] = en if isinstance(en, str) and en else nid
            self.zh_[nid] = zh if isinstance(zh, str) and zh else self.en_[nid]

    def __call__(self, nid) -> str:
        if nid is None or nid != nid:
            return "—"
        return (self.zh_ if self.zh else self.en_).get(str(nid), str(nid))


def _section(title: str, sentence: str, *parts: str, heading: str = "h2") -> Section:
    body = f"<{heading}>{_esc(title)}</{heading}>"
    if sentence:
        body += f"<p>{_esc(sentence)}</p>"
    return Section(body + "".join(parts))


def _note(text: str) -> str:
    return f'<p class="simlib-note" style="color:#666;font-size:12px">{_esc(text)}</p>'


def _amount_col(key: str, zh: str, en: str, units: Units) -> Col:
    """An amount that is no pay: on a page in yuan (a rep's pack, whose pay is to the
    cent) in whole yuan, so that it never reads like a payout."""
    if units.scale != "yuan":
        return Col(key, zh, en, "amount")
    return Col(key, zh, en, "amount", fmt=lambda v: units.amount(v, decimals=0))


def _members(f: Facts, within: str | None) -> set[str]:
    return set(f.members(within)) if within is not None else set(f.reps["rep_id"])


# --------------------------------------------------------------------------- follow-ups


def _when(kind: str, status: str, days: int, lang: str) -> str:
    """How due a reminder is, said plainly ("241 days overdue")."""
    if kind == "renewal":
        return _say(lang, f"renews in {_plural(-days, 'day')}", f"{-days}天后续约")
    if status == "overdue":
        return _say(lang, f"{_plural(days, 'day')} overdue", f"已逾期{days}天")
    if days == 0:
        return _say(lang, "due today", "今天到期")
    return _say(lang, f"due, {_plural(days, 'day')} late", f"到期，晚了{days}天")


def _subject(r, lang: str) -> str:
    if r["kind"] == "followup":
        src, _, ctype = str(r["subject"]).partition(" lead, ")
        ctype = ctype.replace(" ", "_")
        return _say(
            lang,
            f"lead {r['subject_id']} ({category(src, lang)}, {category(ctype, lang)})",
            f"线索 {r['subject_id']}（{category(src, lang)}，{category(ctype, lang)}）",
        )
    return str(r["subject"])


def due_followups(f: Facts, within: str | None, as_of=None) -> pd.DataFrame:
    """The reminders a review lists: follow-ups overdue or due and renewals coming up
    (:func:`simlib.tracking.followup_reminders`, :func:`~simlib.tracking.renewal_reminders`)
    of the reps under ``within`` (a team or a rep)."""
    fu = tracking.followup_reminders(f, as_of)
    fu = fu[fu["status"].isin(["overdue", "due"])]
    rn = tracking.renewal_reminders(f, as_of)
    out = pd.concat([x for x in (fu, rn) if len(x)] or [fu], ignore_index=True)
    return out[out["rep_id"].isin(_members(f, within))].reset_index(drop=True)


def followups_due(
    f: Facts, within: str, units: Units, *, as_of=None, own: bool = False, heading: str = "h2"
) -> Section:
    """Follow-ups overdue or due and renewals coming up of the reps under ``within``,
    grouped by rep with a count (``own``: one rep's own, without the rep column)."""
    lang = units.lang
    day = f.as_of if as_of is None else min(pd.Timestamp(as_of).normalize(), f.as_of)
    rows = due_followups(f, within, day)
    names = _Names(f, lang)
    title = _t("my_followups" if own else "followups", lang)
    if rows.empty:
        return _section(
            title,
            _say(
                lang,
                f"On {_date(day)} no follow-up is overdue or due and no renewal is coming up.",
                f"截至{_date(day)}，没有逾期或到期的跟进，也没有即将续约的客户。",
            ),
            heading=heading,
        )
    fu = rows[rows["kind"] == "followup"]
    n_over = int((fu["status"] == "overdue").sum())
    n_ren = int((rows["kind"] == "renewal").sum())
    longest = int(fu["days"].max()) if len(fu) else 0
    reps = rows["rep_id"].nunique()
    if lang == "zh-CN":
        who = "" if own else f"，涉及 {reps} 人"
        sentence = (
            f"截至{_date(day)}：逾期跟进 {n_over} 条"
            + (f"（最长已逾期{longest}天）" if n_over else "")
            + f"，到期跟进 {len(fu) - n_over} 条，{n_ren} 个客户即将续约{who}。"
        )
    else:
        who = "" if own else f", for {_plural(reps, 'rep')}"
        sentence = (
            f"On {_date(day)}: {_plural(n_over, 'follow-up')} overdue"
            + (f" (the longest {_plural(longest, 'day')})" if n_over else "")
            + f", {len(fu) - n_over} due, {_plural(n_ren, 'renewal')} coming up{who}."
        )
    rows = rows.assign(
        rep=[names(r) for r in rows["rep_id"]],
        what=[
            _say(lang, "Follow-up", "线索跟进")
            if k == "followup"
            else _say(lang, "Renewal", "续约")
            for k in rows["kind"]
        ],
        subject_text=[_subject(r, lang) for r in rows.to_dict("records")],
        due=[_date(d) for d in rows["due_date"]],
        when=[
            _when(k, s, int(d), lang) for k, s, d in zip(rows["kind"], rows["status"], rows["days"])
        ],
    )
    # most overdue rep first, then their items most overdue first, renewals soonest
    worst = rows.groupby("rep_id")["days"].max()
    rows = rows.assign(
        _worst=rows["rep_id"].map(worst), _fu=(rows["kind"] != "followup").astype(int)
    ).sort_values(["_worst", "rep", "_fu", "days"], ascending=[False, True, True, False])
    parts = []
    if not own:
        g = rows.groupby("rep_id", sort=False)
        per = pd.DataFrame(
            {
                "rep": [names(r) for r in g.groups],
                "items": g.size().to_numpy(),
                "overdue": g.apply(
                    lambda x: int(((x["kind"] == "followup") & (x["status"] == "overdue")).sum()),
                    include_groups=False,
                ).to_numpy(),
                "most": [
                    _say(lang, _plural(int(d), "day"), f"{int(d)}天") if d > 0 else "—"
                    for d in g.apply(
                        lambda x: x.loc[x["kind"] == "followup", "days"].max(),
                        include_groups=False,
                    ).fillna(0)
                ],
                "renewals": g.apply(
                    lambda x: int((x["kind"] == "renewal").sum()), include_groups=False
                ).to_numpy(),
            }
        )
        parts.append(
            present_table(
                per,
                [
                    Col("rep", *_W["rep"][::-1]),
                    Col("items", *_W["items"][::-1], "count"),
                    Col("overdue", *_W["overdue_fu"][::-1], "count"),
                    Col("most", *_W["most"][::-1], "number", fmt=str),
                    Col("renewals", *_W["renewals"][::-1], "count"),
                ],
                units,
            )
        )
    cols = [] if own else [Col("rep", *_W["rep"][::-1])]
    cols += [
        Col("what", *_W["what"][::-1]),
        Col("subject_text", *_W["subject"][::-1]),
        Col("due", *_W["due"][::-1]),
        Col("when", *_W["when"][::-1]),
        _amount_col("value", *_W["value"][::-1], units),
    ]
    parts.append(
        present_table(
            rows, cols, units, top=40, sorted_by=_say(lang, "rep and lateness", "销售与逾期")
        )
    )
    return _section(title, sentence, *parts, heading=heading)


def key_accounts_idle(
    f: Facts,
    within: str,
    units: Units,
    *,
    as_of=None,
    max_gap_days: int = KEY_ACCOUNT_GAP_DAYS,
    heading: str = "h2",
) -> Section:
    """Key accounts under ``within`` not visited for more than ``max_gap_days``
    (:func:`simlib.tracking.key_account_status`), longest first."""
    lang = units.lang
    day = f.as_of if as_of is None else min(pd.Timestamp(as_of).normalize(), f.as_of)
    st = tracking.key_account_status(f, as_of=day, within=within, max_gap_days=max_gap_days)
    idle = st[st["overdue"]].copy()
    title = _t("idle", lang)
    total = len(st)
    if total == 0:
        return _section(
            title, _say(lang, "The team has no key account.", "本团队没有大客户。"), heading=heading
        )
    sentence = _say(
        lang,
        f"On {_date(day)}, {len(idle)} of {total} key accounts have not been visited in the last "
        f"{max_gap_days} days.",
        f"截至{_date(day)}，{total} 家大客户中有 {len(idle)} 家超过 {max_gap_days} 天未拜访。",
    )
    if idle.empty:
        return _section(title, sentence, heading=heading)
    names = _Names(f, lang)
    never = _t("never", lang)
    idle = idle.sort_values("days_since_visit", ascending=False, na_position="first")
    idle = idle.assign(
        rep=[names(r) for r in idle["rep_id"]],
        last=[
            never if d != d else _date(v)
            for v, d in zip(idle["last_visit"], idle["days_since_visit"])
        ],
        since=[
            "—" if d != d else _say(lang, _plural(int(d), "day"), f"{int(d)}天")
            for d in idle["days_since_visit"]
        ],
    )
    cols = [
        Col("name", *_W["customer"][::-1]),
        Col("rep", *_W["rep"][::-1]),
        Col("last", *_W["last_visit"][::-1]),
        Col("since", *_W["days_since"][::-1], "number", fmt=str),
        Col("visits_90d", *_W["visits90"][::-1], "count"),
        Col("open_pipeline", *_W["pipeline"][::-1], "amount"),
    ]
    return _section(title, sentence, present_table(idle, cols, units), heading=heading)


# --------------------------------------------------------------------------- monthly


def _month_end(f: Facts, month: str) -> pd.Timestamp:
    from simlib.periods import as_window

    return min(pd.Timestamp(as_window(month).end).normalize(), f.as_of)


def lead_sources(f: Facts, team: str, month: str, units: Units, *, heading="h2") -> Section:
    """The team's lead-source conversion over the twelve months to the month's end
    (:func:`simlib.tracking.lead_source_conversion` within the team), with its 95%
    interval; a source with fewer than :data:`MIN_DECIDED` decided leads is said to be
    too uncertain to compare."""
    lang = units.lang
    end = _month_end(f, month)
    tab = tracking.lead_source_conversion(f, None, by="source", within=team, as_of=end)
    title = _t("sources", lang)
    start = end - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    if tab.empty or int(tab["leads"].sum()) == 0:
        return _section(
            title,
            _say(
                lang,
                f"The team created no lead from {_date(start)} to {_date(end)}.",
                f"{_date(start)} 至 {_date(end)} 团队没有新增线索。",
            ),
            heading=heading,
        )
    small = tab["decided"] < MIN_DECIDED
    tab = tab.assign(
        label=[category(s, lang) for s in tab["source"]],
        interval=[
            "—" if lo != lo else f"{pct(lo)}–{pct(hi)}"
            for lo, hi in zip(tab["ci_low"], tab["ci_high"])
        ],
        note=[
            _say(lang, "too few decided leads to compare", "已有结论的线索太少，无法比较")
            if s
            else ""
            for s in small
        ],
    )
    if lang == "zh-CN":
        sentence = (
            f"{_date(start)} 至 {_date(end)} 团队新增的线索：转化率 = 已转化 ÷（已转化 + 不合格），"
            "跟进中的线索计数但不评判；区间为 95% 置信区间。"
        )
        if small.any():
            sentence += (
                f"已有结论的线索少于 {MIN_DECIDED} 条的来源已标出：样本太小，区间太宽，无法比较。"
            )
    else:
        sentence = (
            f"Leads the team created from {_date(start)} to {_date(end)}: conversion is "
            "converted ÷ (converted + disqualified); open leads are counted, not judged; "
            "the interval is 95%."
        )
        if small.any():
            sentence += (
                f" Sources with fewer than {MIN_DECIDED} decided leads are marked: the sample "
                "is too small and the interval too wide to compare them."
            )
    cols = [
        Col("label", "来源", "Source"),
        Col("leads", "线索数", "Leads", "count"),
        Col("open", "跟进中", "Open", "count"),
        Col("decided", "已有结论", "Decided", "count"),
        Col("converted", "已转化", "Converted", "count"),
        Col("conversion", "转化率", "Conversion", "pct"),
        Col("interval", "95% 区间", "95% interval", "number", fmt=str),
        Col("won_revenue", "成交额", "Won revenue", "amount"),
    ]
    if small.any():  # a note column only when there is something to note
        cols.append(Col("note", "说明", "Note"))
    return _section(title, sentence, present_table(tab, cols, units), heading=heading)


def drill_rows(f: Facts, period: str, within: str, by: str, level: str = "team") -> pd.DataFrame:
    """What ``simlib drill --period P --within W --level L --by B`` computes: the
    period's metrics of ``within`` per ``by`` value, with each value's share."""
    m = tracking.metrics(f, period, level=level, within=within, by=by)
    tot = m.groupby("node_id")["revenue"].transform("sum")
    return m.assign(share=m["revenue"] / tot.where(tot > 0)).reset_index(drop=True)


def drill(f: Facts, team: str, month: str, units: Units, *, heading="h2") -> Section:
    """The month's revenue, deals, new customers, win and collection rates of the team
    by product line and by customer type (:func:`drill_rows`)."""
    lang = units.lang
    title = _t("drill", lang)
    parts = []
    total = 0.0
    for by, (zh_h, en_h) in (
        ("product_line", ("产品线", "Product line")),
        ("customer_type", ("客户类型", "Customer type")),
    ):
        m = drill_rows(f, month, team, by)
        m = m.assign(label=[category(v, lang) for v in m[by]])
        total = float(m["revenue"].sum())
        cols = [
            Col("label", zh_h, en_h),
            Col("revenue", "成交额", "Revenue", "amount"),
            Col("share", "占比", "Share", "pct"),
            Col("deals_won", "成交单数", "Deals won", "count"),
            Col("new_customers", "新客户", "New customers", "count"),
            Col("win_rate", "赢单率", "Win rate", "pct"),
            Col("collection_rate", "回款率", "Collection rate", "pct"),
        ]
        if by == "customer_type":
            cols += [
                Col("visits", "拜访", "Visits", "count"),
                Col("lead_conversion", "线索转化率", "Lead conversion", "pct"),
            ]
        parts.append(present_table(m, cols, units))
    sentence = _say(
        lang,
        f"{month}: {units.amount(total, unit=True)} won, by product line and by customer type.",
        f"{month}：成交 {units.amount(total, unit=True)}，按产品线与按客户类型。",
    )
    return _section(title, sentence, *parts, heading=heading)


def key_account_coverage(
    f: Facts,
    team: str,
    month: str,
    units: Units,
    *,
    max_gap_days: int = KEY_ACCOUNT_GAP_DAYS,
    heading="h2",
) -> Section:
    """Key-account follow-up coverage per rep on the month's last day
    (:func:`simlib.tracking.key_account_followup` within the team)."""
    lang = units.lang
    end = _month_end(f, month)
    cov = tracking.key_account_followup(
        f, level="rep", as_of=end, within=team, max_gap_days=max_gap_days
    )
    cov = cov[cov["key_accounts"] > 0]
    title = _t("coverage", lang)
    if cov.empty:
        return _section(
            title, _say(lang, "The team has no key account.", "本团队没有大客户。"), heading=heading
        )
    names = _Names(f, lang)
    n, seen = int(cov["key_accounts"].sum()), int(cov["followed_up"].sum())
    sentence = _say(
        lang,
        f"On {_date(end)}, {seen} of {n} key accounts ({pct(seen / n)}) were visited within "
        f"{max_gap_days} days.",
        f"截至{_date(end)}，{n} 家大客户中 {seen} 家（{pct(seen / n)}）"
        f"在 {max_gap_days} 天内拜访过。",
    )
    cov = cov.assign(rep=[names(r) for r in cov["node_id"]]).sort_values("coverage")
    cols = [
        Col("rep", "销售", "Rep"),
        Col("key_accounts", "大客户数", "Key accounts", "count"),
        Col("followed_up", "已拜访", "Visited", "count"),
        Col("overdue", "逾期未拜访", "Overdue", "count"),
        Col("coverage", "覆盖率", "Coverage", "pct"),
    ]
    return _section(title, sentence, present_table(cov, cols, units), heading=heading)


# --------------------------------------------------------------------------- milestones

_METRIC = {
    "new_customers": ("new customers", "新客户"),
    "revenue": ("revenue", "成交额"),
    "deals_won": ("deals won", "成交单数"),
    "qualified_visits": ("qualified visits", "有效拜访"),
}
_MS_STATUS = {
    "achieved": (("achieved", "已达成"), "green"),
    "on_track": (("on track", "进度正常"), "green"),
    "behind": (("behind", "落后"), "amber"),
    "missed": (("missed", "未达成"), "red"),
    "not_started": (("not started", "未开始"), "grey"),
}


def milestone_rows(f: Facts, *, nodes=None, as_of=None, path=None) -> pd.DataFrame:
    """Progress of ``params/milestones.yaml`` (or ``path``)
    (:func:`simlib.scorecard.milestone_progress`), the milestones' names in both
    languages; only those of ``nodes`` (ids) when given."""
    from simlib.scorecard import Milestone, milestone_progress
    from simlib.tracking.milestones import load_milestones, resolve_milestones

    params, source = load_milestones(path)
    items = resolve_milestones(params, f.nodes.drop_duplicates("node_id"), source)
    if nodes is not None:
        keep = {str(n) for n in nodes}
        items = [it for it in items if it["node_id"] in keep]
    if not items:
        return pd.DataFrame(columns=["node_id", "name", "name_zh", "status"])
    ms = [Milestone(**{k: v for k, v in it.items() if k != "name_zh"}) for it in items]
    tab = milestone_progress(f, ms, as_of=as_of)
    tab["name_en"] = [it["name"] for it in items]
    tab["name_zh"] = [it["name_zh"] for it in items]
    return tab


def milestones(
    f: Facts,
    units: Units,
    *,
    nodes=None,
    as_of=None,
    own: bool = False,
    path=None,
    heading="h2",
) -> Section:
    """The milestones of ``nodes`` (ids; None: every one) on ``as_of`` (default the
    data's last day): measure, target, so far, expected by now, progress and status."""
    lang = units.lang
    zh = lang == "zh-CN"
    day = f.as_of if as_of is None else min(pd.Timestamp(as_of).normalize(), f.as_of)
    tab = milestone_rows(f, nodes=nodes, as_of=day, path=path)
    title = _t("my_milestones" if own else "milestones", lang)
    if tab.empty:
        return _section(
            title,
            _say(
                lang,
                "No milestone is set" + (" for you" if own else "") + " in params/milestones.yaml.",
                ("没有为你设定的里程碑" if own else "没有设定里程碑")
                + "（params/milestones.yaml）。",
            ),
            heading=heading,
        )
    names = _Names(f, lang)
    money = Units(lang, scale=units.scale, currency=units.currency)

    def amount(metric, v, decimals=0):
        if metric == "revenue":
            return money.amount(v, unit=True, decimals=0 if money.scale == "yuan" else None)
        return f"{v:,.{decimals}f}"

    def badge(s):
        (words, colour) = _MS_STATUS[s]
        return (
            f'<span style="color:{status_color(colour)};font-weight:600">{_esc(words[zh])}</span>'
        )

    tab = tab.assign(
        title=[
            (z or e if zh else e or z) or names(n)
            for e, z, n in zip(tab["name_en"], tab["name_zh"], tab["node_id"])
        ],
        who=[names(n) for n in tab["node_id"]],
        measure=[_METRIC[m][zh] for m in tab["metric"]],
        target_text=[amount(m, v) for m, v in zip(tab["metric"], tab["target"])],
        actual_text=[amount(m, v) for m, v in zip(tab["metric"], tab["actual"])],
        expected_text=[amount(m, v, 1) for m, v in zip(tab["metric"], tab["expected"])],
        window=[f"{_date(s)} – {_date(d)}" for s, d in zip(tab["start"], tab["deadline"])],
        status_html=[
            badge(s)
            + (_esc(_say(lang, f" ({_date(a)})", f"（{_date(a)}）")) if s == "achieved" else "")
            for s, a in zip(tab["status"], tab["achieved_on"])
        ],
    )
    counts = tab["status"].value_counts()
    sentence = _say(
        lang,
        f"On {_date(day)}: {_plural(len(tab), 'milestone')}, {counts.get('achieved', 0)} "
        f"achieved, {counts.get('on_track', 0)} on track, {counts.get('behind', 0)} behind, "
        f"{counts.get('missed', 0)} missed.",
        f"截至{_date(day)}：共 {len(tab)} 项里程碑，已达成 {counts.get('achieved', 0)} 项，"
        f"进度正常 {counts.get('on_track', 0)} 项，落后 {counts.get('behind', 0)} 项，"
        f"未达成 {counts.get('missed', 0)} 项。",
    )
    cols = [Col("title", "里程碑", "Milestone")]
    if not own:
        cols.append(Col("who", "对象", "Who"))
    cols += [
        Col("measure", "指标", "Measure"),
        Col("target_text", "目标", "Target", "number", fmt=str),
        Col("actual_text", "已完成", "So far", "number", fmt=str),
        Col("expected_text", "按进度应完成", "Expected by now", "number", fmt=str),
        Col("progress", "完成度", "Progress", "pct", decimals=0),
        Col("window", "期限", "Period"),
        Col("status_html", "状态", "Status", "html"),
    ]
    return _section(title, sentence, present_table(tab, cols, units), heading=heading)


# --------------------------------------------------------------------------- clawbacks


def _plan_periods(kind: str, start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    from simlib.periods import period_of, shift

    out = [period_of(start, kind)]
    last = period_of(end, kind)
    while out[-1] != last:
        out.append(shift(out[-1], 1))
    return out


def clawback_rows(data, plan, period: str, members) -> pd.DataFrame:
    """The clawback lines (:func:`simlib.plans.clawbacks.clawback_lines`) of the reps in
    ``members`` whose deal was reversed in ``period`` (any period: a month under a
    quarterly plan reads the quarter's statements and keeps the month's reversals)."""
    from simlib.periods import as_window
    from simlib.plans.clawbacks import clawback_lines, reversals_of

    w = as_window(period)
    start, end = pd.Timestamp(w.start), pd.Timestamp(w.end)
    rows: list[dict] = []
    rev = reversals_of(data)
    if plan.clawback is not None and rev is not None:
        key = ("clawbacks", plan.model_dump_json())
        for p in _plan_periods(plan.period, start, end):
            lines = memo_on(data, (*key, p), lambda p=p: clawback_lines(data, plan, p))
            rows += [
                r
                for r in lines
                if r["rep_id"] in members
                and r["reversed"] is not None
                and start <= pd.Timestamp(r["reversed"]) <= end
            ]
    cols = [
        "rep_id",
        "period",
        "opportunity_id",
        "deal",
        "customer",
        "deal_amount",
        "closed",
        "reversed",
        "days",
        "within_days",
        "amount",
        "clawed_back",
    ]
    return pd.DataFrame(rows, columns=cols)


def clawbacks(
    data,
    f: Facts,
    plan,
    period: str,
    within: str,
    units: Units,
    *,
    own: bool = False,
    heading="h2",
) -> Section:
    """Commission taken back on the deals of the reps under ``within`` reversed in
    ``period`` under ``plan`` (a name, a path or a :class:`~simlib.plans.PlanSpec`)."""
    from decimal import Decimal

    from simlib.plans import load_plan
    from simlib.views.governance import plan_title

    lang = units.lang
    title = _t("my_clawbacks" if own else "clawbacks", lang)
    if plan is None:
        return _section(
            title, _say(lang, "No commission plan given.", "未指定提成方案。"), heading=heading
        )
    spec = load_plan(plan) if isinstance(plan, (str, Path)) else plan
    name = plan_title(spec.name, lang) if isinstance(plan, str) else spec.name
    if spec.clawback is None:
        return _section(
            title,
            _say(
                lang,
                f"{name} has no clawback: commission on a reversed deal is kept.",
                f"{name}没有追回条款：已撤销订单的提成不追回。",
            ),
            heading=heading,
        )
    if data is None:
        return _section(
            title,
            _say(
                lang,
                "Clawbacks are not shown: the report was given no deal data.",
                "未显示提成追回：报告没有订单数据。",
            ),
            heading=heading,
        )
    rows = clawback_rows(data, spec, period, _members(f, within))
    days = spec.clawback.within_days
    if rows.empty:
        return _section(
            title,
            _say(
                lang,
                f"No deal was reversed in {period} ({name} takes commission back on deals "
                f"reversed within {days} days of closing).",
                f"{period} 没有撤销的订单（{name}：成交后 {days} 天内撤销的订单追回提成）。",
            ),
            heading=heading,
        )
    money = pay_units(Units(lang, currency=spec.currency))
    total = sum(Decimal(a) for a in rows["amount"])
    names = _Names(f, lang)
    sentence = _say(
        lang,
        f"{period}: {_plural(len(rows), 'reversed deal')}, commission taken back "
        f"{money.amount(-total, unit=True)} (deals reversed within {days} days of closing).",
        f"{period}：撤销订单 {len(rows)} 笔，追回提成 {money.amount(-total, unit=True)}"
        f"（成交后 {days} 天内撤销的订单）。",
    )
    rows = rows.assign(
        rep=[names(r) for r in rows["rep_id"]],
        closed_text=[_date(d) for d in rows["closed"]],
        reversed_text=[_date(d) for d in rows["reversed"]],
        taken=[-float(Decimal(a)) for a in rows["amount"]],
        note=[
            ""
            if c
            else _say(lang, "outside the window: nothing taken back", "超出追回期限：不追回")
            for c in rows["clawed_back"]
        ],
    ).sort_values(["rep", "reversed_text"])
    cols = [] if own else [Col("rep", "销售", "Rep")]
    cols += [
        Col("deal", "订单", "Deal"),
        Col("customer", "客户", "Customer"),
        Col("closed_text", "成交日", "Closed"),
        Col("reversed_text", "撤销日", "Reversed"),
        Col("days", "间隔天数", "Days", "count"),
        _money_col("taken", "追回提成", "Taken back", money),
        Col("note", "说明", "Note"),
    ]
    return _section(title, sentence, present_table(rows, cols, units), heading=heading)


# --------------------------------------------------------------------------- rep's leads


def open_leads(f: Facts, rep_id: str, units: Units, *, top: int = 10, heading="h2") -> Section:
    """The rep's open leads ranked by their chance to convert
    (:func:`simlib.tracking.rank_open_leads`, the company's lead model), the top
    ``top`` with the main reason in words."""
    lang = units.lang
    model = memo_on(f, ("lead model", f.as_of), lambda: tracking.fit_lead_model(f))
    tab = tracking.rank_open_leads(f, model, within=rep_id)
    title = _t("leads", lang)
    if tab.empty:
        return _section(
            title, _say(lang, "You have no open lead.", "你目前没有在途线索。"), heading=heading
        )
    n = len(tab)
    shown = tab.head(top)
    shown = shown.assign(
        lead=shown["lead_id"],
        source_text=[category(s, lang) for s in shown["source"]],
        ctype=[category(s, lang) for s in shown["customer_type"]],
        next_text=[_date(d) for d in shown["next_followup_date"]],
        reason=[lead_reason(str(r), lang) for r in shown["top_reason"]],
    )
    sentence = _say(
        lang,
        f"{_plural(n, 'open lead')}; the {min(top, n)} most likely to convert, by the lead "
        "model fitted on the company's decided leads, with the main reason.",
        f"在途线索 {n} 条；按公司已有结论线索拟合的线索模型，列出转化可能性最高的 "
        f"{min(top, n)} 条及主要原因。",
    )
    cols = [
        Col("rank", "#", "#", "count"),
        Col("lead", "线索", "Lead"),
        Col("source_text", "来源", "Source"),
        Col("ctype", "客户类型", "Customer type"),
        _amount_col("estimated_value", "预计金额", "Estimated value", units),
        Col("p_convert", "转化概率", "Chance", "pct", decimals=1),
        _amount_col("expected_value", "期望金额", "Expected value", units),
        Col("next_text", "下次跟进", "Next follow-up"),
        Col("reason", "主要原因", "Main reason"),
    ]
    return _section(title, sentence, present_table(shown, cols, units), heading=heading)


# --------------------------------------------------------------------------- director


def pool_payouts(teams: list[dict], units: Units, *, within=None, heading="h2") -> Section:
    """The bonus pool's payout list (``simlib pool``'s data,
    ``simlib.cli.pool.pool_payout_list``): per team the pool, and each rep's rank,
    attainment, share and payout; ``within``: only these team ids."""
    lang = units.lang
    title = _t("pool", lang)
    if within is not None:
        teams = [t for t in teams if t.get("team_id") in within]
    if not teams:
        return _section(
            title, _say(lang, "No team has a bonus pool.", "没有团队有奖金池。"), heading=heading
        )
    money = pay_units(units)
    summary, lines, errors = [], [], []
    for t in teams:
        if "error" in t:
            errors.append(
                f"{t['team']}: {t['error']}" if lang != "zh-CN" else f"{t['team']}：{t['error']}"
            )
            continue
        review = [r["rep"] for r in t["reps"] if r["review"]]
        summary.append(
            {
                "team": t["team"],
                "result": float(t["team_result"]),
                "attainment": t["team_attainment"],
                "pool": float(t["pool_amount"]),
                "paid": float(t["paid"]),
                "unallocated": float(t["unallocated"]),
                "review": "、".join(review) if lang == "zh-CN" else ", ".join(review),
                "note": t.get("note") or "",
            }
        )
        for r in t["reps"]:
            lines.append(
                {
                    "team": t["team"],
                    "rank": r["rank"],
                    "rep": r["rep"],
                    "result": float(r["result"]),
                    "attainment": r["attainment"],
                    "share": r["share"],
                    "amount": float(r["amount"]),
                    "note": r["note"],
                }
            )
    period = teams[0]["period"]
    paid = sum(s["paid"] for s in summary)
    sentence = _say(
        lang,
        f"{period}: {_plural(len(summary), 'team pool')}, {money.amount(paid, unit=True)} paid to "
        f"{_plural(sum(1 for x in lines if x['amount'] > 0), 'rep')}; each team's pool is split "
        "by attainment rank, the bottom rank goes to a performance review.",
        f"{period}：{len(summary)} 个团队奖金池，共向 {sum(1 for x in lines if x['amount'] > 0)} "
        f"名销售发放 {money.amount(paid, unit=True)}；各团队按达成率排名分配，末位进入绩效面谈。",
    )
    parts = []
    if summary:
        parts.append(
            present_table(
                pd.DataFrame(summary),
                [
                    Col("team", "团队", "Team"),
                    Col("result", "团队业绩", "Team result", "amount"),
                    Col("attainment", "团队达成率", "Team attainment", "pct"),
                    _money_col("pool", "奖金池", "Pool", money),
                    _money_col("paid", "已分配", "Paid", money),
                    Col("review", "绩效面谈", "Performance review"),
                ]
                + ([Col("note", "说明", "Note")] if any(x["note"] for x in summary) else []),
                units,
            )
        )
        parts.append(
            present_table(
                pd.DataFrame(lines),
                [
                    Col("team", "团队", "Team"),
                    Col("rank", "名次", "Rank", "count"),
                    Col("rep", "销售", "Rep"),
                    Col("result", "业绩", "Result", "amount"),
                    Col("attainment", "达成率", "Attainment", "pct"),
                    Col("share", "分配比例", "Share", "pct", decimals=2),
                    _money_col("amount", "奖金", "Payout", money),
                    Col("note", "说明", "Note"),
                ],
                units,
            )
        )
    if errors:
        parts.append(_note("; ".join(errors) if lang != "zh-CN" else "；".join(errors)))
    return _section(title, sentence, *parts, heading=heading)


def _money_col(key: str, zh: str, en: str, money: Units) -> Col:
    """A pay column to the cent (:func:`~simlib.views.governance.pay_units`: the page's
    pay scale), its header stating the unit."""
    return Col(key, money.header(zh, en), money.header(zh, en), "number", fmt=money.amount)


def read_nominations(path: str | Path, f: Facts) -> pd.DataFrame:
    """A nominations file for the exploration award (CSV or Excel): ``rep_id`` (or
    ``rep``: an id or a name), ``period``, ``approach`` and optionally ``evidence`` (see
    ``simlib honours --nominations``); a ValueError naming the file and row otherwise."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"nominations file {p} not found")
    t = pd.read_excel(p) if p.suffix.lower() in (".xlsx", ".xls") else pd.read_csv(p)
    t.columns = [str(c).strip().lower() for c in t.columns]
    if "rep_id" not in t and "rep" in t:
        t = t.rename(columns={"rep": "rep_id"})
    missing = {"rep_id", "period", "approach"} - set(t.columns)
    if missing:
        raise ValueError(f"{p}: needs columns rep_id, period, approach; missing {sorted(missing)}")
    by = {}
    for rid, en, zh in zip(f.reps["rep_id"], f.reps["name"], f.reps["name_zh"]):
        for s in (rid, en, zh):
            if isinstance(s, str) and s:
                by[s.strip().casefold()] = rid
    ids = []
    for i, r in enumerate(t["rep_id"]):
        rid = by.get(str(r).strip().casefold())
        if rid is None:
            raise ValueError(f"{p}, row {i + 2}: no rep {r!r} in the data")
        ids.append(rid)
    return pd.DataFrame(
        {
            "rep_id": ids,
            "period": t["period"].astype(str).str.strip(),
            "approach": t["approach"].fillna("").astype(str).str.strip(),
            "evidence": t["evidence"] if "evidence" in t else "",
        }
    )


def promotion(
    f: Facts, period: str, units: Units, *, within=None, nominations=None, heading="h2"
) -> Section:
    """Promotion candidates up to ``period`` (:func:`simlib.scorecard.promotion_candidates`:
    the top quartile of the score so many periods running), under ``within``."""
    from simlib.scorecard import promotion_candidates

    lang = units.lang
    title = _t("promotion", lang)
    tab = promotion_candidates(f, period, nominations=nominations)
    if within is not None:
        tab = tab[tab["rep_id"].isin(_members(f, within))]
    if tab.empty:
        return _section(
            title,
            _say(
                lang,
                f"No rep has been in the top quartile of the score every period of the run up "
                f"to {period}.",
                f"截至 {period}，没有销售连续各期得分均在前四分之一。",
            ),
            heading=heading,
        )
    names = _Names(f, lang)
    role = {
        "supervisor": ("supervisor", "主管"),
        "regional_manager": ("regional manager", "区域经理"),
    }
    tab = tab.assign(
        rep=[names(r) for r in tab["rep_id"]],
        team=[names(t) for t in tab["team_id"]],
        periods_text=["、".join(p.split(", ")) if lang == "zh-CN" else p for p in tab["periods"]],
        scores_text=["、".join(s.split(", ")) if lang == "zh-CN" else s for s in tab["scores"]],
        role=[role.get(r, (r, r))[lang == "zh-CN"] for r in tab["next_role"]],
    )
    sentence = _say(
        lang,
        f"{_plural(len(tab), 'rep')} in the top quartile of the score every period of the run "
        f"up to {period}.",
        f"截至 {period}，{len(tab)} 名销售连续各期得分均在前四分之一。",
    )
    cols = [
        Col("rep", "销售", "Rep"),
        Col("team", "团队", "Team"),
        Col("periods_text", "期间", "Periods"),
        Col("scores_text", "得分", "Scores"),
        Col("worst_percentile", "最低百分位", "Lowest percentile", "pct", decimals=0),
        Col("role", "晋升方向", "Next role"),
    ]
    return _section(title, sentence, present_table(tab, cols, units), heading=heading)


def honours(
    f: Facts,
    period: str,
    units: Units,
    *,
    within=None,
    nominations=None,
    heading="h2",
) -> Section:
    """The period's honours (:func:`simlib.scorecard.honours`), with the exploration award
    from ``nominations`` (a frame as :func:`read_nominations` gives; None: the award is
    said to need a nominations file); awards of reps under ``within`` only."""
    from simlib import scorecard as sc

    lang = units.lang
    zh = lang == "zh-CN"
    title = _t("honours", lang)
    card = memo_on(f, ("scorecard", period, sc.params_key()), lambda: sc.scorecard(f, period))
    tab = sc.honours(f, period, card=card, nominations=nominations)
    if within is not None:
        tab = tab[tab["rep_id"].isin(_members(f, within))]
    names = _Names(f, lang)
    money = Units(lang, scale=units.scale, currency=units.currency)

    def reason(r) -> str:
        if r["award"] != "top_seller":
            return r["reason_zh"] if zh else r["reason"]
        amt = money.amount(r["value"], unit=True)
        if r["scope"] == "company":
            return _say(lang, f"{amt} won in {card.period}, the most in the company",
                        f"{card.period}成交{amt}，全公司第一")  # fmt: skip
        return _say(lang, f"{amt} won in {card.period}, the most in the team",
                    f"{card.period}成交{amt}，团队第一")  # fmt: skip

    parts = []
    if tab.empty:
        sentence = _say(lang, f"No awards in {card.period}.", f"{card.period} 没有获奖者。")
    else:
        sentence = _say(
            lang,
            f"{card.period}: {_plural(len(tab), 'award')} (data to {_date(card.as_of)}).",
            f"{card.period}：共 {len(tab)} 项荣誉（数据截至{_date(card.as_of)}）。",
        )
        tab = tab.assign(
            award_text=tab["award_name_zh" if zh else "award_name"],
            scope_text=[
                _say(lang, "company", "全公司") if s == "company" else names(s)
                for s in tab["scope"]
            ],  # fmt: skip
            rep=[names(r) for r in tab["rep_id"]],
            team=[names(t) for t in tab["team_id"]],
            why=[reason(r) for r in tab.to_dict("records")],
        )
        parts.append(
            present_table(
                tab,
                [
                    Col("award_text", "奖项", "Award"),
                    Col("scope_text", "范围", "Scope"),
                    Col("rep", "销售", "Rep"),
                    Col("team", "团队", "Team"),
                    Col("why", "理由", "Why"),
                ],
                units,
            )
        )
    if nominations is None:
        parts.append(
            _note(
                _say(
                    lang,
                    "Exploration award: not judged, it needs a nominations file (rep, period, "
                    "approach, evidence; the report's nominations parameter or simlib "
                    "honours --nominations) and this report was given none.",
                    "探索奖：需要提名文件（销售、期间、新方法、证据；报告的 nominations 参数或 "
                    "simlib honours --nominations），本期未提供。",
                )
            )
        )
    elif not (tab["award"] == "exploration").any() if len(tab) else True:
        parts.append(
            _note(
                _say(
                    lang,
                    f"Exploration award: no nomination for {card.period} qualifies (the award is "
                    "for a documented new approach by a rep who missed the target).",
                    f"探索奖：{card.period} 没有符合条件的提名"
                    "（探索奖颁给记录了新方法但未达标的销售）。",
                )
            )
        )
    return _section(title, sentence, *parts, heading=heading)


def director_scope(f: Facts, scope: str) -> tuple[set[str], set[str] | None]:
    """The reps and the team ids under ``scope`` (None for the teams: every one)."""
    nodes = f.nodes.drop_duplicates("node_id").set_index("node_id")
    if scope not in nodes.index:
        raise ValueError(f"unknown scope {scope!r}")
    reps = _members(f, scope)
    if nodes.at[scope, "level"] == "company":
        return reps, None
    teams = set(f.reps.loc[f.reps["rep_id"].isin(reps), "team_id"].dropna().astype(str))
    return reps, teams


def milestone_nodes(f: Facts, within: str) -> set[str]:
    """``within`` and every org node and person under it."""
    nodes = f.nodes.drop_duplicates("node_id")
    return {within} | _descendants(nodes, within) | _members(f, within)


def _descendants(nodes: pd.DataFrame, root: str) -> set[str]:
    kids: dict[Any, list] = {}
    for n, p in zip(nodes["node_id"], nodes["parent_id"]):
        kids.setdefault(p, []).append(n)
    out, todo = set(), [root]
    while todo:
        n = todo.pop()
        for k in kids.get(n, []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


# --------------------------------------------------------------------------- director pack


@dataclass(frozen=True)
class Director:
    """The director's sections of the quarter's pay document for ``scope`` (the company:
    everyone; a region or a team: theirs): the bonus pool's payout list, promotion
    candidates, the period's honours (with the exploration award when ``nominations``
    are given) and the milestones. Made by :meth:`of`."""

    facts: Facts = field(repr=False)
    data: Any = field(repr=False)
    scope: str
    period: str
    units: Units
    nominations: pd.DataFrame | None = field(default=None, repr=False)
    pool_spec: Any = field(default=None, repr=False)
    payouts: Callable[..., list] | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        data,
        scope: str,
        period: str,
        units: Units,
        *,
        nominations: str = "",
        pool: str = "",
        payouts: Callable[..., list] | None = None,
    ) -> Director:
        """``nominations``: a file for the exploration award ("": none); ``pool``: the
        bonus pool file ("": ``params/bonus_pool.yaml``); ``payouts``: the payout list
        of a pool for a period, ``payouts(data, pool, period, lang=)`` (default
        :func:`simlib.plans.pool_list.pool_payout_list`, what ``simlib pool`` prints)."""
        from simlib.config import default_params_dir
        from simlib.plans import load_pool

        f = tracking.prepare(data)
        director_scope(f, scope)  # a known scope, or a clear error
        noms = read_nominations(nominations, f) if nominations else None
        spec = load_pool(pool or default_params_dir() / "bonus_pool.yaml")
        if payouts is None:
            from simlib.plans.pool_list import pool_payout_list as payouts
        return cls(f, data, scope, period, units, noms, spec, payouts)

    @property
    def lang(self) -> str:
        return self.units.lang

    def _scored(self, title_key: str) -> Section | None:
        """A sentence when the period is not one the scorecard evaluates."""
        from simlib.scorecard import period_kind

        if period_kind(self.period) is None:
            return _section(
                _t(title_key, self.lang),
                _say(
                    self.lang,
                    f"Evaluated per month or per quarter: {self.period} is neither.",
                    f"按月或按季度评估：{self.period} 两者都不是。",
                ),
            )
        return None

    def pool(self) -> Section:
        from simlib.periods import LABEL_PATTERNS

        lang, spec = self.lang, self.pool_spec
        if not re.match(LABEL_PATTERNS[spec.period], self.period):
            kind = {
                "month": ("month", "月"),
                "quarter": ("quarter", "季度"),
                "year": ("year", "年"),
            }
            en, zh = kind.get(spec.period, (spec.period, spec.period))
            return _section(
                _t("pool", lang),
                _say(
                    lang,
                    f"The bonus pool is paid per {en}: this document covers {self.period}.",
                    f"奖金池按{zh}发放：本文件的期间为 {self.period}。",
                ),
            )
        if self.payouts is None:
            return _section(
                _t("pool", lang), _say(lang, "No payout list given.", "未提供发放名单。")
            )
        _, teams = director_scope(self.facts, self.scope)
        teams_list = self.payouts(self.data, spec, self.period, lang=lang)
        return pool_payouts(teams_list, self.units, within=teams)

    def promotion(self) -> Section:
        return self._scored("promotion") or promotion(
            self.facts, self.period, self.units, within=self.scope, nominations=self.nominations
        )

    def honours(self) -> Section:
        return self._scored("honours") or honours(
            self.facts, self.period, self.units, within=self.scope, nominations=self.nominations
        )

    def milestones(self) -> Section:
        return milestones(self.facts, self.units, nodes=milestone_nodes(self.facts, self.scope))

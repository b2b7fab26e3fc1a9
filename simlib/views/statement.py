"""One rep's commission statement, ready for a report, in English or Chinese.

The statement itself comes from :func:`simlib.plans.compute_statements` (exact, to the
cent); this module only chooses its inputs and lays it out. Only the rep's own deals
and quota rows go in (for a manager plan, the team's deals, without the members' ids
on the lines), so no other person's pay or figures can appear in the output.

Used by ``notebooks/reports/commission_statement.ipynb``::

    report = statement_report("S003", "2026-Q3", "tiered_cn", lang="zh-CN")
    report.header()       # title (the rep's name), period, plan, the amount payable
    report.summary()      # result, quota, attainment, band, gate
    report.lines()        # commission line items, arithmetic in words
    report.adjustments()  # caps, gate, floor, SPIFs, true-up, clawbacks, draws
    report.totals()       # commission, adjustments, payable
    report.curve()        # where the result sits on the plan's payout curve
    report.notes()        # the plan's terms in plain words

A statement is a pay document: every amount on it is in whole yuan to the cent (one
:class:`simlib.present.Units` with ``scale="yuan"``), in the page's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from simlib import present
from simlib.company import company_params
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.periods import LABEL_PATTERNS
from simlib.plans import (
    PlanSpec,
    Statement,
    compute_statements,
    load_plan,
    payout_curve,
    teams_from_reps,
)
from simlib.plans.spec import fmt_number, fmt_rate
from simlib.plots.commission import statement_curve
from simlib.present import Col, Units, number, pct

__all__ = [
    "KIND_LABELS",
    "Section",
    "StatementReport",
    "rep_statement",
    "statement_report",
    "line_text",
    "band_text",
    "period_label",
    "amount_axis",
]

#: Line kinds in both languages.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "commission": ("Commission", "提成"),
    "deal_cap": ("Per-deal cap", "单笔封顶"),
    "spif": ("SPIF", "专项奖励"),
    "gate": ("Gate", "门槛"),
    "cap": ("Cap", "封顶"),
    "floor": ("Floor", "保底"),
    "true_up": ("Year-to-date true-up", "年度累计补差"),
    "clawback": ("Clawback", "追回"),
    "balance": ("Balance owed", "欠款结转"),
    "draw": ("Draw", "预支"),
}

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Commission statement", "提成结算单"),
    "rep": ("Sales rep", "销售顾问"),
    "manager": ("Manager", "销售主管"),
    "period": ("Period", "结算期间"),
    "window": ("Window", "计算区间"),
    "plan": ("Plan", "提成方案"),
    "measure": ("Paid on", "计提口径"),
    "result": ("Result", "业绩"),
    "quota": ("Quota", "指标"),
    "attainment": ("Attainment", "达成率"),
    "band": ("Band reached", "达到档位"),
    "gate": ("Gate", "门槛"),
    "gate_met": ("met", "已达到"),
    "gate_not_met": ("not met", "未达到"),
    "summary": ("Summary", "结算概要"),
    "lines": ("Line items", "提成明细"),
    "adjustments": ("Adjustments", "调整项"),
    "no_adjustments": ("No adjustments this period.", "本期无调整项。"),
    "no_lines": ("No commission lines this period.", "本期无提成明细。"),
    "totals": ("Totals", "合计"),
    "item": ("Item", "项目"),
    "calculation": ("Calculation", "计算过程"),
    "amount": ("Amount", "金额"),
    "commission_total": ("Commission", "提成小计"),
    "adjustments_total": ("Adjustments", "调整合计"),
    "payable": ("Payable for the period", "本期应发"),
    "balance_out": ("Balance owed, carried forward", "结转欠款"),
    "field": ("", ""),
    "value": ("", ""),
    "team_note": (
        "Team plan: lines are the team's deals; who sold each is not shown.",
        "团队方案：明细为团队成交，不显示成交人。",
    ),
    "notes": ("How this is paid", "方案说明"),
    "team_result": ("team", "团队"),
}

_MEASURES = {
    "revenue": "销售额",
    "gross_margin": "毛利",
    "collected_revenue": "回款额",
    "new_customer_revenue": "新客户销售额",
    "renewal_rate": "续约率",
    "kpi_score": "KPI得分",
    "weighted_attainment": "加权达成率",
}


def _t(key: str, lang: str) -> str:
    en, zh = _TEXT[key]
    return zh if lang == "zh-CN" else en


def period_label(period: str, lang: str = "en") -> str:
    """``2026-Q3 → '2026年第3季度'`` in Chinese; unchanged in English."""
    if lang != "zh-CN":
        return period
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        return f"{m[1]}年第{m[2]}季度"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        return f"{m[1]}年{int(m[2])}月"
    if re.fullmatch(r"\d{4}", period):
        return f"{period}年"
    return period


def amount_axis(ax, units, which: str = "y", *, zh: str = "金额", en: str = "Amount") -> None:
    """An axis of amounts in the page's unit (:meth:`simlib.present.Units.format_axis`),
    its ticks on steps of 1, 2 or 5 (a step of 2.5 would read 0, 3, 5, 8 at whole units)."""
    from matplotlib.ticker import MaxNLocator

    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
    units.format_axis(ax, which, zh=zh, en=en)


def _money(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2):,.2f}"


# Chinese wording of the statement engine's sentences; numbers are carried over as is.
_N = r"(-?[\d,]+(?:\.\d+)?)"
_ZH_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"^per-period cap {_N}: {_N} → {_N}$"), r"单期封顶 \1：\2 → \3"),
    (
        re.compile(rf"^year-to-date cap \((\d+) × {_N}\) {_N}: {_N} → {_N}$"),
        r"年度累计封顶（\1 × \2）\3：\4 → \5",
    ),
    (re.compile(rf"^(\S+): commission {_N} capped at {_N} per deal$"), r"\1：提成 \2，单笔封顶 \3"),
    (re.compile(rf"^floor {_N}: {_N} topped up$"), r"保底 \1：\2 补足至保底"),
    (re.compile(rf"^(\S+): SPIF (.+) {_N}$"), r"\1：专项奖励（\2）\3"),
    (
        re.compile(rf"^year to date {_N} less credited in earlier periods {_N}$"),
        r"年初至今 \1，减去此前各期已计 \2",
    ),
    (
        re.compile(
            r"^(\S+) reversed on (\S+), (\d+) days after close \(within (\d+)\): "
            rf"commission paid {_N} reversed$"
        ),
        r"\1 于 \2 撤销（成交后 \3 天，在 \4 天追回期内）：追回已发提成 \5",
    ),
    (
        re.compile(
            r"^(\S+) reversed on (\S+), (\d+) days after close: "
            r"outside the (\d+)-day window, nothing reversed$"
        ),
        r"\1 于 \2 撤销（成交后 \3 天，超出 \4 天追回期）：不追回",
    ),
    (
        re.compile(
            rf"^more taken back than earned: {_N} carried forward as owed \(balance owed {_N}\)$"
        ),
        r"追回超过本期所得：\1 结转为欠款（欠款余额 \2）",
    ),
    (
        re.compile(rf"^recovered from balance owed: {_N} \(still owed {_N}\)$"),
        r"从欠款中扣回 \1（尚欠 \2）",
    ),
    (
        re.compile(
            rf"^recoverable draw {_N}: advance of {_N}, "
            rf"owed back from later earnings \(balance owed {_N}\)$"
        ),
        r"可追回预支 \1：本期预支 \2，以后期提成偿还（欠款余额 \3）",
    ),
    (
        re.compile(rf"^non-recoverable draw: guaranteed {_N} for the period$"),
        r"不可追回预支：本期保底 \1",
    ),
    (
        re.compile(
            r"^(.+?): (.+?) ([\d,.]+) ÷ quota ([\d,.]+) = ([\d.]+%) attainment, weight (\S+)$"
        ),
        lambda m: (
            f"{m[1]}：{_MEASURES.get(m[2].replace(' ', '_'), m[2])} {m[3]} ÷ 指标 {m[4]}"
            f" = 达成率 {m[5]}，权重 {m[6]}"
        ),
    ),
    (
        re.compile(
            rf"^weighted attainment (.+): ([\d.]+%) × (\S+) × target incentive {_N} = {_N}$"
        ),
        lambda m: (
            f"加权达成率 {band_text(m[1], 'zh-CN')}：{m[2]} × {m[3]} × 目标奖金 {m[4]} = {m[5]}"
        ),
    ),
    (
        re.compile(rf"^entered band (.+): one-time bonus {_N}$"),
        lambda m: f"进入档位 {band_text(m[1], 'zh-CN')}：一次性奖励 {m[2]}",
    ),
]
_ZH_GATE = [
    (re.compile(r"attainment (\S+) is below (\S+)"), r"达成率 \1 低于 \2"),
    (re.compile(r"collection rate (\S+) is below (\S+)"), r"回款率 \1 低于 \2"),
    (re.compile(r"KPI score (\S+) is below (\S+)"), r"KPI得分 \1 低于 \2"),
]
_ZH_WORDS = [
    (
        re.compile(r" ?\((accelerator|decelerator) ([^)]*)\)"),
        lambda m: f"（{'加速' if m[1] == 'accelerator' else '减速'}系数 {m[2]}）",
    ),
    (re.compile(r"÷ quota "), "÷ 指标 "),
    (re.compile(r" − base "), " − 基准费率 "),
    (re.compile(r"× target incentive "), "× 目标奖金 "),
    (
        re.compile(
            r"^(revenue|gross margin|renewal rate|kpi score|collected revenue"
            r"|new customer revenue) band "
        ),
        lambda m: f"{_MEASURES.get(m[1].replace(' ', '_'), m[1])}档位 ",
    ),
    (re.compile(r"(\d)% to (\d)"), r"\1%–\2"),
    (re.compile(r" from (\d)"), r" 自\1"),
    (re.compile(r" below (\d)"), r" 低于\1"),
    (re.compile(r" above (\d)"), r" 高于\1"),
    (re.compile(r"^above "), "高于"),
]


def band_text(label: str, lang: str = "en") -> str:
    """A band label (``above 3,000,000``, ``accelerator from 100%``) in ``lang``."""
    if lang != "zh-CN":
        return label
    head = ""
    if m := re.match(r"^(accelerator|decelerator) (.+)$", label):
        head, label = ("加速" if m[1] == "accelerator" else "减速"), m[2]
    for rx, rep in (
        (re.compile(r"^above (.+)$"), r"高于 \1"),
        (re.compile(r"^below (.+)$"), r"低于 \1"),
        (re.compile(r"^from (.+)$"), r"\1 起"),
        (re.compile(r"^up to (.+)$"), r"不超过 \1"),
        (re.compile(r"^(.+) to (.+)$"), r"\1 – \2"),
    ):
        if rx.match(label):
            label = rx.sub(rep, label)
            break
    return f"{head}（{label}）" if head else label


def line_text(line, lang: str = "en") -> str:
    """A statement line's arithmetic in words, without any other person's id.

    Team lines name the deal only (the engine writes ``OPP1 (S006): ...``); in
    Chinese the engine's sentences are reworded, numbers unchanged.
    """
    _check_lang(lang)
    text = line.text
    if line.owner_id:
        text = text.replace(f" ({line.owner_id})", "")
    if lang != "zh-CN":
        return text
    if line.kind == "gate":
        m = re.match(r"^(gate not met|accelerators not paid) \((.*)\): (.*)$", text)
        if m:
            inner = m[2]
            for rx, rep in _ZH_GATE:
                inner = rx.sub(rep, inner)
            inner = inner.replace("; ", "；")
            if m[1] == "gate not met":
                return f"未达到门槛（{inner}）：本期不发放"
            return f"未达到加速门槛（{inner}）：高于 1 的加速系数按 1 计"
        return text
    for rx, rep in _ZH_PATTERNS:
        if rx.match(text):
            return rx.sub(rep, text)
    if line.kind == "commission":
        m = re.match(rf"^(.+?) {_N} reached band (.+): {_N} flat(.*) = {_N}$", text)
        if m:  # a retroactive band stated as an amount
            measure = _MEASURES.get(m[1].replace(" ", "_"), m[1])
            factor = m[5]
            for rx, rep in _ZH_WORDS:
                factor = rx.sub(rep, factor)
            return (
                f"{measure} {m[2]} 达到档位 {band_text(m[3], 'zh-CN')}：固定金额 {m[4]}"
                f"{factor} = {m[6]}"
            )
        for rx, rep in _ZH_WORDS:
            text = rx.sub(rep, text)
    return text


# --------------------------------------------------------------------------- inputs


def rep_statement(data, plan: PlanSpec, rep_id: str, period: str) -> Statement:
    """``rep_id``'s exact statement for ``period`` from a dataset, on their inputs only.

    Parameters
    ----------
    data : simlib.data.Dataset
        Canonical tables (``reps``, ``opportunities``, ``targets``, ``invoices``,
        ``payments``, ``products``).
    plan : PlanSpec
    rep_id : str
        A rep (own plans) or a manager (``credit: team`` plans).
    period : str
        A label of the plan's period kind (``2026-Q3``, ``2026-09``, ``2026``).

    Raises
    ------
    ValueError
        Unknown rep, a period of the wrong kind, or no statement in that period.
    """
    reps = data.reps
    if rep_id not in set(reps["rep_id"].astype(str)):
        raise ValueError(f"no rep {rep_id!r} in the data")
    if not re.match(LABEL_PATTERNS[plan.period], str(period)):
        example = {"quarter": "2026-Q3", "month": "2026-09", "year": "2026"}[plan.period]
        raise ValueError(
            f"plan {plan.name} is paid per {plan.period}: period must look like {example!r}; "
            f"got {period!r}"
        )
    teams = None
    if plan.credit == "team":
        teams = {k: v for k, v in teams_from_reps(reps).items() if k == rep_id}
        if rep_id not in teams:
            raise ValueError(
                f"plan {plan.name} pays managers on their team; {rep_id!r} manages no team"
            )
        people = {rep_id, *teams[rep_id]}
    else:
        people = {rep_id}
    opp = data.opportunities
    deals = opp[(opp["stage"] == "won") & opp["owner_id"].astype(str).isin(people)]
    t = data.targets
    quotas = t[
        t["owner_id"].astype(str).isin(people)
        & t["period"].astype(str).str.match(LABEL_PATTERNS[plan.period])
        & (t["level"] == "rep")
    ]
    inv = data.invoices[data.invoices["opportunity_id"].isin(deals["opportunity_id"])]
    pay = data.payments[data.payments["invoice_id"].isin(inv["invoice_id"])]
    collections = pay.assign(
        opportunity_id=pay["invoice_id"].map(inv.set_index("invoice_id")["opportunity_id"])
    )
    collections = collections[["opportunity_id", "date", "amount"]].dropna(
        subset=["opportunity_id"]
    )
    sts = compute_statements(
        plan, deals, quotas, collections=collections, teams=teams, products=data.products
    )
    mine = sts.for_rep(rep_id)
    for s in mine:
        if s.period == period:
            return s
    have = ", ".join(s.period for s in mine[-8:]) or "none"
    raise ValueError(
        f"{rep_id} has no {plan.name} statement for {period}; latest periods with one: {have}"
    )


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Section:
    """A titled table that shows as HTML in a notebook and as text elsewhere."""

    title: str
    table: pd.DataFrame
    note: str = ""

    def _repr_html_(self) -> str:
        note = f"<p>{_esc(self.note)}</p>" if self.note else ""
        body = self.table.to_html(index=False, escape=True, border=0) if len(self.table) else ""
        return f"<h3>{_esc(self.title)}</h3>{body}{note}"

    def __repr__(self) -> str:
        body = self.table.to_string(index=False) if len(self.table) else ""
        return "\n".join(x for x in (self.title, body, self.note) if x)


_MEASURE_NAMES: dict[str, tuple[str, str]] = {
    "revenue": ("Revenue", "销售额"),
    "gross_margin": ("Gross margin", "毛利"),
    "collected_revenue": ("Collected revenue", "回款额"),
    "new_customer_revenue": ("New-customer revenue", "新客户销售额"),
    "renewal_rate": ("Renewal rate", "续约率"),
    "kpi_score": ("KPI score", "KPI得分"),
}
_PERIODS = {"month": ("month", "月"), "quarter": ("quarter", "季度"), "year": ("year", "年")}


def plan_terms(plan: PlanSpec, lang: str, units: Units) -> list[str]:
    """The plan's terms in plain sentences of ``lang``, amounts in ``units``.

    What :meth:`simlib.plans.PlanSpec.describe` says (in English, for developers), said
    for the person paid: what it pays on, the bands and their rates, and every gate,
    cap, floor, draw, SPIF, clawback and true-up.
    """
    zh = lang == "zh-CN"
    measure = _MEASURE_NAMES.get(plan.measure, (plan.measure, plan.measure))[zh]
    per = _PERIODS[plan.period][zh]

    def money(x) -> str:
        return units.amount(x, unit=True)

    def rate(b) -> str:
        if plan.pays_on == "target_incentive":
            return (
                f"目标奖金的 {fmt_number(b.rate)} 倍"
                if zh
                else f"{fmt_number(b.rate)}× the target incentive"
            )
        return fmt_rate(b.rate)

    out = []
    if zh:
        whose = "团队业绩" if plan.credit == "team" else "本人业绩"
        how = (
            "超额累进：每一段业绩按该段费率计算"
            if plan.mode == "marginal"
            else "全额累进：全部业绩按达到的档位费率计算"
        )
        on = "达成率（业绩 ÷ 指标）" if plan.basis == "attainment" else measure
        out.append(f"按{measure}（{whose}）每{per}计提；{how}；档位按{on}划分。")
        if plan.pay_mix is not None:
            base, ti = (float(x) for x in plan.pay_mix.annual())
            mix = round(100 * base / (base + ti))
            out.append(
                f"薪酬结构：年度目标总收入 {money(base + ti)}，底薪 {money(base)}，"
                f"目标奖金 {money(ti)}（{mix}/{100 - mix}）；本期底薪 "
                f"{money(float(plan.period_base()))}，本期目标奖金 "
                f"{money(float(plan.period_incentive()))}。底薪另行发放，不计入下列应付提成。"
            )
        elif plan.pays_on == "target_incentive" and plan.target_incentive:
            out.append(f"目标奖金 {money(plan.target_incentive)}。")
        bands = "；".join(
            f"{band_text(lab, lang)}：{rate(b)}" for lab, b in zip(plan.band_labels(), plan.tiers)
        )
        out.append(f"档位：{bands}。")
        edge = "较低一档" if plan.at_threshold == "band_below" else "较高一档"
        out.append(f"恰好等于档位分界的业绩计入{edge}。")
    else:
        whose = "team results" if plan.credit == "team" else "own results"
        how = (
            "marginal: each slice of the result at its own band's rate"
            if plan.mode == "marginal"
            else "retroactive: the whole result at the rate of the band reached"
        )
        on = "attainment (result ÷ quota)" if plan.basis == "attainment" else measure.lower()
        out.append(f"Paid on {measure.lower()} ({whose}) per {per}; {how}; bands on {on}.")
        if plan.pay_mix is not None:
            base, ti = (float(x) for x in plan.pay_mix.annual())
            mix = round(100 * base / (base + ti))
            out.append(
                f"Pay mix: on-target earnings {money(base + ti)} a year, base salary "
                f"{money(base)} and target incentive {money(ti)} ({mix}/{100 - mix}); this "
                f"{per}'s base {money(float(plan.period_base()))} and target incentive "
                f"{money(float(plan.period_incentive()))}. The base is paid separately, "
                "not in the variable pay below."
            )
        elif plan.pays_on == "target_incentive" and plan.target_incentive:
            out.append(f"Target incentive {money(plan.target_incentive)}.")
        bands = "; ".join(f"{lab}: {rate(b)}" for lab, b in zip(plan.band_labels(), plan.tiers))
        out.append(f"Bands: {bands}.")
        edge = "the band below" if plan.at_threshold == "band_below" else "the band above"
        out.append(f"A result exactly at a threshold belongs to {edge}.")
    if plan.multipliers:
        pairs = list(zip(plan.multiplier_labels(), plan.multipliers))
        if zh:
            out.append(
                "达成率系数："
                + "；".join(f"{band_text(lab, lang)} × {fmt_number(m.factor)}" for lab, m in pairs)
                + "。"
            )
        else:
            out.append(
                "Attainment multipliers: "
                + "; ".join(f"{lab} × {fmt_number(m.factor)}" for lab, m in pairs)
                + "."
            )
    if plan.gate:
        g, parts = plan.gate, []
        if g.min_attainment is not None:
            parts.append(("达成率 ≥ " if zh else "attainment ≥ ") + fmt_rate(g.min_attainment))
        if g.min_collection_rate is not None:
            parts.append(
                ("回款率 ≥ " if zh else "collection rate ≥ ") + fmt_rate(g.min_collection_rate)
            )
        if g.min_kpi_score is not None:
            parts.append(("KPI得分 ≥ " if zh else "KPI score ≥ ") + fmt_number(g.min_kpi_score))
        out.append(
            f"门槛：{'且'.join(parts)}，未达到则本期不发放。"
            if zh
            else f"Gate: {' and '.join(parts)}; below it nothing is paid for the period."
        )
    if plan.cap:
        if plan.cap.per_period is not None:
            c = money(plan.cap.per_period)
            out.append(f"每期封顶 {c}。" if zh else f"Capped at {c} per {per}.")
        if plan.cap.per_deal is not None:
            c = money(plan.cap.per_deal)
            out.append(f"单笔成交提成封顶 {c}。" if zh else f"Capped at {c} per deal.")
    if plan.floor is not None:
        f = money(plan.floor)
        out.append(f"每期保底 {f}。" if zh else f"A floor of {f} per {per}.")
    if plan.draw:
        d = money(plan.draw.amount)
        if plan.draw.kind == "recoverable":
            out.append(
                f"可追回预支：每期 {d}，以后期提成偿还。"
                if zh
                else f"Recoverable draw of {d} per {per}, owed back from later earnings."
            )
        else:
            out.append(
                f"不可追回预支：每期保底 {d}。"
                if zh
                else f"Non-recoverable draw: {d} guaranteed per {per}."
            )
    for sp in plan.spifs:
        a = money(sp.amount)
        out.append(
            f"专项奖励（{sp.name}）：每笔符合条件的成交 {a}。"
            if zh
            else f"SPIF ({sp.name}): {a} per qualifying deal."
        )
    if plan.clawback:
        n = plan.clawback.within_days
        out.append(
            f"追回：成交后 {n} 天内撤销的成交，已发提成予以追回。"
            if zh
            else f"Clawback: commission on a deal reversed within {n} days of its close is "
            "taken back."
        )
    if plan.ytd_true_up:
        out.append(
            "每期按年初至今累计计算并补差。"
            if zh
            else "Each period is trued up to the year to date."
        )
    return out


@dataclass(frozen=True)
class StatementReport:
    """One rep's statement laid out for reading: a pay document, so every amount on it
    is in whole yuan to the cent (``Units(lang, scale="yuan")``), and the rep is named,
    never shown by id. Each section is safe HTML (or a figure)."""

    statement: Statement
    plan: PlanSpec
    rep_name: str
    lang: str = "en"
    company: str = ""

    @property
    def rep_id(self) -> str:
        return self.statement.rep_id

    @property
    def units(self) -> Units:
        """Yuan to the cent, in the statement's currency (``元`` / ``¥``)."""
        return Units(self.lang, scale="yuan", currency=self.statement.currency)

    def _h2(self, key: str) -> str:
        return f"<h2>{_esc(_t(key, self.lang))}</h2>"

    def _plan_label(self) -> str:
        L = self.lang
        label = self.plan.label_zh if L == "zh-CN" and self.plan.label_zh else self.plan.description
        return label or self.plan.name or ""

    def header(self) -> present.HTML:
        """Title (the rep's name), company, period, rep and plan."""
        L, st = self.lang, self.statement
        zh = L == "zh-CN"
        who = _t("manager" if self.plan.credit == "team" else "rep", L)
        sep = "：" if zh else ": "
        lines = [
            (_t("period", L), period_label(st.period, L)),
            (who, self.rep_name),
            (_t("plan", L), self._plan_label()),
        ]
        body = "<br>".join(f"<b>{_esc(k)}</b>{sep}{_esc(v)}" for k, v in lines)
        company = f"{_esc(self.company)}<br>" if self.company else ""
        return present.HTML(
            f"<h1>{_esc(_t('title', L))} — {_esc(self.rep_name)}</h1><p>{company}{body}</p>"
            + present.cards([(_t("payable", L), self.units.amount(st.payable, unit=True))])
        )

    def _measure_value(self, x) -> str:
        if self.statement.measure == "renewal_rate":
            return pct(x)
        if self.statement.measure == "kpi_score":
            return number(x, 1)
        return self.units.amount(x, unit=True)

    def summary(self) -> present.HTML:
        """Result, quota, attainment, band reached, gate."""
        L, st = self.lang, self.statement
        zh = L == "zh-CN"
        measure = _MEASURE_NAMES.get(st.measure, (st.measure, st.measure))[zh]
        if self.plan.credit == "team":
            measure += f"（{_t('team_result', L)}）" if zh else f" ({_t('team_result', L)})"
        rows = [(_t("measure", L), measure), (_t("result", L), self._measure_value(st.result))]
        if st.quota is not None:
            rows.append((_t("quota", L), self._measure_value(st.quota)))
        if st.attainment is not None:
            rows.append((_t("attainment", L), pct(st.attainment)))
        if st.window != st.period:
            window = st.window.replace(" year to date", " 年初至今") if zh else st.window
            rows.append((_t("window", L), window))
        if st.band:
            rows.append((_t("band", L), band_text(st.band, L)))
        if self.plan.gate is not None:
            rows.append((_t("gate", L), _t("gate_met" if st.gate_met else "gate_not_met", L)))
        cols = [Col("item", "项目", "Item"), Col("value", "数值", "Value", kind="number", fmt=str)]
        frame = pd.DataFrame(rows, columns=["item", "value"])
        return present.HTML(self._h2("summary") + present.table(frame, cols, self.units))

    def line_frame(self, kinds: str = "commission") -> pd.DataFrame:
        """The lines of ``kinds`` (``"commission"`` or ``"adjustments"``): number, item,
        arithmetic in words, amount in yuan (exact: cents / 100)."""
        L = self.lang
        rows = []
        for ln in self.statement.lines:
            if (ln.kind == "commission") != (kinds == "commission"):
                continue
            en, zh = KIND_LABELS.get(ln.kind, (ln.kind, ln.kind))
            rows.append(
                {
                    "n": len(rows) + 1,
                    "item": zh if L == "zh-CN" else en,
                    "calculation": line_text(ln, L),
                    "amount": ln.cents / 100,
                    "cents": ln.cents,
                }
            )
        return pd.DataFrame(rows, columns=["n", "item", "calculation", "amount", "cents"])

    def _lines_table(self, frame: pd.DataFrame) -> str:
        cols = [
            Col("n", "序号", "No.", kind="count"),
            Col("item", "项目", "Item"),
            Col("calculation", "计算过程", "Calculation"),
            Col("amount", "金额", "Amount", kind="amount"),
        ]
        return present.table(frame, cols, self.units) if len(frame) else ""

    def lines(self) -> present.HTML:
        """The commission line items, each with its arithmetic (``271,100 × 1% = 2,711``)."""
        L = self.lang
        t = self.line_frame("commission")
        note = (
            _t("team_note", L)
            if self.plan.credit == "team"
            else ("" if len(t) else _t("no_lines", L))
        )
        note_html = f"<p>{_esc(note)}</p>" if note else ""
        return present.HTML(self._h2("lines") + self._lines_table(t) + note_html)

    def adjustments(self) -> present.HTML:
        """Caps, gate, floor, SPIFs, true-up, clawbacks, balance and draws."""
        t = self.line_frame("adjustments")
        note = "" if len(t) else f"<p>{_esc(_t('no_adjustments', self.lang))}</p>"
        return present.HTML(self._h2("adjustments") + self._lines_table(t) + note)

    def totals_frame(self) -> pd.DataFrame:
        """Commission, adjustments, payable (and a balance carried), in cents and yuan."""
        L, st = self.lang, self.statement
        com = st.commission_cents
        rows = [
            ("commission_total", com),
            ("adjustments_total", st.payable_cents - com),
            ("payable", st.payable_cents),
        ]
        if st.balance_out_cents:
            rows.append(("balance_out", st.balance_out_cents))
        return pd.DataFrame(
            [
                {"key": k, "item": _t(k, L), "cents": c, "amount": c / 100, "total": k == "payable"}
                for k, c in rows
            ]
        )

    def totals(self) -> present.HTML:
        """Commission, adjustments and the amount payable (they add up exactly)."""
        cols = [Col("item", "项目", "Item"), Col("amount", "金额", "Amount", kind="amount")]
        table = present.table(
            self.totals_frame(), cols, self.units, row_class=lambda r: "total" if r["total"] else ""
        )
        return present.HTML(self._h2("totals") + table)

    def notes(self) -> present.HTML:
        """The plan in plain words, in the page's language and unit."""
        items = "".join(f"<li>{_esc(x)}</li>" for x in plan_terms(self.plan, self.lang, self.units))
        return present.HTML(
            self._h2("notes") + f"<p>{_esc(self._plan_label())}</p><ul>{items}</ul>"
        )

    def curve(self):
        """Where the period's result sits on the plan's payout curve (this rep only),
        both axes in yuan."""
        import numpy as np
        from matplotlib.figure import Figure

        from simlib.plots import use_cjk_font

        st, plan = self.statement, self.plan
        q = st.quota
        if q is None:
            top = max([b.threshold for b in plan.tiers] + [st.result, 1.0])
            q = 1.5 * top
        hi = max(2.0, 1.2 * st.result / q)
        grid = np.linspace(0.0, hi, 241)
        kw = {}
        if plan.pays_on == "target_incentive":
            kw["target_incentive"] = float(plan.period_incentive())
        curve = payout_curve(plan, q, grid, **kw)
        here = payout_curve(plan, q, [st.result / q], **kw)["payout"].iloc[0]
        use_cjk_font()
        fig = Figure(figsize=(10, 3.8), dpi=100)  # not pyplot: shown once in a notebook
        ax = fig.add_subplot()
        u = self.units
        statement_curve(curve, st.result, float(here), lang=self.lang, units=u, ax=ax)
        amount_axis(ax, u, "x", zh="业绩", en="Result")
        amount_axis(ax, u, "y", zh="提成", en="Pay")
        ax.spines[["top", "right"]].set_visible(False)
        fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.16)
        return fig

    def __repr__(self) -> str:
        return repr(self.statement)


def statement_report(
    rep_id: str,
    period: str,
    plan: str | PlanSpec = "tiered_cn",
    *,
    lang: str = "en",
    data,
) -> StatementReport:
    """Build one rep's statement report (from ``data``).

    ``plan`` is a plan name in ``params/plans``, a path to a plan file, or a
    :class:`~simlib.plans.PlanSpec`.
    """
    _check_lang(lang)
    spec = plan if isinstance(plan, PlanSpec) else load_plan(plan)
    st = rep_statement(data, spec, rep_id, period)
    reps = data.reps.set_index(data.reps["rep_id"].astype(str))
    col = "name_zh" if lang == "zh-CN" and "name_zh" in reps.columns else "name"
    name = str(reps.loc[rep_id, col]) if rep_id in reps.index else rep_id
    company = ""
    try:
        cp = company_params()
        company = (
            cp.name_zh if lang == "zh-CN" and getattr(cp, "name_zh", None) else cp.name
        ) or ""
    except Exception:  # the company name is decoration; a missing file must not stop a statement
        company = ""
    return StatementReport(st, spec, name, lang, company)

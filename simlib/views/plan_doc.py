"""The plan document a rep signs: one A4 page saying how they are paid, in zh-CN or English.

What :meth:`simlib.plans.PlanSpec.describe` says for developers, said for the person
paid (the 签字确认 step of a plan's roll-out)::

    doc = plan_document(load_plan("tiered_cn"), rep_id="S003", data=load_demo(), lang="zh-CN")
    doc.html()   # a self-contained A4 page (PAGE_CSS, no request leaving the machine)
    doc.text()   # the same in plain text

The page has a header (plan, rep and team by name, period, effective date, currency,
quota), what is paid on, the bands as a table, every other term of the plan in plain
words, worked examples at 50%, 100% and 150% of the rep's quota and a signature block.
The worked examples are exact statements from :func:`simlib.plans.statement_for`, so
the document and the rep's statement can never disagree. A pay document: amounts are in
whole currency to the cent (``Units(lang, scale="yuan")``).

Every term of the plan is described by one entry of :data:`TERMS` — a condition and the
sentence in each language — so a new term of :class:`~simlib.plans.PlanSpec` is one
entry (terms that may not exist yet are read with ``getattr``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from simlib import present
from simlib.company import company_params
from simlib.i18n import check_lang
from simlib.i18n import escape as _esc
from simlib.periods import LABEL_PATTERNS, period_of
from simlib.plans import PlanSpec, Statement, statement_for, teams_from_reps
from simlib.plans.spec import fmt_number, fmt_rate
from simlib.present import Col, Units
from simlib.views.statement import line_text, period_label

__all__ = ["TERMS", "Example", "PlanDocument", "plan_document"]

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Commission plan", "提成方案确认书"),
    "rep": ("Sales rep", "销售顾问"),
    "manager": ("Manager", "销售主管"),
    "team": ("Team", "所属团队"),
    "plan": ("Plan", "提成方案"),
    "period": ("Paid per", "结算周期"),
    "effective": ("Effective from", "生效日期"),
    "currency": ("Currency", "币种"),
    "quota": ("Quota", "业绩指标"),
    "team_quota": ("Team quota", "团队业绩指标"),
    "target_incentive": ("Target incentive", "目标奖金"),
    "not_stated": ("not stated", "未注明"),
    "paid_on": ("How you are paid", "计提方式与条款"),
    "bands": ("Bands", "提成档位"),
    "multipliers": ("Attainment multipliers", "达成率系数"),
    "examples": ("Worked examples", "计算示例"),
    "sign": ("Acknowledgement", "签字确认"),
    "read": ("I have read and understood this plan.", "本人已阅读并理解本方案。"),
    "name": ("Name", "姓名"),
    "date": ("Date", "日期"),
    "and_above": ("and above", "及以上"),
    "payable": ("Pay", "应发"),
    "case": ("Example", "示例"),
    "calculation": ("Calculation", "计算过程"),
    "of_quota": ("{share} of quota", "指标的 {share}"),
    "example_n": ("Example {n}", "示例 {n}"),
    "result": ("result", "业绩"),
    "rep_sign": ("Signature", "本人签字"),
    "manager_sign": ("Manager's signature", "主管签字"),
    "director_sign": ("Director's signature", "上级签字"),
    "blank": ("", ""),
}

_MEASURES: dict[str, tuple[str, str]] = {
    "revenue": ("revenue", "销售额"),
    "gross_margin": ("gross margin", "毛利"),
    "collected_revenue": ("collected revenue", "回款额"),
    "new_customer_revenue": ("new-customer revenue", "新客户销售额"),
    "renewal_rate": ("renewal rate", "续约率"),
    "kpi_score": ("KPI score", "KPI得分"),
}
_PERIODS = {
    "week": ("week", "周"),
    "month": ("month", "月"),
    "quarter": ("quarter", "季度"),
    "year": ("year", "年"),
}
_CURRENCIES = {
    "CNY": ("Chinese yuan (CNY)", "人民币（CNY）"),
    "USD": ("US dollar (USD)", "美元（USD）"),
    "EUR": ("euro (EUR)", "欧元（EUR）"),
}
#: Gate conditions a plan may state (``>=`` each): (English, Chinese, how the value reads).
_GATE_FIELDS: dict[str, tuple[str, str, str]] = {
    "min_attainment": ("attainment", "达成率", "pct"),
    "min_ytd_attainment": ("year-to-date attainment", "年初至今达成率", "pct"),
    "min_collection_rate": ("collection rate", "回款率", "pct"),
    "min_kpi_score": ("KPI score", "KPI得分", "number"),
}


def _t(key: str, lang: str, **kw) -> str:
    en, zh = _TEXT[key]
    s = zh if lang == "zh-CN" else en
    return s.format(**kw) if kw else s


# --------------------------------------------------------------------------- wording


@dataclass(frozen=True)
class _Words:
    """What every sentence of the page needs: the plan, the language and the units."""

    plan: PlanSpec
    lang: str
    units: Units
    quota: float | None = None

    @property
    def zh(self) -> bool:
        return self.lang == "zh-CN"

    def pick(self, en: str, zh: str) -> str:
        return zh if self.zh else en

    @property
    def per(self) -> str:
        return _PERIODS.get(self.plan.period, (self.plan.period, self.plan.period))[self.zh]

    @property
    def per_noun(self) -> str:
        """The period as a noun (``月份``, ``季度``): "a month that earns less"."""
        if not self.zh:
            return self.per
        return {"month": "月份", "year": "年度"}.get(self.plan.period, self.per)

    @property
    def measure(self) -> str:
        m = self.plan.measure
        return _MEASURES.get(m, (m.replace("_", " "), m.replace("_", " ")))[self.zh]

    def money(self, x) -> str:
        return self.units.amount(x, unit=True)

    def share(self, x) -> str:
        """A share as written (``0.015 → 1.5%``, exact, no rounding)."""
        return fmt_rate(x)

    def level(self, x) -> str:
        """A threshold in the plan's units: % of quota, a rate, a score or an amount."""
        p = self.plan
        if p.basis == "attainment" or p.measure == "renewal_rate":
            return fmt_rate(x)
        if p.measure == "kpi_score":
            return fmt_number(x)
        return self.money(x)

    def result(self, x) -> str:
        """A result of the measure (an amount, a rate or a score)."""
        if self.plan.measure == "renewal_rate":
            return present.pct(x)
        if self.plan.measure == "kpi_score":
            return present.number(x, 1)
        return self.money(x)

    def rate(self, band) -> str:
        """What a band pays: a rate, a multiple of the target incentive, or an amount."""
        amount = getattr(band, "amount", None)
        if amount is not None:
            a = self.money(amount)
            if self.plan.mode == "retroactive":
                return self.pick(f"{a} flat", f"固定 {a}")
            return self.pick(f"{a} for the whole band", f"整档 {a}")
        if self.plan.pays_on == "target_incentive":
            n = fmt_number(band.rate)
            return self.pick(f"{n}× the target incentive", f"目标奖金的 {n} 倍")
        return fmt_rate(band.rate)

    def gate(self, gate) -> str:
        """A gate's conditions joined: ``attainment ≥ 50% and collection rate ≥ 80%``."""
        parts = []
        for name, (en, zh, kind) in _GATE_FIELDS.items():
            v = getattr(gate, name, None)
            if v is None:
                continue
            shown = fmt_rate(v) if kind == "pct" else fmt_number(v)
            parts.append(f"{zh} ≥ {shown}" if self.zh else f"{en} ≥ {shown}")
        return ("且" if self.zh else " and ").join(parts)

    def first_edge(self) -> tuple[str, str, str] | None:
        """The first threshold above 0 and the rates just below and above it."""
        tiers = self.plan.tiers
        if len(tiers) < 2:
            return None
        return self.level(tiers[1].threshold), self.rate(tiers[0]), self.rate(tiers[1])


def _edge_sentence(w: _Words) -> str:
    lo, below, above = w.first_edge()
    down = w.plan.at_threshold == "band_below"
    if any(getattr(b, "amount", None) is not None for b in w.plan.tiers[:2]):
        # an amount is no rate to be "paid at": name the band instead
        n = 1 if down else 2
        how = w.pick(f"exactly {lo} falls in band {n}", f"恰好 {lo} 计入第 {n} 档")
    else:
        r = below if down else above
        how = w.pick(f"exactly {lo} is paid at {r}", f"恰好 {lo} 按 {r} 计")
    if down:
        return w.pick(
            f"A result exactly at a threshold belongs to the band below ({how}).",
            f"恰好等于档位分界的业绩计入较低一档（{how}）。",
        )
    return w.pick(
        f"A result exactly at a threshold belongs to the band above ({how}).",
        f"恰好等于档位分界的业绩计入较高一档（{how}）。",
    )


def _entry_bonuses(w: _Words) -> str:
    parts = []
    for i, b in enumerate(w.plan.tiers):
        bonus = getattr(b, "entry_bonus", None)
        if bonus:
            lo = w.level(b.threshold)
            parts.append(
                f"进入第 {i + 1} 档（{lo} 起）{w.money(bonus)}"
                if w.zh
                else f"{w.money(bonus)} on entering band {i + 1} (from {lo})"
            )
    return w.pick(
        "A one-time bonus when the result first enters a band: " + "; ".join(parts) + ".",
        "首次进入档位时一次性奖励：" + "；".join(parts) + "。",
    )


def _spifs(w: _Words) -> str:
    out = []
    for s in w.plan.spifs:
        extra = ""
        if getattr(s, "min_amount", 0):
            extra = w.pick(
                f", deals of {w.money(s.min_amount)} or more",
                f"，成交额不低于 {w.money(s.min_amount)}",
            )
        out.append(
            f"专项奖励（{s.name}）：每笔符合条件的成交奖励 {w.money(s.amount)}{extra}。"
            if w.zh
            else f"SPIF ({s.name}): {w.money(s.amount)} per qualifying deal{extra}."
        )
    return " ".join(out)


def _amount_bands(p) -> bool:
    return any(getattr(b, "amount", None) is not None for b in p.tiers)


def _margin_words(w: _Words) -> str:
    rest = (getattr(w.plan, "margin_pct", None) or {}).get("*")
    other = ""
    if rest is not None:
        other = w.pick(f" ({fmt_rate(rest)} for other products)", f"（其他产品 {fmt_rate(rest)}）")
    return w.pick(
        "Where the data has no margin or cost for a deal, its gross margin is the amount × "
        f"the plan's margin rate for the product{other}.",
        f"数据中没有毛利或成本的成交，毛利 = 成交额 × 方案规定的产品毛利率{other}。",
    )


def _has(name: str) -> Callable[[PlanSpec], bool]:
    return lambda p: bool(getattr(p, name, None))


def _cap(p, key):
    cap = getattr(p, "cap", None)
    return cap is not None and getattr(cap, key, None) is not None


#: Every term of a plan the document can describe: (condition, Chinese, English). The
#: sentences take a :class:`_Words` (plan, language, units). A new plan term is one entry.
def _mix(w) -> tuple[float, float, float, int]:
    base, ti = (float(x) for x in w.plan.pay_mix.annual())
    return base, ti, base + ti, round(100 * base / (base + ti))


def _parts(w, zh: bool) -> str:
    sep = "；" if zh else "; "
    return sep.join(f"{c.name} {w.share(c.weight)}" for c in w.plan.components)


TERMS: tuple[tuple[Callable[[PlanSpec], bool], Callable, Callable], ...] = (
    (
        lambda p: bool(getattr(p, "components", ())) and p.combine == "components",
        lambda w: (
            f"多指标加权：目标奖金按权重分为 {_parts(w, True)}，各部分按各自的指标与曲线计发。"
        ),
        lambda w: (
            f"Weighted measures: the target incentive is split {_parts(w, False)}; each part "
            "is paid on its own measure, against its own quota, through its own curve."
        ),
    ),
    (
        lambda p: bool(getattr(p, "components", ())) and p.combine == "attainment",
        lambda w: (
            f"多指标加权：加权达成率 = Σ 权重 × 各指标达成率（{_parts(w, True)}），"
            "按下列档位计发目标奖金。"
        ),
        lambda w: (
            f"Weighted measures: one attainment, Σ weight × each measure's attainment "
            f"({_parts(w, False)}), paid through the bands below."
        ),
    ),
    (
        _has("base_rate"),
        lambda w: (
            f"利差计提：每一档按该档费率减去基准费率 {fmt_rate(w.plan.base_rate)} 计算"
            "（不高于基准费率的档位不计提）。"
        ),
        lambda w: (
            f"A spread plan: each band pays its rate less the base rate "
            f"{fmt_rate(w.plan.base_rate)} (a band at or below the base rate pays nothing)."
        ),
    ),
    (
        _has("pay_mix"),
        lambda w: (
            f"薪酬结构：年度目标总收入 {w.money(_mix(w)[2])}，其中底薪 {w.money(_mix(w)[0])}、"
            f"目标奖金 {w.money(_mix(w)[1])}（{_mix(w)[3]}/{100 - _mix(w)[3]}）；"
            f"每{w.per}底薪 {w.money(float(w.plan.period_base()))}，"
            f"目标奖金 {w.money(float(w.plan.period_incentive()))}，按下列档位发放。"
        ),
        lambda w: (
            f"Pay mix: on-target earnings of {w.money(_mix(w)[2])} a year, of which base "
            f"salary {w.money(_mix(w)[0])} and target incentive {w.money(_mix(w)[1])} "
            f"({_mix(w)[3]}/{100 - _mix(w)[3]}); each {w.per} a base of "
            f"{w.money(float(w.plan.period_base()))} and a target incentive of "
            f"{w.money(float(w.plan.period_incentive()))}, paid through the bands below."
        ),
    ),
    (
        lambda p: True,
        lambda w: (
            f"按{'所管理团队' if w.plan.credit == 'team' else '本人'}的{w.measure}每{w.per}计提。"
        ),
        lambda w: (
            f"Paid each {w.per} on the {w.measure} of the team you manage."
            if w.plan.credit == "team"
            else f"Paid each {w.per} on your own {w.measure}."
        ),
    ),
    (
        lambda p: p.basis == "attainment",
        lambda w: "档位按达成率（业绩 ÷ 指标）划分，以指标的百分比表示。",
        lambda w: "Bands are on attainment (result ÷ quota), stated as % of quota.",
    ),
    (
        lambda p: p.pays_on == "target_incentive",
        lambda w: "按目标奖金计发：费率 1 表示达成 100% 时发放全部目标奖金。",
        lambda w: (
            "Paid as a share of the target incentive: at a rate of 1, 100% attainment pays "
            "the whole incentive."
        ),
    ),
    (
        lambda p: p.mode == "marginal" and len(p.tiers) > 1,
        lambda w: "超额累进：每一段业绩按其所在档位的费率计算。",
        lambda w: "Marginal: each slice of the result is paid at its own band's rate.",
    ),
    (
        lambda p: p.mode == "retroactive" and len(p.tiers) > 1,
        lambda w: "全额累进：全部业绩按达到的最高档位的费率计算。",
        lambda w: "Retroactive: all of the result is paid at the rate of the band reached.",
    ),
    (lambda p: len(p.tiers) > 1, lambda w: _edge_sentence(w), lambda w: _edge_sentence(w)),
    (
        lambda p: p.tier_scope == "per_deal",
        lambda w: "档位按单笔成交金额计算：每笔成交单独适用档位。",
        lambda w: "Bands apply to each deal's amount on its own.",
    ),
    (
        lambda p: any(getattr(b, "entry_bonus", None) for b in p.tiers),
        lambda w: _entry_bonuses(w),
        lambda w: _entry_bonuses(w),
    ),
    (
        lambda p: bool(p.multipliers) and p.multiplier_mode == "marginal",
        lambda w: "达成率系数按段计算：每一段业绩乘以其所在达成率区间的系数。",
        lambda w: (
            "Multipliers are marginal: each slice of the result is multiplied by the factor "
            "of its attainment band."
        ),
    ),
    (
        lambda p: bool(p.multipliers) and p.multiplier_mode == "retroactive",
        lambda w: "达成率系数全额适用：全部业绩乘以达到的系数。",
        lambda w: "Multipliers are retroactive: all of the result at the factor reached.",
    ),
    (
        lambda p: bool(p.multipliers) and p.multiplier_mode == "overage",
        lambda w: (
            "超额部分加速：达到区间的系数只适用于超过指标的部分；指标以内每一段按其所在区间的系数计算。"
        ),
        lambda w: (
            "Overage: the factor of the band reached applies only to the amount above quota; "
            "below quota each slice keeps its own band's factor."
        ),
    ),
    (
        _has("accelerator_gate"),
        lambda w: (
            f"加速系数（大于 1）仅在{w.gate(w.plan.accelerator_gate)} 时适用；"
            "否则按 1 计算（减速系数照常适用）。"
        ),
        lambda w: (
            f"Factors above 1 apply only when {w.gate(w.plan.accelerator_gate)}; otherwise "
            "they count as 1 (decelerators still apply)."
        ),
    ),
    (
        lambda p: p.mode == "marginal" and _amount_bands(p),
        lambda w: "按金额表示的档位：整档发放该金额，只达到部分档位时按比例发放。",
        lambda w: (
            "A band stated as an amount pays that amount for the whole band, pro rata for "
            "part of it."
        ),
    ),
    (
        lambda p: p.mode == "retroactive" and _amount_bands(p),
        lambda w: "按金额表示的档位：业绩达到该档时一次性发放该金额。",
        lambda w: "A band stated as an amount is paid flat once the result reaches it.",
    ),
    (
        _has("margin_pct"),
        lambda w: _margin_words(w),
        lambda w: _margin_words(w),
    ),
    (
        _has("gate"),
        lambda w: f"门槛：{w.gate(w.plan.gate)}；未达到则本{w.per}不发放提成。",
        lambda w: f"Gate: {w.gate(w.plan.gate)}; below it nothing is paid for the {w.per}.",
    ),
    (
        lambda p: _cap(p, "per_period"),
        lambda w: f"每{w.per}封顶 {w.money(w.plan.cap.per_period)}。",
        lambda w: f"Pay is capped at {w.money(w.plan.cap.per_period)} a {w.per}.",
    ),
    (
        lambda p: _cap(p, "per_deal"),
        lambda w: f"单笔成交的提成封顶 {w.money(w.plan.cap.per_deal)}。",
        lambda w: f"The commission on one deal is capped at {w.money(w.plan.cap.per_deal)}.",
    ),
    (
        _has("floor"),
        lambda w: f"达到门槛时每{w.per}保底 {w.money(w.plan.floor)}。",
        lambda w: f"A floor of {w.money(w.plan.floor)} a {w.per} when the gate is met.",
    ),
    (
        lambda p: p.draw is not None and p.draw.kind == "recoverable",
        lambda w: (
            f"可追回预支：提成不足 {w.money(w.plan.draw.amount)} 的{w.per_noun}补足至该金额，"
            "补足部分从以后各期超出部分中扣回。"
        ),
        lambda w: (
            f"Recoverable draw: a {w.per} that earns less than {w.money(w.plan.draw.amount)} "
            "is topped up to it, and the top-up is recovered from later earnings above it."
        ),
    ),
    (
        lambda p: p.draw is not None and p.draw.kind == "non_recoverable",
        lambda w: f"不可追回预支：每{w.per}保证 {w.money(w.plan.draw.amount)}，差额不追回。",
        lambda w: (
            f"Non-recoverable draw: {w.money(w.plan.draw.amount)} guaranteed a {w.per}; "
            "the top-up is not owed back."
        ),
    ),
    (_has("spifs"), lambda w: _spifs(w), lambda w: _spifs(w)),
    (
        _has("clawback"),
        lambda w: f"追回：成交后 {w.plan.clawback.within_days} 天内撤销的成交，已发提成予以追回。",
        lambda w: (
            f"Clawback: the commission paid on a deal reversed within "
            f"{w.plan.clawback.within_days} days of its close is taken back."
        ),
    ),
    (
        _has("ytd_true_up"),
        lambda w: f"年度累计补差：每{w.per}按年初至今的业绩和指标计算，减去此前各期已计提成。",
        lambda w: (
            f"Year-to-date true-up: each {w.per} pays the year to date under the plan "
            "(year-to-date quota, caps and floor) less what earlier periods paid."
        ),
    ),
)


def plan_sentences(plan: PlanSpec, lang: str, units: Units) -> list[str]:
    """Every term of ``plan`` that applies, one sentence each, in ``lang``."""
    w = _Words(plan, lang, units)
    return [(zh if w.zh else en)(w) for cond, zh, en in TERMS if cond(plan)]


# --------------------------------------------------------------------------- examples


@dataclass(frozen=True)
class Example:
    """A worked example: one period's exact statement for one result."""

    result: float
    share: float | None  # of quota (0.5, 1.0, 1.5); None for an example at an amount
    statement: Statement

    @property
    def payable_cents(self) -> int:
        return self.statement.payable_cents


def _nice(x: float) -> float:
    """``2,345,678 → 2,300,000``: two significant digits, for an example amount."""
    if x <= 0:
        return 0.0
    mag = 10 ** (math.floor(math.log10(x)) - 1)
    return round(x / mag) * mag


def _example_results(plan: PlanSpec) -> list[float]:
    """Three results that cross a plan's bands when there is no quota to scale them by."""
    edges = [float(b.threshold) for b in plan.tiers if b.threshold > 0]
    if plan.is_ratio:  # rates and scores: around the bands as written
        if len(edges) >= 2:
            return [edges[0] / 2, (edges[0] + edges[1]) / 2, edges[-1] * 1.1]
        top = edges[0] if edges else (1.0 if plan.measure == "renewal_rate" else 100.0)
        return [top / 2, top, top * 1.1]
    if len(edges) >= 2:
        return [_nice(edges[0] / 2), _nice((edges[0] + edges[1]) / 2), _nice(edges[-1] * 1.5)]
    if len(edges) == 1:
        return [_nice(edges[0] / 2), _nice(edges[0] * 1.5), _nice(edges[0] * 3)]
    # one flat rate: scale by what the rate must earn to reach the draw, floor or cap
    rate = float(getattr(plan.tiers[0], "rate", None) or 0) or 0.01
    level = next(
        (
            float(v)
            for v in (
                plan.draw.amount if plan.draw else None,
                plan.floor,
                plan.cap.per_period if plan.cap else None,
            )
            if v
        ),
        None,
    )
    base = _nice(level / rate) if level else 1_000_000.0
    return [base / 2, base, base * 2]


# --------------------------------------------------------------------------- document


@dataclass(frozen=True)
class PlanDocument:
    """A plan, explained for one rep (or for anyone), in one language.

    Build it with :func:`plan_document`; ``html()`` is the page, ``text()`` the same in
    plain text.
    """

    plan: PlanSpec
    lang: str = "en"
    rep_name: str | None = None
    team_name: str | None = None
    manager: bool = False
    quota: float | None = None
    quota_period: str | None = None
    target_incentive: float | None = None
    examples: tuple[Example, ...] = ()
    assumptions: tuple[str, ...] = ()
    company: str = ""

    # ---- pieces ----------------------------------------------------------------

    @property
    def units(self) -> Units:
        """A pay document: whole currency to the cent, in the plan's currency."""
        return Units(self.lang, scale="yuan", currency=self.plan.currency)

    @property
    def _w(self) -> _Words:
        return _Words(self.plan, self.lang, self.units, self.quota)

    def title(self) -> str:
        """The plan's name: its Chinese label in Chinese, the description's head in English."""
        p = self.plan
        if self.lang == "zh-CN" and p.label_zh:
            return p.label_zh
        head = re.split(r"[:;.]\s", p.description.strip(), maxsplit=1)[0].strip()
        return head or p.description

    def header_rows(self) -> list[tuple[str, str]]:
        """(label, value) of the header: plan, rep, team, period, dates, currency, quota."""
        L, w, p = self.lang, self._w, self.plan
        zh = L == "zh-CN"
        blank = "________________"
        rows = [(_t("plan", L), self.title())]
        rows.append((_t("manager" if self.manager else "rep", L), self.rep_name or blank))
        if self.team_name:
            rows.append((_t("team", L), self.team_name))
        rows.append((_t("period", L), w.per))
        eff = getattr(p, "effective_from", None)
        rows.append((_t("effective", L), _date(eff, L) if eff else _t("not_stated", L)))
        rows.append((_t("currency", L), _CURRENCIES.get(p.currency, (p.currency,) * 2)[zh]))
        if self.quota is not None:
            when, q = "", self.quota_period
            if q:
                when = f"（{period_label(q, L)}）" if zh else f" ({q})"
            key = "team_quota" if p.credit == "team" else "quota"
            rows.append((_t(key, L), w.result(self.quota) + when))
        if p.pays_on == "target_incentive" and self.target_incentive is not None:
            rows.append((_t("target_incentive", L), w.money(self.target_incentive)))
        return rows

    def band_frame(self) -> pd.DataFrame:
        """The bands: number, from, to, what is paid (and entry bonus, and the equivalent
        result when bands are % of a known quota)."""
        w, p, L = self._w, self.plan, self.lang
        rows = []
        for i, b in enumerate(p.tiers):
            nxt = p.tiers[i + 1].threshold if i + 1 < len(p.tiers) else None
            row = {
                "n": i + 1,
                "from": w.level(b.threshold),
                "to": w.level(nxt) if nxt is not None else _t("and_above", L),
                "rate": w.rate(b),
                "bonus": getattr(b, "entry_bonus", None),
            }
            if (
                p.basis == "attainment"
                and self.quota is not None
                and not p.is_ratio
                and len(p.tiers) > 1
            ):
                lo = b.threshold * self.quota
                hi = nxt * self.quota if nxt is not None else None
                row["equiv"] = (
                    f"{w.money(lo)} – {w.money(hi)}"
                    if hi is not None
                    else f"{w.money(lo)} {_t('and_above', L)}"
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def _band_cols(self, frame: pd.DataFrame) -> list[Col]:
        att = self.plan.basis == "attainment"
        cols = [
            Col("n", "档位", "Band", kind="count"),
            Col("from", "达成率自" if att else "自", "From" + (" (% of quota)" if att else "")),
            Col("to", "至", "To"),
            Col("rate", "费率", "Rate"),
        ]
        if "equiv" in frame.columns:
            cols.append(Col("equiv", "对应业绩", "Result"))
        if frame["bonus"].notna().any() and (frame["bonus"].fillna(0) > 0).any():
            cols.append(Col("bonus", "进档奖励", "Entry bonus", kind="amount", missing="—"))
        return cols

    def multiplier_frame(self) -> pd.DataFrame:
        """The multiplier bands: number, attainment from and to, factor, what it is."""
        L, zh = self.lang, self.lang == "zh-CN"
        ms = self.plan.multipliers
        rows = []
        for i, m in enumerate(ms):
            nxt = ms[i + 1].threshold if i + 1 < len(ms) else None
            kind = (
                ("accelerator", "加速")
                if m.factor > 1
                else (("decelerator", "减速") if m.factor < 1 else ("standard", "标准"))
            )
            rows.append(
                {
                    "n": i + 1,
                    "from": fmt_rate(m.threshold),
                    "to": fmt_rate(nxt) if nxt is not None else _t("and_above", L),
                    "factor": f"× {fmt_number(m.factor)}",
                    "kind": kind[zh],
                }
            )
        return pd.DataFrame(rows)

    _MULT_COLS = [
        Col("n", "区间", "Band", kind="count"),
        Col("from", "达成率自", "Attainment from"),
        Col("to", "至", "To"),
        Col("factor", "系数", "Factor"),
        Col("kind", "类型", "Kind"),
    ]

    def terms(self) -> list[str]:
        """The plan's terms in plain sentences (from :data:`TERMS`)."""
        return plan_sentences(self.plan, self.lang, self.units)

    def case_label(self, ex: Example, i: int) -> str:
        """``50% of quota``, or ``Example 2`` for an example at an amount."""
        if ex.share is not None:
            return _t("of_quota", self.lang, share=present.pct(ex.share, 0))
        return _t("example_n", self.lang, n=i + 1)

    def example_frame(self) -> pd.DataFrame:
        """The worked examples: per example its lines (arithmetic in words) and the pay;
        the example and its result on its first row."""
        L = self.lang
        rows = []
        for i, ex in enumerate(self.examples):
            st = ex.statement
            # the example's figure (a weighted plan's statement holds its weighted attainment)
            first = {"case": self.case_label(ex, i), "result": self._w.result(ex.result)}
            for ln in st.lines:
                amount = None if ln.kind == "component" else ln.cents / 100  # words only
                rows.append({"calc": _line(ln, L), "amount": amount, "kind": "line", **first})
                first = {"case": "", "result": ""}
            rows.append(
                {
                    **first,
                    "calc": _t("payable", L),
                    "amount": st.payable_cents / 100,
                    "kind": "total",
                }
            )
        return pd.DataFrame(rows, columns=["case", "result", "calc", "amount", "kind"])

    _EX_COLS = [
        Col("case", "示例", "Example"),
        Col("result", "业绩", "Result"),
        Col("calc", "计算过程", "Calculation"),
        Col("amount", "金额", "Amount", kind="amount", missing=""),
    ]

    def sign_blocks(self) -> list[list[tuple[str, str]]]:
        """The signature block: the rep's column (name printed, signature, date) and the
        manager's (a manager's own plan: their director's)."""
        L = self.lang
        boss = "director_sign" if self.manager else "manager_sign"
        return [
            [(_t("name", L), self.rep_name or ""), (_t("rep_sign", L), ""), (_t("date", L), "")],
            [(_t(boss, L), ""), (_t("date", L), "")],
        ]

    # ---- outputs -----------------------------------------------------------------

    def html(self) -> str:
        """One self-contained A4 page: PAGE_CSS and local fonts, nothing fetched."""
        L, u = self.lang, self.units
        zh = L == "zh-CN"
        sep = "：" if zh else ": "

        def h2(key: str) -> str:
            return f"<h2>{_esc(_t(key, L))}</h2>"

        head = "".join(
            f"<div><span class='k'>{_esc(k)}{sep}</span>{_esc(v)}</div>"
            for k, v in self.header_rows()
        )
        company = f"<p class='company'>{_esc(self.company)}</p>" if self.company else ""
        desc = "" if zh else f"<p class='desc'>{_esc(self.plan.description)}</p>"
        items = "".join(f"<li>{_esc(s)}</li>" for s in self.terms())
        bands = self.band_frame()
        tables = [f"<div><h3>{_esc(_t('bands', L))}</h3>"]
        tables.append(present.table(bands, self._band_cols(bands), u) + "</div>")
        if self.plan.multipliers:
            mult = present.table(self.multiplier_frame(), self._MULT_COLS, u)
            tables.append(f"<div><h3>{_esc(_t('multipliers', L))}</h3>{mult}</div>")
        parts = [
            company,
            f"<h1>{_esc(_t('title', L))}</h1>",
            f"<div class='head'>{head}</div>",
            desc,
            h2("paid_on"),
            f"<ul>{items}</ul>",
            f"<div class='tables'>{''.join(tables)}</div>",
        ]
        if self.examples:
            frame = self.example_frame()
            parts += [
                h2("examples"),
                present.table(
                    frame,
                    self._EX_COLS,
                    u,
                    row_class=lambda r: " ".join(
                        c for c, on in (("total", r["kind"] == "total"), ("first", r["case"])) if on
                    ),
                ),
            ]
            if self.assumptions:
                parts.append(f"<p class='note'>{_esc(' '.join(self.assumptions))}</p>")
        columns = "".join(
            "<div class='col'>"
            + "".join(
                f"<div class='sig'><span class='k'>{_esc(k)}{sep}</span>"
                f"<span class='line'>{_esc(v)}</span></div>"
                for k, v in block
            )
            + "</div>"
            for block in self.sign_blocks()
        )
        parts += [
            h2("sign"),
            f"<p class='read'>{_esc(_t('read', L))}</p>",
            f"<div class='sign'>{columns}</div>",
        ]
        title = f"{_t('title', L)} — {self.rep_name}" if self.rep_name else _t("title", L)
        return (
            f'<!DOCTYPE html>\n<html lang="{_esc(L)}"><head><meta charset="utf-8">'
            f"<title>{_esc(title)}</title><style>{present.PAGE_CSS}{_DOC_CSS}</style></head>"
            f"<body class='plan-doc'>{''.join(parts)}</body></html>\n"
        )

    def text(self) -> str:
        """The same document in plain text."""
        L, u = self.lang, self.units
        zh = L == "zh-CN"
        sep = "：" if zh else ": "
        title = _t("title", L)
        out = ([self.company] if self.company else []) + [title, "=" * _width(title)]
        out += [f"{k}{sep}{v}" for k, v in self.header_rows()]
        if not zh:
            out += ["", self.plan.description]
        out += ["", _t("paid_on", L)] + [f"- {s}" for s in self.terms()]
        bands = self.band_frame()
        out += ["", _t("bands", L)] + _text_table(bands, self._band_cols(bands), u)
        if self.plan.multipliers:
            out += ["", _t("multipliers", L)]
            out += _text_table(self.multiplier_frame(), self._MULT_COLS, u)
        if self.examples:
            out += ["", _t("examples", L)]
            for r in self.example_frame().to_dict("records"):
                if r["case"]:
                    out.append(f"{r['case']} — {_t('result', L)} {r['result']}")
                out.append(f"    {r['calc']}  {u.amount(r['amount'], unit=True)}")
            out += [f"  {a}" for a in self.assumptions]
        out += ["", _t("sign", L), _t("read", L)]
        for block in self.sign_blocks():
            out += [f"{k}{sep}{v or '________________'}" for k, v in block]
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        who = f" for {self.rep_name}" if self.rep_name else ""
        return f"PlanDocument({self.plan.name}{who}, {self.lang}, {len(self.examples)} examples)"


_DOC_CSS = """
body.plan-doc { font-family: system-ui, -apple-system, "Segoe UI", "WenQuanYi Micro Hei",
  "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #222; font-size: 12.5px;
  max-width: 186mm; margin: 0 auto; padding: 10px 16px; line-height: 1.4; }
.plan-doc h1 { font-size: 20px; margin: 2px 0 6px; }
.plan-doc h2 { font-size: 14px; margin: 10px 0 4px; padding-bottom: 2px;
  border-bottom: 1px solid #ccc; }
.plan-doc h3 { font-size: 12.5px; margin: 4px 0 0; color: #444; }
.plan-doc .company { color: #555; margin: 0; }
.plan-doc .head { display: grid; grid-template-columns: 1fr 1fr; gap: 1px 24px; }
.plan-doc .k { color: #555; }
.plan-doc .desc { color: #444; margin: 6px 0 0; }
.plan-doc ul { margin: 2px 0; padding-left: 20px; }
.plan-doc .tables { display: flex; flex-wrap: wrap; gap: 0 28px; align-items: flex-start; }
.plan-doc .simlib-table { font-size: 12px; margin: 2px 0 4px; }
.plan-doc .simlib-table td, .plan-doc .simlib-table th { padding: 2px 8px; }
.plan-doc .simlib-table tr.first td { border-top: 2px solid #bbb; }
.plan-doc .simlib-table tr.total td { border-top: 1px solid #999; }
.plan-doc .note { color: #555; font-size: 11.5px; margin: 2px 0; }
.plan-doc .read { margin: 4px 0 6px; font-weight: 600; }
.plan-doc .sign { display: grid; grid-template-columns: 1fr 1fr; gap: 0 40px; }
.plan-doc .sig { display: flex; align-items: flex-end; gap: 6px; margin: 0 0 12px; }
.plan-doc .sig .line { flex: 1; border-bottom: 1px solid #333; min-height: 20px; }
@media print { body.plan-doc { max-width: none; padding: 0; font-size: 9pt; }
  .plan-doc .simlib-table { font-size: 8.5pt; } .plan-doc h1 { font-size: 15pt; }
  .plan-doc h2 { font-size: 10.5pt; } }
"""


def _text_table(frame: pd.DataFrame, cols: list[Col], units: Units) -> list[str]:
    head = [c.header(units) for c in cols]
    rows = [[_plain(c.cell(r.get(c.key), units)) for c in cols] for r in frame.to_dict("records")]
    widths = [max(_width(x) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(head)]

    def line(cells):
        return "  ".join(x + " " * (w - _width(x)) for x, w in zip(cells, widths)).rstrip()

    return [line(head)] + [line(r) for r in rows]


def _plain(cell_html: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", cell_html))


def _width(s: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _line(ln, lang: str) -> str:
    """A statement line in ``lang`` without the example's made-up deal id."""
    text = line_text(ln, lang)
    if ln.opportunity_id:  # at the start, or after a weighted plan's component name
        oid = re.escape(str(ln.opportunity_id))
        text = re.sub(rf"^((?:[^:：]+[:：]\s*)?){oid}[:：]\s*", r"\1", text)
    return text


def _date(d, lang: str) -> str:
    d = d if isinstance(d, dt.date) else pd.Timestamp(d).date()
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh-CN" else d.isoformat()


# --------------------------------------------------------------------------- inputs


def _find_rep(reps: pd.DataFrame, rep: str) -> pd.Series:
    """The rep by id, or by name (English or Chinese); else a message with close names."""
    ids = reps["rep_id"].astype(str)
    hit = reps[ids == str(rep)]
    if hit.empty:
        for col in ("name", "name_zh"):
            if col in reps.columns:
                hit = reps[reps[col].astype(str).str.casefold() == str(rep).casefold()]
                if not hit.empty:
                    break
    if len(hit) == 1:
        return hit.iloc[0]
    if len(hit) > 1:
        raise ValueError(
            f"{rep!r} names {len(hit)} reps ({', '.join(hit['rep_id'].astype(str))}); "
            "give the rep's id"
        )
    label = {
        str(r["rep_id"]): f"{r['rep_id']} ({r['name']})" if "name" in reps.columns else r["rep_id"]
        for _, r in reps.iterrows()
    }
    keys = {k: k for k in label}
    for col in ("name", "name_zh"):
        if col in reps.columns:
            keys.update({str(r[col]): str(r["rep_id"]) for _, r in reps.iterrows()})
    close = difflib.get_close_matches(str(rep), list(keys), n=5, cutoff=0.5)
    seen = list(dict.fromkeys(keys[c] for c in close))
    hint = f"; did you mean {', '.join(label[s] for s in seen)}?" if seen else ""
    raise ValueError(f"no rep {rep!r} in the data{hint}")


def _name(row, lang: str, fallback: str = "") -> str:
    zh = row.get("name_zh") if hasattr(row, "get") else None
    if lang == "zh-CN" and isinstance(zh, str) and zh.strip():
        return zh
    name = row.get("name") if hasattr(row, "get") else None
    return str(name) if isinstance(name, str) and name.strip() else fallback


def _team_name(data, team_id, lang: str) -> str | None:
    if team_id is None or team_id != team_id:
        return None
    org = data.tables.get("org") if hasattr(data, "tables") else None
    if org is None or "node_id" not in org:
        return None
    hit = org[org["node_id"].astype(str) == str(team_id)]
    return _name(hit.iloc[0], lang) or None if len(hit) else None


def _quota_from(data, plan: PlanSpec, rep_id: str, team_id, manager: bool):
    """(quota, period, target incentive) of a rep for one period of the plan's kind: the
    period containing the plan's effective date when there is one, else the latest."""
    t = data.tables.get("targets") if hasattr(data, "tables") else data.targets
    if t is None or t.empty:
        return None, None, None
    if "metric" in t.columns:
        t = t[t["metric"].astype(str) == plan.measure]
    col = "quota" if "quota" in t.columns else "amount"
    t = t[t["period"].astype(str).str.match(LABEL_PATTERNS[plan.period])]
    owner = t["owner_id"].astype(str)
    level = t["level"].astype(str) if "level" in t.columns else pd.Series("rep", index=t.index)
    rows = t[owner == rep_id]
    if plan.credit == "team" and rows.empty and team_id is not None:
        rows = t[(owner == str(team_id)) & (level == "team")]
        if rows.empty:
            members = teams_from_reps(data.reps).get(rep_id, ())
            mine = t[owner.isin(members) & (level == "rep")]
            if not mine.empty:
                rows = mine.groupby("period", as_index=False)[col].sum()
    elif plan.credit != "team":
        rows = rows[level.loc[rows.index] == "rep"] if "level" in t.columns else rows
    if rows.empty:
        return None, None, None
    periods = sorted(rows["period"].astype(str))
    eff = getattr(plan, "effective_from", None)
    want = period_of(eff, plan.period) if eff else None
    period = want if want in periods else periods[-1]
    row = rows[rows["period"].astype(str) == period].iloc[0]
    ti = row.get("target_incentive") if "target_incentive" in rows.columns else None
    ti = float(ti) if ti is not None and ti == ti else None
    return float(row[col]), period, ti


def plan_document(
    plan: PlanSpec,
    *,
    rep_id: str | None = None,
    data=None,
    quota: float | None = None,
    lang: str = "zh-CN",
    target_incentive: float | None = None,
) -> PlanDocument:
    """The plan document for ``rep_id`` (or a blank one for anyone), in ``lang``.

    Parameters
    ----------
    plan : PlanSpec
    rep_id : str, optional
        A rep's id or name in ``data.reps`` (a manager for a team plan).
    data : simlib.data.Dataset, optional
        Names of the rep and team, and the rep's quota (``targets``).
    quota : float, optional
        The quota of one period; overrides the data's. The worked examples are at 50%,
        100% and 150% of it; without a quota (a plan on amounts), at three results that
        cross the plan's bands.
    lang : {"zh-CN", "en"}
    target_incentive : float, optional
        For a plan paying a target incentive: overrides the plan's (and the data's).

    Raises
    ------
    ValueError
        An unknown rep (with the closest names), a rep without data, a plan that needs a
        quota and has none, a quota not above 0.
    """
    check_lang(lang)
    rep_name = team_name = period = None
    manager = plan.credit == "team"
    ti_data = None
    if rep_id is not None:
        if data is None:
            raise ValueError("a rep's plan document needs the data the rep is in")
        row = _find_rep(data.reps, rep_id)
        rid = str(row["rep_id"])
        rep_name = _name(row, lang, fallback="")
        team_id = row.get("team_id")
        team_name = _team_name(data, team_id, lang)
        if plan.credit == "team" and str(row.get("role", "")) != "manager":
            raise ValueError(
                f"plan {plan.name} pays managers on their team; {rid} "
                f"({_name(row, 'en', rid)}) is not a manager"
            )
        if quota is None:
            quota, period, ti_data = _quota_from(data, plan, rid, team_id, manager)
    if quota is not None and not (quota > 0 and math.isfinite(quota)):
        raise ValueError(f"the quota must be above 0; got {quota:g}")
    if quota is None and plan.uses_quota:
        who = f" for {rep_id} per {plan.period}" if rep_id is not None else ""
        raise ValueError(
            f"plan {plan.name} is paid on attainment and needs a quota: none in the data{who}; "
            "pass a quota (--quota)"
        )
    own = plan.period_incentive()
    given_ti = target_incentive or ti_data
    ti = given_ti or (float(own) if own is not None else None)
    if plan.pays_on != "target_incentive":
        ti = None
    gate = plan.gate
    rates = {"collection_rate": None, "kpi_score": None}
    assumptions = []
    zh = lang == "zh-CN"
    if gate is not None and gate.min_collection_rate is not None:
        rates["collection_rate"] = float(gate.min_collection_rate)
    if gate is not None and gate.min_kpi_score is not None:
        rates["kpi_score"] = float(gate.min_kpi_score)
    if quota is not None:
        cases = [(s, s * quota) for s in (0.5, 1.0, 1.5)]
    else:
        cases = [(None, x) for x in _example_results(plan)]
    examples = tuple(
        Example(
            result,
            share,
            # the plan's own incentive stays exact (a pay mix's 200,000 / 12 is not cents)
            statement_for(plan, result, quota, target_incentive=given_ti, **rates),
        )
        for share, result in cases
    )
    if plan.is_ratio:
        assumptions.append(
            "每个示例为一期的结果。" if zh else "Each example is one period's result."
        )
    else:
        assumptions.append(
            "每个示例为一期的业绩，按一笔成交计算（无专项奖励、无撤销、无此前欠款）。"
            if zh
            else "Each example is one period's result as a single deal (no SPIF, no reversal, "
            "nothing owed from earlier periods)."
        )
    per_deal = plan.cap.per_deal if plan.cap is not None else None
    if per_deal is not None and not plan.is_ratio:
        units = Units(lang, scale="yuan", currency=plan.currency)
        cap = units.amount(per_deal, unit=True)
        assumptions.append(
            f"因此单笔封顶 {cap} 适用于整期业绩；实际按每笔成交分别封顶。"
            if zh
            else f"So the per-deal cap of {cap} applies to the whole result here; in a real "
            "period it applies to each deal on its own."
        )
    conds = []
    if rates["collection_rate"] is not None:
        conds.append(
            f"回款率 {fmt_rate(rates['collection_rate'])}"
            if zh
            else f"a collection rate of {fmt_rate(rates['collection_rate'])}"
        )
    if rates["kpi_score"] is not None:
        conds.append(
            f"KPI得分 {fmt_number(rates['kpi_score'])}"
            if zh
            else f"a KPI score of {fmt_number(rates['kpi_score'])}"
        )
    if conds:
        assumptions.append(
            f"示例按{'、'.join(conds)}计算（门槛的最低要求）。"
            if zh
            else f"The examples assume {' and '.join(conds)} (the gate's minimum)."
        )
    return PlanDocument(
        plan=plan,
        lang=lang,
        rep_name=rep_name or None,
        team_name=team_name,
        manager=manager,
        quota=quota,
        quota_period=period,
        target_incentive=ti,
        examples=examples,
        assumptions=tuple(assumptions),
        company=_company(lang),
    )


def _company(lang: str) -> str:
    try:
        cp = company_params()
    except Exception:  # noqa: BLE001 - the company name is decoration, never a failure
        return ""
    name = cp.name_zh if lang == "zh-CN" and getattr(cp, "name_zh", None) else cp.name
    return name or ""

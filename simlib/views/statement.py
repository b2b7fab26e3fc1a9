"""One rep's commission statement, ready for a report, in English or Chinese.

The statement itself comes from :func:`simlib.plans.compute_statements` (exact, to the
cent); this module only chooses its inputs and lays it out. Only the rep's own deals
and quota rows go in (for a manager plan, the team's deals, without the members' ids
on the lines), so no other person's pay or figures can appear in the output.

Used by ``notebooks/reports/commission_statement.ipynb``::

    report = statement_report("S003", "2026-Q3", "tiered_cn", lang="zh-CN")
    report.header()     # title, rep, period, plan
    report.lines()      # commission line items, arithmetic in words
    report.totals()     # commission, adjustments, payable
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from simlib.company import company_params
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.i18n import escape_md as _md
from simlib.periods import LABEL_PATTERNS
from simlib.plans import (
    PlanSpec,
    Statement,
    compute_statements,
    load_plan,
    payout_curve,
    teams_from_reps,
)
from simlib.plots.commission import statement_curve

__all__ = [
    "KIND_LABELS",
    "Section",
    "StatementReport",
    "rep_statement",
    "statement_report",
    "line_text",
    "band_text",
    "period_label",
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
    """A band label (``above 3,000,000``) in ``lang``."""
    if lang != "zh-CN":
        return label
    for rx, rep in (
        (re.compile(r"^above (.+)$"), r"高于 \1"),
        (re.compile(r"^from (.+)$"), r"\1 起"),
        (re.compile(r"^up to (.+)$"), r"不超过 \1"),
        (re.compile(r"^(.+) to (.+)$"), r"\1 – \2"),
    ):
        if rx.match(label):
            return rx.sub(rep, label)
    return label


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
        m = re.match(r"^gate not met \((.*)\): nothing is paid$", text)
        if m:
            inner = m[1]
            for rx, rep in _ZH_GATE:
                inner = rx.sub(rep, inner)
            return f"未达到门槛（{inner.replace('; ', '；')}）：本期不发放"
        return text
    for rx, rep in _ZH_PATTERNS:
        if rx.match(text):
            return rx.sub(rep, text)
    if line.kind == "commission":
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


@dataclass(frozen=True)
class StatementReport:
    """One rep's statement laid out for reading."""

    statement: Statement
    plan: PlanSpec
    rep_name: str
    lang: str = "en"
    company: str = ""

    @property
    def rep_id(self) -> str:
        return self.statement.rep_id

    def _amount_col(self) -> str:
        return f"{_t('amount', self.lang)} ({self.statement.currency})"

    def header(self) -> Markdown:
        """Title, rep, period and plan (Markdown)."""
        L, st = self.lang, self.statement
        who = _t("manager" if self.plan.credit == "team" else "rep", L)
        plan_label = (
            self.plan.label_zh if L == "zh-CN" and self.plan.label_zh else self.plan.description
        )
        company = f"{_md(self.company)} · " if self.company else ""
        sep = "：" if L == "zh-CN" else ": "
        rep = f"{_md(self.rep_name)} ({_md(st.rep_id)})"
        return Markdown(
            f"# {_t('title', L)} — {rep}\n\n"
            f"{company}**{_t('period', L)}**{sep}{period_label(st.period, L)}  \n"
            f"**{who}**{sep}{rep}  \n"
            f"**{_t('plan', L)}**{sep}{_md(self.plan.name)} — {_md(plan_label)}"
        )

    def summary(self) -> Section:
        """Result, quota, attainment, band reached, gate."""
        L, st = self.lang, self.statement
        measure = (
            _MEASURES.get(st.measure, st.measure) if L == "zh-CN" else st.measure.replace("_", " ")
        )
        if self.plan.credit == "team":
            measure += f" ({_t('team_result', L)})"
        rows = [(_t("measure", L), measure), (_t("result", L), f"{st.result:,.2f}")]
        if st.quota is not None:
            rows.append((_t("quota", L), f"{st.quota:,.2f}"))
        if st.attainment is not None:
            rows.append((_t("attainment", L), f"{st.attainment:.1%}"))
        if st.window != st.period:
            window = st.window.replace(" year to date", " 年初至今") if L == "zh-CN" else st.window
            rows.append((_t("window", L), window))
        if st.band:
            rows.append((_t("band", L), band_text(st.band, L)))
        if self.plan.gate is not None:
            rows.append((_t("gate", L), _t("gate_met" if st.gate_met else "gate_not_met", L)))
        return Section(
            _t("summary", L), pd.DataFrame(rows, columns=[_t("item", L), _t("value", L) or " "])
        )

    def _table(self, kinds) -> pd.DataFrame:
        L = self.lang
        rows = []
        for ln in self.statement.lines:
            if (ln.kind == "commission") != (kinds == "commission"):
                continue
            en, zh = KIND_LABELS.get(ln.kind, (ln.kind, ln.kind))
            rows.append(
                {
                    "#": len(rows) + 1,
                    _t("item", L): zh if L == "zh-CN" else en,
                    _t("calculation", L): line_text(ln, L),
                    self._amount_col(): _money(ln.cents),
                }
            )
        return pd.DataFrame(
            rows, columns=["#", _t("item", L), _t("calculation", L), self._amount_col()]
        )

    def lines(self) -> Section:
        """The commission line items, each with its arithmetic (``271,100 × 1% = 2,711``)."""
        L = self.lang
        t = self._table("commission")
        note = (
            _t("team_note", L)
            if self.plan.credit == "team"
            else ("" if len(t) else _t("no_lines", L))
        )
        return Section(_t("lines", L), t, note)

    def adjustments(self) -> Section:
        """Caps, gate, floor, SPIFs, true-up, clawbacks, balance and draws."""
        t = self._table("adjustments")
        return Section(
            _t("adjustments", self.lang), t, "" if len(t) else _t("no_adjustments", self.lang)
        )

    def totals(self) -> Section:
        """Commission, adjustments and the amount payable (they add up exactly)."""
        L, st = self.lang, self.statement
        com = st.commission_cents
        rows = [
            (_t("commission_total", L), _money(com)),
            (_t("adjustments_total", L), _money(st.payable_cents - com)),
            (_t("payable", L), _money(st.payable_cents)),
        ]
        if st.balance_out_cents:
            rows.append((_t("balance_out", L), _money(st.balance_out_cents)))
        return Section(
            _t("totals", L), pd.DataFrame(rows, columns=[_t("item", L), self._amount_col()])
        )

    def notes(self) -> Markdown:
        """The plan in plain words."""
        L = self.lang
        text = self.plan.describe().split("\n", 1)
        body = (
            "\n".join(f"    {ln.strip()}" for ln in text[1].splitlines()) if len(text) > 1 else ""
        )
        head = self.plan.label_zh if L == "zh-CN" and self.plan.label_zh else self.plan.description
        # the body is an indented code block: shown literally (escaping would show)
        return Markdown(f"### {_t('notes', L)}\n\n{_md(head)}\n\n{body}")

    def curve(self):
        """Where the period's result sits on the plan's payout curve (this rep only)."""
        import numpy as np

        st, plan = self.statement, self.plan
        q = st.quota
        if q is None:
            top = max([b.threshold for b in plan.tiers] + [st.result, 1.0])
            q = 1.5 * top
        hi = max(2.0, 1.2 * st.result / q)
        grid = np.linspace(0.0, hi, 241)
        kw = {}
        if plan.pays_on == "target_incentive":
            kw["target_incentive"] = plan.target_incentive
        curve = payout_curve(plan, q, grid, **kw)
        here = payout_curve(plan, q, [st.result / q], **kw)["payout"].iloc[0]
        return statement_curve(curve, st.result, float(here), lang=self.lang, currency=st.currency)

    def _repr_markdown_(self) -> str:
        return self.header().data

    def __repr__(self) -> str:
        return repr(self.statement)


from simlib.display import Markdown  # noqa: E402  (re-exported for the templates)


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

"""Commission summaries by role: a scope's statements, and one rep's own pay (SPEC R20).

Every amount comes from :func:`simlib.plans.compute_statements`, exact to the cent,
on the deals, quotas and cash of the people in scope only:

- :func:`commission_summary` is the summary a director (scope = the company), a
  regional head (a region) or a manager (a team) reads: total payout, cost of sales,
  one row per person in the scope, per-team totals, the distribution. Nobody outside
  the scope goes in, so nobody outside it can come out.
- :func:`rep_pay` is the pay section of a rep's review pack: the rep's own statement
  and, about the team, only the total, the average and the rep's anonymised rank.
- :func:`scope_statements` is what both use: the statements of a set of people for
  one period, optionally counting only what had happened by a date.

Used by ``notebooks/reports/commission_summary.ipynb``::

    cs = commission_summary("T-SH", "2026-Q3", "tiered_cn", lang="zh-CN")
    cs.header(); cs.totals(); cs.per_team(); cs.per_rep(); cs.figure()

The summary's sections are safe HTML in one unit per page (万元 in zh-CN, ¥k in English)
and name people and teams, never their ids. A rep's pay section (:class:`RepPay`) keeps
its exact yuan-to-the-cent figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from simlib import present
from simlib.cache import memo_on
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.i18n import translator
from simlib.periods import LABEL_PATTERNS, parse_period, period_of
from simlib.plans import PlanSpec, Statement, compute_statements, load_plan, teams_from_reps
from simlib.plots import use_cjk_font
from simlib.present import Col, Units
from simlib.tracking import text
from simlib.tracking.facts import Facts
from simlib.views.statement import Section, amount_axis, period_label

__all__ = [
    "scope_statements",
    "scope_people",
    "plan_period_of",
    "CommissionSummary",
    "commission_summary",
    "RepPay",
    "rep_pay",
    "MIN_GROUP",
    "money_text",
]

#: Team figures are shown to a rep only when the team has at least this many reps
#: (with two, the team total less one's own pay is the other's pay).
MIN_GROUP = 3

_EXAMPLE = {"quarter": "2026-Q3", "month": "2026-09", "year": "2026"}

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Commission summary", "提成汇总"),
    "view_company": ("Director's view: every rep of the company", "总监视图：公司全部销售"),
    "view_region": ("Regional view: the reps of this region only", "大区视图：仅本大区销售"),
    "view_team": ("Manager's view: the reps of this team only", "主管视图：仅本团队销售"),
    "view_company_team": ("Director's view: every team manager", "总监视图：全部团队主管"),
    "view_region_team": (
        "Regional view: the team managers of this region",
        "大区视图：本大区团队主管",
    ),
    "view_team_team": ("Manager's view: this team's manager", "主管视图：本团队主管"),
    "period": ("Period", "结算期间"),
    "plan": ("Plan", "提成方案"),
    "provisional": (
        "to {d}, provisional: the period has not ended",
        "截至 {d}，期间未结束，为暂估",
    ),
    "final": ("closed", "已结束"),
    "totals": ("Totals", "合计"),
    "item": ("Item", "项目"),
    "value": ("Value", "数值"),
    "total_payout": ("Total payout", "提成总额"),
    "revenue": ("Revenue", "销售额"),
    "cost_of_sales": ("Cost of sales (payout / revenue)", "销售成本率（提成 / 销售额）"),
    "people": ("People in the summary", "人数"),
    "paid_of": ("People paid", "有提成人数"),
    "paid_of_v": ("{paid} of {n}", "{paid} / {n}"),
    "all_teams": ("All teams", "合计"),
    "paid": ("Paid anything", "有提成人数"),
    "median": ("Median payout", "提成中位数"),
    "per_rep": ("Per person", "个人明细"),
    "per_team": ("Per team", "团队合计"),
    "id": ("ID", "编号"),
    "name": ("Name", "姓名"),
    "team": ("Team", "团队"),
    "team_name": ("Team", "团队"),
    "reps": ("People", "人数"),
    "quota": ("Quota", "指标"),
    "attainment": ("Attainment", "达成率"),
    "payout": ("Payout", "提成"),
    "no_statement": (
        "No deal won in the period: nothing earned (no statement).",
        "本期无成交：无提成（无结算单）。",
    ),
    "exact": (
        "Payouts are the exact statements (to the cent), shown here in {unit}; the total is "
        "the sum of the exact statements.",
        "提成按精确结算单（到分）计算，此处以{unit}显示；合计为各结算单精确金额之和。",
    ),
    "ytd": (
        "The plan pays on the year to date: attainment is year to date.",
        "该方案按年度累计计算：达成率为年初至今。",
    ),
    "fig_hist": ("Payout per person", "个人提成分布"),
    "fig_scatter": ("Attainment and payout", "达成率与提成"),
    "fig_people": ("People", "人数"),
    # rep pay
    "pay_title": ("Your pay — {plan}, {p}", "本人提成 — {plan}，{p}"),
    "counted": ("Deals counted", "计入成交"),
    "counted_v": ("won {a} to {b}", "{a} 至 {b} 成交"),
    "status": ("Status", "状态"),
    "result": ("Your result", "本人业绩"),
    "your_quota": ("Your quota", "本人指标"),
    "payable": ("Your commission payable", "本人应发提成"),
    "team_total": ("Team total payout ({n} reps)", "团队提成总额（{n}人）"),
    "team_average": ("Team average payout", "团队人均提成"),
    "rank": ("Your rank in the team by payout", "团队提成排名"),
    "rank_v": ("{r} of {n}", "第{r}名（共{n}人）"),
    "small_team": (
        "Team figures are not shown: with fewer than {k} reps they would reveal a colleague's pay.",
        "团队人数少于{k}人，不显示团队数据，以免推知同事提成。",
    ),
    "pay_note": (
        "Your own statement only; the team appears as a total, an average and your rank, "
        "never a colleague's name or pay. The full statement is the commission_statement report.",
        "仅含本人结算；团队只显示总额、人均与您的排名，不显示任何同事的姓名或提成。"
        "完整明细见提成结算单报告。",
    ),
    "pay_none": ("no deal won yet: nothing earned", "尚无成交：无提成"),
    "pay_choice": (
        "Period shown: the plan's period containing the review period ({r}), counting deals "
        "won up to the end of the review period.",
        "显示期间：包含本次评估期（{r}）的方案结算期，计入截至评估期末的成交。",
    ),
    "team_plan": (
        "Plan {plan} pays managers on their team: it has no pay section for a rep.",
        "方案 {plan} 按团队业绩向主管计发，销售个人无此部分。",
    ),
}


_t = translator(_TEXT)


def money_text(cents: int) -> str:
    """Exact cents as ``12,345.67`` (how payouts are shown in every language)."""
    return f"{Decimal(int(cents)).scaleb(-2):,.2f}"


def _pct(x) -> str:
    return "–" if x is None or x != x else text.pct(x)


def _plan(plan: str | PlanSpec) -> PlanSpec:
    return plan if isinstance(plan, PlanSpec) else load_plan(plan)


def _check_period(plan: PlanSpec, period: str) -> None:
    if not re.match(LABEL_PATTERNS[plan.period], str(period)):
        raise ValueError(
            f"plan {plan.name} is paid per {plan.period}: period must look like "
            f"{_EXAMPLE[plan.period]!r}; got {period!r}"
        )


def plan_period_of(plan: PlanSpec, day) -> str:
    """The label of the plan's period containing ``day`` (``2026-Q4`` for a quarterly plan)."""
    return period_of(day, plan.period)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Inputs:
    """The tables statements need, from a Dataset or from tracking Facts."""

    as_of: pd.Timestamp
    reps: pd.DataFrame
    won: pd.DataFrame  # opportunity_id, owner_id, amount, close_date, product_id, deal_type
    targets: pd.DataFrame  # owner_id, level, period, metric, amount
    collections: pd.DataFrame  # opportunity_id, date, amount
    products: pd.DataFrame | None
    org: pd.DataFrame  # node_id, parent_id, level, name, name_zh


def _inputs(data) -> _Inputs:
    return memo_on(data, "commission inputs", lambda: _make_inputs(data))


def _make_inputs(data) -> _Inputs:
    if isinstance(data, Facts):
        won = data.won.rename(columns={"rep_id": "owner_id"})
        nodes = data.nodes.drop_duplicates("node_id")
        org = nodes[nodes["level"] != "rep"][["node_id", "parent_id", "level", "name", "name_zh"]]
        inv, pay, products, as_of = data.invoices, data.payments, None, data.as_of
    else:
        opp = data.opportunities
        won = opp[opp["stage"] == "won"]
        org, inv, pay, products = (
            data.org,
            data.invoices,
            data.payments,
            data.tables.get("products"),
        )
        as_of = pd.Timestamp(data.as_of)
    cols = [
        c
        for c in (
            "opportunity_id",
            "owner_id",
            "amount",
            "close_date",
            "product_id",
            "deal_type",
            "stage",
        )
        if c in won.columns
    ]
    coll = pay.assign(
        opportunity_id=pay["invoice_id"].map(inv.set_index("invoice_id")["opportunity_id"])
    )
    coll = coll[["opportunity_id", "date", "amount"]].dropna(subset=["opportunity_id"])
    t = data.targets[["owner_id", "level", "period", "metric", "amount"]]
    return _Inputs(pd.Timestamp(as_of), data.reps, won[cols], t, coll, products, org)


def _window(plan: PlanSpec, period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    w = parse_period(period)
    return w.start, w.end


def _statements(inp: _Inputs, plan: PlanSpec, period: str, people, until) -> dict[str, Statement]:
    key = (
        "statements",
        plan.model_dump_json(),
        period,
        tuple(sorted(str(p) for p in people)),
        until,
    )
    return dict(memo_on(inp, key, lambda: _make_statements(inp, plan, period, people, until)))


def _make_statements(
    inp: _Inputs, plan: PlanSpec, period: str, people, until
) -> dict[str, Statement]:
    people = {str(p) for p in people}
    reps = inp.reps
    teams = None
    if plan.credit == "team":
        teams = {m: members for m, members in teams_from_reps(reps).items() if m in people}
        subjects = set(teams)
        credited = subjects | {r for members in teams.values() for r in members}
    else:
        subjects = credited = people
    won = inp.won[inp.won["owner_id"].astype(str).isin(credited)]
    coll = inp.collections
    if until is not None:
        won = won[won["close_date"] <= until]
        coll = coll[coll["date"] <= until]
    coll = coll[coll["opportunity_id"].isin(won["opportunity_id"])]
    t = inp.targets
    quotas = t[
        t["owner_id"].astype(str).isin(credited)
        & (t["level"] == "rep")
        & t["period"].astype(str).str.match(LABEL_PATTERNS[plan.period])
    ]
    if not len(won):
        return {}
    sts = compute_statements(
        plan, won, quotas, collections=coll, teams=teams, products=inp.products
    )
    return {s.rep_id: s for s in sts if s.period == period and s.rep_id in subjects}


def scope_statements(
    data, plan: str | PlanSpec, period: str, people, *, until=None
) -> dict[str, Statement]:
    """The exact statements of ``people`` for ``period``, keyed by rep (or manager) id.

    Parameters
    ----------
    data : Dataset or simlib.tracking.Facts
    plan : str or PlanSpec
    period : str
        A period of the plan's kind (``2026-Q3`` for a quarterly plan).
    people : iterable of str
        Rep ids; for a ``credit: team`` plan the managers among them are the subjects
        (paid on their team's deals).
    until : date, optional
        Count only deals closed and cash received on or before this day.

    People without a statement in the period (nothing won) are absent. Only the
    people's own deals, quotas and cash go in.
    """
    spec = _plan(plan)
    _check_period(spec, period)
    return _statements(
        _inputs(data),
        spec,
        period,
        people,
        None if until is None else pd.Timestamp(until).normalize(),
    )


def _below(org: pd.DataFrame, node: str) -> set[str]:
    kids = org.groupby("parent_id")["node_id"].apply(list).to_dict()
    out, stack = {node}, [node]
    while stack:
        for k in kids.get(stack.pop(), []):
            if k not in out:
                out.add(k)
                stack.append(k)
    return out


def scope_people(data, scope: str) -> pd.DataFrame:
    """The people (reps table rows) whose team is ``scope`` or below it."""
    inp = data if isinstance(data, _Inputs) else _inputs(data)
    if scope not in set(inp.org["node_id"]):
        raise ValueError(f"no org node {scope!r}; nodes: {', '.join(inp.org['node_id'])}")
    nodes = _below(inp.org, scope)
    return inp.reps[inp.reps["team_id"].isin(nodes)].reset_index(drop=True)


# --------------------------------------------------------------------------- the summary


@dataclass(frozen=True)
class CommissionSummary:
    """A scope's commission for one period: one row per person in the scope."""

    scope: str
    scope_name: str
    level: str
    period: str
    plan: PlanSpec
    lang: str
    as_of: pd.Timestamp
    provisional: bool
    table: pd.DataFrame = field(repr=False)  # rep_id, name, team_id, team_name, revenue, quota,
    # attainment, result, payout_cents, has_statement
    statements: dict = field(repr=False, default_factory=dict)
    company: str = ""

    @property
    def currency(self) -> str:
        return self.plan.currency

    @property
    def total_cents(self) -> int:
        """The sum of the exact statements, in cents."""
        return int(sum(s.payable_cents for s in self.statements.values()))

    @property
    def revenue(self) -> float:
        return float(self.table["revenue"].sum())

    @property
    def cost_of_sales(self) -> float:
        return self.total_cents / 100 / self.revenue if self.revenue > 0 else float("nan")

    @property
    def units(self) -> Units:
        """The page's unit: 万元 in zh-CN, ¥k in English (a pay page)."""
        return Units(self.lang, scale=None if self.lang == "zh-CN" else "k", currency=self.currency)

    @property
    def _decimals(self) -> int:
        # payouts of a few thousand yuan must not read 0: 0.19万元, ¥1.9k
        return 2 if self.lang == "zh-CN" else 1

    def money(self, x, *, unit: bool = True) -> str:
        """An amount in the page's unit (``624.14万元`` / ``¥6,241.4k``)."""
        return self.units.amount(x, unit=unit, decimals=self._decimals)

    def _amount_col(self, key: str, zh: str, en: str) -> Col:
        return Col(key, zh, en, kind="amount", fmt=lambda v: self.money(v, unit=False))

    def _name_col(self) -> pd.Series:
        t = self.table
        return (
            t["name_zh"].where(t["name_zh"].notna(), t["name"])
            if self.lang == "zh-CN"
            else t["name"]
        )

    def _h2(self, key: str) -> str:
        return f"<h2>{_esc(_t(key, self.lang))}</h2>"

    def header(self) -> present.HTML:
        """Title (the scope's name), whose view it is, period, plan."""
        L = self.lang
        zh = L == "zh-CN"
        view = "view_" + self.level + ("_team" if self.plan.credit == "team" else "")
        label = self.plan.label_zh if zh and self.plan.label_zh else self.plan.description
        status = _t("provisional", L, d=self.as_of.date()) if self.provisional else _t("final", L)
        sep = "：" if zh else ": "
        paren = f"（{status}）" if zh else f" ({status})"
        company = f"{_esc(self.company)} · " if self.company and self.level != "company" else ""
        return present.HTML(
            f"<h1>{_esc(_t('title', L))} — {_esc(self.scope_name)}</h1>"
            f"<p>{company}{_esc(_t(view, L))}<br>"
            f"<b>{_esc(_t('period', L))}</b>{sep}{_esc(period_label(self.period, L))}"
            f"{_esc(paren)}<br>"
            f"<b>{_esc(_t('plan', L))}</b>{sep}{_esc(label or self.plan.name)}</p>"
        )

    def totals(self) -> present.HTML:
        """Headline cards: total payout (the sum of the exact statements), revenue, cost
        of sales, people paid, median payout."""
        L, t = self.lang, self.table
        paid = int((t["payout_cents"] > 0).sum())
        median = int(np.median(t["payout_cents"])) / 100 if len(t) else float("nan")
        cards = present.cards(
            [
                (_t("total_payout", L), self.money(self.total_cents / 100)),
                (_t("revenue", L), self.money(self.revenue)),
                (_t("cost_of_sales", L), present.pct(self.cost_of_sales, 2)),
                (_t("paid_of", L), _t("paid_of_v", L, paid=paid, n=present.count(len(t)))),
                (_t("median", L), self.money(median)),
            ]
        )
        return present.HTML(
            self._h2("totals") + cards + f"<p>{_esc(_t('exact', L, unit=self.units.label()))}</p>"
        )

    def per_rep(self) -> present.HTML:
        """One row per person in the scope, by name: team, revenue, quota, attainment,
        payout (no ids)."""
        L, t = self.lang, self.table
        team_name = (
            t["team_name_zh"].where(t["team_name_zh"].notna(), t["team_name"])
            if L == "zh-CN"
            else t["team_name"]
        )
        frame = pd.DataFrame(
            {
                "name": self._name_col(),
                "team": team_name,
                "revenue": t["revenue"].astype(float),
                "quota": t["quota"].astype(float),
                "attainment": t["attainment"].astype(float),
                "payout": t["payout_cents"].astype(float) / 100,
            }
        )
        cols = [
            Col("name", "姓名", "Name"),
            Col("team", "团队", "Team"),
            self._amount_col("revenue", "销售额", "Revenue"),
            self._amount_col("quota", "指标", "Quota"),
            Col("attainment", "达成率", "Attainment", kind="pct"),
            self._amount_col("payout", "提成", "Payout"),
        ]
        notes = [_t("exact", L, unit=self.units.label())]
        if (~t["has_statement"]).any():
            who = "、" if L == "zh-CN" else ", "
            names = who.join(str(n) for n in self._name_col()[~t["has_statement"]])
            notes.append(
                _t("no_statement", L) + (f"（{names}）" if L == "zh-CN" else f" ({names})")
            )
        if self.plan.ytd_true_up:
            notes.append(_t("ytd", L))
        return present.HTML(
            self._h2("per_rep")
            + present.table(frame, cols, self.units)
            + f"<p>{_esc(' '.join(notes))}</p>"
        )

    def team_table(self) -> pd.DataFrame:
        """Per-team totals as numbers: people, revenue, quota, payout (cents), cost of sales."""
        t = self.table
        g = (
            t.groupby(["team_id", "team_name", "team_name_zh"], dropna=False, sort=True)
            .agg(
                people=("rep_id", "size"),
                revenue=("revenue", "sum"),
                quota=("quota", lambda s: s.sum(min_count=1)),
                payout_cents=("payout_cents", "sum"),
            )
            .reset_index()
        )
        g["attainment"] = g["revenue"] / g["quota"]
        g["cost_of_sales"] = np.where(
            g["revenue"] > 0,
            g["payout_cents"] / 100 / g["revenue"].where(g["revenue"] > 0, 1.0),
            np.nan,
        )
        return g

    def per_team(self) -> present.HTML:
        """Per-team totals by name: people, revenue, attainment, payout and cost of
        sales, with the scope's total in the last row."""
        L = self.lang
        g = self.team_table()
        name = (
            g["team_name_zh"].where(g["team_name_zh"].notna(), g["team_name"])
            if L == "zh-CN"
            else g["team_name"]
        )
        frame = pd.DataFrame(
            {
                "team": name,
                "people": g["people"],
                "revenue": g["revenue"].astype(float),
                "attainment": g["attainment"].astype(float),
                "payout": g["payout_cents"].astype(float) / 100,
                "cost_of_sales": g["cost_of_sales"].astype(float),
                "total": False,
            }
        )
        if len(frame) > 1:
            quota = g["quota"].sum(min_count=1)
            total = {
                "team": _t("all_teams", L),
                "people": int(g["people"].sum()),
                "revenue": self.revenue,
                "attainment": self.revenue / quota if quota == quota and quota else np.nan,
                "payout": self.total_cents / 100,
                "cost_of_sales": self.cost_of_sales,
                "total": True,
            }
            frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        cols = [
            Col("team", "团队", "Team"),
            Col("people", "人数", "People", kind="count"),
            self._amount_col("revenue", "销售额", "Revenue"),
            Col("attainment", "达成率", "Attainment", kind="pct"),
            self._amount_col("payout", "提成", "Payout"),
            Col("cost_of_sales", "销售成本率", "Cost of sales", kind="pct", decimals=2),
        ]
        table = present.table(
            frame, cols, self.units, row_class=lambda r: "total" if r["total"] else ""
        )
        return present.HTML(self._h2("per_team") + table)

    def figure(self):
        """The distribution of payouts, and payout against attainment (amounts in the
        page's unit)."""
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        use_cjk_font()
        L, t, u = self.lang, self.table, self.units
        zh = L == "zh-CN"
        fig = Figure(figsize=(10, 3.8), dpi=100)  # not pyplot: shown once in a notebook
        a1, a2 = fig.subplots(1, 2)
        pay = t["payout_cents"].to_numpy() / 100
        a1.hist(pay, bins=min(20, max(5, len(pay) // 3)), color="#5c6bc0")
        if len(pay):
            a1.axvline(np.median(pay), color="black", lw=1, label=_t("median", L))
            a1.legend(fontsize=8, frameon=False)
        amount_axis(a1, u, "x", zh="个人提成", en="Payout per person")
        a1.set_title(_t("fig_hist", L), fontsize=11, loc="left")
        a1.set_ylabel(_t("fig_people", L))
        a1.yaxis.set_major_locator(MaxNLocator(integer=True))
        a2.scatter(t["attainment"], pay, s=16, color="#5c6bc0")
        a2.axvline(1.0, color="black", lw=0.8, ls=":")
        amount_axis(a2, u, "y", zh="提成", en="Payout")
        a2.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: present.pct(v, 0)))
        a2.set_title(_t("fig_scatter", L), fontsize=11, loc="left")
        a2.set_xlabel(_t("attainment", L) + ("（虚线为 100%）" if zh else " (dotted: 100%)"))
        for ax in (a1, a2):
            ax.spines[["top", "right"]].set_visible(False)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.17, wspace=0.3)
        return fig

    def __repr__(self) -> str:
        return (
            f"CommissionSummary({self.scope} {self.period} {self.plan.name}: "
            f"{len(self.table)} people, "
            f"total {money_text(self.total_cents)} {self.currency})"
        )


def commission_summary(
    scope: str = "CO",
    period: str = "2026-Q3",
    plan: str | PlanSpec = "tiered_cn",
    *,
    lang: str = "en",
    data,
) -> CommissionSummary:
    """The commission of everyone in ``scope`` (company, region or team) for ``period``.

    A period that has not ended by the data's last day is counted to that day and
    marked provisional. People in the scope who won nothing in the period appear with
    no payout when they held a quota for it (own plans).
    """
    _check_lang(lang)
    spec = _plan(plan)
    _check_period(spec, period)
    inp = _inputs(data)
    people = scope_people(inp, scope)
    start, end = _window(spec, period)
    until = min(end, inp.as_of)
    sts = _statements(inp, spec, period, people["rep_id"], until)
    org = inp.org.set_index("node_id")
    reps = inp.reps.set_index("rep_id")
    if spec.credit == "team":
        subjects = [m for m in people.loc[people["role"] == "manager", "rep_id"]]
        members = teams_from_reps(inp.reps)
    else:
        # Reps with a statement, and reps who held a quota for the period without one.
        q = inp.targets[
            (inp.targets["period"] == period)
            & (inp.targets["level"] == "rep")
            & (inp.targets["metric"] == spec.measure)
        ]
        quota_holders = set(q["owner_id"]) & set(people.loc[people["role"] == "rep", "rep_id"])
        subjects = sorted(set(sts) | quota_holders)
        members = {}
    won = inp.won[(inp.won["close_date"] >= start) & (inp.won["close_date"] <= until)]
    rev = won.groupby("owner_id")["amount"].sum()
    rev_quota = inp.targets[
        (inp.targets["period"] == period) & (inp.targets["metric"] == "revenue")
    ]
    rev_quota = rev_quota.set_index("owner_id")["amount"]
    rows = []
    for sid in subjects:
        st = sts.get(sid)
        credited = [sid, *members.get(sid, ())]
        team = reps.at[sid, "team_id"]
        quota = (
            st.quota
            if st is not None and st.quota is not None
            else (float(rev_quota.get(sid, np.nan)) if spec.credit == "own" else np.nan)
        )
        rows.append(
            dict(
                rep_id=sid,
                name=reps.at[sid, "name"],
                name_zh=reps.at[sid, "name_zh"] if "name_zh" in reps else None,
                team_id=team,
                team_name=org.at[team, "name"] if team in org.index else team,
                team_name_zh=org.at[team, "name_zh"] if team in org.index else None,
                revenue=float(rev.reindex(credited).fillna(0.0).sum()),
                quota=quota,
                attainment=(
                    st.attainment
                    if st is not None and st.attainment is not None
                    else (0.0 if quota == quota and quota else np.nan)
                ),
                result=st.result if st is not None else 0.0,
                payout_cents=st.payable_cents if st is not None else 0,
                has_statement=st is not None,
            )
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "rep_id",
            "name",
            "name_zh",
            "team_id",
            "team_name",
            "team_name_zh",
            "revenue",
            "quota",
            "attainment",
            "result",
            "payout_cents",
            "has_statement",
        ],
    )
    table = table.sort_values(
        ["team_id", "payout_cents", "rep_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)
    zh = lang == "zh-CN"
    name = (
        org.at[scope, "name_zh"]
        if zh and isinstance(org.at[scope, "name_zh"], str)
        else org.at[scope, "name"]
    )
    top = inp.org[inp.org["level"] == "company"]
    company = ""
    if len(top):
        c = top.iloc[0]
        company = c["name_zh"] if zh and isinstance(c["name_zh"], str) else c["name"]
    return CommissionSummary(
        scope=scope,
        scope_name=str(name),
        level=str(org.at[scope, "level"]),
        period=period,
        plan=spec,
        lang=lang,
        as_of=inp.as_of,
        provisional=end > inp.as_of,
        table=table,
        statements={k: v for k, v in sts.items() if k in set(subjects)},
        company=str(company),
    )


# --------------------------------------------------------------------------- one rep's pay


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class RepPay:
    """One rep's own pay for a plan period, with team aggregates and an anonymised rank.

    Nothing per colleague is kept: the team appears as its size, total, average and the
    rep's rank in it (``None`` when the team is smaller than :data:`MIN_GROUP`).
    """

    rep_id: str
    name: str
    lang: str
    plan: str
    plan_label: str
    currency: str
    review_period: str
    period: str  # the plan period shown
    start: pd.Timestamp
    until: pd.Timestamp
    provisional: bool
    statement: Statement | None = field(repr=False)
    team_size: int = 0
    team_total_cents: int | None = None
    team_average_cents: int | None = None
    rank: int | None = None

    @property
    def payable_cents(self) -> int:
        return self.statement.payable_cents if self.statement is not None else 0

    def rank_text(self) -> str:
        if self.rank is None:
            return "–"
        r = _ordinal(self.rank) if self.lang == "en" else str(self.rank)
        return _t("rank_v", self.lang, r=r, n=self.team_size)

    def frame(self) -> pd.DataFrame:
        """The section's rows: (item, value), amounts in yuan to the cent with the unit
        (a pay document: the same figures as the rep's statement)."""
        L, st = self.lang, self.statement
        u = Units(L, scale="yuan", currency=self.currency)

        def cents(c) -> str:
            return u.amount(Decimal(int(c)).scaleb(-2), unit=True)

        status = _t("provisional", L, d=self.until.date()) if self.provisional else _t("final", L)
        rows = [
            (_t("plan", L), self.plan_label),
            (_t("period", L), f"{period_label(self.period, L)} ({status})"),
            (_t("counted", L), _t("counted_v", L, a=self.start.date(), b=self.until.date())),
        ]
        if st is None:
            rows.append((_t("payable", L), f"{cents(0)} ({_t('pay_none', L)})"))
        else:
            rows.append((_t("result", L), u.amount(st.result, unit=True)))
            if st.quota is not None:
                rows.append((_t("your_quota", L), u.amount(st.quota, unit=True)))
            if st.attainment is not None:
                rows.append((_t("attainment", L), present.pct(st.attainment)))
            rows.append((_t("payable", L), cents(st.payable_cents)))
        if self.team_total_cents is not None:
            rows += [
                (_t("team_total", L, n=self.team_size), cents(self.team_total_cents)),
                (_t("team_average", L), cents(self.team_average_cents)),
                (_t("rank", L), self.rank_text()),
            ]
        return pd.DataFrame(rows, columns=["item", "value"])

    def section(self) -> Section:
        L = self.lang
        note = _t("pay_note", L) + " " + _t("pay_choice", L, r=self.review_period)
        if self.team_total_cents is None:
            note += " " + _t("small_team", L, k=MIN_GROUP)
        frame = self.frame().rename(columns={"item": _t("item", L), "value": _t("value", L)})
        return Section(
            _t("pay_title", L, plan=self.plan_name, p=period_label(self.period, L)), frame, note
        )

    @property
    def plan_name(self) -> str:
        """The plan as a reader knows it: its label's first clause, never its file id."""
        head = re.split(r"[—:：;；,，(（]", self.plan_label, maxsplit=1)[0].strip()
        return head or self.plan_label

    def html(self) -> str:
        """The section through :mod:`simlib.present`: a table for people, then the note."""
        L = self.lang
        cols = [Col("item", "项目", "Item"), Col("value", "数值", "Value")]
        note = _t("pay_note", L) + " " + _t("pay_choice", L, r=self.review_period)
        if self.team_total_cents is None:
            note += " " + _t("small_team", L, k=MIN_GROUP)
        title = _t("pay_title", L, plan=self.plan_name, p=period_label(self.period, L))
        return (
            f"<h3>{_esc(title)}</h3>"
            + present.table(self.frame(), cols, Units(L, currency=self.currency))
            + f"<p>{_esc(note)}</p>"
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return repr(self.section())


def rep_pay(
    data, rep_id: str, review_period: str, plan: str | PlanSpec = "tiered_cn", *, lang: str = "en"
) -> RepPay:
    """``rep_id``'s own commission for the plan period containing ``review_period``.

    The plan period is the one containing the review period's last day (a month in a
    quarterly plan: its quarter); deals count up to the review period's end (or the
    data's last day, if earlier), so a pack for October shows the quarter to 31 October,
    marked provisional. The team (reps of the same team employed during the period) is
    shown only as its total, its average and the rep's rank, and only when it has at
    least :data:`MIN_GROUP` reps.

    Parameters
    ----------
    data : Dataset or simlib.tracking.Facts
    rep_id : str
    review_period : str
        ``2026-10``, ``2026-Q3`` or ``2026``.
    plan : str or PlanSpec
        An own-results plan (a team plan pays managers, not reps).
    """
    _check_lang(lang)
    spec = _plan(plan)
    if spec.credit == "team":
        raise ValueError(_t("team_plan", "en", plan=spec.name))
    inp = _inputs(data)
    reps = inp.reps.set_index("rep_id")
    if rep_id not in reps.index:
        raise ValueError(f"no rep {rep_id!r} in the data")
    review = parse_period(review_period)
    until = min(review.end, inp.as_of)
    period = plan_period_of(spec, until)
    start, end = _window(spec, period)
    me = reps.loc[rep_id]
    mates = inp.reps[(inp.reps["team_id"] == me["team_id"]) & (inp.reps["role"] == "rep")]
    employed = (mates["hire_date"] <= until) & (
        mates["leave_date"].isna() | (mates["leave_date"] >= start)
    )
    team = sorted(set(mates.loc[employed, "rep_id"]) | {rep_id})
    sts = _statements(inp, spec, period, team, until)
    cents = {r: (sts[r].payable_cents if r in sts else 0) for r in team}
    n = len(team)
    total = avg = rank = None
    if n >= MIN_GROUP:
        total = int(sum(cents.values()))
        avg = int((Decimal(total) / n).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        rank = 1 + sum(1 for r, c in cents.items() if c > cents[rep_id])
    zh = lang == "zh-CN"
    name = me["name_zh"] if zh and isinstance(me.get("name_zh"), str) else me["name"]
    label = spec.label_zh if zh and spec.label_zh else spec.description
    return RepPay(
        rep_id=rep_id,
        name=str(name),
        lang=lang,
        plan=str(spec.name),
        plan_label=label,
        currency=spec.currency,
        review_period=review.label,
        period=period,
        start=start,
        until=until,
        provisional=end > until,
        statement=sts.get(rep_id),
        team_size=n,
        team_total_cents=total,
        team_average_cents=avg,
        rank=rank,
    )

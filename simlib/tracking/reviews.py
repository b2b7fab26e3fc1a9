"""The monthly review's deviation analysis (SPEC R7): why a team is off plan.

The gap to plan is split two ways at once, into a table whose every cell is whole
cents and whose cells add up to the gap **exactly**:

* rows — **new customers** vs **existing customers** (repeat purchase), by each won
  deal's ``deal_type``;
* columns — **volume** (more or fewer deals), **price** (bigger or smaller deals within
  a product line) and **mix** (a shift between product lines of different deal size).

The plan has only a revenue number (the team's target for the period, or the part
due by ``as_of`` when the period is still running). Its composition is borrowed from
the team's own **baseline**: the deals it won in the twelve months before the period.
The plan revenue of each (customer group, product line) cell is the target split by
the baseline's revenue shares (in whole cents, largest remainder), and its planned
number of deals is that revenue over the baseline's average deal size in the cell.

Within each customer group *g*, with segments *s* (product lines), deal counts *Q*,
average deal sizes *p* and count shares *m* (A actual, P plan)::

    volume_g = (Q_A - Q_P) * pbar_P
    mix_g    = sum_s (m_A,s - m_P,s) * Q_A * p_P,s
    price_g  = sum_s Q_A,s * (p_A,s - p_P,s)

which add up to ``A_g - P_g`` identically. They are computed in exact rational
arithmetic from cents and rounded to cents by largest remainder, so the rounded
table still adds up to the gap to the cent (:meth:`Deviation.check`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from simlib.money import allocate_cents, from_cents, to_cents
from simlib.periods import as_window
from simlib.tracking import text
from simlib.tracking.dashboard import _targets_for
from simlib.tracking.facts import DataLike, prepare, window_rows

__all__ = ["Deviation", "deviation", "GROUPS", "EFFECTS"]

GROUPS: tuple[str, ...] = ("new_customer", "existing_customer")
EFFECTS: tuple[str, ...] = ("volume", "price", "mix")

_GROUP_NAMES = {
    "new_customer": ("new customers", "新客户"),
    "existing_customer": ("existing customers (repeat purchase)", "老客户（复购）"),
}
_EFFECT_NAMES = {"volume": ("volume", "数量"), "price": ("price", "单价"), "mix": ("mix", "结构")}


@dataclass(frozen=True)
class Deviation:
    """A team's gap to plan for a period, decomposed.

    Attributes
    ----------
    node_id, period : str
    start, end, as_of : Timestamp
        The period and the day it was measured to.
    plan, actual, gap : float
        Revenue planned (to ``as_of``), won, and their difference (actual - plan).
    table : DataFrame
        Rows ``new_customer``, ``existing_customer``, ``total``; columns ``plan,
        actual, volume, price, mix, gap``. Whole cents; each row's effects sum to its
        gap and the rows sum to the total, exactly.
    segments : DataFrame
        Per (customer group, product line): ``plan_revenue, actual_revenue,
        plan_deals, actual_deals, plan_avg_deal, actual_avg_deal`` and the
        ``baseline_revenue, baseline_deals`` the plan's composition came from.
    actions : DataFrame
        Proposed actions, biggest shortfall first: ``effect, customer_group, amount,
        action, action_zh``.
    baseline : tuple of Timestamp
        The baseline window.
    """

    node_id: str
    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    as_of: pd.Timestamp
    plan: float
    actual: float
    gap: float
    table: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    actions: pd.DataFrame = field(repr=False)
    baseline: tuple = ()

    def __repr__(self) -> str:
        return (
            f"Deviation({self.node_id} {self.period} to {self.as_of.date()}: plan "
            f"{self.plan:,.2f}, actual {self.actual:,.2f}, gap {self.gap:+,.2f})"
        )

    def check(self) -> None:
        """Raise AssertionError unless every sum holds to the cent."""
        t = self.table.set_index("customer_group")
        cents = t[["plan", "actual", "volume", "price", "mix", "gap"]].map(to_cents)
        for g, r in cents.iterrows():
            if r["volume"] + r["price"] + r["mix"] != r["gap"]:
                raise AssertionError(f"{g}: volume + price + mix != gap in cents: {dict(r)}")
            if r["actual"] - r["plan"] != r["gap"]:
                raise AssertionError(f"{g}: actual - plan != gap in cents: {dict(r)}")
        parts = cents.loc[list(GROUPS)].sum()
        if (parts != cents.loc["total"]).any():
            raise AssertionError(
                f"groups do not add up to the total: {dict(parts)} vs {dict(cents.loc['total'])}"
            )
        if cents.loc["total", "gap"] != to_cents(self.actual) - to_cents(self.plan):
            raise AssertionError("the total gap is not actual - plan to the cent")


def _round_exact(values: list[Fraction], total: int) -> list[int]:
    """Round exact values to integers whose sum is ``total`` (largest remainder)."""
    floors = [math.floor(v) for v in values]
    left = total - sum(floors)
    if not 0 <= left <= len(values):
        raise AssertionError(f"the effects do not sum to the gap: off by {left}")
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def _group_of(won: pd.DataFrame, all_won: pd.DataFrame) -> np.ndarray:
    """new_customer / existing_customer per deal; without a deal type, a customer's
    first won deal in the data is new."""
    g = won["deal_type"].to_numpy(dtype=object).copy()
    missing = pd.isna(g)
    if missing.any():
        first = all_won.sort_values("date").groupby("customer_id")["opportunity_id"].first()
        is_first = won["opportunity_id"].isin(set(first.to_numpy()))
        g[missing] = np.where(is_first[missing], "new_customer", "existing_customer")
    return g


def _effects(cells: pd.DataFrame) -> dict[str, Fraction]:
    """Volume, price and mix of one customer group, exactly (cents, Fractions)."""
    qa = {s: Fraction(int(n)) for s, n in zip(cells["segment"], cells["actual_deals_int"])}
    aa = {s: Fraction(int(c)) for s, c in zip(cells["segment"], cells["actual_cents"])}
    pp = {s: Fraction(int(c)) for s, c in zip(cells["segment"], cells["plan_cents"])}
    bn = {s: int(n) for s, n in zip(cells["segment"], cells["baseline_deals"])}
    bc = {s: int(c) for s, c in zip(cells["segment"], cells["baseline_cents"])}
    segs = list(cells["segment"])
    # plan deal size per segment: the baseline's; where the baseline had no deal, the
    # actual one (no price effect there), else 0 (no deals either way)
    p_plan = {}
    for s in segs:
        if bn[s] > 0 and bc[s] > 0:
            p_plan[s] = Fraction(bc[s], bn[s])
        elif qa[s] > 0:
            p_plan[s] = aa[s] / qa[s]
        else:
            p_plan[s] = Fraction(0)
    q_plan = {s: (pp[s] / p_plan[s] if p_plan[s] > 0 else Fraction(0)) for s in segs}
    QA, QP = sum(qa.values()), sum(q_plan.values())
    A, P = sum(aa.values()), sum(pp.values())
    p_act = {s: (aa[s] / qa[s] if qa[s] > 0 else p_plan[s]) for s in segs}
    if QP == 0:
        # nothing planned in the group: all of its revenue is volume
        return {"volume": A - P, "price": Fraction(0), "mix": Fraction(0), "q_plan": q_plan}
    pbar_plan = P / QP
    m_plan = {s: q_plan[s] / QP for s in segs}
    m_act = {s: (qa[s] / QA if QA > 0 else Fraction(0)) for s in segs}
    volume = (QA - QP) * pbar_plan
    mix = sum(((m_act[s] - m_plan[s]) * QA * p_plan[s] for s in segs), Fraction(0))
    price = sum((qa[s] * (p_act[s] - p_plan[s]) for s in segs), Fraction(0))
    if volume + mix + price != A - P:  # an identity; a failure is a bug here
        raise AssertionError("volume + mix + price != actual - plan")
    return {"volume": volume, "price": price, "mix": mix, "q_plan": q_plan}


def deviation(
    data: DataLike,
    node_id: str,
    period,
    *,
    as_of=None,
    baseline_months: int = 12,
    segment: str = "product_line",
) -> Deviation:
    """Decompose a team's (or any node's) gap to plan for a period.

    Parameters
    ----------
    data : Dataset or Facts
    node_id : str
        A team id (or region, company, rep): whose deals and target.
    period : str, tuple or Window
        Typically a month, ``2026-10``.
    as_of : date-like, optional
        Measure to this day; the plan is then the target due by it (pace).
    baseline_months : int
        Months before the period whose won deals give the plan its composition.
    segment : {"product_line", "customer_type", "lead_source"}
        What "mix" is a mix of.

    Returns
    -------
    Deviation
    """
    f = prepare(data)
    win = as_window(period)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    if t < win.start:
        raise ValueError(f"period {win.label} starts after {t.date()}: nothing to review yet")
    if segment not in ("product_line", "customer_type", "lead_source"):
        raise ValueError(
            f"segment must be 'product_line', 'customer_type' or 'lead_source'; got {segment!r}"
        )
    members = set(f.members(node_id))
    upto = min(t, win.end)
    level = f.nodes.drop_duplicates("node_id").set_index("node_id").at[node_id, "level"]
    # the node's own target rows, else its children's (as in metrics)
    _, expected = _targets_for(f, [node_id], level, win.start, win.end, upto)
    if np.isnan(expected[0]):
        raise ValueError(
            f"no revenue target for {node_id!r} in {win.label}: cannot measure a gap to plan"
        )
    plan_cents = to_cents(float(expected[0]))

    def deals(s, e):
        w = window_rows(f.won, s, e)
        w = w[w["rep_id"].isin(members)].copy()
        w["group"] = _group_of(w, f.won)
        w["segment"] = w[segment].fillna("(none)").astype(str)
        w["cents"] = [to_cents(a) for a in w["amount"]]
        return w

    actual = deals(win.start, upto)
    b_start = win.start - pd.DateOffset(months=baseline_months)
    base = deals(b_start, win.start - pd.Timedelta(days=1))
    if base.empty:
        raise ValueError(
            f"{node_id!r} won nothing in the {baseline_months} months before "
            f"{win.label}: no baseline to give the plan a composition"
        )
    keys = ["group", "segment"]
    b = base.groupby(keys).agg(baseline_cents=("cents", "sum"), baseline_deals=("cents", "size"))
    a = actual.groupby(keys).agg(actual_cents=("cents", "sum"), actual_deals_int=("cents", "size"))
    grid = pd.MultiIndex.from_product(
        [list(GROUPS), sorted(set(base["segment"]) | set(actual["segment"]))], names=keys
    )
    cells = pd.DataFrame(index=grid).join(b).join(a).fillna(0).astype(np.int64).reset_index()
    # the plan's revenue per cell: the target in whole cents, by baseline revenue shares

    cells["plan_cents"] = allocate_cents(plan_cents, cells["baseline_cents"].to_numpy(dtype=float))

    exact: list[Fraction] = []
    q_plan: dict = {}
    for g in GROUPS:
        eff = _effects(cells[cells["group"] == g])
        exact += [eff[e] for e in EFFECTS]
        q_plan[g] = eff["q_plan"]
    actual_cents = int(cells["actual_cents"].sum())
    gap_cents = actual_cents - plan_cents
    # round each group's effects to its own gap, so rows and the total all hold
    rounded: list[int] = []
    for k, g in enumerate(GROUPS):
        sub = cells[cells["group"] == g]
        g_gap = int(sub["actual_cents"].sum()) - int(sub["plan_cents"].sum())
        rounded += _round_exact(exact[3 * k : 3 * k + 3], g_gap)

    rows = []
    for k, g in enumerate(GROUPS):
        sub = cells[cells["group"] == g]
        pc, ac = int(sub["plan_cents"].sum()), int(sub["actual_cents"].sum())
        v, p, m = rounded[3 * k : 3 * k + 3]
        rows.append(
            dict(customer_group=g, plan=pc, actual=ac, volume=v, price=p, mix=m, gap=ac - pc)
        )
    tot = {c: sum(r[c] for r in rows) for c in ("plan", "actual", "volume", "price", "mix", "gap")}
    rows.append(dict(customer_group="total", **tot))
    table = pd.DataFrame(rows)
    for c in ("plan", "actual", "volume", "price", "mix", "gap"):
        table[c] = from_cents(table[c].to_numpy(dtype=np.int64))

    seg = cells.copy()
    seg["plan_deals"] = [float(q_plan[g][s]) for g, s in zip(seg["group"], seg["segment"])]
    seg = pd.DataFrame(
        {
            "customer_group": seg["group"],
            "segment": seg["segment"],
            "plan_revenue": from_cents(seg["plan_cents"].to_numpy()),
            "actual_revenue": from_cents(seg["actual_cents"].to_numpy()),
            "plan_deals": seg["plan_deals"],
            "actual_deals": seg["actual_deals_int"],
            "baseline_revenue": from_cents(seg["baseline_cents"].to_numpy()),
            "baseline_deals": seg["baseline_deals"],
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        seg["plan_avg_deal"] = np.where(
            seg["baseline_deals"] > 0,
            seg["baseline_revenue"] / seg["baseline_deals"].clip(lower=1),
            np.nan,
        )
        seg["actual_avg_deal"] = np.where(
            seg["actual_deals"] > 0,
            seg["actual_revenue"] / seg["actual_deals"].clip(lower=1),
            np.nan,
        )
    dev = Deviation(
        node_id=node_id,
        period=win.label,
        start=win.start,
        end=win.end,
        as_of=upto,
        plan=from_cents(plan_cents),
        actual=from_cents(actual_cents),
        gap=from_cents(gap_cents),
        table=table,
        segments=seg,
        actions=_actions(table, seg, text.company_currency()),
        baseline=(b_start, win.start - pd.Timedelta(days=1)),
    )
    dev.check()
    return dev


def _actions(table: pd.DataFrame, seg: pd.DataFrame, currency: str) -> pd.DataFrame:
    """One proposed action per material shortfall (at least 10% of the largest one)."""
    rows = []
    cells = [
        (g, e, float(table.loc[table["customer_group"] == g, e].iloc[0]))
        for g in GROUPS
        for e in EFFECTS
    ]
    short = [c for c in cells if c[2] < 0]
    if not short:
        return pd.DataFrame(columns=["effect", "customer_group", "amount", "action", "action_zh"])
    biggest = min(c[2] for c in short)
    for g, e, amount in sorted(short, key=lambda c: c[2]):
        if amount > 0.1 * biggest:
            continue
        s = seg[seg["customer_group"] == g]
        qa, qp = float(s["actual_deals"].sum()), float(s["plan_deals"].sum())
        amt_en, amt_zh = text.money(-amount, "en", currency), text.money(-amount, "zh-CN", currency)
        if e == "volume" and g == "new_customer":
            en = (
                f"New-customer deals {qa:.0f} vs {qp:.1f} planned ({amt_en} short): more "
                "prospecting — ask marketing for qualified leads and book first visits"
            )
            zh = (
                f"新客户成交{qa:.0f}单，计划{qp:.1f}单（缺口{amt_zh}）：加强新客户开发——"
                "请市场部增加合格线索并安排首次拜访"
            )
        elif e == "volume":
            en = (
                f"Repeat purchases {qa:.0f} vs {qp:.1f} planned ({amt_en} short): account "
                "reviews with the largest existing customers, a renewal and upsell campaign"
            )
            zh = (
                f"老客户复购{qa:.0f}单，计划{qp:.1f}单（缺口{amt_zh}）：对重点老客户做账户复盘，"
                "开展续约与增购活动"
            )
        elif e == "price":
            en = (
                f"Smaller deals than planned among {_GROUP_NAMES[g][0]} ({amt_en}): discount "
                "discipline and value selling; review approvals below list price"
            )
            zh = (
                f"{_GROUP_NAMES[g][1]}单笔金额低于计划（{amt_zh}）：严控折扣、强化价值销售，"
                "复核低于目录价的审批"
            )
        else:
            best = s.sort_values("plan_avg_deal", ascending=False)["segment"].iloc[0]
            en = (
                f"The mix among {_GROUP_NAMES[g][0]} shifted to smaller lines ({amt_en}): "
                f"push {best}"
            )
            zh = f"{_GROUP_NAMES[g][1]}的产品结构偏向小单（{amt_zh}）：重点推广{best}"
        rows.append(dict(effect=e, customer_group=g, amount=amount, action=en, action_zh=zh))
    return pd.DataFrame(rows)

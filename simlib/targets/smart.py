"""The SMART check (SPEC R3): which target fails which letter, and why.

S  specific    the target names an owner that is a node of the organisation, a metric
               and a period.
M  measurable  the amount is a finite, non-negative whole number of cents and the metric
               is one the data measures (``revenue``: won opportunities).
A  attainable  its probability of attainment from the attainment engine lies within
               [low, high] (default 30%–90%): below is out of reach, above is no stretch.
               ``None`` (not assessed) when the period was not simulated.
R  relevant    it ties to its parent: the parent has a target for the same period and the
               siblings sum exactly to what the parent hands down for it (its year ×
               (1 + uplift), split over its quarters and months); the company's year ties
               to the company number.
T  time-bound  the period is a year, quarter or month inside the target year.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from simlib.data.org import OrgTree
from simlib.money import from_cents, to_cents
from simlib.periods import parse_period

__all__ = ["MEASURED_METRICS", "smart_check"]

MEASURED_METRICS: tuple[str, ...] = ("revenue",)
LETTERS = ("S", "M", "A", "R", "T")


def smart_check(
    targets: pd.DataFrame,
    tree: OrgTree,
    year: int,
    *,
    children_totals: Mapping[tuple[str, str], int],
    company_target: float,
    p_attain: Mapping[tuple[str, str], float] | None = None,
    low: float = 0.30,
    high: float = 0.90,
) -> pd.DataFrame:
    """One row per target with a pass/fail per letter and the reasons in en and zh-CN.

    Parameters
    ----------
    targets : DataFrame
        owner_id, period, metric, amount (the long allocation table).
    tree : OrgTree
    year : int
    children_totals : mapping (parent id, period) → cents
        What each parent's children must sum to in each period (its target ×
        (1 + uplift), split over the periods; from
        :func:`~simlib.targets.allocate.time_split`).
    company_target : float
        The number the company's year must equal.
    p_attain : mapping (owner_id, period) → probability, optional
        Probability of attainment; missing or NaN = not assessed.
    low, high : float
        Bounds of an attainable probability.

    Returns
    -------
    DataFrame
        owner_id, level, period, metric, amount, p_attain, S, M, A, R, T (True/False,
        A may be None), fails (e.g. ``"A"``), why_en, why_zh.
    """
    t = targets.reset_index(drop=True)
    n = len(t)
    owners = t["owner_id"].astype(str).to_numpy()
    periods = t["period"].astype(str).to_numpy()
    metrics = t["metric"].astype(str).to_numpy() if "metric" in t else np.array(["revenue"] * n)
    amounts = t["amount"].to_numpy(dtype=float)
    ids = set(tree.ids)
    cents = np.array(
        [to_cents(float(a)) if np.isfinite(a) else -1 for a in amounts], dtype=np.int64
    )
    key = dict(zip(zip(owners, periods), cents))
    why_en: list[list[str]] = [[] for _ in range(n)]
    why_zh: list[list[str]] = [[] for _ in range(n)]

    # S
    s_ok = np.ones(n, bool)
    for i in range(n):
        if owners[i] not in ids:
            s_ok[i] = False
            why_en[i].append(f"S: owner {owners[i]!r} is not a node of the organisation")
            why_zh[i].append(f"S：负责人 {owners[i]} 不在组织架构中")
        if not metrics[i] or not periods[i]:
            s_ok[i] = False
            why_en[i].append("S: metric or period missing")
            why_zh[i].append("S：缺少指标或期间")
    # M
    m_ok = np.isfinite(amounts) & (amounts >= 0)
    m_ok &= np.array(
        [bool(np.isfinite(a)) and from_cents(to_cents(float(a))) == float(a) for a in amounts]
    )
    measured = np.isin(metrics, MEASURED_METRICS)
    for i in np.flatnonzero(~m_ok):
        why_en[i].append(f"M: amount {float(amounts[i])!r} is not a non-negative amount in cents")
        why_zh[i].append(f"M：金额 {float(amounts[i])!r} 不是以分计的非负金额")
    for i in np.flatnonzero(~measured):
        why_en[i].append(f"M: the data does not measure metric {metrics[i]!r}")
        why_zh[i].append(f"M：数据无法度量指标 {metrics[i]}")
    m_ok &= measured
    # T
    t_ok = np.ones(n, bool)
    for i, p in enumerate(periods):
        try:
            w = parse_period(p)
            inside = w.start.year == year and w.end.year == year
        except ValueError:
            inside = False
        if not inside:
            t_ok[i] = False
            why_en[i].append(f"T: period {p!r} is not a year, quarter or month of {year}")
            why_zh[i].append(f"T：期间 {p} 不在 {year} 年内")
    # R
    r_ok = np.ones(n, bool)
    sums: dict[tuple[str, str], int] = {}
    for (o, p), c in key.items():
        par = tree.parent_of.get(o)
        if par is not None:
            sums[(par, p)] = sums.get((par, p), 0) + int(c)
    for i in range(n):
        o, p = owners[i], periods[i]
        if o not in ids:
            r_ok[i] = False
            continue
        par = tree.parent_of[o]
        if par is None:
            if p == str(year) and cents[i] != to_cents(float(company_target)):
                r_ok[i] = False
                why_en[i].append("R: the company's year differs from the company number")
                why_zh[i].append("R：公司年度目标与公司总目标不一致")
            continue
        if (par, p) not in key:
            r_ok[i] = False
            why_en[i].append(f"R: parent {par} has no {p} target")
            why_zh[i].append(f"R：上级 {par} 没有 {p} 的目标")
            continue
        want = children_totals.get((par, p))
        got = sums.get((par, p), 0)
        ok = want is not None and got == want
        if not ok:
            r_ok[i] = False
            shown = "nothing" if want is None else f"{want / 100:,.2f}"
            why_en[i].append(
                f"R: the children of {par} sum to {got / 100:,.2f} for {p}, not "
                f"{par} × (1 + uplift) = {shown}"
            )
            why_zh[i].append(
                f"R：{par} 下级 {p} 合计 {got / 100:,.2f}，不等于上级×(1+超配) {shown}"
            )
    # A
    a_val = np.full(n, np.nan)
    if p_attain is not None:
        a_val = np.array(
            [p_attain.get((o, p), np.nan) for o, p in zip(owners, periods)], dtype=float
        )
    a_ok: list = []
    for i in range(n):
        p = a_val[i]
        if p != p:
            a_ok.append(None)
        elif p < low:
            a_ok.append(False)
            why_en[i].append(
                f"A: probability of attainment {p:.0%} is below {low:.0%} (out of reach)"
            )
            why_zh[i].append(f"A：达成概率 {p:.0%} 低于 {low:.0%}（难以达成）")
        elif p > high:
            a_ok.append(False)
            why_en[i].append(
                f"A: probability of attainment {p:.0%} is above {high:.0%} (no stretch)"
            )
            why_zh[i].append(f"A：达成概率 {p:.0%} 高于 {high:.0%}（缺乏挑战）")
        else:
            a_ok.append(True)
    out = pd.DataFrame(
        {
            "owner_id": owners,
            "level": [tree.level_of.get(o, "") for o in owners],
            "period": periods,
            "metric": metrics,
            "amount": amounts,
            "p_attain": a_val,
            "S": s_ok,
            "M": m_ok,
            "A": pd.array(a_ok, dtype="boolean"),
            "R": r_ok,
            "T": t_ok,
        }
    )
    flags = np.stack([~s_ok, ~m_ok, np.array([x is False for x in a_ok]), ~r_ok, ~t_ok], axis=1)
    out["fails"] = ["".join(L for L, f in zip(LETTERS, row) if f) for row in flags]
    out["why_en"] = ["; ".join(w) for w in why_en]
    out["why_zh"] = ["；".join(w) for w in why_zh]
    return out

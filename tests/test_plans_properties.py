"""Invariants of commission plans, checked on random plans and inputs (Hypothesis).

- marginal payout is continuous and never falls as sales rise;
- statements reconcile: lines sum to the payable amount, to the cent;
- bonus pools are paid in full, to the cent, and never pay a lower rank more;
- a cap is never exceeded (per period, per deal, year to date);
- the vectorised float path equals the exact statement path within half a cent.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simlib.plans import (
    PlanSpec,
    PoolSpec,
    allocate_pool,
    compute_statements,
    evaluate,
    statement_for,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cents = st.integers(min_value=0, max_value=600_000_000)  # up to 6,000,000.00
quotas = st.integers(min_value=100_000, max_value=3_000_000)


@st.composite
def bands(draw, basis: str, key: str, lo: int, hi: int, scale: int):
    n = draw(st.integers(1, 4))
    if basis == "amount":
        steps = draw(st.lists(st.integers(1, 2_000_000), min_size=n - 1, max_size=n - 1))
        thr = [0.0] + [float(x) for x in np.cumsum(steps)]
    else:
        steps = draw(st.lists(st.integers(1, 80), min_size=n - 1, max_size=n - 1))
        thr = [0.0] + [x / 100 for x in np.cumsum(steps)]
    vals = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    return [{"threshold": t, key: v / scale} for t, v in zip(thr, vals)]


@st.composite
def plans(draw, *, marginal: bool = False, gate: bool = True, ti: bool = True):
    basis = draw(st.sampled_from(["amount", "attainment"]))
    pays_on = (
        draw(st.sampled_from(["measure", "target_incentive"]))
        if ti and basis == "attainment"
        else "measure"
    )
    rate_hi = 500 if pays_on == "measure" else 30_000
    data = {
        "name": "random",
        "description": "random plan",
        "basis": basis,
        "mode": "marginal" if marginal else draw(st.sampled_from(["marginal", "retroactive"])),
        "at_threshold": draw(st.sampled_from(["band_below", "band_above"])),
        "pays_on": pays_on,
        "tiers": draw(bands(basis, "rate", 0, rate_hi, 10_000)),
    }
    if pays_on == "target_incentive":
        data["target_incentive"] = float(draw(st.integers(1_000, 50_000)))
    if draw(st.booleans()):
        data["multipliers"] = draw(bands("attainment", "factor", 0, 300, 100))
        data["multiplier_mode"] = (
            "marginal"
            if marginal
            else draw(st.sampled_from(["marginal", "retroactive", "overage"]))
        )
        if gate and any(m["factor"] > 1 for m in data["multipliers"]) and draw(st.booleans()):
            data["accelerator_gate"] = {"min_attainment": draw(st.integers(1, 150)) / 100}
    if not marginal and len(data["tiers"]) > 1 and draw(st.booleans()):
        for band in data["tiers"][1:]:
            if draw(st.booleans()):
                band["entry_bonus"] = draw(st.integers(1, 1_000_00)) / 100
    if gate and draw(st.booleans()):
        data["gate"] = {"min_attainment": draw(st.integers(1, 120)) / 100}
    if pays_on == "measure" and draw(st.integers(0, 4)) == 0:
        # a spread plan: each band's rate over a base rate (some band must clear it)
        top = max(b["rate"] for b in data["tiers"])
        if top > 0:
            data["base_rate"] = draw(st.integers(1, max(1, int(top * 10_000)))) / 10_000
            if data["base_rate"] >= top:
                data["base_rate"] = top / 2
    elif basis == "amount" and pays_on == "measure" and draw(st.booleans()):
        # bands stated as amounts: over the band's width (marginal) or flat (retroactive)
        tiers = data["tiers"]
        last = len(tiers) - (1 if data["mode"] == "marginal" else 0)
        for band in tiers[:last]:
            if draw(st.booleans()):
                band.pop("rate")
                band["amount"] = draw(st.integers(0, 2_000_000)) / 100
        if data["mode"] == "marginal":  # no more than the band's width
            for band, nxt in zip(tiers, tiers[1:]):
                if "amount" in band:
                    band["amount"] = min(band["amount"], nxt["threshold"] - band["threshold"])
        elif data.get("multipliers"):
            data["multiplier_mode"] = "retroactive"
    cap = None
    if draw(st.booleans()):
        cap = draw(st.integers(1_000_00, 200_000_00)) / 100
        data["cap"] = {"per_period": cap}
    if draw(st.booleans()):
        floor = draw(st.integers(1, 5_000_00)) / 100
        data["floor"] = min(floor, cap) if cap else floor
    if draw(st.booleans()):
        amount = draw(st.integers(1, 5_000_00)) / 100
        data["draw"] = {
            "kind": draw(st.sampled_from(["recoverable", "non_recoverable"])),
            "amount": min(amount, cap) if cap else amount,
        }
    return PlanSpec.model_validate(data)


def _edges(plan: PlanSpec, quota: float) -> list[float]:
    """Amounts where a plan's pay may jump."""
    pts = [b.threshold * (quota if plan.basis == "attainment" else 1) for b in plan.tiers]
    pts += [m.threshold * quota for m in plan.multipliers]
    if plan.gate is not None:
        pts.append(plan.gate.min_attainment * quota)
    if plan.accelerator_gate is not None:
        pts.append(plan.accelerator_gate.min_attainment * quota)
    if plan.multiplier_mode == "overage":
        pts.append(quota)
    return pts


def _lipschitz(plan: PlanSpec, quota: float) -> float:
    rate = max(b.rate for b in plan.tiers)
    factor = max((m.factor for m in plan.multipliers), default=1.0)
    scale = 1.0
    if plan.pays_on == "target_incentive":
        scale = (
            plan.target_incentive / quota if plan.basis == "attainment" else plan.target_incentive
        )
    return rate * factor * scale


# --------------------------------------------------------------------------- marginal


@SETTINGS
@given(plans(marginal=True, gate=False), quotas, cents, st.integers(1, 50_000_000))
def test_marginal_payout_is_continuous_and_non_decreasing(plan, quota, c, step):
    x1, x2 = c / 100, (c + step) / 100
    p1, p2 = evaluate(plan, np.array([[x1, x2]]), np.array([quota, quota], float))[0]
    assert p2 >= p1 - 1e-9 * max(1.0, p1)
    assert p2 - p1 <= _lipschitz(plan, quota) * (x2 - x1) * (1 + 1e-9) + 1e-9
    # the exact statement path too (rounded once, so within a cent of continuous)
    e1 = statement_for(plan, x1, quota).payable_cents
    e2 = statement_for(plan, x2, quota).payable_cents
    assert e2 >= e1
    assert (e2 - e1) / 100 <= _lipschitz(plan, quota) * (x2 - x1) + 0.01 + 1e-9


@SETTINGS
@given(plans(marginal=True, gate=False), quotas, cents)
def test_marginal_payout_has_no_jump_at_any_edge(plan, quota, c):
    for e in _edges(plan, quota):
        if e <= 0.01:
            continue
        lo, hi = evaluate(plan, np.array([[e - 0.01, e + 0.01]]), np.array([quota, quota], float))[
            0
        ]
        assert abs(hi - lo) <= _lipschitz(plan, quota) * 0.02 * (1 + 1e-9) + 1e-12 * abs(hi) + 1e-6


# --------------------------------------------------------------------------- exact == vectorised


@SETTINGS
@given(plans(), quotas, cents)
def test_vectorised_equals_exact_within_half_a_cent(plan, quota, c):
    x = c / 100
    # at a jump (retroactive band, gate) float and exact arithmetic may land on
    # different sides of the edge; stay a micro-unit away from every edge
    assume(all(abs(x - e) > 1e-6 * max(1.0, e) for e in _edges(plan, quota)))
    fast = float(evaluate(plan, np.array([[x]]), np.array([float(quota)]))[0, 0])
    exact = statement_for(plan, x, quota).payable_cents / 100
    assert abs(fast - exact) <= 0.005 + 1e-12 * max(1.0, abs(fast))


@settings(max_examples=40, deadline=None)
@given(plans(), st.lists(st.tuples(quotas, cents), min_size=1, max_size=6))
def test_vectorised_equals_exact_on_several_reps(plan, reps):
    q = np.array([float(r[0]) for r in reps])
    x = np.array([[r[1] / 100 for r in reps]])
    for quota, c in reps:
        assume(all(abs(c / 100 - e) > 1e-6 * max(1.0, e) for e in _edges(plan, quota)))
    deals = pd.DataFrame(
        {
            "opportunity_id": [f"D{k}" for k in range(len(reps))],
            "owner_id": [f"R{k}" for k in range(len(reps))],
            "amount": x[0],
            "close_date": pd.Timestamp("2025-02-01"),
        }
    )
    quota = pd.DataFrame({"owner_id": deals["owner_id"], "period": "2025-Q1", "quota": q})
    ss = compute_statements(plan, deals, quota)
    fast = evaluate(plan, x, q)[0]
    for k, s in enumerate(ss):
        assert s.rep_id == f"R{k}"
        assert abs(fast[k] - s.payable_cents / 100) <= 0.005 + 1e-9 * max(1.0, fast[k])


# --------------------------------------------------------------------------- statements


deal_rows = st.lists(
    st.tuples(
        st.sampled_from(["R1", "R2"]),
        st.integers(0, 180),  # day of 2025
        st.integers(0, 200_000_000),  # cents
        st.sampled_from(["P-CORE", "P-ANALYTICS"]),
    ),
    min_size=1,
    max_size=10,
)


@st.composite
def multi_period_plans(draw):
    plan = draw(plans(ti=False))
    data = plan.model_dump()
    data["period"] = draw(st.sampled_from(["month", "quarter"]))
    if draw(st.booleans()):
        data["clawback"] = {"within_days": draw(st.integers(1, 120))}
    if draw(st.booleans()):
        data["spifs"] = [{"name": "add-on", "amount": 250.0, "products": ["P-ANALYTICS"]}]
    if draw(st.booleans()):
        data["cap"] = {
            **(data.get("cap") or {}),
            "per_deal": draw(st.integers(1_00, 50_000_00)) / 100,
        }
    if draw(st.booleans()) and data["basis"] == "attainment":
        data["ytd_true_up"] = True
    return PlanSpec.model_validate(data)


@SETTINGS
@given(
    multi_period_plans(),
    deal_rows,
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 150)), max_size=3),
)
def test_statements_reconcile_to_the_cent(plan, rows, revs):
    start = dt.date(2025, 1, 1)
    deals = pd.DataFrame(
        [
            {
                "opportunity_id": f"D{k}",
                "owner_id": r,
                "close_date": start + dt.timedelta(days=d),
                "amount": c / 100,
                "product_id": p,
            }
            for k, (r, d, c, p) in enumerate(rows)
        ]
    )
    per = (
        [
            "2025-01",
            "2025-02",
            "2025-03",
            "2025-04",
            "2025-05",
            "2025-06",
            "2025-07",
            "2025-08",
            "2025-09",
            "2025-10",
            "2025-11",
            "2025-12",
        ]
        if plan.period == "month"
        else ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    )
    quotas = pd.DataFrame(
        [{"owner_id": r, "period": p, "quota": 500_000.0} for r in ("R1", "R2") for p in per]
    )
    seen, rv = set(), []
    for k, days in revs:
        if k < len(rows) and k not in seen:
            seen.add(k)
            rv.append(
                {
                    "opportunity_id": f"D{k}",
                    "reversal_date": start + dt.timedelta(days=rows[k][1] + days),
                }
            )
    reversals = pd.DataFrame(rv, columns=["opportunity_id", "reversal_date"])
    ss = compute_statements(plan, deals, quotas, reversals=reversals)
    for s in ss:
        assert sum(ln.cents for ln in s.lines) == s.payable_cents
        assert s.payable_cents >= 0 and s.balance_out_cents >= 0
        if not plan.ytd_true_up:  # commission attributed to deals is commission earned
            assert sum(c for _, c in s.paid_on_deals) <= s.earned_cents
        # per-deal cap: no deal's commission after its cap line exceeds the cap
        if plan.cap is not None and plan.cap.per_deal is not None:
            per_deal: dict[str, int] = {}
            for ln in s.lines:
                if ln.kind in ("commission", "deal_cap") and ln.opportunity_id:
                    per_deal[ln.opportunity_id] = per_deal.get(ln.opportunity_id, 0) + ln.cents
            assert all(v <= round(plan.cap.per_deal * 100) for v in per_deal.values())
        # period cap: what is earned in a period never exceeds it (year to date: k × cap)
        if plan.cap is not None and plan.cap.per_period is not None:
            cap = round(plan.cap.per_period * 100)
            if plan.ytd_true_up:
                k = int(s.period[-1]) if plan.period == "quarter" else int(s.period[-2:])
                first = min(
                    int(t.period[-1]) if plan.period == "quarter" else int(t.period[-2:])
                    for t in ss.for_rep(s.rep_id)
                )
                assert sum(
                    t.earned_cents for t in ss.for_rep(s.rep_id) if t.period <= s.period
                ) <= cap * (k - first + 1)
            else:
                assert s.earned_cents <= cap
                assert s.payable_cents <= cap


@SETTINGS
@given(plans(gate=True), quotas, cents)
def test_cap_is_never_exceeded_over_trials(plan, quota, c):
    assume(plan.cap is not None)
    pay = evaluate(plan, np.array([[c / 100]]), np.array([float(quota)]))
    assert pay.max() <= plan.cap.per_period
    assert statement_for(plan, c / 100, quota).payable_cents <= round(plan.cap.per_period * 100)


# --------------------------------------------------------------------------- pools


@st.composite
def pools(draw):
    split = draw(st.sampled_from(["rank", "score"]))
    data = {
        "description": "random pool",
        "funding_rate": draw(st.integers(1, 2000)) / 10_000,
        "split": split,
        "review_bottom": draw(st.integers(0, 3)),
        "rank_by": draw(st.sampled_from(["attainment", "result"])),
    }
    if split == "rank":
        raw = sorted(draw(st.lists(st.integers(1, 100), min_size=1, max_size=5)), reverse=True)
        total = sum(raw)
        scale = draw(st.integers(total, 3 * total))
        data["shares"] = [Fraction(r, scale).limit_denominator(10_000).__float__() for r in raw]
        data["shares"] = [round(s, 4) for s in data["shares"]]
        assume(sum(data["shares"]) <= 1 and all(s > 0 for s in data["shares"]))
        assume(all(a >= b for a, b in zip(data["shares"], data["shares"][1:])))
    if draw(st.booleans()):
        data["min_attainment"] = draw(st.integers(0, 120)) / 100
    return PoolSpec.model_validate(data)


@SETTINGS
@given(pools(), st.lists(st.tuples(cents, quotas), min_size=1, max_size=15))
def test_pool_is_paid_in_full_to_the_cent(pool, reps):
    df = pd.DataFrame(
        {
            "rep_id": [f"R{k:02d}" for k in range(len(reps))],
            "result": [c / 100 for c, _ in reps],
            "quota": [float(q) for _, q in reps],
        }
    )
    res = allocate_pool(pool, df)
    total = sum(s.cents for s in res.shares)
    assert total + res.unallocated_cents == res.pool_cents
    assert res.unallocated_cents in (0, res.pool_cents)
    assert all(s.cents >= 0 for s in res.shares)
    assert all(s.cents == 0 for s in res.shares if s.review)
    if pool.split == "rank":  # a better rank never gets less (to within the cent split)
        paid = [s for s in res.shares if not s.review and s.note == ""]
        for a, b in zip(paid, paid[1:]):
            if a.metric > b.metric:
                assert a.cents >= b.cents - 1


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["components", "attainment"]),
    st.integers(1, 9),
    plans(marginal=False, gate=False, ti=False),
    plans(marginal=False, gate=False, ti=False),
    st.lists(st.tuples(cents, cents, quotas, quotas), min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(1, 150)),
)
def test_weighted_measures_vector_equals_exact(combine, w, curve_a, curve_b, reps, gate):
    """Two measures with their own quotas and curves: the float path equals statements."""
    weights = (w / 10, round(1 - w / 10, 10))
    data = {
        "name": "weighted",
        "description": "two measures",
        "basis": "attainment",
        "pays_on": "target_incentive",
        "target_incentive": 10_000.0,
        "combine": combine,
        "tiers": [
            {"threshold": b.threshold, "rate": b.rate} for b in curve_a.tiers if b.amount is None
        ]
        or [{"threshold": 0, "rate": 1}],
        "components": [
            {
                "name": name,
                "measure": measure,
                "weight": weight,
                "tiers": [
                    {
                        "threshold": b.threshold if curve.basis == "attainment" else k * 0.5,
                        "rate": min(b.rate * 100, 3.0),
                    }
                    for k, b in enumerate(curve.tiers)
                ],
            }
            for name, measure, weight, curve in (
                ("bookings", "revenue", weights[0], curve_a),
                ("logos", "new_customer_revenue", weights[1], curve_b),
            )
        ],
    }
    if data["tiers"][0]["threshold"] != 0:
        data["tiers"] = [{"threshold": 0, "rate": 1}]
    if gate is not None:
        data["gate"] = {"min_attainment": gate / 100}
    plan = PlanSpec.model_validate(data)
    rows, quota_rows = [], []
    for k, (a, b, qa, qb) in enumerate(reps):
        rows += [
            {
                "opportunity_id": f"A{k}",
                "owner_id": f"R{k}",
                "amount": a / 100,
                "close_date": pd.Timestamp("2025-02-01"),
                "deal_type": "existing_customer",
            },
            {
                "opportunity_id": f"B{k}",
                "owner_id": f"R{k}",
                "amount": b / 100,
                "close_date": pd.Timestamp("2025-02-02"),
                "deal_type": "new_customer",
            },
        ]
        quota_rows += [
            {"owner_id": f"R{k}", "period": "2025-Q1", "metric": "revenue", "quota": float(qa)},
            {
                "owner_id": f"R{k}",
                "period": "2025-Q1",
                "metric": "new_customer_revenue",
                "quota": float(qb),
            },
        ]
    deals = pd.DataFrame(rows)
    deals = deals[deals["amount"] > 0]
    att = [weights[0] * (a / 100) / qa + weights[1] * (b / 100) / qb for a, b, qa, qb in reps]
    if gate is not None:
        assume(all(abs(x - gate / 100) > 1e-9 for x in att))
    ss = compute_statements(plan, deals, pd.DataFrame(quota_rows))
    fast = evaluate(
        plan,
        {
            "revenue": np.array([[(a + b) / 100 for a, b, _, _ in reps]]),
            "new_customer_revenue": np.array([[b / 100 for _, b, _, _ in reps]]),
        },
        {
            "revenue": np.array([float(qa) for _, _, qa, _ in reps]),
            "new_customer_revenue": np.array([float(qb) for _, _, _, qb in reps]),
        },
    )[0]
    for s in ss:
        k = int(s.rep_id[1:])
        assert sum(ln.cents for ln in s.lines) == s.payable_cents
        assert abs(fast[k] - s.payable_cents / 100) <= 0.01 + 1e-9 * abs(fast[k])

"""Invariants of the target cascade, for any inputs Hypothesis can find.

- every parent's children sum to parent × (1 + uplift) exactly, to the cent;
- every node's months sum to its quarters and its year, and every period's children
  sum to what the parent hands down for it;
- growth floors and caps hold for every comparable, unlocked child;
- locked overrides come out exactly as given;
- the order the organisation's rows come in changes nothing;
- a single split keeps its total, its locks and its bounds.

An input whose locks and bounds cannot be met raises AllocationError; such draws are
rejected (the error itself is tested in test_targets.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from simlib.money import to_cents
from simlib.targets import (
    AllocationError,
    History,
    OrgTree,
    cascade,
    over_assigned,
    split_cents,
    time_split,
)
from simlib.targets.params import GrowthBounds, MethodWeights, Uplift

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: The time split costs ~20 ms a draw; fewer draws keep the file under ~15 s.
FEWER = settings(SETTINGS, max_examples=30)

ORG = [
    ("CO", None, "company"),
    ("R1", "CO", "region"),
    ("R2", "CO", "region"),
    ("T1", "R1", "team"),
    ("T2", "R1", "team"),
    ("T3", "R2", "team"),
    ("T4", "R2", "team"),
]
REPS = [
    ("A1", "T1"),
    ("A2", "T1"),
    ("B1", "T2"),
    ("B2", "T2"),
    ("C1", "T3"),
    ("C2", "T3"),
    ("D1", "T4"),
    ("D2", "T4"),
    ("D3", "T4"),
]
ALL = ORG + [(r, t, "rep") for r, t in REPS]
UPLIFT_OF = {"region": "region", "team": "team", "rep": "rep"}

money = st.floats(min_value=0, max_value=5e7, allow_nan=False).map(lambda x: round(x, 2))
weight = st.floats(min_value=0, max_value=10, allow_nan=False)


def _c(x) -> int:
    return to_cents(float(x))


@st.composite
def scenarios(draw):
    ly = {r: draw(money) for r, _ in REPS}
    pot = {r: draw(money) for r, _ in REPS}
    cap = {r: draw(st.floats(0, 1)) for r, _ in REPS}
    methods = MethodWeights(
        historical=draw(weight),
        potential=draw(weight),
        equal=draw(weight) + 0.01,
        capacity=draw(weight),
    )
    uplift = Uplift(
        region=draw(st.floats(0, 0.2)), team=draw(st.floats(0, 0.2)), rep=draw(st.floats(0, 0.2))
    )
    floor = draw(st.floats(-0.9, 0.0))
    growth = draw(
        st.one_of(st.none(), st.builds(GrowthBounds, floor=st.just(floor), cap=st.floats(0.0, 3.0)))
    )
    # the company number near last year's (most draws feasible under the bounds)
    base = sum(ly.values())
    company = (
        round(base * draw(st.floats(0.5, 2.0)), 2)
        if base > 1e3
        else draw(st.floats(1e3, 3e8).map(lambda x: round(x, 2)))
    )
    locked_ids = draw(
        st.lists(
            st.sampled_from([n for n, _, lv in ALL if lv != "company"]), max_size=3, unique=True
        )
    )
    locked = {n: draw(st.floats(0, company / 40).map(lambda x: round(x, 2))) for n in locked_ids}
    order = draw(st.permutations(range(len(ALL))))
    season = draw(st.lists(st.floats(0.01, 1), min_size=12, max_size=12))
    return ly, pot, cap, methods, uplift, growth, company, locked, order, season


def history(ly, pot, cap, order, season) -> History:
    rows = [ALL[i] for i in order]
    frame = pd.DataFrame(rows, columns=["node_id", "parent_id", "level"]).assign(
        name=lambda d: d["node_id"]
    )
    tree = OrgTree.from_frame(frame)
    return History(
        tree=tree,
        year=2027,
        base_year=2025,
        last_year=tree.rollup(ly),
        potential=tree.rollup(pot),
        capacity=tree.rollup(cap),
        seasonality=np.array(season),
    )


def run(draw_):
    ly, pot, cap, methods, uplift, growth, company, locked, order, season = draw_
    h = history(ly, pot, cap, order, season)
    try:
        c = cascade(h, company, methods=methods, uplift=uplift, growth=growth, locked=locked)
    except AllocationError:
        reject()
    return h, c


@SETTINGS
@given(scenarios())
def test_cascade_sums_bounds_and_locks(s):
    h, c = run(s)
    _, _, _, _, uplift, growth, company, locked, _, _ = s
    tree = h.tree
    t = {n: _c(v) for n, v in zip(c.table["node_id"], c.table["target"])}
    assert t["CO"] == _c(company)
    for parent in tree.parents():
        kids = tree.children(parent)
        u = getattr(uplift, tree.level_of[kids[0]])
        assert sum(t[k] for k in kids) == over_assigned(t[parent], u)
    for n, amount in locked.items():
        assert t[n] == _c(amount)
    if growth is not None:
        for n in tree.ids:
            if n == tree.root or n in locked or not h.comparable[n]:
                continue
            base = _c(h.last_year[n])
            assert t[n] >= base * (1 + growth.floor) - 1
            assert t[n] <= base * (1 + growth.cap) + 1


@FEWER
@given(scenarios())
def test_time_split_is_exact_in_every_period(s):
    h, c = run(s)
    long, months, totals = time_split(c)
    cents = {(o, p): _c(a) for o, p, a in zip(long["node_id"], long["period"], long["amount"])}
    tree = h.tree
    assert (months >= 0).all()
    for n in tree.ids:
        y = cents[(n, "2027")]
        assert y == sum(cents[(n, f"2027-Q{q}")] for q in range(1, 5))
        assert y == sum(cents[(n, f"2027-{m:02d}")] for m in range(1, 13))
    for parent in tree.parents():
        for p in long["period"].unique():
            assert sum(cents[(k, p)] for k in tree.children(parent)) == totals[(parent, p)]


@FEWER
@given(scenarios(), st.permutations(range(len(ALL))))
def test_row_order_is_irrelevant(s, other_order):
    h, c = run(s)
    ly, pot, cap, methods, uplift, growth, company, locked, _, season = s
    h2 = history(ly, pot, cap, other_order, season)
    c2 = cascade(h2, company, methods=methods, uplift=uplift, growth=growth, locked=locked)
    a = dict(zip(c.table["node_id"], c.table["target"]))
    b = dict(zip(c2.table["node_id"], c2.table["target"]))
    assert a == b
    la, _, _ = time_split(c)
    lb, _, _ = time_split(c2)
    key = ["node_id", "period"]
    pd.testing.assert_frame_equal(
        la.sort_values(key).reset_index(drop=True), lb.sort_values(key).reset_index(drop=True)
    )


@SETTINGS
@given(st.data())
def test_split_keeps_total_locks_and_bounds(data):
    n = data.draw(st.integers(1, 12))
    w = np.array(data.draw(st.lists(weight, min_size=n, max_size=n)))
    lo = np.array(data.draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n)), dtype=float)
    width = np.array(
        data.draw(st.lists(st.one_of(st.integers(0, 50_000), st.just(-1)), min_size=n, max_size=n))
    )
    hi = np.where(width < 0, np.inf, lo + np.maximum(width, 0))
    locked = np.array(
        data.draw(
            st.lists(
                st.one_of(st.just(np.nan), st.integers(0, 20_000).map(float)),
                min_size=n,
                max_size=n,
            )
        )
    )
    total = data.draw(st.integers(0, 300_000))
    try:
        res = split_cents(total, w, lo, hi, locked)
    except AllocationError:
        free = np.isnan(locked)
        rest = total - np.nansum(locked)
        assert (
            rest < 0
            or lo[free].sum() > rest
            or hi[free].sum() < rest
            or (not free.any() and rest != 0)
        )
        return
    assert int(res.cents.sum()) == total
    is_locked = ~np.isnan(locked)
    assert (res.cents[is_locked] == locked[is_locked]).all()
    free = ~is_locked
    assert (res.cents[free] >= lo[free]).all() and (res.cents[free] <= hi[free]).all()

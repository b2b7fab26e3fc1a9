"""The competing-risks estimate of deal outcomes, against lifelines and hand-worked cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.survival import aalen_johansen


def test_hand_worked_case():
    # 4 deals: won at 10, lost at 20, open (censored) at 15, won at 30.
    cr = aalen_johansen([10, 20, 15, 30], [1, 2, 0, 1])
    # t=10: 4 at risk, 1 win -> F1 = 1/4, S = 3/4
    assert cr.incidence(10) == pytest.approx(0.25)
    assert cr.survival(10) == pytest.approx(0.75)
    # t=15 censoring: nothing changes; t=20: 2 at risk, 1 loss -> S = 3/8, F2 = 3/8
    assert cr.incidence(20, cause=2) == pytest.approx(0.375)
    assert cr.survival(20) == pytest.approx(0.375)
    # t=30: 1 at risk, 1 win -> F1 = 1/4 + 3/8
    assert cr.incidence(30) == pytest.approx(0.625)
    assert cr.survival(30) == pytest.approx(0.0)
    # a deal open at age 20 wins later with certainty in this data; one open at 12 with
    # (F1(30) - F1(12)) / S(12) = 0.375 / 0.75
    assert cr.eventual(20) == pytest.approx(1.0)
    assert cr.eventual(12) == pytest.approx(0.5)
    assert cr.conditional(12, 0, 10) == pytest.approx(0.0)


def test_ignoring_the_open_deals_overstates_old_deals_chances():
    # Half the deals rot: open for ever (censored at 400 days). Wins come by day 90.
    rng = np.random.default_rng(1)
    n = 2000
    rot = rng.random(n) < 0.5
    won = ~rot & (rng.random(n) < 0.6)
    t = np.where(rot, 400.0, rng.uniform(5, 90, n))
    e = np.where(rot, 0, np.where(won, 1, 2))
    cr = aalen_johansen(t, e)
    # an open deal at 120 days has seen every win of its cohort pass: almost no chance
    assert cr.eventual(120) < 0.01
    # closed-only counting would say 60%
    closed = e > 0
    assert (e[closed] == 1).mean() == pytest.approx(0.6, abs=0.03)


REFERENCE = Path(__file__).parent / "fixtures" / "survival" / "lifelines_reference.json"


@pytest.mark.parametrize(
    "case", json.loads(REFERENCE.read_text())["cases"], ids=lambda c: c["seed"]
)
def test_matches_lifelines(case):
    """lifelines' answers on seeded data (stored: lifelines pins pandas below 3, so it is
    not a dependency; scripts/make_lifelines_reference.py made them)."""
    cr = aalen_johansen(case["durations"], case["events"])
    np.testing.assert_allclose(cr.incidence(case["cif_times"]), case["cif_win"], atol=1e-9)
    np.testing.assert_allclose(cr.survival(case["km_times"]), case["km_survival"], atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 400), st.sampled_from([0, 1, 2])), min_size=1, max_size=80),
    st.integers(0, 300),
    st.integers(0, 200),
)
def test_probabilities_are_probabilities(rows, age, span):
    t, e = map(np.array, zip(*rows, strict=True))
    cr = aalen_johansen(t, e)
    p_win = cr.conditional(age, 0, span)
    p_loss = cr.conditional(age, 0, span, cause=2)
    assert 0 <= p_win <= 1 and 0 <= p_loss <= 1
    assert p_win + p_loss <= 1 + 1e-9
    # cumulative incidences and survival add up to one at every time
    total = cr.cif.sum(axis=0) + cr.surv
    np.testing.assert_allclose(total, 1.0, atol=1e-9)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        aalen_johansen([1, 2], [1])
    with pytest.raises(ValueError, match="unknown event code 7"):
        aalen_johansen([1, 2], [1, 7])
    with pytest.raises(ValueError, match=">= 0"):
        aalen_johansen([-1, 2], [1, 1])


def test_expected_wins_from_the_hazard_add_up_to_the_observed():
    # Nelson-Aalen: summed over every deal's exit age, the win hazard is the wins seen
    rng = np.random.default_rng(3)
    t = rng.integers(1, 200, 500).astype(float)
    e = rng.choice([0, 1, 2], 500)
    cr = aalen_johansen(t, e)
    assert cr.hazard(t).sum() == pytest.approx((e == 1).sum())


def test_delayed_entry_hand_worked():
    """A deal created before the CRM recorded any close is seen only from then on."""
    # A won at 10; B entered at 12 (it had survived to 12), lost at 20; C censored at 15;
    # D entered at 5, won at 30.
    cr = aalen_johansen([10, 20, 15, 30], [1, 2, 0, 1], entry=[0, 12, 0, 5])
    assert cr.incidence(10) == pytest.approx(1 / 3)  # 3 at risk at 10 (B not yet)
    assert cr.survival(10) == pytest.approx(2 / 3)
    assert cr.incidence(20, cause=2) == pytest.approx(1 / 3)  # 2 at risk: B and D
    assert cr.incidence(30) == pytest.approx(2 / 3)
    assert cr.hazard(30) == pytest.approx(1 / 3 + 1)
    # without delayed entry B would count as at risk from 0: a different answer
    assert aalen_johansen([10, 20, 15, 30], [1, 2, 0, 1]).incidence(10) == pytest.approx(0.25)


def test_delayed_entry_recovers_what_truncation_hides():
    """Deals that closed before the record starts are missing from the data; the
    survivors, entered when the record starts, give back the full cohort's curve."""
    rng = np.random.default_rng(5)
    n = 20000
    created = rng.uniform(0, 300, n)
    life = rng.exponential(60.0, n)
    won = rng.random(n) < 0.4
    close = created + life
    start = 150.0  # no close is recorded before day 150
    keep = close >= start
    entry = np.maximum(start - created[keep], 0.0)
    cr = aalen_johansen(life[keep], np.where(won[keep], 1, 2), entry=entry)
    truth = 0.4 * (1 - np.exp(-np.array([30.0, 60.0, 120.0]) / 60.0))
    np.testing.assert_allclose(cr.incidence([30.0, 60.0, 120.0]), truth, atol=0.02)
    naive = aalen_johansen(life[keep], np.where(won[keep], 1, 2))
    assert abs(naive.incidence(30.0) - truth[0]) > 0.03  # ignoring it is visibly wrong


def test_bad_entry_is_refused():
    with pytest.raises(ValueError, match="at most the duration"):
        aalen_johansen([5, 10], [1, 2], entry=[6, 0])

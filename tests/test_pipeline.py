"""Calibration: periods, shrinkage, point-in-time honesty, slippage, ramp."""

import numpy as np
import pandas as pd
import pytest

from simlib.periods import parse_period
from simlib.pipeline import (
    as_known_on,
    beta_binomial_shrink,
    calibrate,
    count_cdf,
    estimate_strength,
    stable_key,
)


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("2026-Q3", "2026-07-01", "2026-09-30"),
        ("2026-q1", "2026-01-01", "2026-03-31"),
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2025", "2025-01-01", "2025-12-31"),
        ("2026-07-15..2026-08-14", "2026-07-15", "2026-08-14"),
    ],
)
def test_parse_period(text, start, end):
    w = parse_period(text)
    assert (w.start, w.end) == (pd.Timestamp(start), pd.Timestamp(end))


@pytest.mark.parametrize("bad", ["2026-Q5", "Q3", "2026/07", "", "2026-08-01..2026-07-01"])
def test_parse_period_rejects_with_the_accepted_forms(bad):
    with pytest.raises(ValueError, match="2026-Q3|ends before"):
        parse_period(bad)


def test_thin_segments_are_shrunk_toward_the_parent():
    # 3 deals, all won: not 100%; 300 deals at 60%: stays near 60%.
    rate = beta_binomial_shrink([3, 180], [3, 300], [0.3, 0.3], strength=20)
    assert 0.3 < rate[0] < 0.5
    assert 0.55 < rate[1] < 0.6
    # zero wins in 3 deals is not 0%
    assert beta_binomial_shrink([0], [3], [0.3], strength=20)[0] > 0.2


def test_strength_reflects_between_group_spread():
    rng = np.random.default_rng(1)
    n = np.full(40, 200)
    same = rng.binomial(n, 0.3)
    spread = rng.binomial(n, rng.uniform(0.05, 0.8, size=40))
    assert estimate_strength(same, n, np.full(40, 0.3)) > 100
    assert estimate_strength(spread, n, np.full(40, 0.3)) < 20


def test_stable_key_is_stable_across_processes():
    # blake2b of the text, not Python's salted hash(): fixed values.
    k = stable_key(["OPP-000001", "OPP-000002"])
    assert k.dtype == np.uint64
    assert k[0] != k[1]
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from simlib.pipeline import stable_key; print(int(stable_key(['OPP-000001'])[0]))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert int(out) == int(k[0])


def test_count_cdf_is_a_valid_table_with_the_right_mean():
    cdf = count_cdf(np.array([0.0, 2.0, 10.0]), np.inf)
    assert (np.diff(cdf, axis=1) >= 0).all() and (cdf[:, -1] == 1).all()
    pmf = np.diff(np.concatenate([np.zeros((3, 1)), cdf], axis=1), axis=1)
    assert np.allclose(pmf @ np.arange(cdf.shape[1]), [0, 2, 10], atol=1e-6)
    nb = count_cdf(np.array([10.0]), 2.0)  # variance 10 + 100/2 = 60
    pmf = np.diff(np.concatenate([[0.0], nb[0]]))
    k = np.arange(len(pmf))
    assert abs(pmf @ k - 10) < 1e-6 and abs(pmf @ k**2 - (pmf @ k) ** 2 - 60) < 1e-3


@pytest.fixture(scope="module")
def cal_q3(demo):
    return calibrate(demo, "2026-Q3")


def test_calibration_uses_nothing_from_after_as_of(demo):
    """Calibrating the full data as of T equals calibrating the data as it was on T."""
    T = "2025-06-30"
    full = calibrate(demo, "2025-Q3", T)
    past = calibrate(as_known_on(demo, T), "2025-Q3", T)
    pd.testing.assert_frame_equal(full.deals, past.deals)
    pd.testing.assert_frame_equal(full.reps, past.reps)
    pd.testing.assert_frame_equal(full.timing, past.timing)
    pd.testing.assert_frame_equal(full.win_rates, past.win_rates)


def test_as_known_on_removes_the_future(demo):
    past = as_known_on(demo, "2025-06-30")
    T = pd.Timestamp("2025-06-30")
    assert past.stage_history["changed_date"].max() <= T
    assert past.opportunities["created_date"].max() <= T
    assert (past.opportunities["close_date"].dropna() <= T).all()
    # a deal won after T shows as open on T
    later = demo.opportunities[
        (demo.opportunities["close_date"] > T) & (demo.opportunities["created_date"] <= T)
    ]
    assert len(later) > 0
    ids = set(later["opportunity_id"])
    assert (
        past.opportunities[past.opportunities["opportunity_id"].isin(ids)]["stage"]
        .isin(["qualification", "discovery", "proposal", "negotiation"])
        .all()
    )


def test_probabilities_are_probabilities_and_rise_with_stage(cal_q3):
    d = cal_q3.deals
    assert d["p"].between(0, 1).all()
    by_stage = d.groupby("stage")["p_win"].mean()
    assert (
        by_stage["qualification"]
        < by_stage["discovery"]
        < by_stage["proposal"]
        < by_stage["negotiation"]
    )


def test_a_deal_that_slipped_is_more_likely_to_slip_again(cal_q3):
    t = cal_q3.timing
    inside = t[t["exp_bucket"] == "inside"].pivot(index="stage", columns="slipped", values="rate")
    # expected inside the window: slipped deals close in it less often, at every early stage
    for stage in ("qualification", "discovery", "proposal"):
        assert inside.loc[stage, True] < inside.loc[stage, False]


def test_new_hires_ramp(demo, cal_q3):
    reps = cal_q3.reps.merge(demo.reps[["rep_id", "hire_date"]], on="rep_id")
    new = reps[reps["hire_date"] > cal_q3.as_of - pd.Timedelta(days=120)]
    assert len(new) >= 1
    tenured = reps[reps["hire_date"] < cal_q3.as_of - pd.Timedelta(days=720)]
    assert new["expected_new"].mean() < tenured["expected_new"].mean()


def test_as_of_after_data_is_an_error(demo):
    end = pd.Timestamp(demo.as_of)
    late = end + pd.Timedelta(days=8)
    with pytest.raises(ValueError, match=r"8 days after the data's last day") as err:
        calibrate(demo, "2027-Q1", late)
    assert f"latest as-of it can answer is {(end + pd.Timedelta(days=7)).date()}" in str(err.value)
    assert "end of that day" in str(err.value)


def test_as_of_is_the_end_of_the_day_and_the_morning_after_is_answered(demo):
    """A deal created on the as-of day is known that day; the day after the data's last
    day (an export taken that morning) is answered, not refused."""
    end = pd.Timestamp(demo.as_of)
    cal = calibrate(demo, "2027-Q1", end + pd.Timedelta(days=1))
    assert cal.as_of == end + pd.Timedelta(days=1)
    opp = demo.opportunities
    day = opp["created_date"].max()
    made_that_day = opp.loc[(opp["created_date"] == day) & ~opp["stage"].isin(["won", "lost"])]
    seen = calibrate(demo, "2027-Q1", day).deals["opportunity_id"]
    assert set(made_that_day["opportunity_id"]) <= set(seen)
    with pytest.raises(ValueError, match="after the window"):
        calibrate(demo, "2025-Q1", "2025-06-01")

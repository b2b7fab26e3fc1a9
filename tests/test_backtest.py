"""Backtest: scores computed right, and the forecast beats the CRM's weighted pipeline."""

import numpy as np
import pytest

from simlib.backtest import backtest, crps_from_samples, pinball, summarise_backtest
from simlib.simulate import market_factor


def test_pinball_hand_worked():
    # under-forecast by 10 at tau 0.9 costs 9; over-forecast by 10 costs 1
    assert pinball(110, 100, 0.9) == pytest.approx(9.0)
    assert pinball(90, 100, 0.9) == pytest.approx(1.0)


def test_crps_matches_the_direct_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = np.array([0.0, 1.0, -2.0])
    direct = np.abs(x - y).mean(axis=0) - 0.5 * np.abs(x[:, None, :] - x[None, :, :]).mean(
        axis=(0, 1)
    )
    assert np.allclose(crps_from_samples(x, y), direct)


def test_market_factor_is_reproducible_with_mean_one():
    a = market_factor(5, 0, 100_000, 0.2)
    b = np.concatenate([market_factor(5, 0, 40_000, 0.2), market_factor(5, 40_000, 60_000, 0.2)])
    assert np.array_equal(a, b)
    assert abs(a.mean() - 1) < 4 * a.std() / np.sqrt(a.size)
    assert np.std(np.log(a)) == pytest.approx(0.2, rel=0.02)


def test_backtest_on_the_demo_company(demo):
    bt = backtest(demo, ["2025-12-31", "2026-03-31"], "quarter", n_trials=1_000, seed=1)
    s = summarise_backtest(bt).set_index("level")
    assert list(s.index) == ["company", "region", "team", "rep"]
    # actuals are the won amounts that closed in the window
    opp = demo.opportunities
    q1 = opp[
        (opp["stage"] == "won")
        & (opp["close_date"] >= "2026-01-01")
        & (opp["close_date"] <= "2026-03-31")
    ]
    row = bt[(bt["level"] == "company") & (bt["window"] == "2026-Q1")].iloc[0]
    assert row["actual"] == pytest.approx(q1["amount"].sum())
    assert (bt["p10"] <= bt["p50"]).all() and (bt["p50"] <= bt["p90"]).all()
    # the model's median is closer to what happened than the CRM's weighted pipeline
    assert s.loc["team", "mae_p50"] < s.loc["team", "mae_crm"]
    assert abs(s.loc["company", "bias"]) < 0.15


def test_backtest_refuses_windows_past_the_data(demo):
    with pytest.raises(ValueError, match="runs past the end of the data"):
        backtest(demo, ["2026-10-31"], "quarter", n_trials=100)


def test_an_export_without_stage_history_still_forecasts_sensibly(demo, tmp_path):
    """A plain opportunity report (no history, no reps, no targets) takes the fallback."""
    from simlib.data import load_data

    demo.opportunities.to_csv(tmp_path / "opportunities.csv", index=False, date_format="%Y-%m-%d")
    (tmp_path / "only_opps.yaml").write_text(
        "name: only_opps\ntables:\n  opportunities: {source: opportunities.csv}\n", encoding="utf-8"
    )
    data = load_data(tmp_path, tmp_path / "only_opps.yaml")
    assert "stage_history" in data.derived
    bt = backtest(data, ["2025-12-31", "2026-03-31"], "quarter", n_trials=1_000, seed=2)
    company = bt[bt["level"] == "company"]
    # without history the model is coarser, but not lost: within 25% of what happened
    err = (company["mean"] - company["actual"]).abs() / company["actual"]
    assert (err < 0.25).all(), company[["as_of", "mean", "actual"]]
    assert bt["mean"].notna().all()

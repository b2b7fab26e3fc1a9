"""Pipeline attainment simulation: exact oracle, reproducibility, roll-up, Dask, CLI."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from simlib.engine import DealBook, NewPipeline, simulate_bookings
from simlib.pipeline import calibrate, count_cdf
from simlib.simulate import build_model, exact_bookings, rollup, simulate

Z = 4.5  # |z| bound for Monte Carlo vs exact: a false alarm about once in 150,000 checks


def _toy(rng, n_deals=40, unit=10_000):
    amount = rng.integers(1, 60, n_deals) * unit * 1.0
    p = rng.uniform(0.05, 0.9, n_deals)
    pool = rng.integers(1, 40, 25) * unit * 1.0
    return amount, p, pool


def test_exact_oracle_on_a_hand_worked_case():
    # two deals: 100 w.p. 0.5, 200 w.p. 0.25 → 0: .375, 100: .375, 200: .125, 300: .125
    grid, pmf = exact_bookings([100, 200], [0.5, 0.25], bucket=100)
    assert np.allclose(grid, [0, 100, 200, 300])
    assert np.allclose(pmf, [0.375, 0.375, 0.125, 0.125], atol=1e-12)


def test_exact_oracle_with_new_pipeline_matches_the_mean_and_variance():
    rng = np.random.default_rng(3)
    amount, p, pool = _toy(rng)
    cdf = count_cdf(np.array([3.0]), np.inf)[0]
    npmf = np.diff(np.concatenate([[0.0], cdf]))
    grid, pmf = exact_bookings(
        amount, p, new_count_pmf=npmf, new_p=0.3, size_pool=pool, bucket=10_000
    )
    mean = (grid * pmf).sum()
    # E = Σ a p + E[N] q E[size]; Var = Σ a² p (1-p) + Var of a compound Poisson(λ q)
    lam_q = 3.0 * 0.3
    want_mean = (amount * p).sum() + lam_q * pool.mean()
    want_var = (amount**2 * p * (1 - p)).sum() + lam_q * (pool**2).mean()
    assert mean == pytest.approx(want_mean, rel=1e-9)
    assert ((grid - mean) ** 2 * pmf).sum() == pytest.approx(want_var, rel=1e-9)


@pytest.mark.parametrize("method", ["fast", "generator"])
def test_monte_carlo_agrees_with_the_exact_distribution(method):
    rng = np.random.default_rng(7)
    amount, p, pool = _toy(rng)
    R = 1
    cdf = count_cdf(np.array([3.0]), np.inf)
    deals = DealBook(
        amount=amount,
        p=p,
        rep=np.zeros(len(p), np.int32),
        key=np.arange(len(p), dtype=np.uint64) + 1000,
        n_reps=R,
    )
    new = NewPipeline(
        count_cdf=cdf,
        new_p=np.array([0.3]),
        size_pool=pool,
        size_offsets=np.array([0, len(pool)], dtype=np.int64),
    )
    n = 200_000
    x = simulate_bookings(deals, new, n, seed=11, method=method)[:, 0]
    grid, pmf = exact_bookings(
        amount,
        p,
        new_count_pmf=np.diff(np.concatenate([[0.0], cdf[0]])),
        new_p=0.3,
        size_pool=pool,
        bucket=10_000,
    )
    mean = (grid * pmf).sum()
    sd = np.sqrt(((grid - mean) ** 2 * pmf).sum())
    assert abs(x.mean() - mean) / (sd / np.sqrt(n)) < Z
    # P(X >= q) at several quantiles of the exact distribution
    cdf_exact = np.cumsum(pmf)
    for target in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        q = grid[np.searchsorted(cdf_exact, target)]
        p_exact = pmf[grid >= q].sum()
        p_mc = (x >= q - 1e-6).mean()
        se = np.sqrt(p_exact * (1 - p_exact) / n)
        assert abs(p_mc - p_exact) / se < Z, (target, p_mc, p_exact)


@pytest.fixture(scope="module")
def cal(demo):
    return calibrate(demo, "2026-Q3")


def test_model_expected_matches_simulation_mean(demo, cal):
    model = build_model(cal)
    res = simulate(demo, calibration=cal, n_trials=20_000, seed=5)
    sd = res.trials.std(axis=0) / np.sqrt(res.n_trials)
    z = (res.trials.mean(axis=0) - model.expected()) / np.where(sd > 0, sd, 1)
    assert np.abs(z).max() < Z


def test_same_seed_same_trials_whatever_threads_and_chunks(demo, cal):
    a = simulate(demo, calibration=cal, n_trials=5_000, seed=42, threads=1, chunk_trials=5_000)
    b = simulate(demo, calibration=cal, n_trials=5_000, seed=42, threads=2, chunk_trials=1_234)
    assert np.array_equal(a.trials, b.trials)
    c = simulate(demo, calibration=cal, n_trials=5_000, seed=43)
    assert not np.array_equal(a.trials, c.trials)


@pytest.mark.parametrize("shock", [0.0, 0.25])
def test_streamed_summary_is_the_kept_one_to_the_last_bit(demo, cal, shock):
    cal = dataclasses.replace(cal, market_shock=shock)
    kept = simulate(demo, calibration=cal, n_trials=3_001, seed=4)
    for chunk in (3_001, 700):
        streamed = simulate(
            demo, calibration=cal, n_trials=3_001, seed=4, chunk_trials=chunk, keep_trials=False
        )
        assert streamed.trials is None and streamed.n_trials == 3_001
        assert streamed.summary.to_json() == kept.summary.to_json()
    with pytest.raises(ValueError, match="kept no trials .* keep_trials=True"):
        streamed.node_trials(kept.rep_ids[0])


@pytest.mark.parametrize("rollup_bytes", [64 * 2**20, 0])  # all at once; streamed over chunks
def test_summary_is_summarise_of_the_rolled_up_trials(demo, cal, monkeypatch, rollup_bytes):
    import simlib.simulate as sim
    from simlib.engine import summarise

    monkeypatch.setattr(sim, "ROLLUP_BYTES", rollup_bytes)
    res = simulate(demo, calibration=cal, n_trials=2_003, seed=6, chunk_trials=500)
    per_node = rollup(res.trials, res.nodes, res.rep_ids)
    quota = res.nodes["node_id"].map(res.summary.set_index("node_id")["quota"]).to_numpy()
    want = summarise(per_node, quota=np.nan_to_num(quota), fractions=(0.8, 1.0, 1.2))
    got = res.summary.set_index("node_id").loc[list(res.nodes["node_id"])]
    for key, col in (("mean", "mean"), ("p10", "p10"), ("p50", "p50"), ("p90", "p90")):
        assert np.array_equal(got[col].to_numpy(), want[key]), key
    has = np.isfinite(quota)
    assert np.array_equal(got["p_attain"].to_numpy()[has], want["p_ge_1"][has])


def test_rollup_sums_reps_to_teams_regions_company(demo, cal):
    res = simulate(demo, calibration=cal, n_trials=2_000, seed=1)
    per_node = rollup(res.trials, res.nodes, res.rep_ids)
    ids = list(res.nodes["node_id"])
    company = per_node[:, ids.index("CO")]
    assert np.allclose(company, res.trials.sum(axis=1), rtol=1e-12)
    for team in res.nodes.loc[res.nodes["level"] == "team", "node_id"]:
        members = [
            i
            for i, r in enumerate(res.rep_ids)
            if demo.reps.set_index("rep_id").loc[r, "team_id"] == team
        ]
        assert np.allclose(
            per_node[:, ids.index(team)], res.trials[:, members].sum(axis=1), rtol=1e-12
        )
    # the summary's P(≥ quota) is the share of trials at or above the node's quota
    s = res.summary.set_index("node_id")
    q = s.loc["CO", "quota"]
    assert s.loc["CO", "p_attain"] == pytest.approx((company >= q).mean())
    assert set(s["level"]) == {"company", "region", "team", "rep"}


def test_interrupt_returns_the_finished_trials(demo, cal, monkeypatch):
    import simlib.simulate as sim

    real = sim.simulate_bookings
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "simulate_bookings", flaky)
    res = simulate(demo, calibration=cal, n_trials=10_000, seed=1, chunk_trials=1_000)
    assert res.n_trials == 2_000 and res.trials.shape[0] == 2_000
    full = simulate(demo, calibration=cal, n_trials=2_000, seed=1, chunk_trials=2_000)
    monkeypatch.setattr(sim, "simulate_bookings", real)
    assert np.array_equal(res.trials, full.trials)


@pytest.mark.slow  # a Dask cluster, ~10 s
def test_dask_cluster_gives_bit_identical_results(demo, cal):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = simulate(
            demo, calibration=cal, n_trials=6_000, seed=9, chunk_trials=1_500, client=client
        )
        streamed = simulate(
            demo,
            calibration=cal,
            n_trials=6_000,
            seed=9,
            chunk_trials=1_500,
            client=client,
            keep_trials=False,
        )
    local = simulate(demo, calibration=cal, n_trials=6_000, seed=9)
    assert np.array_equal(remote.trials, local.trials)
    pd.testing.assert_frame_equal(remote.summary, local.summary)
    assert streamed.summary.to_json() == local.summary.to_json()


def test_bad_arguments_say_what_is_wrong(demo, cal):
    with pytest.raises(ValueError, match="seed must be a non-negative integer; got -1"):
        simulate(demo, calibration=cal, seed=-1)
    with pytest.raises(ValueError, match="n_trials must be a positive integer; got 0"):
        simulate(demo, calibration=cal, n_trials=0)


def test_cli_simulate_json(capsys):
    from simlib.cli import main

    rc = main(
        [
            "simulate",
            "--period",
            "2026-Q3",
            "--trials",
            "2000",
            "--seed",
            "3",
            "--json",
            "--level",
            "all",
        ]
    )
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    company = [r for r in rows if r["level"] == "company"][0]
    for field in ("mean", "p10", "p50", "p90", "p_attain", "p_ge_80", "p_ge_120", "quota"):
        assert field in company
    assert company["p10"] <= company["p50"] <= company["p90"]
    assert {r["level"] for r in rows} == {"company", "region", "team", "rep"}


def test_cli_simulate_streams_big_runs_and_prints_the_same(capsys, monkeypatch):
    import simlib.simulate as sim
    from simlib.cli import forecast, main

    argv = ["simulate", "--period", "2026-Q3", "--trials", "1500", "--json", "--level", "all"]
    assert main(argv) == 0
    kept = capsys.readouterr().out
    monkeypatch.setattr(forecast, "KEEP_TRIALS_BYTES", 0)  # every run counts as big
    calls = []
    original = sim.simulate

    def spy(*args, **kwargs):
        calls.append(kwargs["keep_trials"])
        return original(*args, **kwargs)

    monkeypatch.setattr(sim, "simulate", spy)
    assert main(argv) == 0
    assert calls == [False]
    assert capsys.readouterr().out == kept


def test_cli_simulate_bad_period_is_a_message(capsys):
    from simlib.cli import main

    assert main(["simulate", "--period", "2026-Q7"]) == 2
    err = capsys.readouterr().err
    assert "period must look like 2026, 2026-Q3" in err and "Traceback" not in err


def test_a_run_that_cannot_fit_in_memory_is_refused_before_allocating(monkeypatch):
    import simlib.simulate as sim

    monkeypatch.setattr(sim, "available_memory", lambda: 4 * 2**30)
    with pytest.raises(ValueError, match=r"1,000,000,000 trials × 60 reps need about .* GiB"):
        sim.check_memory(1_000_000_000, 60, 74)
    sim.check_memory(10_000, 60, 74)  # a normal run passes

"""Monte Carlo bookings kernel: reproducibility, hash quality, law of the draws, summary.

Every statistical test uses fixed seeds, so it is deterministic; each states the
tolerance it applies. "z < 4" means the deviation is under four standard errors: a
correct kernel fails such a check with probability about 6e-5 per comparison.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simlib import engine as E

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


def make_book(n_deals=120, n_reps=6, seed=0, edge_cases=True):
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(8.0, 1.0, n_deals), 2)
    p = rng.beta(2.0, 3.0, n_deals)
    rep = rng.integers(0, n_reps - 1, n_deals)  # the last rep has no open deals
    if edge_cases:
        p[:3] = [0.0, 1.0, 1.0]
        amount[3] = 0.0
    key = rng.permutation(1_000_000)[:n_deals]
    deals = E.DealBook(amount, p, rep, key, n_reps)
    pools = [rng.lognormal(7.5, 0.7, rng.integers(1, 30)) for _ in range(n_reps)]
    pools[1] = np.array([])  # a rep without history books no new deals
    new_p = rng.uniform(0.2, 0.9, n_reps)
    new_p[2], new_p[3] = 0.0, 1.0
    new = E.NewPipeline.poisson(rng.uniform(0.5, 6.0, n_reps), new_p, pools)
    return deals, new


@pytest.fixture(scope="module")
def book():
    return make_book()


# --------------------------------------------------------------------------------------
# Validation: each bad argument gets a message naming it
# --------------------------------------------------------------------------------------

GOOD = dict(amount=[1.0, 2.0], p=[0.5, 0.5], rep=[0, 1], key=[10, 11], n_reps=2)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            dict(p=[0.5, 1.5]),
            r"`p` parameter of `DealBook` must lie in \[0, 1\]. Got 1.5 at index 1 instead",
        ),
        (dict(p=[0.5, np.nan]), r"`p` parameter of `DealBook` must be finite"),
        (dict(amount=[1.0, -2.0]), r"`amount` parameter of `DealBook` must be >= 0. Got -2.0"),
        (dict(amount=[1.0, np.inf]), r"`amount` parameter of `DealBook` must be finite"),
        (dict(rep=[0, 2]), r"`rep` parameter of `DealBook` must lie in \[0, n_reps=2\)"),
        (dict(rep=[0.0, 1.0]), r"`rep` parameter of `DealBook` must hold integers"),
        (dict(p=[0.5]), r"`p` parameter of `DealBook` must have the length of `amount` \(2\)"),
        (dict(amount=[[1.0, 2.0]]), r"`amount` parameter of `DealBook` must be a 1-D array"),
        (
            dict(key=[10, 10]),
            r"`key` parameter of `DealBook` must hold distinct values. Got duplicate 10",
        ),
        (dict(key=[-1, 3]), r"`key` parameter of `DealBook` must be non-negative"),
        (dict(n_reps=0), r"`n_reps` parameter of `DealBook` must be an int >= 1"),
    ],
)
def test_dealbook_rejects_bad_arguments_by_name(change, message):
    with pytest.raises(ValueError, match=message):
        E.DealBook(**{**GOOD, **change})


def test_dealbook_copies_inputs_and_is_read_only():
    amount = np.array([1.0, 2.0])
    deals = E.DealBook(amount, [0.5, 0.5], [0, 1], None, 2)
    amount[0] = 99.0
    assert deals.amount[0] == 1.0
    assert not deals.amount.flags.writeable
    assert deals.key.tolist() == [0, 1]
    assert "DealBook(n_deals=2, n_reps=2" in repr(deals)


NEW_GOOD = dict(
    count_cdf=[[0.5, 1.0], [0.2, 1.0]],
    new_p=[0.5, 0.5],
    size_pool=[1.0, 2.0],
    size_offsets=[0, 1, 2],
)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            dict(count_cdf=[[0.6, 0.5, 1.0], [0.2, 0.3, 1.0]]),
            r"`count_cdf` .* must be non-decreasing",
        ),
        (
            dict(count_cdf=[[0.5, 0.9], [0.2, 1.0]]),
            r"`count_cdf` .* must end each row with 1.0. Got 0.9",
        ),
        (dict(count_cdf=[[-0.1, 1.0], [0.2, 1.0]]), r"`count_cdf` .* must lie in \[0, 1\]"),
        (dict(count_cdf=[0.5, 1.0]), r"`count_cdf` .* must be a 2-D array"),
        (dict(new_p=[0.5]), r"`new_p` .* must have one entry per rep \(2\)"),
        (dict(new_p=[0.5, 2.0]), r"`new_p` .* must lie in \[0, 1\]"),
        (dict(size_pool=[1.0, -2.0]), r"`size_pool` .* must be >= 0"),
        (dict(size_offsets=[0, 1]), r"`size_offsets` .* must have length R \+ 1 = 3"),
        (
            dict(size_offsets=[0, 2, 1]),
            r"`size_offsets` .* must start at 0, never decrease and end",
        ),
        (dict(size_offsets=[0, 1, 3]), r"`size_offsets` .* end at len\(size_pool\) = 2"),
    ],
)
def test_new_pipeline_rejects_bad_arguments_by_name(change, message):
    with pytest.raises(ValueError, match=message):
        E.NewPipeline(**{**NEW_GOOD, **change})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(seed=-1),
            r"`seed` parameter of `simulate_bookings` must be an int in \[0, 2\*\*63\). Got -1",
        ),
        (dict(seed=2**63), r"`seed` .* Got 9223372036854775808"),
        (dict(seed=1.5), r"`seed` .* Got 1.5"),
        (dict(seed=True), r"`seed` .* Got True"),
        (dict(seed=None), r"`seed` .* Got None"),
        (dict(n_trials=-3), r"`n_trials` parameter of `simulate_bookings` must be an int >= 0"),
        (dict(trial_start=-1), r"`trial_start` .* must be an int >= 0"),
        (dict(method="numpy"), r"`method` .* must be one of \('fast', 'reference', 'generator'\)"),
        (dict(threads=0), r"`threads` .* must be an int \[1, "),
        (
            dict(out=np.empty((5, 3))),
            r"`out` .* must be a writable C-contiguous float64 or float32 array of shape \(5, 2\)",
        ),
        (dict(out=np.empty((5, 2), np.int64)), r"`out` .* float64 or float32"),
        (dict(dtype=np.int32), r"`dtype` .* must be numpy.float64 or numpy.float32"),
        (dict(out=np.empty((2, 5)).T), r"`out` .* C-contiguous"),
    ],
)
def test_simulate_rejects_bad_arguments_by_name(kwargs, message):
    deals = E.DealBook(**GOOD)
    args = dict(deals=deals, new=None, n_trials=5, seed=1)
    with pytest.raises(ValueError, match=message):
        E.simulate_bookings(**{**args, **kwargs})


def test_simulate_rejects_pipeline_for_other_reps():
    deals = E.DealBook(**GOOD)
    new = E.NewPipeline.poisson([1.0, 1.0, 1.0], [0.5] * 3, [[1.0]] * 3)
    with pytest.raises(
        ValueError, match=r"`new` .* must cover the same reps as `deals` \(n_reps=2\)"
    ):
        E.simulate_bookings(deals, new, 5, 1)


# --------------------------------------------------------------------------------------
# Known answers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", E.METHODS)
def test_certain_and_impossible_deals_book_exactly(method):
    deals = E.DealBook([10.0, 20.0, 40.0, 7.0], [1.0, 1.0, 0.0, 1.0], [0, 0, 1, 2], None, 3)
    got = E.simulate_bookings(deals, None, 50, 3, method=method)
    assert np.array_equal(got, np.tile([30.0, 0.0, 7.0], (50, 1)))


@pytest.mark.parametrize("method", E.METHODS)
def test_certain_new_deals_book_count_times_size(method):
    # N = 3 always, every new deal won, one possible size: bookings = 3 x 5 exactly.
    new = E.NewPipeline([[0, 0, 0, 1.0]], [1.0], [5.0], [0, 1])
    deals = E.DealBook([], [], [], None, 1)
    got = E.simulate_bookings(deals, new, 40, 9, method=method)
    assert np.array_equal(got, np.full((40, 1), 15.0))


def test_moments_by_hand():
    # One deal: mean 10 x 0.3 = 3, variance 100 x 0.3 x 0.7 = 21.
    # New: N in {0, 1, 2} w.p. 0.2, 0.5, 0.3; q = 0.5; sizes {2, 4}.
    # E[N] = 1.1, Var N = 1.7 - 1.21 = 0.49; M | N ~ Bin(N, q): E[M] = 0.55,
    # Var M = q(1-q) E[N] + q^2 Var N = 0.3975; E[S] = 3, Var S = 1.
    deals = E.DealBook([10.0], [0.3], [0], None, 1)
    new = E.NewPipeline([[0.2, 0.7, 1.0]], [0.5], [2.0, 4.0], [0, 2])
    mean, var = E.bookings_moments(deals, new)
    assert mean == pytest.approx([3.0 + 0.55 * 3.0], rel=1e-12)
    assert var == pytest.approx([21.0 + 0.55 * 1.0 + 0.3975 * 9.0], rel=1e-12)


def test_poisson_count_cdf_matches_scipy_and_ends_at_one():
    table = E.poisson_count_cdf([0.0, 1.0, 5.0, 30.0])
    assert np.all(table[:, -1] == 1.0)
    k = np.arange(table.shape[1] - 1)
    expected = stats.poisson.cdf(k[None, :], np.array([0.0, 1.0, 5.0, 30.0])[:, None])
    np.testing.assert_allclose(table[:, :-1], expected, rtol=0, atol=1e-12)
    assert stats.poisson.sf(table.shape[1] - 1, 30.0) <= 1e-12


# --------------------------------------------------------------------------------------
# Reproducibility: bit-identical across paths, threads, chunks and processes
# --------------------------------------------------------------------------------------


def test_fast_equals_reference_bit_for_bit(book):
    deals, new = book
    for pipeline in (None, new):
        fast = E.simulate_bookings(deals, pipeline, 1500, 11)
        ref = E.simulate_bookings(deals, pipeline, 1500, 11, method="reference")
        assert np.array_equal(fast, ref)


def test_more_reps_than_one_output_tile_holds():
    # 1,100 reps: three tiles of at most 512 reps per block of trials, the last one short.
    rng = np.random.default_rng(3)
    n_reps = 1100
    deals = E.DealBook(
        amount=rng.lognormal(8, 1, 3000),
        p=rng.uniform(0, 1, 3000),
        rep=rng.integers(0, n_reps, 3000),
        key=None,
        n_reps=n_reps,
    )
    new = E.NewPipeline.poisson(
        np.full(n_reps, 2.0), np.full(n_reps, 0.3), [[100.0, 250.0]] * n_reps
    )
    fast = E.simulate_bookings(deals, new, 300, 4)
    assert np.array_equal(fast, E.simulate_bookings(deals, new, 300, 4, method="reference"))


@pytest.mark.parametrize("method", ["fast", "reference"])
def test_float32_result_is_the_float64_one_rounded_once(book, method):
    deals, new = book
    wide = E.simulate_bookings(deals, new, 1000, 8, method=method)
    narrow = E.simulate_bookings(deals, new, 1000, 8, method=method, dtype=np.float32)
    assert narrow.dtype == np.float32
    assert np.array_equal(narrow, wide.astype(np.float32))
    buffer = np.empty((1000, deals.n_reps), np.float32)
    assert E.simulate_bookings(deals, new, 1000, 8, out=buffer) is buffer
    assert np.array_equal(buffer, narrow)


def test_result_does_not_depend_on_threads(book):
    deals, new = book
    before = numba.get_num_threads()
    one = E.simulate_bookings(deals, new, 2000, 5, threads=1)
    assert numba.get_num_threads() == before  # the context restores the setting
    two = E.simulate_bookings(deals, new, 2000, 5, threads=min(2, numba.config.NUMBA_NUM_THREADS))
    assert np.array_equal(one, two)


@pytest.mark.parametrize("cuts", [(0, 5000, 10000), (0, 1, 513, 1700, 10000), (0, 9999, 10000)])
def test_any_split_of_trials_stacks_to_the_same_result(book, cuts):
    deals, new = book
    whole = E.simulate_bookings(deals, new, 10000, 21)
    parts = [
        E.simulate_bookings(deals, new, stop - start, 21, trial_start=start)
        for start, stop in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    assert np.array_equal(whole, np.vstack(parts))


def test_far_trial_numbers_and_large_seeds_agree_across_paths(book):
    deals, new = book
    kwargs = dict(trial_start=2**40 + 7, seed=2**63 - 1)
    fast = E.simulate_bookings(deals, new, 700, **kwargs)
    assert np.array_equal(fast, E.simulate_bookings(deals, new, 700, method="reference", **kwargs))


def test_a_deal_keeps_its_draws_when_others_change(book):
    deals, _ = book
    base = E.simulate_bookings(deals, None, 3000, 8)
    # Drop every deal of rep 0 and re-order the rest: the other reps are untouched
    # because each deal's stream is keyed by its own id, not by its position.
    keep = np.flatnonzero(deals.rep != 0)[::-1]
    fewer = E.DealBook(
        deals.amount[keep], deals.p[keep], deals.rep[keep], deals.key[keep], deals.n_reps
    )
    after = E.simulate_bookings(fewer, None, 3000, 8)
    assert np.all(after[:, 0] == 0.0)
    # Re-ordering changes the order of the additions; sums agree to rounding.
    np.testing.assert_allclose(after[:, 1:], base[:, 1:], rtol=1e-13, atol=0)


def test_out_buffer_is_filled_and_returned(book):
    deals, new = book
    out = np.full((300, deals.n_reps), np.nan)
    got = E.simulate_bookings(deals, new, 300, 4, out=out)
    assert got is out
    assert np.array_equal(out, E.simulate_bookings(deals, new, 300, 4))


def test_seeds_give_different_results(book):
    deals, new = book
    a = E.simulate_bookings(deals, new, 500, 1)
    b = E.simulate_bookings(deals, new, 500, 2)
    assert not np.array_equal(a, b)


@given(
    n_deals=st.integers(0, 40),
    n_reps=st.integers(1, 5),
    seed=st.integers(0, 2**63 - 1),
    trial_start=st.integers(0, 2**62),
    n_trials=st.integers(1, 700),
    data_seed=st.integers(0, 2**32),
)
@settings(max_examples=25, deadline=None)
def test_property_fast_equals_reference(n_deals, n_reps, seed, trial_start, n_trials, data_seed):
    rng = np.random.default_rng(data_seed)
    deals = E.DealBook(
        rng.exponential(100.0, n_deals),
        rng.choice([0.0, 0.01, 0.5, 0.999, 1.0], n_deals),
        rng.integers(0, n_reps, n_deals),
        rng.choice(2**62, n_deals, replace=False),
        n_reps,
    )
    pools = [rng.exponential(50.0, rng.integers(0, 5)) for _ in range(n_reps)]
    new = E.NewPipeline.poisson(rng.uniform(0, 4, n_reps), rng.uniform(0, 1, n_reps), pools)
    fast = E.simulate_bookings(deals, new, n_trials, seed, trial_start=trial_start)
    ref = E.simulate_bookings(
        deals, new, n_trials, seed, trial_start=trial_start, method="reference"
    )
    assert np.array_equal(fast, ref)


def test_numba_hash_pieces_equal_numpy_mirror():
    a, b = E._trial_keys(123)
    ya_np, yb_np = E._trial_state_np(2**33 - 5, 777, a, b)
    ya, yb = np.empty(777, np.uint32), np.empty(777, np.uint32)
    E._trial_state_nb(np.uint64(2**33 - 5), a, b, ya, yb)
    assert np.array_equal(ya, ya_np) and np.array_equal(yb, yb_np)
    k1, k2 = E._item_keys(123, np.array([0, 1, 2**64 - 1], dtype=np.uint64), 2)
    for d in range(3):
        u = np.empty(777, np.uint32)
        E._uniforms_nb(ya, yb, k1[d], k2[d], u)
        assert np.array_equal(u, E._uniform_np(ya_np, yb_np, k1[d], k2[d]))


@pytest.mark.parametrize("width", ["as here", "256"])
def test_fresh_process_with_read_only_cache_compiles_and_agrees(tmp_path, book, width):
    """A new process, where no numba cache location is writable, compiles on first call
    and reproduces this process's bookings bit for bit -- also when told to keep LLVM's
    256-bit vector tuning (this process may use 512-bit vectors: same sums, same order)."""
    package = tmp_path / "pkg" / "simlib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(ROOT / "simlib" / "engine.py", package / "engine.py")
    (package / "__pycache__").write_text("")  # a file: no in-tree cache directory possible
    blocked = tmp_path / "blocked"
    blocked.write_text("")  # a file: no directory can be created below it
    deals, new = book
    np.savez(
        tmp_path / "book.npz",
        amount=deals.amount,
        p=deals.p,
        rep=deals.rep,
        key=deals.key,
        cdf=new.count_cdf,
        new_p=new.new_p,
        pool=new.size_pool,
        offsets=new.size_offsets,
    )
    script = textwrap.dedent(f"""
        import numpy as np
        from simlib import engine as E
        assert E.__file__.startswith({str(tmp_path)!r}), E.__file__
        assert type(E._bookings_kernel._cache).__name__ == "NullCache"
        assert not E._bookings_kernel.signatures  # nothing compiled or loaded yet
        z = np.load({str(tmp_path / "book.npz")!r})
        deals = E.DealBook(z["amount"], z["p"], z["rep"], z["key"], {deals.n_reps})
        new = E.NewPipeline(z["cdf"], z["new_p"], z["pool"], z["offsets"])
        out = E.simulate_bookings(deals, new, 600, 77, trial_start=123)
        assert len(E._bookings_kernel.signatures) == 1
        np.save({str(tmp_path / "out.npy")!r}, out)
    """)
    env = dict(
        os.environ,
        PYTHONPATH=str(tmp_path / "pkg"),
        NUMBA_CACHE_DIR=str(blocked / "numba"),
        HOME=str(blocked),
        XDG_CACHE_HOME=str(blocked / "xdg"),
    )
    if width == "256":
        env.pop("NUMBA_CPU_FEATURES", None)
        env["SIMLIB_VECTOR_WIDTH"] = "256"
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    here = E.simulate_bookings(deals, new, 600, 77, trial_start=123)
    assert np.array_equal(np.load(tmp_path / "out.npy"), here)


# --------------------------------------------------------------------------------------
# Quality of the counter-based hash (on the NumPy mirror, proven equal above)
# --------------------------------------------------------------------------------------


def z_of_correlation(x, y):
    """Pearson r times sqrt(n): about N(0, 1) for independent samples."""
    return np.corrcoef(x, y)[0, 1] * np.sqrt(x.size)


def test_uniformity_chi_square_on_65536_bins():
    # 2**21 draws (512 keys x 4096 trials), top 16 bits: 32 per bin on average.
    # Tolerance: the chi-square p-value must lie in (1e-4, 1 - 1e-4).
    u = E.counter_uniforms(2024, np.arange(512), 0, 4096)
    counts = np.bincount((u >> 16).ravel(), minlength=2**16)
    chi2 = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
    p_value = stats.chi2.sf(chi2, df=2**16 - 1)
    assert 1e-4 < p_value < 1 - 1e-4, (chi2, p_value)


def test_uniformity_low_bits_chi_square():
    # The low 16 bits too (the size index uses all 32). Same tolerance.
    u = E.counter_uniforms(7, np.arange(512), 10**9, 4096)
    counts = np.bincount((u & 0xFFFF).ravel(), minlength=2**16)
    chi2 = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
    assert 1e-4 < stats.chi2.sf(chi2, df=2**16 - 1) < 1 - 1e-4


@pytest.mark.parametrize("purpose", ["deal", "count", "size"])
def test_uniformity_kolmogorov_smirnov(purpose):
    # 200k draws of u / 2**32 against U(0, 1). Tolerance: KS p-value > 1e-4.
    u = E.counter_uniforms(99, np.arange(50), 0, 4000, purpose=purpose).ravel() / 2.0**32
    assert stats.kstest(u, "uniform").pvalue > 1e-4


def test_independence_across_adjacent_trials():
    # Lag-1 and lag-2 correlation within each key's stream, 256 keys x 4096 trials.
    # Tolerance: |r| sqrt(n) < 4.
    u = E.counter_uniforms(5, np.arange(256), 0, 4096).astype(float)
    for lag in (1, 2):
        assert abs(z_of_correlation(u[:-lag].ravel(), u[lag:].ravel())) < 4


def test_independence_across_adjacent_keys():
    # Same trial, keys k and k + 1 (ids that differ in one bit), and keys far apart.
    # Tolerance: |r| sqrt(n) < 4.
    u = E.counter_uniforms(5, np.arange(257), 0, 4096).astype(float)
    assert abs(z_of_correlation(u[:, :-1].ravel(), u[:, 1:].ravel())) < 4
    v = E.counter_uniforms(5, np.arange(256) * 2**40, 0, 4096).astype(float)
    assert abs(z_of_correlation(v[:, :-1].ravel(), v[:, 1:].ravel())) < 4


def test_independence_across_seeds_and_purposes():
    # Same (key, trial) under seeds s and s + 1, and under two purposes.
    # Tolerance: |r| sqrt(n) < 4.
    keys = np.arange(128)
    a = E.counter_uniforms(1000, keys, 0, 4096).astype(float).ravel()
    b = E.counter_uniforms(1001, keys, 0, 4096).astype(float).ravel()
    c = E.counter_uniforms(1000, keys, 0, 4096, purpose="size").astype(float).ravel()
    assert abs(z_of_correlation(a, b)) < 4
    assert abs(z_of_correlation(a, c)) < 4


def test_pairs_of_draws_are_jointly_uniform():
    # Non-linear dependence between neighbours: chi-square of (top 4 bits of u[k, t],
    # top 4 bits of u[k + 1, t]) on a 16 x 16 grid, and the same for (t, t + 1).
    # Tolerance: p-value > 1e-4.
    u = E.counter_uniforms(31, np.arange(129), 0, 4096) >> 28
    for x, y in ((u[:, :-1], u[:, 1:]), (u[:-1], u[1:])):
        grid = np.bincount((x * 16 + y).ravel(), minlength=256).reshape(16, 16)
        assert stats.chisquare(grid.ravel()).pvalue > 1e-4


def test_streams_of_different_deals_are_not_shifted_copies():
    # If deal b's stream were deal a's shifted by some lag (the flaw of hashing
    # trial * C + h(deal) in 32 bits), their value sets would overlap heavily. For
    # independent 32-bit streams of 4096 values the expected number of shared values
    # is 4096**2 / 2**32 = 0.004 per pair; over 200 pairs about 0.8. Tolerance: <= 6
    # (Poisson tail probability ~ 1e-4).
    u = E.counter_uniforms(17, np.arange(201), 0, 4096)
    shared = sum(np.intersect1d(u[:, k], u[:, k + 1]).size for k in range(200))
    assert shared <= 6


@pytest.mark.parametrize("p", [1e-3, 0.02, 0.5, 0.97])
def test_bernoulli_frequency(p):
    # Fraction of (deal, trial) won against p over 2**20 draws. Tolerance: z < 4.
    deals = E.DealBook(np.ones(256), np.full(256, p), np.arange(256) % 4, None, 4)
    won = E.simulate_bookings(deals, None, 4096, 12).sum()
    n = 256 * 4096
    assert abs(won - n * p) / np.sqrt(n * p * (1 - p)) < 4


def test_won_indicators_of_neighbouring_deals_are_uncorrelated():
    # Deals with small p in one rep each: correlation of the per-trial won indicators
    # of deals k and k + 1. Tolerance: |r| sqrt(n) < 4.
    n_deals = 64
    deals = E.DealBook(np.ones(n_deals), np.full(n_deals, 0.05), np.arange(n_deals), None, n_deals)
    won = E.simulate_bookings(deals, None, 20000, 3)
    assert abs(z_of_correlation(won[:, :-1].ravel(), won[:, 1:].ravel())) < 4


# --------------------------------------------------------------------------------------
# Law of the bookings: fast and generator paths against exact moments
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fast", "generator"])
def test_mean_and_variance_match_exact_moments(method):
    # Per rep: z of the sample mean against the exact mean (SE = sd / sqrt(n)), and z of
    # the sample variance against the exact variance (SE from the sample fourth
    # central moment). Tolerance: |z| < 4 for each rep and statistic.
    deals, new = make_book(n_deals=150, n_reps=8, seed=3)
    n = 40000
    got = E.simulate_bookings(deals, new, n, 2026, method=method)
    mean, var = E.bookings_moments(deals, new)
    live = var > 0
    z_mean = (got.mean(0) - mean)[live] / np.sqrt(var[live] / n)
    centred = got - got.mean(0)
    m4 = (centred**4).mean(0)
    s2 = got.var(0, ddof=1)
    z_var = (s2 - var)[live] / np.sqrt((m4 - s2**2)[live] / n)
    assert np.all(np.abs(z_mean) < 4), z_mean
    assert np.all(np.abs(z_var) < 4), z_var
    assert np.allclose(got.mean(0)[~live], mean[~live])


def test_fast_and_generator_agree_in_distribution():
    # Two-sample Kolmogorov-Smirnov per rep on 20k trials each. Tolerance: p > 1e-4
    # (Bonferroni over reps would allow less; we keep it strict).
    deals, new = make_book(n_deals=80, n_reps=5, seed=9, edge_cases=False)
    fast = E.simulate_bookings(deals, new, 20000, 1)
    gen = E.simulate_bookings(deals, new, 20000, 1, method="generator")
    for r in range(deals.n_reps):
        assert stats.ks_2samp(fast[:, r], gen[:, r]).pvalue > 1e-4


# --------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 4099])
def test_summary_matches_numpy(n):
    rng = np.random.default_rng(n)
    data = rng.gamma(2.0, 1.0, (n, 21))
    data[:, 3] = 0.0  # constant column
    data[: n // 2, 4] = 0.0  # an atom at zero (ties)
    data[:, 5] = np.round(data[:, 5])  # many ties
    quota = rng.uniform(1, 3, 21)
    got = E.summarise(data, quota=quota, fractions=(0.8, 1.0, 1.2))
    expected = np.quantile(data, [0.1, 0.5, 0.9], axis=0)  # method="linear"
    for j, name in enumerate(["p10", "p50", "p90"]):
        np.testing.assert_allclose(got[name], expected[j], rtol=1e-14, atol=0)
    np.testing.assert_allclose(got["mean"], data.mean(0), rtol=1e-13)
    for f in (0.8, 1.0, 1.2):
        assert np.array_equal(got[f"p_ge_{f:g}"], (data >= f * quota).mean(0))


def test_summary_quantiles_in_any_order_and_scalar_quota():
    data = np.arange(101, dtype=float)[:, None] * [1.0, 2.0]
    got = E.summarise(data, quota=50.0, fractions=(1.0,), quantiles=(0.9, 0.0, 0.25, 1.0))
    assert got["p90"].tolist() == [90.0, 180.0]
    assert got["p0"].tolist() == [0.0, 0.0]
    assert got["p25"].tolist() == [25.0, 50.0]
    assert got["p100"].tolist() == [100.0, 200.0]
    assert got["p_ge_1"].tolist() == [51 / 101, 76 / 101]
    assert set(E.summarise(data)) == {"mean", "p10", "p50", "p90"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(bookings=np.ones(5)), r"`bookings` parameter of `summarise` must be a 2-D array"),
        (
            dict(bookings=np.array([[1.0, np.nan]])),
            r"`bookings` .* must be finite. Got a non-finite value in column 1",
        ),
        (dict(quota=[1.0, 2.0, 3.0]), r"`quota` .* one per rep \(2\)"),
        (dict(quantiles=(0.5, 1.5)), r"`quantiles` .* must lie in \[0, 1\]"),
    ],
)
def test_summary_rejects_bad_arguments(kwargs, message):
    args = dict(bookings=np.ones((4, 2)))
    with pytest.raises(ValueError, match=message):
        E.summarise(**{**args, **kwargs})


# --------------------------------------------------------------------------------------
# Streaming summary: the same bytes as summarise, chunk by chunk
# --------------------------------------------------------------------------------------


def _stream(data, cuts, **kwargs):
    stream = E.SummaryStream(data.shape[0], data.shape[1], **kwargs)
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        stream.scan(data[a:b], a)
    if stream.needs_second_pass:
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            stream.collect(data[a:b], a)
    return stream.result()


@pytest.mark.parametrize("n", [1, 7, 8, 1001, 4099])
@pytest.mark.parametrize("chunk", [1, 100, 5000])
def test_streamed_summary_equals_summarise_bit_for_bit(n, chunk):
    rng = np.random.default_rng(n + chunk)
    data = rng.lognormal(10, 1, (n, 6))
    data[:, 1] = np.where(rng.random(n) < 0.6, 0.0, data[:, 1])  # an atom at zero
    data[:, 2] = 5.0  # a constant column
    data[:, 3] = np.round(data[:, 3], -4)  # many ties
    data[: n // 2, 4] *= 1e-6  # a first chunk narrower than the rest
    quota = np.array([2e4, 1e4, 5.0, 3e4, 1.0, 2e4])
    kwargs = dict(quota=quota, fractions=(0.5, 1.0), quantiles=(0.9, 0.0, 0.5, 1.0, 0.1))
    cuts = list(range(0, n, chunk)) + [n]
    want = E.summarise(data, **kwargs)
    got = _stream(data, cuts, **kwargs)
    assert list(got) == list(want)
    for key in want:
        assert np.array_equal(got[key], want[key]), key


def test_streamed_summary_without_quota_or_quantiles():
    data = np.random.default_rng(1).normal(size=(300, 3))
    for kwargs in (dict(), dict(quantiles=())):
        want = E.summarise(data, **kwargs)
        got = _stream(data, [0, 120, 300], **kwargs)
        assert all(np.array_equal(got[k], want[k]) for k in want) and list(got) == list(want)


def test_streamed_summary_refuses_chunks_out_of_order_or_missing():
    stream = E.SummaryStream(10, 2)
    stream.scan(np.zeros((4, 2)), 0)
    with pytest.raises(ValueError, match=r"continue where the last chunk ended \(trial 4\)"):
        stream.scan(np.zeros((4, 2)), 6)
    with pytest.raises(ValueError, match="see all 10 trials"):
        stream.collect(np.zeros((4, 2)), 0)
    with pytest.raises(ValueError, match="have 2 columns"):
        stream.scan(np.zeros((4, 3)), 4)
    bad = E.SummaryStream(2, 1, quantiles=())
    bad.scan(np.array([[1.0], [np.nan]]), 0)
    with pytest.raises(ValueError, match="non-finite value in column 0"):
        bad.result()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    cols=st.integers(1, 20),
    scale=st.sampled_from([1e-3, 1.0, 1e8]),
    spread=st.sampled_from([0.0, 1e-9, 1e-3, 1.0, 1e4]),
    cut_seed=st.integers(0, 2**32 - 1),
    n_bins=st.sampled_from([1, 7, 4096]),
)
def test_property_streamed_summary_equals_summarise(n, cols, scale, spread, cut_seed, n_bins):
    rng = np.random.default_rng(cut_seed)
    data = scale + spread * np.round(rng.standard_normal((n, cols)), int(rng.integers(0, 4)))
    cuts = sorted({0, n, *rng.integers(0, n + 1, size=int(rng.integers(0, 6))).tolist()})
    kwargs = dict(quota=scale, quantiles=(0.0, 0.1, 0.5, 0.9, 1.0))
    want = E.summarise(data, **kwargs)
    stream = E.SummaryStream(n, cols, n_bins=n_bins, **kwargs)
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        stream.scan(data[a:b], a)
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        stream.collect(data[a:b], a)
    got = stream.result()
    for key in want:
        assert np.array_equal(got[key], want[key]), key


@pytest.mark.parametrize("dispersion", [np.inf, 3.0])
def test_won_count_in_closed_form_equals_the_thinned_count(dispersion):
    from simlib.pipeline import count_cdf

    mean = np.array([0.0, 2.5, 40.0])
    new_p = np.array([0.3, 0.4, 0.25])
    pools = [0, 2, 4, 7]
    thinned = E.NewPipeline(count_cdf(mean, dispersion), new_p, np.ones(7), pools)
    closed = E.NewPipeline(
        count_cdf(mean, dispersion), new_p, np.ones(7), pools, count_cdf(mean * new_p, dispersion)
    )
    a, b = E._won_count_pmf(thinned), E._won_count_pmf(closed)
    width = max(a.shape[1], b.shape[1])
    a = np.pad(a, ((0, 0), (0, width - a.shape[1])))
    b = np.pad(b, ((0, 0), (0, width - b.shape[1])))
    assert np.abs(a - b).max() < 1e-9


def test_a_won_count_law_that_does_not_match_the_count_is_refused():
    with pytest.raises(ValueError, match=r"`won_cdf` .* mean new_p x mean count .* rep 0"):
        E.NewPipeline([[0.2, 0.7, 1.0]], [0.5], [2.0], [0, 1], won_cdf=[[0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"`won_cdf` .* non-decreasing"):
        E.NewPipeline([[0.2, 0.7, 1.0]], [0.5], [2.0], [0, 1], won_cdf=[[0.9, 0.5, 1.0]])


def test_summary_of_float32_trials_reads_them_without_a_float64_copy(book):
    deals, new = book
    narrow = E.simulate_bookings(deals, new, 999, 3, dtype=np.float32)
    got = E.summarise(narrow, quota=10_000.0)
    want = E.summarise(narrow.astype(np.float64), quota=10_000.0)
    assert all(np.array_equal(got[k], want[k]) for k in want)

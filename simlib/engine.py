"""Monte Carlo kernel for pipeline attainment: bookings per trial and rep.

The model for one forecast period has two parts.

*Open deals* (:class:`DealBook`): deal ``d`` of rep ``rep[d]`` is won inside the period
with probability ``p[d]`` and then books ``amount[d]``.

*New pipeline* (:class:`NewPipeline`): rep ``r`` creates ``N`` new deals, ``N`` drawn from
the count distribution ``count_cdf[r]``; each is won inside the period with probability
``new_p[r]`` and books an amount drawn uniformly from the rep's pool of historical won
amounts. Only the number of *won* new deals matters, so the engine draws it directly
from the thinned count distribution ``M | N ~ Binomial(N, new_p)`` (exact, computed once
per call) and then draws ``M`` sizes.

:func:`simulate_bookings` returns ``bookings[trial, rep]``. Three methods compute it:

``"fast"``
    A numba kernel, parallel over blocks of trials.
``"reference"``
    A plain NumPy mirror of the same counter-based hash: bit-for-bit equal to ``"fast"``.
``"generator"``
    An independent oracle that draws with :class:`numpy.random.Generator`; equal to the
    others in distribution only.

Randomness (``"fast"`` and ``"reference"``)
-------------------------------------------
Every random number is a pure function of ``(seed, trial, item key, purpose)``, so a seed
gives bit-identical bookings on any number of threads, for any split of the trials into
calls, and in any process.

1. *Trial state.* ``s(t) = mix64(mix64(t * G + a) ^ b)``, where ``mix64`` is the
   splitmix64 finaliser, ``G`` the 64-bit golden ratio and ``a``, ``b`` two keys derived
   from the seed. Its 32-bit halves are ``ya(t)``, ``yb(t)``. It is computed once per
   trial and shared by all deals, so its cost vanishes.
2. *Item key.* ``k = mix64(mix64(key + G) ^ mix64(mix64(seed) + (purpose + 1) * G))``
   for a deal (its stable ``key``) or a new-deal slot (``rep * 2**32 + slot``). Its
   32-bit halves are ``k1``, ``k2``.
3. *Uniform.* A lowbias32 round (Wellons' ``0x21f0aaad``/``0x735a2d97`` constants) with
   the trial state and the key injected before each multiplication::

       x = ya ^ k1;  x ^= x >> 16;  x *= 0x21f0aaad
       x ^= yb ^ k2; x ^= x >> 15;  x *= 0x735a2d97;  x ^= x >> 15

   For a fixed item, ``x`` is a bijection of ``yb`` whatever ``ya`` is, so it is exactly
   uniform and independent across trials. Two items share no fixed relation: their
   states differ by ``mul(ya ^ k1) ^ mul(ya ^ k1')``, which changes with every trial,
   so deal streams are not shifted or permuted copies of each other (unlike a 32-bit
   hash of ``trial * C + h(deal)``, where every deal sees one sequence at an offset).

   Why this split: the per-(deal, trial) work is the whole cost of the kernel, and on
   AVX2 (no 64-bit vector multiply) it is bound by 32-bit multiplies. Two full
   lowbias32 rounds per draw (four multiplies) measured about 1.4x slower than this
   keyed round (two); the strong 64-bit mixing of the trial is paid once per trial.
4. *Draws.* A Bernoulli(p) event is ``x < round(p * 2**32)`` (``p`` is thus quantised
   to ``2**-32``; ``p = 1`` is always won). An index into a pool of ``n`` amounts is
   ``(x * n) >> 32``. The won-count is an inverse-CDF look-up against integer
   thresholds ``round(cdf * 2**32)``.

Summation order is fixed: per trial and rep, the rep's deals in their input order, then
new deals in slot order. With ``fastmath=False`` the sums are therefore the same on every
path that uses the hash.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

__all__ = [
    "DealBook",
    "NewPipeline",
    "poisson_count_cdf",
    "bookings_moments",
    "simulate_bookings",
    "summarise",
    "SummaryStream",
    "counter_uniforms",
    "METHODS",
]

METHODS = ("fast", "reference", "generator")


def _prefer_wide_vectors() -> None:
    """On a CPU with AVX-512, let LLVM use 512-bit vectors (as ``-mprefer-vector-width=512``).

    LLVM's tuning for Intel server cores prefers 256-bit vectors; the kernels below are
    bound by vector operations, and 512-bit ones do twice the work each (measured at
    500 reps x 100k trials: +15% for the open deals, +18% for the whole model). Only the
    tuning changes -- the same instructions sets, and with ``fastmath=False`` every sum
    is taken in the same order, so results are bit-identical either way. Set before the
    first compilation (numba reads it once); child processes (workers, report kernels)
    inherit it and so share the on-disk cache. Left alone when ``NUMBA_CPU_NAME`` or
    ``NUMBA_CPU_FEATURES`` is set, or with ``SIMLIB_VECTOR_WIDTH=256``.
    """
    if os.environ.get("SIMLIB_VECTOR_WIDTH") == "256" or any(
        name in os.environ for name in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")
    ):
        return
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if features.get("avx512f") and features.get("avx512vl"):
        os.environ["NUMBA_CPU_FEATURES"] = features.flatten() + ",-prefer-256-bit"
        numba.core.config.reload_config()


_prefer_wide_vectors()

# Trials per block of the fast kernel. The per-block scratch (uint32 trial state, draws,
# counts and indices, an int64 list: 24 bytes per trial) stays in L1 whatever the number of
# reps, because reps are processed one after another inside a block.
_BLOCK = 256

# Bytes of the per-block output tile: the sums of up to ``_TILE_BYTES / (8 * _BLOCK)`` reps
# (512 at 256 trials) are kept in a (reps x trials) tile in L2 and then written out in
# 8-trial squares, so a block's part of the output -- a contiguous run of rows when the tile
# holds every rep -- is written once, line by line. Written straight from each rep's sums
# (one value per 4 KB row at 500 reps), the output cost more than the draws at 500 reps and
# 100k trials: every cache line was read, then written, eight times over (measured: the
# large size ran at 0.6x the small one's rate per deal-trial; with the tile, the same).
_TILE_BYTES = 1 << 20

_OUT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

# With ``threads=None``, one thread per this many units of work (deal-trials, plus four
# per rep-trial for the new pipeline; sixteen per value to summarise): about a millisecond.
_WORK_PER_THREAD = 3_000_000

# Trials per chunk of the NumPy reference and generator paths.
_REFERENCE_CHUNK = 4096
_GENERATOR_CHUNK_ELEMENTS = 1 << 22

_TWO32 = 1 << 32
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SM_M1 = np.uint64(0xBF58476D1CE4E5B9)
_SM_M2 = np.uint64(0x94D049BB133111EB)
_LB_M1 = np.uint32(0x21F0AAAD)
_LB_M2 = np.uint32(0x735A2D97)

# Purposes: each kind of draw has its own stream.
_PURPOSE_TRIAL_A = 0
_PURPOSE_TRIAL_B = 1
_PURPOSE_DEAL_WIN = 2
_PURPOSE_NEW_COUNT = 3
_PURPOSE_NEW_SIZE = 4


# ---------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------


def _fail(owner: str, name: str, rule: str, got: object) -> ValueError:
    return ValueError(f"The `{name}` parameter of `{owner}` must {rule}. Got {got} instead.")


def _first_bad(mask: np.ndarray, values: np.ndarray) -> str:
    i = int(np.flatnonzero(mask.ravel())[0])
    where = tuple(int(j) for j in np.unravel_index(i, values.shape))
    return f"{values.ravel()[i].item()!r} at index {where[0] if len(where) == 1 else where}"


def _as_array(owner: str, name: str, value: object, dtype: type, ndim: int) -> np.ndarray:
    try:
        raw = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise _fail(owner, name, "be array-like", type(value).__name__) from exc
    if raw.ndim != ndim:
        raise _fail(owner, name, f"be a {ndim}-D array", f"shape {raw.shape}")
    if np.issubdtype(np.dtype(dtype), np.integer):
        if raw.size and not np.issubdtype(raw.dtype, np.integer):
            raise _fail(owner, name, "hold integers", f"dtype {raw.dtype}")
        if raw.size and np.dtype(dtype) == np.uint64 and raw.dtype.kind == "i" and raw.min() < 0:
            raise _fail(owner, name, "be non-negative", _first_bad(raw < 0, raw))
    else:
        if raw.size and not (
            np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)
        ):
            raise _fail(owner, name, "hold real numbers", f"dtype {raw.dtype}")
    arr = np.array(raw, dtype=dtype, copy=True, order="C")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise _fail(owner, name, "be finite", _first_bad(~np.isfinite(arr), arr))
    arr.setflags(write=False)
    return arr


def _check_seed(owner: str, seed: object) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise _fail(owner, "seed", "be an int in [0, 2**63)", repr(seed))
    if not 0 <= int(seed) < 2**63:
        raise _fail(owner, "seed", "be an int in [0, 2**63)", repr(seed))
    return int(seed)


def _check_count(owner: str, name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise _fail(owner, name, "be an int", repr(value))
    value = int(value)
    if value < low or (high is not None and value > high):
        span = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise _fail(owner, name, f"be an int {span}", repr(value))
    return value


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class DealBook:
    """Open deals of one forecast period, validated.

    Parameters
    ----------
    amount : array_like of float, shape (D,)
        Amount booked if the deal is won; finite and ``>= 0``.
    p : array_like of float, shape (D,)
        Probability that the deal is won *and* closes inside the period, in ``[0, 1]``.
    rep : array_like of int, shape (D,)
        Owning rep, in ``[0, n_reps)``.
    key : array_like of int, shape (D,), optional
        Stable, distinct, non-negative id of each deal (for example a CRM row id). It
        keys the deal's random stream, so a deal keeps its draws when other deals are
        added or removed. Defaults to ``0 .. D-1`` (stable only while the order is).
    n_reps : int
        Number of reps ``R``; reps without deals are allowed.

    Arrays are copied and made read-only.
    """

    amount: np.ndarray
    p: np.ndarray
    rep: np.ndarray
    key: np.ndarray | None
    n_reps: int

    def __post_init__(self) -> None:
        owner = "DealBook"
        n_reps = _check_count(owner, "n_reps", self.n_reps, 1)
        amount = _as_array(owner, "amount", self.amount, np.float64, 1)
        n = amount.shape[0]
        p = _as_array(owner, "p", self.p, np.float64, 1)
        rep = _as_array(owner, "rep", self.rep, np.int64, 1)
        key = self.key
        if key is None:
            key = np.arange(n, dtype=np.uint64)
        key = _as_array(owner, "key", key, np.uint64, 1)
        for name, arr in (("p", p), ("rep", rep), ("key", key)):
            if arr.shape[0] != n:
                raise _fail(
                    owner, name, f"have the length of `amount` ({n})", f"length {arr.shape[0]}"
                )
        if np.any(amount < 0):
            raise _fail(owner, "amount", "be >= 0", _first_bad(amount < 0, amount))
        bad = (p < 0) | (p > 1)
        if np.any(bad):
            raise _fail(owner, "p", "lie in [0, 1]", _first_bad(bad, p))
        bad = (rep < 0) | (rep >= n_reps)
        if np.any(bad):
            raise _fail(owner, "rep", f"lie in [0, n_reps={n_reps})", _first_bad(bad, rep))
        if n > 1:
            sorted_keys = np.sort(key)
            dup = sorted_keys[1:] == sorted_keys[:-1]
            if np.any(dup):
                raise _fail(
                    owner,
                    "key",
                    "hold distinct values",
                    f"duplicate {sorted_keys[1:][dup][0].item()!r}",
                )
        for name, value in (
            ("amount", amount),
            ("p", p),
            ("rep", rep),
            ("key", key),
            ("n_reps", n_reps),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_deals(self) -> int:
        """Number of deals ``D``."""
        return int(self.amount.shape[0])

    def __repr__(self) -> str:
        expected = float(np.dot(self.amount, self.p))
        return (
            f"DealBook(n_deals={self.n_deals}, n_reps={self.n_reps}, "
            f"open_amount={float(self.amount.sum()):,.2f}, expected_won={expected:,.2f})"
        )


@dataclass(frozen=True, repr=False)
class NewPipeline:
    """Deals created and won inside the period, per rep, validated.

    Parameters
    ----------
    count_cdf : array_like of float, shape (R, K)
        ``count_cdf[r, k] = P(N_r <= k)`` for the number of deals rep ``r`` creates:
        in ``[0, 1]``, non-decreasing along ``k``, last column 1 (to within ``1e-9``).
        Any count law fits (Poisson, negative binomial, empirical); see
        :func:`poisson_count_cdf`.
    new_p : array_like of float, shape (R,)
        Probability that each new deal is won inside the period, in ``[0, 1]``.
    size_pool : array_like of float, shape (S,)
        Historical won amounts of all reps, concatenated; finite and ``>= 0``.
    size_offsets : array_like of int, shape (R + 1,)
        Rep ``r`` draws uniformly from ``size_pool[size_offsets[r]:size_offsets[r+1]]``.
        Starts at 0, non-decreasing, ends at ``S``. A rep with an empty pool books no new
        deals.
    won_cdf : array_like of float, shape (R, K'), optional
        ``P(M_r <= k)`` for the number of *won* new deals, when the caller knows it in
        closed form (a Poisson or negative binomial count thinned by ``new_p`` stays in its
        family: see :func:`simlib.pipeline.count_cdf`). Without it the engine thins
        ``count_cdf`` itself, which takes O(R K^2) -- a minute at K = 15,000 (a rep
        expecting 1,700 new deals). Checked against ``new_p`` times the mean count.
    """

    count_cdf: np.ndarray
    new_p: np.ndarray
    size_pool: np.ndarray
    size_offsets: np.ndarray
    won_cdf: np.ndarray | None = None

    def __post_init__(self) -> None:
        owner = "NewPipeline"
        cdf = _check_cdf(owner, "count_cdf", self.count_cdf)
        n_reps = cdf.shape[0]
        new_p = _as_array(owner, "new_p", self.new_p, np.float64, 1)
        if new_p.shape[0] != n_reps:
            raise _fail(
                owner, "new_p", f"have one entry per rep ({n_reps})", f"length {new_p.shape[0]}"
            )
        bad = (new_p < 0) | (new_p > 1)
        if np.any(bad):
            raise _fail(owner, "new_p", "lie in [0, 1]", _first_bad(bad, new_p))
        pool = _as_array(owner, "size_pool", self.size_pool, np.float64, 1)
        if np.any(pool < 0):
            raise _fail(owner, "size_pool", "be >= 0", _first_bad(pool < 0, pool))
        offsets = _as_array(owner, "size_offsets", self.size_offsets, np.int64, 1)
        if offsets.shape[0] != n_reps + 1:
            raise _fail(
                owner,
                "size_offsets",
                f"have length R + 1 = {n_reps + 1}",
                f"length {offsets.shape[0]}",
            )
        if offsets[0] != 0 or offsets[-1] != pool.shape[0] or np.any(np.diff(offsets) < 0):
            raise _fail(
                owner,
                "size_offsets",
                f"start at 0, never decrease and end at len(size_pool) = {pool.shape[0]}",
                offsets.tolist() if offsets.size <= 8 else f"[{offsets[0]}, ..., {offsets[-1]}]",
            )
        won = self.won_cdf
        if won is not None:
            won = _check_cdf(owner, "won_cdf", won)
            if won.shape[0] != n_reps:
                raise _fail(owner, "won_cdf", f"have one row per rep ({n_reps})", won.shape)
            expected = new_p * np.sum(1.0 - cdf, axis=1)
            got = np.sum(1.0 - won, axis=1)
            bad = np.abs(got - expected) > 1e-6 + 1e-4 * expected
            if np.any(bad):
                r = int(np.flatnonzero(bad)[0])
                raise _fail(
                    owner,
                    "won_cdf",
                    "have the mean new_p x mean count (the count thinned by new_p)",
                    f"mean {got[r]:.6g} for rep {r} where {expected[r]:.6g} was expected",
                )
        for name, value in (
            ("count_cdf", cdf),
            ("new_p", new_p),
            ("size_pool", pool),
            ("size_offsets", offsets),
            ("won_cdf", won),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def poisson(
        cls,
        rate: Sequence[float] | np.ndarray,
        new_p: Sequence[float] | np.ndarray,
        size_pools: Sequence[Sequence[float] | np.ndarray],
        tail: float = 1e-12,
    ) -> NewPipeline:
        """Build from Poisson creation rates and one pool of won amounts per rep.

        Parameters
        ----------
        rate : array_like of float, shape (R,)
            Expected number of deals created per rep in the period.
        new_p : array_like of float, shape (R,)
            Probability that each new deal is won inside the period.
        size_pools : sequence of R array_like
            Historical won amounts per rep.
        tail : float
            Probability mass above the last tabulated count (see :func:`poisson_count_cdf`).

        Returns
        -------
        NewPipeline
        """
        pools = [np.asarray(pool, dtype=np.float64).ravel() for pool in size_pools]
        offsets = np.concatenate([[0], np.cumsum([pool.size for pool in pools])]).astype(np.int64)
        flat = np.concatenate(pools) if pools else np.empty(0)
        return cls(poisson_count_cdf(rate, tail=tail), new_p, flat, offsets)

    @property
    def n_reps(self) -> int:
        """Number of reps ``R``."""
        return int(self.count_cdf.shape[0])

    def expected_count(self) -> np.ndarray:
        """Expected number of deals created per rep, ``sum_k P(N > k)``."""
        return np.sum(1.0 - self.count_cdf, axis=1)

    def __repr__(self) -> str:
        return (
            f"NewPipeline(n_reps={self.n_reps}, max_count={self.count_cdf.shape[1] - 1}, "
            f"mean_created={float(self.expected_count().mean()):.3g}, "
            f"mean_new_p={float(self.new_p.mean()):.3g}, pool_size={self.size_pool.size})"
        )


def _check_cdf(owner: str, name: str, value: object) -> np.ndarray:
    cdf = _as_array(owner, name, value, np.float64, 2)
    if cdf.shape[0] < 1 or cdf.shape[1] < 1:
        raise _fail(owner, name, "have at least one row and one column", f"shape {cdf.shape}")
    bad = (cdf < 0) | (cdf > 1)
    if np.any(bad):
        raise _fail(owner, name, "lie in [0, 1]", _first_bad(bad, cdf))
    bad = np.diff(cdf, axis=1) < 0
    if np.any(bad):
        raise _fail(owner, name, "be non-decreasing along each row", _first_bad(bad, cdf[:, 1:]))
    bad = np.abs(cdf[:, -1] - 1.0) > 1e-9
    if np.any(bad):
        raise _fail(owner, name, "end each row with 1.0", _first_bad(bad, cdf[:, -1]))
    return cdf


def poisson_count_cdf(rate: Sequence[float] | np.ndarray, tail: float = 1e-12) -> np.ndarray:
    """Tabulate Poisson CDFs for :class:`NewPipeline`.

    Parameters
    ----------
    rate : array_like of float, shape (R,)
        Poisson means, finite and ``>= 0``.
    tail : float
        The table stops at the first ``K`` where every row has ``P(N > K) <= tail``; that
        mass is folded into the last column, which is set to 1.

    Returns
    -------
    numpy.ndarray of float64, shape (R, K + 1)
    """
    lam = _as_array("poisson_count_cdf", "rate", rate, np.float64, 1)
    if np.any(lam < 0):
        raise _fail("poisson_count_cdf", "rate", "be >= 0", _first_bad(lam < 0, lam))
    if not 0 < tail < 1:
        raise _fail("poisson_count_cdf", "tail", "lie in (0, 1)", repr(tail))
    pmf = np.exp(-lam)
    columns = [pmf]
    cdf = pmf.copy()
    k = 0
    while np.any(1.0 - cdf > tail) and k < 100_000:
        k += 1
        pmf = pmf * lam / k
        cdf = cdf + pmf
        columns.append(cdf.copy())
    table = np.minimum(np.stack(columns, axis=1) if k else cdf[:, None], 1.0)
    table[:, -1] = 1.0
    return table


# ---------------------------------------------------------------------------------------
# Exact moments (for tests, checks and reports)
# ---------------------------------------------------------------------------------------


def _won_count_pmf(new: NewPipeline) -> np.ndarray:
    """P(M_r = m) for the number of *won* new deals, ``M | N ~ Binomial(N, new_p)``."""
    if new.won_cdf is not None:
        pmf = np.diff(new.won_cdf, axis=1, prepend=0.0)
        empty = np.diff(new.size_offsets) == 0
        pmf[empty] = 0.0
        pmf[empty, 0] = 1.0
        return pmf
    cdf = new.count_cdf
    n_reps, k = cdf.shape
    pmf_n = np.diff(cdf, axis=1, prepend=0.0)
    q = new.new_p[:, None]
    # Row n of Pascal's triangle weighted by q: binom[:, m] = C(n, m) q^m (1-q)^(n-m).
    binom = np.zeros((n_reps, k))
    binom[:, 0] = 1.0
    pmf_m = pmf_n[:, :1] * binom
    for n in range(1, k):
        shifted = np.zeros_like(binom)
        shifted[:, 1:] = binom[:, :-1]
        binom = binom * (1.0 - q) + shifted * q
        pmf_m += pmf_n[:, n : n + 1] * binom
    empty = np.diff(new.size_offsets) == 0
    pmf_m[empty] = 0.0
    pmf_m[empty, 0] = 1.0
    return pmf_m


def bookings_moments(
    deals: DealBook, new: NewPipeline | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and variance of bookings per rep.

    ``mean = sum(amount * p) + E[N] * new_p * mean(pool)``; the variance adds
    ``sum(amount**2 p (1-p))`` and the compound-sum variance
    ``E[M] Var(S) + Var(M) E[S]**2`` of the won new deals.

    Parameters
    ----------
    deals : DealBook
    new : NewPipeline, optional

    Returns
    -------
    mean, variance : numpy.ndarray of float64, shape (R,)
    """
    n_reps = deals.n_reps
    mean = np.bincount(deals.rep, weights=deals.amount * deals.p, minlength=n_reps)
    var = np.bincount(
        deals.rep, weights=deals.amount**2 * deals.p * (1.0 - deals.p), minlength=n_reps
    )
    if new is not None:
        _check_same_reps(deals, new)
        pmf_m = _won_count_pmf(new)
        m = np.arange(pmf_m.shape[1])
        e_m = pmf_m @ m
        var_m = pmf_m @ (m.astype(float) ** 2) - e_m**2
        sizes = np.diff(new.size_offsets)
        safe = np.maximum(sizes, 1)
        rep_of = np.repeat(np.arange(n_reps), sizes)
        e_s = np.bincount(rep_of, weights=new.size_pool, minlength=n_reps) / safe
        e_s2 = np.bincount(rep_of, weights=new.size_pool**2, minlength=n_reps) / safe
        mean = mean + e_m * e_s
        var = var + e_m * (e_s2 - e_s**2) + var_m * e_s**2
    return mean, var


def _check_same_reps(deals: DealBook, new: NewPipeline) -> None:
    if new.n_reps != deals.n_reps:
        raise _fail(
            "simulate_bookings",
            "new",
            f"cover the same reps as `deals` (n_reps={deals.n_reps})",
            f"n_reps={new.n_reps}",
        )


# ---------------------------------------------------------------------------------------
# Counter-based hash: NumPy side (key derivation; reference mirror)
# ---------------------------------------------------------------------------------------


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    z = z ^ (z >> np.uint64(30))
    z = z * _SM_M1
    z = z ^ (z >> np.uint64(27))
    z = z * _SM_M2
    return z ^ (z >> np.uint64(31))


def _stream_key(seed: int, purpose: int) -> np.uint64:
    with np.errstate(over="ignore"):
        z = _mix64(np.array([seed], dtype=np.uint64)) + np.uint64(purpose + 1) * _GOLDEN
        return _mix64(z)[0]


def _item_keys(seed: int, ids: np.ndarray, purpose: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-item 64-bit keys, split into (low, high) uint32 halves."""
    stream = _stream_key(seed, purpose)
    with np.errstate(over="ignore"):
        k = _mix64(_mix64(np.asarray(ids, dtype=np.uint64) + _GOLDEN) ^ stream)
    return (k & np.uint64(0xFFFFFFFF)).astype(np.uint32), (k >> np.uint64(32)).astype(np.uint32)


def _trial_keys(seed: int) -> tuple[np.uint64, np.uint64]:
    return _stream_key(seed, _PURPOSE_TRIAL_A), _stream_key(seed, _PURPOSE_TRIAL_B)


def _trial_state_np(t0: int, n: int, a: np.uint64, b: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(over="ignore"):
        t = np.arange(n, dtype=np.uint64) + np.uint64(t0)
        s = _mix64(_mix64(t * _GOLDEN + a) ^ b)
    return (s & np.uint64(0xFFFFFFFF)).astype(np.uint32), (s >> np.uint64(32)).astype(np.uint32)


def _uniform_np(ya: np.ndarray, yb: np.ndarray, k1: np.uint32, k2: np.uint32) -> np.ndarray:
    """The per-(item, trial) round on uint32 arrays; NumPy uint32 arithmetic wraps."""
    x = ya ^ k1
    x ^= x >> np.uint32(16)
    x *= _LB_M1
    x ^= yb ^ k2
    x ^= x >> np.uint32(15)
    x *= _LB_M2
    x ^= x >> np.uint32(15)
    return x


def counter_uniforms(
    seed: int,
    keys: Sequence[int] | np.ndarray,
    trial_start: int,
    n_trials: int,
    purpose: str = "deal",
) -> np.ndarray:
    """Raw 32-bit draws of the counter-based hash, for inspection and tests.

    Parameters
    ----------
    seed : int
        In ``[0, 2**63)``.
    keys : array_like of int, shape (D,)
        Item keys (deal keys, or ``rep * 2**32 + slot`` for new-deal sizes).
    trial_start, n_trials : int
        Trials ``trial_start .. trial_start + n_trials - 1``.
    purpose : {"deal", "count", "size"}
        Which stream: deal wins, won new-deal counts, new-deal sizes.

    Returns
    -------
    numpy.ndarray of uint32, shape (n_trials, D)
        ``u / 2**32`` is uniform on ``[0, 1)``. The deal ``d`` wins trial ``t`` iff
        ``u[t, d] < round(p * 2**32)``.
    """
    owner = "counter_uniforms"
    seed = _check_seed(owner, seed)
    purposes = {"deal": _PURPOSE_DEAL_WIN, "count": _PURPOSE_NEW_COUNT, "size": _PURPOSE_NEW_SIZE}
    if purpose not in purposes:
        raise _fail(owner, "purpose", f"be one of {sorted(purposes)}", repr(purpose))
    keys = _as_array(owner, "keys", keys, np.uint64, 1)
    trial_start = _check_count(owner, "trial_start", trial_start, 0)
    n_trials = _check_count(owner, "n_trials", n_trials, 0)
    k1, k2 = _item_keys(seed, keys, purposes[purpose])
    ya, yb = _trial_state_np(trial_start, n_trials, *_trial_keys(seed))
    out = np.empty((n_trials, keys.size), dtype=np.uint32)
    for d in range(keys.size):
        out[:, d] = _uniform_np(ya, yb, k1[d], k2[d])
    return out


def _thresholds(p: np.ndarray) -> np.ndarray:
    """``round(p * 2**32)`` as uint64 in ``[0, 2**32]``."""
    return np.minimum(np.floor(p * float(_TWO32) + 0.5), float(_TWO32)).astype(np.uint64)


@dataclass(frozen=True)
class _Plan:
    """Everything the kernels need, derived once per call from the inputs and the seed."""

    trial_a: np.uint64
    trial_b: np.uint64
    amount: np.ndarray  # float64 (D,), deals sorted by rep (stable)
    threshold: np.ndarray  # uint64 (D,)
    k1: np.ndarray  # uint32 (D,)
    k2: np.ndarray
    rep_start: np.ndarray  # int64 (R + 1,)
    has_new: bool
    count_threshold: np.ndarray  # uint64 (R, K): round(P(M <= k) * 2**32)
    count_k1: np.ndarray  # uint32 (R,)
    count_k2: np.ndarray
    size_k1: np.ndarray  # uint32 (R, K)
    size_k2: np.ndarray
    size_pool: np.ndarray  # float64 (S,)
    size_offsets: np.ndarray  # int64 (R + 1,)


def _plan(deals: DealBook, new: NewPipeline | None, seed: int) -> _Plan:
    order = np.argsort(deals.rep, kind="stable")
    rep_start = np.searchsorted(deals.rep[order], np.arange(deals.n_reps + 1)).astype(np.int64)
    k1, k2 = _item_keys(seed, deals.key[order], _PURPOSE_DEAL_WIN)
    trial_a, trial_b = _trial_keys(seed)
    if new is None:
        count_threshold = np.full((deals.n_reps, 1), _TWO32, dtype=np.uint64)
        count_k = (np.zeros(deals.n_reps, np.uint32),) * 2
        size_k = (np.zeros((deals.n_reps, 1), np.uint32),) * 2
        pool, offsets = np.zeros(0), np.zeros(deals.n_reps + 1, np.int64)
    else:
        _check_same_reps(deals, new)
        cdf = np.minimum(np.cumsum(_won_count_pmf(new), axis=1), 1.0)
        cdf[:, -1] = 1.0
        count_threshold = _thresholds(np.maximum.accumulate(cdf, axis=1))
        reps = np.arange(deals.n_reps, dtype=np.uint64)
        count_k = _item_keys(seed, reps, _PURPOSE_NEW_COUNT)
        slots = np.arange(cdf.shape[1], dtype=np.uint64)
        ids = (reps[:, None] << np.uint64(32)) | slots[None, :]
        size_k = tuple(
            h.reshape(ids.shape) for h in _item_keys(seed, ids.ravel(), _PURPOSE_NEW_SIZE)
        )
        pool, offsets = new.size_pool, new.size_offsets
    return _Plan(
        trial_a=trial_a,
        trial_b=trial_b,
        amount=np.ascontiguousarray(deals.amount[order]),
        threshold=_thresholds(deals.p[order]),
        k1=k1,
        k2=k2,
        rep_start=rep_start,
        has_new=new is not None,
        count_threshold=np.ascontiguousarray(count_threshold),
        count_k1=count_k[0],
        count_k2=count_k[1],
        size_k1=np.ascontiguousarray(size_k[0]),
        size_k2=np.ascontiguousarray(size_k[1]),
        size_pool=pool,
        size_offsets=offsets,
    )


def _reference_bookings(plan: _Plan, t0: int, out: np.ndarray) -> None:
    """Vectorised NumPy mirror of the fast kernel; same hash, same summation order."""
    n_trials, n_reps = out.shape
    for c0 in range(0, n_trials, _REFERENCE_CHUNK):
        n = min(_REFERENCE_CHUNK, n_trials - c0)
        ya, yb = _trial_state_np(t0 + c0, n, plan.trial_a, plan.trial_b)
        for r in range(n_reps):
            acc = np.zeros(n)
            for d in range(plan.rep_start[r], plan.rep_start[r + 1]):
                u = _uniform_np(ya, yb, plan.k1[d], plan.k2[d]).astype(np.uint64)
                acc += np.where(u < plan.threshold[d], plan.amount[d], 0.0)
            if plan.has_new:
                _reference_new(plan, r, ya, yb, acc)
            out[c0 : c0 + n, r] = acc


def _reference_new(plan: _Plan, r: int, ya: np.ndarray, yb: np.ndarray, acc: np.ndarray) -> None:
    start, stop = plan.size_offsets[r], plan.size_offsets[r + 1]
    if stop == start:
        return
    u = _uniform_np(ya, yb, plan.count_k1[r], plan.count_k2[r]).astype(np.uint64)
    won = (u[:, None] >= plan.count_threshold[r][None, :]).sum(axis=1)
    pool = plan.size_pool[start:stop]
    for j in range(int(won.max(initial=0))):
        u = _uniform_np(ya, yb, plan.size_k1[r, j], plan.size_k2[r, j]).astype(np.uint64)
        index = (u * np.uint64(stop - start)) >> np.uint64(32)
        acc += np.where(j < won, pool[index], 0.0)


# ---------------------------------------------------------------------------------------
# Counter-based hash: numba side (fast path)
# ---------------------------------------------------------------------------------------


def _njit(**options):
    """``numba.njit`` with an on-disk cache when a writable cache location exists.

    Numba raises at decoration time when neither the package's ``__pycache__`` nor the
    user-wide cache directory is writable (read-only install); compile in memory then.
    """

    def decorate(func):
        try:
            return numba.njit(cache=True, fastmath=False, **options)(func)
        except RuntimeError:
            return numba.njit(cache=False, fastmath=False, **options)(func)

    return decorate


@_njit(inline="always")
def _mix64_nb(z):
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@_njit()
def _trial_state_nb(t0, a, b, ya, yb):
    for i in range(ya.size):
        t = t0 + np.uint64(i)
        s = _mix64_nb(_mix64_nb(t * np.uint64(0x9E3779B97F4A7C15) + a) ^ b)
        ya[i] = np.uint32(s & np.uint64(0xFFFFFFFF))
        yb[i] = np.uint32(s >> np.uint64(32))


@_njit(inline="always")
def _uniform_nb(ya, yb, k1, k2):
    x = np.uint32(ya ^ k1)
    x = np.uint32(x ^ (x >> np.uint32(16)))
    x = np.uint32(x * np.uint32(0x21F0AAAD))
    x = np.uint32(x ^ np.uint32(yb ^ k2))
    x = np.uint32(x ^ (x >> np.uint32(15)))
    x = np.uint32(x * np.uint32(0x735A2D97))
    return np.uint32(x ^ (x >> np.uint32(15)))


@_njit(inline="always")
def _uniforms_nb(ya, yb, k1, k2, u):
    # Kept a loop of its own: with only uint32 lanes LLVM vectorises it 8 wide; fused
    # with the float64 accumulation it would be 4 wide (measured: 2x slower).
    for i in range(u.size):
        u[i] = _uniform_nb(ya[i], yb[i], k1, k2)


@_njit(inline="always")
def _add_won_nb(acc, u, threshold, amount):
    for i in range(acc.size):
        acc[i] += amount if u[i] < threshold else 0.0


@_njit(inline="always")
def _add_won_two_nb(acc, u, v, threshold_u, amount_u, threshold_v, amount_v):
    # Two deals per pass over the sums: one load and one store of each sum instead of two
    # (measured +7-13%). The adds are the same, in the same order, as two single passes.
    for i in range(acc.size):
        s = acc[i] + (amount_u if u[i] < threshold_u else 0.0)
        acc[i] = s + (amount_v if v[i] < threshold_v else 0.0)


@_njit()
def _add_new_nb(
    r,
    ya,
    yb,
    u,
    won,
    active,
    index,
    size,
    acc,
    count_threshold,
    count_k1,
    count_k2,
    size_k1,
    size_k2,
    size_pool,
    size_offsets,
):
    start = size_offsets[r]
    stop = size_offsets[r + 1]
    if stop == start:
        return
    n = acc.size
    # Won count per trial by inverse CDF: the number of thresholds <= u (8-wide compares),
    # up to the first threshold above every draw of the block.
    _uniforms_nb(ya, yb, count_k1[r], count_k2[r], u)
    won[:] = 0
    top = np.uint32(0)
    for i in range(n):
        top = max(top, u[i])
    for k in range(count_threshold.shape[1]):
        th = count_threshold[r, k]
        if th > np.uint64(top):
            break
        th32 = np.uint32(th)
        for i in range(n):
            won[i] += np.uint32(u[i] >= th32)
    # Slot j adds a size to the trials that won more than j new deals. While at least a
    # quarter of the trials do, slot j runs over the whole block: hash 8 wide, gather every
    # trial's size, then a masked add. The gather goes first, into ``size``, because LLVM
    # turns a select around a load (``pool[i] if won > j else 0.0``) into a data-dependent
    # branch (measured: 1.5x slower for the whole model); a select between a loaded value
    # and 0.0 stays a masked add (as for the open deals). Once fewer trials remain, they go
    # in a list, compacted without branches after each slot, so the work follows the number
    # of won deals. Either way each trial receives its slots in order 0, 1, 2, ...
    pool = size_pool[start:stop]
    scale = np.uint64(stop - start)
    n_active = 0
    for i in range(n):
        n_active += won[i] > 0
    j = 0
    while 4 * n_active >= n:
        _uniforms_nb(ya, yb, size_k1[r, j], size_k2[r, j], u)
        for i in range(n):
            index[i] = np.uint32((np.uint64(u[i]) * scale) >> np.uint64(32))
        for i in range(n):
            size[i] = pool[index[i]]
        jj = np.uint32(j)
        next_j = np.uint32(j + 1)
        n_active = 0
        for i in range(n):
            acc[i] += size[i] if won[i] > jj else 0.0
        for i in range(n):
            n_active += won[i] > next_j
        j += 1
    jj = np.uint32(j)
    n_active = 0
    for i in range(n):
        active[n_active] = i
        n_active += won[i] > jj
    while n_active > 0:
        k1 = size_k1[r, j]
        k2 = size_k2[r, j]
        next_j = np.uint32(j + 1)
        kept = 0
        for a in range(n_active):
            i = active[a]
            x = _uniform_nb(ya[i], yb[i], k1, k2)
            acc[i] += pool[np.int64((np.uint64(x) * scale) >> np.uint64(32))]
            active[kept] = i
            kept += won[i] > next_j
        n_active = kept
        j += 1


@_njit(parallel=True)
def _bookings_kernel(
    t0,
    trial_a,
    trial_b,
    amount,
    threshold,
    k1,
    k2,
    rep_start,
    has_new,
    count_threshold,
    count_k1,
    count_k2,
    size_k1,
    size_k2,
    size_pool,
    size_offsets,
    block,
    tile_reps,
    out,
):
    n_trials, n_reps = out.shape
    n_blocks = (n_trials + block - 1) // block
    for b in prange(n_blocks):
        lo = b * block
        n = min(block, n_trials - lo)
        ya = np.empty(n, np.uint32)
        yb = np.empty(n, np.uint32)
        u = np.empty(n, np.uint32)
        v = np.empty(n, np.uint32)
        won = np.empty(n, np.uint32)
        active = np.empty(n, np.int64)
        index = np.empty(n, np.uint32)
        size = np.empty(n, np.float64)
        tile = np.empty((min(tile_reps, n_reps), n), np.float64)
        _trial_state_nb(t0 + np.uint64(lo), trial_a, trial_b, ya, yb)
        for r0 in range(0, n_reps, tile_reps):
            r1 = min(n_reps, r0 + tile_reps)
            for r in range(r0, r1):
                acc = tile[r - r0]
                acc[:] = 0.0
                held = -1  # a deal whose draws wait in ``u`` for a second one
                for d in range(rep_start[r], rep_start[r + 1]):
                    th = threshold[d]
                    if th == np.uint64(0):
                        continue  # never won: adding +0.0 would change nothing
                    a = amount[d]
                    if th >= np.uint64(4294967296):
                        if held >= 0:
                            _add_won_nb(acc, u, np.uint32(threshold[held]), amount[held])
                            held = -1
                        for i in range(n):
                            acc[i] += a
                    elif held < 0:
                        _uniforms_nb(ya, yb, k1[d], k2[d], u)
                        held = d
                    else:
                        _uniforms_nb(ya, yb, k1[d], k2[d], v)
                        _add_won_two_nb(
                            acc, u, v, np.uint32(threshold[held]), amount[held], np.uint32(th), a
                        )
                        held = -1
                if held >= 0:
                    _add_won_nb(acc, u, np.uint32(threshold[held]), amount[held])
                if has_new:
                    _add_new_nb(
                        r,
                        ya,
                        yb,
                        u,
                        won,
                        active,
                        index,
                        size,
                        acc,
                        count_threshold,
                        count_k1,
                        count_k2,
                        size_k1,
                        size_k2,
                        size_pool,
                        size_offsets,
                    )
            # Out in 8-trial squares: each output row's span of the tile's reps is written in
            # one go (the cast to a float32 ``out`` rounds each finished sum once).
            for i0 in range(0, n, 8):
                i1 = min(n, i0 + 8)
                for c in range(r1 - r0):
                    row = tile[c]
                    for i in range(i0, i1):
                        out[lo + i, r0 + c] = row[i]


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view: numba types read-only and writable arrays apart, so passing every
    input read-only keeps one compiled signature (and one compile) per kernel."""
    view = array.view()
    view.flags.writeable = False
    return view


def _fast_bookings(plan: _Plan, t0: int, out: np.ndarray) -> None:
    inputs = (plan.amount, plan.threshold, plan.k1, plan.k2, plan.rep_start)
    new_inputs = (
        plan.count_threshold,
        plan.count_k1,
        plan.count_k2,
        plan.size_k1,
        plan.size_k2,
        plan.size_pool,
        plan.size_offsets,
    )
    _bookings_kernel(
        np.uint64(t0),
        plan.trial_a,
        plan.trial_b,
        *map(_read_only, inputs),
        plan.has_new,
        *map(_read_only, new_inputs),
        _BLOCK,
        max(8, _TILE_BYTES // (8 * _BLOCK)),
        out,
    )


# ---------------------------------------------------------------------------------------
# Generator oracle
# ---------------------------------------------------------------------------------------


def _generator_bookings(
    deals: DealBook, new: NewPipeline | None, seed: int, t0: int, out: np.ndarray
) -> None:
    """Independent oracle with ``numpy.random.Generator``; same law, different draws.

    Draws the model literally: ``random((trials, D)) < p`` in chunks; the count of new
    deals by inverse CDF, the won ones by ``binomial(N, new_p)``, their sizes by
    ``choice``. Reproducible for a given ``(seed, trial_start)``, but not chunk-invariant.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, t0])))
    n_trials, n_reps = out.shape
    one_hot = np.zeros((deals.n_deals, n_reps))
    one_hot[np.arange(deals.n_deals), deals.rep] = 1.0
    width = max(deals.n_deals, n_reps * (new.count_cdf.shape[1] if new is not None else 1), 1)
    chunk = max(1, _GENERATOR_CHUNK_ELEMENTS // width)
    for c0 in range(0, n_trials, chunk):
        n = min(chunk, n_trials - c0)
        won = rng.random((n, deals.n_deals)) < deals.p
        block = (won * deals.amount) @ one_hot
        if new is not None:
            u = rng.random((n, n_reps))
            created = (u[:, :, None] >= new.count_cdf[None, :, :]).sum(axis=2)
            won_new = rng.binomial(created, new.new_p)
            for r in range(n_reps):
                pool = new.size_pool[new.size_offsets[r] : new.size_offsets[r + 1]]
                total = int(won_new[:, r].sum())
                if pool.size == 0 or total == 0:
                    continue
                sizes = rng.choice(pool, size=total)
                trial_of = np.repeat(np.arange(n), won_new[:, r])
                block[:, r] += np.bincount(trial_of, weights=sizes, minlength=n)
        out[c0 : c0 + n] = block


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _numba_threads(threads: int | None, work: int = 0) -> Iterator[None]:
    """Run with ``threads`` numba threads, restored afterwards.

    ``None`` chooses by size: numba's current setting, but no more threads than there are
    ``_WORK_PER_THREAD`` units of ``work`` -- waking a second thread costs more than it
    saves on a small run. The result never depends on the number of threads.
    """
    if threads is None:
        threads = min(numba.get_num_threads(), max(1, work // _WORK_PER_THREAD))
    if threads == numba.get_num_threads():
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def simulate_bookings(
    deals: DealBook,
    new: NewPipeline | None,
    n_trials: int,
    seed: int,
    *,
    trial_start: int = 0,
    threads: int | None = None,
    out: np.ndarray | None = None,
    method: str = "fast",
    dtype: type | np.dtype = np.float64,
) -> np.ndarray:
    """Simulate bookings per trial and rep for one forecast period.

    Parameters
    ----------
    deals : DealBook
        Open deals.
    new : NewPipeline or None
        New pipeline; ``None`` simulates the open deals alone.
    n_trials : int
        Number of trials, ``>= 0``.
    seed : int
        In ``[0, 2**63)``. With ``method="fast"`` or ``"reference"`` the result is a pure
        function of the inputs, the seed and the trial numbers.
    trial_start : int, default 0
        Number of the first trial. Trials ``0..9999`` in one call equal trials
        ``0..4999`` and ``5000..9999`` in two calls, stacked.
    threads : int, optional
        Numba threads for ``method="fast"`` (restored afterwards); default: numba's
        current setting, fewer for small runs. The result does not depend on it.
    out : numpy.ndarray of float64 or float32, shape (n_trials, R), optional
        C-contiguous buffer to fill and return, to avoid re-touching fresh memory. Its
        dtype wins over ``dtype``.
    method : {"fast", "reference", "generator"}
        See the module docstring.
    dtype : {numpy.float64, numpy.float32}
        Of the result. Sums are always taken in float64; float32 rounds each finished
        sum once (relative error <= 2**-24, about 6 yuan in 100 million), on every path
        alike, for half the memory when trials are kept for other uses than money.

    Returns
    -------
    numpy.ndarray of ``dtype``, shape (n_trials, R)
        ``bookings[i, r]``: total amount rep ``r`` books in trial ``trial_start + i``.
    """
    owner = "simulate_bookings"
    if not isinstance(deals, DealBook):
        raise _fail(owner, "deals", "be a DealBook", type(deals).__name__)
    if new is not None:
        if not isinstance(new, NewPipeline):
            raise _fail(owner, "new", "be a NewPipeline or None", type(new).__name__)
        _check_same_reps(deals, new)
    n_trials = _check_count(owner, "n_trials", n_trials, 0)
    seed = _check_seed(owner, seed)
    trial_start = _check_count(owner, "trial_start", trial_start, 0)
    if trial_start + n_trials > 2**64:
        raise _fail(owner, "trial_start", "keep trial numbers below 2**64", repr(trial_start))
    if method not in METHODS:
        raise _fail(owner, "method", f"be one of {METHODS}", repr(method))
    if threads is not None:
        threads = _check_count(owner, "threads", threads, 1, numba.config.NUMBA_NUM_THREADS)
    shape = (n_trials, deals.n_reps)
    if out is None:
        if np.dtype(dtype) not in _OUT_DTYPES:
            raise _fail(owner, "dtype", "be numpy.float64 or numpy.float32", repr(dtype))
        out = np.empty(shape, dtype=dtype)
    elif not (
        isinstance(out, np.ndarray)
        and out.dtype in _OUT_DTYPES
        and out.shape == shape
        and out.flags.c_contiguous
        and out.flags.writeable
    ):
        got = f"{type(out).__name__} {getattr(out, 'dtype', '')} {getattr(out, 'shape', '')}"
        raise _fail(
            owner,
            "out",
            f"be a writable C-contiguous float64 or float32 array of shape {shape}",
            got,
        )
    if n_trials == 0:
        return out
    if method == "generator":
        _generator_bookings(deals, new, seed, trial_start, out)
        return out
    plan = _plan(deals, new, seed)
    if method == "reference":
        _reference_bookings(plan, trial_start, out)
    else:
        work = n_trials * (deals.n_deals + (4 * deals.n_reps if new is not None else 0))
        with _numba_threads(threads, work):
            _fast_bookings(plan, trial_start, out)
    return out


# ---------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------


@_njit(inline="always")
def _lerp(a, b, t):
    # numpy's _lerp for method="linear": exact at both ends, monotone.
    diff = b - a
    if t >= 0.5:
        return b - diff * (1.0 - t)
    return a + diff * t


@_njit()
def _select(x, lo, hi, k):
    """Move the k-th smallest of ``x[lo:hi]`` to ``x[k]``, smaller ones before it.

    Quickselect with a median-of-three pivot and Hoare partitioning, which splits runs
    of equal values (many zero bookings) evenly. Average O(hi - lo).

    Returns
    -------
    int
        ``end`` such that the next order statistic is ``min(x[k+1:end])`` (the right
        part cut off last): usually a short scan instead of one over ``x[k+1:hi]``.
    """
    end = hi
    hi -= 1
    while hi > lo:
        mid = (lo + hi) // 2
        if x[mid] < x[lo]:
            x[mid], x[lo] = x[lo], x[mid]
        if x[hi] < x[lo]:
            x[hi], x[lo] = x[lo], x[hi]
        if x[hi] < x[mid]:
            x[hi], x[mid] = x[mid], x[hi]
        pivot = x[mid]
        i = lo - 1
        j = hi + 1
        while True:
            i += 1
            while x[i] < pivot:
                i += 1
            j -= 1
            while x[j] > pivot:
                j -= 1
            if i >= j:
                break
            x[i], x[j] = x[j], x[i]
        # x[lo..j] <= pivot <= x[j+1..hi], and everything right of hi is >= both.
        if k <= j:
            end = hi + 1
            hi = j
        else:
            lo = j + 1
    return end


@_njit()
def _column_quantiles(col, virtual, hist, buf, result):
    """Linear-interpolated quantiles of one column without sorting it.

    One pass finds the range, one builds a histogram on ``hist.size`` equal-width bins,
    and one copies the few values in the bins that hold each needed order statistic
    into ``buf``, where a quickselect finishes. Every pass is branch-light; a plain
    quickselect over the column is bound by branch mispredictions (measured 3-10x
    slower). ``buf`` must hold ``col.size`` values (a value-heavy bin, such as an atom
    at zero, may hold them all).
    """
    n = col.size
    low = col[0]
    high = col[0]
    for i in range(n):
        low = min(low, col[i])
        high = max(high, col[i])
    n_bins = hist.size
    if high == low:
        for j in range(virtual.size):
            result[j] = low
        return
    scale = n_bins / (high - low)
    hist[:] = 0
    for i in range(n):
        hist[min(np.int64((col[i] - low) * scale), n_bins - 1)] += 1
    for j in range(virtual.size):
        h = virtual[j]
        k = min(max(np.int64(np.floor(h)), 0), n - 1)
        k_next = min(k + 1, n - 1)
        # Bins holding order statistics k and k_next, and the count below the first.
        below = 0
        first = 0
        while below + hist[first] <= k:
            below += hist[first]
            first += 1
        last = first
        seen = below + hist[first]
        while seen <= k_next:
            last += 1
            seen += hist[last]
        m = 0
        for i in range(n):
            b = min(np.int64((col[i] - low) * scale), n_bins - 1)
            if first <= b <= last:
                buf[m] = col[i]
                m += 1
        end = _select(buf, 0, m, k - below)
        lower = buf[k - below]
        upper = lower
        if k_next > k:
            upper = buf[k - below + 1]
            for i in range(k - below + 2, end):
                upper = min(upper, buf[i])
        gamma = h - np.floor(h) if h >= 0.0 else 0.0
        result[j] = _lerp(lower, upper, gamma)


@_njit(parallel=True)
def _summarise_kernel(bookings, virtual, levels, n_bins, mean, quantiles, p_attain):
    n, n_cols = bookings.shape
    n_q = virtual.size
    n_levels = levels.shape[0]
    # Columns go in panels of 16, gathered in blocks of 256 rows: the reads then walk
    # each row's cache lines together (measured 2-4x faster than column by column on a
    # 100k x 500 array).
    width = 16
    n_groups = (n_cols + width - 1) // width
    for g in prange(n_groups):
        c0 = g * width
        n_here = min(width, n_cols - c0)
        panel = np.empty((width, n))
        for i0 in range(0, n, 256):
            i1 = min(n, i0 + 256)
            for c in range(n_here):
                for i in range(i0, i1):
                    panel[c, i] = bookings[i, c0 + c]
        partial = np.empty(8)
        hist = np.empty(n_bins, np.int64)
        buf = np.empty(n)
        result = np.empty(n_q)
        for c in range(n_here):
            col = panel[c]
            # Eight interleaved partial sums: not latency-bound, and more accurate than
            # one running sum.
            partial[:] = 0.0
            stop8 = n - n % 8
            for i in range(0, stop8, 8):
                for m in range(8):
                    partial[m] += col[i + m]
            total = 0.0
            for m in range(8):
                total += partial[m]
            for i in range(stop8, n):
                total += col[i]
            mean[c0 + c] = total / n
            for f in range(n_levels):
                level = levels[f, c0 + c]
                hits = 0
                for i in range(n):
                    hits += col[i] >= level
                p_attain[f, c0 + c] = hits / n
            if n_q and np.isfinite(total):
                _column_quantiles(col, virtual, hist, buf, result)
                for j in range(n_q):
                    quantiles[j, c0 + c] = result[j]


def summarise(
    bookings: np.ndarray,
    quota: float | np.ndarray | None = None,
    fractions: Sequence[float] = (0.8, 1.0, 1.2),
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    *,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Per-rep summary of simulated bookings.

    Parameters
    ----------
    bookings : numpy.ndarray of float, shape (n_trials, R)
        Output of :func:`simulate_bookings`.
    quota : float or array_like of shape (R,), optional
        Quota per rep; needed for the attainment probabilities.
    fractions : sequence of float
        Attainment levels ``f``: reports ``P(bookings >= f * quota)``.
    quantiles : sequence of float
        In ``[0, 1]``. Quantiles follow numpy's default ``method="linear"`` (Hyndman and
        Fan type 7): ``x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)])``
        with ``h = q (n - 1)`` on the sorted column.
    threads : int, optional
        Numba threads (restored afterwards); default: numba's current setting, fewer for
        small arrays.

    Returns
    -------
    dict of str to numpy.ndarray of float64, shape (R,)
        ``"mean"``; ``"p10"``, ``"p50"``, ``"p90"`` (named ``"p"`` + ``100 q``); with a
        quota, ``"p_ge_0.8"`` etc. (named ``"p_ge_"`` + ``f``). Ready for
        ``pandas.DataFrame``. The mean is a sequential float64 sum: it may differ from
        ``numpy.mean`` in the last digits.
    """
    owner = "summarise"
    if threads is not None:
        threads = _check_count(owner, "threads", threads, 1, numba.config.NUMBA_NUM_THREADS)
    data = np.asarray(bookings)
    if data.ndim != 2 or data.shape[0] == 0:
        raise _fail(
            owner, "bookings", "be a 2-D array with at least one trial", f"shape {data.shape}"
        )
    # float32 trials are read as they are (each value widened on the way), not copied
    data = np.ascontiguousarray(data, dtype=np.float32 if data.dtype == np.float32 else np.float64)
    n, n_cols = data.shape
    qs, order, virtual = _quantile_plan(owner, quantiles, n)
    fracs, levels = _levels(owner, quota, fractions, n_cols)
    mean = np.empty(n_cols)
    quant = np.empty((qs.size, n_cols))
    attain = np.empty((levels.shape[0], n_cols))
    if n_cols:
        n_bins = int(min(max(n // 8, 64), 1 << 14))
        with _numba_threads(threads, 16 * n * n_cols):
            _summarise_kernel(
                _read_only(data),
                _read_only(np.ascontiguousarray(virtual)),
                _read_only(levels),
                n_bins,
                mean,
                quant,
                attain,
            )
    if not np.all(np.isfinite(mean)):  # a non-finite value anywhere makes its column's sum so
        bad = np.flatnonzero(~np.isfinite(mean))[0]
        raise _fail(owner, "bookings", "be finite", f"a non-finite value in column {bad}")
    return _summary_dict(mean, quant, order, qs, fracs, attain, quota is not None)


def _quantile_plan(owner: str, quantiles, n: int):
    """Quantile levels, their ascending order, and numpy's virtual indices in that order."""
    qs = np.asarray(quantiles, dtype=np.float64).ravel()
    if np.any(~np.isfinite(qs) | (qs < 0) | (qs > 1)):
        raise _fail(owner, "quantiles", "lie in [0, 1]", list(qs))
    order = np.argsort(qs, kind="stable")
    # numpy's virtual index for method="linear" (alpha = beta = 1), same float steps.
    virtual = n * qs[order] + (1.0 + qs[order] * (1.0 - 1.0 - 1.0)) - 1.0
    return qs, order, virtual


def _levels(owner: str, quota, fractions, n_cols: int):
    """Attainment fractions and the levels ``f * quota`` per column, shape (F, n_cols)."""
    fracs = np.asarray(fractions, dtype=np.float64).ravel()
    if quota is None:
        return fracs, np.zeros((0, n_cols))
    q = np.asarray(quota, dtype=np.float64)
    if q.ndim > 1 or (q.ndim == 1 and q.shape[0] != n_cols) or not np.all(np.isfinite(q)):
        raise _fail(
            owner, "quota", f"be a finite number or one per rep ({n_cols})", f"shape {q.shape}"
        )
    if not np.all(np.isfinite(fracs)):
        raise _fail(owner, "fractions", "be finite", list(fracs))
    return fracs, np.ascontiguousarray(fracs[:, None] * np.broadcast_to(q, (n_cols,))[None, :])


def _summary_dict(mean, quant, order, qs, fracs, attain, has_quota) -> dict[str, np.ndarray]:
    quant[order] = quant.copy()
    result = {"mean": mean}
    for j, q_value in enumerate(qs):
        result[f"p{100 * q_value:g}"] = quant[j]
    for f, frac in enumerate(fracs if has_quota else ()):
        result[f"p_ge_{frac:g}"] = np.asarray(attain[f], dtype=np.float64)
    return result


# ---------------------------------------------------------------------------------------
# Streaming summary: the same figures without holding every trial
# ---------------------------------------------------------------------------------------


@_njit(inline="always")
def _bin(x, low, scale, n_bins):
    # Everything below the range (and NaN, refused later) in bin 0, above it in n_bins + 1.
    b = (x - low) * scale
    if not b >= 0.0:
        return 0
    if b >= n_bins:
        return n_bins + 1
    return 1 + np.int64(b)


@_njit(inline="always")
def _panel(chunk, c0, n_here, panel):
    # Columns c0 .. c0 + n_here of a row-major chunk into rows of ``panel``, read in blocks
    # of 256 rows so each row's cache lines are walked together (as in _summarise_kernel).
    n = chunk.shape[0]
    for i0 in range(0, n, 256):
        i1 = min(n, i0 + 256)
        for c in range(n_here):
            for i in range(i0, i1):
                panel[c, i] = chunk[i, c0 + c]


@_njit(parallel=True)
def _stream_scan(chunk, i0, stop8, levels, low, scale, n_bins, partial, tail, lo, hi, hits, hist):
    """First pass over a row-major chunk of trials ``i0 ..``, 16 columns at a time.

    Sums go to the eight interleaved partials exactly as :func:`summarise` forms them
    (trial ``i`` into partial ``i % 8`` while ``i < stop8``, the rest into ``tail`` in order),
    so the mean is bit-identical to the one from the whole column. Bins are ``floor((x - low)
    * scale)``, monotone in ``x``, which is all the exact quantiles of the second pass need.
    """
    n, n_cols = chunk.shape
    n_levels = levels.shape[0]
    width = 16
    for g in prange((n_cols + width - 1) // width):
        c0 = g * width
        n_here = min(width, n_cols - c0)
        panel = np.empty((width, n))
        sums = np.empty(8)
        _panel(chunk, c0, n_here, panel)
        for cc in range(n_here):
            c = c0 + cc
            col = panel[cc]
            # Trials up to the next multiple of 8 one by one, then eight at a time.
            i = 0
            while i < n and (i0 + i) % 8 != 0 and i0 + i < stop8:
                partial[c, (i0 + i) % 8] += col[i]
                i += 1
            sums[:] = partial[c]
            while i + 8 <= n and i0 + i + 8 <= stop8:
                for m in range(8):
                    sums[m] += col[i + m]
                i += 8
            partial[c] = sums
            while i < n:
                t = i0 + i
                if t < stop8:
                    partial[c, t % 8] += col[i]
                else:
                    tail[c, t - stop8] = col[i]
                i += 1
            low_c, high_c = lo[c], hi[c]
            for i in range(n):
                low_c = min(low_c, col[i])
                high_c = max(high_c, col[i])
            lo[c], hi[c] = low_c, high_c
            for f in range(n_levels):
                level = levels[f, c]
                count = 0
                for i in range(n):
                    count += col[i] >= level
                hits[f, c] += count
            counts = hist[c]
            for i in range(n):
                counts[_bin(col[i], low[c], scale[c], n_bins)] += 1


@_njit(parallel=True)
def _stream_collect(chunk, low, scale, n_bins, first, last, cursor, values):
    """Second pass: keep the values whose bin lies in ``[first[c, j], last[c, j]]``."""
    n, n_cols = chunk.shape
    n_q = first.shape[1]
    width = 16
    for g in prange((n_cols + width - 1) // width):
        c0 = g * width
        n_here = min(width, n_cols - c0)
        panel = np.empty((width, n))
        _panel(chunk, c0, n_here, panel)
        for cc in range(n_here):
            c = c0 + cc
            col = panel[cc]
            wanted_lo = first[c].min()
            wanted_hi = last[c].max()
            # A value range a little wider than those bins' (exact bins are decided below):
            # most values fail two compares and cost nothing more.
            # (Two bins and a relative 1e-12 to spare: far above any rounding of either.)
            span = 1.0 / scale[c]
            x_lo = low[c] + (wanted_lo - 1) * span
            x_lo -= 2.0 * span + 1e-12 * (abs(x_lo) + abs(low[c]))
            x_hi = low[c] + wanted_hi * span
            x_hi += 2.0 * span + 1e-12 * (abs(x_hi) + abs(low[c]))
            if wanted_lo <= 1:
                x_lo = -np.inf
            if wanted_hi >= n_bins:
                x_hi = np.inf
            for i in range(n):
                if not (x_lo <= col[i] <= x_hi):
                    continue
                k = _bin(col[i], low[c], scale[c], n_bins)
                if k < wanted_lo or k > wanted_hi:
                    continue
                for j in range(n_q):
                    if first[c, j] <= k <= last[c, j]:
                        values[cursor[c, j]] = col[i]
                        cursor[c, j] += 1


class SummaryStream:
    """:func:`summarise`'s figures from trials that arrive in chunks, without keeping them.

    Trials are pure functions of their numbers, so a chunk can be drawn twice: the first pass
    (:meth:`scan`) takes sums, extremes, hits and a histogram of every column; the second
    (:meth:`collect`) keeps only the few values in the bins that hold the order statistics
    the quantiles need. The result is bit-identical to :func:`summarise` on the whole array,
    whatever the chunks (they must come in trial order, each pass from trial 0), with memory
    for one chunk and ``n_bins`` counts per column instead of every trial.

    Parameters
    ----------
    n_trials, n_cols : int
        Size of the whole (virtual) array.
    quota, fractions, quantiles
        As for :func:`summarise`.
    n_bins : int
        Histogram bins per column, on the range of the first chunk.
    """

    def __init__(
        self,
        n_trials: int,
        n_cols: int,
        quota: float | np.ndarray | None = None,
        fractions: Sequence[float] = (0.8, 1.0, 1.2),
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
        *,
        n_bins: int = 4096,
    ) -> None:
        owner = "SummaryStream"
        self.n = _check_count(owner, "n_trials", n_trials, 1)
        self.n_cols = _check_count(owner, "n_cols", n_cols, 0)
        self.n_bins = _check_count(owner, "n_bins", n_bins, 1)
        self.qs, self.order, self.virtual = _quantile_plan(owner, quantiles, self.n)
        self.fracs, self.levels = _levels(owner, quota, fractions, n_cols)
        self.has_quota = quota is not None
        c = n_cols
        self.partial = np.zeros((c, 8))
        self.stop8 = self.n - self.n % 8
        self.tail = np.zeros((c, self.n - self.stop8))
        self.lo = np.full(c, np.inf)
        self.hi = np.full(c, -np.inf)
        self.hits = np.zeros((self.levels.shape[0], c), np.int64)
        self.hist = np.zeros((c, self.n_bins + 2), np.int64)
        self.low = np.zeros(c)
        self.scale = np.zeros(c)
        self.seen = 0
        self.kept = 0
        self.plan = None

    def _rows(self, chunk: np.ndarray, start: int, expected: int, step: str) -> np.ndarray:
        data = np.asarray(chunk, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.n_cols:
            raise _fail(
                "SummaryStream", "chunk", f"have {self.n_cols} columns", f"shape {data.shape}"
            )
        if start != expected:
            raise _fail(
                "SummaryStream." + step,
                "start",
                f"continue where the last chunk ended (trial {expected})",
                start,
            )
        if start + data.shape[0] > self.n:
            raise _fail("SummaryStream." + step, "chunk", f"stay within {self.n} trials", start)
        return _read_only(np.ascontiguousarray(data))

    def scan(self, chunk: np.ndarray, start: int) -> None:
        """First pass: the chunk of trials ``start .. start + len(chunk) - 1``."""
        rows = self._rows(chunk, start, self.seen, "scan")
        if rows.shape[0] == 0:
            return
        if self.seen == 0:  # bins on the first chunk's range
            low, high = rows.min(axis=0), rows.max(axis=0)
            width = np.where(high > low, high - low, 1.0)
            self.low = low
            self.scale = self.n_bins / width
        _stream_scan(
            rows,
            start,
            self.stop8,
            self.levels,
            self.low,
            self.scale,
            self.n_bins,
            self.partial,
            self.tail,
            self.lo,
            self.hi,
            self.hits,
            self.hist,
        )
        self.seen += rows.shape[0]

    @property
    def needs_second_pass(self) -> bool:
        return bool(self.qs.size and self.n_cols)

    def _order_stats(self, h: float) -> tuple[int, int]:
        """The order statistics numpy's linear quantile at virtual index ``h`` reads."""
        k = min(max(int(np.floor(h)), 0), self.n - 1)
        return k, min(k + 1, self.n - 1)

    def _plan_collect(self) -> None:
        if self.seen != self.n:
            raise _fail("SummaryStream.collect", "scan", f"see all {self.n} trials", self.seen)
        rows = np.arange(self.n_cols)[:, None]
        cum = np.cumsum(self.hist, axis=1)
        ks = np.array([self._order_stats(h) for h in self.virtual], np.int64).reshape(-1, 2)
        # per column and quantile: the bins holding order statistics k and k + 1 (the first
        # bin whose running count exceeds each), and how many values lie below the first
        first = (cum[:, None, :] <= ks[None, :, 0, None]).sum(axis=2)
        last = (cum[:, None, :] <= ks[None, :, 1, None]).sum(axis=2)
        below = np.where(first > 0, cum[rows, np.maximum(first - 1, 0)], 0)
        span = cum[rows, last] - below
        offsets = np.zeros(span.size + 1, np.int64)
        offsets[1:] = np.cumsum(span.ravel())
        self.plan = (first, last, below, offsets)
        self.cursor = offsets[:-1].reshape(span.shape).copy()
        self.values = np.empty(int(offsets[-1]))

    def collect(self, chunk: np.ndarray, start: int) -> None:
        """Second pass: the same chunk of trials again, in the same order."""
        if self.plan is None:
            self._plan_collect()
        rows = self._rows(chunk, start, self.kept, "collect")
        first, last, _, _ = self.plan
        _stream_collect(
            rows, self.low, self.scale, self.n_bins, first, last, self.cursor, self.values
        )
        self.kept += rows.shape[0]

    def result(self) -> dict[str, np.ndarray]:
        """The dict :func:`summarise` returns for the whole array."""
        c = self.n_cols
        total = np.zeros(c)
        for col in range(c):
            t = 0.0
            for m in range(8):
                t += self.partial[col, m]
            for x in self.tail[col]:
                t += x
            total[col] = t
        mean = total / self.n
        if not np.all(np.isfinite(mean)):
            bad = np.flatnonzero(~np.isfinite(mean))[0]
            raise _fail(
                "SummaryStream", "chunk", "be finite", f"a non-finite value in column {bad}"
            )
        quant = np.empty((self.qs.size, c))
        if self.needs_second_pass:
            if self.plan is None or self.kept != self.n:
                raise _fail(
                    "SummaryStream.result", "collect", f"see all {self.n} trials", self.kept
                )
            first, last, below, offsets = self.plan
            for col in range(c):
                for j, h in enumerate(self.virtual):
                    k, k_next = self._order_stats(h)
                    if self.hi[col] == self.lo[col]:
                        quant[j, col] = self.lo[col]
                        continue
                    at = col * self.qs.size + j
                    vals = np.sort(self.values[offsets[at] : offsets[at + 1]])
                    lower = vals[k - below[col, j]]
                    upper = vals[k_next - below[col, j]]
                    gamma = h - np.floor(h) if h >= 0.0 else 0.0
                    quant[j, col] = _lerp(lower, upper, gamma)
        return _summary_dict(
            mean, quant, self.order, self.qs, self.fracs, self.hits / self.n, self.has_quota
        )

"""Monte Carlo of pipeline attainment, rolled up the org tree, plus the exact oracle.

:func:`simulate` takes a :class:`~simlib.pipeline.Calibration` (or a dataset and a
period, and calibrates), draws trials with the counter-based kernel of
:mod:`simlib.engine` and returns a :class:`SimulationResult`: the trials × reps
bookings for consumers such as commission costing, and a tidy summary per node
(rep, team, region, company — whatever levels the org table has).

Reproducible: a seed gives bit-identical trials whatever the threads, the chunking or
the Dask cluster, because every random number is a pure function of (seed, trial,
deal). Memory is the trials × reps output plus one chunk's work space; with
``keep_trials=False`` only one chunk's, the trials being drawn twice (the summary is the
same to the last bit; see :class:`simlib.engine.SummaryStream`).

:func:`exact_bookings` computes one rep's bookings distribution exactly (FFT over
amounts in buckets), the oracle the Monte Carlo is tested against.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simlib.data.org import node_table, rollup_order
from simlib.engine import (
    DealBook,
    NewPipeline,
    SummaryStream,
    counter_uniforms,
    simulate_bookings,
    summarise,
)
from simlib.periods import Window
from simlib.pipeline import Calibration, calibrate, count_cdf

__all__ = [
    "SimulationResult",
    "Model",
    "build_model",
    "simulate",
    "exact_bookings",
    "rollup",
    "market_factor",
]

DEFAULT_FRACTIONS = (0.8, 1.0, 1.2)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Model:
    """The arrays the kernel needs, in rep order, built from a calibration."""

    rep_ids: tuple[str, ...]
    deals: DealBook
    new: NewPipeline | None
    booked: np.ndarray  # (R,) already won inside the window before as_of

    def expected(self) -> np.ndarray:
        """Exact expected bookings per rep (what the Monte Carlo mean converges to)."""
        R = len(self.rep_ids)
        mean = np.bincount(self.deals.rep, weights=self.deals.amount * self.deals.p, minlength=R)
        if self.new is not None:
            pmf = np.diff(np.concatenate([np.zeros((R, 1)), self.new.count_cdf], axis=1), axis=1)
            e_n = pmf @ np.arange(pmf.shape[1])
            pool_mean = np.array(
                [
                    self.new.size_pool[
                        self.new.size_offsets[r] : self.new.size_offsets[r + 1]
                    ].mean()
                    if self.new.size_offsets[r + 1] > self.new.size_offsets[r]
                    else 0.0
                    for r in range(R)
                ]
            )
            mean = mean + e_n * self.new.new_p * pool_mean
        return mean + self.booked


def build_model(cal: Calibration, include_new: bool = True) -> Model:
    """Turn a calibration into kernel arrays (reps sorted by id; deals by id)."""
    rep_ids = tuple(sorted(set(cal.reps["rep_id"]) | set(cal.deals["owner_id"])))
    index = {r: i for i, r in enumerate(rep_ids)}
    d = cal.deals
    deals = DealBook(
        amount=d["amount"].to_numpy(np.float64),
        p=d["p"].to_numpy(np.float64),
        rep=np.array([index[o] for o in d["owner_id"]], dtype=np.int32),
        key=d["key"].to_numpy(np.uint64),
        n_reps=len(rep_ids),
    )
    R = len(rep_ids)
    reps = cal.reps.set_index("rep_id").reindex(list(rep_ids))
    booked = reps["booked"].fillna(0.0).to_numpy(np.float64)
    new = None
    if include_new and len(cal.reps):
        mean = reps["expected_new"].fillna(0.0).to_numpy(np.float64)
        disp = float(cal.reps["dispersion"].iloc[0]) if len(cal.reps) else np.inf
        cdf = count_cdf(mean, disp)
        pools = [
            cal.size_pools.get(r, np.zeros(0)) if r in cal.size_pools else np.zeros(0)
            for r in rep_ids
        ]
        offsets = np.zeros(R + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(p) for p in pools])
        pool = np.concatenate(pools) if offsets[-1] else np.zeros(0)
        new_p = reps["new_p"].fillna(0.0).to_numpy(np.float64)
        # A rep without a size pool cannot get new deals.
        empty = np.diff(offsets) == 0
        cdf[empty, :] = 1.0
        # The count thinned by new_p stays in its family (Poisson, or negative binomial with
        # the same dispersion): the won count's law in closed form.
        won = count_cdf(np.where(empty, 0.0, mean * new_p), disp)
        new = NewPipeline(
            count_cdf=cdf,
            new_p=new_p,
            size_pool=pool.astype(np.float64),
            size_offsets=offsets,
            won_cdf=won,
        )
    return Model(rep_ids, deals, new, booked)


# --------------------------------------------------------------------------- org tree


def _org_nodes(data, rep_ids) -> pd.DataFrame:
    """Every node from reps up to the root: node_id, parent_id, level, name, name_zh, depth.

    Reps first (in ``rep_ids`` order), then the org nodes above them top-down (by depth,
    then id): the same rows in the same order on every run (see
    :func:`simlib.data.org.node_table`).
    """
    return node_table(data.org, data.reps, rep_ids)


def rollup(trials: np.ndarray, nodes: pd.DataFrame, rep_ids) -> np.ndarray:
    """Bookings per node per trial: each node is the sum of its children, bottom-up.

    Children are added to their parent in :func:`simlib.data.org.rollup_order` (deepest
    first, then by id), whatever the order of ``nodes``' rows, so the float sums are the
    same on every run.
    """
    T = trials.shape[0]
    ids = list(nodes["node_id"])
    col = {n: i for i, n in enumerate(ids)}
    out = np.zeros((T, len(ids)), dtype=np.float64)
    rep_cols = [col[r] for r in rep_ids]
    out[:, rep_cols] = trials
    for n, p in rollup_order(nodes):
        out[:, col[p]] += out[:, col[n]]
    return out


def _quotas(data, nodes: pd.DataFrame, window: Window) -> np.ndarray:
    t = data.tables.get("targets")
    if t is None:  # an export without targets: no quotas, no P(≥ quota)
        return np.full(len(nodes), np.nan)
    t = t[(t["metric"] == "revenue") & (t["period"] == window.label)]
    q = t.groupby("owner_id")["amount"].sum()
    return nodes["node_id"].map(q).to_numpy(dtype=float)


# --------------------------------------------------------------------------- simulate


@dataclass(frozen=True)
class SimulationResult:
    """Trials and their summary. ``trials`` is (n_trials × reps) bookings in the window,
    or None when the run was asked not to keep them (``keep_trials=False``)."""

    trials: np.ndarray | None
    rep_ids: tuple[str, ...]
    nodes: pd.DataFrame
    summary: pd.DataFrame
    calibration: Calibration
    seed: int
    n_trials: int

    def node_trials(self, node_id: str) -> np.ndarray:
        """Bookings of one node (rep, team, region, company) in every trial."""
        if self.trials is None:
            raise ValueError(
                "this simulation kept no trials (keep_trials=False): run it again with "
                "keep_trials=True to get each trial's bookings"
            )
        if node_id in self.rep_ids:
            return self.trials[:, self.rep_ids.index(node_id)]
        tot = rollup(self.trials, self.nodes, self.rep_ids)
        ids = list(self.nodes["node_id"])
        if node_id not in ids:
            raise KeyError(f"no node {node_id!r}; nodes: {ids[:10]}...")
        return tot[:, ids.index(node_id)]

    def __repr__(self) -> str:
        top = self.summary[self.summary["level"] == "company"]
        line = ""
        if len(top):
            r = top.iloc[0]
            line = f", company P50={r['p50']:,.0f} P(≥quota)={r['p_attain']:.1%}"
        return (
            f"SimulationResult({self.n_trials:,} trials × {len(self.rep_ids)} reps, "
            f"seed={self.seed}, window={self.calibration.window.label}{line})"
        )


def simulate(
    data,
    period: str | Window | None = None,
    as_of=None,
    *,
    n_trials: int = 10_000,
    seed: int = 0,
    threads: int | None = None,
    chunk_trials: int = 20_000,
    client=None,
    progress: bool = False,
    fractions=DEFAULT_FRACTIONS,
    calibration: Calibration | None = None,
    include_new: bool = True,
    method: str = "fast",
    keep_trials: bool = True,
) -> SimulationResult:
    """Simulate bookings in a window for every rep, rolled up the org tree.

    Parameters
    ----------
    data : Dataset
        Canonical tables (for the org tree and quotas; and for calibration).
    period : str or Window
        ``"2026-Q3"`` etc.; not needed when ``calibration`` is given.
    as_of : date, optional
        Forecast date (see :func:`simlib.pipeline.calibrate`).
    n_trials, seed
        Number of trials; a non-negative integer seed.
    threads : int, optional
        Kernel threads on this machine (default: all cores).
    chunk_trials : int
        Trials per chunk: the unit of progress, interruption and Dask tasks. The
        result does not depend on it.
    client : dask.distributed.Client, optional
        Run the chunks on a Dask cluster; results are bit-identical to a local run.
    progress : bool
        Show a progress bar over chunks.
    fractions : tuple of float
        Report P(bookings ≥ f × quota) for each.
    keep_trials : bool
        Keep the trials × reps array (``result.trials``). Without it the summary is
        streamed chunk by chunk and the trials drawn twice (the second pass keeps only
        the values next to each quantile): memory for one chunk instead of all trials,
        for about twice the time; the summary is bit-identical either way.

    Returns
    -------
    SimulationResult
        If interrupted (Ctrl-C) locally while keeping trials, the trials finished so far,
        with ``n_trials`` saying how many; a streamed run passes the interrupt on.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    if not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer; got {n_trials!r}")
    cal = calibration if calibration is not None else calibrate(data, period, as_of)
    model = build_model(cal, include_new=include_new)
    R = len(model.rep_ids)
    chunks = [(s, min(chunk_trials, n_trials - s)) for s in range(0, n_trials, chunk_trials)]
    nodes = _org_nodes(data, model.rep_ids)
    quota = _quotas(data, nodes, cal.window)
    draw = _Draw(model, cal, int(seed), threads, method, client)
    if not keep_trials:
        s = _streamed_summary(
            lambda: draw.chunks(chunks),
            n_trials,
            nodes,
            rep_ids=model.rep_ids,
            quota=quota,
            fractions=fractions,
            progress=progress,
        )
        summary = _summary_frame(s, nodes, quota, fractions)
        return SimulationResult(None, model.rep_ids, nodes, summary, cal, int(seed), n_trials)
    check_memory(n_trials, R, n_nodes=R + len(data.tables.get("org", ())))
    trials = np.empty((n_trials, R), dtype=np.float64)
    done = 0
    if client is not None:
        for (s, n), part in zip(chunks, draw.remote(chunks), strict=True):
            trials[s : s + n] = part
        done = n_trials
    else:
        bar = _progress(progress, n_trials)
        try:
            for s, n in chunks:
                draw.local(s, n, out=trials[s : s + n])
                done = s + n
                if bar is not None:
                    bar.update(n)
        except KeyboardInterrupt:
            if done == 0:
                raise
        finally:
            if bar is not None:
                bar.close()
    trials = trials[:done]
    draw.finish(trials, 0)
    if 8 * done * len(nodes) <= ROLLUP_BYTES:  # small: roll up every trial at once
        has_quota = np.isfinite(quota)
        s = summarise(
            rollup(trials, nodes, model.rep_ids),
            quota=np.where(has_quota, quota, 0.0),
            fractions=tuple(fractions),
        )
    else:  # large: stream over the kept trials, never holding a trials × nodes roll-up
        kept = [(s, trials[s : s + n]) for s, n in chunks if s < done]
        s = _streamed_summary(
            lambda: iter(kept), done, nodes, rep_ids=model.rep_ids, quota=quota, fractions=fractions
        )
    summary = _summary_frame(s, nodes, quota, fractions)
    return SimulationResult(trials, model.rep_ids, nodes, summary, cal, int(seed), done)


class _Draw:
    """Draws chunks of trials, locally or on a Dask cluster, and finishes them (the common
    factor and what is already booked): the one way both the kept and the streamed runs
    get their numbers."""

    def __init__(self, model: Model, cal: Calibration, seed: int, threads, method, client):
        self.model, self.cal, self.seed = model, cal, seed
        self.threads, self.method, self.client = threads, method, client
        self._model_future = None

    def local(self, start: int, n: int, out=None) -> np.ndarray:
        m = self.model
        return simulate_bookings(
            m.deals,
            m.new,
            n,
            self.seed,
            trial_start=start,
            threads=self.threads,
            out=out,
            method=self.method,
        )

    def remote(self, chunks):
        """The chunks' bookings from the cluster, in order.

        The model goes to every worker once (scattered); then each chunk of trials is one
        task, ``_chunk(model, n, seed, start)``, all submitted at once and collected in
        trial order. A task's result depends on nothing but its arguments, so the cluster
        may run them anywhere, in any order, twice after a lost worker: same bytes.
        """
        if self._model_future is None:
            self._model_future = self.client.scatter(self.model, broadcast=True)
        futures = [
            self.client.submit(
                _chunk, self._model_future, n, self.seed, s, None, self.method, pure=True
            )
            for s, n in chunks
        ]
        for future in futures:
            yield future.result()
            future.release()

    def chunks(self, chunks):
        """(start, finished bookings) per chunk, in order."""
        parts = (
            self.remote(chunks)
            if self.client is not None
            else (self.local(s, n) for s, n in chunks)
        )
        for (s, _), part in zip(chunks, parts, strict=True):
            yield s, self.finish(part, s)

    def finish(self, trials: np.ndarray, start: int) -> np.ndarray:
        """Scale by the trials' common factor, then add what is already booked (in place)."""
        if self.cal.market_shock > 0:
            n = trials.shape[0]
            trials *= market_factor(self.seed, start, n, self.cal.market_shock)[:, None]
        trials += self.model.booked[None, :]
        return trials


def _streamed_summary(parts, n_trials, nodes, *, rep_ids, quota, fractions, progress=False):
    """The summary of ``n_trials`` trials from ``parts()``: (first trial, finished bookings)
    per chunk in trial order; called once per pass."""
    has_quota = np.isfinite(quota)
    stream = SummaryStream(
        n_trials,
        len(nodes),
        quota=np.where(has_quota, quota, 0.0),
        fractions=tuple(fractions),
        n_bins=4096,
    )
    passes = [stream.scan] + ([stream.collect] if stream.needs_second_pass else [])
    bar = _progress(progress, n_trials * len(passes))
    try:
        for step in passes:
            for s, part in parts():
                step(rollup(part, nodes, rep_ids), s)
                if bar is not None:
                    bar.update(part.shape[0])
    finally:
        if bar is not None:
            bar.close()
    return stream.result()


#: A run that keeps its trials rolls them up to every node at once below this size (one
#: pass, the fastest); above it the summary streams over them chunk by chunk (same bytes).
ROLLUP_BYTES = 64 * 2**20


def memory_needed(n_trials: int, n_reps: int, n_nodes: int, chunk_trials: int = 20_000) -> int:
    """Bytes a run that keeps its trials holds at its peak: the trials × reps array, and the
    roll-up to every node (of all trials when small, of one chunk otherwise)."""
    rolled = 8 * n_trials * n_nodes
    if rolled > ROLLUP_BYTES:
        rolled = 16 * min(n_trials, chunk_trials) * n_nodes
    return 8 * n_trials * n_reps + rolled


def available_memory() -> int | None:
    """Bytes this machine can still give (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n_trials: int, n_reps: int, n_nodes: int) -> None:
    """Refuse, before allocating, a run that cannot fit in memory (with the figures)."""
    need = memory_needed(n_trials, n_reps, n_nodes)
    have = available_memory()
    if have is not None and need > 0.8 * have:
        fits = max(1, int(0.8 * have - 16 * 20_000 * n_nodes) // max(1, 8 * n_reps))
        raise ValueError(
            f"{n_trials:,} trials × {n_reps:,} reps need about {_gib(need)} of memory; "
            f"{_gib(have)} is available; use at most about {fits:,} trials on this machine"
        )


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


#: The key of the common-factor stream (no deal or rep slot uses it).
_SHOCK_KEY = np.uint64(0xFFFF_FFFF_FFFF_FF01)


def market_factor(seed: int, trial_start: int, n_trials: int, sd: float) -> np.ndarray:
    """The common factor of each trial: lognormal with mean 1 and log-sd ``sd``.

    A pure function of (seed, trial), like every other draw, so chunks and workers
    agree. It scales the simulated (not yet booked) amounts of every rep in the trial.
    """
    from scipy.special import ndtri

    u = counter_uniforms(seed, [_SHOCK_KEY], trial_start, n_trials, purpose="count")[:, 0]
    z = ndtri((u.astype(np.float64) + 0.5) / 2.0**32)
    return np.exp(sd * z - 0.5 * sd * sd)


def _chunk(model: Model, n: int, seed: int, start: int, threads, method) -> np.ndarray:
    """One Dask task: trials ``start .. start + n - 1`` (a pure function of its arguments)."""
    return simulate_bookings(
        model.deals, model.new, n, seed, trial_start=start, threads=threads, method=method
    )


def _progress(on: bool, total: int):
    if not on:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="trial", unit_scale=True, desc="simulating")


def _summary_frame(s: dict, nodes: pd.DataFrame, quota, fractions) -> pd.DataFrame:
    has_quota = np.isfinite(quota)
    for key in [k for k in s if k.startswith("p_ge_")]:  # no quota, no probability of reaching it
        s[key] = np.where(has_quota, s[key], np.nan)
    out = nodes[["node_id", "parent_id", "level", "name", "name_zh"]].copy()
    out["quota"] = quota
    out["mean"] = s["mean"]
    out["p10"], out["p50"], out["p90"] = s["p10"], s["p50"], s["p90"]
    for f in fractions:
        col = "p_attain" if f == 1.0 else f"p_ge_{int(round(f * 100))}"
        out[col] = s[f"p_ge_{f:g}"]
    order = {"company": 0, "region": 1, "team": 2, "rep": 3}
    out["_o"] = out["level"].map(order).fillna(9)
    return (
        out.sort_values(["_o", "node_id"], kind="stable").drop(columns="_o").reset_index(drop=True)
    )


# --------------------------------------------------------------------------- exact


def exact_bookings(
    amount,
    p,
    *,
    new_count_pmf=None,
    new_p: float = 0.0,
    size_pool=None,
    bucket: float | None = None,
    max_buckets: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact distribution of one rep's bookings, on a grid of amount buckets.

    Deals are independent: deal i adds ``amount[i]`` with probability ``p[i]``. Optionally
    new deals: a count N with pmf ``new_count_pmf``, each won with ``new_p`` and sized
    uniformly from ``size_pool``. Amounts are rounded to multiples of ``bucket``
    (exact when they already are); the product of characteristic functions is
    inverted by FFT on a grid long enough that nothing wraps around.

    Returns
    -------
    grid : amounts (multiples of ``bucket``)
    pmf : probability of each amount
    """
    amount = np.asarray(amount, dtype=float)
    p = np.asarray(p, dtype=float)
    pool = np.asarray(size_pool if size_pool is not None else [], dtype=float)
    n_pmf = np.asarray(new_count_pmf if new_count_pmf is not None else [1.0], dtype=float)
    top_new = (len(n_pmf) - 1) * (pool.max() if pool.size and new_p > 0 else 0.0)
    total_max = amount.sum() + top_new
    if bucket is None:
        bucket = max(total_max / (max_buckets // 2), 1.0) if total_max > 0 else 1.0
    steps = np.rint(amount / bucket).astype(np.int64)
    psteps = np.rint(pool / bucket).astype(np.int64) if pool.size else np.zeros(0, dtype=np.int64)
    M = int(steps.sum() + (len(n_pmf) - 1) * (psteps.max() if psteps.size and new_p > 0 else 0)) + 1
    L = 1 << max(int(math.ceil(math.log2(max(M, 2)))), 1)
    k = np.arange(L)
    # The characteristic function is the product over deals (|factor| <= 1, so an
    # underflow to 0 only where the true value is negligible); blocks bound memory.
    phi = np.ones(L, dtype=np.complex128)
    block = max(1, (1 << 22) // L)
    for i in range(0, len(steps), block):
        s = steps[i : i + block, None]
        q = p[i : i + block, None]
        phi *= (1.0 - q + q * np.exp(-2j * np.pi * (s * k[None, :] % L) / L)).prod(axis=0)
    if pool.size and new_p > 0 and len(n_pmf) > 1:
        size_pmf = np.bincount(psteps, minlength=L)[:L] / len(psteps)
        psi = np.fft.fft(size_pmf)
        z = 1.0 - new_p + new_p * psi  # one new deal: nothing, or a won deal of random size
        pgf = np.zeros(L, dtype=np.complex128)
        zn = np.ones(L, dtype=np.complex128)
        for n_prob in n_pmf:
            pgf += n_prob * zn
            zn *= z
        phi = phi * pgf
    pmf = np.real(np.fft.ifft(phi))[:M]
    pmf = np.clip(pmf, 0.0, None)
    pmf /= pmf.sum()
    return np.arange(M) * bucket, pmf

"""Targets from risk (SPEC R23): attainability, over-assignment for a confidence, fair quotas.

The attainment engine (:func:`simlib.simulate.simulate`) is run once per (period,
as_of, trials, seed) and kept in a :class:`TargetCache` with each node's bookings
sorted; a new set of targets is then checked in microseconds: ``P(X ≥ q)`` is a binary
search in the sorted trials.

Over-assignment for a confidence
--------------------------------
Assume each rep's bookings keep their simulated shape (spread, correlation with the
others) but are centred on the rep's quota: ``X_i(q) = q_i · X_i / E[X_i]``. With quotas
``q_i = T (1 + u) s_i`` (``s`` the reps' shares of the rep total, ``T`` the company
number), the company reaches ``T`` when ``(1 + u) · Σ s_i X_i / E[X_i] ≥ 1``, so the
smallest over-assignment with probability ``π`` is

    1 + u = 1 / quantile(Σ_i s_i X_i / E[X_i], 1 − π),

read off the same trials, exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simlib.money import from_cents, to_cents
from simlib.periods import parse_period
from simlib.simulate import rollup, simulate
from simlib.targets.allocate import fair_split_cents, quantile_at
from simlib.targets.history import build_history

__all__ = [
    "NodeTrials",
    "TargetCache",
    "node_trials",
    "probability_at_least",
    "uplift_for_confidence",
    "fair_quotas",
    "simulate_for_targets",
]


@dataclass(frozen=True)
class NodeTrials:
    """Simulated bookings of every node (rep, team, region, company) in one period.

    ``sorted`` is (n_trials × nodes), each column sorted ascending; ``trials`` the same
    in trial order (for sums across nodes); ``mean`` per node.
    """

    period: str
    node_ids: tuple[str, ...]
    trials: np.ndarray
    sorted: np.ndarray
    mean: np.ndarray
    n_trials: int
    seed: int

    def column(self, node_id: str) -> int:
        """The column of ``node_id`` in ``trials`` and ``sorted``."""
        return self._index[node_id]

    @property
    def _index(self) -> dict[str, int]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {n: i for i, n in enumerate(self.node_ids)}
            object.__setattr__(self, "_idx", idx)
        return idx

    def has(self, node_id: str) -> bool:
        """Whether ``node_id`` was simulated."""
        return node_id in self._index

    def sorted_of(self, node_id: str) -> np.ndarray:
        """The node's simulated bookings, sorted ascending."""
        return self.sorted[:, self._index[node_id]]

    def probability(self, node_ids: Sequence[str], amounts: Sequence[float]) -> np.ndarray:
        """``P(bookings ≥ amount)`` per node (NaN for a node not simulated)."""
        out = np.full(len(node_ids), np.nan)
        n = self.sorted.shape[0]
        for k, (node, q) in enumerate(zip(node_ids, amounts)):
            j = self._index.get(node)
            if j is not None and q == q:
                out[k] = (n - np.searchsorted(self.sorted[:, j], q, side="left")) / n
        return out

    def quantiles(self, node_ids: Sequence[str], levels=(0.1, 0.5, 0.9)) -> pd.DataFrame:
        """Quantiles of each node's bookings (NaN for a node not simulated)."""
        have = [self._index.get(n, -1) for n in node_ids]
        cols = np.array([max(j, 0) for j in have], dtype=np.intp)
        out = {}
        for lv in levels:
            v = quantile_at(self.sorted, lv)[cols] if len(cols) else np.zeros(0)
            out[f"p{int(round(lv * 100))}"] = np.where(np.array(have) >= 0, v, np.nan)
        return pd.DataFrame(out, index=pd.Index(list(node_ids), name="node_id"))

    def __repr__(self) -> str:
        return (
            f"NodeTrials({self.period}: {self.n_trials:,} trials × {len(self.node_ids)} nodes, "
            f"seed {self.seed})"
        )


def node_trials(result, period: str | None = None) -> NodeTrials:
    """Per-node bookings from a :class:`~simlib.simulate.SimulationResult`, sorted."""
    per_node = rollup(result.trials, result.nodes, result.rep_ids)
    ids = tuple(str(n) for n in result.nodes["node_id"])
    return NodeTrials(
        period=period or result.calibration.window.label,
        node_ids=ids,
        trials=per_node,
        sorted=np.sort(per_node, axis=0),
        mean=per_node.mean(axis=0),
        n_trials=int(result.n_trials),
        seed=int(result.seed),
    )


def probability_at_least(trials: np.ndarray, quota: float) -> float:
    """Share of trials at or above ``quota``."""
    x = np.asarray(trials, dtype=float)
    return float((x >= quota).mean())


def simulate_for_targets(data, period: str, as_of=None, *, n_trials: int = 10_000, seed: int = 0):
    """Simulate bookings in a target period with :func:`simlib.simulate.simulate`.

    ``as_of`` defaults to the data's own (the planner's today), not the day before the
    period: a 2027 plan made in November 2026 forecasts from November 2026.
    """
    window = parse_period(period)
    as_of = (
        as_of
        if as_of is not None
        else min(window.start - pd.Timedelta(days=1), pd.Timestamp(data.as_of))
    )
    return simulate(data, window, as_of, n_trials=n_trials, seed=seed)


class TargetCache:
    """Work that a workshop recompute reuses, for one dataset: histories and trials.

    Not global state: the caller owns it (a notebook app keeps one; the benchmark makes
    one) and passes it to :func:`simlib.targets.run_scenario`.

    Examples
    --------
    >>> cache = TargetCache(data)                       # doctest: +SKIP
    >>> run_scenario(scenario, data, cache=cache)      # slow the first time  # doctest: +SKIP
    >>> run_scenario(other, data, cache=cache)         # fast: reuses both  # doctest: +SKIP
    """

    def __init__(self, data):
        self.data = data
        self._histories: dict[tuple, object] = {}
        self._trials: dict[tuple, NodeTrials] = {}
        self._results: dict[tuple, object] = {}

    def state(self) -> tuple[dict, dict, dict]:
        """What has been computed so far (histories, trials, simulations), to keep on disk."""
        return dict(self._histories), dict(self._trials), dict(self._results)

    def restore(self, state: tuple[dict, dict, dict]) -> TargetCache:
        """Take back what :meth:`state` gave, for the same dataset; returns ``self``."""
        histories, trials, results = state
        self._histories.update(histories)
        self._trials.update(trials)
        self._results.update(results)
        return self

    def history(self, year: int, as_of=None, base_year: int | None = None, ramp_months: int = 6):
        """The :class:`~simlib.targets.history.History` for these settings, built once."""
        key = (int(year), _date(as_of), base_year, int(ramp_months))
        if key not in self._histories:
            self._histories[key] = build_history(
                self.data, year, as_of=as_of, base_year=base_year, ramp_months=ramp_months
            )
        return self._histories[key]

    def trials(self, period: str, as_of=None, n_trials: int = 10_000, seed: int = 0) -> NodeTrials:
        """Every node's simulated bookings in ``period``, simulated once."""
        key = (str(period), _date(as_of), int(n_trials), int(seed))
        if key not in self._trials:
            res = simulate_for_targets(self.data, period, as_of, n_trials=n_trials, seed=seed)
            self._results[key] = res
            self._trials[key] = node_trials(res, str(period))
        return self._trials[key]

    def simulation(self, period: str, as_of=None, n_trials: int = 10_000, seed: int = 0):
        """The cached :class:`~simlib.simulate.SimulationResult` behind :meth:`trials`."""
        self.trials(period, as_of, n_trials, seed)
        return self._results[(str(period), _date(as_of), int(n_trials), int(seed))]

    def __repr__(self) -> str:
        return (
            f"TargetCache({self.data.source!r}: {len(self._histories)} histories, "
            f"{len(self._trials)} simulations)"
        )


def _date(x) -> dt.date | None:
    return None if x is None else pd.Timestamp(x).date()


def uplift_for_confidence(
    rep_trials: np.ndarray,
    shares: Sequence[float],
    confidence: float = 0.8,
    *,
    mean: np.ndarray | None = None,
) -> float:
    """The over-assignment ``u`` that gives the company its number with probability ``π``.

    Parameters
    ----------
    rep_trials : numpy.ndarray, shape (n_trials, reps)
        Simulated bookings per rep (trial order: the reps' joint outcomes).
    shares : sequence of float
        Each rep's share of the rep total (any scale; normalised).
    confidence : float
        ``π`` in (0, 1).
    mean : numpy.ndarray, optional
        The column means of ``rep_trials`` if already known.

    Returns
    -------
    float
        ``1 / quantile(Σ s_i X_i / E[X_i], 1 − π) − 1`` (see the module docstring); may be
        negative for ``π`` below one half.

    Examples
    --------
    One rep booking 100 in 8 trials of 10 and 50 in 2 (mean 90): the 20% quantile of
    ``X / E[X]`` is exactly 1, so reaching the number in 80% of trials needs no
    over-assignment.

    >>> x = np.array([[100.0]] * 8 + [[50.0]] * 2)
    >>> round(uplift_for_confidence(x, [1.0], 0.8), 6)
    0.0
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    x = np.asarray(rep_trials, dtype=float)
    s = np.asarray(shares, dtype=float)
    mean = x.mean(axis=0) if mean is None else np.asarray(mean, dtype=float)
    ok = (mean > 0) & (s > 0)
    if not ok.any():
        raise ValueError("no rep has both a positive share and positive simulated bookings")
    coef = np.zeros(s.size)
    coef[ok] = s[ok] / s[ok].sum() / mean[ok]
    z = x @ coef
    k = float(np.quantile(z, 1.0 - confidence))
    if k <= 0:
        raise ValueError(
            f"the company reaches nothing in {1 - confidence:.0%} of trials; no "
            "over-assignment gives that confidence"
        )
    return 1.0 / k - 1.0


def fair_quotas(trials: np.ndarray, total: float, ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Quotas that give every rep the same probability of attainment and sum to ``total``.

    Each rep's quota is the quantile ``1 − p`` of their simulated bookings, with the
    common ``p`` found by root-finding so the quotas sum to the total; then rescaled to
    the total and rounded to cents (largest remainder). See
    :func:`simlib.targets.allocate.fair_split_cents`.

    Returns
    -------
    pandas.DataFrame
        rep_id, quota, p_attain (on these trials), target_probability (the common ``p``).
    """
    x = np.sort(np.asarray(trials, dtype=float), axis=0)
    res = fair_split_cents(to_cents(float(total)), x)
    quota = from_cents(res.cents)
    ids = list(ids) if ids is not None else list(range(x.shape[1]))
    n = x.shape[0]
    p = [(n - np.searchsorted(x[:, j], quota[j], side="left")) / n for j in range(x.shape[1])]
    return pd.DataFrame(
        {"rep_id": ids, "quota": quota, "p_attain": p, "target_probability": res.level}
    )


def rep_trial_matrix(nt: NodeTrials, rep_ids: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The (trials × reps) bookings of the reps that were simulated, in the order given.

    Kept on ``nt`` for the next call with the same reps (a recompute reuses it).
    """
    memo = nt.__dict__.setdefault("_rep_blocks", {})
    key = tuple(rep_ids)
    if key not in memo:
        have = [r for r in rep_ids if nt.has(r)]
        cols = [nt.column(r) for r in have]
        memo[key] = (np.ascontiguousarray(nt.trials[:, cols]), have)
    return memo[key]


def sorted_columns(nt: NodeTrials, node_ids: Sequence[str]) -> Mapping[str, np.ndarray]:
    """node id → its sorted trials, for the nodes that were simulated."""
    return {n: nt.sorted[:, nt.column(n)] for n in node_ids if nt.has(n)}

"""The team bonus pool (R14): funded from team results, split by rank or score.

:func:`allocate_pool` is the exact path: the pool is rounded to the cent once and
split by largest remainder, so the shares sum to the pool exactly.
:func:`pool_payouts` is the float path over trials, for cost modelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from simlib.money import allocate_cents
from simlib.plans.inputs import _money
from simlib.plans.spec import PoolSpec, exact, fmt_rate
from simlib.plans.statements import _fmt_cents, _round_cents

__all__ = ["PoolShare", "PoolResult", "allocate_pool", "pool_payouts"]


@dataclass(frozen=True)
class PoolShare:
    """One rep's place in the pool."""

    rep_id: str
    rank: int
    metric: float
    weight: float
    cents: int
    review: bool
    note: str = ""

    @property
    def amount(self) -> Decimal:
        """The share, exact to the cent."""
        return Decimal(self.cents).scaleb(-2)


@dataclass(frozen=True, repr=False)
class PoolResult:
    """A bonus pool split among a team; ``shares`` sum to ``pool_cents`` exactly
    (unless nobody is eligible, when the whole pool is ``unallocated_cents``)."""

    pool: str
    funding_base: float
    pool_cents: int
    shares: tuple[PoolShare, ...]
    unallocated_cents: int = 0

    @property
    def review(self) -> tuple[str, ...]:
        """Reps flagged for review (the bottom of the ranking)."""
        return tuple(s.rep_id for s in self.shares if s.review)

    def cents_by_rep(self) -> dict[str, int]:
        """Rep → share in cents."""
        return {s.rep_id: s.cents for s in self.shares}

    def to_frame(self) -> pd.DataFrame:
        """One row per rep: rank, metric, weight, amount, review flag, note."""
        return pd.DataFrame(
            [
                {
                    "rep_id": s.rep_id,
                    "rank": s.rank,
                    "metric": s.metric,
                    "weight": s.weight,
                    "amount": s.cents / 100,
                    "cents": s.cents,
                    "review": s.review,
                    "note": s.note,
                }
                for s in self.shares
            ],
            columns=["rep_id", "rank", "metric", "weight", "amount", "cents", "review", "note"],
        )

    def __repr__(self) -> str:
        head = (
            f"PoolResult({self.pool}: pool {_fmt_cents(self.pool_cents)} from team result "
            f"{_fmt_cents(_round_cents(exact(self.funding_base)))})"
        )
        rows = [
            f"  #{s.rank:<3} {s.rep_id:<12} {_fmt_cents(s.cents):>14}"
            + ("  review" if s.review else "")
            + (f"  ({s.note})" if s.note else "")
            for s in self.shares
        ]
        if self.unallocated_cents:
            rows.append(f"  unallocated {_fmt_cents(self.unallocated_cents)}")
        return "\n".join([head, *rows])


def _results_frame(results) -> pd.DataFrame:
    if isinstance(results, Mapping):
        return pd.DataFrame({"rep_id": list(results), "result": list(results.values())})
    df = (
        results.rename(columns={"owner_id": "rep_id"})
        if "rep_id" not in results.columns
        else results
    )
    missing = [c for c in ("rep_id", "result") if c not in df.columns]
    if missing:
        raise ValueError(f"results is missing column(s) {missing}; it has {list(results.columns)}")
    return df


def allocate_pool(pool: PoolSpec, results, *, team_result: float | None = None) -> PoolResult:
    """Fund and split the bonus pool among a team, exactly to the cent.

    Parameters
    ----------
    pool : PoolSpec
    results : DataFrame or mapping
        ``rep_id``, ``result`` (the ``funded_on`` measure for the period), plus
        ``quota`` when ranking by attainment (or ``attainment`` directly) and ``score``
        when ranking or splitting by score. A mapping rep → result is enough when
        ranking by result.
    team_result : float, optional
        The funding base; defaults to the sum of ``result``.

    Returns
    -------
    PoolResult
        Ranked best first. Equal metrics share the same rank and the same share (the
        average of the shares of the places they occupy). The bottom
        ``review_bottom`` ranks are flagged and paid nothing (ties at the boundary are
        all flagged).
    """
    df = _results_frame(results)
    ids = [str(r) for r in df["rep_id"]]
    if len(set(ids)) != len(ids):
        raise ValueError("results lists a rep more than once")
    res = [_money(v, f"result of {r}") for r, v in zip(ids, df["result"])]
    base = exact(float(team_result)) if team_result is not None else sum(res, Fraction(0))
    pool_cents = _round_cents(exact(pool.funding_rate) * base)

    def col(name):
        if name not in df.columns:
            raise ValueError(
                f"pool {pool.name or '?'} ranks by {pool.rank_by}: results needs a {name!r} column"
            )
        return [exact(float(v)) for v in df[name]]

    attainment = None
    if "attainment" in df.columns:
        attainment = col("attainment")
    elif "quota" in df.columns:
        attainment = [r / q if q > 0 else Fraction(0) for r, q in zip(res, col("quota"))]
    if pool.rank_by == "attainment":
        if attainment is None:
            raise ValueError("pool ranks by attainment: results needs 'quota' or 'attainment'")
        metric = attainment
    elif pool.rank_by == "result":
        metric = res
    else:
        metric = col("score")
    if pool.min_attainment is not None and attainment is None:
        raise ValueError("pool has min_attainment: results needs 'quota' or 'attainment'")

    n = len(ids)
    rank = [1 + sum(1 for m in metric if m > mi) for mi in metric]
    review = [False] * n
    if pool.review_bottom and n:
        cut = sorted(metric)[min(pool.review_bottom, n) - 1]
        review = [m <= cut for m in metric]
    notes = ["bottom of the ranking: review" if r else "" for r in review]
    eligible = [not r for r in review]
    if pool.min_attainment is not None:
        for k in range(n):
            if eligible[k] and attainment[k] < exact(pool.min_attainment):
                eligible[k] = False
                notes[k] = f"below {fmt_rate(pool.min_attainment)} attainment"

    weights = [Fraction(0)] * n
    elig = [k for k in range(n) if eligible[k]]
    if pool.split == "score":
        for k in elig:
            weights[k] = max(metric[k], Fraction(0))
    else:
        shares = [exact(s) for s in pool.shares]
        m = len(elig)
        rest = (
            (1 - sum(shares, Fraction(0))) / (m - len(shares)) if m > len(shares) else Fraction(0)
        )
        if shares:
            # an unlisted rank never gets more than the last listed one; the pool is
            # still paid in full (the weights are rescaled by the allocation)
            rest = min(rest, shares[-1])
        place = [shares[p] if p < len(shares) else rest for p in range(m)]
        order = sorted(elig, key=lambda k: -metric[k])
        p = 0
        while p < m:  # equal metrics share the average of their places
            q = p
            while q + 1 < m and metric[order[q + 1]] == metric[order[p]]:
                q += 1
            avg = sum(place[p : q + 1], Fraction(0)) / (q - p + 1)
            for k in order[p : q + 1]:
                weights[k] = avg
            p = q + 1
    total_w = sum(weights, Fraction(0))
    if total_w > 0 and pool_cents > 0:
        cents = allocate_cents(pool_cents, [float(w / total_w) for w in weights]).tolist()
        unallocated = 0
    else:
        cents, unallocated = [0] * n, pool_cents
    rows = [
        PoolShare(
            ids[k],
            rank[k],
            float(metric[k]),
            float(weights[k] / total_w) if total_w else 0.0,
            int(cents[k]),
            review[k],
            notes[k],
        )
        for k in range(n)
    ]
    rows.sort(key=lambda s: (s.rank, s.rep_id))
    return PoolResult(pool.name or "bonus_pool", float(base), pool_cents, tuple(rows), unallocated)


def pool_payouts(pool: PoolSpec, results, quota=None, scores=None) -> np.ndarray:
    """The pool over trials: (T, R) float payout per rep (ties not averaged).

    Parameters
    ----------
    results : array_like, shape (T, R)
        Each rep's ``funded_on`` result per trial.
    quota : array_like, shape (R,), optional
        For ranking by attainment and for ``min_attainment``.
    scores : array_like, shape (T, R) or (R,), optional
        For ranking or splitting by score.
    """
    x = np.asarray(results, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    T, R = x.shape
    q = None if quota is None else np.broadcast_to(np.asarray(quota, float), (R,))
    if pool.rank_by == "attainment" or pool.min_attainment is not None:
        if q is None:
            raise ValueError("pool ranks or gates by attainment: pass quota")
    if pool.rank_by == "attainment":
        metric = x / q
    elif pool.rank_by == "result":
        metric = x
    else:
        if scores is None:
            raise ValueError("pool ranks by score: pass scores")
        metric = np.broadcast_to(np.asarray(scores, float), (T, R))
    order = np.argsort(-metric, axis=1)
    paid = max(0, R - pool.review_bottom)
    if pool.split == "rank":
        shares = np.array(pool.shares[:paid], dtype=np.float64)
        w_pos = np.zeros(R)
        w_pos[: len(shares)] = shares
        if paid > len(shares):
            rest = (1.0 - float(np.sum(pool.shares))) / (paid - len(shares))
            w_pos[len(shares) : paid] = min(rest, pool.shares[-1]) if pool.shares else rest
        w = np.empty((T, R))
        np.put_along_axis(w, order, np.broadcast_to(w_pos, (T, R)), axis=1)
    else:
        keep = np.zeros(R)
        keep[:paid] = 1.0
        mask = np.empty((T, R))
        np.put_along_axis(mask, order, np.broadcast_to(keep, (T, R)), axis=1)
        w = np.maximum(metric, 0.0) * mask
    if pool.min_attainment is not None:
        w = np.where(x >= pool.min_attainment * q, w, 0.0)
    total_w = w.sum(axis=1, keepdims=True)
    fund = pool.funding_rate * x.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total_w > 0, fund * w / total_w, 0.0)

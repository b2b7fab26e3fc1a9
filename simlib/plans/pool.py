"""The team bonus pool (R14): funded from team results, split by rank or score.

:func:`allocate_pool` is the exact path: the pool is rounded to the cent once, the
holdback is rounded to the cent, and what is left is split by largest remainder, so
paid + holdback + unallocated = funded pool (+ money carried in) exactly.
:func:`allocate_pool_periods` chains periods, carrying unallocated money forward
(``unallocated: carry_forward``). :func:`pool_flows` / :func:`pool_payouts` are the
float path over trials, for cost modelling; they agree with the exact path to the cent.

Funding rules (see :class:`~simlib.plans.spec.PoolSpec`):

- ``funded_above`` / ``funding_base``: funded only when team result / team quota
  reaches the threshold (``>=``); on the whole result (``total``) or only on the result
  above the threshold (``excess``).
- ``holdback``: a share of the funded pool held back (rounded half up to the cent).
- ``unallocated``: ``split`` (the paid reps share the whole pool by the pool's own
  rule; nobody paid → company), ``company`` or ``carry_forward`` (every rep keeps their
  place; the places of reps not paid and what the places leave go to the company, or
  to the next period's pool). A period that is not funded carries money carried into
  it on to the next period (under ``carry_forward``); it is never paid in an unfunded
  period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from simlib.plans.inputs import _money
from simlib.plans.spec import PoolSpec, exact, fmt_rate
from simlib.plans.statements import _fmt_cents, _round_cents

__all__ = [
    "PoolShare",
    "PoolResult",
    "PoolFlows",
    "allocate_pool",
    "allocate_pool_periods",
    "pool_flows",
    "pool_payouts",
]

#: Where unallocated money went (``PoolResult.unallocated_to``).
COMPANY, CARRY_FORWARD = "company", "carry_forward"


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
    """A bonus pool split among a team, exact to the cent.

    ``pool_cents`` is the funded pool (0 when not funded); ``holdback_cents`` is held
    back from it; ``carried_in_cents`` came from earlier periods. The shares,
    the holdback and ``unallocated_cents`` sum to ``pool_cents + carried_in_cents``
    exactly; ``unallocated_to`` says where the unallocated money went (``company`` or
    ``carry_forward``).
    """

    pool: str
    funding_base: float
    pool_cents: int
    shares: tuple[PoolShare, ...]
    unallocated_cents: int = 0
    funded: bool = True
    team_result: float | None = None
    team_quota: float | None = None
    holdback_cents: int = 0
    carried_in_cents: int = 0
    unallocated_to: str = ""
    note: str = ""

    @property
    def team_attainment(self) -> float | None:
        """Team result / team quota (None without a team quota)."""
        if self.team_quota is None or self.team_result is None or self.team_quota <= 0:
            return None
        return self.team_result / self.team_quota

    @property
    def paid_cents(self) -> int:
        """What the reps receive this period."""
        return sum(s.cents for s in self.shares)

    @property
    def split_cents(self) -> int:
        """What was split among the reps: funded pool − holdback + carried in (0 when
        the pool is not funded)."""
        if not self.funded:
            return 0
        return self.pool_cents - self.holdback_cents + self.carried_in_cents

    @property
    def carried_out_cents(self) -> int:
        """What goes to the next period's pool."""
        return self.unallocated_cents if self.unallocated_to == CARRY_FORWARD else 0

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
        team = self.funding_base if self.team_result is None else self.team_result
        head = (
            f"PoolResult({self.pool}: pool {_fmt_cents(self.pool_cents)} from team result "
            f"{_fmt_cents(_round_cents(exact(team)))})"
        )
        if self.note:
            head += f"\n  {self.note}"
        rows = []
        if self.carried_in_cents:
            rows.append(f"  carried in {_fmt_cents(self.carried_in_cents)}")
        if self.holdback_cents:
            rows.append(f"  held back {_fmt_cents(self.holdback_cents)}")
        rows += [
            f"  #{s.rank:<3} {s.rep_id:<12} {_fmt_cents(s.cents):>14}"
            + ("  review" if s.review else "")
            + (f"  ({s.note})" if s.note else "")
            for s in self.shares
        ]
        if self.unallocated_cents:
            where = "carried forward" if self.unallocated_to == CARRY_FORWARD else "to the company"
            rows.append(f"  unallocated {_fmt_cents(self.unallocated_cents)} ({where})")
        return "\n".join([head, *rows])


# --------------------------------------------------------------------------- exact


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


def _split_cents(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Largest remainder in exact arithmetic (ties: larger weight, then position)."""
    s = sum(weights, Fraction(0))
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    quotas = [total * w / s for w in weights]
    parts = [math.floor(q) for q in quotas]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - parts[i]), -weights[i], i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def _places(shares: Sequence[Fraction], m: int) -> list[Fraction]:
    """The pool fraction of each of ``m`` places: the listed shares, then what they
    leave split equally (never more than the last listed share)."""
    rest = (1 - sum(shares, Fraction(0))) / (m - len(shares)) if m > len(shares) else Fraction(0)
    if shares:
        rest = min(rest, shares[-1])
    return [shares[p] if p < len(shares) else rest for p in range(m)]


def _rank_weights(order: list[int], metric: list[Fraction], place: list[Fraction], n: int):
    """Weights by place for reps in ``order`` (best first); ties share the average."""
    weights = [Fraction(0)] * n
    m = len(order)
    p = 0
    while p < m:
        q = p
        while q + 1 < m and metric[order[q + 1]] == metric[order[p]]:
            q += 1
        avg = sum(place[p : q + 1], Fraction(0)) / (q - p + 1)
        for k in order[p : q + 1]:
            weights[k] = avg
        p = q + 1
    return weights


def _pct_text(x: Fraction) -> str:
    return f"{float(x) * 100:.1f}%"


def allocate_pool(
    pool: PoolSpec,
    results,
    *,
    team_result: float | None = None,
    team_quota: float | None = None,
    carried_in: float | str | Decimal = 0,
) -> PoolResult:
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
        The team's result; defaults to the sum of ``result``.
    team_quota : float, optional
        The team's quota, for ``funded_above``; defaults to the sum of ``quota``.
    carried_in : amount, optional
        Unallocated money carried from the previous period (``carry_forward``); it is
        split with this period's pool when the pool is funded, and carried on when not.

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
    carry = _round_cents(_money(carried_in, "carried_in"))
    team = exact(float(team_result)) if team_result is not None else sum(res, Fraction(0))

    def col(name):
        if name not in df.columns:
            raise ValueError(
                f"pool {pool.name or '?'} ranks by {pool.rank_by}: results needs a {name!r} column"
            )
        return [exact(float(v)) for v in df[name]]

    # --- funding
    tq = None
    if team_quota is not None:
        tq = exact(float(team_quota))
    elif "quota" in df.columns:
        tq = sum(col("quota"), Fraction(0))
    funded, note = True, ""
    base = max(team, Fraction(0))
    if pool.funded_above is not None:
        if tq is None or tq <= 0:
            raise ValueError(
                f"pool {pool.name or '?'} is funded above {fmt_rate(pool.funded_above)} of the "
                "team quota: pass team_quota (or a 'quota' column); "
                + ("it is 0" if tq is not None else "there is none")
            )
        threshold = exact(pool.funded_above) * tq
        funded = team >= threshold
        if not funded:
            note = (
                f"team at {_pct_text(team / tq)} of quota, below the "
                f"{fmt_rate(pool.funded_above)} funding threshold: the pool is not funded"
            )
            base = Fraction(0)
        elif pool.funding_base == "excess":
            base = team - threshold
    pool_cents = _round_cents(exact(pool.funding_rate) * base) if funded else 0
    holdback = _round_cents(exact(pool.holdback) * pool_cents / 100)
    to_split = pool_cents - holdback + carry if funded else 0

    # --- ranking
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
    elig = [k for k in range(n) if eligible[k]]

    # --- weights: fractions of the split pool
    shares = [exact(s) for s in pool.shares]
    if pool.unallocated == "split":  # the pool's rule among the paid reps alone
        if pool.split == "score":
            weights = [
                max(metric[k], Fraction(0)) if eligible[k] else Fraction(0) for k in range(n)
            ]
        else:
            order = sorted(elig, key=lambda k: -metric[k])
            weights = _rank_weights(order, metric, _places(shares, len(elig)), n)
        total_w = sum(weights, Fraction(0))
        weights = [w / total_w for w in weights] if total_w > 0 else [Fraction(0)] * n
    else:  # every rep keeps their place; the places of reps not paid are unallocated
        if pool.split == "score":
            raw = [max(m, Fraction(0)) for m in metric]
            total_w = sum(raw, Fraction(0))
            nominal = [w / total_w for w in raw] if total_w > 0 else [Fraction(0)] * n
        else:
            order = sorted(range(n), key=lambda k: -metric[k])
            nominal = _rank_weights(order, metric, _places(shares, n), n)
        weights = [nominal[k] if eligible[k] else Fraction(0) for k in range(n)]
    rest = 1 - sum(weights, Fraction(0))
    parts = _split_cents(to_split, [*weights, rest]) if to_split > 0 else [0] * (n + 1)
    cents, unallocated = parts[:n], parts[n]
    if not funded:
        unallocated = carry
    to = ""
    if unallocated:
        to = CARRY_FORWARD if pool.unallocated == CARRY_FORWARD else COMPANY
    if carry and not funded and pool.unallocated == CARRY_FORWARD:
        note += f"; {_fmt_cents(carry)} carried in is carried on to the next period"
    rows = [
        PoolShare(
            ids[k],
            rank[k],
            float(metric[k]),
            float(weights[k]),
            int(cents[k]),
            review[k],
            notes[k],
        )
        for k in range(n)
    ]
    rows.sort(key=lambda s: (s.rank, s.rep_id))
    return PoolResult(
        pool.name or "bonus_pool",
        float(base),
        pool_cents,
        tuple(rows),
        int(unallocated),
        funded=funded,
        team_result=float(team),
        team_quota=None if tq is None else float(tq),
        holdback_cents=holdback,
        carried_in_cents=carry,
        unallocated_to=to,
        note=note,
    )


def allocate_pool_periods(
    pool: PoolSpec,
    periods: Sequence,
    *,
    team_results: Sequence[float | None] | None = None,
    team_quotas: Sequence[float | None] | None = None,
    carried_in: float | str | Decimal = 0,
) -> list[PoolResult]:
    """The pool over consecutive periods, each period's carried-out money (under
    ``unallocated: carry_forward``) added to the next period's pool.

    ``periods`` is a sequence of ``results`` as :func:`allocate_pool` takes them, oldest
    first; ``team_results`` / ``team_quotas`` optionally one per period.
    """
    out: list[PoolResult] = []
    carry = Fraction(_round_cents(_money(carried_in, "carried_in")), 100)
    for i, results in enumerate(periods):
        r = allocate_pool(
            pool,
            results,
            team_result=None if team_results is None else team_results[i],
            team_quota=None if team_quotas is None else team_quotas[i],
            carried_in=Decimal(carry.numerator) / Decimal(carry.denominator),
        )
        out.append(r)
        carry = Fraction(r.carried_out_cents, 100)
    return out


# --------------------------------------------------------------------------- trials

#: Relative tolerance for equal attainments and thresholds in floats: ratios that are
#: equal as decimals can differ in the last bits once divided in binary.
_REL = 1e-12


@dataclass(frozen=True)
class PoolFlows:
    """The pool over trials (float, yuan): where every yuan of the pool went.

    ``paid.sum(axis=1) + holdback + unallocated == pool + carried_in`` per trial (to
    float precision). Attributes are arrays over trials ``(T,)`` except ``paid``
    ``(T, R)``.
    """

    funded: np.ndarray
    base: np.ndarray
    pool: np.ndarray
    holdback: np.ndarray
    carried_in: np.ndarray
    paid: np.ndarray
    unallocated: np.ndarray
    unallocated_to: str


def _round_half_up(v: np.ndarray) -> np.ndarray:
    """Amounts ≥ 0 to the cent, half up, forgiving the binary error of a product of
    decimals (so 0.05 × 0.1 rounds as 0.005 does)."""
    c = v * 100.0
    return np.floor(c + 0.5 + 1e-7 + np.abs(c) * 1e-14) / 100.0


def _snap_ties(metric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metrics within ``_REL`` of their neighbour in the ranking made equal, and the
    ranking (best first; it holds for the snapped metrics too)."""
    order = np.argsort(-metric, axis=1, kind="stable")
    s = np.take_along_axis(metric, order, axis=1)
    new = np.ones(s.shape, dtype=bool)
    new[:, 1:] = s[:, 1:] < s[:, :-1] - _REL * np.abs(s[:, :-1])
    start = np.where(new, np.arange(s.shape[1])[None, :], 0)
    start = np.maximum.accumulate(start, axis=1)
    canon = np.take_along_axis(s, start, axis=1)
    out = np.empty_like(metric)
    np.put_along_axis(out, order, canon, axis=1)
    return out, order


def _place_weights(
    key: np.ndarray, n_places: np.ndarray, shares: np.ndarray, order: np.ndarray | None = None
) -> np.ndarray:
    """(T, R) weights by place: reps ordered by ``key`` (best first, -inf last), the
    first ``n_places`` (per trial) places paid the listed shares then an equal rest
    (capped at the last share); equal keys share the average of their places."""
    T, R = key.shape
    L = len(shares)
    if order is None:
        order = np.argsort(-key, axis=1, kind="stable")
    s = np.take_along_axis(key, order, axis=1)
    pos = np.arange(R)[None, :]
    m = n_places[:, None].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = np.where(m > L, (1.0 - float(shares.sum())) / (m - L), 0.0)
    if L:
        rest = np.minimum(rest, shares[-1])
    padded = np.zeros(R)
    padded[: min(L, R)] = shares[:R]
    w = np.where(pos < L, padded[None, :], rest) * (pos < n_places[:, None])
    new = np.ones((T, R), dtype=bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    if not new.all():  # ties: the average of their places
        gid = np.cumsum(new, axis=1) - 1 + (np.arange(T) * R)[:, None]
        sums = np.bincount(gid.ravel(), weights=w.ravel(), minlength=T * R)
        cnt = np.bincount(gid.ravel(), minlength=T * R)
        w = (sums / np.maximum(cnt, 1))[gid]
    out = np.empty((T, R))
    np.put_along_axis(out, order, w, axis=1)
    return out


def pool_flows(
    pool: PoolSpec,
    results,
    quota=None,
    scores=None,
    *,
    team_result=None,
    team_quota=None,
    carried_in=0.0,
) -> PoolFlows:
    """The pool over trials, with its funding rules, in float (yuan).

    Parameters
    ----------
    results : array_like, shape (T, R)
        Each rep's ``funded_on`` result per trial.
    quota : array_like, shape (R,), optional
        For ranking by attainment, ``min_attainment`` and (summed) ``funded_above``.
    scores : array_like, shape (T, R) or (R,), optional
        For ranking or splitting by score.
    team_result : array_like, shape (T,) or scalar, optional
        The team's result; defaults to the sum of ``results``.
    team_quota : float, optional
        The team's quota for ``funded_above``; defaults to the sum of ``quota``.
    carried_in : array_like, shape (T,) or scalar
        Money carried in from the previous period.

    The same rules as :func:`allocate_pool`; each amount is within a cent of the exact
    path's (the pool and the holdback are rounded to the cent as there).
    """
    x = np.asarray(results, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    T, R = x.shape
    q = None if quota is None else np.broadcast_to(np.asarray(quota, float), (R,))
    if pool.rank_by == "attainment" or pool.min_attainment is not None:
        if q is None:
            raise ValueError("pool ranks or gates by attainment: pass quota")
    team = (
        x.sum(axis=1)
        if team_result is None
        else np.broadcast_to(np.asarray(team_result, float), (T,)).copy()
    )
    carry = np.broadcast_to(np.asarray(carried_in, float), (T,))
    funded = np.ones(T, dtype=bool)
    base = np.maximum(team, 0.0)
    if pool.funded_above is not None:
        tq = float(np.sum(q)) if team_quota is None and q is not None else team_quota
        if tq is None or tq <= 0:
            raise ValueError(
                f"pool {pool.name or '?'} is funded above {fmt_rate(pool.funded_above)} of the "
                "team quota: pass team_quota (or quota)"
            )
        threshold = pool.funded_above * float(tq)
        funded = team >= threshold - 1e-7 - _REL * abs(threshold)
        base = np.where(funded, base, 0.0)
        if pool.funding_base == "excess":
            base = np.where(funded, np.maximum(team - threshold, 0.0), 0.0)
    fund = np.where(funded, _round_half_up(pool.funding_rate * base), 0.0)
    holdback = _round_half_up(pool.holdback * fund) if pool.holdback else np.zeros(T)
    to_split = np.where(funded, fund - holdback + carry, 0.0)

    att = None
    if q is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            att = np.where(q > 0, x / np.where(q > 0, q, 1.0), 0.0)
    if pool.rank_by == "attainment":
        metric = att
        key, order = _snap_ties(att)
    elif pool.rank_by == "result":
        metric = key = x
    else:
        if scores is None:
            raise ValueError("pool ranks by score: pass scores")
        metric = key = np.broadcast_to(np.asarray(scores, float), (T, R))
    if pool.rank_by != "attainment":
        order = np.argsort(-key, axis=1, kind="stable")  # best first, once
    review = np.zeros((T, R), dtype=bool)
    if pool.review_bottom and R:
        cut = np.take_along_axis(key, order[:, R - min(pool.review_bottom, R)][:, None], axis=1)
        review = key <= cut
    eligible = ~review
    if pool.min_attainment is not None:
        m = pool.min_attainment
        eligible &= att >= m - _REL * max(1.0, abs(m))
    shares = np.asarray(pool.shares, dtype=np.float64)
    if pool.unallocated == "split":
        if pool.split == "score":
            w = np.maximum(metric, 0.0) * eligible
        else:
            # without min_attainment the unpaid are the bottom ranks: the order stands
            same = order if pool.min_attainment is None else None
            w = _place_weights(np.where(eligible, key, -np.inf), eligible.sum(axis=1), shares, same)
        total_w = w.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(total_w > 0, w / total_w, 0.0)
    else:
        if pool.split == "score":
            raw = np.maximum(metric, 0.0)
            total_w = raw.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                w = np.where(total_w > 0, raw / total_w, 0.0)
        else:
            w = _place_weights(key, np.full(T, R), shares, order)
        w = w * eligible
    paid = to_split[:, None] * w
    unallocated = np.where(funded, to_split - paid.sum(axis=1), carry)
    unallocated = np.maximum(unallocated, 0.0)
    to = CARRY_FORWARD if pool.unallocated == CARRY_FORWARD else COMPANY
    return PoolFlows(funded, base, fund, holdback, carry.copy(), paid, unallocated, to)


def pool_payouts(pool: PoolSpec, results, quota=None, scores=None, **rules) -> np.ndarray:
    """The pool over trials: (T, R) float payout per rep (see :func:`pool_flows`)."""
    return pool_flows(pool, results, quota, scores, **rules).paid

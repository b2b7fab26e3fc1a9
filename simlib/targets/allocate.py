"""Split a parent's number among its children, exactly to the cent; cascade it down.

The split of one parent
-----------------------
Children share ``total = parent × (1 + uplift)`` (the over-assignment of their level).
Locked children keep their amount; the others share the rest in proportion to their
weights ``w`` (the blend of the methods), each held within its growth bounds
``[last_year × (1 + floor), last_year × (1 + cap)]`` when it has a comparable last year:

    target_i = clip(λ · w_i, lo_i, hi_i),   λ such that the targets sum to the rest.

``λ`` is found exactly (the sum is piecewise linear in ``λ``; the breakpoints are
sorted and the crossing segment solved) — the fixed point of "clamp the children that
break a bound and re-spread the rest until nothing moves". Children at a bound get
their bound in whole cents (floor rounded up, cap rounded down); the rest is split in
cents by largest remainder (:func:`simlib.money.allocate_cents`), and if rounding put a
child one cent past its bound it is clamped and the rest re-spread again. The children
always sum to the total exactly; children are processed sorted by id, so the order the
rows came in never matters.

Methods (each gives a share of the parent's children; see :mod:`~simlib.targets.history`)
-----------------------------------------------------------------------------------------
historical  share of last year's won revenue
potential   share of the accounts' annual contract value (or a potential override)
equal       the same for every child
capacity    share of ramped headcount × productivity
blend       ``Σ_k weight_k · share_k / Σ_k weight_k`` over the methods that have any signal
            among the children (a method whose inputs are all 0 is left out and the
            others renormalised; if none is left, equal)

A focus region's blended share is multiplied by ``1 + focus_weight`` before the split.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from simlib.money import allocate_cents, from_cents, to_cents
from simlib.targets.history import History
from simlib.targets.params import GrowthBounds, MethodWeights, Uplift

__all__ = [
    "METHODS",
    "AllocationError",
    "Split",
    "split",
    "split_cents",
    "fair_split_cents",
    "growth_bounds_cents",
    "method_shares",
    "blend_shares",
    "over_assigned",
    "Cascade",
    "cascade",
    "time_split",
    "quantile_at",
]

METHODS: tuple[str, ...] = ("historical", "potential", "equal", "capacity")
_UNBOUNDED = math.inf


def _cents(x) -> int:
    """Amount → cents; numpy scalars go through ``float`` (their repr is not a number)."""
    return to_cents(float(x))


class AllocationError(ValueError):
    """The children cannot meet their total under the locks and bounds given.

    ``reason`` is ``"locked"`` (locked amounts exceed or cannot make up the total),
    ``"floor"`` or ``"cap"`` (the growth bounds cannot hold it); ``parent`` and
    ``total`` (what the children share) are set when raised by :func:`cascade`.
    """

    def __init__(
        self,
        message: str,
        reason: str = "",
        parent: str | None = None,
        total: float | None = None,
        children: tuple[str, ...] = (),
    ):
        super().__init__(message)
        self.reason = reason
        self.parent = parent
        self.total = total
        self.children = children


# --------------------------------------------------------------------------- one split


@dataclass(frozen=True)
class Split:
    """The result of splitting one total: amounts exact to the cent and why each is where it is.

    ``status`` per child: ``"locked"``, ``"floor"``, ``"cap"`` or ``""`` (free);
    ``level``: the common multiplier ``λ`` (proportional split) or the common
    probability of attainment (fair split).
    """

    cents: np.ndarray
    status: tuple[str, ...]
    level: float

    @property
    def amounts(self) -> np.ndarray:
        """The parts as amounts (floats exact to the cent)."""
        return from_cents(self.cents)

    def to_frame(self, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per child: child, amount, status."""
        ids = list(ids) if ids is not None else list(range(len(self.cents)))
        return pd.DataFrame({"child": ids, "amount": self.amounts, "status": list(self.status)})


def _exact(x: float) -> Fraction:
    """A float as the decimal a person wrote (``-0.1`` is -1/10, not its binary neighbour)."""
    return Fraction(repr(float(x)))


def over_assigned(parent_cents: int, uplift: float) -> int:
    """``parent × (1 + uplift)`` in whole cents, half away from zero."""
    d = Decimal(int(parent_cents)) * (Decimal(1) + Decimal(repr(float(uplift))))
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def growth_bounds_cents(
    last_year_cents, comparable, floor: float | None, cap: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of each child in cents (floats; ``inf`` when unbounded).

    ``ceil(last_year × (1 + floor))`` and ``floor(last_year × (1 + cap))``, exact; a child
    without a comparable last year gets ``[0, inf)``.
    """
    ly = [int(x) for x in np.asarray(last_year_cents)]
    comp = np.asarray(comparable, dtype=bool) if comparable is not None else np.ones(len(ly), bool)
    lo = np.zeros(len(ly))
    hi = np.full(len(ly), _UNBOUNDED)
    # (1 + bound) as an exact ratio of integers: a / b
    f = (1 + _exact(floor)).as_integer_ratio() if floor is not None else None
    c = (1 + _exact(cap)).as_integer_ratio() if cap is not None else None
    for i, v in enumerate(ly):
        if not comp[i]:
            continue
        if f is not None:
            lo[i] = max(-((-v * f[0]) // f[1]), 0)  # ceil
        if c is not None:
            hi[i] = max((v * c[0]) // c[1], 0)  # floor
    return lo, hi


def _peer_last_year(history, kids, ly_c: list[int], comparable: list[bool]):
    """``growth.no_history: peers``: each child without a comparable last year is bounded
    as if its last year were the mean of its comparable siblings' (a rep's times the
    mean of its plan FTE in the target year); unchanged when no sibling is comparable."""
    known = [v for v, c in zip(ly_c, comparable) if c]
    if not known:
        return ly_c, comparable
    mean = sum(known) / len(known)
    fte = getattr(history, "fte", None)
    out_ly, out_c = list(ly_c), list(comparable)
    for i, k in enumerate(kids):
        if comparable[i]:
            continue
        share = float(fte.loc[k].mean()) if fte is not None and k in fte.index else 1.0
        out_ly[i], out_c[i] = int(round(mean * share)), share > 0
    return out_ly, out_c


def _water_level(rest: float, w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """The ``λ`` with ``Σ clip(λ w, lo, hi) = rest`` (weights > 0 only; feasible)."""
    finite = np.isfinite(hi)
    bps = np.unique(np.concatenate([[0.0], lo / w, hi[finite] / w[finite]]))
    f = np.clip(bps[:, None] * w[None, :], lo[None, :], hi[None, :]).sum(axis=1)
    k = int(np.searchsorted(f, rest, side="left"))
    if k == len(bps):
        slope = float(w[~finite].sum())
        return float(bps[-1] + (rest - f[-1]) / slope) if slope > 0 else float(bps[-1])
    if k == 0 or f[k] == rest:
        return float(bps[k])
    return float(bps[k - 1] + (rest - f[k - 1]) * (bps[k] - bps[k - 1]) / (f[k] - f[k - 1]))


def split_cents(total_cents: int, weights, lo=None, hi=None, locked=None) -> Split:
    """Split whole cents among children: locked kept, the rest by weight within bounds.

    Parameters
    ----------
    total_cents : int
        What the children must sum to, exactly.
    weights : array_like of float
        Non-negative; all zero means equal. Taken to 12 significant digits relative to
        the largest (whole-number weights keep the exact arithmetic fast).
    lo, hi : array_like of float, optional
        Bounds in cents (``hi`` may be ``inf``); default ``[0, inf)``.
    locked : array_like of float, optional
        Locked amount in cents per child, ``nan`` (or negative) where not locked.

    Returns
    -------
    Split

    Raises
    ------
    AllocationError
        Locked amounts above the total, or bounds that cannot hold the rest.
    """
    w = np.asarray(weights, dtype=float)
    n = w.size
    if n == 0:
        if total_cents:
            raise AllocationError(f"nothing to split {total_cents} cents among")
        return Split(np.zeros(0, np.int64), (), 0.0)
    if (~np.isfinite(w) | (w < 0)).any():
        raise ValueError(f"weights must be finite and >= 0; got {w.tolist()}")
    lo = np.zeros(n) if lo is None else np.asarray(lo, dtype=float).copy()
    hi = np.full(n, _UNBOUNDED) if hi is None else np.asarray(hi, dtype=float).copy()
    lk = np.full(n, np.nan) if locked is None else np.asarray(locked, dtype=float)
    is_locked = np.isfinite(lk) & (lk >= 0)
    cents = np.zeros(n, dtype=np.int64)
    status = [""] * n
    cents[is_locked] = lk[is_locked].astype(np.int64)
    for i in np.flatnonzero(is_locked):
        status[i] = "locked"
    rest = int(total_cents) - int(cents[is_locked].sum())
    free = ~is_locked
    if rest < 0:
        raise AllocationError(
            f"the locked amounts sum to {from_cents(int(cents[is_locked].sum())):,.2f}, "
            f"above the {from_cents(int(total_cents)):,.2f} the children share",
            "locked",
        )
    if not free.any():
        if rest:
            raise AllocationError(
                f"every child is locked, but the locked amounts sum to "
                f"{from_cents(int(cents.sum())):,.2f}, not the "
                f"{from_cents(int(total_cents)):,.2f} the children share",
                "locked",
            )
        return Split(cents, tuple(status), 1.0)
    fi = np.flatnonzero(free)
    flo, fhi, fw = lo[fi], hi[fi], _int_weights(w[fi])
    if fw.sum() <= 0:
        fw = np.ones(fi.size)
    if flo.sum() > rest or fhi.sum() < rest:
        edge = "floor" if flo.sum() > rest else "cap"
        need = from_cents(rest)
        have = from_cents(int(flo.sum())) if edge == "floor" else from_cents(int(fhi.sum()))
        raise AllocationError(
            f"the unlocked children must share {need:,.2f}, but with every one at its growth "
            f"{edge} they sum to {have:,.2f}",
            edge,
        )
    pos = fw > 0
    values = flo.copy()
    lam = 0.0
    if pos.any():
        top = float(np.minimum(fhi[pos], _UNBOUNDED).sum() + flo[~pos].sum())
        if rest <= top or np.isinf(top):
            lam = _water_level(rest - float(flo[~pos].sum()), fw[pos], flo[pos], fhi[pos])
            values[pos] = np.clip(lam * fw[pos], flo[pos], fhi[pos])
        else:
            # every weighted child is at its cap: the zero-weight children take the rest equally
            values[pos] = fhi[pos]
            zi = np.flatnonzero(~pos)
            sub = split_cents(rest - int(fhi[pos].sum()), np.ones(zi.size), flo[zi], fhi[zi])
            values[zi] = sub.cents
            fw = np.where(pos, fw, 0.0)
            fw[zi] = 1.0
    at_lo = (values <= flo) & ((flo > 0) | (fw == 0))
    at_hi = values >= fhi
    part, sub_status = _round_bounded(rest, fw, flo, fhi, at_lo, at_hi)
    cents[fi] = part
    for j, i in enumerate(fi):
        status[i] = sub_status[j]
    return Split(cents, tuple(status), float(lam))


def _round_bounded(rest: int, w, lo, hi, at_lo, at_hi) -> tuple[np.ndarray, list[str]]:
    """Whole cents: clamped children at their bound, the others by largest remainder."""
    n = w.size
    at_lo, at_hi = at_lo.copy(), at_hi.copy()
    out = np.zeros(n, dtype=np.int64)
    for _ in range(n + 2):
        fixed = at_lo | at_hi
        out[at_lo] = lo[at_lo].astype(np.int64)
        out[at_hi & ~at_lo] = hi[at_hi & ~at_lo].astype(np.int64)
        left = rest - int(out[fixed].sum())
        movable = ~fixed
        if movable.any() and (w[movable].sum() > 0 or left == 0):
            out[movable] = allocate_cents(left, w[movable]) if left > 0 else 0
            if left < 0:
                raise AllocationError("internal: bounds overshoot the total")
        elif left != 0:
            # float ties put everyone at a bound: free the ones that can move that way
            can = (out < hi) if left > 0 else (out > lo)
            can &= fixed
            if not can.any():
                raise AllocationError("internal: no child can take the rounding remainder")
            at_lo &= ~can
            at_hi &= ~can
            w = np.where(can & (w == 0), 1.0, w)
            continue
        over = movable & (out > hi)
        under = movable & (out < lo)
        if not (over.any() or under.any()):
            break
        at_hi |= over
        at_lo |= under
    status = [
        "cap" if h else ("floor" if (lo_ and lo[i] > 0) else "")
        for i, (lo_, h) in enumerate(zip(at_lo, at_hi))
    ]
    return out, status


def split(
    total: float,
    weights,
    *,
    last_year=None,
    floor: float | None = None,
    cap: float | None = None,
    comparable=None,
    locked=None,
) -> Split:
    """Split a money amount among children by weight, within growth bounds, locks kept.

    Parameters
    ----------
    total : float
        What the children sum to (``parent × (1 + uplift)``), exact to the cent.
    weights : array_like
        Share weights (any scale); all zero means equal.
    last_year : array_like, optional
        Each child's last-year amount; with ``floor``/``cap`` bounds its change.
    floor, cap : float, optional
        Growth bounds, e.g. ``-0.10`` and ``0.40``.
    comparable : array_like of bool, optional
        Which children the bounds apply to (default: those with last year > 0).
    locked : array_like, optional
        Locked amounts, ``nan`` where not locked.

    Examples
    --------
    >>> split(1000, [1, 1, 2]).amounts.tolist()
    [250.0, 250.0, 500.0]
    >>> s = split(1000, [1, 1, 2], last_year=[300, 300, 300], floor=-0.1, cap=0.2)
    >>> s.amounts.tolist(), s.status
    ([320.0, 320.0, 360.0], ('', '', 'cap'))
    """
    w = np.asarray(weights, dtype=float)
    lo = hi = None
    if last_year is not None and (floor is not None or cap is not None):
        ly = np.array([_cents(x) for x in np.asarray(last_year, dtype=float)])
        comp = (ly > 0) if comparable is None else np.asarray(comparable, dtype=bool)
        lo, hi = growth_bounds_cents(ly, comp, floor, cap)
    lk = None
    if locked is not None:
        lk = np.array(
            [_cents(x) if x == x and x is not None else np.nan for x in locked], dtype=float
        )
    return split_cents(_cents(total), w, lo, hi, lk)


# --------------------------------------------------------------------------- fair split


def quantile_at(sorted_trials: np.ndarray, level: float) -> np.ndarray:
    """Quantile ``level`` of each column of an already sorted (trials × k) array.

    numpy's default (linear, Hyndman-Fan type 7) interpolation, vectorised over columns.
    """
    n = sorted_trials.shape[0]
    h = min(max(level, 0.0), 1.0) * (n - 1)
    i = int(math.floor(h))
    j = min(i + 1, n - 1)
    return sorted_trials[i] + (h - i) * (sorted_trials[j] - sorted_trials[i])


def fair_split_cents(
    total_cents: int, sorted_trials: np.ndarray, lo=None, hi=None, locked=None
) -> Split:
    """Split so that every unlocked child has the same probability of reaching its target.

    Child ``i``'s target at probability ``p`` is ``q_i(p) = quantile(X_i, 1 − p)`` of its
    simulated bookings ``X_i`` (since ``P(X ≥ q) = p ⇔ q = quantile(X, 1 − p)``), held
    within its bounds. ``p`` solves ``Σ q_i(p) = rest`` (Brent's method; the sum falls as
    ``p`` rises). Then the ``q_i`` are rescaled to the rest exactly and rounded to cents by
    largest remainder. If even ``p = 0`` (every child at its highest trial) cannot reach
    the rest, or ``p = 1`` undershoots it, the quantiles at that end are rescaled
    proportionally.

    Parameters
    ----------
    total_cents : int
    sorted_trials : numpy.ndarray, shape (n_trials, n_children)
        Each child's simulated bookings in currency units, each column sorted ascending.
    lo, hi, locked
        As in :func:`split_cents` (cents).

    Returns
    -------
    Split
        ``level`` is the common probability ``p``.
    """
    x = np.asarray(sorted_trials, dtype=float) * 100.0  # cents
    n = x.shape[1]
    lo = np.zeros(n) if lo is None else np.asarray(lo, dtype=float)
    hi = np.full(n, _UNBOUNDED) if hi is None else np.asarray(hi, dtype=float)
    lk = np.full(n, np.nan) if locked is None else np.asarray(locked, dtype=float)
    is_locked = np.isfinite(lk) & (lk >= 0)
    rest = int(total_cents) - int(np.nansum(np.where(is_locked, lk, 0.0)))
    fi = np.flatnonzero(~is_locked)
    if fi.size == 0 or rest <= 0:
        return split_cents(total_cents, np.ones(n), lo, hi, locked)
    xf, flo, fhi = x[:, fi], lo[fi], hi[fi]

    def q(p: float) -> np.ndarray:
        return np.clip(quantile_at(xf, 1.0 - p), flo, fhi)

    def gap(p: float) -> float:
        return float(q(p).sum()) - rest

    if gap(0.0) < 0:
        p = 0.0
    elif gap(1.0) > 0:
        p = 1.0
    else:
        p = float(brentq(gap, 0.0, 1.0, xtol=1e-12, rtol=1e-12))
    w = np.zeros(n)
    w[fi] = np.maximum(q(p), 0.0)
    res = split_cents(total_cents, w, lo, hi, locked)
    return Split(res.cents, res.status, p)


# --------------------------------------------------------------------------- methods


def _shares_matrix(
    history: History, children: Sequence[str], potential: Mapping[str, float] | None = None
) -> np.ndarray:
    """(children × methods) shares, NaN in a method's column when it has no signal."""
    rows = [history._pos[c] for c in children]
    raw = history._inputs[rows].copy()
    if potential:
        for i, c in enumerate(children):
            if c in potential:
                raw[i, 1] = float(potential[c])
    sums = raw.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums > 0, raw / np.where(sums > 0, sums, 1.0), np.nan)


def _blend(shares: np.ndarray, weights: MethodWeights) -> np.ndarray:
    w = np.array([float(getattr(weights, m)) for m in METHODS])
    usable = (w > 0) & ~np.isnan(shares).any(axis=0)
    if not usable.any():
        return shares[:, METHODS.index("equal")]
    return shares[:, usable] @ (w[usable] / w[usable].sum())


def method_shares(
    history: History, children: Sequence[str], potential: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Each method's share of the parent among ``children`` (rows), NaN when no signal.

    ``potential`` overrides the history's potential for the nodes it names.
    """
    children = list(children)
    return pd.DataFrame(
        _shares_matrix(history, children, potential),
        columns=list(METHODS),
        index=pd.Index(children, name="node_id"),
    )


def blend_shares(shares: pd.DataFrame, weights: MethodWeights) -> pd.Series:
    """``Σ_k weight_k · share_k / Σ_k weight_k`` over the methods with a signal."""
    return pd.Series(
        _blend(shares[list(METHODS)].to_numpy(float), weights), index=shares.index, name="blend"
    )


# --------------------------------------------------------------------------- cascade


def _level_uplift(uplift: Uplift, level: str) -> float:
    return float(getattr(uplift, level, 0.0)) if level in ("region", "team", "rep") else 0.0


@dataclass(frozen=True)
class Cascade:
    """Annual targets for every node, with how each was reached.

    ``table`` columns: node_id, parent_id, level, name, name_zh, depth, last_year,
    comparable, target, growth, share (of the parent's children total), uplift (of the
    node's children), children_total, status (locked/floor/cap/""), weight (the split
    weight used), and one ``share_<method>`` column per method.
    """

    history: History
    table: pd.DataFrame
    company_target: float
    uplift: Uplift
    growth: GrowthBounds | None
    notes: tuple[str, ...] = ()
    level_param: Mapping[str, float] = field(default_factory=dict)

    def cents(self) -> pd.Series:
        """Each node's annual target in whole cents, by node id."""
        return pd.Series([_cents(x) for x in self.table["target"]], index=self.table["node_id"])

    def to_frame(self) -> pd.DataFrame:
        """The per-node table (a copy)."""
        return self.table.copy()

    def __repr__(self) -> str:
        return (
            f"Cascade({self.history.year}: company {self.company_target:,.2f}, "
            f"{len(self.table)} nodes, {sum(self.table['status'] != '')} bound/locked)"
        )


#: A weight rule: (parent id, children ids, parent's children total in cents) → weights.
WeightRule = Callable[[str, list, int], np.ndarray]

# The defaults of :func:`cascade` (frozen models, so one shared instance each is safe).
_DEFAULT_METHODS = MethodWeights()
_DEFAULT_UPLIFT = Uplift()
_DEFAULT_GROWTH = GrowthBounds()


def cascade(
    history: History,
    company_target: float,
    *,
    methods: MethodWeights = _DEFAULT_METHODS,
    uplift: Uplift = _DEFAULT_UPLIFT,
    growth: GrowthBounds | None = _DEFAULT_GROWTH,
    locked: Mapping[str, float] | None = None,
    focus_region: str | None = None,
    focus_weight: float = 0.0,
    potential: Mapping[str, float] | None = None,
    fair_trials: Mapping[str, np.ndarray] | None = None,
    weights: Mapping[str, float] | None = None,
) -> Cascade:
    """Cascade the company's annual number down the tree, parent by parent.

    Parameters
    ----------
    history : History
        Per-node inputs; ``history.tree`` is the organisation.
    company_target : float
        The root's annual target.
    methods : MethodWeights
        Blend of the allocation methods.
    uplift : Uplift
        Over-assignment per level: the regions sum to company × (1 + uplift.region), the
        teams of a region to region × (1 + uplift.team), the reps of a team to
        team × (1 + uplift.rep).
    growth : GrowthBounds or None
        Floor and cap on each comparable child's change vs last year (``no_history``:
        how a child without one is bounded); None: no bounds.
    locked : mapping node id → amount
        Kept as given; the siblings share the rest.
    focus_region, focus_weight
        The focus region's blended share is multiplied by ``1 + focus_weight``.
    potential : mapping node id → amount
        Overrides of the potential method's inputs.
    fair_trials : mapping node id → sorted trials, optional
        Split every parent by :func:`fair_split_cents` on its children's simulated
        bookings (sorted columns) instead of by the method blend.
    weights : mapping node id → weight, optional
        Split weights chosen by the caller (used by the consensus); nodes not named fall
        back to the method blend.

    Returns
    -------
    Cascade

    Raises
    ------
    AllocationError
        With the parent named, when locks and bounds cannot be met.
    """
    tree = history.tree
    locked = dict(locked or {})
    target_c: dict[str, int] = {tree.root: _cents(company_target)}
    ly_c = {n: _cents(v) for n, v in history.last_year.items()}
    comparable = history.comparable.to_dict()
    names = dict(zip(tree.nodes["node_id"], tree.nodes["name"]))
    rows: dict[str, dict] = {}
    notes: list[str] = []
    level_param: dict[str, float] = {}
    for parent in tree.parents():
        kids = list(tree.children(parent))
        child_level = tree.level_of[kids[0]]
        u = _level_uplift(uplift, child_level)
        total = over_assigned(target_c[parent], u)
        shares = _shares_matrix(history, kids, potential)
        w = _blend(shares, methods)
        if focus_region and focus_weight and focus_region in kids:
            w = w.copy()
            w[kids.index(focus_region)] *= 1.0 + focus_weight
        if weights:
            named = np.array([k in weights for k in kids])
            if named.any():
                given = np.array([float(weights.get(k, 0.0)) for k in kids])
                if (~named).any():  # not named: the blend, on the named ones' scale
                    base_sum = float(w[named].sum())
                    scale = float(given[named].sum()) / base_sum if base_sum > 0 else 1.0
                    given[~named] = w[~named] * scale
                w = given
        if growth is not None:
            ly_k = [ly_c[k] for k in kids]
            comp_k = [comparable[k] for k in kids]
            if getattr(growth, "no_history", "free") == "peers":
                ly_k, comp_k = _peer_last_year(history, kids, ly_k, comp_k)
            lo, hi = growth_bounds_cents(ly_k, comp_k, growth.floor, growth.cap)
        else:
            lo, hi = np.zeros(len(kids)), np.full(len(kids), _UNBOUNDED)
        lk = np.array([_cents(locked[k]) if k in locked else np.nan for k in kids], dtype=float)
        try:
            if fair_trials is not None and all(k in fair_trials for k in kids):
                mat = np.column_stack([fair_trials[k] for k in kids])
                res = fair_split_cents(total, mat, lo, hi, lk)
                w = res.cents.astype(float)
            else:
                res = split_cents(total, w, lo, hi, lk)
        except AllocationError as e:
            hint = (
                "widen growth.floor/growth.cap or change the locked overrides"
                if e.reason in ("floor", "cap")
                else "change the locked overrides"
            )
            raise AllocationError(
                f"cannot split {parent} ({names[parent]}): "
                f"its {len(kids)} children share {from_cents(total):,.2f} "
                f"(= {from_cents(target_c[parent]):,.2f} × (1 + {u:g})); {e}; {hint}",
                e.reason,
                parent,
                from_cents(total),
                tuple(k for k in kids if k in locked),
            ) from None
        level_param[parent] = res.level
        for i, k in enumerate(kids):
            target_c[k] = int(res.cents[i])
            rows[k] = {
                "weight": float(w[i]),
                "status": res.status[i],
                "share": (res.cents[i] / total) if total else 0.0,
                **{f"share_{m}": float(shares[i, j]) for j, m in enumerate(METHODS)},
            }
    ids = tree.ids
    ly = history.last_year.to_numpy(float)
    target = from_cents(np.array([target_c[n] for n in ids], dtype=np.int64))
    with np.errstate(divide="ignore", invalid="ignore"):
        growth_pct = np.where(ly > 0, target / np.where(ly > 0, ly, 1.0) - 1.0, np.nan)
    ups, kid_tot = [], []
    for n in ids:
        kids = tree.children(n)
        if kids:
            ups.append(_level_uplift(uplift, tree.level_of[kids[0]]))
            kid_tot.append(from_cents(sum(target_c[k] for k in kids)))
        else:
            ups.append(np.nan)
            kid_tot.append(np.nan)
    root_row = {"weight": 1.0, "status": "", "share": 1.0, **{f"share_{m}": 1.0 for m in METHODS}}
    per = [rows.get(n, root_row) for n in ids]
    cols = {c: tree.nodes[c].to_numpy() for c in tree.nodes.columns}
    cols.update(
        {
            "last_year": ly,
            "comparable": history.comparable.to_numpy(bool),
            "target": target,
            "growth": growth_pct,
            "uplift": np.array(ups, dtype=float),
            "children_total": np.array(kid_tot, dtype=float),
            "weight": np.array([r["weight"] for r in per], dtype=float),
            "status": np.array([r["status"] for r in per], dtype=object),
            "share": np.array([r["share"] for r in per], dtype=float),
        }
    )
    for m in METHODS:
        cols[f"share_{m}"] = np.array([r[f"share_{m}"] for r in per], dtype=float)
    table = pd.DataFrame(cols)
    return Cascade(
        history,
        table,
        float(from_cents(target_c[tree.root])),
        uplift,
        growth,
        tuple(notes),
        level_param,
    )


# --------------------------------------------------------------------------- time


QUARTER_MONTHS = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11))


def _int_weights(x: np.ndarray) -> np.ndarray:
    """Weights as whole numbers (fast exact largest remainder), keeping 1e-12 precision."""
    x = np.asarray(x, dtype=float)
    top = x.max() if x.size else 0.0
    if top <= 0:
        return x
    if np.all(x == np.rint(x)) and top < 2**53:
        return x
    return np.rint(x / top * 1e12)


def time_split(
    cascade: Cascade, seasonality: bool = True
) -> tuple[pd.DataFrame, np.ndarray, dict[tuple[str, str], int]]:
    """Split every node's annual target into quarters and months, exact at every level.

    The company's year goes to quarters by the seasonality (each quarter's share of won
    revenue in history), each quarter to its months. Below, a parent's children share
    its months: the parent's year × (1 + uplift) is split over the parent's months by
    largest remainder (the column totals); each child's year is its row total. Month by
    month, the column total goes to the children by largest remainder in proportion to
    what each still has to place (so the last month takes exactly what is left, and no
    child ever goes below 0). A node's quarters are the sums of its months. So every
    child's months sum to its quarters and its year, and every period's children sum to
    what the parent hands down for it — all to the cent. Every node follows its parent's
    (so the company's) seasonal shape, each within a cent or so per month of
    ``child year × parent month / parent year``.

    Returns
    -------
    long : pandas.DataFrame
        node_id, period (``2027``, ``2027-Q1``, ``2027-01``), kind (year/quarter/month),
        amount.
    months : numpy.ndarray of int64, shape (nodes, 12)
        Monthly cents in ``cascade.table`` row order.
    children_totals : dict (parent id, period) → cents
        What each parent's children share in each period: the year's
        ``parent × (1 + uplift)`` and its split over the parent's months (largest
        remainder), quarters as the sums of their months.
    """
    tree = cascade.history.tree
    ids = cascade.table["node_id"].tolist()
    row = {n: i for i, n in enumerate(ids)}
    year_c = np.array([_cents(x) for x in cascade.table["target"]], dtype=np.int64)
    season = cascade.history.seasonality if seasonality else np.full(12, 1 / 12)
    months = np.zeros((len(ids), 12), dtype=np.int64)
    year = cascade.history.year
    totals: dict[tuple[str, str], int] = {}
    periods = (
        [str(year)]
        + [f"{year}-Q{q}" for q in range(1, 5)]
        + [f"{year}-{m:02d}" for m in range(1, 13)]
    )
    r0 = row[tree.root]
    qw = _int_weights(np.array([season[list(q)].sum() for q in QUARTER_MONTHS]))
    quarters = allocate_cents(int(year_c[r0]), qw)
    for q, ms in enumerate(QUARTER_MONTHS):
        months[r0, list(ms)] = allocate_cents(int(quarters[q]), _int_weights(season[list(ms)]))
    for parent in tree.parents():
        kids = [row[k] for k in tree.children(parent)]
        r = year_c[kids]
        total = int(r.sum())
        if total == 0:
            for p in periods:
                totals[(parent, p)] = 0
            continue
        pm = months[row[parent]]
        cols = (
            allocate_cents(total, pm.astype(float))
            if pm.sum() > 0
            else allocate_cents(total, np.ones(12))
        )
        totals[(parent, str(year))] = total
        for q, ms in enumerate(QUARTER_MONTHS):
            totals[(parent, f"{year}-Q{q + 1}")] = int(cols[list(ms)].sum())
        for m in range(12):
            totals[(parent, f"{year}-{m + 1:02d}")] = int(cols[m])
        remaining = r.copy()
        for m in range(12):
            c = int(cols[m])
            part = (
                allocate_cents(c, remaining.astype(float)) if c else np.zeros(len(kids), np.int64)
            )
            months[kids, m] = part
            remaining -= part
    q_c = np.stack([months[:, list(ms)].sum(axis=1) for ms in QUARTER_MONTHS], axis=1)
    kinds = ["year"] + ["quarter"] * 4 + ["month"] * 12
    values = np.concatenate([year_c[:, None], q_c, months], axis=1)
    long = pd.DataFrame(
        {
            "node_id": np.repeat(ids, len(periods)),
            "period": np.tile(periods, len(ids)),
            "kind": np.tile(kinds, len(ids)),
            "amount": from_cents(values.reshape(-1)),
        }
    )
    return long, months, totals

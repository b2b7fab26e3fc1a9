"""Exact commission statements: per rep, per period, to the cent.

The statement path works in exact rationals (every amount and rate read as the
decimal a person wrote) and rounds once per statement, half away from zero: the
commission on the period's bands is rounded to whole cents and apportioned over its
line items by largest remainder (:func:`simlib.money.allocate_cents`), so lines always
add up to the total. Every adjustment after that (deal caps, SPIFs, gate, cap, floor,
true-up, clawbacks, draws) is whole cents. A statement's lines sum to its payable
amount exactly.

Order of a period's statement
-----------------------------
1. commission per deal and band (tiers × multipliers), then per-deal caps;
2. SPIFs per qualifying deal;
3. gate: if not met, everything above is taken back and no floor applies;
4. per-period cap, then floor (minimum pay when the gate is met);
5. year-to-date true-up (when the plan has one): less what earlier periods credited;
6. clawbacks of deals reversed within the window (the commission paid on them);
7. balance and draws: a balance owed by the rep (recoverable draw advances, clawbacks
   larger than earnings) is recovered from earnings; a draw tops the pay up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from simlib.money import allocate_cents, format_amount
from simlib.periods import label_of, parse_label, period_of
from simlib.plans.inputs import (
    _Credit,
    _credits,
    _date,
    _Deal,
    _frame_lookup,
    _money,
    _need,
    _read_collections,
    _read_deals,
    _span,
    teams_from_reps,
)
from simlib.plans.spec import RATIO_MEASURES, PlanSpec, exact, fmt_number, fmt_rate

__all__ = [
    "LINE_KINDS",
    "Line",
    "Statement",
    "StatementSet",
    "compute_statements",
    "statement_for",
    "teams_from_reps",
    "period_of",
]

#: Line kinds in the order they appear on a statement.
LINE_KINDS: tuple[str, ...] = (
    "component",
    "commission",
    "tier_bonus",
    "deal_cap",
    "spif",
    "gate",
    "cap",
    "floor",
    "true_up",
    "clawback",
    "balance",
    "draw",
)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Line:
    """One line of a statement, with its arithmetic in words.

    ``cents`` is the signed amount in whole cents; ``amount`` the same as a Decimal.
    """

    kind: str
    text: str
    cents: int
    opportunity_id: str | None = None
    owner_id: str | None = None
    band: str | None = None
    base: float | None = None
    rate: float | None = None
    factor: float | None = None

    @property
    def amount(self) -> Decimal:
        """The line's amount, exact to the cent."""
        return Decimal(self.cents).scaleb(-2)

    def __repr__(self) -> str:
        return f"Line({self.kind}: {self.text})"


def _fmt_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, c = divmod(abs(cents), 100)
    return f"{sign}{whole:,}" + (f".{c:02d}" if c else "")


@dataclass(frozen=True, repr=False)
class Statement:
    """A rep's (or manager's) commission statement for one period.

    Attributes
    ----------
    result : float
        The measure over the window (the period, or the year to date).
    earned_cents : int
        After gate, caps, floor and true-up; before clawbacks and draws.
    payable_cents : int
        What is paid for the period: the sum of ``lines``.
    balance_in_cents, balance_out_cents : int
        Owed by the rep (recoverable draw, clawbacks beyond earnings), carried.
    paid_on_deals : tuple of (opportunity_id, cents)
        The commission paid in the window, attributed to deals in proportion to what
        each earned (kept when the plan has a clawback: it is what a clawback reverses).
    """

    plan: str
    rep_id: str
    period: str
    window: str
    currency: str
    measure: str
    result: float
    quota: float | None
    attainment: float | None
    band: str | None
    gate_met: bool
    lines: tuple[Line, ...]
    earned_cents: int
    payable_cents: int
    balance_in_cents: int = 0
    balance_out_cents: int = 0
    paid_on_deals: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    @property
    def payable(self) -> Decimal:
        """Amount paid for the period, exact to the cent."""
        return Decimal(self.payable_cents).scaleb(-2)

    @property
    def earned(self) -> Decimal:
        """Earned for the period before clawbacks and draws."""
        return Decimal(self.earned_cents).scaleb(-2)

    @property
    def commission_cents(self) -> int:
        """Commission lines only (before caps, SPIFs and adjustments)."""
        return sum(ln.cents for ln in self.lines if ln.kind == "commission")

    def cents_by_kind(self) -> dict[str, int]:
        """Total cents per line kind (kinds without lines omitted)."""
        out: dict[str, int] = {}
        for ln in self.lines:
            out[ln.kind] = out.get(ln.kind, 0) + ln.cents
        return out

    def to_frame(self) -> pd.DataFrame:
        """The lines as a tidy table (one row per line)."""
        rows = [
            {
                "plan": self.plan,
                "rep_id": self.rep_id,
                "period": self.period,
                "kind": ln.kind,
                "opportunity_id": ln.opportunity_id,
                "owner_id": ln.owner_id,
                "band": ln.band,
                "base": ln.base,
                "rate": ln.rate,
                "factor": ln.factor,
                "amount": ln.cents / 100,
                "cents": ln.cents,
                "text": ln.text,
            }
            for ln in self.lines
        ]
        return pd.DataFrame(
            rows,
            columns=[
                "plan",
                "rep_id",
                "period",
                "kind",
                "opportunity_id",
                "owner_id",
                "band",
                "base",
                "rate",
                "factor",
                "amount",
                "cents",
                "text",
            ],
        )

    def bands(self) -> pd.DataFrame:
        """Commission per band: the slice of the measure, the rate and the amount."""
        rows: dict[str, dict] = {}
        for ln in self.lines:
            if ln.kind != "commission":
                continue
            key = f"{ln.band}|{ln.rate}|{ln.factor}"
            r = rows.setdefault(
                key,
                {"band": ln.band, "base": 0.0, "rate": ln.rate, "factor": ln.factor, "cents": 0},
            )
            r["base"] += ln.base or 0.0
            r["cents"] += ln.cents
        df = pd.DataFrame(list(rows.values()), columns=["band", "base", "rate", "factor", "cents"])
        df["amount"] = df["cents"] / 100
        return df

    def __repr__(self) -> str:
        att = f", attainment {self.attainment:.1%}" if self.attainment is not None else ""
        head = (
            f"Statement {self.rep_id} {self.period} ({self.plan}; {self.window}): "
            f"{self.measure.replace('_', ' ')} {_fmt_measure(self.result, self.measure)}"
            f"{att}, {self.currency}"
        )
        body = [f"  {ln.kind:<10} {_fmt_cents(ln.cents):>16}  {ln.text}" for ln in self.lines]
        foot = f"  {'payable':<10} {_fmt_cents(self.payable_cents):>16}"
        if self.balance_out_cents or self.balance_in_cents:
            foot += (
                f"  (balance owed: {_fmt_cents(self.balance_in_cents)} → "
                f"{_fmt_cents(self.balance_out_cents)})"
            )
        return "\n".join([head, *body, foot])


@dataclass(frozen=True, repr=False)
class StatementSet:
    """All statements of one plan run, in rep then period order."""

    plan: str
    statements: tuple[Statement, ...]

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements)

    def __len__(self) -> int:
        return len(self.statements)

    def __getitem__(self, i: int) -> Statement:
        return self.statements[i]

    def get(self, rep_id: str, period: str) -> Statement:
        """The statement of ``rep_id`` for ``period``."""
        for s in self.statements:
            if s.rep_id == rep_id and s.period == period:
                return s
        have = sorted({(s.rep_id, s.period) for s in self.statements})
        raise KeyError(f"no statement for rep {rep_id!r} period {period!r}; have {have[:10]}")

    def for_rep(self, rep_id: str) -> tuple[Statement, ...]:
        """Every statement of one rep, in period order."""
        return tuple(s for s in self.statements if s.rep_id == rep_id)

    @property
    def total_cents(self) -> int:
        """Sum of every payable amount, in cents."""
        return sum(s.payable_cents for s in self.statements)

    def to_frame(self) -> pd.DataFrame:
        """One row per statement: result, attainment, earned, payable, balances."""
        return pd.DataFrame(
            [
                {
                    "plan": s.plan,
                    "rep_id": s.rep_id,
                    "period": s.period,
                    "result": s.result,
                    "quota": s.quota,
                    "attainment": s.attainment,
                    "band": s.band,
                    "gate_met": s.gate_met,
                    "commission": s.commission_cents / 100,
                    "earned": s.earned_cents / 100,
                    "payable": s.payable_cents / 100,
                    "payable_cents": s.payable_cents,
                    "balance_out": s.balance_out_cents / 100,
                }
                for s in self.statements
            ]
        )

    def lines(self) -> pd.DataFrame:
        """Every line of every statement."""
        frames = [s.to_frame() for s in self.statements]
        return pd.concat(frames, ignore_index=True) if frames else _EMPTY.to_frame()

    def __repr__(self) -> str:
        reps = len({s.rep_id for s in self.statements})
        periods = sorted({s.period for s in self.statements})
        span = f"{periods[0]}..{periods[-1]}" if periods else "none"
        return (
            f"StatementSet({self.plan}: {len(self.statements)} statements, {reps} reps, "
            f"periods {span}, total payable {_fmt_cents(self.total_cents)})"
        )


_EMPTY = Statement("", "", "", "", "", "", 0.0, None, None, None, True, (), 0, 0)


# --------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class _Schedule:
    """A plan's bands turned into measure units for one subject and window."""

    tier_edges: tuple[Fraction, ...]
    rates: tuple[Fraction, ...]
    tier_labels: tuple[str, ...]
    mult_edges: tuple[Fraction, ...]
    factors: tuple[Fraction, ...]
    mult_labels: tuple[str, ...]
    scale: Fraction
    below: bool  # True: an amount exactly at a threshold belongs to the band below
    pivot: Fraction | None = None  # overage multipliers: the factor reached applies above it


def _schedule(
    plan: PlanSpec, quota: Fraction | None, ti: Fraction | None, accelerate: bool = True
) -> _Schedule:
    """The plan's bands in measure units; ``accelerate`` False pays factors above 1 as 1
    (an accelerator gate not met)."""
    thr = [exact(b.threshold) for b in plan.tiers]
    if plan.basis == "attainment":
        thr = [t * quota for t in thr]
    if plan.multipliers:
        medges = tuple(exact(m.threshold) * quota for m in plan.multipliers)
        factors = tuple(exact(m.factor) for m in plan.multipliers)
        if not accelerate:
            factors = tuple(min(f, Fraction(1)) for f in factors)
        mlabels = tuple(plan.multiplier_labels())
    else:
        medges, factors, mlabels = (Fraction(0),), (Fraction(1),), ("",)
    if plan.pays_on == "measure":
        scale = Fraction(1)
    else:
        scale = ti / quota if plan.basis == "attainment" else ti
    return _Schedule(
        tuple(thr),
        tuple(_band_rate(plan, i) for i in range(len(plan.tiers))),
        tuple(plan.band_labels()),
        medges,
        factors,
        mlabels,
        scale,
        plan.at_threshold == "band_below",
        quota if plan.multiplier_mode == "overage" else None,
    )


def _commission_free_schedule(plan: PlanSpec, ti: Fraction) -> _Schedule:
    """The plan's tiers as a curve of an attainment (quota 1), paying shares of ``ti``."""
    return _schedule(plan, Fraction(1), ti)


def _band_rate(plan: PlanSpec, i: int) -> Fraction:
    """Band ``i``'s exact rate: as written, or a marginal band's amount over its width
    (a retroactive band's amount is paid flat: rate 0)."""
    b = plan.tiers[i]
    if b.amount is None:
        rate = exact(b.rate)
        if plan.base_rate is not None:  # a spread: the band's rate over the base rate
            rate = max(rate - exact(plan.base_rate), Fraction(0))
        return rate
    if plan.mode != "marginal":
        return Fraction(0)
    width = exact(plan.tiers[i + 1].threshold) - exact(b.threshold)
    return exact(b.amount) / width


def _reached(edges: Sequence[Fraction], x: Fraction, below: bool) -> int:
    """Index of the band that ``x`` reaches, honouring boundary ownership."""
    if below:
        return sum(1 for e in edges[1:] if x > e)
    return sum(1 for e in edges[1:] if x >= e)


def _inside(edges: Sequence[Fraction], x: Fraction) -> int:
    """Index of the band whose interior holds ``x`` (x is never an edge here)."""
    return sum(1 for e in edges[1:] if x >= e)


@dataclass(frozen=True)
class _Piece:
    oid: str | None
    owner: str | None
    lo: Fraction
    hi: Fraction
    tier: int
    mult: int
    value: Fraction


def _pieces(
    plan: PlanSpec, sch: _Schedule, credits: list[_Credit], total: Fraction
) -> list[_Piece]:
    """Cut every credit at band edges; each piece earns slice × rate × factor × scale.

    Credits fill the period in order (cumulative position), so one walk along the
    edges serves all of them; per-deal tiers restart the tier walk at each deal.
    """
    tier_marginal = plan.mode == "marginal"
    mult_marginal = plan.multiplier_mode == "marginal"
    pivot = sch.pivot  # overage: marginal factors below it, the factor reached above
    per_deal = plan.tier_scope == "per_deal"
    T, M = sch.tier_edges, sch.mult_edges
    nT, nM = len(T), len(M)
    mult_reached = _reached(M, total, sch.below)
    tier_reached_total = _reached(T, total, sch.below)
    out: list[_Piece] = []
    c = Fraction(0)
    ti = mj = 0  # bands holding the current position (right of it)
    for cr in credits:
        s, e = c, c + cr.value
        c = e
        if e == s:
            continue
        off = s if per_deal else 0
        if per_deal:
            ti = 0
            t_reached = _reached(T, cr.value, sch.below)
        else:
            t_reached = tier_reached_total
        u = s
        while u < e:
            while ti + 1 < nT and T[ti + 1] + off <= u:
                ti += 1
            while mj + 1 < nM and M[mj + 1] <= u:
                mj += 1
            v = e
            by_slice = mult_marginal or (pivot is not None and u < pivot)
            if tier_marginal and ti + 1 < nT and T[ti + 1] + off < v:
                v = T[ti + 1] + off
            if by_slice and mj + 1 < nM and M[mj + 1] < v:
                v = M[mj + 1]
            if pivot is not None and u < pivot < v:
                v = pivot
            i = ti if tier_marginal else t_reached
            j = mj if by_slice else mult_reached
            out.append(
                _Piece(
                    cr.oid,
                    cr.owner,
                    u,
                    v,
                    i,
                    j,
                    (v - u) * sch.rates[i] * sch.factors[j] * sch.scale,
                )
            )
            u = v
    return out


def _ratio_pieces(plan: PlanSpec, sch: _Schedule, x: Fraction) -> list[_Piece]:
    tier_marginal = plan.mode == "marginal"
    mult_marginal = plan.multiplier_mode == "marginal"
    pivot = sch.pivot
    cuts = {Fraction(0), x}
    if tier_marginal:
        cuts.update(t for t in sch.tier_edges if 0 < t < x)
    if mult_marginal or pivot is not None:
        top = x if pivot is None else min(x, pivot)
        cuts.update(m for m in sch.mult_edges if 0 < m < top)
    if pivot is not None and 0 < pivot < x:
        cuts.add(pivot)
    pts = sorted(cuts)
    ti = _reached(sch.tier_edges, x, sch.below)
    mj = _reached(sch.mult_edges, x, sch.below)
    out = []
    for u, v in zip(pts[:-1], pts[1:]):
        mid = (u + v) / 2
        i = _inside(sch.tier_edges, mid) if tier_marginal else ti
        by_slice = mult_marginal or (pivot is not None and mid < pivot)
        j = _inside(sch.mult_edges, mid) if by_slice else mj
        out.append(
            _Piece(None, None, u, v, i, j, (v - u) * sch.rates[i] * sch.factors[j] * sch.scale)
        )
    return out


def _round_cents(x: Fraction) -> int:
    """Currency amount → whole cents, half away from zero."""
    c = x * 100
    if c >= 0:
        return math.floor(c + Fraction(1, 2))
    return -math.floor(-c + Fraction(1, 2))


def _cents(x: float | Fraction) -> int:
    return _round_cents(exact(x))


def _fmt_measure(x: Fraction | float, measure: str) -> str:
    if measure == "renewal_rate":
        return fmt_rate(x)
    if measure == "kpi_score":
        return fmt_number(Fraction(x).limit_denominator(10**6))
    return format_amount(float(x))


# --------------------------------------------------------------------------- settle


@dataclass
class _Settled:
    lines: list[Line]
    earned: int
    attribution: dict[str, int]
    result: Fraction
    attainment: Fraction | None
    band: str | None
    gate_met: bool


def _settle(
    plan: PlanSpec,
    credits: list[_Credit],
    deals: list[_Deal],
    quota: Fraction | None,
    ti: Fraction | None,
    ratio_value: Fraction | None,
    collection_rate: Fraction | None,
    kpi_score: Fraction | None,
    n_periods: int,
    team: bool,
    track_deals: bool = True,
) -> _Settled:
    """Commission, deal caps, SPIFs, gate, cap and floor for one window.

    ``track_deals``: also attribute the paid amount to deals (needed for clawbacks).
    """
    total = ratio_value if plan.is_ratio else sum((c.value for c in credits), Fraction(0))
    attainment = total / quota if quota else None
    held = (
        _gate_failures(plan.accelerator_gate, attainment, collection_rate, kpi_score)
        if plan.accelerator_gate is not None
        else []
    )
    sch = _schedule(plan, quota, ti, accelerate=not held)
    reached = _reached(sch.tier_edges, total, sch.below)
    band = sch.tier_labels[reached]
    flat = plan.tiers[reached].amount if plan.mode == "retroactive" else None
    if flat is not None:  # a retroactive band stated as an amount: paid flat
        j = _reached(sch.mult_edges, total, sch.below)
        value = exact(flat) * sch.factors[j] if total > 0 or reached > 0 else Fraction(0)
        pieces = [_Piece(None, None, Fraction(0), total, reached, j, value)]
    elif plan.is_ratio:
        pieces = _ratio_pieces(plan, sch, total)
    else:
        pieces = _pieces(plan, sch, credits, total)

    # 1. commission: round the exact total once, apportion the cents over the pieces.
    exact_total = sum((p.value for p in pieces), Fraction(0))
    commission = _round_cents(exact_total)
    if commission > 0:
        parts = allocate_cents(commission, [float(p.value) for p in pieces]).tolist()
    else:
        parts = [0] * len(pieces)
    lines: list[Line] = []
    per_deal: dict[str, int] = defaultdict(int)
    for p, cents in zip(pieces, parts):
        lines.append(_commission_line(plan, sch, p, cents, quota, ti, team))
        if p.oid is not None:
            per_deal[p.oid] += cents
    if held:
        lines.append(
            Line(
                "gate",
                "accelerators not paid (" + "; ".join(held) + "): factors above 1 count as 1",
                0,
            )
        )

    # one-time bonuses for each band the result entered
    for k in range(1, reached + 1):
        bonus = plan.tiers[k].entry_bonus
        if bonus is not None:
            c = _cents(bonus)
            lines.append(
                Line(
                    "tier_bonus",
                    f"entered band {sch.tier_labels[k]}: one-time bonus {_fmt_cents(c)}",
                    c,
                    band=sch.tier_labels[k],
                )
            )

    # per-deal caps
    if plan.cap is not None and plan.cap.per_deal is not None:
        capc = _cents(plan.cap.per_deal)
        for oid, got in list(per_deal.items()):
            if got > capc:
                lines.append(
                    Line(
                        "deal_cap",
                        f"{oid}: commission {_fmt_cents(got)} capped at "
                        f"{_fmt_cents(capc)} per deal",
                        capc - got,
                        opportunity_id=oid,
                    )
                )
                per_deal[oid] = capc

    # 2. SPIFs
    spif_min = [exact(sp.min_amount) for sp in plan.spifs]
    for d in deals:
        for spif, least in zip(plan.spifs, spif_min):
            if spif.products and d.product not in spif.products:
                continue
            if spif.deal_type is not None and d.deal_type != spif.deal_type:
                continue
            if d.amount < least:
                continue
            c = _cents(spif.amount)
            lines.append(
                Line(
                    "spif",
                    f"{d.oid}: SPIF {spif.name} {_fmt_cents(c)}",
                    c,
                    opportunity_id=d.oid,
                    owner_id=d.owner,
                )
            )
            per_deal[d.oid] += c
    subtotal = sum(ln.cents for ln in lines)

    # 3. gate
    failed = (
        _gate_failures(plan.gate, attainment, collection_rate, kpi_score)
        if plan.gate is not None
        else []
    )
    gate_met = not failed
    # 4. per-period cap, then floor
    subtotal, paid = _gate_cap_floor(plan, lines, subtotal, failed, n_periods)

    # what was paid on each deal (for clawbacks): the paid commission, by deal
    attribution: dict[str, int] = {}
    keys = [k for k, v in per_deal.items() if v > 0] if track_deals else []
    if keys and paid > 0:
        parts = allocate_cents(paid, [per_deal[k] for k in keys]).tolist()
        attribution = dict(zip(keys, parts))
    return _Settled(lines, subtotal, attribution, total, attainment, band, gate_met)


def _gate_cap_floor(
    plan: PlanSpec, lines: list[Line], subtotal: int, failed: list[str], n_periods: int = 1
) -> tuple[int, int]:
    """A failed gate takes everything back; then the per-period cap (``n_periods`` of
    them over a year to date) and the floor (only when the gate is met). Appends the
    lines; returns (earned, paid before the floor's top-up) in cents."""
    if failed:
        lines.append(
            Line("gate", "gate not met (" + "; ".join(failed) + "): nothing is paid", -subtotal)
        )
        subtotal = 0
    if plan.cap is not None and plan.cap.per_period is not None:
        capc = _cents(plan.cap.per_period) * n_periods
        if subtotal > capc:
            what = (
                "per-period cap"
                if n_periods == 1
                else f"year-to-date cap ({n_periods} × {format_amount(plan.cap.per_period)})"
            )
            lines.append(
                Line(
                    "cap",
                    f"{what} {_fmt_cents(capc)}: {_fmt_cents(subtotal)} → {_fmt_cents(capc)}",
                    capc - subtotal,
                )
            )
            subtotal = capc
    paid = subtotal
    if plan.floor is not None and not failed:
        floorc = _cents(plan.floor) * n_periods
        if subtotal < floorc:
            lines.append(
                Line(
                    "floor",
                    f"floor {_fmt_cents(floorc)}: {_fmt_cents(subtotal)} topped up",
                    floorc - subtotal,
                )
            )
            subtotal = floorc
    return subtotal, paid


def _gate_failures(g, attainment, collection_rate, kpi_score) -> list[str]:
    """What a gate's conditions found short (empty when it is met)."""
    failed = []
    if g.min_attainment is not None and not (
        attainment is not None and attainment >= exact(g.min_attainment)
    ):
        failed.append(f"attainment {_pct(attainment)} is below {fmt_rate(g.min_attainment)}")
    if (
        g.min_collection_rate is not None
        and collection_rate is not None
        and collection_rate < exact(g.min_collection_rate)
    ):
        failed.append(
            f"collection rate {_pct(collection_rate)} is below {fmt_rate(g.min_collection_rate)}"
        )
    if g.min_kpi_score is not None and kpi_score < exact(g.min_kpi_score):
        failed.append(f"KPI score {fmt_number(kpi_score)} is below {fmt_number(g.min_kpi_score)}")
    return failed


def _pct(x: Fraction | None) -> str:
    if x is None:
        return "n/a"
    return f"{float(x):.1%}"


def _commission_line(plan, sch: _Schedule, p: _Piece, cents: int, quota, ti, team: bool) -> Line:
    rate, factor = sch.rates[p.tier], sch.factors[p.mult]
    base = p.hi - p.lo
    m = plan.measure
    who = ""
    if p.oid is not None:
        who = f"{p.oid} ({p.owner}): " if team else f"{p.oid}: "
    fac = ""
    if plan.multipliers and factor != 1:
        label = plan.multipliers[p.mult].label
        if not label:
            kind = "accelerator" if factor > 1 else "decelerator"
            label = f"{kind} {sch.mult_labels[p.mult]}"
        fac = f" × {fmt_number(factor)} ({label})"
    stated = plan.tiers[p.tier].amount
    if stated is not None and plan.mode == "retroactive":
        text = (
            f"{m.replace('_', ' ')} {_fmt_measure(p.hi, m)} reached band "
            f"{sch.tier_labels[p.tier]}: {format_amount(stated)} flat{fac} = {_fmt_cents(cents)}"
        )
        return Line(
            "commission",
            text,
            cents,
            band=sch.tier_labels[p.tier],
            base=float(base),
            rate=0.0,
            factor=float(factor),
        )
    if stated is not None:
        width = sch.tier_edges[p.tier + 1] - sch.tier_edges[p.tier]
        text = (
            f"{who}{_fmt_measure(base, m)} ÷ {_fmt_measure(width, m)} × "
            f"{format_amount(stated)}{fac} = {_fmt_cents(cents)}"
        )
    elif plan.pays_on == "measure" and plan.base_rate is not None:
        stated = fmt_rate(plan.tiers[p.tier].rate)
        text = (
            f"{who}{_fmt_measure(base, m)} × ({stated} − base {fmt_rate(plan.base_rate)})"
            f"{fac} = {_fmt_cents(cents)}"
        )
    elif plan.pays_on == "measure":
        text = f"{who}{_fmt_measure(base, m)} × {fmt_rate(rate)}{fac} = {_fmt_cents(cents)}"
    elif plan.basis == "attainment":
        text = (
            f"{who}{_fmt_measure(base, m)} ÷ quota {_fmt_measure(quota, m)} × {fmt_number(rate)}"
            f"{fac} × target incentive {format_amount(float(ti))} = {_fmt_cents(cents)}"
        )
    else:
        text = (
            f"{who}{_fmt_measure(base, m)} × {fmt_number(rate)}{fac} × target incentive "
            f"{format_amount(float(ti))} = {_fmt_cents(cents)}"
        )
    if p.oid is None:
        text = f"{m.replace('_', ' ')} band {sch.tier_labels[p.tier]}: " + text
    return Line(
        "commission",
        text,
        cents,
        opportunity_id=p.oid,
        owner_id=p.owner,
        band=sch.tier_labels[p.tier],
        base=float(base),
        rate=float(rate),
        factor=float(factor),
    )


# --------------------------------------------------------------------------- driver


def compute_statements(
    plan: PlanSpec,
    deals: pd.DataFrame,
    quotas: pd.DataFrame | None = None,
    *,
    reversals: pd.DataFrame | None = None,
    collections: pd.DataFrame | None = None,
    metrics: pd.DataFrame | None = None,
    teams: Mapping[str, Sequence[str]] | pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
) -> StatementSet:
    """Exact commission statements for every rep (or manager) and period.

    Parameters
    ----------
    plan : PlanSpec
    deals : DataFrame
        Won deals with columns of the canonical ``opportunities`` table: at least
        ``opportunity_id``, ``owner_id``, ``amount``, ``close_date``; ``product_id`` and
        ``deal_type`` for SPIFs and new-customer revenue; ``gross_margin`` (amount) or
        ``gross_margin_pct`` for gross margin. Rows whose ``stage`` is not ``won`` are
        ignored.
    quotas : DataFrame, optional
        ``owner_id`` (or ``rep_id``), ``period`` (``2025-Q3``-style, matching the plan's
        period) and ``quota`` (or ``amount``); optional ``target_incentive``. The
        canonical ``targets`` table works as is (rows whose ``metric`` is not the
        plan's measure are skipped). A team plan uses the manager's row, else the sum
        of the members' quotas.
    reversals : DataFrame, optional
        ``opportunity_id``, ``reversal_date``: deals cancelled after they were won.
    collections : DataFrame, optional
        ``opportunity_id``, ``date``, ``amount``: cash received; the measure of
        ``collected_revenue`` plans and the numerator of the collection rate
        (cash received in the window / amount of deals won in the window). A window
        with nothing billed has no collection rate and does not fail that gate.
    metrics : DataFrame, optional
        ``owner_id``, ``period`` and any of ``collection_rate``, ``kpi_score``,
        ``renewal_rate``: per-period figures (they override computed ones).
    teams : mapping or DataFrame, optional
        For ``credit: team`` plans: manager → member rep ids, or the ``reps`` table.
    products : DataFrame, optional
        ``product_id``, ``gross_margin_pct`` for gross-margin plans.

    Returns
    -------
    StatementSet
        One :class:`Statement` per subject and period, from each subject's first to
        last active period (periods in between are included, so draws and balances
        carry through quiet periods).
    """
    if plan.components:
        return component_statements(
            plan,
            deals,
            quotas,
            collections=collections,
            metrics=metrics,
            teams=teams,
            products=products,
        )
    name = plan.name or "plan"
    P = plan.period
    deal_list = _read_deals(deals, products, plan.margin_pct)
    credits = _credits(plan, deal_list, collections)
    deal_by_id = {d.oid: d for d in deal_list}

    if quotas is not None:
        if "quota" not in quotas.columns:
            quotas = quotas.rename(columns={"amount": "quota"})  # the canonical targets table
        if "metric" in quotas.columns:
            quotas = quotas[quotas["metric"].astype(str) == plan.measure]
    quota_rows = _frame_lookup(quotas, "quotas", ["quota", "target_incentive"], P)
    metric_rows = _frame_lookup(
        metrics, "metrics", ["collection_rate", "kpi_score", "renewal_rate"], P
    )

    rev: list[tuple[str, dt.date]] = []
    if reversals is not None:
        _need(reversals, "reversals", ["opportunity_id", "reversal_date"])
        for o, d in zip(reversals["opportunity_id"], reversals["reversal_date"]):
            o = str(o)
            if o not in deal_by_id:
                raise ValueError(
                    f"reversals mention opportunity {o!r}, which is not among the won deals"
                )
            rd = _date(d, f"reversal_date of {o}")
            if rd < deal_by_id[o].date:
                raise ValueError(
                    f"reversals: {o} is reversed on {rd}, before it closed on {deal_by_id[o].date}"
                )
            rev.append((o, rd))
    coll = _read_collections(collections) if collections is not None else []

    # Subjects and their members.
    if plan.credit == "team":
        if teams is None:
            raise ValueError(
                f"plan {name} pays on team results: "
                "pass teams (manager → members or the reps table)"
            )
        members = (
            teams_from_reps(teams)
            if isinstance(teams, pd.DataFrame)
            else {str(k): tuple(str(x) for x in v) for k, v in teams.items()}
        )
    else:
        owners = (
            {d.owner for d in deal_list} | {c.owner for c in credits} | {k[0] for k in quota_rows}
        )
        if plan.is_ratio:
            owners |= {k[0] for k in metric_rows}
        members = {o: (o,) for o in sorted(owners)}

    statements: list[Statement] = []
    for subject in sorted(members):
        team = set(members[subject])
        s_credits = sorted((c for c in credits if c.owner in team), key=lambda c: (c.date, c.oid))
        s_deals = sorted((d for d in deal_list if d.owner in team), key=lambda d: (d.date, d.oid))
        s_oids = {d.oid for d in s_deals}
        s_rev = [(o, d) for o, d in rev if o in s_oids]
        s_coll = [(o, d, a) for o, d, a in coll if o in s_oids]
        keys = {parse_label(period_of(c.date, P), P) for c in s_credits}
        keys |= {parse_label(period_of(d.date, P), P) for d in s_deals}
        keys |= {parse_label(period_of(d, P), P) for _, d in s_rev}
        keys |= {parse_label(p, P) for (o, p) in quota_rows if o == subject}
        if plan.is_ratio:
            keys |= {parse_label(p, P) for (o, p) in metric_rows if o == subject}
        statements += _run_subject(
            plan,
            name,
            subject,
            team,
            _span(keys, P),
            s_credits,
            s_deals,
            s_rev,
            s_coll,
            quota_rows,
            metric_rows,
            deal_by_id,
        )
    return StatementSet(name, tuple(statements))


def _run_subject(
    plan, name, subject, team, span, credits, deals, revs, coll, quota_rows, metric_rows, deal_by_id
) -> list[Statement]:
    P = plan.period
    is_team = plan.credit == "team"
    balance = 0
    credited: dict[int, int] = defaultdict(int)
    paid_on: dict[str, int] = defaultdict(int)
    out = []
    for key in span:
        label = label_of(key, P)
        window = [k for k in span if k[0] == key[0] and k <= key] if plan.ytd_true_up else [key]
        wlabels = {label_of(k, P) for k in window}
        w_credits = [c for c in credits if period_of(c.date, P) in wlabels]
        w_deals = [d for d in deals if period_of(d.date, P) in wlabels]
        gates = [g for g in (plan.gate, plan.accelerator_gate) if g is not None]

        quota, ti = _window_quota(plan, name, subject, team, wlabels, quota_rows, is_team)
        mrow = metric_rows.get((subject, label), {})
        ratio_value = None
        if plan.is_ratio:
            if plan.measure not in mrow:
                raise ValueError(
                    f"plan {name} pays on {plan.measure}: metrics has no {plan.measure} "
                    f"for {subject!r} in {label}"
                )
            ratio_value = exact(float(mrow[plan.measure]))
        coll_rate = None
        if "collection_rate" in mrow:
            coll_rate = exact(float(mrow["collection_rate"]))
        elif any(g.min_collection_rate is not None for g in gates):
            billed = sum((d.amount for d in w_deals), Fraction(0))
            if billed > 0:
                got = sum((a for _, d, a in coll if period_of(d, P) in wlabels), Fraction(0))
                coll_rate = got / billed
        kpi = None
        if any(g.min_kpi_score is not None for g in gates):
            if "kpi_score" not in mrow:
                raise ValueError(
                    f"plan {name} has a KPI gate: "
                    f"metrics has no kpi_score for {subject!r} in {label}"
                )
            kpi = exact(float(mrow["kpi_score"]))

        st = _settle(
            plan,
            w_credits,
            w_deals,
            quota,
            ti,
            ratio_value,
            coll_rate,
            kpi,
            len(window),
            is_team,
            track_deals=plan.clawback is not None,
        )
        lines = list(st.lines)
        earned = st.earned
        if plan.ytd_true_up:
            before = credited[key[0]]
            if before:
                lines.append(
                    Line(
                        "true_up",
                        f"year to date {_fmt_cents(st.earned)} less credited in earlier "
                        f"periods {_fmt_cents(before)}",
                        -before,
                    )
                )
            earned = st.earned - before
            credited[key[0]] = st.earned
            for oid, c in st.attribution.items():
                paid_on[oid] = c
        else:
            for oid, c in st.attribution.items():
                paid_on[oid] += c

        # clawbacks
        clawed = 0
        for oid, rdate in revs:
            if period_of(rdate, P) != label:
                continue
            d = deal_by_id[oid]
            days = (rdate - d.date).days
            if plan.clawback is None:
                continue
            if days <= plan.clawback.within_days:
                amt = paid_on.get(oid, 0)
                lines.append(
                    Line(
                        "clawback",
                        f"{oid} reversed on {rdate}, {days} days after close "
                        f"(within {plan.clawback.within_days}): commission paid "
                        f"{_fmt_cents(amt)} reversed",
                        -amt,
                        opportunity_id=oid,
                        owner_id=d.owner,
                    )
                )
                paid_on[oid] = 0
                clawed += amt
            else:
                lines.append(
                    Line(
                        "clawback",
                        f"{oid} reversed on {rdate}, {days} days after close: outside "
                        f"the {plan.clawback.within_days}-day window, nothing reversed",
                        0,
                        opportunity_id=oid,
                        owner_id=d.owner,
                    )
                )
        net = earned - clawed

        # balance owed and draws
        pay, new_balance, extra = _settle_balance(plan, net, balance)
        lines += extra
        wtext = label if len(window) == 1 else f"{label_of(window[0], P)}..{label} year to date"
        out.append(
            Statement(
                plan=name,
                rep_id=subject,
                period=label,
                window=wtext,
                currency=plan.currency,
                measure=plan.measure,
                result=float(st.result),
                quota=float(quota) if quota else None,
                attainment=float(st.attainment) if st.attainment is not None else None,
                band=st.band,
                gate_met=st.gate_met,
                lines=tuple(lines),
                earned_cents=earned,
                payable_cents=pay,
                balance_in_cents=balance,
                balance_out_cents=new_balance,
                paid_on_deals=tuple(sorted(st.attribution.items())),
            )
        )
        balance = new_balance
    return out


def _settle_balance(plan: PlanSpec, net: int, balance: int) -> tuple[int, int, list[Line]]:
    """Carry, recover and draw: ``(payable, balance owed after, lines)``.

    Negative earnings (clawbacks beyond the period's earnings) are carried as owed; a
    balance owed is recovered from earnings (above the draw, for a recoverable draw);
    a draw tops the pay up: a recoverable one as an advance owed back, a
    non-recoverable one as a guaranteed minimum.
    """
    lines: list[Line] = []
    draw = _cents(plan.draw.amount) if plan.draw is not None else 0
    recoverable = plan.draw is not None and plan.draw.kind == "recoverable"
    if net < 0:
        balance -= net
        lines.append(
            Line(
                "balance",
                f"more taken back than earned: {_fmt_cents(-net)} carried forward as "
                f"owed (balance owed {_fmt_cents(balance)})",
                -net,
            )
        )
        net = 0
    recover = min(balance, max(0, net - draw)) if recoverable else min(balance, net)
    if recover:
        balance -= recover
        net -= recover
        lines.append(
            Line(
                "balance",
                f"recovered from balance owed: {_fmt_cents(recover)} (still owed "
                f"{_fmt_cents(balance)})",
                -recover,
            )
        )
    if draw > net:
        top = draw - net
        if recoverable:
            balance += top
            lines.append(
                Line(
                    "draw",
                    f"recoverable draw {_fmt_cents(draw)}: advance of {_fmt_cents(top)}, owed "
                    f"back from later earnings (balance owed {_fmt_cents(balance)})",
                    top,
                )
            )
        else:
            lines.append(
                Line(
                    "draw",
                    f"non-recoverable draw: guaranteed {_fmt_cents(draw)} for the period",
                    top,
                )
            )
        net = draw
    return net, balance, lines


def _window_quota(plan, name, subject, team, wlabels, quota_rows, is_team):
    """Quota and target incentive summed over the window's periods."""
    quota, ti, missing = Fraction(0), Fraction(0), []
    for lab in sorted(wlabels):
        row = quota_rows.get((subject, lab)) or {}
        if "quota" in row:
            quota += _money(row["quota"], f"quota of {subject} {lab}")
        elif is_team and any("quota" in quota_rows.get((m, lab), {}) for m in team):
            # a team without its own quota row: the quotas of the members who had one
            # that period add up (a rep hired later or gone has none)
            quota += sum(
                (
                    _money(quota_rows[(m, lab)]["quota"], f"quota of {m} {lab}")
                    for m in team
                    if "quota" in quota_rows.get((m, lab), {})
                ),
                Fraction(0),
            )
        else:
            missing.append(lab)
        t = row.get("target_incentive")
        if t is not None:  # a component pays its weight's share of the rep's incentive
            ti += _money(t, f"target_incentive of {subject} {lab}") * exact(plan.incentive_share)
        else:  # the plan's own, or its pay mix's share of the year (exact)
            own = plan.period_incentive(parse_label(lab, plan.period)[0])
            if own is not None:
                ti += own
    if plan.uses_quota and missing:
        raise ValueError(f"plan {name} needs a quota: none for {subject!r} in {sorted(missing)}")
    if plan.uses_quota and quota <= 0:
        raise ValueError(f"plan {name} needs a quota above 0 for {subject!r}; got {float(quota)}")
    quota_out = quota if not missing and quota > 0 else None
    return quota_out, (ti if plan.pays_on == "target_incentive" else None)


def statement_for(
    plan: PlanSpec,
    result: float,
    quota: float | None = None,
    *,
    rep_id: str = "R1",
    period: str | None = None,
    collection_rate: float | None = None,
    kpi_score: float | None = None,
    target_incentive: float | None = None,
) -> Statement:
    """One period's statement from a single figure (one deal of ``result``).

    A convenience for what-if checks and worked examples; for real deals use
    :func:`compute_statements`.
    """
    per = (
        period
        or {"year": "2025", "quarter": "2025-Q1", "month": "2025-01", "week": "2025-W02"}[
            plan.period
        ]
    )
    y, i = parse_label(per, plan.period)
    if plan.period == "week":
        date = dt.date.fromisocalendar(y, i, 1)
    else:
        date = dt.date(y, {"year": 1, "quarter": 3 * i - 2, "month": i}[plan.period], 1)
    qrow = {"owner_id": rep_id, "period": per}
    if quota is not None:
        qrow["quota"] = quota
    if target_incentive is not None:
        qrow["target_incentive"] = target_incentive
    quotas = pd.DataFrame([qrow]) if quota is not None or target_incentive is not None else None
    # a weighted plan: every measure at ``result`` against the same quota (the same
    # attainment on each), so a worked example reads "at 120% of every quota"
    measures = [c.measure for c in plan.components] or [plan.measure]
    if plan.components and quotas is not None:
        quotas = pd.DataFrame([{**qrow, "metric": m} for m in measures])
    mrow = {"owner_id": rep_id, "period": per}
    if collection_rate is not None:
        mrow["collection_rate"] = collection_rate
    if kpi_score is not None:
        mrow["kpi_score"] = kpi_score
    for m in measures:
        if m in RATIO_MEASURES:
            mrow[m] = result
    collections = None
    if all(m in RATIO_MEASURES for m in measures):
        deals = pd.DataFrame(columns=["opportunity_id", "owner_id", "amount", "close_date"])
    else:
        deals = pd.DataFrame(
            [
                {
                    "opportunity_id": "D1",
                    "owner_id": rep_id,
                    "amount": result,
                    "close_date": date,
                    "deal_type": "new_customer",
                    "gross_margin": result,
                }
            ]
        )
        if "collected_revenue" in measures:
            collections = pd.DataFrame([{"opportunity_id": "D1", "date": date, "amount": result}])
    metrics = pd.DataFrame([mrow]) if len(mrow) > 2 else None
    if plan.credit == "team":
        plan = plan.model_copy(update={"credit": "own"})
    ss = compute_statements(plan, deals, quotas, metrics=metrics, collections=collections)
    return ss.get(rep_id, per)


# --------------------------------------------------------------------------- weighted measures
#
# A plan with ``components`` pays shares of one target incentive. Each component is a
# measure with a weight and a quota of its own (the quotas' ``metric`` names the measure).
# ``combine: components``: each is paid through its own curve on its share (the ordinary
# statement path, exact, rounded once per component); ``combine: attainment``: one weighted
# attainment, Σ weight × attainment, through the plan's tiers (rounded once). A gate (on the
# weighted attainment), a cap and a floor apply to the whole.


def _quotas_of(quotas: pd.DataFrame | None, measure: str, name: str) -> pd.DataFrame | None:
    if quotas is None:
        return None
    if "metric" not in quotas.columns:
        raise ValueError(
            f"plan {name} weighs several measures, each with its own quota: the quotas need "
            "a 'metric' column naming the measure of each row"
        )
    q = quotas[quotas["metric"].astype(str) == measure]
    return q.drop(columns=["metric"])


def component_statements(
    plan: PlanSpec,
    deals: pd.DataFrame,
    quotas: pd.DataFrame | None = None,
    *,
    collections: pd.DataFrame | None = None,
    metrics: pd.DataFrame | None = None,
    teams: Mapping[str, Sequence[str]] | pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
):
    """Statements of a weighted-measures plan (see the module docstring)."""
    name = plan.name or "plan"
    parts = []
    for c, sub in zip(plan.components, plan.component_plans(), strict=True):
        if quotas is None:
            raise ValueError(f"plan {name} pays by attainment: give quotas per measure")
        ss = compute_statements(
            sub,
            deals,
            _quotas_of(quotas, c.measure, name),
            collections=collections,
            metrics=metrics,
            teams=teams,
            products=products,
        )
        parts.append({(st.rep_id, st.period): st for st in ss})
    keys = sorted({k for part in parts for k in part})
    statements = []
    for rep, period in keys:
        comps = []
        for c, part in zip(plan.components, parts, strict=True):
            st = part.get((rep, period))
            if st is None or st.quota is None or not st.quota:
                raise ValueError(
                    f"plan {name}: no {c.measure} quota for {rep!r} in {period} "
                    f"(component {c.name!r}); every component needs its own"
                )
            comps.append((c, st))
        att = sum(
            (exact(c.weight) * exact(st.result) / exact(st.quota) for c, st in comps),
            Fraction(0),
        )
        lines: list[Line] = []
        for c, st in comps:
            share = exact(st.result) / exact(st.quota)
            lines.append(
                Line(
                    "component",
                    f"{c.name}: {c.measure.replace('_', ' ')} {_num(st.result)} ÷ quota "
                    f"{_num(st.quota)} = {float(share):.1%} attainment, weight "
                    f"{fmt_rate(c.weight)}",
                    0,
                )
            )
        if plan.combine == "components":
            for c, st in comps:
                for ln in st.lines:
                    lines.append(
                        Line(
                            ln.kind,
                            f"{c.name}: {ln.text}",
                            ln.cents,
                            opportunity_id=ln.opportunity_id,
                            owner_id=ln.owner_id,
                            band=ln.band,
                            base=ln.base,
                            rate=ln.rate,
                            factor=ln.factor,
                        )
                    )
            band = None
        else:
            year = parse_label(period, plan.period)[0]
            ti = plan.period_incentive(year)
            if ti is None:
                raise ValueError(f"plan {name} needs a target incentive (or a pay mix)")
            sch = _commission_free_schedule(plan, ti)
            pieces = _ratio_pieces(plan, sch, att)
            total = _round_cents(sum((p.value for p in pieces), Fraction(0)))
            cents = (
                allocate_cents(total, [float(p.value) for p in pieces]).tolist()
                if total > 0
                else [0] * len(pieces)
            )
            for p, got in zip(pieces, cents, strict=True):
                lines.append(
                    Line(
                        "commission",
                        f"weighted attainment {sch.tier_labels[p.tier]}: "
                        f"{float(p.hi - p.lo):.1%} × {fmt_number(sch.rates[p.tier])} × target "
                        f"incentive {format_amount(float(ti))} = {_fmt_cents(got)}",
                        got,
                        band=sch.tier_labels[p.tier],
                        base=float(p.hi - p.lo),
                        rate=float(sch.rates[p.tier]),
                        factor=1.0,
                    )
                )
            band = sch.tier_labels[_reached(sch.tier_edges, att, sch.below)]
        subtotal = sum(ln.cents for ln in lines)
        failed = _gate_failures(plan.gate, att, None, None) if plan.gate is not None else []
        subtotal, _ = _gate_cap_floor(plan, lines, subtotal, failed)
        statements.append(
            Statement(
                name,
                rep,
                period,
                period,
                plan.currency,
                "weighted_attainment",
                float(att),
                None,
                float(att),
                band,
                not failed,
                tuple(lines),
                subtotal,
                subtotal,
            )
        )
    return StatementSet(name, tuple(statements))


def _num(x) -> str:
    x = float(x)
    return format_amount(x) if abs(x) >= 1 or x == 0 else fmt_number(x)

"""Commission-plan and bonus-pool parameters: validated, frozen, readable.

A plan file (``params/plans/*.yaml``) is read into :class:`PlanSpec`; the bonus-pool
file (``params/bonus_pool.yaml``) into :class:`PoolSpec`. Both are pydantic models
built on :class:`simlib.config.StrictModel`, so unknown keys are refused with the
closest valid key suggested, and every problem names the file, the dotted path
(``plans.tiered_cn.tiers[2].threshold``), the bad value and what is allowed.

Bands follow the OpenFisca bracket shape: each band is a ``threshold`` (where it
starts) and a ``rate``; a band ends where the next one starts. An optional ``up_to``
may be written for readability; it must then meet the next band exactly, so gaps and
overlaps are caught when the file is loaded.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from simlib.config import ParamDate, StrictModel, default_params_dir, load_file
from simlib.money import format_amount

__all__ = [
    "Band",
    "Component",
    "PayMix",
    "Multiplier",
    "Gate",
    "Cap",
    "Draw",
    "Spif",
    "Clawback",
    "PlanSpec",
    "PoolSpec",
    "MEASURES",
    "RATIO_MEASURES",
    "load_plan",
    "load_pool",
]

#: What a plan can pay on. Money measures add up over deals; ratio measures are a
#: per-period figure (from the ``metrics`` table) and pay a share of a target incentive.
MEASURES: tuple[str, ...] = (
    "revenue",
    "gross_margin",
    "collected_revenue",
    "new_customer_revenue",
    "renewal_rate",
    "kpi_score",
)
RATIO_MEASURES: tuple[str, ...] = ("renewal_rate", "kpi_score")

NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
#: What an accelerator-gate problem shows as the bad value (the whole mapping is not useful).
NO_GATE_VALUE = "(accelerator_gate)"


def exact(x: float | int | str | Decimal | Fraction) -> Fraction:
    """The number a person wrote: ``0.015`` read as exactly 15/1000, not binary 0.015."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"expected a finite number; got {x!r}")
        return Fraction(Decimal(repr(x)))
    if isinstance(x, (int, Decimal)):
        return Fraction(x)
    return Fraction(Decimal(str(x)))


def fmt_rate(rate: float | Fraction) -> str:
    """``0.015 → '1.5%'``, ``0.01 → '1%'``."""
    d = (Decimal(exact(rate).numerator) / Decimal(exact(rate).denominator)) * 100
    s = format(d.normalize(), "f")
    return f"{s}%"


def fmt_number(x: float | Fraction) -> str:
    """A factor or plain number without trailing zeros: ``1.50 → '1.5'``."""
    d = Decimal(exact(x).numerator) / Decimal(exact(x).denominator)
    return format(d.normalize(), "f")


def _fail(problems: list[tuple[tuple, object, str]], title: str) -> None:
    """Raise one pydantic error per problem, each at its own path (not the model's)."""
    if not problems:
        return
    details = [
        InitErrorDetails(
            type=PydanticCustomError("plan_rule", "{msg}", {"msg": msg}), loc=loc, input=value
        )
        for loc, value, msg in problems
    ]
    raise ValidationError.from_exception_data(title, details)


# --------------------------------------------------------------------------- parts


class Band(StrictModel):
    """One band of a rate table: from ``threshold`` up to the next band, at ``rate``."""

    threshold: NonNeg = Field(
        description="where the band starts (amount, or attainment 1.0 = 100%)"
    )
    rate: NonNeg = Field(description="rate on the slice in this band (0.015 = 1.5%)")
    up_to: Positive | None = Field(
        None, description="where the band ends; must equal the next threshold"
    )
    label: str | None = None
    entry_bonus: Positive | None = Field(
        None,
        description=(
            "a one-time amount paid when the period's result first enters this band "
            "(e.g. 300 on reaching tier 3); not on the first band"
        ),
    )
    amount: NonNeg | None = Field(
        None,
        description=(
            "the band stated as an amount instead of a rate: marginal plans pay it for the "
            "whole band (pro rata for part of it: rate = amount / band width); retroactive "
            "plans pay it flat when the result reaches the band"
        ),
    )


class Multiplier(StrictModel):
    """An accelerator (factor > 1) or decelerator (< 1) on the rate, by attainment band."""

    threshold: NonNeg = Field(description="attainment where the band starts (1.0 = 100% of quota)")
    factor: NonNeg = Field(description="multiplies the commission rate in this band")
    up_to: Positive | None = None
    label: str | None = None


class Gate(StrictModel):
    """Conditions that must all hold for anything to be paid (each ``>=``)."""

    min_attainment: NonNeg | None = Field(None, description="e.g. 0.5: nothing below 50% of quota")
    min_collection_rate: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    min_kpi_score: NonNeg | None = Field(None, description="weighted KPI score (scorecard)")

    @model_validator(mode="after")
    def _something(self):
        if (
            self.min_attainment is None
            and self.min_collection_rate is None
            and self.min_kpi_score is None
        ):
            raise ValueError(
                "a gate needs at least one of min_attainment, min_collection_rate, min_kpi_score"
            )
        return self


class Cap(StrictModel):
    """Upper limits on pay: per period (all earnings) and per deal (its commission)."""

    per_period: Positive | None = None
    per_deal: Positive | None = None

    @model_validator(mode="after")
    def _something(self):
        if self.per_period is None and self.per_deal is None:
            raise ValueError("a cap needs per_period, per_deal or both")
        return self


class Draw(StrictModel):
    """An advance against commission, paid each period the rep earns less than it.

    ``recoverable``: the shortfall is owed back and recovered from later earnings above
    the draw (carried forward). ``non_recoverable``: a guaranteed minimum per period;
    the shortfall is not carried.
    """

    kind: Literal["recoverable", "non_recoverable"]
    amount: Positive


class Spif(StrictModel):
    """A fixed bonus per qualifying won deal (by product, deal type, size)."""

    name: str
    amount: Positive
    products: tuple[str, ...] = Field((), description="product_id values; empty = any product")
    deal_type: Literal["new_customer", "existing_customer"] | None = None
    min_amount: NonNeg = 0.0
    description: str = ""


class Clawback(StrictModel):
    """Commission paid on a deal reversed within ``within_days`` of its close is reversed."""

    within_days: int = Field(ge=1, le=3660)


class Component(StrictModel):
    """One measure of a weighted plan: its own quota (the targets' ``metric``), its share
    of the target incentive, and (paid as components) its own curve by attainment."""

    name: str = Field(description="what the statement calls it, e.g. 'new logos'")
    measure: Literal[
        "revenue",
        "gross_margin",
        "collected_revenue",
        "new_customer_revenue",
        "renewal_rate",
        "kpi_score",
    ]
    weight: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        description="share of the target incentive (weights add up to 1)"
    )
    tiers: tuple[Band, ...] = Field(
        (),
        description=(
            "with combine 'components': its curve, rates as multiples of its share of the "
            "incentive by attainment (rate 1 from 0: linear); ignored with 'attainment'"
        ),
    )
    mode: Literal["marginal", "retroactive"] = "marginal"


class PayMix(StrictModel):
    """Base salary, on-target earnings and their mix (annual): any two give the third.

    The target incentive (OTE − base salary) is paid through the plan: per period it is
    the annual incentive over the periods in a year, and a rate follows from it as
    incentive ÷ quota. ``mix`` is the base's share of OTE (0.6 for a 60/40 plan).
    """

    base_salary: Positive | None = Field(None, description="annual base salary")
    ote: Positive | None = Field(None, description="annual on-target earnings")
    mix: Annotated[float, Field(gt=0.0, lt=1.0)] | None = Field(
        None, description="base salary's share of OTE (0.6 = a 60/40 mix)"
    )

    @model_validator(mode="after")
    def _two_of_three(self):
        given = [k for k in ("base_salary", "ote", "mix") if getattr(self, k) is not None]
        if len(given) != 2:
            raise ValueError(
                "give two of base_salary, ote and mix (the third follows); got "
                + (", ".join(given) or "none")
            )
        if self.base_salary is not None and self.ote is not None and self.base_salary >= self.ote:
            raise ValueError(
                f"base_salary {format_amount(self.base_salary)} must be below ote "
                f"{format_amount(self.ote)}: the difference is the target incentive"
            )
        return self

    def annual(self) -> tuple[Fraction, Fraction]:
        """(base salary, target incentive) a year, exact."""
        if self.mix is None:
            base, ote = exact(self.base_salary), exact(self.ote)
        elif self.ote is None:
            base = exact(self.base_salary)
            ote = base / exact(self.mix)
        else:
            ote = exact(self.ote)
            base = ote * exact(self.mix)
        return base, ote - base


# --------------------------------------------------------------------------- plan


def _num(x: float) -> str:
    """A threshold as written: ``1000000 → '1,000,000'``, ``0.5 → '0.5'``."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,}"


def _check_bands(bands, field: str, value_key: str, problems: list) -> None:
    """Bands must start at 0, increase, and meet exactly (no gap, no overlap).

    Messages spell out ``tiers[i].threshold`` themselves, so the reader sees the exact
    key even where a path is shortened.
    """
    if not bands:
        return
    if bands[0].threshold != 0:
        problems.append(
            (
                (field, 0, "threshold"),
                bands[0].threshold,
                f"{field}[0].threshold must be 0: the first band must start at 0 (below it "
                f"nothing is defined: a gap); add a band from 0 with {value_key} 0 if nothing "
                "is paid below it",
            )
        )
    for i in range(1, len(bands)):
        lo, hi = bands[i - 1].threshold, bands[i].threshold
        if hi <= lo:
            problems.append(
                (
                    (field, i, "threshold"),
                    hi,
                    f"bands overlap: {field}[{i}].threshold {_num(hi)} is not above "
                    f"{field}[{i - 1}].threshold {_num(lo)}; thresholds must increase",
                )
            )
    for i, b in enumerate(bands):
        if b.up_to is None:
            continue
        if i == len(bands) - 1:
            problems.append(
                (
                    (field, i, "up_to"),
                    b.up_to,
                    "the top band is open-ended; remove up_to (use cap to limit pay)",
                )
            )
            continue
        nxt = bands[i + 1].threshold
        if b.up_to != nxt:
            what = "gap between bands" if b.up_to < nxt else "bands overlap"
            problems.append(
                (
                    (field, i, "up_to"),
                    b.up_to,
                    f"{what}: {field}[{i}] ends at {_num(b.up_to)} but {field}[{i + 1}] starts at "
                    f"{_num(nxt)}; up_to must equal the next band's threshold",
                )
            )


class PlanSpec(StrictModel):
    """A commission plan, as written in ``params/plans/<name>.yaml``.

    Attributes
    ----------
    measure : str
        What is paid on: one of :data:`MEASURES`.
    basis : {"amount", "attainment"}
        Band thresholds are amounts of the measure, or attainment (measure / quota;
        1.0 = 100%).
    mode : {"marginal", "retroactive"}
        Marginal: each band's slice at its own rate (like tax brackets). Retroactive:
        the whole amount at the rate of the highest band reached.
    at_threshold : {"band_below", "band_above"}
        Which band owns an amount exactly at a threshold. ``band_below`` reads
        "up to 1,000,000 at 1%" (1,000,000 itself is paid at 1%); ``band_above`` reads
        "from 1,000,000 at 1.5%". Applies to tiers and multipliers.
    tier_scope : {"cumulative", "per_deal"}
        Bands apply to the period's running total, or to each deal on its own.
    pays_on : {"measure", "target_incentive"}
        Rates are a share of the measure (commission), or of ``target_incentive`` per
        unit of the tiered quantity (attainment 1.0 at rate 1 pays the whole incentive).
    multipliers, multiplier_mode
        Accelerators/decelerators by attainment band, marginal (each slice of sales in
        the band at rate × factor), retroactive (all of it at the factor reached) or
        overage (the amount above quota at the factor reached; below quota each slice
        at its own band's factor, usually 1).
    accelerator_gate
        A :class:`Gate` for factors above 1 only: when it is not met, accelerators pay
        as 1 (decelerators still apply); on the window the plan pays on (the year to
        date with ``ytd_true_up``).
    gate, cap, floor, draw, spifs, clawback
        See :class:`Gate`, :class:`Cap`, :class:`Draw`, :class:`Spif`,
        :class:`Clawback`; ``floor`` is a minimum pay per period when the gate is met.
    credit : {"own", "team"}
        ``team``: a manager plan paid on the team's results and the team's quota.
    ytd_true_up : bool
        Each period pays the year-to-date result under the plan (with year-to-date
        quota, caps and floor) less what earlier periods of the year credited.
    """

    name: str | None = None
    description: str
    label_zh: str | None = None
    reference: str = ""
    effective_from: ParamDate | None = None
    currency: Literal["CNY", "USD", "EUR"] = "CNY"
    period: Literal["week", "month", "quarter", "year"] = "quarter"
    measure: Literal[
        "revenue",
        "gross_margin",
        "collected_revenue",
        "new_customer_revenue",
        "renewal_rate",
        "kpi_score",
    ] = "revenue"
    credit: Literal["own", "team"] = "own"
    basis: Literal["amount", "attainment"] = "amount"
    mode: Literal["marginal", "retroactive"] = "marginal"
    at_threshold: Literal["band_below", "band_above"] = "band_below"
    tier_scope: Literal["cumulative", "per_deal"] = "cumulative"
    pays_on: Literal["measure", "target_incentive"] = "measure"
    target_incentive: Positive | None = None
    pay_mix: PayMix | None = None
    components: tuple[Component, ...] = ()
    combine: Literal["components", "attainment"] = Field(
        "components",
        description=(
            "components: each measure paid through its own curve on its share of the "
            "incentive; attainment: one weighted attainment through the plan's tiers"
        ),
    )
    incentive_share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        1.0, description="the share of the target incentive this plan pays (a component's weight)"
    )
    tiers: tuple[Band, ...] = Field(min_length=1)
    multipliers: tuple[Multiplier, ...] = ()
    multiplier_mode: Literal["marginal", "retroactive", "overage"] = "marginal"
    accelerator_gate: Gate | None = None
    base_rate: Annotated[float, Field(gt=0.0, le=1.0)] | None = Field(
        None,
        description=(
            "a spread plan (利差): each band pays its rate less this base rate on its slice "
            "(a band at or below the base rate pays nothing)"
        ),
    )
    margin_pct: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict,
        description=(
            "gross margin rate per product_id ('*' for every other product), for margin "
            "plans when the data carries no margin or cost"
        ),
    )
    gate: Gate | None = None
    cap: Cap | None = None
    floor: Positive | None = None
    draw: Draw | None = None
    spifs: tuple[Spif, ...] = ()
    clawback: Clawback | None = None
    ytd_true_up: bool = False

    @model_validator(mode="before")
    @classmethod
    def _rates_of_amount_bands(cls, data):
        """A band written as an ``amount`` gets the rate it implies: amount / width in a
        marginal plan, 0 in a retroactive one (it pays the amount flat)."""
        if not isinstance(data, dict) or not isinstance(data.get("tiers"), (list, tuple)):
            return data
        tiers = list(data["tiers"])
        marginal = data.get("mode", "marginal") == "marginal"
        for i, t in enumerate(tiers):
            if not isinstance(t, dict) or t.get("amount") is None:
                continue
            given = t.get("rate")
            rate = 0.0
            nxt = tiers[i + 1] if i + 1 < len(tiers) else None
            if marginal and isinstance(nxt, dict):
                try:
                    width = float(nxt["threshold"]) - float(t["threshold"])
                    rate = float(exact(t["amount"]) / exact(width)) if width > 0 else 0.0
                except (KeyError, TypeError, ValueError):
                    rate = 0.0  # the band checks below name what is wrong
            # a rate beside the amount is accepted only as the one it implies (a plan
            # read back from its own dump); anything else states the band two ways
            if given is not None and not math.isclose(float(given), rate, rel_tol=1e-12):
                raise ValueError(
                    f"tiers[{i}] has both a rate and an amount; a band is stated one way"
                )
            tiers[i] = {**t, "rate": rate}
        return {**data, "tiers": tiers}

    @model_validator(mode="after")
    def _coherent(self):
        problems: list[tuple[tuple, object, str]] = []
        _check_bands(self.tiers, "tiers", "rate", problems)
        for i, b in enumerate(self.tiers):
            if b.amount is None:
                continue
            why = None
            if self.pays_on != "measure":
                why = "bands stated as amounts pay on the measure, not a target incentive"
            elif self.mode == "marginal" and i == len(self.tiers) - 1:
                why = "the top band is open-ended: state it as a rate (an amount needs a width)"
            elif self.mode == "marginal" and self.basis != "amount":
                why = (
                    "in a marginal plan an amount is paid over the band's width in money: use "
                    "basis 'amount' (or mode 'retroactive' for a flat amount per band)"
                )
            elif self.tier_scope == "per_deal":
                why = "bands stated as amounts apply to the period's result: tier_scope cumulative"
            elif (
                self.mode == "retroactive"
                and self.multipliers
                and (self.multiplier_mode != "retroactive")
            ):
                why = "a flat band amount can only take retroactive multipliers"
            if why:
                problems.append((("tiers", i, "amount"), b.amount, why))
        _check_bands(self.multipliers, "multipliers", "factor", problems)
        if self.tiers and self.tiers[0].entry_bonus is not None:
            problems.append(
                (
                    ("tiers", 0, "entry_bonus"),
                    self.tiers[0].entry_bonus,
                    "the first band is entered by any result; put entry bonuses on later bands",
                )
            )
        if any(b.entry_bonus is not None for b in self.tiers) and self.tier_scope == "per_deal":
            problems.append(
                (
                    ("tier_scope",),
                    self.tier_scope,
                    "entry bonuses are paid when the period's result enters a band; they need "
                    "tier_scope 'cumulative'",
                )
            )
        if self.components:
            total = sum(exact(c.weight) for c in self.components)
            if abs(total - 1) > Fraction(1, 10**9):
                problems.append(
                    (
                        ("components",),
                        [c.weight for c in self.components],
                        f"weights add up to {float(total):g}; they must add up to 1",
                    )
                )
            if self.pays_on != "target_incentive" or self.basis != "attainment":
                problems.append(
                    (
                        ("pays_on",),
                        self.pays_on,
                        "weighted measures pay shares of a target incentive by attainment: use "
                        "pays_on 'target_incentive' and basis 'attainment'",
                    )
                )
            for key, bad in (
                ("multipliers", bool(self.multipliers)),
                ("draw", self.draw is not None),
                ("spifs", bool(self.spifs)),
                ("clawback", self.clawback is not None),
                ("ytd_true_up", self.ytd_true_up),
                ("accelerator_gate", self.accelerator_gate is not None),
            ):
                if bad:
                    problems.append(
                        (
                            (key,),
                            NO_GATE_VALUE.replace("accelerator_gate", key),
                            "not available with weighted measures yet: give each component "
                            "its own curve, and a gate, cap or floor on the whole",
                        )
                    )
            for i, b in enumerate(self.tiers):
                if b.entry_bonus is not None or b.amount is not None:
                    problems.append(
                        (
                            ("tiers", i),
                            NO_GATE_VALUE.replace("accelerator_gate", f"tiers[{i}]"),
                            "with weighted measures the plan's curve is rates by weighted "
                            "attainment: no entry bonuses or amounts",
                        )
                    )
            names = [c.name for c in self.components]
            for k, c in enumerate(self.components):
                if names.count(c.name) > 1:
                    problems.append((("components", k, "name"), c.name, "names must differ"))
                if self.combine == "components":
                    if not c.tiers:
                        problems.append(
                            (
                                ("components", k, "tiers"),
                                [],
                                "each component is paid through its own curve: give its tiers "
                                "(e.g. [{threshold: 0, rate: 1}] for linear)",
                            )
                        )
                    _check_bands(c.tiers, f"components[{k}].tiers", "rate", problems)
        if self.base_rate is not None and (
            self.pays_on != "measure" or any(b.amount is not None for b in self.tiers)
        ):
            problems.append(
                (
                    ("base_rate",),
                    self.base_rate,
                    "a spread over a base rate applies to rates on the measure; not with "
                    "a target incentive or bands stated as amounts",
                )
            )
        if self.base_rate is not None and all(b.rate <= self.base_rate for b in self.tiers):
            problems.append(
                (
                    ("base_rate",),
                    self.base_rate,
                    "every band's rate is at or below the base rate: the plan would pay nothing",
                )
            )
        if self.margin_pct and self.measure != "gross_margin":
            problems.append(
                (
                    ("margin_pct",),
                    NO_GATE_VALUE.replace("accelerator_gate", "margin_pct"),
                    f"margin rates apply to measure 'gross_margin'; this plan pays on "
                    f"{self.measure!r}",
                )
            )
        if self.multiplier_mode == "overage" and not self.multipliers:
            problems.append(
                (
                    ("multiplier_mode",),
                    self.multiplier_mode,
                    "overage applies the factor reached to the amount above quota: add multipliers",
                )
            )
        if self.accelerator_gate is not None and not any(m.factor > 1 for m in self.multipliers):
            problems.append(
                (
                    ("accelerator_gate",),
                    NO_GATE_VALUE,
                    "an accelerator gate needs multipliers with a factor above 1 to hold back",
                )
            )
        if self.pays_on == "measure":
            for i, b in enumerate(self.tiers):
                if b.rate > 1 and b.amount is not None:
                    problems.append(
                        (
                            ("tiers", i, "amount"),
                            b.amount,
                            "more than the band's width: it would pay over 100% of the slice",
                        )
                    )
                elif b.rate > 1:
                    problems.append(
                        (
                            ("tiers", i, "rate"),
                            b.rate,
                            "a commission rate is a share of the measure and must be at most "
                            "1 (100%); write 1.5% as 0.015",
                        )
                    )
        ratio = self.measure in RATIO_MEASURES
        if ratio and self.pays_on != "target_incentive":
            problems.append(
                (
                    ("pays_on",),
                    self.pays_on,
                    f"measure {self.measure!r} is a rate or score, not money: it must pay on "
                    "'target_incentive'",
                )
            )
        if ratio:
            for key, bad in (
                ("spifs", bool(self.spifs)),
                ("clawback", self.clawback is not None),
                ("ytd_true_up", self.ytd_true_up),
                ("tier_scope", self.tier_scope == "per_deal"),
            ):
                if bad:
                    problems.append(
                        (
                            (key,),
                            getattr(self, key) if key != "spifs" else len(self.spifs),
                            f"not available for measure {self.measure!r}, which has no deals "
                            "and does not add up over periods",
                        )
                    )
            if self.cap is not None and self.cap.per_deal is not None:
                problems.append(
                    (
                        ("cap", "per_deal"),
                        self.cap.per_deal,
                        f"measure {self.measure!r} has no deals to cap",
                    )
                )
        if self.pay_mix is not None and self.target_incentive is not None:
            problems.append(
                (
                    ("target_incentive",),
                    self.target_incentive,
                    "the pay mix sets the target incentive (OTE − base salary, per period); "
                    "give one or the other",
                )
            )
        if self.pay_mix is not None and self.pays_on != "target_incentive":
            problems.append(
                (
                    ("pays_on",),
                    self.pays_on,
                    "a pay mix pays its target incentive through the plan: use pays_on "
                    "'target_incentive' (basis 'attainment': rate 1 at 100% pays it in full)",
                )
            )
        if (
            self.pays_on == "target_incentive"
            and self.target_incentive is None
            and self.pay_mix is None
        ):
            problems.append(
                (
                    ("target_incentive",),
                    None,
                    "pays_on 'target_incentive' needs target_incentive (the pay at rate 1 for a "
                    "whole unit; may be overridden per rep in the quota table)",
                )
            )
        if self.pays_on == "target_incentive" and self.basis == "amount" and not ratio:
            problems.append(
                (
                    ("basis",),
                    self.basis,
                    "a target incentive on a money measure is paid by attainment: use basis "
                    "'attainment' (rates are then multiples of the incentive per 100% of quota)",
                )
            )
        if self.tier_scope == "per_deal" and self.basis != "amount":
            problems.append(
                (
                    ("tier_scope",),
                    self.tier_scope,
                    "per-deal tiers are on the deal's amount; use basis 'amount'",
                )
            )
        if self.tier_scope == "per_deal" and self.pays_on != "measure":
            problems.append(
                (("tier_scope",), self.tier_scope, "per-deal tiers must pay on the measure")
            )
        cap = self.cap.per_period if self.cap else None
        if cap is not None and self.floor is not None and cap < self.floor:
            problems.append(
                (
                    ("cap", "per_period"),
                    cap,
                    f"the per-period cap is below the floor ({format_amount(self.floor)}); "
                    "a cap must be at least the floor",
                )
            )
        if cap is not None and self.draw is not None and cap < self.draw.amount:
            problems.append(
                (
                    ("cap", "per_period"),
                    cap,
                    f"the per-period cap is below the draw ({format_amount(self.draw.amount)}); "
                    "a cap must be at least the draw",
                )
            )
        _fail(problems, "PlanSpec")
        return self

    # ---- reading -------------------------------------------------------------

    def component_plans(self) -> list[PlanSpec]:
        """Each weighted component as an ordinary plan paying its weight's share of the
        target incentive (its own curve; linear with ``combine: attainment``)."""
        base = self.model_dump(exclude_none=True)
        out = []
        for c in self.components:
            tiers = c.tiers if self.combine == "components" else ({"threshold": 0, "rate": 1},)
            data = {
                **base,
                "name": f"{self.name or 'plan'} · {c.name}",
                "components": (),
                "measure": c.measure,
                "mode": c.mode,
                "tiers": [
                    t if isinstance(t, dict) else t.model_dump(exclude_none=True) for t in tiers
                ],
                "incentive_share": c.weight,
            }
            for key in ("gate", "cap", "floor", "combine"):
                data.pop(key, None)
            out.append(PlanSpec.model_validate(data))
        return out

    def periods_per_year(self, year: int | None = None) -> int:
        """How many of the plan's periods make a year (ISO weeks: 52 or 53)."""
        if self.period == "week":
            from simlib.periods import weeks_in_year

            return weeks_in_year(year) if year is not None else 52
        return {"year": 1, "quarter": 4, "month": 12}[self.period]

    def period_incentive(self, year: int | None = None) -> Fraction | None:
        """The target incentive of one period, exact: the plan's, or the pay mix's
        annual incentive over the periods of the year (None when neither is set)."""
        share = exact(self.incentive_share)
        if self.pay_mix is not None:
            return self.pay_mix.annual()[1] / self.periods_per_year(year) * share
        if self.target_incentive is None:
            return None
        return exact(self.target_incentive) * share

    def period_base(self, year: int | None = None) -> Fraction | None:
        """The base salary of one period under the pay mix (None without one)."""
        if self.pay_mix is None:
            return None
        return self.pay_mix.annual()[0] / self.periods_per_year(year)

    @property
    def is_ratio(self) -> bool:
        """True for rate/score measures (renewal rate, KPI score)."""
        return self.measure in RATIO_MEASURES

    @property
    def uses_quota(self) -> bool:
        """Whether paying this plan needs a quota."""
        gate = any(
            g is not None and g.min_attainment is not None
            for g in (self.gate, self.accelerator_gate)
        )
        return self.basis == "attainment" or bool(self.multipliers) or gate

    def band_labels(self) -> list[str]:
        """Human labels of the tier bands, e.g. ``'1,000,000 – 3,000,000'``."""
        return _labels(self.tiers, self.basis, self.is_ratio)

    def multiplier_labels(self) -> list[str]:
        """Human labels of the multiplier bands (attainment)."""
        return _labels(self.multipliers, "attainment", False)

    def describe(self) -> str:
        """The plan in a few plain lines."""
        title = self.name or "plan"
        scope = "team results" if self.credit == "team" else "own results"
        out = [
            f"{title}: {self.description}",
            f"  pays on {self.measure.replace('_', ' ')} ({scope}) per {self.period}, "
            f"{self.mode} bands on {self.basis}, {self.currency}",
        ]
        unit = "of target incentive" if self.pays_on == "target_incentive" else ""
        for lab, b in zip(self.band_labels(), self.tiers):
            rate = (
                fmt_number(b.rate) + "×" if self.pays_on == "target_incentive" else fmt_rate(b.rate)
            )
            if b.amount is not None:
                rate = (
                    f"{format_amount(b.amount)} for the whole band"
                    if self.mode == "marginal"
                    else f"{format_amount(b.amount)} flat"
                )
            out.append(f"    {lab}: {rate} {unit}".rstrip())
        if self.base_rate is not None:
            out.append(
                f"  spread: each band pays its rate less the base rate {fmt_rate(self.base_rate)}"
            )
        owner = "the band below" if self.at_threshold == "band_below" else "the band above"
        out.append(f"  an amount exactly at a threshold belongs to {owner}")
        for lab, b in zip(self.band_labels(), self.tiers):
            if b.entry_bonus is not None:
                out.append(f"  entering {lab}: one-time bonus {format_amount(b.entry_bonus)}")
        if self.multipliers:
            how = (
                "overage: the factor reached applies to the amount above quota"
                if self.multiplier_mode == "overage"
                else self.multiplier_mode
            )
            out.append(f"  multipliers ({how}):")
            for lab, m in zip(self.multiplier_labels(), self.multipliers):
                out.append(f"    attainment {lab}: × {fmt_number(m.factor)}")
        if self.accelerator_gate:
            out.append("  accelerators only when " + _gate_words(self.accelerator_gate))
        if self.gate:
            out.append("  gate: " + _gate_words(self.gate))
        if self.cap:
            if self.cap.per_period is not None:
                out.append(f"  cap per period: {format_amount(self.cap.per_period)}")
            if self.cap.per_deal is not None:
                out.append(f"  cap per deal: {format_amount(self.cap.per_deal)}")
        if self.floor is not None:
            out.append(f"  floor per period: {format_amount(self.floor)}")
        if self.draw:
            out.append(
                f"  draw: {format_amount(self.draw.amount)} per period, "
                f"{self.draw.kind.replace('_', '-')}"
            )
        for s in self.spifs:
            out.append(f"  SPIF {s.name}: {format_amount(s.amount)} per qualifying deal")
        if self.clawback:
            out.append(f"  clawback: deals reversed within {self.clawback.within_days} days")
        if self.ytd_true_up:
            out.append("  year-to-date true-up each period")
        return "\n".join(out)

    def __repr__(self) -> str:
        bands = " | ".join(
            f"{lab}: "
            f"{fmt_rate(b.rate) if self.pays_on == 'measure' else fmt_number(b.rate) + '×TI'}"
            for lab, b in zip(self.band_labels(), self.tiers)
        )
        extras = []
        if self.multipliers:
            extras.append(f"{len(self.multipliers)} multiplier bands")
        for key in ("gate", "cap", "floor", "draw", "clawback"):
            if getattr(self, key) is not None:
                extras.append(key)
        if self.spifs:
            extras.append(f"{len(self.spifs)} SPIF")
        if self.ytd_true_up:
            extras.append("YTD true-up")
        tail = f"; {', '.join(extras)}" if extras else ""
        return (
            f"PlanSpec({self.name or '?'}: {self.measure} per {self.period}, {self.mode} on "
            f"{self.basis}, {self.at_threshold}; {bands}{tail})"
        )

    __str__ = describe


def _gate_words(g: Gate) -> str:
    parts = []
    if g.min_attainment is not None:
        parts.append(f"attainment ≥ {g.min_attainment:.0%}")
    if g.min_collection_rate is not None:
        parts.append(f"collection rate ≥ {g.min_collection_rate:.0%}")
    if g.min_kpi_score is not None:
        parts.append(f"KPI score ≥ {fmt_number(g.min_kpi_score)}")
    return " and ".join(parts)


def _labels(bands, basis: str, ratio: bool) -> list[str]:
    def f(x):
        if basis == "attainment":
            return f"{x:.0%}" if round(x * 100) == x * 100 else f"{x:.1%}"
        return fmt_number(x) if ratio else format_amount(x)

    out = []
    for i, b in enumerate(bands):
        if b.label:
            out.append(b.label)
        elif i + 1 < len(bands):
            out.append(f"{f(b.threshold)} – {f(bands[i + 1].threshold)}")
        else:
            out.append(f"above {f(b.threshold)}" if b.threshold > 0 else f"from {f(0)}")
    return out


# --------------------------------------------------------------------------- pool


class PoolSpec(StrictModel):
    """The team bonus pool (``params/bonus_pool.yaml``), R14.

    The pool is ``funding_rate`` × the team's total result. It is split by rank
    (``shares[0]`` to the top rank, ...; what the listed shares leave is split equally
    among the other paid reps, none getting more than the last listed share) or in
    proportion to score. The bottom ``review_bottom`` ranks are flagged for review and
    paid nothing.

    Funding rules (all optional; the defaults are the plain pool above):

    - ``funded_above``: the pool is funded only when the team's attainment (team result
      / team quota) reaches this (``>=``); below it the pool is 0. ``funding_base``
      says what the rate applies to once funded: ``total`` (the whole team result) or
      ``excess`` (only the result above ``funded_above`` × team quota).
    - ``holdback``: the share (0–1) of the funded pool held back as a reserve (paid
      later or kept for true-ups); the rest is split.
    - ``unallocated``: money the split gives no eligible rep. ``split`` (default): the
      pool's rule is applied to the paid reps alone (places by rank among them, or
      their scores), so the whole pool is paid; when nobody is paid it returns to the
      company. ``company`` / ``carry_forward``: every rep of the ranking keeps their
      place (rank shares over the whole team, or score over the whole team); the
      places of reps not paid (review ranks, below ``min_attainment``) and what the
      places leave (fewer reps than listed shares, capped unlisted ranks) return to
      the company, or are added to the next period's pool.

    Parts sum exactly, to the cent: paid + holdback + unallocated = funded pool (plus
    any money carried in).
    """

    name: str | None = None
    description: str
    label_zh: str | None = None
    reference: str = ""
    currency: Literal["CNY", "USD", "EUR"] = "CNY"
    period: Literal["month", "quarter", "year"] = "quarter"
    funding_rate: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        description="share of the team's result that funds the pool (typically 0.05–0.10)"
    )
    funded_on: Literal["revenue", "gross_margin", "collected_revenue", "new_customer_revenue"] = (
        "revenue"
    )
    rank_by: Literal["attainment", "result", "score"] = "attainment"
    split: Literal["rank", "score"] = "rank"
    shares: tuple[Annotated[float, Field(gt=0.0, le=1.0)], ...] = ()
    review_bottom: int = Field(0, ge=0, description="bottom ranks flagged for review, not paid")
    min_attainment: NonNeg | None = Field(None, description="no share below this attainment")
    funded_above: Annotated[float, Field(allow_inf_nan=False)] | None = Field(
        None, description="team attainment the pool needs to be funded (1.0 = 100% of team quota)"
    )
    funding_base: Literal["total", "excess"] = Field(
        "total", description="fund on the whole team result, or only on what is above"
    )
    holdback: float = Field(
        0.0, allow_inf_nan=False, description="share of the funded pool held back (0–1)"
    )
    unallocated: Literal["split", "company", "carry_forward"] = Field(
        "split", description="where money no eligible rep receives goes"
    )

    @model_validator(mode="after")
    def _coherent(self):
        problems: list[tuple[tuple, object, str]] = []
        if self.funded_above is not None and self.funded_above < 0:
            problems.append(
                (
                    ("funded_above",),
                    self.funded_above,
                    f"funded_above {self.funded_above:g} is a team attainment; it must be "
                    ">= 0 (e.g. 1.0 = 100% of the team quota)",
                )
            )
        if self.funding_base == "excess" and self.funded_above is None:
            problems.append(
                (
                    ("funding_base",),
                    "excess",
                    "funding_base 'excess' funds on the result above funded_above × team "
                    "quota: set funded_above (e.g. 1.0), or use funding_base 'total'",
                )
            )
        if not 0 <= self.holdback <= 1:
            problems.append(
                (
                    ("holdback",),
                    self.holdback,
                    f"holdback {self.holdback:g} ({fmt_rate(self.holdback)}) is the share of "
                    "the funded pool held back; it must be from 0 to 1 (0%–100%)",
                )
            )
        total = sum(exact(s) for s in self.shares)
        if total > 1:
            problems.append(
                (
                    ("shares",),
                    list(self.shares),
                    f"shares sum to {float(total):.4g} ({fmt_rate(total)}); "
                    "they must not exceed 1 (100%)",
                )
            )
        for i in range(1, len(self.shares)):
            if self.shares[i] > self.shares[i - 1]:
                problems.append(
                    (
                        ("shares", i),
                        self.shares[i],
                        f"a lower rank gets more than the rank above it ({self.shares[i - 1]:g}); "
                        "shares must not increase down the ranking",
                    )
                )
        if self.split == "rank" and not self.shares:
            problems.append(
                (("shares",), [], "split 'rank' needs shares by rank, e.g. [0.3, 0.2, 0.15]")
            )
        if self.split == "score" and self.shares:
            problems.append(
                (
                    ("shares",),
                    list(self.shares),
                    "shares apply only when split is 'rank'; remove them",
                )
            )
        _fail(problems, "PoolSpec")
        return self

    def __repr__(self) -> str:
        how = (
            "by rank " + "/".join(fmt_rate(s) for s in self.shares)
            if self.split == "rank"
            else f"by {self.rank_by}"
        )
        review = f", bottom {self.review_bottom} to review" if self.review_bottom else ""
        rules = ""
        if self.funded_above is not None:
            rules += f", funded at {fmt_rate(self.funded_above)} of team quota"
            rules += " on the excess" if self.funding_base == "excess" else ""
        if self.holdback:
            rules += f", {fmt_rate(self.holdback)} held back"
        if self.unallocated != "split":
            rules += f", unallocated to {self.unallocated.replace('_', ' ')}"
        return (
            f"PoolSpec({self.name or '?'}: {fmt_rate(self.funding_rate)} of team {self.funded_on} "
            f"per {self.period}, split {how}{review}{rules})"
        )


# --------------------------------------------------------------------------- loading


def _resolve(path: str | Path, folder: str) -> Path:
    p = Path(path)
    if p.suffix == "" and len(p.parts) == 1:
        return default_params_dir() / folder / f"{p.name}.yaml"
    return p


def load_plan(path: str | Path) -> PlanSpec:
    """Load a plan file: any path, or a shipped plan by name (``"tiered_cn"``).

    Errors name the file as given and the key's path in it (``tiers[2].rate``; a shipped
    plan's as ``plans.tiered_cn.tiers[2].rate``). The plan's ``name`` defaults to the
    file's stem.
    """
    shipped = default_params_dir() / "plans"
    p = _resolve(path, "plans")
    if not p.is_file():
        names = sorted(f.stem for f in shipped.glob("*.yaml"))
        what = "is a folder, not a plan file" if p.is_dir() else "plan file not found"
        from simlib.config import NO_VALUE, ParamError, Problem, hint

        raise ParamError(
            [
                Problem(
                    str(path),
                    "",
                    NO_VALUE,
                    f"{what}{hint(Path(str(path)).stem, names)} (a path to a plan file, or "
                    f"the name of a shipped plan: {', '.join(names)})",
                )
            ]
        )
    inside = p.resolve().parent == shipped.resolve()
    plan = load_file(p, PlanSpec, prefix=f"plans.{p.stem}" if inside else "")
    return plan if plan.name else plan.model_copy(update={"name": p.stem})


def load_pool(path: str | Path = "bonus_pool.yaml") -> PoolSpec:
    """Load the bonus-pool file (default ``params/bonus_pool.yaml``)."""
    p = Path(path)
    pool = load_file(p, PoolSpec)
    return pool if pool.name else pool.model_copy(update={"name": p.stem})

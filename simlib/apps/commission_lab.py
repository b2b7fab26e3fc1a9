"""The commission lab: edit a plan, see its cost, fairness and gaming risk at once.

Three layers, each usable on its own:

1. :class:`LabState`, a frozen record of every control value (plan, mode, bands,
   multipliers, cap, gate, pool, plans to compare), in the plan's own units (rates as
   fractions, ``0.015`` = 1.5%); :func:`plan_from_state` turns it into a validated
   :class:`~simlib.plans.PlanSpec`, and a bad edit into a :class:`PlanEditError` whose
   message names the field (``band 2 rate (tiers[1].rate): ...``).
2. :func:`compute` ``(state, context) -> LabView``: a pure function of the state and a
   :class:`LabContext` (Monte Carlo trials × reps, quotas, rep names, computed once).
   Every number comes from :mod:`simlib.plans` (``cost_of_sales``, ``compare_plans``,
   ``payout_curve``, ``gaming_risk``, ``attainment_shares``, ``fairness``) on the same
   trials; nothing is re-implemented here.
3. :class:`CommissionLab`, the ipywidgets app: it builds the controls (each with a
   stable CSS class ``simlib-...`` for browser tests), turns their values into a
   :class:`LabState`, calls :func:`compute` on every change and shows the result.
   ipywidgets and matplotlib are imported only when the app is built.

:func:`save_plan` writes a variant to ``params/plans/NAME.yaml`` (refusing to
overwrite unless asked) and validates it by loading it back through
:func:`simlib.config.load_model`.

Examples
--------
>>> import numpy as np
>>> from simlib.apps.commission_lab import LabContext, LabState, compute
>>> rng = np.random.default_rng(0)
>>> ctx = LabContext.from_arrays(rng.lognormal(np.log(1e6), 0.3, (500, 4)), [1e6] * 4)
>>> view = compute(LabState.from_plan(ctx.plans["tiered_cn"]), ctx)
>>> round(view.cost_of_sales, 4)
0.0107
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlib.config import ParamError, default_params_dir, load_model
from simlib.data import load_demo
from simlib.i18n import escape as _esc
from simlib.i18n import translator
from simlib.money import format_amount
from simlib.periods import LABEL_PATTERNS
from simlib.plans import (
    CostResult,
    GamingRisk,
    PlanSpec,
    PoolSpec,
    attainment_shares,
    compare_plans,
    cost_of_sales,
    gaming_risk,
    load_plan,
    load_pool,
    not_modelled,
    payout_curve,
    plan_levels,
    pool_payouts,
)
from simlib.plans.spec import fmt_number, fmt_rate
from simlib.plots.commission import (
    cost_distribution,
    figure_png,
    lab_figure,
    payout_curves,
    rep_pay,
)
from simlib.present import (
    MISSING,
    PAGE_CSS,
    STATUS_COLORS,
    Col,
    Units,
    apology,
    count,
    field_error,
    number,
    pct,
    table,
)
from simlib.simulate import simulate

__all__ = [
    "LabState",
    "LabContext",
    "trials_record",
    "LabView",
    "PlanEditError",
    "plan_from_state",
    "pool_from_state",
    "compute",
    "save_plan",
    "shipped_plans",
    "flag_lines",
    "CommissionLab",
    "SolveAnswer",
    "solve_lab",
    "solve_options",
    "check_solve",
    "MAX_BANDS",
    "MAX_MULTIPLIERS",
]

#: Most tier bands and multiplier bands the app shows rows for.
MAX_BANDS = 6
MAX_MULTIPLIERS = 5

#: The period kind the trials cover → the regex of its labels.

EDITED = " (edited)"


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class LabState:
    """Every control of the lab, in the plan's units.

    Attributes
    ----------
    plan : str
        The plan the edits start from (a name in :attr:`LabContext.plans`).
    mode : {"marginal", "retroactive"}
        Tier mode: each band's slice at its rate, or everything at the rate reached.
    thresholds, rates : tuple of float
        Band starts (amounts, or attainment 1.0 = 100% when the plan's basis is
        attainment) and rates (0.015 = 1.5%), one per band; the first threshold is 0.
    entry_bonuses : tuple of (float or None)
        One per band: a one-time amount paid when the period's result enters the band
        (None: no bonus; the first band has none). Shorter than the bands: the rest None.
    amounts : tuple of (float or None)
        One per band: a band stated as an amount (None: stated as a rate). A marginal
        band pays its amount for its whole width (pro rata for part of it); a
        retroactive band pays it flat when reached. Such a band keeps its amount
        through edits (its rate in ``rates`` is 0, not used). Shorter than the bands: the
        rest None.
    multiplier_mode : {"marginal", "retroactive", "overage"}
        Overage: the factor of the band reached pays on the amount above quota only
        (below quota each slice at its own band's factor).
    multiplier_thresholds, multiplier_factors : tuple of float
        Accelerator/decelerator bands by attainment (``(0, 1.0), (1.0, 1.5)``: 1.5× the
        rate on sales above 100% of quota). Empty: no multipliers.
    accelerator_gate : float or None
        Minimum attainment for accelerators (factors above 1): below it they count as 1
        (decelerators still apply). None: accelerators always apply.
    cap : float or None
        Cap on pay per period (None: no cap).
    gate : float or None
        Minimum attainment for any pay (0.5 = nothing below 50% of quota; None: none).
    pool_rate : float
        Bonus pool funding as a share of each team's revenue (0 = no pool), split as
        ``params/bonus_pool.yaml`` says.
    compare : tuple of str
        Other plans to show beside the edited one (the plan it started from is
        always shown).
    curve_rep : str or None
        Whose quota turns attainment into amounts on the payout curve and in the
        gaming-risk scan (None: the rep with the median quota).
    target_incentive : float or None
        The pay at rate 1 of a plan paying on a target incentive (None: the base
        plan's; a plan whose incentive comes from its pay mix keeps that).
    """

    plan: str = "tiered_cn"
    mode: str = "marginal"
    thresholds: tuple[float, ...] = (0.0,)
    rates: tuple[float, ...] = (0.01,)
    multiplier_mode: str = "marginal"
    multiplier_thresholds: tuple[float, ...] = ()
    multiplier_factors: tuple[float, ...] = ()
    cap: float | None = None
    gate: float | None = None
    pool_rate: float = 0.0
    compare: tuple[str, ...] = ()
    curve_rep: str | None = None
    accelerator_gate: float | None = None
    entry_bonuses: tuple[float | None, ...] = ()
    amounts: tuple[float | None, ...] = ()
    target_incentive: float | None = None

    def __post_init__(self):
        # one entry per band: pad with None, drop trailing Nones past the last band (a
        # value past it is kept, and plan_from_state says so)
        n = len(self.thresholds)
        for key in ("entry_bonuses", "amounts"):
            v = tuple(getattr(self, key))
            v = v + (None,) * (n - len(v))
            while len(v) > n and v[-1] is None:
                v = v[:-1]
            object.__setattr__(self, key, v)

    @classmethod
    def from_plan(cls, plan: PlanSpec, name: str | None = None, **changes) -> LabState:
        """The controls as they stand for ``plan`` (then ``changes`` applied)."""
        st = cls(
            plan=name or plan.name or "plan",
            mode=plan.mode,
            thresholds=tuple(float(b.threshold) for b in plan.tiers),
            rates=tuple(0.0 if b.amount is not None else float(b.rate) for b in plan.tiers),
            multiplier_mode=plan.multiplier_mode,
            multiplier_thresholds=tuple(float(m.threshold) for m in plan.multipliers),
            multiplier_factors=tuple(float(m.factor) for m in plan.multipliers),
            cap=plan.cap.per_period if plan.cap is not None else None,
            gate=plan.gate.min_attainment if plan.gate is not None else None,
            accelerator_gate=(
                plan.accelerator_gate.min_attainment if plan.accelerator_gate is not None else None
            ),
            entry_bonuses=tuple(b.entry_bonus for b in plan.tiers),
            amounts=tuple(b.amount for b in plan.tiers),
            target_incentive=plan.target_incentive if plan.pay_mix is None else None,
        )
        return st.replace(**changes) if changes else st

    def replace(self, **changes) -> LabState:
        """A copy with some controls changed."""
        return dataclasses.replace(self, **changes)

    def with_rate(self, band: int, rate: float) -> LabState:
        """A copy with one band's rate changed."""
        rates = list(self.rates)
        rates[band] = rate
        return self.replace(rates=tuple(rates))

    def with_accelerator(self, factor: float, from_attainment: float = 1.0) -> LabState:
        """A copy paying ``factor`` × the rate on sales above ``from_attainment`` of quota.

        Replaces the multiplier band starting there (adding one, and a 1× band from 0,
        when missing); other multiplier bands are kept.
        """
        bands = dict(zip(self.multiplier_thresholds, self.multiplier_factors)) or {0.0: 1.0}
        bands.setdefault(0.0, 1.0)
        bands[float(from_attainment)] = float(factor)
        keys = sorted(bands)
        return self.replace(
            multiplier_thresholds=tuple(keys), multiplier_factors=tuple(bands[k] for k in keys)
        )


class PlanEditError(ValueError):
    """The controls do not make a valid plan; ``problems`` lists (field, message).

    ``field`` is the name the app shows (``"band 2 rate"``); the message also gives
    the plan file's path (``tiers[1].rate``).
    """

    def __init__(self, problems: Sequence[tuple[str, str]]):
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{f}: {m}" for f, m in self.problems))


def _field_name(loc: tuple) -> str:
    """A plan path as the app names it: ``('tiers', 1, 'rate') → 'band 2 rate'``."""
    if not loc:
        return "plan"
    head = loc[0]
    if head in ("tiers", "multipliers") and len(loc) >= 2 and isinstance(loc[1], int):
        what = "band" if head == "tiers" else "multiplier"
        tail = loc[2] if len(loc) > 2 else ""
        tail = {"up_to": "end", "entry_bonus": "entry bonus"}.get(tail, tail)
        return f"{what} {loc[1] + 1} {tail}".strip()
    if head == "accelerator_gate":
        return "accelerator gate"
    return {
        ("cap", "per_period"): "cap per period",
        ("gate", "min_attainment"): "gate",
        ("funding_rate",): "pool %",
        ("target_incentive",): "target incentive",
        ("mode",): "mode",
        ("multiplier_mode",): "multiplier mode",
    }.get(tuple(loc[:2]), ".".join(str(p) for p in loc))


def _loc_path(loc: tuple) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def _problems(e, extra_loc: tuple = ()) -> list[tuple[str, str]]:
    """pydantic errors → (field, message naming the path and the bad value)."""
    out = []
    for err in e.errors(include_url=False):
        loc = extra_loc + tuple(err["loc"])
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        value = err.get("input")
        shown = (
            "" if isinstance(value, (dict, list, tuple)) or value is None else f"got {value!r}; "
        )
        out.append((_field_name(loc), f"({_loc_path(loc)}) {shown}{msg[0].lower() + msg[1:]}"))
    return out


def _finite(name: str, v, problems: list) -> None:
    if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v)):
        problems.append((name, f"must be a finite number; got {v!r}"))


def _describe(state: LabState, base: PlanSpec) -> str:
    """A one-paragraph description of the variant (the base plan's no longer fits)."""
    if base.basis == "attainment":

        def at(x):
            return f"{x:.0%}" if round(x * 100, 9) == round(x * 100) else f"{x:.1%}"
    else:
        at = format_amount
    if base.pays_on == "target_incentive":

        def each(t, r):
            return f"from {at(t)} {fmt_number(r)}× target incentive"
    else:

        def each(t, r):
            return f"from {at(t)} at {fmt_rate(r)}"

    def band(t, r, b, a):
        if a is not None:
            how = "for the band" if state.mode == "marginal" else "flat"
            out = f"from {at(t)}, {format_amount(a)} {how}"
        else:
            out = each(t, r)
        return out + (f" (+{format_amount(b)} on entering)" if b else "")

    bands = ", ".join(
        band(*x) for x in zip(state.thresholds, state.rates, state.entry_bonuses, state.amounts)
    )
    parts = [f"Variant of {state.plan} made in the commission lab: {state.mode} bands {bands}"]
    if state.multiplier_thresholds:
        pairs = zip(state.multiplier_thresholds, state.multiplier_factors)
        how = (
            "overage: on the amount above quota"
            if state.multiplier_mode == "overage"
            else state.multiplier_mode
        )
        parts.append(
            f"multipliers ({how}) " + ", ".join(f"×{f:g} from {t:.0%} of quota" for t, f in pairs)
        )
    if state.accelerator_gate is not None:
        parts.append(f"accelerators only from {state.accelerator_gate:.0%} of quota")
    if state.gate is not None:
        parts.append(f"nothing below {state.gate:.0%} of quota")
    if state.cap is not None:
        parts.append(f"capped at {format_amount(state.cap)} per {base.period}")
    return "; ".join(parts) + "."


def plan_from_state(
    state: LabState, base: PlanSpec | LabContext | Mapping[str, PlanSpec]
) -> PlanSpec:
    """The plan the controls describe, validated by :class:`~simlib.plans.PlanSpec`.

    Everything the lab has no control for (measure, basis, period, currency, floor,
    draw, SPIFs, clawback, other gates, per-deal cap, ...) is kept from the base plan.

    Raises
    ------
    PlanEditError
        With one (field, message) per problem, e.g. ``("band 2 rate",
        "(tiers[1].rate) got -0.01; input should be greater than or equal to 0")``.
    """
    from pydantic import ValidationError

    if not isinstance(base, PlanSpec):
        plans = base.plans if isinstance(base, LabContext) else base
        if state.plan not in plans:
            raise PlanEditError(
                [("plan", f"unknown plan {state.plan!r}; choose one of {', '.join(plans)}")]
            )
        base = plans[state.plan]
    problems: list[tuple[str, str]] = []
    if len(state.thresholds) != len(state.rates):
        problems.append(
            (
                "bands",
                f"{len(state.thresholds)} thresholds but {len(state.rates)} rates; "
                "give one rate per band",
            )
        )
    if len(state.multiplier_thresholds) != len(state.multiplier_factors):
        problems.append(
            (
                "multipliers",
                f"{len(state.multiplier_thresholds)} thresholds but "
                f"{len(state.multiplier_factors)} factors; give one factor per band",
            )
        )
    n = len(state.thresholds)
    for key, what in (("entry_bonuses", "entry bonus"), ("amounts", "amount")):
        extra = [v for v in getattr(state, key)[n:] if v is not None]
        if extra:
            problems.append(
                (
                    "bands",
                    f"{len(getattr(state, key))} values of {key} but {n} bands; give one "
                    f"{what} per band (None for none)",
                )
            )
    for i, (t, r) in enumerate(zip(state.thresholds, state.rates)):
        _finite(f"band {i + 1} threshold", t, problems)
        _finite(f"band {i + 1} rate", r, problems)
    for i, (b, a) in enumerate(zip(state.entry_bonuses, state.amounts)):
        _finite(f"band {i + 1} entry bonus", b, problems)
        _finite(f"band {i + 1} amount", a, problems)
    for j, (t, f) in enumerate(zip(state.multiplier_thresholds, state.multiplier_factors)):
        _finite(f"multiplier {j + 1} threshold", t, problems)
        _finite(f"multiplier {j + 1} factor", f, problems)
    _finite("cap per period", state.cap, problems)
    _finite("gate", state.gate, problems)
    _finite("accelerator gate", state.accelerator_gate, problems)
    _finite("target incentive", state.target_incentive, problems)
    if problems:
        raise PlanEditError(problems)

    data = base.model_dump(exclude_none=True)
    data["name"] = f"{state.plan}{EDITED}"
    data["description"] = _describe(state, base)
    data["label_zh"] = f"{base.label_zh or state.plan}（调整方案）"
    data["mode"] = state.mode
    tiers = []
    for t, r, b, a in zip(state.thresholds, state.rates, state.entry_bonuses, state.amounts):
        band: dict[str, Any] = {"threshold": t}
        if a is not None:
            band["amount"] = a  # the plan derives the rate (amount / width, or flat)
        else:
            band["rate"] = r
        if b:  # 0 or None: no bonus
            band["entry_bonus"] = b
        tiers.append(band)
    data["tiers"] = tiers
    # a multiplier mode without multipliers has nothing to apply to (overage would be
    # refused for it): the plan keeps the default
    has_mult = bool(state.multiplier_thresholds)
    data["multiplier_mode"] = state.multiplier_mode if has_mult else "marginal"
    data["multipliers"] = [
        {"threshold": t, "factor": f}
        for t, f in zip(state.multiplier_thresholds, state.multiplier_factors)
    ]
    acc = dict(data.get("accelerator_gate") or {})
    acc.pop("min_attainment", None)
    if state.accelerator_gate is not None:
        acc["min_attainment"] = state.accelerator_gate
    data["accelerator_gate"] = acc or None
    cap = dict(data.get("cap") or {})
    cap.pop("per_period", None)
    if state.cap is not None:
        cap["per_period"] = state.cap
    data["cap"] = cap or None
    gate = dict(data.get("gate") or {})
    gate.pop("min_attainment", None)
    if state.gate is not None:
        gate["min_attainment"] = state.gate
    data["gate"] = gate or None
    if state.target_incentive is not None and base.pay_mix is None:
        data["target_incentive"] = state.target_incentive
    try:
        return PlanSpec.model_validate(data)
    except ValidationError as e:
        raise PlanEditError(_problems(e)) from None


def pool_from_state(state: LabState, pool: PoolSpec | None) -> PoolSpec | None:
    """The bonus pool at the state's funding rate (None when the rate is 0)."""
    from pydantic import ValidationError

    if state.pool_rate is None or state.pool_rate == 0:
        return None
    problems: list[tuple[str, str]] = []
    _finite("pool %", state.pool_rate, problems)
    if problems:
        raise PlanEditError(problems)
    if pool is None:
        raise PlanEditError(
            [("pool %", "no bonus-pool file (params/bonus_pool.yaml) to split a pool by")]
        )
    try:
        return PoolSpec.model_validate(
            {**pool.model_dump(exclude_none=True), "funding_rate": state.pool_rate}
        )
    except ValidationError as e:
        raise PlanEditError(_problems(e)) from None


# --------------------------------------------------------------------------- context


def shipped_plans(
    currency: str = "CNY", period: str = "quarter", params_dir: str | Path | None = None
) -> tuple[dict[str, PlanSpec], dict[str, str]]:
    """The plans in ``params/plans`` the trials can price, and why the others cannot.

    The trials are one period's revenue per rep in one currency, so a plan is offered
    when it pays on revenue, per ``period``, in ``currency``, on period totals.

    Returns
    -------
    (offered, excluded)
        Name → plan; name → the reason it is not offered.
    """
    folder = Path(params_dir) if params_dir is not None else default_params_dir()
    offered: dict[str, PlanSpec] = {}
    excluded: dict[str, str] = {}
    for path in sorted((folder / "plans").glob("*.yaml")):
        try:
            p = load_plan(path)
        except (ParamError, TypeError) as e:
            excluded[path.stem] = f"invalid file: {e}"
            continue
        name = p.name or path.stem
        if p.measure != "revenue":
            excluded[name] = f"pays on {p.measure.replace('_', ' ')}; the trials are revenue"
        elif p.period != period:
            excluded[name] = f"paid per {p.period}; the trials are one {period}"
        elif p.currency != currency:
            excluded[name] = f"in {p.currency}; the trials are in {currency}"
        elif p.tier_scope == "per_deal":
            excluded[name] = "tiers each deal on its own; the trials hold period totals"
        else:
            offered[name] = p
    return offered, excluded


def trials_record(sim) -> dict[str, Any]:
    """What the lab needs of a simulation, as plain arrays and lists (small to keep on
    disk): the trials of the reps with a quota for the window, their ids, names (English
    and Chinese), teams and the teams' names."""
    s = sim.summary
    reps = s[s["level"] == "rep"].set_index("node_id").reindex(list(sim.rep_ids))
    q = reps["quota"].to_numpy(dtype=float)
    keep = np.isfinite(q) & (q > 0)
    en = reps["name"].astype(str)
    zh = en
    if "name_zh" in reps.columns:
        zh = reps["name_zh"].where(reps["name_zh"].notna(), reps["name"]).astype(str)
    teams = s[s["level"] == "team"].set_index("node_id")
    team_en = {str(k): str(v) for k, v in teams["name"].items()}
    team_zh = dict(team_en)
    if "name_zh" in teams.columns:
        team_zh.update({str(k): str(v) for k, v in teams["name_zh"].dropna().items()})

    def kept(values):
        return [v for v, k in zip(values, keep) if k]

    return {
        "trials": np.ascontiguousarray(sim.trials[:, keep]),
        "quotas": q[keep],
        "rep_ids": kept([str(r) for r in sim.rep_ids]),
        "names": kept(en.tolist()),
        "names_zh": kept(zh.tolist()),
        "teams": kept([str(t) for t in reps["parent_id"].tolist()]),
        "team_names": team_en,
        "team_names_zh": team_zh,
        "period": sim.calibration.window.label,
    }


@dataclass(frozen=True, eq=False, repr=False)
class LabContext:
    """What the lab computes on, made once: trials, quotas, reps and plans.

    Attributes
    ----------
    trials : ndarray, shape (T, R)
        Revenue per trial and rep for one period (e.g. ``simulate(...).trials``).
    quotas : ndarray, shape (R,)
        Each rep's quota for that period (> 0).
    rep_ids, names, teams : tuple of str
        Per rep; ``teams`` is the team label (for team plans and the bonus pool).
    plans : dict
        Plans the lab can start from or compare with (name → PlanSpec).
    pool : PoolSpec or None
        How a bonus pool is split (its funding rate is the lab's control).
    excluded : dict
        Plans not offered and why.
    """

    trials: np.ndarray
    quotas: np.ndarray
    rep_ids: tuple[str, ...]
    names: tuple[str, ...]
    teams: tuple[str, ...]
    plans: dict[str, PlanSpec]
    pool: PoolSpec | None = None
    currency: str = "CNY"
    period: str = ""
    excluded: dict[str, str] = field(default_factory=dict)
    #: team label → the team's name as people read it (in the page's language)
    team_names: dict[str, str] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)

    @classmethod
    def from_arrays(
        cls,
        trials,
        quotas,
        rep_ids: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        teams: Sequence[str] | None = None,
        *,
        plans: Mapping[str, PlanSpec] | None = None,
        pool: PoolSpec | None | str = "shipped",
        currency: str = "CNY",
        period: str = "",
        team_names: Mapping[str, str] | None = None,
    ) -> LabContext:
        """A context from arrays; ``plans`` default to the shipped quarterly ones."""
        x = np.asarray(trials, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"trials must be a (trials, reps) array; got shape {x.shape}")
        T, R = x.shape
        q = np.asarray(quotas, dtype=np.float64)
        if q.shape != (R,):
            raise ValueError(f"quotas must have one value per rep, shape ({R},); got {q.shape}")
        if not (np.isfinite(q) & (q > 0)).all():
            raise ValueError("every rep needs a quota above 0")
        if rep_ids is None:
            rep_ids = [f"R{i + 1:02d}" for i in range(R)]
        ids = tuple(str(r) for r in rep_ids)
        names = tuple(str(n) for n in names) if names is not None else ids
        teams = tuple(str(t) for t in teams) if teams is not None else ("team",) * R
        for what, v in (("rep_ids", ids), ("names", names), ("teams", teams)):
            if len(v) != R:
                raise ValueError(f"{what} must have one entry per rep ({R}); got {len(v)}")
        excluded: dict[str, str] = {}
        if plans is None:
            kind = next(
                (k for k, rx in LABEL_PATTERNS.items() if period and re.match(rx, period)),
                "quarter",
            )
            plans, excluded = shipped_plans(currency, kind)
        if pool == "shipped":
            try:
                pool = load_pool(default_params_dir() / "bonus_pool.yaml")
            except ParamError:
                pool = None
        return cls(
            x, q, ids, names, teams, dict(plans), pool, currency, period, excluded,
            dict(team_names or {}),
        )  # fmt: skip

    @classmethod
    def from_simulation(cls, sim, *, lang: str = "en", **kwargs) -> LabContext:
        """A context from :func:`simlib.simulate.simulate`'s result: its trials, the
        reps' quotas for the window (reps without one are left out), names (Chinese
        ones for ``lang="zh-CN"`` where the data has them) and teams."""
        return cls.from_record(trials_record(sim), lang=lang, **kwargs)

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], *, lang: str = "en", **kwargs) -> LabContext:
        """A context from :func:`trials_record`'s plain record (what the disk cache keeps)."""
        zh = lang == "zh-CN"
        names = rec["names_zh"] if zh else rec["names"]
        team_names = rec["team_names_zh"] if zh else rec["team_names"]
        kwargs.setdefault("period", rec["period"])
        kwargs.setdefault("team_names", team_names)
        return cls.from_arrays(
            rec["trials"], rec["quotas"], rec["rep_ids"], names, rec["teams"], **kwargs
        )

    def with_plan(self, name: str, plan: PlanSpec) -> LabContext:
        """The same context with one more plan offered (shares the trials and cache)."""
        plans = {**self.plans, name: plan}
        return dataclasses.replace(self, plans=plans)

    # -- helpers shared by compute ---------------------------------------------

    def evaluate_kwargs(self, plans: Sequence[PlanSpec]) -> dict[str, Any]:
        """Teams, and gates the trials cannot see assumed met (collection rate 100%,
        KPI score at the highest minimum)."""
        kpi = [
            p.gate.min_kpi_score
            for p in plans
            if p.gate is not None and p.gate.min_kpi_score is not None
        ]
        return {
            "teams": np.asarray(self.teams),
            "collection_rate": 1.0,
            "kpi_score": max(kpi) if kpi else None,
        }

    def pool_payouts(self, pool: PoolSpec) -> np.ndarray:
        """The pool over trials, split within each team (cached by the pool's terms)."""
        key = ("pool", pool.model_dump_json())
        if key not in self._cache:
            out = np.zeros_like(self.trials)
            teams = np.asarray(self.teams)
            for t in dict.fromkeys(self.teams):
                m = teams == t
                out[:, m] = pool_payouts(pool, self.trials[:, m], self.quotas[m])
            self._cache[key] = out
        return self._cache[key]

    def median_rep(self) -> str:
        """The rep whose quota is the median (the lower one for an even count)."""
        order = np.argsort(self.quotas, kind="stable")
        return self.rep_ids[int(order[(len(order) - 1) // 2])]

    def __repr__(self) -> str:
        T, R = self.trials.shape
        return (
            f"LabContext({T:,} trials × {R} reps{', ' + self.period if self.period else ''}, "
            f"{self.currency}; plans: {', '.join(self.plans)})"
        )


# --------------------------------------------------------------------------- view


@dataclass(frozen=True, eq=False, repr=False)
class LabView:
    """What the lab shows for one state.

    ``error`` is set (and the numbers are missing) when the controls do not make a
    valid plan; ``problems`` then names each bad field.
    """

    state: LabState
    plan: PlanSpec | None = None
    pool: PoolSpec | None = None
    error: str | None = None
    problems: tuple[tuple[str, str], ...] = ()
    cost: CostResult | None = None
    cost_of_sales: float = float("nan")
    budget_p50: float = float("nan")
    budget_p90: float = float("nan")
    reserve_p90: float = float("nan")
    per_rep: pd.DataFrame | None = None
    curve_rep: str | None = None
    curve_quota: float = float("nan")
    curves: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    risk: GamingRisk | None = None
    shares: pd.DataFrame | None = None
    gini: float = float("nan")
    top_decile_share: float = float("nan")
    comparison: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the state made a valid plan and everything was computed."""
        return self.error is None

    @property
    def cost_of_sales_trials(self) -> np.ndarray:
        """Total pay ÷ revenue in each trial (the cost distribution)."""
        return self.cost.cost_of_sales if self.cost is not None else np.zeros(0)

    @property
    def flags(self) -> tuple[str, ...]:
        """Cliffs and dead zones, one sentence each (English)."""
        return flag_lines(self.risk, "en") if self.risk is not None else ()

    def summary(self) -> dict[str, float]:
        """The headline numbers."""
        return {
            "cost_of_sales": self.cost_of_sales,
            "budget_p50": self.budget_p50,
            "budget_p90": self.budget_p90,
            "reserve_p90": self.reserve_p90,
            "gini": self.gini,
        }

    def __repr__(self) -> str:
        if not self.ok:
            return f"LabView({self.state.plan}: {self.error})"
        return (
            f"LabView({self.plan.name}: cost of sales {self.cost_of_sales:.2%}, budget P50 "
            f"{format_amount(self.budget_p50)}, P90 {format_amount(self.budget_p90)}, "
            f"Gini {self.gini:.2f}, {len(self.risk.cliffs)} cliffs, "
            f"{len(self.risk.dead_zones)} dead zones)"
        )


def _flag_lines_plain(risk: GamingRisk, lang: str = "en") -> tuple[str, ...]:
    """Cliffs and dead zones as sentences, amounts written out in full."""
    zh = lang == "zh-CN"
    out = []
    for r in risk.cliffs.itertuples():
        if zh:
            out.append(
                f"断崖：达成率 {r.attainment:.1%}（业绩 {format_amount(r.result)}）处，多卖一分钱，"
                f"提成变化 {format_amount(r.jump)}"
            )
        else:
            out.append(
                f"Cliff at {r.attainment:.1%} of quota ({format_amount(r.result)}): one cent more "
                f"changes pay by {format_amount(r.jump)}"
            )
    for r in risk.dead_zones.itertuples():
        if zh:
            out.append(
                f"无效区间：达成率 {r.start:.1%}–{r.end:.1%}，多卖不多得（{_reason_zh(r.reason)}）"
            )
        else:
            out.append(f"Dead zone {r.start:.1%}–{r.end:.1%} of quota: {r.reason}")
    return tuple(out)


_REASONS_ZH = [
    (re.compile(r"^below the gate \((\S+) attainment\).*$"), r"低于门槛（达成率 \1），不发放"),
    (re.compile(r"^per-period cap (\S+) reached( and above)?.*$"), r"已达单期封顶 \1"),
    (re.compile(r"^inside the draw \((\S+)\).*$"), r"仍在预支额 \1 以内"),
    (re.compile(r"^inside the floor \((\S+)\).*$"), r"仍在保底额 \1 以内"),
    (re.compile(r"^zero rate.*$"), "该档费率为0"),
]


def _reason_zh(reason: str) -> str:
    for rx, rep in _REASONS_ZH:
        if rx.match(reason):
            return rx.sub(rep, reason)
    return reason


def _failed(
    state: LabState, problems: Sequence[tuple[str, str]], error: str | None = None
) -> LabView:
    return LabView(
        state=state,
        error=error or "; ".join(f"{f}: {m}" for f, m in problems),
        problems=tuple(problems),
    )


def _comparison(
    context: LabContext, plan: PlanSpec, others: Mapping[str, PlanSpec], kw
) -> pd.DataFrame:
    """``compare_plans({base, edited, *others})``, the unedited part cached.

    Differences are paired against the first plan (the base), so the rows of the
    unedited plans are the same with or without the edited plan among them; only
    ``compare_plans({base, edited})`` is recomputed on an edit.
    """
    names = list(others)
    pair = {names[0]: others[names[0]], plan.name: plan}
    edited = compare_plans(pair, context.trials, context.quotas, **kw)
    if len(names) == 1:
        return edited
    key = ("compare", tuple((n, others[n].model_dump_json()) for n in names), kw["kpi_score"])
    if key not in context._cache:
        context._cache[key] = compare_plans(dict(others), context.trials, context.quotas, **kw)
    rest = context._cache[key].iloc[1:]
    return pd.concat([edited, rest], ignore_index=True)


def compute(state: LabState, context: LabContext) -> LabView:
    """Everything the lab shows for ``state``, on ``context``'s trials.

    Pure: the same state and context give the same view (pool splits are cached
    inside the context, which does not change the answer). Bad controls give a view
    with ``error`` set instead of raising.
    """
    try:
        plan = plan_from_state(state, context)
        pool = pool_from_state(state, context.pool)
    except PlanEditError as e:
        return _failed(state, e.problems)

    x, q = context.trials, context.quotas
    compare_names = [state.plan] + [n for n in state.compare if n != state.plan]
    unknown = [n for n in compare_names if n not in context.plans]
    if unknown:
        choose = ", ".join(context.plans)
        return _failed(state, [("compare", f"unknown plan {unknown[0]!r}; choose from {choose}")])
    others = {n: context.plans[n] for n in compare_names}
    kw = context.evaluate_kwargs([plan, *others.values()])
    team = plan.credit == "team"
    try:
        commission = cost_of_sales({plan.name: plan}, x, q, rep_ids=context.rep_ids, **kw)
    except ValueError as e:  # terms the trials cannot carry (e.g. per-deal tiers)
        return _failed(state, [("plan", str(e))])
    pay = commission.payouts[plan.name]
    notes = [f"not modelled: {t.split(': ', 1)[1]}" for t in commission.not_modelled]
    if plan.gate is not None and plan.gate.min_collection_rate is not None:
        notes.append("collection-rate gate assumed met (the trials hold revenue only)")
    if plan.gate is not None and plan.gate.min_kpi_score is not None:
        notes.append("KPI-score gate assumed met (the trials hold revenue only)")

    if pool is not None:
        pool_pay = context.pool_payouts(pool)
        cost = CostResult(
            names=(plan.name, "bonus pool"),
            payouts={plan.name: pay, "bonus pool": pool_pay},
            subjects={plan.name: commission.subjects[plan.name], "bonus pool": context.rep_ids},
            total=commission.total + pool_pay.sum(axis=1),
            revenue=commission.revenue,
            currency=commission.currency,
            not_modelled=commission.not_modelled,
        )
    else:
        pool_pay = None
        cost = commission

    # per rep (or per team for a team plan)
    subjects = commission.subjects[plan.name]
    if team:
        teams = np.asarray(context.teams)
        sub_q = np.array([q[teams == t].sum() for t in subjects])
        sub_x = np.stack([x[:, teams == t].sum(axis=1) for t in subjects], axis=1)
        per = pd.DataFrame({"team": subjects, "quota": sub_q})
    else:
        sub_q, sub_x = q, x
        per = pd.DataFrame(
            {"rep_id": context.rep_ids, "name": context.names, "team": context.teams, "quota": q}
        )
    per["expected_result"] = sub_x.mean(axis=0)
    per["expected_attainment"] = per["expected_result"] / sub_q
    per["expected_pay"] = pay.mean(axis=0)
    per["p_no_pay"] = (pay <= 0).mean(axis=0)
    if pool_pay is not None and not team:
        per["expected_pool"] = pool_pay.mean(axis=0)

    # payout curves and gaming risk at one rep's quota
    curve_rep = state.curve_rep if state.curve_rep in context.rep_ids else context.median_rep()
    k = context.rep_ids.index(curve_rep)
    if team:
        teams = np.asarray(context.teams)
        curve_quota = float(q[teams == context.teams[k]].sum())
    else:
        curve_quota = float(q[k])
    curves = {
        plan.name: payout_curve(plan, curve_quota, collection_rate=1.0, kpi_score=kw["kpi_score"])
    }
    for n, p in others.items():
        curves[n] = payout_curve(p, curve_quota, collection_rate=1.0, kpi_score=kw["kpi_score"])
    risk = gaming_risk(plan, curve_quota, collection_rate=1.0, kpi_score=kw["kpi_score"])

    shares = attainment_shares(x, q, teams=kw["teams"] if team else None, **plan_levels(plan))
    comparison = _comparison(context, plan, others, kw)
    fair = comparison.iloc[1]  # the edited plan's row: fairness of its pay
    return LabView(
        state=state,
        plan=plan,
        pool=pool,
        cost=cost,
        cost_of_sales=cost.expected_cost_of_sales,
        budget_p50=cost.budget_p50,
        budget_p90=cost.p90,
        reserve_p90=cost.reserve_p90,
        per_rep=per,
        curve_rep=curve_rep,
        curve_quota=curve_quota,
        curves=curves,
        risk=risk,
        shares=shares,
        gini=float(fair["gini"]),
        top_decile_share=float(fair["top_decile_share"]),
        comparison=comparison,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- save

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


def _plan_yaml(plan: PlanSpec, header: str) -> str:
    import yaml

    data = plan.model_dump(mode="json", exclude_none=True, exclude={"name"})
    data = {k: v for k, v in data.items() if v != [] and v != () and v != {}}
    for band in data.get("tiers", ()):
        if band.get("amount") is not None:
            band.pop("rate", None)  # a band stated as an amount, as a person writes it
    if plan.effective_from is not None:
        data["effective_from"] = plan.effective_from  # a YAML date, as people write it
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
    return "".join(f"# {ln}\n" for ln in header.splitlines()) + body


def save_plan(
    plan: PlanSpec,
    name: str,
    *,
    directory: str | Path | None = None,
    overwrite: bool = False,
    header: str | None = None,
) -> Path:
    """Write ``plan`` to ``directory/NAME.yaml`` (default ``params/plans``) and check it.

    The file is written next to its destination and validated by loading it through
    :func:`simlib.config.load_model` before it takes the final name, so a file that
    would not load is never left behind.

    Raises
    ------
    ValueError
        ``name`` is not a plain file name (letters, digits, ``_``, ``-``).
    FileExistsError
        The file exists and ``overwrite`` is False.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            "the plan name must be 1–64 letters, digits, '_' or '-' (starting with a letter "
            f"or digit); it becomes NAME.yaml; got {name!r}"
        )
    folder = Path(directory) if directory is not None else default_params_dir() / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{name}.yaml"
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists; choose another name or ask to overwrite it")
    text = _plan_yaml(plan, header or f"{name}: saved from the commission lab.")
    tmp = folder / f".{name}.{os.getpid()}.tmp.yaml"
    tmp.write_text(text, encoding="utf-8")
    try:
        load_model(tmp, PlanSpec, prefix=f"plans.{name}")
        if overwrite:
            os.replace(tmp, final)
        else:
            os.link(tmp, final)  # fails if the file appeared meanwhile: never clobber
    finally:
        tmp.unlink(missing_ok=True)
    return final


# --------------------------------------------------------------------------- app

_t = translator(
    {
        "title": ("Commission what-if lab", "提成方案模拟实验室"),
        "intro": (
            "Change the plan on the left; its cost, how pay spreads across reps and where it "
            "invites gaming follow at once. Every plan is priced on the same simulated "
            "quarter, so differences between plans are not sampling noise.",
            "在左侧修改提成方案，右侧即时显示成本、提成在销售之间的分布，以及可能诱发博弈的"
            "断崖与无效区间。所有方案都在同一组模拟上计算，方案之间的差异不是抽样误差。",
        ),
        "data": (
            "Data: {data} · {period} · {trials} simulated quarters · {reps} sales reps",
            "数据：{data} · {period} · {trials} 次模拟 · {reps} 名销售",
        ),
        "loading": (
            "Simulating the quarter and pricing the plans… (the first time can take a minute)",
            "正在模拟本季度并计算各方案……（首次打开可能需要约一分钟）",
        ),
        "plan": ("Start from", "起始方案"),
        "plan_tip": (
            "The plan the edits start from; choosing one resets the controls to it",
            "修改所基于的方案；切换后各项设置恢复为该方案",
        ),
        "mode": ("Tiers", "累进方式"),
        "marginal": ("Marginal", "超额累进"),
        "retroactive": ("Retroactive", "全额累进"),
        "marginal_tip": (
            "Each band's slice of sales is paid at that band's rate",
            "每一档内的业绩按该档费率计算",
        ),
        "retroactive_tip": (
            "All sales are paid at the rate of the highest band reached",
            "全部业绩按达到的最高档费率计算",
        ),
        "bands": ("Bands", "档位数"),
        "bands_tip": ("How many rate bands the plan has", "方案的费率档位数"),
        "band_head_amount": (
            "From ({unit}) · Rate (%) · Entry bonus ({unit})",
            "起点（{unit}） · 费率（%） · 进档奖励（{unit}）",
        ),
        "band_head_pct": (
            "From (% of quota) · Rate (%) · Entry bonus ({unit})",
            "起点（指标的%） · 费率（%） · 进档奖励（{unit}）",
        ),
        "band_head_ti": (
            "From (% of quota) · × target incentive · Entry bonus ({unit})",
            "起点（指标的%） · 目标奖金倍数 · 进档奖励（{unit}）",
        ),
        "threshold_tip": ("Where this band starts", "该档的起点"),
        "rate_tip": ("The rate paid in this band", "该档的费率"),
        "amount_tip": ("This band is stated as an amount", "该档按金额计"),
        "bonus_tip": (
            "Entry bonus: a one-time amount paid when the result enters this band (0 = none)",
            "进档奖励：业绩进入该档时一次性发放（0 = 不设）",
        ),
        "note_amount": ("Band {i}: amount for the band ({unit})", "第 {i} 档：整档金额（{unit}）"),
        "note_flat": ("Band {i}: flat ({unit})", "第 {i} 档：固定金额（{unit}）"),
        "mult_mode": ("Accelerators", "加速方式"),
        "overage": ("Above quota only", "仅超额部分"),
        "mult_marginal_tip": (
            "Each slice of sales is paid at its own band's factor",
            "每段业绩按所在档的倍数计算",
        ),
        "mult_retroactive_tip": (
            "All sales are paid at the factor of the band reached",
            "全部业绩按达到的档位倍数计算",
        ),
        "overage_tip": (
            "The factor of the band reached pays on the amount above quota only; below quota "
            "each slice keeps its own band's factor",
            "达到的档位倍数只作用于超出指标的部分；指标以内各段按所在档的倍数计算",
        ),
        "acc_gate": (
            "Accelerators only from attainment ≥ (%; 0 = none)",
            "加速系数生效门槛：达成率 ≥（%；0 = 无）",
        ),
        "acc_gate_tip": (
            "Below this attainment factors above 1 count as 1 (decelerators still apply)",
            "达成率低于此值时，大于 1 的倍数按 1 计（减速倍数照常）",
        ),
        "multipliers": ("Accelerator bands", "加速档数"),
        "multipliers_tip": (
            "Multiply the rate by attainment band (0 = none)",
            "按达成率分档调整费率倍数（0 = 不设）",
        ),
        "mult_head": ("From (% of quota) · Factor (×)", "起点（指标的%） · 倍数（×）"),
        "mult_threshold_tip": ("Attainment where this factor starts", "该倍数开始的达成率"),
        "mult_factor_tip": ("Multiplies the rate (1.5 = 1.5×)", "费率乘以该倍数（1.5 = 1.5倍）"),
        "cap": ("Cap on pay ({unit}; 0 = none)", "提成封顶（{unit}；0 = 不封顶）"),
        "cap_tip": ("Most a rep can earn in the period", "每人每期最多可得的提成"),
        "gate": ("Gate: minimum attainment (%; 0 = none)", "门槛：最低达成率（%；0 = 无）"),
        "gate_tip": ("Nothing is paid below this attainment", "达成率低于此值不发提成"),
        "pool": ("Bonus pool (% of team revenue; 0 = none)", "奖金池（团队业绩的%；0 = 无）"),
        "pool_tip": (
            "A team bonus pool funded as a share of each team's revenue",
            "按各团队业绩的一定比例提取的团队奖金池",
        ),
        "compare": ("Compare with", "对比方案"),
        "compare_tip": (
            "Other plans priced on the same trials (Ctrl-click for several)",
            "在同一组模拟上对比的其他方案（按住 Ctrl 多选）",
        ),
        "curve_rep": ("Curve at the quota of", "曲线按谁的指标"),
        "curve_rep_tip": (
            "Whose quota turns attainment into amounts on the payout curve",
            "提成曲线按此人的指标把达成率换算为金额",
        ),
        "median": ("the rep with the median quota", "指标居中的销售"),
        "save_name": ("Save as", "另存为"),
        "save_name_tip": (
            "A file name: letters, digits, _ or -",
            "文件名：字母、数字、下划线或连字符",
        ),
        "overwrite": ("Overwrite", "覆盖同名方案"),
        "save": ("Save plan", "保存方案"),
        "save_tip": ("Save the edited plan to the plan folder", "把调整后的方案保存到方案目录"),
        "saved": (
            "Saved as “{name}”; it is now in the plan lists.",
            "已保存为“{name}”，现可在方案列表中选择。",
        ),
        "save_invalid": ("Fix the settings marked in red first.", "请先修正红色标出的设置。"),
        "save_bad_name": (
            "A plan name is 1–64 letters, digits, _ or - (starting with a letter or digit).",
            "方案名须为 1–64 个字母、数字、下划线或连字符（以字母或数字开头）。",
        ),
        "save_exists": (
            "A plan named “{name}” already exists: choose another name, or tick Overwrite.",
            "名为“{name}”的方案已存在：请换一个名字，或勾选“覆盖同名方案”。",
        ),
        "save_failed": (
            "The plan could not be saved ({why}).",
            "方案未能保存（{why}）。",
        ),
        "recorded": (
            "Recorded in the ledger as version {n} ({state}); {check}.",
            "已登记到台账：第 {n} 版（{state}）；{check}。",
        ),
        "not_recorded": ("Not recorded in the ledger: {why}", "未登记到台账：{why}"),
        "no_user": (
            "Not recorded in the ledger: open the lab as yourself (add ?user= and your name "
            "to the address) to keep versions and submit them for approval.",
            "未登记到台账：以本人身份打开实验室（在地址后加 ?user= 和您的名字），"
            "才能登记版本并提交审批。",
        ),
        "ledger_down": ("the ledger could not be reached", "无法连接台账"),
        "cost_of_sales": ("Cost of sales", "销售成本率"),
        "p50": ("Budget (P50)", "预算（P50）"),
        "p90": ("Budget, bad case (P90)", "高位预算（P90）"),
        "reserve": ("Reserve to P90", "P90 储备"),
        "gini": ("Gini of pay (0 = equal)", "基尼系数（0 = 平均）"),
        "invalid": (
            "Fix the settings marked in red; the results are hidden until the plan is valid.",
            "请修正红色标出的设置；设置有效之前不显示结果。",
        ),
        "flags": ("Cliffs and dead zones", "断崖与无效区间"),
        "flags_at": ("(at {who}'s quota of {quota})", "（按{who}的指标 {quota}）"),
        "no_flags": (
            "No cliffs or dead zones: every extra sale earns a little more.",
            "未发现断崖或无效区间：多卖总能多得。",
        ),
        "cliff": (
            "Cliff at {att} of quota ({result}): one more sale changes pay by {jump}.",
            "断崖：达成率 {att}（业绩 {result}）处，多卖一点，提成变化 {jump}。",
        ),
        "dead": ("Dead zone {lo}–{hi} of quota: {why}.", "无效区间：达成率 {lo}–{hi}，{why}。"),
        "why_gate": (
            "below the gate ({gate}), so extra sales earn nothing",
            "低于门槛（{gate}），多卖不多得",
        ),
        "why_cap": ("the cap of {cap} is reached", "已达封顶 {cap}，多卖不多得"),
        "why_draw": (
            "inside the draw ({amount}): earnings only replace the draw",
            "仍在预支额 {amount} 以内，所得只是抵扣预支",
        ),
        "why_floor": (
            "inside the floor ({amount}): earnings only replace the floor",
            "仍在保底额 {amount} 以内，所得只是替代保底",
        ),
        "why_zero": ("a zero rate, so extra sales earn nothing", "该档费率为 0，多卖不多得"),
        "shares": ("Reps reaching each level", "达到各档的销售占比"),
        "shares_caption": (
            "Rule of thumb: most reps pass the threshold, 60–70% reach target, 5–15% excellence.",
            "经验值：大多数人过门槛，60–70% 达到目标，5–15% 达到卓越。",
        ),
        "level": ("Level", "档位"),
        "attainment": ("Attainment", "达成率"),
        "share": ("Share of reps", "销售占比"),
        "rule": ("Rule of thumb", "经验区间"),
        "verdict": ("Verdict", "评价"),
        "threshold": ("Threshold", "门槛"),
        "target": ("Target", "目标"),
        "excellence": ("Excellence", "卓越"),
        "in line": ("In line", "合理"),
        "too many": ("Too many", "偏多"),
        "too few": ("Too few", "偏少"),
        "compare_table": ("Plans on the same trials", "同一组模拟下的方案对比"),
        "compare_caption": (
            "Difference: mean pay minus the top row's, paired trial by trial on the same trials.",
            "差额：平均提成减去首行方案的平均提成，在同一组模拟上逐次配对计算。",
        ),
        "col_plan": ("Plan", "方案"),
        "col_p50": ("Budget P50", "预算 P50"),
        "col_p90": ("Budget P90", "预算 P90"),
        "col_gini": ("Gini", "基尼系数"),
        "col_diff": ("Difference", "差额"),
        "col_zero": ("Reps paid nothing", "零提成占比"),
        "edited": ("Your edit", "调整后的方案"),
        "not_modelled": ("Not modelled on these trials: {what}.", "本模拟未计入：{what}。"),
        "collection_gate": (
            "The collection-rate gate is assumed met (the trials hold revenue only).",
            "假定回款率门槛已满足（模拟只含业绩）。",
        ),
        "kpi_gate": (
            "The KPI-score gate is assumed met (the trials hold revenue only).",
            "假定 KPI 得分门槛已满足（模拟只含业绩）。",
        ),
        "pool_note": (
            "Stacked in orange: each rep's expected share of the team bonus pool.",
            "橙色部分：每人预期可分得的团队奖金池。",
        ),
        # validation, next to the control
        "v_number": ("Enter a number.", "请输入数字。"),
        "v_rate_neg": (
            "A rate cannot be below 0% (you typed {v}).",
            "费率不能低于 0%（当前为 {v}）。",
        ),
        "v_rate_high": (
            "A commission rate is at most 100% (you typed {v}).",
            "提成费率最高为 100%（当前为 {v}）。",
        ),
        "v_first": ("The first band starts at 0.", "第一档的起点为 0。"),
        "v_th_neg": (
            "A band cannot start below 0 (you typed {v}).",
            "档位起点不能低于 0（当前为 {v}）。",
        ),
        "v_th_order": (
            "Band {i} must start above band {j} ({prev}); you typed {v}.",
            "第 {i} 档的起点必须高于第 {j} 档（{prev}），当前为 {v}。",
        ),
        "v_factor_neg": (
            "A factor cannot be below 0 (you typed {v}).",
            "倍数不能低于 0（当前为 {v}）。",
        ),
        "v_mult_order": (
            "Accelerator band {i} must start above band {j} ({prev}); you typed {v}.",
            "第 {i} 个加速档的起点必须高于第 {j} 个（{prev}），当前为 {v}。",
        ),
        "v_cap_neg": (
            "The cap cannot be below 0 (you typed {v}); 0 means no cap.",
            "封顶不能低于 0（当前为 {v}）；0 表示不封顶。",
        ),
        "v_gate_neg": (
            "The gate cannot be below 0% (you typed {v}); 0 means no gate.",
            "门槛不能低于 0%（当前为 {v}）；0 表示不设门槛。",
        ),
        "v_pool_range": (
            "The pool is between 0% and 100% of team revenue (you typed {v}).",
            "奖金池须在团队业绩的 0% 到 100% 之间（当前为 {v}）。",
        ),
        "v_no_pool": (
            "This company has no bonus-pool rules to split a pool by; leave it at 0.",
            "本公司未设置奖金池分配规则，请保持为 0。",
        ),
        "v_bonus_neg": (
            "An entry bonus cannot be below 0 (you typed {v}); 0 means none.",
            "进档奖励不能低于 0（当前为 {v}）；0 表示不设。",
        ),
        "v_amount_neg": (
            "An amount cannot be below 0 (you typed {v}).",
            "金额不能低于 0（当前为 {v}）。",
        ),
        "v_amount_top": (
            "The top band has no end, so it cannot be an amount for the band: add a band "
            "above it, or choose Retroactive (a flat amount).",
            "最高档没有上限，不能按整档金额计：请在其上再加一档，或改为全额累进（固定金额）。",
        ),
        "v_amount_basis": (
            "In marginal mode an amount for the band needs bands in money, not % of quota: "
            "choose Retroactive (a flat amount).",
            "超额累进下，整档金额需要按金额分档（而非指标的%）：请改为全额累进（固定金额）。",
        ),
        "v_amount_wide": (
            "The amount ({v}) is more than the band's width ({w}): it would pay over 100% "
            "of the band's sales.",
            "整档金额 {v} 超过该档宽度 {w}：相当于提成超过该档业绩的 100%。",
        ),
        "v_amount_mult": (
            "A flat amount can only take Retroactive accelerators: change the accelerator "
            "mode, or set the accelerator bands to 0.",
            "固定金额只能配合“全额累进”的加速方式：请修改加速方式，或把加速档数设为 0。",
        ),
        "v_acc_gate_neg": (
            "The accelerator threshold cannot be below 0% (you typed {v}); 0 means none.",
            "加速系数生效门槛不能低于 0%（当前为 {v}）；0 表示不设。",
        ),
        "v_acc_gate_none": (
            "There is no accelerator (a factor above 1) for this to hold back: add one, or set 0.",
            "没有可约束的加速系数（大于 1 的倍数）：请先设置加速档，或填 0。",
        ),
        "v_generic": (
            "This value does not make a valid plan; try another.",
            "该数值无法构成有效方案，请换一个值。",
        ),
        # the Solve panel (R23)
        "s_head": ("Solve", "求解"),
        "s_intro": (
            "Find the value that hits a target, on the same simulated quarters; Apply puts "
            "it into the plan.",
            "在同一组模拟上求出达到目标所需的数值；点“应用”即填入方案。",
        ),
        "s_what": ("Solve for", "求解"),
        "s_what_tip": ("The one value the solver changes", "求解时调整的那一个数值"),
        "s_rates": ("Every rate (one factor)", "所有费率（同一倍数）"),
        "s_band": ("Band {i} rate (from {start})", "第 {i} 档费率（起点 {start}）"),
        "s_mult": (
            "Accelerator {j} factor (from {start} of quota)",
            "第 {j} 个加速倍数（达成率 {start} 起）",
        ),
        "s_gate": ("Gate: share of reps eligible", "门槛：达到提成资格的销售占比"),
        "s_ti": ("The target incentive", "目标奖金"),
        "ti": ("Target incentive ({unit})", "目标奖金（{unit}）"),
        "ti_tip": (
            "What rate 1 pays: the rates are multiples of it",
            "费率为 1 时的提成：各档费率都是它的倍数",
        ),
        "v_ti": (
            "The target incentive must be above 0 (you typed {v}).",
            "目标奖金须大于 0（当前为 {v}）。",
        ),
        "s_aim_cos": ("Cost of sales", "销售成本率"),
        "s_aim_budget": ("Budget", "预算"),
        "s_aim_cos_tip": ("Expected pay ÷ expected revenue", "预期提成 ÷ 预期业绩"),
        "s_aim_budget_tip": ("Expected pay per {per}", "每{per}预期提成总额"),
        "s_value_cos": ("Target cost of sales (%)", "目标销售成本率（%）"),
        "s_value_budget": ("Expected pay per {per} ({unit})", "每{per}预期提成（{unit}）"),
        "s_value_eligible": ("Reps eligible (%)", "达到资格的销售占比（%）"),
        "s_solve": ("Solve", "求解"),
        "s_solve_tip": ("Find the value on the lab's trials", "在本实验室的模拟上求解"),
        "s_apply": ("Apply", "应用到方案"),
        "s_apply_tip": ("Put the solved value into the controls", "把求得的数值填入左侧设置"),
        "s_applied": (
            "Applied: the controls now hold the solved value.",
            "已应用：左侧设置已填入求得的数值。",
        ),
        "s_fix_first": ("Fix the settings marked in red first.", "请先修正红色标出的设置。"),
        "s_rates_done": ("Rates × {f}: {rates}", "费率 × {f}：{rates}"),
        "s_one_done": ("{what}: {v} (now {now})", "{what}：{v}（现为 {now}）"),
        "s_gate_done": (
            "A gate at {gate} of quota keeps {got} of reps eligible (asked {asked}; {now})",
            "门槛设为指标的 {gate}，可使 {got} 的销售达到提成资格（目标 {asked}；{now}）",
        ),
        "s_now_gate": ("now {gate}", "现为 {gate}"),
        "s_no_gate": ("now no gate", "现未设门槛"),
        "s_then": (
            "; expected cost of sales {cos} (P10–P90 {p10}–{p90}); expected pay {pay} per "
            "{per} (P90 {pay90}).",
            "；预期销售成本率 {cos}（P10–P90 {p10}–{p90}）；每{per}预期提成 {pay}（P90 {pay90}）。",
        ),
        "s_pool": (
            " The cost includes the bonus pool ({pool} of revenue).",
            "成本已含团队奖金池（占业绩 {pool}）。",
        ),
        "s_too_low": (
            "No value of “{what}” reaches {target}: even at 0 the plan costs {lo} ({why}); "
            "aim at {lo} or more.",
            "调整“{what}”无法达到 {target}：即使取 0，方案成本也有 {lo}（{why}）；"
            "请把目标设在 {lo} 以上。",
        ),
        "s_why_other": (
            "floors, draws, entry bonuses or other bands",
            "保底、预支、进档奖励或其他档位",
        ),
        "s_why_pool": (
            "the bonus pool, floors, draws, entry bonuses or other bands",
            "团队奖金池、保底、预支、进档奖励或其他档位",
        ),
        "s_too_high": (
            "No value of “{what}” reaches {target}: changing it, the cost can only go from "
            "{lo} to {hi} (a cap limits it).",
            "调整“{what}”无法达到 {target}：它只能使成本在 {lo} 至 {hi} 之间变化（受封顶限制）。",
        ),
        "s_invalid": (
            "Reaching {target} would take “{what}” past what a plan allows (a rate above "
            "100%); aim lower.",
            "要达到 {target}，“{what}”须超出方案允许的范围（费率超过 100%）；请降低目标。",
        ),
        "v_cos": (
            "The target cost of sales must be above 0% and below {hi} (you typed {v}).",
            "目标销售成本率须大于 0% 且小于 {hi}（当前为 {v}）。",
        ),
        "v_budget": (
            "The budget must be above 0 (you typed {v}).",
            "预算须大于 0（当前为 {v}）。",
        ),
        "v_eligible": (
            "The share of reps eligible is above 0% and at most 100% (you typed {v}).",
            "达到资格的销售占比须大于 0% 且不超过 100%（当前为 {v}）。",
        ),
    }
)

_NOT_MODELLED = {
    "SPIFs": ("SPIFs (they need individual deals)", "专项奖励（需要逐单数据）"),
    "per-deal cap": ("the per-deal cap (needs individual deals)", "单笔封顶（需要逐单数据）"),
    "clawbacks": ("clawbacks (need reversals)", "追回（需要退单数据）"),
    "year-to-date": (
        "the year-to-date true-up (one quarter is priced)",
        "年度累计补差（只计算一个季度）",
    ),
    "recovery": ("recovery of the draw in later periods", "预支在后续期间的追回"),
}

log = logging.getLogger(__name__)


def _pct_in(v: float) -> float:
    """A percentage typed in the app → a fraction, without binary noise (1.5 → 0.015)."""
    return round(float(v) / 100.0, 12)


def _pct_out(f: float) -> float:
    return round(float(f) * 100.0, 10)


def _amount_in(v: float, divisor: float) -> float:
    return round(float(v) * divisor, 6)


def _amount_out(a: float, divisor: float) -> float:
    return round(float(a) / divisor, 10)


def state_from_values(values: Mapping[str, Any], basis: str, divisor: float = 1.0) -> LabState:
    """A :class:`LabState` from the app's control values (percentages as typed).

    ``values`` holds ``plan``, ``mode``, ``n_bands``, ``threshold_i``, ``rate_i``,
    ``bonus_i`` (entry bonus, 0 = none), ``amount_i`` and ``is_amount_i`` (a band stated
    as an amount), ``multiplier_mode``, ``n_multipliers``, ``mult_threshold_j``,
    ``mult_factor_j``, ``acc_gate`` (accelerator gate, %; 0 = none), ``cap``, ``gate``,
    ``pool``, ``compare``, ``curve_rep``; ``basis`` is the base plan's (attainment
    thresholds are typed as %, amounts as amounts in the page's unit: ``divisor``
    currency units each, e.g. 10,000 for 万).
    """
    nb, nm = int(values["n_bands"]), int(values["n_multipliers"])
    if basis == "attainment":
        th = tuple(_pct_in(values[f"threshold_{i}"]) for i in range(nb))
    else:
        th = tuple(_amount_in(values[f"threshold_{i}"], divisor) for i in range(nb))
    is_amount = [bool(values.get(f"is_amount_{i}", False)) for i in range(nb)]
    amounts = tuple(
        _amount_in(values[f"amount_{i}"], divisor) if is_amount[i] else None for i in range(nb)
    )
    bonuses = []
    for i in range(nb):
        b = float(values.get(f"bonus_{i}", 0.0) or 0.0)
        bonuses.append(None if i == 0 or b == 0 else _amount_in(b, divisor))
    cap = float(values["cap"])
    gate = float(values["gate"])
    acc = float(values.get("acc_gate", 0.0) or 0.0)
    ti = float(values.get("target_incentive", 0.0) or 0.0)
    return LabState(
        plan=values["plan"],
        mode=values["mode"],
        thresholds=th,
        rates=tuple(0.0 if is_amount[i] else _pct_in(values[f"rate_{i}"]) for i in range(nb)),
        multiplier_mode=values["multiplier_mode"],
        multiplier_thresholds=tuple(_pct_in(values[f"mult_threshold_{j}"]) for j in range(nm)),
        multiplier_factors=tuple(float(values[f"mult_factor_{j}"]) for j in range(nm)),
        cap=None if cap == 0 else _amount_in(cap, divisor),
        gate=None if gate == 0 else _pct_in(gate),
        pool_rate=_pct_in(values["pool"]),
        compare=tuple(values.get("compare") or ()),
        curve_rep=values.get("curve_rep") or None,
        accelerator_gate=None if acc == 0 else _pct_in(acc),
        entry_bonuses=tuple(bonuses),
        amounts=amounts,
        target_incentive=None if ti == 0 else _amount_in(ti, divisor),
    )


def values_from_state(state: LabState, basis: str, divisor: float = 1.0) -> dict[str, Any]:
    """The control values that show ``state`` (the inverse of :func:`state_from_values`)."""
    v: dict[str, Any] = {
        "plan": state.plan,
        "mode": state.mode,
        "n_bands": len(state.thresholds),
        "multiplier_mode": state.multiplier_mode,
        "n_multipliers": len(state.multiplier_thresholds),
        "cap": _amount_out(state.cap, divisor) if state.cap else 0.0,
        "gate": _pct_out(state.gate) if state.gate else 0.0,
        "pool": _pct_out(state.pool_rate),
        "compare": tuple(state.compare),
        "curve_rep": state.curve_rep or "",
    }
    v["acc_gate"] = _pct_out(state.accelerator_gate) if state.accelerator_gate else 0.0
    ti = state.target_incentive
    v["target_incentive"] = _amount_out(ti, divisor) if ti else 0.0
    for i, (t, r) in enumerate(zip(state.thresholds, state.rates)):
        v[f"threshold_{i}"] = _pct_out(t) if basis == "attainment" else _amount_out(t, divisor)
        v[f"rate_{i}"] = _pct_out(r)
        a, b = state.amounts[i], state.entry_bonuses[i]
        v[f"is_amount_{i}"] = a is not None
        v[f"amount_{i}"] = _amount_out(a, divisor) if a is not None else 0.0
        v[f"bonus_{i}"] = _amount_out(b, divisor) if b else 0.0
    for j, (t, f) in enumerate(zip(state.multiplier_thresholds, state.multiplier_factors)):
        v[f"mult_threshold_{j}"] = _pct_out(t)
        v[f"mult_factor_{j}"] = float(f)
    return v


#: control key → CSS class (the browser tests' selectors).
def css_class(key: str) -> str:
    """``threshold_0 → simlib-threshold-0``."""
    return "simlib-" + key.replace("_", "-")


# -- formatting for people ---------------------------------------------------------


def page_units(lang: str, context: LabContext) -> Units:
    """The lab page's one unit system: 万 in zh-CN; thousands in English (millions when
    the median quota is 10 million or more)."""
    if lang == "zh-CN":
        return Units(lang, scale="wan", currency=context.currency)
    big = float(np.median(context.quotas)) >= 10_000_000
    return Units(lang, scale="m" if big else "k", currency=context.currency)


def _typed(v: Any) -> str:
    """A typed number echoed back as typed: ``-1.0 → '−1'``, ``2.5 → '2.5'``."""
    x = float(v)
    s = f"{abs(x):,.6f}".rstrip("0").rstrip(".")
    return ("−" if x < 0 and s != "0" else "") + s


def _typed_amount(v: Any, units: Units) -> str:
    """A typed amount (in the page's unit) with the unit: ``−5万元``, ``−¥5k``."""
    s = _typed(v)
    if units.zh:
        return f"{s}{units.label()}"
    sym = units.label()[:1]
    neg = s.startswith("−")
    return f"{'−' if neg else ''}{sym}{s.lstrip('−')}{units.label()[1:]}"


def _amt(x: float, units: Units, *, sign: bool = False) -> str:
    """An amount with the page's unit, with enough decimals that it is not '0'."""
    v = abs(float(x)) / units.divisor
    d = units.decimals
    if 0 < v < 1:
        d = max(d, 2)
    elif 0 < v < 10:
        d = max(d, 1)
    return units.amount(x, unit=True, decimals=d, sign=sign)


#: Short English names of the shipped plans (the descriptions are long sentences).
_SHIPPED_EN = {
    "tiered_cn": "Tiered, marginal",
    "tiered_cn_retro": "Tiered, retroactive",
    "manager_override": "Manager override (team)",
    "annual_ytd": "Annual, paid quarterly (YTD)",
}


def plan_label(plan: PlanSpec, name: str, lang: str) -> str:
    """A plan as people name it: the head of its Chinese label or English description
    (``阶梯提成（超额累进）``); a plan saved from the lab by the name it was saved as."""
    if lang == "zh-CN" and plan.label_zh and "调整方案" not in plan.label_zh:
        return re.split(r"[：:]", plan.label_zh, maxsplit=1)[0].strip() or name
    if lang != "zh-CN" and name in _SHIPPED_EN and not plan.description.startswith("Variant"):
        return _SHIPPED_EN[name]
    desc = (plan.description or "").strip()
    if lang != "zh-CN" and desc and not desc.startswith("Variant of"):
        head = re.split(r"[:;]|\.\s", desc, maxsplit=1)[0].strip().rstrip(".")
        if head:
            return head if len(head) <= 70 else head[:67].rstrip() + "…"
    return name


def _why_dead(reason: str, plan: PlanSpec, units: Units, lang: str) -> str:
    if reason.startswith("below the gate") and plan.gate and plan.gate.min_attainment:
        return _t("why_gate", lang, gate=pct(plan.gate.min_attainment, 0))
    if reason.startswith("per-period cap") and plan.cap and plan.cap.per_period:
        return _t("why_cap", lang, cap=_amt(plan.cap.per_period, units))
    if reason.startswith("inside the draw") and plan.draw is not None:
        return _t("why_draw", lang, amount=_amt(plan.draw.amount, units))
    if reason.startswith("inside the floor") and plan.floor is not None:
        return _t("why_floor", lang, amount=_amt(plan.floor, units))
    return _t("why_zero", lang)


def flag_lines(
    risk: GamingRisk,
    lang: str = "en",
    units: Units | None = None,
    plan: PlanSpec | None = None,
) -> tuple[str, ...]:
    """Cliffs and dead zones as sentences, in English or Chinese.

    With ``units`` (and the ``plan``, for the reasons) amounts are in the page's unit
    and every word is in ``lang``; without, amounts are written out in full.
    """
    if units is None or plan is None:
        return _flag_lines_plain(risk, lang)
    out = []
    for r in risk.cliffs.itertuples():
        out.append(
            _t(
                "cliff",
                lang,
                att=pct(r.attainment, 1),
                result=_amt(r.result, units),
                jump=_amt(r.jump, units, sign=True),
            )
        )
    for r in risk.dead_zones.itertuples():
        why = _why_dead(str(r.reason), plan, units, lang)
        out.append(_t("dead", lang, lo=pct(r.start, 1), hi=pct(r.end, 1), why=why))
    return tuple(out)


def check_values(
    values: Mapping[str, Any], base: PlanSpec, units: Units, lang: str, *, pool: bool = True
) -> dict[str, str]:
    """What is wrong with the typed controls, by row (``band_i``, ``mult_j``,
    ``acc_gate``, ``cap``, ``gate``, ``pool``), in ``lang`` and as the user typed it
    (−1 % reads "−1%").

    ``pool``: whether the company has bonus-pool rules (else any pool is refused).
    """
    errs: dict[str, str] = {}

    def bad(x) -> bool:
        try:
            return x is None or not math.isfinite(float(x))
        except (TypeError, ValueError):
            return True

    attain = base.basis == "attainment"
    ratio = base.pays_on == "target_incentive"

    def th_text(x):
        return f"{_typed(x)}%" if attain else _typed_amount(x, units)

    nb = int(values["n_bands"])
    nm = int(values["n_multipliers"])
    for i in range(nb):
        t, r = values[f"threshold_{i}"], values[f"rate_{i}"]
        key = f"band_{i}"
        is_amount = bool(values.get(f"is_amount_{i}", False))
        bonus = values.get(f"bonus_{i}", 0.0) if i > 0 else 0.0
        if bad(t) or bad(bonus) or (bad(values.get(f"amount_{i}")) if is_amount else bad(r)):
            errs[key] = _t("v_number", lang)
        elif float(bonus) < 0:
            errs[key] = _t("v_bonus_neg", lang, v=_typed_amount(bonus, units))
        elif is_amount:
            if float(t) < 0:
                errs[key] = _t("v_th_neg", lang, v=th_text(t))
            elif i == 0 and float(t) != 0:
                errs[key] = _t("v_first", lang)
            elif (msg := _amount_problem(values, i, nb, nm, attain, units, lang)) is not None:
                errs[key] = msg
            elif i > 0 and not bad(values[f"threshold_{i - 1}"]):
                prev = float(values[f"threshold_{i - 1}"])
                if float(t) <= prev:
                    errs[key] = _t(
                        "v_th_order", lang, i=i + 1, j=i, prev=th_text(prev), v=th_text(t)
                    )
        elif float(r) < 0:
            rv = _typed(r) + ("" if ratio else "%")
            errs[key] = _t("v_rate_neg", lang, v=rv)
        elif not ratio and float(r) > 100:
            errs[key] = _t("v_rate_high", lang, v=f"{_typed(r)}%")
        elif float(t) < 0:
            errs[key] = _t("v_th_neg", lang, v=th_text(t))
        elif i == 0 and float(t) != 0:
            errs[key] = _t("v_first", lang)
        elif i > 0 and not bad(values[f"threshold_{i - 1}"]):
            prev = float(values[f"threshold_{i - 1}"])
            if float(t) <= prev:
                errs[key] = _t("v_th_order", lang, i=i + 1, j=i, prev=th_text(prev), v=th_text(t))
    for j in range(nm):
        t, f = values[f"mult_threshold_{j}"], values[f"mult_factor_{j}"]
        key = f"mult_{j}"
        if bad(t) or bad(f):
            errs[key] = _t("v_number", lang)
        elif float(f) < 0:
            errs[key] = _t("v_factor_neg", lang, v=f"{_typed(f)}×")
        elif float(t) < 0:
            errs[key] = _t("v_th_neg", lang, v=f"{_typed(t)}%")
        elif j == 0 and float(t) != 0:
            errs[key] = _t("v_first", lang)
        elif j > 0 and not bad(values[f"mult_threshold_{j - 1}"]):
            prev = float(values[f"mult_threshold_{j - 1}"])
            if float(t) <= prev:
                errs[key] = _t(
                    "v_mult_order", lang, i=j + 1, j=j, prev=f"{_typed(prev)}%", v=f"{_typed(t)}%"
                )
    acc = values.get("acc_gate", 0.0)
    if bad(acc):
        errs["acc_gate"] = _t("v_number", lang)
    elif float(acc) < 0:
        errs["acc_gate"] = _t("v_acc_gate_neg", lang, v=f"{_typed(acc)}%")
    elif float(acc) > 0:
        factors = [values[f"mult_factor_{j}"] for j in range(nm)]
        if not any(not bad(f) and float(f) > 1 for f in factors):
            errs["acc_gate"] = _t("v_acc_gate_none", lang)
    if _has_ti(base):
        ti = values.get("target_incentive", 0.0)
        if bad(ti):
            errs["target_incentive"] = _t("v_number", lang)
        elif float(ti) <= 0:
            errs["target_incentive"] = _t("v_ti", lang, v=_typed_amount(ti, units))
    cap, gate, pool_v = values["cap"], values["gate"], values["pool"]
    if bad(cap):
        errs["cap"] = _t("v_number", lang)
    elif float(cap) < 0:
        errs["cap"] = _t("v_cap_neg", lang, v=_typed_amount(cap, units))
    if bad(gate):
        errs["gate"] = _t("v_number", lang)
    elif float(gate) < 0:
        errs["gate"] = _t("v_gate_neg", lang, v=f"{_typed(gate)}%")
    if bad(pool_v):
        errs["pool"] = _t("v_number", lang)
    elif not 0 <= float(pool_v) <= 100:
        errs["pool"] = _t("v_pool_range", lang, v=f"{_typed(pool_v)}%")
    elif float(pool_v) > 0 and not pool:
        errs["pool"] = _t("v_no_pool", lang)
    return errs


def _has_ti(plan: PlanSpec) -> bool:
    """Whether the plan pays on a target incentive the lab can edit (not from a pay mix)."""
    return plan.pays_on == "target_incentive" and plan.pay_mix is None


def _amount_problem(
    values: Mapping[str, Any], i: int, nb: int, nm: int, attain: bool, units: Units, lang: str
) -> str | None:
    """What is wrong with band ``i`` stated as an amount (None: nothing)."""
    a = float(values[f"amount_{i}"])
    if a < 0:
        return _t("v_amount_neg", lang, v=_typed_amount(a, units))
    if values["mode"] == "marginal":
        if i == nb - 1:
            return _t("v_amount_top", lang)
        if attain:
            return _t("v_amount_basis", lang)
        try:
            width = float(values[f"threshold_{i + 1}"]) - float(values[f"threshold_{i}"])
        except (TypeError, ValueError):
            return None
        if math.isfinite(width) and 0 < width < a:
            return _t(
                "v_amount_wide",
                lang,
                v=_typed_amount(a, units),
                w=_typed_amount(round(width, 10), units),
            )
    elif nm > 0 and values["multiplier_mode"] != "retroactive":
        return _t("v_amount_mult", lang)
    return None


def _problem_row(field_name: str) -> str:
    """A :class:`PlanEditError` field (``band 2 rate``) → the row it is shown next to."""
    m = re.match(r"^(band|multiplier) (\d+)", field_name)
    if m:
        return ("band_" if m.group(1) == "band" else "mult_") + str(int(m.group(2)) - 1)
    return {
        "cap per period": "cap",
        "gate": "gate",
        "pool %": "pool",
        "accelerator gate": "acc_gate",
        "multiplier mode": "mult_mode",
        "target incentive": "target_incentive",
    }.get(field_name, "plan")


def _kpi(label: str, value: str, *, blank: bool = False) -> str:
    style = " style='color:#9e9e9e'" if blank else ""
    return (
        f"<div class='simlib-card'><div class='k'>{_esc(label)}</div>"
        f"<b class='v'{style}>{_esc(value)}</b></div>"
    )


_LAB_CSS = """
.simlib-commission-lab .simlib-card { min-width: 0; width: 142px; margin: 0 10px 8px 0;
  padding: 8px 12px; }
.simlib-commission-lab .simlib-card b.v { display: block; font-size: 22px; font-weight: 600; }
.simlib-commission-lab h2 { margin: 4px 0 2px; font-size: 22px; }
.simlib-lab-intro { color: #444; margin: 0 0 2px; max-width: 1100px; }
.simlib-lab-data { color: #777; font-size: 12px; margin-bottom: 8px; }
.simlib-lab-head { color: #555; font-size: 12px; margin: 4px 0 2px; }
.simlib-lab-flags ul { margin: 4px 0 8px; padding-left: 20px; }
.simlib-lab-section { font-weight: 600; margin: 10px 0 2px; }
.simlib-lab-notes { color: #666; font-size: 12px; }
.simlib-lab-message { color: #b71c1c; font-weight: 600; }
.simlib-lab-saved { color: #1b5e20; font-size: 13px; }
"""


def view_html(
    view: LabView,
    context: LabContext,
    lang: str,
    units: Units,
    labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The lab's readouts for a valid ``view`` as safe HTML, in ``lang`` and ``units``:
    ``cost_of_sales``, ``budget_p50``, ``budget_p90``, ``reserve``, ``gini`` (cards),
    ``flags``, ``shares``, ``compare_table`` and ``notes``."""
    L, v = lang, view
    labels = dict(labels or {})
    out = {
        "cost_of_sales": _kpi(_t("cost_of_sales", L), pct(v.cost_of_sales, 2)),
        "budget_p50": _kpi(_t("p50", L), units.amount(v.budget_p50, unit=True)),
        "budget_p90": _kpi(_t("p90", L), units.amount(v.budget_p90, unit=True)),
        "reserve": _kpi(_t("reserve", L), units.amount(v.reserve_p90, unit=True)),
        "gini": _kpi(_t("gini", L), number(v.gini, 2)),
    }
    flags = flag_lines(v.risk, L, units, v.plan)
    who = _curve_who(v, context, L)
    body = "".join(f"<li>{_esc(s)}</li>" for s in flags) or f"<li>{_esc(_t('no_flags', L))}</li>"
    color = STATUS_COLORS["red"] if flags else STATUS_COLORS["green"]
    at = _t("flags_at", L, who=who, quota=_amt(v.curve_quota, units))
    out["flags"] = (
        f"<div class='simlib-lab-flags'><div class='simlib-lab-section'>{_esc(_t('flags', L))} "
        f"<small style='font-weight:400;color:#666'>{_esc(at)}</small></div>"
        f"<ul style='color:{color}'>{body}</ul></div>"
    )
    sh = v.shares.copy()
    sh["level_t"] = [
        _t(k, L) if k in ("threshold", "target", "excellence") else k for k in sh["level"]
    ]
    sh["rule_t"] = [f"{pct(a, 0)}–{pct(b, 0)}" for a, b in zip(sh["rule_low"], sh["rule_high"])]
    sh["verdict_t"] = [
        _t(k, L) if k in ("in line", "too many", "too few") else k for k in sh["verdict"]
    ]
    out["shares"] = f"<div class='simlib-lab-section'>{_esc(_t('shares', L))}</div>" + table(
        sh,
        [
            Col("level_t", "档位", "Level"),
            Col("attainment", "达成率", "Attainment", "pct", 0),
            Col("share", "销售占比", "Share of reps", "pct", 0),
            Col("rule_t", "经验区间", "Rule of thumb"),
            Col("verdict_t", "评价", "Verdict"),
        ],
        units,
        caption=_t("shares_caption", L),
    )
    cmp_ = v.comparison.copy()
    cmp_["label"] = [
        _t("edited", L) if n == v.plan.name else labels.get(n, n) for n in cmp_["plan"]
    ]
    out["compare_table"] = (
        f"<div class='simlib-lab-section'>{_esc(_t('compare_table', L))}</div>"
        + table(
            cmp_,
            [
                Col("label", "方案", "Plan"),
                Col("cost_of_sales", "销售成本率", "Cost of sales", "pct", 2),
                Col("p50", "预算 P50", "Budget P50", "amount"),
                Col("p90", "预算 P90", "Budget P90", "amount"),
                Col("gini", "基尼系数", "Gini", "number", 2),
                Col("share_zero_pay", "零提成占比", "Reps paid nothing", "pct", 0),
                Col(
                    "diff_vs_first",
                    "与首行方案的差额",
                    "Difference from the top row",
                    "amount",
                    fmt=lambda x: units.amount(x, sign=True),
                ),
            ],
            units,
            caption=_t("compare_caption", L),
        )
    )
    notes = []
    plan = v.plan
    what = []
    for term in not_modelled(plan):
        key = next((k for k in _NOT_MODELLED if term.startswith(k)), None)
        if key is not None:
            en, zh = _NOT_MODELLED[key]
            what.append(zh if L == "zh-CN" else en)
    if what:
        notes.append(_t("not_modelled", L, what=("、" if L == "zh-CN" else "; ").join(what)))
    if plan.gate is not None and plan.gate.min_collection_rate is not None:
        notes.append(_t("collection_gate", L))
    if plan.gate is not None and plan.gate.min_kpi_score is not None:
        notes.append(_t("kpi_gate", L))
    if v.pool is not None and plan.credit != "team":
        notes.append(_t("pool_note", L))
    out["notes"] = "<br>".join(_esc(n) for n in notes)
    return out


def _curve_who(view: LabView, context: LabContext, lang: str) -> str:
    """Whose quota the curve is at: the rep's name (the team's for a team plan)."""
    k = context.rep_ids.index(view.curve_rep)
    if view.plan is not None and view.plan.credit == "team":
        team = context.teams[k]
        return context.team_names.get(team, team)
    return context.names[k]


# --------------------------------------------------------------------------- solve (R23)

#: What the solve panel aims at: expected cost of sales, an expected budget per period,
#: or (for the gate) the share of reps who stay eligible.
SOLVE_AIMS = ("cost_of_sales", "budget", "eligible")
#: The highest cost of sales the panel accepts as a target (a plan costing half of what
#: it sells is a typing slip, not a plan).
SOLVE_MAX_COST_OF_SALES = 0.5


@dataclass(frozen=True, eq=False, repr=False)
class SolveAnswer:
    """What the lab's Solve panel found for one request (see :func:`solve_lab`).

    ``ok``: a value was found; ``state`` then holds the controls with it (what Apply
    puts in). Otherwise ``reach`` is the range the target could take by changing what
    was asked (``hi`` is ``inf`` when there is no upper limit) and ``text`` says so.
    ``text`` is the answer in words, in the request's language and the page's units.
    """

    what: str
    aim: str
    target: float
    ok: bool
    text: str
    state: LabState | None = None
    solution: Any = None
    value: float = float("nan")
    expected_cost_of_sales: float = float("nan")
    cost_of_sales_p10: float = float("nan")
    cost_of_sales_p90: float = float("nan")
    expected_payout: float = float("nan")
    payout_p90: float = float("nan")
    eligible: float = float("nan")
    reach: tuple[float, float] = (float("nan"), float("nan"))

    def __repr__(self) -> str:
        return f"SolveAnswer({self.what} for {self.aim} {self.target:.6g}: {self.text})"


def _period_word(context: LabContext, lang: str) -> str:
    kind = next(
        (k for k, rx in LABEL_PATTERNS.items() if context.period and re.match(rx, context.period)),
        "",
    )
    words = {"quarter": ("quarter", "季度"), "month": ("month", "月"), "year": ("year", "年")}
    en, zh = words.get(kind, ("period", "期"))
    return zh if lang == "zh-CN" else en


def _threshold_text(t: float, base: PlanSpec, units: Units) -> str:
    if base.basis == "attainment":
        return pct(t, 0)
    whole = float(t) / units.divisor
    if whole == 0:
        return "0"
    return units.amount(t, unit=True, decimals=0) if whole.is_integer() else _amt(t, units)


def solve_options(
    state: LabState, context: LabContext, lang: str = "en", units: Units | None = None
) -> list[tuple[str, str]]:
    """What the Solve panel can solve for ``state``, as ``(label, key)``: ``rates``
    (every rate by one factor), ``band_i`` (one band's rate; bands stated as amounts
    are not offered), ``mult_j`` (an accelerator band's factor) and ``gate``."""
    units = units or page_units(lang, context)
    base = context.plans.get(state.plan)
    out = [(_t("s_rates", lang), "rates")]
    if base is None:
        return out
    for i, (t, a) in enumerate(zip(state.thresholds, state.amounts)):
        if a is None:
            out.append(
                (_t("s_band", lang, i=i + 1, start=_threshold_text(t, base, units)), f"band_{i}")
            )
    for j, t in enumerate(state.multiplier_thresholds):
        out.append((_t("s_mult", lang, j=j + 1, start=pct(t, 0)), f"mult_{j}"))
    if _has_ti(base):
        out.append((_t("s_ti", lang), "target_incentive"))
    out.append((_t("s_gate", lang), "gate"))
    return out


def check_solve(what: str, aim: str, value: Any, lang: str, units: Units) -> str | None:
    """What is wrong with the typed target (None: nothing), in ``lang`` and as typed:
    a cost of sales above 0% and below 50%, a budget above 0 (in the page's unit), a
    share of reps eligible above 0% and at most 100%."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _t("v_number", lang)
    if not math.isfinite(v):
        return _t("v_number", lang)
    if what == "gate":
        return None if 0 < v <= 100 else _t("v_eligible", lang, v=f"{_typed(v)}%")
    if aim == "budget":
        return None if v > 0 else _t("v_budget", lang, v=_typed_amount(v, units))
    hi = pct(SOLVE_MAX_COST_OF_SALES, 0)
    if not 0 < v < SOLVE_MAX_COST_OF_SALES * 100:
        return _t("v_cos", lang, v=f"{_typed(v)}%", hi=hi)
    return None


def _parameter(what: str) -> str:
    if what in ("rates", "target_incentive"):
        return what
    m = re.match(r"^(band|mult)_(\d+)$", what)
    if m is None:
        raise ValueError(f"unknown thing to solve {what!r}; choose rates, band_i, mult_j or gate")
    i = int(m.group(2))
    return f"tiers[{i}].rate" if m.group(1) == "band" else f"multipliers[{i}].factor"


def _as_rates(state: LabState) -> LabState:
    """Bands stated as an amount for the band (marginal) as the rate they imply, so that
    scaling every rate scales them too; flat amounts (retroactive) stay as they are."""
    if state.mode != "marginal" or all(a is None for a in state.amounts):
        return state
    rates, amounts = list(state.rates), list(state.amounts)
    for i, a in enumerate(state.amounts):
        if a is not None and i + 1 < len(state.thresholds):
            width = state.thresholds[i + 1] - state.thresholds[i]
            if width > 0:
                rates[i], amounts[i] = a / width, None
    return state.replace(rates=tuple(rates), amounts=tuple(amounts))


def _solved_state(state: LabState, what: str, v: float) -> LabState:
    """``state`` with the solved value put where the controls hold it."""
    if what == "gate":
        return state.replace(gate=float(v) if v > 0 else None)
    if what == "target_incentive":
        return state.replace(target_incentive=float(v))
    if what == "rates":
        marginal = state.mode == "marginal"
        rates = tuple(r * v for r in state.rates)
        amounts = tuple(
            a * v if a is not None and marginal and i + 1 < len(state.thresholds) else a
            for i, a in enumerate(state.amounts)
        )
        return state.replace(rates=rates, amounts=amounts)
    kind, i = what.split("_")
    if kind == "band":
        return state.with_rate(int(i), float(v))
    factors = list(state.multiplier_factors)
    factors[int(i)] = float(v)
    return state.replace(multiplier_factors=tuple(factors))


def _value_text(plan: PlanSpec, what: str, v: float, units: Units) -> str:
    if what == "target_incentive":
        return _amt(v, units)
    if what == "gate":
        return pct(v, 1)
    if what.startswith("mult"):
        return f"×{number(v, 2)}"
    return f"{number(v, 3)}×" if plan.pays_on == "target_incentive" else pct(v, 2)


def _band_texts(plan: PlanSpec, state: LabState, units: Units) -> str:
    out = []
    for b, a in zip(plan.tiers, state.amounts):
        if a is not None:
            out.append(_amt(a, units))
        elif plan.pays_on == "target_incentive":
            out.append(f"{number(b.rate, 3)}×")
        else:
            out.append(pct(b.rate, 2))
    return " / ".join(out)


def solve_lab(
    state: LabState,
    context: LabContext,
    what: str = "rates",
    aim: str = "cost_of_sales",
    target: float = 0.012,
    *,
    lang: str = "en",
    units: Units | None = None,
) -> SolveAnswer:
    """Solve the edited plan on the lab's own trials (SPEC R23), as ``simlib solve``.

    Parameters
    ----------
    state : LabState
        The controls; the plan they make is the one solved (a :class:`PlanEditError`
        when they make none).
    what : str
        ``"rates"`` (every rate by one factor; bands stated as an amount for the band
        scale with them, flat amounts stay), ``"band_i"``, ``"mult_j"`` or ``"gate"``.
    aim : {"cost_of_sales", "budget"}
        For a rate: the expected cost of sales (``target`` a fraction, 0.012 = 1.2%)
        or the expected pay per period (``target`` in the currency). The gate's
        ``target`` is the share of reps to keep eligible (0.8 = 80%).

    The rate and accelerator go through :func:`simlib.plans.solve_rate` on
    ``context``'s trials with the same arguments as ``simlib solve rate`` (so the
    answers agree on the same trials); with a bonus pool, the pool's expected cost is
    taken off the target first (the lab's cost of sales includes it). The gate goes
    through :func:`simlib.plans.solve_gate`. When no value reaches the target, the
    answer says so with the range that can be reached (never an exception).
    """
    from simlib.plans import evaluate, solve_gate, solve_rate
    from simlib.plans.vector import _with_value

    units = units or page_units(lang, context)
    L = lang
    plan = plan_from_state(state, context)
    pool = pool_from_state(state, context.pool)
    x, quotas = context.trials, context.quotas
    rev = x.sum(axis=1)
    rev_mean = float(rev.mean())
    pool_pay = context.pool_payouts(pool).sum(axis=1) if pool is not None else np.zeros(len(x))
    pool_mean = float(pool_pay.mean())
    per = _period_word(context, L)

    def as_aim(cost: float) -> str:
        if aim == "budget":
            return _amt(cost, units)
        return pct(cost / rev_mean, 2) if rev_mean > 0 else MISSING

    if what == "gate":
        aim = "eligible"
        sol = solve_gate(plan, x, quotas, float(target), teams=np.asarray(context.teams))
        new = _solved_state(state, "gate", sol.value)
        value, eligible = sol.value, sol.achieved
    else:
        if aim not in ("cost_of_sales", "budget"):
            raise ValueError(f"aim must be 'cost_of_sales' or 'budget'; got {aim!r}")
        param = _parameter(what)
        solve_state = _as_rates(state) if what == "rates" else state
        splan = plan_from_state(solve_state, context)
        q = quotas if splan.uses_quota else None
        kw = context.evaluate_kwargs([splan])
        if pool is None:
            goal = {"cost_of_sales": target} if aim == "cost_of_sales" else {"budget": target}
        else:
            total = target * rev_mean if aim == "cost_of_sales" else target
            goal = {"budget": total - pool_mean}
        label = next((lbl for lbl, k in solve_options(state, context, L, units) if k == what), what)
        try:
            if goal.get("budget", 1.0) <= 0:
                raise ValueError("the bonus pool alone costs more than the target")
            sol = solve_rate(splan, x, q, parameter=param, **goal, **kw)
        except ValueError:
            # how far the target can move by changing this one thing
            def cost(v):
                return float(evaluate(_with_value(splan, param, v), x, q, **kw).sum(axis=1).mean())

            lo = cost(0.0) + pool_mean
            hi6, hi9 = cost(1e6) + pool_mean, cost(1e9) + pool_mean
            hi = math.inf if hi9 > hi6 * (1 + 1e-6) else hi9
            wanted = target * rev_mean if aim == "cost_of_sales" else target
            asked = pct(target, 2) if aim == "cost_of_sales" else _amt(target, units)
            if lo > wanted:
                why = _t("s_why_pool" if pool is not None else "s_why_other", L)
                text = _t("s_too_low", L, what=label, target=asked, lo=as_aim(lo), why=why)
            elif hi < wanted:
                text = _t("s_too_high", L, what=label, target=asked, lo=as_aim(lo), hi=as_aim(hi))
            else:  # reachable only past what a plan allows (a rate above 100%)
                text = _t("s_invalid", L, what=label, target=asked)
            div = rev_mean if aim == "cost_of_sales" and rev_mean > 0 else 1.0
            return SolveAnswer(what, aim, float(target), False, text, reach=(lo / div, hi / div))
        new = _solved_state(state, what, sol.value)
        value, eligible = sol.value, float("nan")

    solved = plan_from_state(new, context)
    kw = context.evaluate_kwargs([solved])
    pay = evaluate(solved, x, quotas, **kw).sum(axis=1) + pool_pay
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(rev > 0, pay / rev, np.nan)
    finite = cos[np.isfinite(cos)]
    p10, p90 = (float(np.percentile(finite, q)) for q in (10, 90)) if finite.size else (0.0, 0.0)
    exp_cos = float(pay.mean() / rev_mean) if rev_mean > 0 else float("nan")
    numbers = dict(
        cos=pct(exp_cos, 2), p10=pct(p10, 2), p90=pct(p90, 2), per=per,
        pay=_amt(float(pay.mean()), units), pay90=_amt(float(np.percentile(pay, 90)), units),
    )  # fmt: skip
    if what == "gate":
        old = state.gate
        now = _t("s_now_gate", L, gate=pct(old, 1)) if old else _t("s_no_gate", L)
        head = _t(
            "s_gate_done",
            L,
            gate=pct(value, 1),
            got=pct(eligible, 1),
            asked=pct(target, 0),
            now=now,
        )
    elif what == "rates":
        head = _t("s_rates_done", L, f=number(value, 2), rates=_band_texts(solved, new, units))
    else:
        if what == "target_incentive":
            now_v = plan.target_incentive
        elif what.startswith("band"):
            now_v = state.rates[int(what.split("_")[1])]
        else:
            now_v = state.multiplier_factors[int(what.split("_")[1])]
        label = next((lbl for lbl, k in solve_options(state, context, L, units) if k == what), what)
        head = _t(
            "s_one_done", L, what=label, v=_value_text(solved, what, value, units),
            now=_value_text(solved, what, now_v, units),
        )  # fmt: skip
    text = head + _t("s_then", L, **numbers)
    if pool is not None:
        text += _t("s_pool", L, pool=pct(pool_mean / rev_mean, 2) if rev_mean > 0 else MISSING)
    return SolveAnswer(
        what, aim, float(target), True, text, state=new, solution=sol, value=float(value),
        expected_cost_of_sales=exp_cos, cost_of_sales_p10=p10, cost_of_sales_p90=p90,
        expected_payout=float(pay.mean()), payout_p90=float(np.percentile(pay, 90)),
        eligible=float(eligible),
    )  # fmt: skip


class CommissionLab:
    """The commission what-if app: controls → :func:`compute` → numbers and charts.

    Parameters
    ----------
    context : LabContext
    state : LabState, optional
        Where the controls start (default: the first offered plan as shipped).
    lang : {"en", "zh-CN"}
        Labels of the controls and readouts.
    charts : bool
        Draw the three charts (payout curves, cost distribution, pay per rep) on
        every change; turn off for a faster app or headless tests of the numbers.
    data_label : str
        What the page says the data is (e.g. "the demo company").

    Examples
    --------
    In a notebook::

        CommissionLab.app(source="", mapping="", n_trials=10_000, lang="zh-CN")
    """

    def __init__(
        self,
        context: LabContext,
        state: LabState | None = None,
        *,
        lang: str = "en",
        charts: bool = True,
        data_label: str = "",
        user: str = "",
        people=None,
        ledger_url: str | None = None,
    ):
        if lang not in ("en", "zh-CN"):
            raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
        if not context.plans:
            raise ValueError("the context offers no plans to start from")
        self.context = context
        self.lang = lang
        self.charts = charts
        self.data_label = data_label
        #: who saves plans into the ledger, and the org data (reps, org) its roles come from
        self.user = (user or "").strip()
        self.people = people
        self.ledger_url = ledger_url
        self.units = page_units(lang, context)
        self.labels = {n: plan_label(p, n, lang) for n, p in context.plans.items()}
        if state is None:
            first = "tiered_cn" if "tiered_cn" in context.plans else next(iter(context.plans))
            state = LabState.from_plan(context.plans[first], first)
        self._state = state
        self.view: LabView = compute(state, context)
        #: row → message of the last check (empty when the controls make a valid plan)
        self.errors: dict[str, str] = {}
        self.controls: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self._widget = None
        self._quiet = False
        #: per band row: stated as an amount (shows the amount, not the rate)
        self._amount_rows: list[bool] = [False] * MAX_BANDS
        #: the Solve panel's controls and outputs, and its last answer (None: none shown)
        self.solve_controls: dict[str, Any] = {}
        self.solve_outputs: dict[str, Any] = {}
        self.solved: SolveAnswer | None = None
        self._solve_quiet = False

    @classmethod
    def from_demo(
        cls,
        n_trials: int = 10_000,
        seed: int = 7,
        *,
        period: str = "2026-Q4",
        as_of: str = "2026-11-20",
        demo_seed: int | None = None,
        plan: str = "tiered_cn",
        lang: str = "en",
        charts: bool = True,
    ) -> CommissionLab:
        """The lab on the demo company's simulated quarter (trials made once)."""
        import datetime as dt

        data = load_demo(seed=demo_seed)
        sim = simulate(
            data,
            period,
            dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of,
            n_trials=n_trials,
            seed=seed,
        )
        ctx = LabContext.from_simulation(sim, lang=lang)
        if plan not in ctx.plans:
            raise ValueError(
                f"plan {plan!r} is not offered on these trials"
                + (f" ({ctx.excluded[plan]})" if plan in ctx.excluded else "")
                + f"; choose one of {', '.join(ctx.plans)}"
            )
        return cls(ctx, LabState.from_plan(ctx.plans[plan], plan), lang=lang, charts=charts)

    @classmethod
    def open(
        cls,
        source: str = "",
        mapping: str = "",
        *,
        n_trials: int = 10_000,
        seed: int = 7,
        plan: str = "tiered_cn",
        lang: str = "",
        period: str = "",
        as_of: str = "",
        demo_seed: int | None = None,
        charts: bool = True,
        user: str = "",
    ) -> CommissionLab:
        """The lab on the user's export (``source``/``mapping``, else ``simlib app
        --data``, else the demo company; see :mod:`simlib.apps.session`).

        The trials are kept on disk by the data's fingerprint
        (:func:`simlib.apps.session.cached_for`), so reopening is quick. ``period`` and
        ``as_of`` default to the quarter of the data's as-of date; a ``plan`` the trials
        cannot price falls back to the first one offered.
        """
        import datetime as dt

        from simlib.apps.landing import data_label
        from simlib.apps.session import app_lang, app_source, app_user, cached_for, open_data

        lang = app_lang(lang)
        data = open_data(source, mapping, demo_seed)
        day = dt.date.fromisoformat(as_of) if as_of else data.as_of
        if isinstance(day, dt.datetime):
            day = day.date()
        label = period or f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        params = {"period": label, "as_of": day.isoformat(), "n_trials": n_trials, "seed": seed}

        def run():
            return trials_record(simulate(data, label, day, n_trials=n_trials, seed=seed))

        rec = cached_for(data, "lab-trials", params, run)
        ctx = LabContext.from_record(rec, lang=lang)
        if plan not in ctx.plans:
            plan = "tiered_cn" if "tiered_cn" in ctx.plans else next(iter(ctx.plans))
        src, mp = app_source(source, mapping)
        return cls(
            ctx,
            LabState.from_plan(ctx.plans[plan], plan),
            lang=lang,
            charts=charts,
            data_label=data_label(src, mp, lang),
            user=app_user(user),
            people=(data.reps, data.tables.get("org")),
        )

    @classmethod
    def app(cls, source: str = "", mapping: str = "", *, lang: str = "", **kwargs):
        """Show the lab in a notebook or Voilà page: a progress line while the trials
        are made, then the app; a short message in the user's language when the data
        cannot be opened. Returns the lab (None when it could not be opened)."""
        from simlib.apps.session import app_lang, show_when_ready

        lang = app_lang(lang)
        return show_when_ready(
            lambda: cls.open(source, mapping, lang=lang, **kwargs),
            lang,
            "commission_lab",
            loading=_t("loading", lang),
            box_class="simlib-lab-loading",
        )

    # -- state ---------------------------------------------------------------

    @property
    def state(self) -> LabState:
        """The current controls as a :class:`LabState` (the last valid ones)."""
        return self._state

    def set_state(self, state: LabState) -> LabView:
        """Show ``state`` in the controls and recompute."""
        self._state = state
        if self._widget is not None:
            self._push(state)
        view = self._refresh()
        self._solve_reset()
        return view

    def _refresh(self) -> LabView:
        self.view = compute(self._state, self.context)
        self.errors = self._view_errors(self.view)
        if self._widget is not None:
            self._render()
        return self.view

    def _view_errors(self, view: LabView) -> dict[str, str]:
        """A failed view's problems as messages by row (generic, in the user's words)."""
        if view.ok:
            return {}
        out: dict[str, str] = {}
        for f, _m in view.problems:
            out.setdefault(_problem_row(f), _t("v_generic", self.lang))
        return out

    # -- static outputs (useful headless) ----------------------------------------

    def comparison(self, plans: Sequence[str] | None = None) -> pd.DataFrame:
        """Every offered plan (or ``plans``) on the same trials, with gaming flags.

        Columns as :func:`simlib.plans.compare_plans`, plus ``cliffs`` and
        ``dead_zones`` at the median rep's quota.
        """
        names = list(plans) if plans is not None else list(self.context.plans)
        chosen = {n: self.context.plans[n] for n in names}
        kw = self.context.evaluate_kwargs(list(chosen.values()))
        df = compare_plans(chosen, self.context.trials, self.context.quotas, **kw)
        q = float(self.context.quotas[self.context.rep_ids.index(self.context.median_rep())])
        risks = [
            gaming_risk(p, q, collection_rate=1.0, kpi_score=kw["kpi_score"])
            for p in chosen.values()
        ]
        df["cliffs"] = [len(r.cliffs) for r in risks]
        df["dead_zones"] = [len(r.dead_zones) for r in risks]
        return df

    def comparison_table(self, plans: Sequence[str] | None = None):
        """:meth:`comparison` as a table for people (names, the page's units, %)."""
        df = self.comparison(plans)
        df["label"] = [self.labels.get(n, n) for n in df["plan"]]
        return table(
            df,
            [
                Col("label", "方案", "Plan"),
                Col("cost_of_sales", "销售成本率", "Cost of sales", "pct", 2),
                Col("p50", "预算 P50", "Budget P50", "amount"),
                Col("p90", "预算 P90", "Budget P90", "amount"),
                Col("gini", "基尼系数", "Gini", "number", 2),
                Col("share_zero_pay", "零提成占比", "Reps paid nothing", "pct", 0),
                Col("cliffs", "断崖数", "Cliffs", "count"),
                Col("dead_zones", "无效区间数", "Dead zones", "count"),
            ],
            self.units,
        )

    def figure(self):
        """The current view's three charts in one matplotlib figure."""
        return lab_figure(
            self.view,
            lang=self.lang,
            currency=self.context.currency,
            units=self.units,
            labels=self._chart_labels(),
            team_names=self.context.team_names,
        )

    def _chart_labels(self) -> dict[str, str]:
        labels = dict(self.labels)
        if self.view.ok:
            labels[self.view.plan.name] = _t("edited", self.lang)
        return labels

    def save(
        self, name: str, *, overwrite: bool = False, directory: str | Path | None = None
    ) -> Path:
        """Save the edited plan as ``params/plans/NAME.yaml`` (see :func:`save_plan`);
        the saved plan is then offered in the app."""
        if not self.view.ok or self.errors:
            raise ValueError(f"the controls do not make a valid plan: {self.view.error}")
        path = save_plan(
            self.view.plan,
            name,
            directory=directory,
            overwrite=overwrite,
            header=f"{name}: saved from the commission lab, starting from {self.view.state.plan}.",
        )
        saved = load_plan(path)
        self.context = self.context.with_plan(name, saved)
        self.labels[name] = name
        if self._widget is not None:
            self._quiet = True
            try:
                self.controls["plan"].options = self._plan_options()
                self.controls["plan"].value = self._state.plan
                chosen = self.controls["compare"].value
                self.controls["compare"].options = self._plan_options()
                self.controls["compare"].value = chosen
            finally:
                self._quiet = False
        return path

    def record(self, name: str, path: str | Path, reason: str = ""):
        """Record the saved plan file as the user's next version of plan ``name`` in the
        ledger (a draft; the same content records nothing): ``(DocVersion, FileCheck)``.
        Raises :class:`simlib.ledger.LedgerError` when the user may not."""
        from simlib.ledger import open_ledger

        reps, org = self.people
        led = open_ledger(reps, org, url=self.ledger_url)
        try:
            v = led.record_version(self.user, "plan", name, Path(path).read_bytes(), reason)
            return v, led.check_file("plan", name, path)
        finally:
            led.close()

    def _record_text(self, name: str, path: Path) -> tuple[bool, str]:
        """What the save status adds about the ledger: ``(ok, sentence)``."""
        from simlib.ledger import LedgerError
        from simlib.ledger.change import state_label

        L = self.lang
        if not self.user or self.people is None:
            return True, _t("no_user", L)
        try:
            v, check = self.record(name, path, f"saved from the commission lab as {name}")
        except LedgerError as e:
            return False, _t("not_recorded", L, why=e.message(L))
        except Exception:  # noqa: BLE001 - a database down: a message, not a traceback
            log.exception("commission lab: the ledger could not be reached")
            return False, _t("not_recorded", L, why=_t("ledger_down", L))
        state = state_label(v.state, L)
        return True, _t("recorded", L, n=v.version, state=state, check=check.message(L))

    # -- widgets -------------------------------------------------------------------

    def show(self):
        """The app's widget (display it, or leave it last in a cell)."""
        if self._widget is None:
            self._build()
        return self._widget

    @property
    def widget(self):
        """The app's root widget (built on first use)."""
        return self.show()

    def _base(self, name: str | None = None) -> PlanSpec:
        return self.context.plans[name or self._state.plan]

    def _plan_options(self) -> list[tuple[str, str]]:
        return [(self.labels.get(n, n), n) for n in self.context.plans]

    def _build(self) -> None:
        import ipywidgets as w

        L = self.lang
        c: dict[str, Any] = {}
        wide = {"description_width": "initial"}
        c["plan"] = w.Dropdown(
            options=self._plan_options(),
            description=_t("plan", L),
            tooltip=_t("plan_tip", L),
            style=wide,
            layout=w.Layout(width="420px"),
        )
        mode_opts = [(_t("marginal", L), "marginal"), (_t("retroactive", L), "retroactive")]
        mode_tips = [_t("marginal_tip", L), _t("retroactive_tip", L)]
        c["mode"] = w.ToggleButtons(
            options=mode_opts, description=_t("mode", L), tooltips=mode_tips, style=wide
        )
        c["n_bands"] = w.BoundedIntText(
            min=1,
            max=MAX_BANDS,
            description=_t("bands", L),
            tooltip=_t("bands_tip", L),
            style=wide,
            layout=w.Layout(width="150px"),
        )
        for i in range(MAX_BANDS):
            c[f"threshold_{i}"] = w.FloatText(
                description=f"{i + 1}.",
                tooltip=_t("threshold_tip", L),
                style=wide,
                layout=w.Layout(width="200px"),
                disabled=i == 0,
            )
            c[f"rate_{i}"] = w.FloatText(
                description="", tooltip=_t("rate_tip", L), layout=w.Layout(width="110px")
            )
            # a band stated as an amount shows this instead of its rate
            c[f"amount_{i}"] = w.FloatText(
                description="",
                tooltip=_t("amount_tip", L),
                layout=w.Layout(width="110px", display="none"),
            )
            # the first band is entered by any result: no entry bonus there
            c[f"bonus_{i}"] = w.FloatText(
                description="",
                tooltip=_t("bonus_tip", L),
                disabled=i == 0,
                layout=w.Layout(width="110px", visibility="hidden" if i == 0 else "visible"),
            )
        mult_opts = [*mode_opts, (_t("overage", L), "overage")]
        mult_tips = [_t(k, L) for k in ("mult_marginal_tip", "mult_retroactive_tip", "overage_tip")]
        c["multiplier_mode"] = w.ToggleButtons(
            options=mult_opts,
            description=_t("mult_mode", L),
            tooltips=mult_tips,
            style={**wide, "button_width": "136px"},
        )
        c["n_multipliers"] = w.BoundedIntText(
            min=0,
            max=MAX_MULTIPLIERS,
            description=_t("multipliers", L),
            tooltip=_t("multipliers_tip", L),
            style=wide,
            layout=w.Layout(width="190px"),
        )
        for j in range(MAX_MULTIPLIERS):
            c[f"mult_threshold_{j}"] = w.FloatText(
                description=f"{j + 1}.",
                tooltip=_t("mult_threshold_tip", L),
                style=wide,
                layout=w.Layout(width="200px"),
                disabled=j == 0,
            )
            c[f"mult_factor_{j}"] = w.FloatText(
                description="", tooltip=_t("mult_factor_tip", L), layout=w.Layout(width="110px")
            )
        c["acc_gate"] = w.FloatText(
            description=_t("acc_gate", L), tooltip=_t("acc_gate_tip", L), style=wide,
            layout=w.Layout(width="420px"),
        )  # fmt: skip
        unit = self.units.label()
        c["cap"] = w.FloatText(
            description=_t("cap", L, unit=unit), tooltip=_t("cap_tip", L), style=wide,
            layout=w.Layout(width="420px"),
        )  # fmt: skip
        # shown only for a plan paying on a target incentive of its own (not a pay mix)
        c["target_incentive"] = w.FloatText(
            description=_t("ti", L, unit=unit), tooltip=_t("ti_tip", L), style=wide,
            layout=w.Layout(width="420px", display="none"),
        )  # fmt: skip
        c["gate"] = w.FloatText(
            description=_t("gate", L), tooltip=_t("gate_tip", L), style=wide,
            layout=w.Layout(width="420px"),
        )  # fmt: skip
        c["pool"] = w.FloatText(
            description=_t("pool", L), tooltip=_t("pool_tip", L), style=wide,
            layout=w.Layout(width="420px"),
        )  # fmt: skip
        c["compare"] = w.SelectMultiple(
            options=self._plan_options(),
            description=_t("compare", L),
            tooltip=_t("compare_tip", L),
            style=wide,
            rows=min(6, max(2, len(self.context.plans))),
            layout=w.Layout(width="420px"),
        )
        team = self.context.team_names
        reps = [
            (f"{n} · {team.get(t, t)}" if team.get(t) else n, r)
            for r, n, t in zip(self.context.rep_ids, self.context.names, self.context.teams)
        ]
        c["curve_rep"] = w.Dropdown(
            options=[(_t("median", L), "")] + reps,
            description=_t("curve_rep", L),
            tooltip=_t("curve_rep_tip", L),
            style=wide,
            layout=w.Layout(width="420px"),
        )
        c["save_name"] = w.Text(
            description=_t("save_name", L),
            tooltip=_t("save_name_tip", L),
            placeholder="my_plan",
            style=wide,
            layout=w.Layout(width="190px"),
        )
        c["save_overwrite"] = w.Checkbox(description=_t("overwrite", L), value=False, indent=False)
        c["save"] = w.Button(
            description=_t("save", L),
            tooltip=_t("save_tip", L),
            icon="save",
            layout=w.Layout(width="auto", min_width="110px"),
        )
        for k, ctl in c.items():
            ctl.add_class(css_class(k))
        self.controls = c

        o: dict[str, Any] = {}
        for k in (
            "message",
            "cost_of_sales",
            "budget_p50",
            "budget_p90",
            "reserve",
            "gini",
            "shares",
            "flags",
            "compare_table",
            "notes",
            "save_status",
            "units",
            "mult_units",
        ):
            o[k] = w.HTML()
        for i in range(MAX_BANDS):
            o[f"note_{i}"] = w.HTML()  # "amount for the band" / "flat" under such a band
        for k in ("chart_curve", "chart_cost", "chart_reps"):
            # never an empty Image (a broken-image icon): hidden until it has a picture
            o[k] = w.Image(
                format="png", layout=w.Layout(width="100%", max_width="880px", display="none")
            )
        for k, out in o.items():
            out.add_class(css_class(k))
        self.outputs = o

        # validation messages, each under its row
        m: dict[str, Any] = {}
        rows = [f"band_{i}" for i in range(MAX_BANDS)] + [
            f"mult_{j}" for j in range(MAX_MULTIPLIERS)
        ]
        for k in (*rows, "mult_mode", "acc_gate", "target_incentive", "cap", "gate", "pool"):
            m[k] = w.HTML()
            m[k].add_class(css_class(f"error_{k}"))
        self.messages = m

        self._band_rows = [
            w.VBox(
                [
                    w.HBox(
                        [c[f"threshold_{i}"], c[f"rate_{i}"], c[f"amount_{i}"], c[f"bonus_{i}"]]
                    ),
                    o[f"note_{i}"],
                    m[f"band_{i}"],
                ]
            )
            for i in range(MAX_BANDS)
        ]
        self._mult_rows = [
            w.VBox([w.HBox([c[f"mult_threshold_{j}"], c[f"mult_factor_{j}"]]), m[f"mult_{j}"]])
            for j in range(MAX_MULTIPLIERS)
        ]
        for i, row in enumerate(self._band_rows):
            row.add_class(f"simlib-band-row-{i}")
        for j, row in enumerate(self._mult_rows):
            row.add_class(f"simlib-mult-row-{j}")
        left = w.VBox(
            [
                c["plan"],
                c["mode"],
                c["n_bands"],
                o["units"],
                *self._band_rows,
                c["multiplier_mode"],
                m["mult_mode"],
                c["n_multipliers"],
                o["mult_units"],
                *self._mult_rows,
                c["acc_gate"],
                m["acc_gate"],
                c["target_incentive"],
                m["target_incentive"],
                c["cap"],
                m["cap"],
                c["gate"],
                m["gate"],
                c["pool"],
                m["pool"],
                c["compare"],
                c["curve_rep"],
                w.HBox([c["save_name"], c["save_overwrite"], c["save"]]),
                o["save_status"],
            ],
            layout=w.Layout(width="440px", min_width="440px", margin="0 20px 0 0"),
        )
        kpis = w.HBox(
            [o["cost_of_sales"], o["budget_p50"], o["budget_p90"], o["reserve"], o["gini"]],
            layout=w.Layout(flex_flow="row wrap"),
        )
        self._results = w.VBox(
            [
                o["chart_curve"],
                o["flags"],
                o["chart_cost"],
                o["compare_table"],
                o["chart_reps"],
                o["shares"],
                o["notes"],
            ]
        )
        self._results.add_class("simlib-lab-results")
        right = w.VBox(
            [self._build_solve(w), o["message"], kpis, self._results], layout=w.Layout(flex="1")
        )
        ctx = self.context
        head = (
            f"<style>{PAGE_CSS}{_LAB_CSS}</style><h2>{_esc(_t('title', L))}</h2>"
            f"<p class='simlib-lab-intro'>{_esc(_t('intro', L))}</p>"
        )
        if self.data_label:
            line = _t(
                "data",
                L,
                data=self.data_label,
                period=ctx.period or "—",
                trials=count(ctx.trials.shape[0]),
                reps=count(ctx.trials.shape[1]),
            )
            head += f"<div class='simlib-lab-data'>{_esc(line)}</div>"
        title = w.HTML(head)
        title.add_class("simlib-lab-title")
        root = w.VBox([title, w.HBox([left, right])])
        root.add_class("simlib-commission-lab")
        self._widget = root

        self._push(self._state)
        for k, ctl in c.items():
            if k in ("save", "save_name", "save_overwrite"):
                continue
            ctl.observe(self._on_change, names="value")
        c["save"].on_click(self._on_save)
        self._render()

    def _values(self) -> dict[str, Any]:
        skip = ("save", "save_name", "save_overwrite")
        v = {k: ctl.value for k, ctl in self.controls.items() if k not in skip}
        v.update({f"is_amount_{i}": a for i, a in enumerate(self._amount_rows)})
        return v

    def _push(self, state: LabState) -> None:
        """Show ``state`` in the controls without triggering recomputes."""
        base = self._base(state.plan)
        vals = values_from_state(state, base.basis, self.units.divisor)
        self._quiet = True
        try:
            c = self.controls
            for k, v in vals.items():
                if k in c and c[k].value != v:
                    c[k].value = v
            # which rows are bands stated as amounts (rows added later are rates)
            self._amount_rows = [a is not None for a in state.amounts] + [False] * (
                MAX_BANDS - len(state.amounts)
            )
            # rows past the count keep a sensible value for when they are shown
            for i in range(len(state.thresholds), MAX_BANDS):
                c[f"threshold_{i}"].value = 0.0
                c[f"rate_{i}"].value = 0.0
                c[f"amount_{i}"].value = 0.0
                c[f"bonus_{i}"].value = 0.0
            for j in range(len(state.multiplier_thresholds), MAX_MULTIPLIERS):
                c[f"mult_threshold_{j}"].value = 0.0
                c[f"mult_factor_{j}"].value = 1.0
            if not c["save_name"].value:
                c["save_name"].value = f"{state.plan}_variant"
        finally:
            self._quiet = False
        self._layout_rows()

    def _layout_rows(self) -> None:
        nb, nm = self.controls["n_bands"].value, self.controls["n_multipliers"].value
        c, L, unit = self.controls, self.lang, self.units.label()
        for i, row in enumerate(self._band_rows):
            row.layout.display = "" if i < nb else "none"
            amount = self._amount_rows[i]
            c[f"rate_{i}"].layout.display = "none" if amount else ""
            c[f"amount_{i}"].layout.display = "" if amount else "none"
            key = "note_amount" if c["mode"].value == "marginal" else "note_flat"
            self.outputs[f"note_{i}"].value = (
                f"<div class='simlib-lab-head'>{_esc(_t(key, L, i=i + 1, unit=unit))}</div>"
                if amount
                else ""
            )
        for j, row in enumerate(self._mult_rows):
            row.layout.display = "" if j < nm else "none"
        base = self._base()
        c["target_incentive"].layout.display = "" if _has_ti(base) else "none"
        if base.pays_on == "target_incentive":
            head = _t("band_head_ti", L, unit=unit)
        elif base.basis == "attainment":
            head = _t("band_head_pct", L, unit=unit)
        else:
            head = _t("band_head_amount", L, unit=unit)
        self.outputs["units"].value = f"<div class='simlib-lab-head'>{_esc(head)}</div>"
        self.outputs["mult_units"].value = (
            f"<div class='simlib-lab-head'>{_esc(_t('mult_head', L))}</div>" if nm else ""
        )

    def _fill_new_rows(self, old_n: int, new_n: int, kind: str) -> None:
        """Give rows that appear a next step up from the row above (not zeros)."""
        c = self.controls
        attain = self._base().basis == "attainment"
        step = 1_000_000.0 / self.units.divisor
        self._quiet = True
        try:
            if kind == "bands":
                for i in range(max(old_n, 1), new_n):
                    prev_t, prev_r = c[f"threshold_{i - 1}"].value, c[f"rate_{i - 1}"].value
                    c[f"threshold_{i}"].value = round(
                        prev_t + (50.0 if attain else max(prev_t, step)), 10
                    )
                    c[f"rate_{i}"].value = prev_r if not self._amount_rows[i - 1] else 1.0
                    c[f"amount_{i}"].value = 0.0
                    c[f"bonus_{i}"].value = 0.0
                    self._amount_rows[i] = False  # a new band is a rate
            else:
                if old_n == 0 and new_n >= 1:
                    c["mult_threshold_0"].value, c["mult_factor_0"].value = 0.0, 1.0
                for j in range(max(old_n, 1), new_n):
                    prev_t, prev_f = (
                        c[f"mult_threshold_{j - 1}"].value,
                        c[f"mult_factor_{j - 1}"].value,
                    )
                    c[f"mult_threshold_{j}"].value = 100.0 if prev_t < 100 else prev_t + 50.0
                    c[f"mult_factor_{j}"].value = round(prev_f + 0.5, 10)
        finally:
            self._quiet = False

    def _on_change(self, change) -> None:
        if self._quiet:
            return
        owner = change["owner"]
        try:
            if owner is self.controls["plan"]:
                base = self._base(change["new"])
                keep = {
                    "pool_rate": self._state.pool_rate,
                    "compare": self._state.compare,
                    "curve_rep": self._state.curve_rep,
                }
                if self.errors:  # the last valid pool may not be what is typed: start clean
                    keep["pool_rate"] = 0.0
                self._quiet = True
                try:
                    self.controls["save_name"].value = f"{change['new']}_variant"
                finally:
                    self._quiet = False
                self.set_state(LabState.from_plan(base, change["new"], **keep))
                return
            if owner is self.controls["n_bands"]:
                self._fill_new_rows(change["old"], change["new"], "bands")
            elif owner is self.controls["n_multipliers"]:
                self._fill_new_rows(change["old"], change["new"], "multipliers")
            self._layout_rows()
            self._update()
            self._solve_reset()
        except Exception:  # noqa: BLE001 - never a traceback on the page: logged, an apology
            log.exception("commission lab: recompute failed")
            self._apologize()

    def _update(self) -> None:
        """Check the typed values, then compute and show (or blank the views)."""
        values = self._values()
        base = self._base()
        errs = check_values(values, base, self.units, self.lang, pool=self.context.pool is not None)
        if errs:
            self.errors = errs
            self.view = _failed(self._state, [(k, v) for k, v in errs.items()])
            self._render()
            return
        self._state = state_from_values(values, base.basis, self.units.divisor)
        self._refresh()

    def _apologize(self) -> None:
        self.errors = {"plan": ""}
        self._blank()
        self.outputs["message"].value = str(apology(self.lang))

    def _on_save(self, _button=None) -> None:
        L = self.lang
        name = self.controls["save_name"].value.strip()
        status = self.outputs["save_status"]
        try:
            if not self.view.ok or self.errors:
                msg = _t("save_invalid", L)
            else:
                path = self.save(name, overwrite=self.controls["save_overwrite"].value)
                ok, said = self._record_text(name, path)
                cls = "simlib-lab-ledger" if ok else "simlib-lab-ledger simlib-lab-unrecorded"
                color = " style='color:#555'" if ok else " style='color:#b71c1c'"
                status.value = (
                    f"<div class='simlib-lab-saved'>{_esc(_t('saved', L, name=name))}</div>"
                    f"<div class='{cls}'{color}>{_esc(said)}</div>"
                )
                return
        except FileExistsError:
            msg = _t("save_exists", L, name=name)
        except ValueError:
            msg = _t("save_bad_name", L)
        except OSError as e:
            log.warning("commission lab: save failed: %s", e)
            msg = _t("save_failed", L, why=e.strerror or type(e).__name__)
        except Exception:  # noqa: BLE001
            log.exception("commission lab: save failed")
            status.value = str(apology(L))
            return
        status.value = str(field_error(msg))

    # -- the Solve panel (R23) ---------------------------------------------------------

    def solve(
        self, what: str = "rates", aim: str = "cost_of_sales", target: float = 0.012
    ) -> SolveAnswer:
        """Solve on the current controls (see :func:`solve_lab`); ``target`` a fraction
        (cost of sales, share of reps eligible) or an amount in the currency (budget)."""
        return solve_lab(
            self._state, self.context, what, aim, target, lang=self.lang, units=self.units
        )

    def apply(self, answer: SolveAnswer) -> LabView:
        """Put a solved value into the controls (as the Apply button does)."""
        if not answer.ok or answer.state is None:
            raise ValueError(f"nothing to apply: {answer.text}")
        return self.set_state(answer.state)

    def _build_solve(self, w):
        """The Solve panel: what to solve, the target, Solve, the answer, Apply."""
        L = self.lang
        wide = {"description_width": "initial"}
        per = _period_word(self.context, L)
        s: dict[str, Any] = {}
        s["solve_what"] = w.Dropdown(
            options=solve_options(self._state, self.context, L, self.units),
            value="rates",
            description=_t("s_what", L),
            tooltip=_t("s_what_tip", L),
            style=wide,
            layout=w.Layout(width="430px"),
        )
        s["solve_aim"] = w.ToggleButtons(
            options=[(_t("s_aim_cos", L), "cost_of_sales"), (_t("s_aim_budget", L), "budget")],
            tooltips=[_t("s_aim_cos_tip", L), _t("s_aim_budget_tip", L, per=per)],
            style={"button_width": "110px"},
        )
        s["solve_value"] = w.FloatText(
            value=self._solve_default("rates", "cost_of_sales"),
            description=_t("s_value_cos", L),
            style=wide,
            layout=w.Layout(width="320px"),
        )
        s["solve"] = w.Button(
            description=_t("s_solve", L),
            tooltip=_t("s_solve_tip", L),
            button_style="primary",
            layout=w.Layout(width="auto", min_width="90px"),
        )
        s["solve_apply"] = w.Button(
            description=_t("s_apply", L),
            tooltip=_t("s_apply_tip", L),
            button_style="success",
            layout=w.Layout(width="160px", display="none"),
        )
        o = {"solve_error": w.HTML(), "solve_answer": w.HTML()}
        for k, x in {**s, **o}.items():
            x.add_class(css_class(k))
        self.solve_controls, self.solve_outputs = s, o
        s["solve_what"].observe(self._on_solve_input, names="value")
        s["solve_aim"].observe(self._on_solve_input, names="value")
        s["solve_value"].observe(self._on_solve_input, names="value")
        s["solve"].on_click(self._on_solve)
        s["solve_apply"].on_click(self._on_apply)
        head = w.HTML(
            f"<div class='simlib-lab-section'>{_esc(_t('s_head', L))} "
            f"<small style='font-weight:400;color:#666'>{_esc(_t('s_intro', L))}</small></div>"
        )
        panel = w.VBox(
            [
                head,
                w.HBox([s["solve_what"], s["solve_aim"]], layout=w.Layout(flex_flow="row wrap")),
                w.HBox([s["solve_value"], s["solve"]]),
                o["solve_error"],
                w.HBox([o["solve_answer"]], layout=w.Layout(max_width="900px")),
                s["solve_apply"],
            ],
            layout=w.Layout(border="1px solid #ddd", padding="4px 10px 8px", margin="0 0 10px 0"),
        )
        panel.add_class("simlib-solve-panel")
        return panel

    def _solve_default(self, what: str, aim: str) -> float:
        """A starting target: where the plan stands now (80% of reps for the gate)."""
        if what == "gate":
            return 80.0
        v = self.view
        if not v.ok or not math.isfinite(v.cost_of_sales):
            return 1.0 if aim == "cost_of_sales" else 0.0
        if aim == "cost_of_sales":
            return round(v.cost_of_sales * 100, 2)
        return round(float(v.cost.total.mean()) / self.units.divisor, 1)

    def _solve_label(self) -> None:
        s, L = self.solve_controls, self.lang
        gate = s["solve_what"].value == "gate"
        s["solve_aim"].layout.display = "none" if gate else ""
        if gate:
            s["solve_value"].description = _t("s_value_eligible", L)
        elif s["solve_aim"].value == "budget":
            per = _period_word(self.context, L)
            s["solve_value"].description = _t("s_value_budget", L, per=per, unit=self.units.label())
        else:
            s["solve_value"].description = _t("s_value_cos", L)

    def _solve_clear(self) -> None:
        self.solved = None
        self.solve_outputs["solve_answer"].value = ""
        self.solve_controls["solve_apply"].layout.display = "none"

    def _solve_reset(self) -> None:
        """The controls changed: the last answer is stale (cleared); the choices of what
        to solve follow the bands and accelerators now shown."""
        if not self.solve_controls:
            return
        self._solve_clear()
        what = self.solve_controls["solve_what"]
        opts = solve_options(self._state, self.context, self.lang, self.units)
        if list(what.options) != opts:
            keep = what.value if what.value in [k for _, k in opts] else "rates"
            self._solve_quiet = True
            try:
                what.options = opts
                what.value = keep
            finally:
                self._solve_quiet = False
            self._solve_label()

    def _solve_check(self) -> str | None:
        s = self.solve_controls
        msg = check_solve(
            s["solve_what"].value, s["solve_aim"].value, s["solve_value"].value, self.lang,
            self.units,
        )  # fmt: skip
        self.solve_outputs["solve_error"].value = str(field_error(msg)) if msg else ""
        return msg

    def _on_solve_input(self, change) -> None:
        if self._solve_quiet:
            return
        try:
            s = self.solve_controls
            if change["owner"] is not s["solve_value"]:
                self._solve_quiet = True
                try:
                    s["solve_value"].value = self._solve_default(
                        s["solve_what"].value, s["solve_aim"].value
                    )
                finally:
                    self._solve_quiet = False
                self._solve_label()
            self._solve_clear()
            self._solve_check()
        except Exception:  # noqa: BLE001 - logged, an apology in the panel
            log.exception("commission lab: solve panel failed")
            self.solve_outputs["solve_answer"].value = str(apology(self.lang))

    def _on_solve(self, _button=None) -> None:
        s, o, L = self.solve_controls, self.solve_outputs, self.lang
        self._solve_clear()
        try:
            if self._solve_check() is not None:
                return
            if self.errors or not self.view.ok:
                o["solve_error"].value = str(field_error(_t("s_fix_first", L)))
                return
            what, aim = s["solve_what"].value, s["solve_aim"].value
            typed = float(s["solve_value"].value)
            target = typed * self.units.divisor if aim == "budget" and what != "gate" else typed
            if what == "gate" or aim == "cost_of_sales":
                target = _pct_in(typed)
            answer = self.solve(what, aim, target)
            self.solved = answer
            color = "#1b5e20" if answer.ok else STATUS_COLORS["red"]
            cls = "simlib-solve-ok" if answer.ok else "simlib-solve-unreachable"
            o[
                "solve_answer"
            ].value = (
                f"<div class='{cls}' style='color:{color};margin:4px 0'>{_esc(answer.text)}</div>"
            )
            s["solve_apply"].layout.display = "" if answer.ok else "none"
        except Exception:  # noqa: BLE001 - logged, an apology in the panel
            log.exception("commission lab: solve failed")
            self.solved = None
            o["solve_answer"].value = str(apology(L))

    def _on_apply(self, _button=None) -> None:
        o, L = self.solve_outputs, self.lang
        answer = self.solved
        try:
            if answer is None or not answer.ok:
                return
            self.apply(answer)
            self.solved = answer  # what the panel says (Apply is done: its button hidden)
            o["solve_answer"].value = (
                f"<div class='simlib-solve-ok' style='color:#1b5e20;margin:4px 0'>"
                f"{_esc(answer.text)}</div>"
                f"<div class='simlib-solve-applied' style='color:#555'>"
                f"{_esc(_t('s_applied', L))}</div>"
            )
        except Exception:  # noqa: BLE001 - logged, an apology in the panel
            log.exception("commission lab: apply failed")
            o["solve_answer"].value = str(apology(L))

    def _blank(self) -> None:
        """Nothing stale may pass for the answer: cards say —, the rest is hidden."""
        o, L = self.outputs, self.lang
        for k in ("cost_of_sales", "budget_p50", "budget_p90", "reserve", "gini"):
            label = _t({"budget_p50": "p50", "budget_p90": "p90"}.get(k, k), L)
            o[k].value = _kpi(label, MISSING, blank=True)
        for k in ("flags", "shares", "compare_table", "notes"):
            o[k].value = ""
        for k in ("chart_curve", "chart_cost", "chart_reps"):
            o[k].layout.display = "none"
        self._results.layout.display = "none"

    def _render(self) -> None:
        try:
            self._render_view()
        except Exception:  # noqa: BLE001 - logged, an apology on the page
            log.exception("commission lab: could not show the view")
            self._apologize()

    def _render_view(self) -> None:
        o, v, L, m = self.outputs, self.view, self.lang, self.messages
        errs = self.errors
        for k, box in m.items():
            box.value = str(field_error(errs[k])) if errs.get(k) else ""
        if errs or not v.ok:
            self._blank()
            msg = _esc(_t("invalid", L))
            if errs.get("plan"):
                msg += f"<br>{_esc(errs['plan'])}"
            o["message"].value = f"<div class='simlib-lab-message' role='alert'>{msg}</div>"
            return
        o["message"].value = ""
        for k, html_ in view_html(v, self.context, L, self.units, self.labels).items():
            o[k].value = html_
        self._results.layout.display = ""
        if self.charts:
            labels = self._chart_labels()
            who = _curve_who(v, self.context, L)
            figs = {
                "chart_curve": payout_curves(
                    v, lang=L, units=self.units, labels=labels, rep_name=who
                ),
                "chart_cost": cost_distribution(v, lang=L),
                "chart_reps": rep_pay(
                    v, lang=L, units=self.units, team_names=self.context.team_names
                ),
            }
            for k, fig in figs.items():
                o[k].value = figure_png(fig, dpi=100)
                o[k].layout.display = ""

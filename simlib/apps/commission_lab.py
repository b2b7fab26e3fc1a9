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
from simlib.money import format_amount, format_percent
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
from simlib.simulate import simulate

__all__ = [
    "LabState",
    "LabContext",
    "LabView",
    "PlanEditError",
    "plan_from_state",
    "pool_from_state",
    "compute",
    "save_plan",
    "shipped_plans",
    "flag_lines",
    "CommissionLab",
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
    multiplier_mode : {"marginal", "retroactive"}
    multiplier_thresholds, multiplier_factors : tuple of float
        Accelerator/decelerator bands by attainment (``(0, 1.0), (1.0, 1.5)``: 1.5× the
        rate on sales above 100% of quota). Empty: no multipliers.
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

    @classmethod
    def from_plan(cls, plan: PlanSpec, name: str | None = None, **changes) -> LabState:
        """The controls as they stand for ``plan`` (then ``changes`` applied)."""
        st = cls(
            plan=name or plan.name or "plan",
            mode=plan.mode,
            thresholds=tuple(float(b.threshold) for b in plan.tiers),
            rates=tuple(float(b.rate) for b in plan.tiers),
            multiplier_mode=plan.multiplier_mode,
            multiplier_thresholds=tuple(float(m.threshold) for m in plan.multipliers),
            multiplier_factors=tuple(float(m.factor) for m in plan.multipliers),
            cap=plan.cap.per_period if plan.cap is not None else None,
            gate=plan.gate.min_attainment if plan.gate is not None else None,
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
        tail = {"threshold": "threshold", "rate": "rate", "factor": "factor", "up_to": "end"}.get(
            tail, tail
        )
        return f"{what} {loc[1] + 1} {tail}".strip()
    return {
        ("cap", "per_period"): "cap per period",
        ("gate", "min_attainment"): "gate",
        ("funding_rate",): "pool %",
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

    bands = ", ".join(each(t, r) for t, r in zip(state.thresholds, state.rates))
    parts = [f"Variant of {state.plan} made in the commission lab: {state.mode} bands {bands}"]
    if state.multiplier_thresholds:
        pairs = zip(state.multiplier_thresholds, state.multiplier_factors)
        parts.append(
            f"multipliers ({state.multiplier_mode}) "
            + ", ".join(f"×{f:g} from {t:.0%} of quota" for t, f in pairs)
        )
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
    for i, (t, r) in enumerate(zip(state.thresholds, state.rates)):
        _finite(f"band {i + 1} threshold", t, problems)
        _finite(f"band {i + 1} rate", r, problems)
    for j, (t, f) in enumerate(zip(state.multiplier_thresholds, state.multiplier_factors)):
        _finite(f"multiplier {j + 1} threshold", t, problems)
        _finite(f"multiplier {j + 1} factor", f, problems)
    _finite("cap per period", state.cap, problems)
    _finite("gate", state.gate, problems)
    if problems:
        raise PlanEditError(problems)

    data = base.model_dump(exclude_none=True)
    data["name"] = f"{state.plan}{EDITED}"
    data["description"] = _describe(state, base)
    data["label_zh"] = f"{base.label_zh or state.plan}（调整方案）"
    data["mode"] = state.mode
    data["tiers"] = [{"threshold": t, "rate": r} for t, r in zip(state.thresholds, state.rates)]
    data["multiplier_mode"] = state.multiplier_mode
    data["multipliers"] = [
        {"threshold": t, "factor": f}
        for t, f in zip(state.multiplier_thresholds, state.multiplier_factors)
    ]
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
        return cls(x, q, ids, names, teams, dict(plans), pool, currency, period, excluded)

    @classmethod
    def from_simulation(cls, sim, *, lang: str = "en", **kwargs) -> LabContext:
        """A context from :func:`simlib.simulate.simulate`'s result: its trials, the
        reps' quotas for the window (reps without one are left out), names (Chinese
        ones for ``lang="zh-CN"`` where the data has them) and teams."""
        s = sim.summary
        reps = s[s["level"] == "rep"].set_index("node_id").reindex(list(sim.rep_ids))
        q = reps["quota"].to_numpy(dtype=float)
        keep = np.isfinite(q) & (q > 0)
        names = reps["name"].astype(str)
        if lang == "zh-CN" and "name_zh" in reps.columns:
            names = reps["name_zh"].where(reps["name_zh"].notna(), reps["name"]).astype(str)
        ids = [r for r, k in zip(sim.rep_ids, keep) if k]
        names = [n for n, k in zip(names.tolist(), keep) if k]
        teams = [str(t) for t, k in zip(reps["parent_id"].tolist(), keep) if k]
        kwargs.setdefault("period", sim.calibration.window.label)
        return cls.from_arrays(sim.trials[:, keep], q[keep], ids, names, teams, **kwargs)

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


def flag_lines(risk: GamingRisk, lang: str = "en") -> tuple[str, ...]:
    """Cliffs and dead zones as sentences, in English or Chinese."""
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
    data = {k: v for k, v in data.items() if v != [] and v != ()}
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

_TEXT = {
    "title": ("Commission lab", "提成方案实验室"),
    "plan": ("Plan", "方案"),
    "mode": ("Mode", "计算方式"),
    "bands": ("Bands", "档位数"),
    "threshold_amount": ("From (amount)", "起点（金额）"),
    "threshold_pct": ("From (% of quota)", "起点（达成率%）"),
    "rate": ("Rate (%)", "费率（%）"),
    "rate_ti": ("× target incentive", "× 目标奖金"),
    "mult_mode": ("Multiplier mode", "系数方式"),
    "multipliers": ("Multipliers", "系数档数"),
    "mult_threshold": ("From (% of quota)", "起点（达成率%）"),
    "mult_factor": ("Factor (×)", "系数（×）"),
    "cap": ("Cap per period (0 = none)", "单期封顶（0=不封顶）"),
    "gate": ("Gate: min attainment % (0 = none)", "门槛：最低达成率%（0=无）"),
    "pool": ("Bonus pool % of team revenue (0 = none)", "奖金池占团队业绩%（0=无）"),
    "compare": ("Compare with", "对比方案"),
    "curve_rep": ("Curve for rep", "曲线对应销售"),
    "quota": ("quota", "指标"),
    "share": ("share", "占比"),
    "rule": ("rule of thumb", "经验区间"),
    "median": ("rep with the median quota", "指标居中的销售"),
    "save_name": ("Save as", "另存为"),
    "overwrite": ("Overwrite", "覆盖已有文件"),
    "save": ("Save plan", "保存方案"),
    "cost_of_sales": ("Cost of sales", "销售成本率"),
    "p50": ("Budget (P50)", "预算（P50）"),
    "p90": ("P90", "P90"),
    "reserve": ("Reserve to P90", "P90 储备"),
    "gini": ("Gini of pay", "提成基尼系数"),
    "flags": ("Cliffs and dead zones", "断崖与无效区间"),
    "no_flags": ("No cliffs or dead zones.", "未发现断崖或无效区间。"),
    "shares": ("Reps reaching each level (rule of thumb)", "达到各档的销售占比（经验值）"),
    "compare_table": ("Same trials, side by side", "同一组模拟下的对比"),
    "saved": ("Saved", "已保存"),
    "edit_problem": ("Cannot use these settings", "当前设置无效"),
    "not_offered": ("Not offered", "未提供"),
}


def _t(key: str, lang: str) -> str:
    en, zh = _TEXT[key]
    return zh if lang == "zh-CN" else en


def _pct_in(v: float) -> float:
    """A percentage typed in the app → a fraction, without binary noise (1.5 → 0.015)."""
    return round(float(v) / 100.0, 12)


def _pct_out(f: float) -> float:
    return round(float(f) * 100.0, 10)


def state_from_values(values: Mapping[str, Any], basis: str) -> LabState:
    """A :class:`LabState` from the app's control values (percentages as typed).

    ``values`` holds ``plan``, ``mode``, ``n_bands``, ``threshold_i``, ``rate_i``,
    ``multiplier_mode``, ``n_multipliers``, ``mult_threshold_j``, ``mult_factor_j``,
    ``cap``, ``gate``, ``pool``, ``compare``, ``curve_rep``; ``basis`` is the base
    plan's (attainment thresholds are typed as %, amounts as amounts).
    """
    nb, nm = int(values["n_bands"]), int(values["n_multipliers"])
    read = _pct_in if basis == "attainment" else float
    th = tuple(read(values[f"threshold_{i}"]) for i in range(nb))
    cap = float(values["cap"])
    gate = float(values["gate"])
    return LabState(
        plan=values["plan"],
        mode=values["mode"],
        thresholds=th,
        rates=tuple(_pct_in(values[f"rate_{i}"]) for i in range(nb)),
        multiplier_mode=values["multiplier_mode"],
        multiplier_thresholds=tuple(_pct_in(values[f"mult_threshold_{j}"]) for j in range(nm)),
        multiplier_factors=tuple(float(values[f"mult_factor_{j}"]) for j in range(nm)),
        cap=None if cap == 0 else cap,
        gate=None if gate == 0 else _pct_in(gate),
        pool_rate=_pct_in(values["pool"]),
        compare=tuple(values.get("compare") or ()),
        curve_rep=values.get("curve_rep") or None,
    )


def values_from_state(state: LabState, basis: str) -> dict[str, Any]:
    """The control values that show ``state`` (the inverse of :func:`state_from_values`)."""
    v: dict[str, Any] = {
        "plan": state.plan,
        "mode": state.mode,
        "n_bands": len(state.thresholds),
        "multiplier_mode": state.multiplier_mode,
        "n_multipliers": len(state.multiplier_thresholds),
        "cap": state.cap or 0.0,
        "gate": _pct_out(state.gate) if state.gate else 0.0,
        "pool": _pct_out(state.pool_rate),
        "compare": tuple(state.compare),
        "curve_rep": state.curve_rep or "",
    }
    for i, (t, r) in enumerate(zip(state.thresholds, state.rates)):
        v[f"threshold_{i}"] = _pct_out(t) if basis == "attainment" else float(t)
        v[f"rate_{i}"] = _pct_out(r)
    for j, (t, f) in enumerate(zip(state.multiplier_thresholds, state.multiplier_factors)):
        v[f"mult_threshold_{j}"] = _pct_out(t)
        v[f"mult_factor_{j}"] = float(f)
    return v


#: control key → CSS class (the browser tests' selectors).
def css_class(key: str) -> str:
    """``threshold_0 → simlib-threshold-0``."""
    return "simlib-" + key.replace("_", "-")


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

    Examples
    --------
    In a notebook::

        lab = CommissionLab.from_demo(n_trials=10_000)
        lab.show()
    """

    def __init__(
        self,
        context: LabContext,
        state: LabState | None = None,
        *,
        lang: str = "en",
        charts: bool = True,
    ):
        if lang not in ("en", "zh-CN"):
            raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
        if not context.plans:
            raise ValueError("the context offers no plans to start from")
        self.context = context
        self.lang = lang
        self.charts = charts
        if state is None:
            first = "tiered_cn" if "tiered_cn" in context.plans else next(iter(context.plans))
            state = LabState.from_plan(context.plans[first], first)
        self._state = state
        self.view: LabView = compute(state, context)
        self.controls: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self._widget = None
        self._quiet = False

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

    # -- state ---------------------------------------------------------------

    @property
    def state(self) -> LabState:
        """The current controls as a :class:`LabState`."""
        return self._state

    def set_state(self, state: LabState) -> LabView:
        """Show ``state`` in the controls and recompute."""
        self._state = state
        if self._widget is not None:
            self._push(state)
        return self._refresh()

    def _refresh(self) -> LabView:
        self.view = compute(self._state, self.context)
        if self._widget is not None:
            self._render()
        return self.view

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

    def comparison_table(self, plans: Sequence[str] | None = None) -> pd.DataFrame:
        """:meth:`comparison` formatted for reading (money grouped, shares in %)."""
        df = self.comparison(plans)
        out = pd.DataFrame({"plan": df["plan"]})
        for c in ("mean", "p50", "p90", "reserve_p90", "diff_vs_first"):
            out[c] = [f"{v:,.0f}" for v in df[c]]
        out["cost_of_sales"] = [format_percent(v, 2) for v in df["cost_of_sales"]]
        out["gini"] = [f"{v:.2f}" for v in df["gini"]]
        out["share_zero_pay"] = [format_percent(v) for v in df["share_zero_pay"]]
        out["cliffs"] = df["cliffs"]
        out["dead_zones"] = df["dead_zones"]
        if self.lang == "zh-CN":
            out = out.rename(
                columns={
                    "plan": "方案",
                    "mean": "均值",
                    "reserve_p90": "P90储备",
                    "diff_vs_first": "与首个方案差额",
                    "cost_of_sales": "销售成本率",
                    "gini": "基尼系数",
                    "share_zero_pay": "零提成占比",
                    "cliffs": "断崖数",
                    "dead_zones": "无效区间数",
                }
            )
        return out

    def figure(self):
        """The current view's three charts in one matplotlib figure."""
        return lab_figure(self.view, lang=self.lang, currency=self.context.currency)

    def save(
        self, name: str, *, overwrite: bool = False, directory: str | Path | None = None
    ) -> Path:
        """Save the edited plan as ``params/plans/NAME.yaml`` (see :func:`save_plan`);
        the saved plan is then offered in the app."""
        if not self.view.ok:
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
        if self._widget is not None:
            self._quiet = True
            try:
                self.controls["plan"].options = list(self.context.plans)
                self.controls["compare"].options = list(self.context.plans)
            finally:
                self._quiet = False
        return path

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

    def _build(self) -> None:
        import ipywidgets as w

        L = self.lang
        c: dict[str, Any] = {}
        wide = {"description_width": "initial"}
        c["plan"] = w.Dropdown(
            options=list(self.context.plans), description=_t("plan", L), style=wide
        )
        c["mode"] = w.ToggleButtons(
            options=["marginal", "retroactive"], description=_t("mode", L), style=wide
        )
        c["n_bands"] = w.BoundedIntText(
            min=1,
            max=MAX_BANDS,
            description=_t("bands", L),
            style=wide,
            layout=w.Layout(width="150px"),
        )
        for i in range(MAX_BANDS):
            c[f"threshold_{i}"] = w.FloatText(
                description=f"{i + 1}.", style=wide, layout=w.Layout(width="230px")
            )
            c[f"rate_{i}"] = w.FloatText(description="", layout=w.Layout(width="110px"))
        c["multiplier_mode"] = w.ToggleButtons(
            options=["marginal", "retroactive"], description=_t("mult_mode", L), style=wide
        )
        c["n_multipliers"] = w.BoundedIntText(
            min=0,
            max=MAX_MULTIPLIERS,
            description=_t("multipliers", L),
            style=wide,
            layout=w.Layout(width="170px"),
        )
        for j in range(MAX_MULTIPLIERS):
            c[f"mult_threshold_{j}"] = w.FloatText(
                description=f"{j + 1}.", style=wide, layout=w.Layout(width="230px")
            )
            c[f"mult_factor_{j}"] = w.FloatText(description="", layout=w.Layout(width="110px"))
        c["cap"] = w.FloatText(description=_t("cap", L), style=wide)
        c["gate"] = w.FloatText(description=_t("gate", L), style=wide)
        c["pool"] = w.FloatText(description=_t("pool", L), style=wide)
        c["compare"] = w.SelectMultiple(
            options=list(self.context.plans),
            description=_t("compare", L),
            style=wide,
            rows=min(6, max(2, len(self.context.plans))),
        )
        reps = [(f"{r} {n}", r) for r, n in zip(self.context.rep_ids, self.context.names)]
        c["curve_rep"] = w.Dropdown(
            options=[(_t("median", L), "")] + reps, description=_t("curve_rep", L), style=wide
        )
        c["save_name"] = w.Text(
            description=_t("save_name", L),
            placeholder="my_plan",
            style=wide,
            layout=w.Layout(width="230px"),
        )
        c["save_overwrite"] = w.Checkbox(description=_t("overwrite", L), value=False, indent=False)
        c["save"] = w.Button(description=_t("save", L), icon="save")
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
        ):
            o[k] = w.HTML()
        for k in ("chart_curve", "chart_cost", "chart_reps"):
            o[k] = w.Image(format="png", layout=w.Layout(max_width="100%"))
        for k, out in o.items():
            out.add_class(css_class(k))
        self.outputs = o

        self._band_rows = [w.HBox([c[f"threshold_{i}"], c[f"rate_{i}"]]) for i in range(MAX_BANDS)]
        self._mult_rows = [
            w.HBox([c[f"mult_threshold_{j}"], c[f"mult_factor_{j}"]])
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
                c["n_multipliers"],
                *self._mult_rows,
                c["cap"],
                c["gate"],
                c["pool"],
                c["compare"],
                c["curve_rep"],
                w.HBox([c["save_name"], c["save_overwrite"], c["save"]]),
                o["save_status"],
            ],
            layout=w.Layout(width="460px"),
        )
        kpis = w.HBox(
            [o["cost_of_sales"], o["budget_p50"], o["budget_p90"], o["reserve"], o["gini"]],
            layout=w.Layout(flex_flow="row wrap"),
        )
        for k in ("cost_of_sales", "budget_p50", "budget_p90", "reserve", "gini"):
            o[k].layout.margin = "0 16px 8px 0"
        right = w.VBox(
            [
                o["message"],
                kpis,
                o["flags"],
                o["shares"],
                o["compare_table"],
                o["chart_curve"],
                o["chart_cost"],
                o["chart_reps"],
                o["notes"],
            ],
            layout=w.Layout(flex="1"),
        )
        title = w.HTML(f"<h3>{_t('title', L)}</h3>")
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
        return {k: ctl.value for k, ctl in self.controls.items() if k not in skip}

    def _push(self, state: LabState) -> None:
        """Show ``state`` in the controls without triggering recomputes."""
        base = self._base(state.plan)
        vals = values_from_state(state, base.basis)
        self._quiet = True
        try:
            c = self.controls
            for k, v in vals.items():
                if k in c and c[k].value != v:
                    c[k].value = v
            # rows past the count keep a sensible value for when they are shown
            for i in range(len(state.thresholds), MAX_BANDS):
                c[f"threshold_{i}"].value = 0.0
                c[f"rate_{i}"].value = 0.0
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
        for i, row in enumerate(self._band_rows):
            row.layout.display = "" if i < nb else "none"
        for j, row in enumerate(self._mult_rows):
            row.layout.display = "" if j < nm else "none"
        L = self.lang
        attain = self._base().basis == "attainment"
        rate_label = (
            _t("rate_ti", L) if self._base().pays_on == "target_incentive" else _t("rate", L)
        )
        units = _t("threshold_pct" if attain else "threshold_amount", L)
        self.outputs["units"].value = f"<small>{units} · {rate_label}</small>"

    def _fill_new_rows(self, old_n: int, new_n: int, kind: str) -> None:
        """Give rows that appear a next step up from the row above (not zeros)."""
        c = self.controls
        attain = self._base().basis == "attainment"
        self._quiet = True
        try:
            if kind == "bands":
                for i in range(max(old_n, 1), new_n):
                    prev_t, prev_r = c[f"threshold_{i - 1}"].value, c[f"rate_{i - 1}"].value
                    c[f"threshold_{i}"].value = prev_t + (
                        50.0 if attain else max(prev_t, 1_000_000.0)
                    )
                    c[f"rate_{i}"].value = prev_r
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
            self._state = state_from_values(self._values(), self._base().basis)
            self._refresh()
        except Exception as e:  # never a silent failure in an observer: say it in the app
            self.outputs["message"].value = (
                f"<div style='color:#b71c1c'>internal error: "
                f"{type(e).__name__}: {_esc(str(e))}</div>"
            )

    def _on_save(self, _button=None) -> None:
        name = self.controls["save_name"].value.strip()
        try:
            path = self.save(name, overwrite=self.controls["save_overwrite"].value)
        except (ValueError, FileExistsError, OSError) as e:
            self.outputs["save_status"].value = f"<div style='color:#b71c1c'>{_esc(str(e))}</div>"
            return
        self.outputs[
            "save_status"
        ].value = f"<div style='color:#1b5e20'>{_t('saved', self.lang)}: {_esc(str(path))}</div>"

    def _render(self) -> None:
        o, v, L = self.outputs, self.view, self.lang
        cur = self.context.currency
        if not v.ok:
            items = "".join(f"<li><b>{_esc(f)}</b>: {_esc(m)}</li>" for f, m in v.problems)
            o[
                "message"
            ].value = (
                f"<div style='color:#b71c1c'><b>{_t('edit_problem', L)}</b><ul>{items}</ul></div>"
            )
            for k in ("cost_of_sales", "budget_p50", "budget_p90", "reserve", "gini"):
                o[k].value = _kpi(_t({"budget_p50": "p50", "budget_p90": "p90"}.get(k, k), L), "–")
            # nothing stale may pass for the answer to the bad settings
            for k in ("flags", "shares", "compare_table"):
                o[k].value = ""
            for k in ("chart_curve", "chart_cost", "chart_reps"):
                o[k].value = b""
            return
        o["message"].value = ""
        o["cost_of_sales"].value = _kpi(_t("cost_of_sales", L), f"{v.cost_of_sales:.2%}")
        o["budget_p50"].value = _kpi(_t("p50", L), f"{v.budget_p50:,.0f} {cur}")
        o["budget_p90"].value = _kpi(_t("p90", L), f"{v.budget_p90:,.0f} {cur}")
        o["reserve"].value = _kpi(_t("reserve", L), f"{v.reserve_p90:,.0f} {cur}")
        o["gini"].value = _kpi(_t("gini", L), f"{v.gini:.2f}")
        flags = flag_lines(v.risk, L)
        who = f"{v.curve_rep}, {_t('quota', L)} {v.curve_quota:,.0f}"
        body = "".join(f"<li>{_esc(s)}</li>" for s in flags) or f"<li>{_t('no_flags', L)}</li>"
        color = "#b71c1c" if flags else "#1b5e20"
        o["flags"].value = (
            f"<div><b>{_t('flags', L)}</b> <small>({_esc(who)})</small>"
            f"<ul style='color:{color}'>{body}</ul></div>"
        )
        sh = v.shares
        words = {
            "threshold": ("threshold", "门槛"),
            "target": ("target", "目标"),
            "excellence": ("excellence", "卓越"),
            "in line": ("in line", "合理"),
            "too many": ("too many", "偏多"),
            "too few": ("too few", "偏少"),
        }

        def say(k):
            en, zh = words.get(k, (k, k))
            return zh if L == "zh-CN" else en

        rows = "".join(
            f"<tr><td>{_esc(say(r.level))}</td><td>{r.attainment:.0%}</td><td>{r.share:.0%}</td>"
            f"<td>{r.rule_low:.0%}–{r.rule_high:.0%}</td><td>{_esc(say(r.verdict))}</td></tr>"
            for r in sh.itertuples()
        )
        o["shares"].value = (
            f"<b>{_t('shares', L)}</b><table><tr><th></th><th>≥</th><th>{_t('share', L)}</th>"
            f"<th>{_t('rule', L)}</th><th></th></tr>{rows}</table>"
        )
        cmp_ = v.comparison
        rows = "".join(
            f"<tr><td>{_esc(r.plan)}</td><td>{r.cost_of_sales:.2%}</td><td>{r.p50:,.0f}</td>"
            f"<td>{r.p90:,.0f}</td><td>{r.gini:.2f}</td><td>{r.diff_vs_first:+,.0f}</td></tr>"
            for r in cmp_.itertuples()
        )
        o["compare_table"].value = (
            f"<b>{_t('compare_table', L)}</b><table><tr><th>{_t('plan', L)}</th>"
            f"<th>{_t('cost_of_sales', L)}</th>"
            f"<th>P50</th><th>P90</th><th>Gini</th><th>vs {_esc(cmp_['plan'].iloc[0])}</th></tr>"
            f"{rows}</table>"
        )
        notes = list(v.notes)
        if self.context.excluded:
            why = "; ".join(f"{k} ({r})" for k, r in self.context.excluded.items())
            notes.append(f"{_t('not_offered', L)}: {why}")
        o["notes"].value = "<small>" + "<br>".join(_esc(n) for n in notes) + "</small>"
        if self.charts:
            o["chart_curve"].value = figure_png(payout_curves(v, lang=L, currency=cur))
            o["chart_cost"].value = figure_png(cost_distribution(v, lang=L))
            o["chart_reps"].value = figure_png(rep_pay(v, lang=L, currency=cur))


def _kpi(label: str, value: str) -> str:
    return (
        f"<div><small>{_esc(label)}</small><br><b style='font-size:1.3em'>{_esc(value)}</b></div>"
    )

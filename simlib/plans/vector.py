"""Plans over Monte Carlo trials: payout arrays, cost, curves, gaming risk, solvers.

Everything here is vectorised over a ``(T, R)`` array of trial results (float64, as
produced by the attainment engine) and a quota array ``(R,)``. Plans are evaluated on
the *same* trials (common random numbers), so differences between plans are not
blurred by sampling noise.

The float path agrees with the exact statement path (:mod:`simlib.plans.statements`)
to within half a cent per rep and trial wherever the two see the same inputs: one
period's total per rep. Terms that need individual deals (SPIFs, per-deal caps and
tiers, clawbacks) or several periods (year-to-date true-up, recovery of a draw) are
not in the trials; :func:`not_modelled` lists them for a plan.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simlib.money import format_amount
from simlib.plans.pool import pool_payouts
from simlib.plans.spec import Gate, PlanSpec, PoolSpec

__all__ = [
    "evaluate",
    "not_modelled",
    "CostResult",
    "cost_of_sales",
    "compare_plans",
    "payout_curve",
    "GamingRisk",
    "gaming_risk",
    "gini",
    "fairness",
    "plan_levels",
    "attainment_shares",
    "RULE_OF_THUMB",
    "Solution",
    "solve_rate",
    "solve_gate",
]

#: The field's rule of thumb for a healthy plan: share of reps reaching each level.
RULE_OF_THUMB: dict[str, tuple[float, float]] = {
    "threshold": (0.85, 0.95),
    "target": (0.60, 0.70),
    "excellence": (0.05, 0.15),
}


# --------------------------------------------------------------------------- inputs


def _as_trials(bookings) -> np.ndarray:
    x = np.asarray(bookings, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"bookings must be a (trials, reps) array; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("bookings must be finite; found NaN or infinity")
    if (x < 0).any():
        raise ValueError(f"bookings must be >= 0; found {float(x.min())!r}")
    return x


def _as_reps(a, n: int, what: str, allow_none: bool = True) -> np.ndarray | None:
    if a is None:
        if allow_none:
            return None
        raise ValueError(f"{what} is required")
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{what} must have shape ({n},) (one per rep); got {arr.shape}")
    return arr


def _as_side(a, shape: tuple[int, int], what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{what} must be a scalar, one value per rep ({shape[1]},) or per trial and rep "
            f"{shape}; got shape {arr.shape}"
        ) from None


def _team_matrix(teams, n: int) -> tuple[np.ndarray, tuple]:
    labels = np.asarray(teams)
    if labels.shape != (n,):
        raise ValueError(
            f"teams must give one team label per rep, shape ({n},); got {labels.shape}"
        )
    order = tuple(dict.fromkeys(labels.tolist()))
    onehot = np.zeros((n, len(order)))
    index = {t: k for k, t in enumerate(order)}
    for r, t in enumerate(labels.tolist()):
        onehot[r, index[t]] = 1.0
    return onehot, order


def _subjects(plan: PlanSpec, x: np.ndarray, quota, teams):
    """Results and quota per subject: reps, or teams for a team plan."""
    n = x.shape[1]
    q = _as_reps(quota, n, "quota")
    if plan.credit == "team":
        if teams is None:
            raise ValueError(
                f"plan {plan.name or '?'} pays on team results: pass teams (a team label per rep)"
            )
        onehot, labels = _team_matrix(teams, n)
        x = x @ onehot
        q = q @ onehot if q is not None else None
        return x, q, labels
    return x, q, None


# --------------------------------------------------------------------------- payout


def _steps(edges: np.ndarray, values: np.ndarray, x: np.ndarray, below: bool) -> np.ndarray:
    """The value of the band ``x`` reaches (edges (K,) or (K, S))."""
    out = np.full(x.shape, values[0], dtype=np.float64)
    for k in range(1, len(values)):
        d = values[k] - values[k - 1]
        if d:
            hit = (x > edges[k]) if below else (x >= edges[k])
            out += d * hit
    return out


def _ramp(x: np.ndarray, base: float | np.ndarray, jumps) -> np.ndarray:
    """``base·x + Σ d·max(x − e, 0)``: a continuous piecewise-linear payout.

    Each band adds ``d·max(x − e, 0)`` (not ``d·max(x, e) − d·e``, which would save a
    pass but lose cents to cancellation on large amounts).
    """
    out = x * base
    tmp = np.empty_like(x)
    for e, d in jumps:
        if np.all(d == 0):
            continue
        np.subtract(x, e, out=tmp)
        np.maximum(tmp, 0.0, out=tmp)
        tmp *= d
        out += tmp
    return out


def _commission(
    plan: PlanSpec,
    x: np.ndarray,
    q: np.ndarray | None,
    ti: np.ndarray | None,
    accelerate: bool = True,
) -> np.ndarray:
    """Commission before gate, caps and draws (float, currency units).

    ``accelerate`` False pays multiplier factors above 1 as 1 (an accelerator gate not
    met). Entry bonuses of the bands reached are added (currency amounts).
    """
    S = x.shape[1]
    below = plan.at_threshold == "band_below"
    rates = np.array([b.rate for b in plan.tiers])
    if plan.base_rate is not None:  # a spread: each band's rate over the base rate
        rates = np.maximum(rates - plan.base_rate, 0.0)
    thr = np.array([b.threshold for b in plan.tiers])
    if plan.basis == "attainment":
        tedge = thr[:, None] * q[None, :]  # (I, S)
    else:
        tedge = np.broadcast_to(thr[:, None], (len(thr), S))
    if plan.multipliers:
        factors = np.array([m.factor for m in plan.multipliers])
        if not accelerate:
            factors = np.minimum(factors, 1.0)
        medge = np.array([m.threshold for m in plan.multipliers])[:, None] * q[None, :]
    else:
        factors = np.ones(1)
        medge = np.zeros((1, S))
    tm = plan.mode == "marginal"
    mmode = plan.multiplier_mode

    def tiers_marginal(z):  # Σ slice × rate over marginal tiers
        return _ramp(
            z, rates[0], [(tedge[i], rates[i] - rates[i - 1]) for i in range(1, len(rates))]
        )

    def mults_marginal(z):  # Σ slice × factor over marginal multiplier bands
        return _ramp(
            z, factors[0], [(medge[j], factors[j] - factors[j - 1]) for j in range(1, len(factors))]
        )

    def both_marginal(z):
        # effective rate r(x)·f(x) is a step function; at a tier edge the rate steps with
        # the factor just below it, at a multiplier edge the factor steps with the rate
        # just above it, so coinciding edges add up to r_i f_j − r_{i-1} f_{j-1}.
        jumps = []
        for i in range(1, len(rates)):
            j_left = (medge[1:] < tedge[i][None, :]).sum(axis=0)
            jumps.append((tedge[i], (rates[i] - rates[i - 1]) * factors[j_left]))
        for j in range(1, len(factors)):
            i_right = (tedge[1:] <= medge[j][None, :]).sum(axis=0)
            jumps.append((medge[j], rates[i_right] * (factors[j] - factors[j - 1])))
        return _ramp(z, rates[0] * factors[0], jumps)

    if mmode == "overage":
        # below quota each slice at its own band's factor; above it, the factor reached
        y = np.minimum(x, q[None, :])
        reached = _steps(medge, factors, x, below)
        if tm:
            # the tier commission above quota: the rate of the band just above it, plus
            # each tier step that lies above the quota (one pass instead of two)
            r_q = rates[(tedge[1:] <= q[None, :]).sum(axis=0)]
            steps = [
                (tedge[i], np.where(tedge[i] > q, rates[i] - rates[i - 1], 0.0))
                for i in range(1, len(rates))
            ]
            pay = both_marginal(y) + reached * ((x - y) * r_q + _ramp(x, 0.0, steps))
        else:
            pay = _steps(tedge, rates, x, below) * (mults_marginal(y) + reached * (x - y))
    elif tm and mmode == "marginal":
        pay = both_marginal(x)
    elif mmode == "marginal":  # retroactive tiers × marginal multipliers
        pay = _steps(tedge, rates, x, below) * mults_marginal(x)
    elif tm:  # marginal tiers × retroactive multipliers
        pay = _steps(medge, factors, x, below) * tiers_marginal(x)
    else:
        pay = _steps(tedge, rates, x, below) * _steps(medge, factors, x, below) * x
    if plan.pays_on == "target_incentive":
        pay *= (ti / q) if plan.basis == "attainment" else ti
    if plan.mode == "retroactive" and any(b.amount is not None for b in plan.tiers):
        flat = np.array([b.amount if b.amount is not None else 0.0 for b in plan.tiers])
        paid = _steps(tedge, flat, x, below) * _steps(medge, factors, x, below)
        pay += np.where(x > 0, paid, 0.0)
    bonus = np.array([b.entry_bonus or 0.0 for b in plan.tiers])
    if bonus.any():
        pay += _steps(tedge, np.cumsum(bonus), x, below)
    return pay


def evaluate(
    plan: PlanSpec,
    bookings,
    quota=None,
    *,
    teams=None,
    collection_rate=None,
    kpi_score=None,
    target_incentive=None,
) -> np.ndarray:
    """Payout per trial and rep (or team) for one period, vectorised.

    Parameters
    ----------
    plan : PlanSpec
    bookings : array_like, shape (T, R) or (R,)
        Each rep's result in the plan's measure for the period, per trial.
    quota : array_like, shape (R,), optional
        Needed when the plan uses attainment (bands, multipliers or a gate).
    teams : array_like, shape (R,), optional
        Team label per rep; required for ``credit: team`` plans, whose payout has one
        column per team (in order of first appearance).
    collection_rate, kpi_score : array_like, optional
        Scalar, (R,) or (T, R); required when the plan gates on them.
    target_incentive : array_like, optional
        Per rep; defaults to the plan's ``target_incentive``.

    Returns
    -------
    numpy.ndarray, shape (T, S)
        Payout in currency units (float64; not rounded to cents).
    """
    if plan.components:
        return _evaluate_components(plan, bookings, quota, teams, target_incentive)
    if plan.tier_scope == "per_deal":
        raise ValueError(
            f"plan {plan.name or '?'} tiers each deal on its own; "
            "trials hold period totals, not deals"
        )
    x0 = _as_trials(bookings)
    x, q, _ = _subjects(plan, x0, quota, teams)
    S = x.shape[1]
    if plan.uses_quota:
        if q is None:
            raise ValueError(f"plan {plan.name or '?'} uses attainment: pass quota (one per rep)")
        if (q <= 0).any():
            raise ValueError("quota must be > 0 for every rep")
    ti = None
    if plan.pays_on == "target_incentive":
        ti = _as_reps(
            target_incentive
            if target_incentive is not None
            else (float(plan.period_incentive()) if plan.period_incentive() is not None else None),
            S,
            "target_incentive",
            allow_none=False,
        )
    pay = _commission(plan, x, q, ti)
    if plan.accelerator_gate is not None:
        held = ~_gate_ok(plan.accelerator_gate, plan, x, q, collection_rate, kpi_score)
        # accelerators only change pay from the first band with a factor above 1 on:
        # recompute just where the gate holds back a result that reached it
        first = min(m.threshold for m in plan.multipliers if m.factor > 1)
        held &= x >= first * q[None, :]
        if held.any():
            t_i, s_i = np.nonzero(held)
            pay[t_i, s_i] = _commission(
                plan,
                x[t_i, s_i][None, :],
                None if q is None else q[s_i],
                None if ti is None else ti[s_i],
                accelerate=False,
            )[0]

    g = plan.gate
    ok = None
    if g is not None:
        ok = _gate_ok(g, plan, x, q, collection_rate, kpi_score)
        pay *= ok
    if plan.cap is not None and plan.cap.per_period is not None:
        np.minimum(pay, plan.cap.per_period, out=pay)
    if plan.floor is not None:
        # the floor applies only when the gate is met (a failed gate left pay at 0)
        np.maximum(pay, plan.floor if ok is None else plan.floor * ok, out=pay)
    if plan.draw is not None:
        np.maximum(pay, plan.draw.amount, out=pay)
    return pay


def _evaluate_components(plan: PlanSpec, results, quota, teams, target_incentive) -> np.ndarray:
    """A weighted-measures plan over trials: ``results`` and ``quota`` map each
    component's measure to its (T, R) results and (R,) quotas."""
    if not isinstance(results, Mapping) or not isinstance(quota, Mapping):
        measures = ", ".join(c.measure for c in plan.components)
        raise ValueError(
            f"plan {plan.name or '?'} weighs several measures ({measures}): pass results and "
            "quota as mappings from each measure to its arrays"
        )
    missing = [
        c.measure for c in plan.components if c.measure not in results or c.measure not in quota
    ]
    if missing:
        raise ValueError(f"results or quota lack the measure(s) {', '.join(missing)}")
    att = 0.0  # the weighted attainment, for the gate (and the curve of 'attainment')
    for c in plan.components:
        x = _as_trials(results[c.measure])
        q = _as_reps(quota[c.measure], x.shape[1], f"quota of {c.measure}", allow_none=False)
        att = att + c.weight * x / q[None, :]
    if plan.combine == "components":
        pay = 0.0
        for c, sub in zip(plan.components, plan.component_plans(), strict=True):
            ti = None if target_incentive is None else np.asarray(target_incentive) * c.weight
            pay = pay + evaluate(
                sub, results[c.measure], quota[c.measure], teams=teams, target_incentive=ti
            )
    else:
        ti = target_incentive
        if ti is None:
            own = plan.period_incentive()
            if own is None:
                raise ValueError(f"plan {plan.name or '?'} needs a target incentive (or a pay mix)")
            ti = float(own)
        curve = PlanSpec.model_validate(
            {
                "name": plan.name,
                "description": "weighted attainment",
                "measure": "kpi_score",
                "basis": "amount",
                "mode": plan.mode,
                "at_threshold": plan.at_threshold,
                "pays_on": "target_incentive",
                "target_incentive": 1.0,
                "tiers": [b.model_dump(exclude_none=True) for b in plan.tiers],
            }
        )
        pay = _commission(curve, att, None, _as_reps(ti, att.shape[1], "target_incentive"))
    ok = None
    if plan.gate is not None and plan.gate.min_attainment is not None:
        ok = att >= plan.gate.min_attainment
        pay = pay * ok
    if plan.cap is not None and plan.cap.per_period is not None:
        pay = np.minimum(pay, plan.cap.per_period)
    if plan.floor is not None:
        pay = np.maximum(pay, plan.floor if ok is None else plan.floor * ok)
    return pay


def _gate_ok(g: Gate, plan: PlanSpec, x, q, collection_rate, kpi_score) -> np.ndarray:
    """Where each condition of ``g`` holds (trials × subjects)."""
    ok = np.ones(x.shape, dtype=bool)
    if g.min_attainment is not None:
        ok &= x >= g.min_attainment * q
    if g.min_collection_rate is not None:
        if collection_rate is None:
            raise ValueError(
                f"plan {plan.name or '?'} gates on the collection rate: pass collection_rate"
            )
        ok &= _as_side(collection_rate, x.shape, "collection_rate") >= g.min_collection_rate
    if g.min_kpi_score is not None:
        if kpi_score is None:
            raise ValueError(f"plan {plan.name or '?'} gates on the KPI score: pass kpi_score")
        ok &= _as_side(kpi_score, x.shape, "kpi_score") >= g.min_kpi_score
    return ok


def not_modelled(plan: PlanSpec) -> tuple[str, ...]:
    """Plan terms that :func:`evaluate` cannot see in one period's totals."""
    out = []
    if plan.spifs:
        out.append("SPIFs (need individual deals)")
    if plan.cap is not None and plan.cap.per_deal is not None:
        out.append("per-deal cap (needs individual deals)")
    if plan.clawback is not None:
        out.append("clawbacks (need reversals)")
    if plan.ytd_true_up:
        out.append("year-to-date true-up (one period evaluated)")
    if plan.draw is not None and plan.draw.kind == "recoverable":
        out.append("recovery of the recoverable draw in later periods (the advance counts as paid)")
    return tuple(out)


# --------------------------------------------------------------------------- cost


def gini(payout, *, presorted: bool = False) -> np.ndarray:
    """Gini coefficient of pay across reps, per trial (0 = equal, 1 = one rep takes all)."""
    p = np.asarray(payout, dtype=np.float64)
    if not presorted:
        p = np.sort(p, axis=-1)
    n = p.shape[-1]
    total = p.sum(axis=-1)
    i = np.arange(1, n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (2.0 * (p * i).sum(axis=-1) / (n * total)) - (n + 1) / n
    return np.where(total > 0, g, 0.0)


def fairness(payout) -> dict[str, float]:
    """Mean Gini of pay and mean share of pay taken by the top decile of reps."""
    p = np.asarray(payout, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    n = p.shape[1]
    k = max(1, math.ceil(0.1 * n))
    ordered = np.sort(p, axis=1)  # one sort serves the top decile and the Gini
    top = ordered[:, -k:].sum(axis=1)
    total = p.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, top / total, np.nan)
    return {
        "gini": float(np.mean(gini(ordered, presorted=True))),
        "top_decile_share": float(np.nanmean(share)) if np.isfinite(share).any() else float("nan"),
        "share_zero_pay": float(np.mean(p <= 0)),
    }


def _q(a: np.ndarray, p: float) -> float:
    return float(np.quantile(a, p))


@dataclass(frozen=True, eq=False, repr=False)
class CostResult:
    """Payout of one or several plans over the same trials.

    Attributes
    ----------
    payouts : mapping
        Plan name → (T, S) payout array (S reps, or teams for a team plan).
    subjects : mapping
        Plan name → the S subject ids, in column order.
    total : ndarray, shape (T,)
        All plans' payout per trial.
    revenue : ndarray, shape (T,)
        The denominator of cost of sales per trial.
    not_modelled : tuple of str
        Plan terms the trials cannot carry (see :func:`not_modelled`).
    """

    names: tuple[str, ...]
    payouts: Mapping[str, np.ndarray]
    subjects: Mapping[str, tuple]
    total: np.ndarray
    revenue: np.ndarray
    currency: str = "CNY"
    not_modelled: tuple[str, ...] = field(default=())

    @property
    def cost_of_sales(self) -> np.ndarray:
        """Total payout ÷ revenue, per trial."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.revenue > 0, self.total / self.revenue, np.nan)

    @property
    def expected_cost_of_sales(self) -> float:
        """Expected payout ÷ expected revenue."""
        return (
            float(self.total.mean() / self.revenue.mean())
            if self.revenue.mean() > 0
            else float("nan")
        )

    @property
    def budget_p50(self) -> float:
        """The budget: median total payout."""
        return _q(self.total, 0.5)

    @property
    def p90(self) -> float:
        """Total payout exceeded in only 10% of trials."""
        return _q(self.total, 0.9)

    @property
    def reserve_p90(self) -> float:
        """Reserve to hold on top of the P50 budget to cover the P90 payout."""
        return self.p90 - self.budget_p50

    def summary(self) -> pd.DataFrame:
        """Per plan and in total: mean, P10, P50, P90, reserve and cost of sales."""
        rows = []
        rev = self.revenue.mean()
        for name in self.names:
            t = self.payouts[name].sum(axis=1)
            rows.append(self._row(name, t, rev))
        rows.append(self._row("total", self.total, rev))
        return pd.DataFrame(rows)

    @staticmethod
    def _row(name, t, rev):
        p10, p50, p90 = np.quantile(t, [0.1, 0.5, 0.9])
        return {
            "plan": name,
            "mean": float(t.mean()),
            "p10": float(p10),
            "p50": float(p50),
            "p90": float(p90),
            "reserve_p90": float(p90 - p50),
            "cost_of_sales": float(t.mean() / rev) if rev > 0 else float("nan"),
        }

    def by_rep(self, plan: str | None = None) -> pd.DataFrame:
        """Payout distribution per rep (or team): mean, P10, P50, P90, P(no pay)."""
        names = [plan] if plan is not None else list(self.names)
        rows = []
        for name in names:
            p = self.payouts[name]
            qs = np.quantile(p, [0.1, 0.5, 0.9], axis=0)
            for k, s in enumerate(self.subjects[name]):
                rows.append(
                    {
                        "plan": name,
                        "rep_id": s,
                        "mean": float(p[:, k].mean()),
                        "p10": float(qs[0, k]),
                        "p50": float(qs[1, k]),
                        "p90": float(qs[2, k]),
                        "p_zero": float(np.mean(p[:, k] <= 0)),
                    }
                )
        return pd.DataFrame(rows)

    def fairness(self, plan: str | None = None) -> dict[str, float]:
        """Gini and top-decile share of one plan's pay (default: the first plan)."""
        return fairness(self.payouts[plan or self.names[0]])

    to_frame = summary

    def __repr__(self) -> str:
        T = self.total.shape[0]
        cur = self.currency
        nm = "" if not self.not_modelled else f"; not modelled: {len(self.not_modelled)} terms"
        return (
            f"CostResult({', '.join(self.names)}; {T:,} trials: "
            f"budget P50 {format_amount(self.budget_p50)} {cur}, "
            f"P90 {format_amount(self.p90)} (reserve {format_amount(self.reserve_p90)}), "
            f"cost of sales {self.expected_cost_of_sales:.2%}{nm})"
        )


def _named(plans) -> dict[str, PlanSpec | PoolSpec]:
    if isinstance(plans, (PlanSpec, PoolSpec)):
        plans = [plans]
    if isinstance(plans, Mapping):
        return dict(plans)
    out = {}
    for k, p in enumerate(plans):
        name = p.name or f"plan{k + 1}"
        if name in out:
            name = f"{name}#{k + 1}"
        out[name] = p
    return out


def _pools_by_team(pool: PoolSpec, x: np.ndarray, quota, teams) -> np.ndarray:
    """Each team's own pool (funded from, and split among, its reps); one pool for all
    reps when no teams are given. (T, R) payout per rep."""
    if teams is None:
        return pool_payouts(pool, x, quota)
    labels = np.asarray(teams)
    if labels.shape != (x.shape[1],):
        raise ValueError(f"teams must give one team per rep ({x.shape[1]}); got {labels.shape}")
    out = np.zeros_like(x)
    q = None if quota is None else np.asarray(quota, dtype=float)
    for team in dict.fromkeys(labels.tolist()):
        cols = np.flatnonzero(labels == team)
        out[:, cols] = pool_payouts(pool, x[:, cols], None if q is None else q[cols])
    return out


def cost_of_sales(
    plans,
    bookings,
    quota=None,
    *,
    revenue=None,
    teams=None,
    rep_ids: Sequence | None = None,
    collection_rate=None,
    kpi_score=None,
    target_incentive=None,
) -> CostResult:
    """Push the same trials through one or several plans (and bonus pools).

    Parameters
    ----------
    plans : PlanSpec, PoolSpec, sequence or mapping of them
        All are evaluated on the same trials (common random numbers); a manager plan
        (``credit: team``) pays per team, a :class:`PoolSpec` adds the bonus pool.
    bookings : array_like, shape (T, R)
    quota : array_like, shape (R,), optional
    revenue : array_like, shape (T,), optional
        Denominator of cost of sales; defaults to the sum of ``bookings`` per trial.
    teams : array_like, shape (R,), optional
        Team label per rep, for team plans.
    rep_ids : sequence, optional
        Names of the R reps (default ``0..R-1``).

    Returns
    -------
    CostResult
    """
    x = _as_trials(bookings)
    T, R = x.shape
    ids = tuple(rep_ids) if rep_ids is not None else tuple(range(R))
    named = _named(plans)
    currencies = sorted({p.currency for p in named.values()})
    if len(currencies) > 1:
        raise ValueError(f"plans are in different currencies {currencies}; cost them separately")
    payouts, subjects, missing = {}, {}, []
    currency = None
    for name, p in named.items():
        if isinstance(p, PoolSpec):
            payouts[name] = _pools_by_team(p, x, quota, teams)
            subjects[name] = ids
        else:
            payouts[name] = evaluate(
                p,
                x,
                quota,
                teams=teams,
                collection_rate=collection_rate,
                kpi_score=kpi_score,
                target_incentive=target_incentive,
            )
            subjects[name] = ids if p.credit == "own" else _team_matrix(teams, R)[1]
            missing += [f"{name}: {t}" for t in not_modelled(p)]
        currency = currency or p.currency
    total = sum(p.sum(axis=1) for p in payouts.values())
    rev = x.sum(axis=1) if revenue is None else np.asarray(revenue, dtype=np.float64)
    if rev.shape != (T,):
        raise ValueError(f"revenue must have shape ({T},) (one per trial); got {rev.shape}")
    return CostResult(
        tuple(named),
        payouts,
        subjects,
        np.asarray(total, dtype=np.float64),
        rev,
        currency or "CNY",
        tuple(missing),
    )


def compare_plans(plans, bookings, quota=None, **kwargs) -> pd.DataFrame:
    """Several plans side by side on the same trials, with paired differences.

    The difference of each plan's mean total payout from the first plan's, and its
    standard error, are paired over trials (common random numbers), so they are far
    tighter than the difference of two independent simulations.
    """
    named = _named(plans)
    res = {n: cost_of_sales({n: p}, bookings, quota, **kwargs) for n, p in named.items()}
    first = next(iter(res.values()))
    rows = []
    for n, r in res.items():
        d = r.total - first.total
        fr = r.fairness()
        rows.append(
            {
                "plan": n,
                "mean": float(r.total.mean()),
                "p50": r.budget_p50,
                "p90": r.p90,
                "reserve_p90": r.reserve_p90,
                "cost_of_sales": r.expected_cost_of_sales,
                "gini": fr["gini"],
                "top_decile_share": fr["top_decile_share"],
                "share_zero_pay": fr["share_zero_pay"],
                "diff_vs_first": float(d.mean()),
                "diff_se": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- curves


def _single(plan: PlanSpec) -> PlanSpec:
    return plan.model_copy(update={"credit": "own"}) if plan.credit == "team" else plan


def _curve_kwargs(plan: PlanSpec, collection_rate, kpi_score):
    if plan.gate is not None and plan.gate.min_kpi_score is not None and kpi_score is None:
        kpi_score = plan.gate.min_kpi_score  # assume the other gates are met
    if collection_rate is None:
        collection_rate = 1.0
    return {"collection_rate": collection_rate, "kpi_score": kpi_score}


def payout_curve(
    plan: PlanSpec,
    quota: float,
    attainment=None,
    *,
    target_incentive=None,
    collection_rate=None,
    kpi_score=None,
) -> pd.DataFrame:
    """Pay against attainment, with the pay for the next 1% of attainment.

    Parameters
    ----------
    plan : PlanSpec
    quota : float
        The quota that turns attainment into an amount.
    attainment : array_like, optional
        Points to evaluate; default 0% to 200% in steps of 1%.
    collection_rate, kpi_score : float, optional
        Assumed met unless given.

    Returns
    -------
    DataFrame
        ``attainment``, ``result``, ``payout``, ``marginal_pay`` (payout at
        attainment + 1% minus payout at attainment) and ``effective_rate``.
    """
    a = (
        np.round(np.arange(0, 2.0 + 1e-9, 0.01), 6)
        if attainment is None
        else np.asarray(attainment, float)
    )
    p = _single(plan)
    kw = _curve_kwargs(p, collection_rate, kpi_score)
    q = np.array([float(quota)])
    x = a[:, None] * quota
    pay = evaluate(p, x, q, target_incentive=target_incentive, **kw)[:, 0]
    nxt = evaluate(p, (a[:, None] + 0.01) * quota, q, target_incentive=target_incentive, **kw)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(x[:, 0] > 0, pay / x[:, 0], np.nan)
    return pd.DataFrame(
        {
            "attainment": a,
            "result": x[:, 0],
            "payout": pay,
            "marginal_pay": nxt - pay,
            "effective_rate": eff,
        }
    )


@dataclass(frozen=True, repr=False)
class GamingRisk:
    """Where a plan invites gaming.

    ``cliffs``: thresholds where one more cent of sales changes pay by a lump (a
    retroactive band, a retroactive multiplier, a gate): reps just below are tempted
    to pull deals in; reps just above to push the rest out. ``dead_zones``: stretches
    of attainment where more sales earn nothing (below a gate, above a cap, a
    zero-rate band): reps there are tempted to hold deals back.
    """

    plan: str
    quota: float
    cliffs: pd.DataFrame
    dead_zones: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Cliffs and dead zones in one table (``kind`` tells them apart)."""
        c = self.cliffs.assign(kind="cliff")
        d = self.dead_zones.assign(kind="dead_zone")
        return pd.concat([c, d], ignore_index=True)

    def __repr__(self) -> str:
        parts = [f"GamingRisk({self.plan}, quota {format_amount(self.quota)}):"]
        for r in self.cliffs.itertuples():
            parts.append(
                f"  cliff at {r.attainment:.1%} ({format_amount(r.result)}): one cent more "
                f"changes pay by {format_amount(r.jump)}"
            )
        for r in self.dead_zones.itertuples():
            parts.append(f"  dead zone {r.start:.1%}–{r.end:.1%}: {r.reason}")
        if len(parts) == 1:
            parts.append("  no cliffs or dead zones found")
        return "\n".join(parts)


def _thresholds_attainment(plan: PlanSpec, quota: float) -> list[float]:
    pts = []
    for b in plan.tiers[1:]:
        pts.append(b.threshold if plan.basis == "attainment" else b.threshold / quota)
    pts += [m.threshold for m in plan.multipliers[1:]]
    for g in (plan.gate, plan.accelerator_gate):  # a gate, or accelerators switching on
        if g is not None and g.min_attainment:
            pts.append(g.min_attainment)
    return sorted(set(pts))


def gaming_risk(
    plan: PlanSpec,
    quota: float,
    *,
    max_attainment: float = 3.0,
    resolution: float = 0.001,
    min_jump: float = 1.0,
    target_incentive=None,
    collection_rate=None,
    kpi_score=None,
) -> GamingRisk:
    """Find cliffs and dead zones in a plan's payout curve for one quota.

    Parameters
    ----------
    quota : float
    max_attainment : float
        Scan attainment from 0 to this.
    resolution : float
        Grid step for dead zones (attainment units; 0.001 = 0.1% of quota).
    min_jump : float
        A change of pay of at least this much for one cent of sales is a cliff.
    """
    p = _single(plan)
    kw = dict(_curve_kwargs(p, collection_rate, kpi_score), target_incentive=target_incentive)
    q = np.array([float(quota)])

    def pay(amounts):
        return evaluate(p, np.asarray(amounts, float)[:, None], q, **kw)[:, 0]

    rows = []
    for a in _thresholds_attainment(p, quota):
        if a <= 0 or a > max_attainment:
            continue
        x = a * quota
        lo, at, hi = pay([x - 0.01, x, x + 0.01])
        jump = hi - lo
        if abs(jump) >= min_jump:
            rows.append(
                {
                    "attainment": a,
                    "result": x,
                    "pay_below": lo,
                    "pay_at": at,
                    "pay_above": hi,
                    "jump": jump,
                }
            )
    cliffs = pd.DataFrame(
        rows, columns=["attainment", "result", "pay_below", "pay_at", "pay_above", "jump"]
    )

    grid = np.arange(0.0, max_attainment + resolution / 2, resolution)
    pg = pay(grid * quota)
    dp = np.diff(pg)
    tol = 1e-9 * max(1.0, float(np.abs(pg).max()))
    flat = np.abs(dp) <= tol
    zones = []
    k = 0
    while k < len(flat):
        if not flat[k]:
            k += 1
            continue
        j = k
        while j + 1 < len(flat) and flat[j + 1]:
            j += 1
        start, end = float(grid[k]), float(grid[j + 1])
        if j - k + 1 >= 2:
            zones.append(
                {
                    "start": start,
                    "end": end,
                    "pay": float(pg[k]),
                    "reason": _dead_reason(p, start, end, float(pg[k]), max_attainment),
                }
            )
        k = j + 1
    dead = pd.DataFrame(zones, columns=["start", "end", "pay", "reason"])
    return GamingRisk(p.name or "plan", float(quota), cliffs, dead)


def _dead_reason(plan: PlanSpec, start: float, end: float, level: float, top: float) -> str:
    g = plan.gate.min_attainment if plan.gate is not None else None
    close = lambda a, b: b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b))  # noqa: E731
    if g is not None and end <= g + 1e-9:
        return f"below the gate ({g:.0%} attainment): no pay, so extra sales earn nothing"
    if plan.cap is not None and close(level, plan.cap.per_period):
        tail = " and above" if end >= top - 1e-9 else ""
        return (
            f"per-period cap {format_amount(plan.cap.per_period)} reached{tail}: "
            "extra sales earn nothing"
        )
    if plan.draw is not None and close(level, plan.draw.amount):
        return (
            f"inside the draw ({format_amount(plan.draw.amount)}): earnings only replace the draw"
        )
    if plan.floor is not None and close(level, plan.floor):
        return f"inside the floor ({format_amount(plan.floor)}): earnings only replace the floor"
    return "zero rate: extra sales earn nothing"


# --------------------------------------------------------------------------- levels


def plan_levels(plan: PlanSpec) -> dict[str, float]:
    """Attainment levels to test against the rule of thumb.

    ``threshold``: the gate's attainment (else the first attainment band paying more
    than nothing, else 50%); ``target``: 100%; ``excellence``: the top multiplier or
    attainment band above 100% (else 150%).
    """
    threshold = None
    if plan.gate is not None and plan.gate.min_attainment is not None:
        threshold = plan.gate.min_attainment
    elif plan.basis == "attainment":
        for b in plan.tiers:
            if b.rate > 0:
                threshold = b.threshold if b.threshold > 0 else None
                break
    above = [m.threshold for m in plan.multipliers if m.threshold > 1.0]
    if plan.basis == "attainment":
        above += [b.threshold for b in plan.tiers if b.threshold > 1.0]
    return {
        "threshold": threshold if threshold is not None else 0.5,
        "target": 1.0,
        "excellence": max(above) if above else 1.5,
    }


def attainment_shares(
    bookings,
    quota,
    *,
    threshold: float = 0.5,
    target: float = 1.0,
    excellence: float = 1.5,
    teams=None,
) -> pd.DataFrame:
    """Share of reps reaching threshold, target and excellence, against the rule of thumb.

    The field's rule of thumb for a well-set plan: about 90% of reps reach the
    threshold, 60–70% the target and about 10% excellence (:data:`RULE_OF_THUMB`).
    """
    x = _as_trials(bookings)
    q = _as_reps(quota, x.shape[1], "quota", allow_none=False)
    if teams is not None:
        onehot, _ = _team_matrix(teams, x.shape[1])
        x, q = x @ onehot, q @ onehot
    a = x / q
    rows = []
    for level, at in (("threshold", threshold), ("target", target), ("excellence", excellence)):
        share = float(np.mean(a >= at))
        lo, hi = RULE_OF_THUMB[level]
        verdict = "in line" if lo <= share <= hi else ("too many" if share > hi else "too few")
        rows.append(
            {
                "level": level,
                "attainment": at,
                "share": share,
                "rule_low": lo,
                "rule_high": hi,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- solvers


@dataclass(frozen=True, repr=False)
class Solution:
    """A solved plan parameter."""

    plan: PlanSpec
    parameter: str
    value: float
    target: float
    achieved: float

    def __repr__(self) -> str:
        return (
            f"Solution({self.plan.name or 'plan'}: {self.parameter} = {self.value:.6g}; "
            f"target {self.target:.6g}, achieved {self.achieved:.6g})"
        )


_PARAM = re.compile(r"^(rates|target_incentive|tiers\[(\d+)\]\.rate|multipliers\[(\d+)\]\.factor)$")


def _with_value(plan: PlanSpec, parameter: str, v: float) -> PlanSpec:
    m = _PARAM.match(parameter)
    if m is None:
        raise ValueError(
            "parameter must be 'rates' (scale every tier rate), 'tiers[i].rate', "
            f"'multipliers[j].factor' or 'target_incentive'; got {parameter!r}"
        )
    if parameter == "rates":
        tiers = tuple(b.model_copy(update={"rate": b.rate * v}) for b in plan.tiers)
        return plan.model_copy(update={"tiers": tiers})
    if parameter == "target_incentive":
        return plan.model_copy(update={"target_incentive": v})
    if m.group(2) is not None:
        i = int(m.group(2))
        if i >= len(plan.tiers):
            raise ValueError(f"plan has {len(plan.tiers)} tiers; tiers[{i}] does not exist")
        tiers = list(plan.tiers)
        tiers[i] = tiers[i].model_copy(update={"rate": v})
        return plan.model_copy(update={"tiers": tuple(tiers)})
    j = int(m.group(3))
    if j >= len(plan.multipliers):
        raise ValueError(
            f"plan has {len(plan.multipliers)} multipliers; multipliers[{j}] does not exist"
        )
    mult = list(plan.multipliers)
    mult[j] = mult[j].model_copy(update={"factor": v})
    return plan.model_copy(update={"multipliers": tuple(mult)})


def solve_rate(
    plan: PlanSpec,
    bookings,
    quota=None,
    *,
    cost_of_sales: float | None = None,
    budget: float | None = None,
    parameter: str = "rates",
    revenue=None,
    **kwargs,
) -> Solution:
    """The rate (or accelerator) that makes expected cost equal a budget (brentq).

    Parameters
    ----------
    plan : PlanSpec
    bookings, quota
        Trials, as for :func:`evaluate`.
    cost_of_sales : float, optional
        Target expected payout ÷ expected revenue (e.g. 0.02).
    budget : float, optional
        Target expected total payout per period (give this or ``cost_of_sales``).
    parameter : str
        ``"rates"`` scales every tier rate by one factor (the value solved);
        ``"tiers[i].rate"``, ``"multipliers[j].factor"`` or ``"target_incentive"``
        solve that one number.
    revenue : array_like, optional
        Cost-of-sales denominator per trial; default the sum of bookings.
    **kwargs
        Passed to :func:`evaluate` (teams, collection_rate, ...).

    Returns
    -------
    Solution
        The plan with the solved value, validated; ``achieved`` is its expected cost
        (as cost of sales when that was the target).
    """
    if (cost_of_sales is None) == (budget is None):
        raise ValueError("give exactly one of cost_of_sales or budget")
    x = _as_trials(bookings)
    rev = float((x.sum(axis=1) if revenue is None else np.asarray(revenue, float)).mean())
    target = budget if budget is not None else cost_of_sales * rev
    _with_value(plan, parameter, 1.0)  # check the parameter name early

    def cost(v: float) -> float:
        return float(
            evaluate(_with_value(plan, parameter, v), x, quota, **kwargs).sum(axis=1).mean()
        )

    f0 = cost(0.0)
    if f0 > target:
        raise ValueError(
            f"even at {parameter} = 0 the plan costs {format_amount(f0)} per period on average "
            f"(floors, draws or other bands), above the target {format_amount(target)}"
        )
    hi = 1.0
    while cost(hi) < target:
        hi *= 2.0
        if hi > 1e9:
            raise ValueError(
                f"the target {format_amount(target)} cannot be reached by raising {parameter}: the "
                f"cost levels off at {format_amount(cost(hi))} (a cap limits it)"
            )
    from scipy.optimize import brentq  # only the solver needs scipy (simlib payout does not)

    v = brentq(lambda v: cost(v) - target, 0.0, hi, xtol=1e-12, rtol=1e-12, maxiter=200)
    solved = PlanSpec.model_validate(_with_value(plan, parameter, v).model_dump())
    got = cost(v)
    achieved = got if budget is not None else got / rev
    return Solution(
        solved,
        parameter,
        float(v),
        float(budget if budget is not None else cost_of_sales),
        float(achieved),
    )


def solve_gate(
    plan: PlanSpec,
    bookings,
    quota,
    eligible_share: float,
    *,
    step: float = 0.001,
    teams=None,
) -> Solution:
    """The attainment gate that keeps ``eligible_share`` of reps eligible.

    Returns the highest gate, on a grid of ``step`` (0.1% of quota by default), at
    which at least ``eligible_share`` of rep-trials reach the gate.
    """
    if not 0 < eligible_share <= 1:
        raise ValueError(f"eligible_share must be in (0, 1]; got {eligible_share!r}")
    x = _as_trials(bookings)
    q = _as_reps(quota, x.shape[1], "quota", allow_none=False)
    if plan.credit == "team":
        onehot, _ = _team_matrix(teams, x.shape[1])
        x, q = x @ onehot, q @ onehot
    a = np.sort((x / q).ravel())[::-1]
    k = max(1, math.ceil(eligible_share * a.size - 1e-9))
    g = math.floor(a[k - 1] / step + 1e-9) * step
    g = max(0.0, round(g, 10))
    old = plan.gate.model_dump() if plan.gate is not None else {}
    old["min_attainment"] = g
    solved = PlanSpec.model_validate(
        {**plan.model_dump(), "gate": Gate.model_validate(old).model_dump()}
    )
    return Solution(solved, "gate.min_attainment", g, eligible_share, float(np.mean(x / q >= g)))

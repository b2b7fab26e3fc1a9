"""Weighted measures: several measures, each with its own quota, in one plan.

A plan with ``components`` pays shares of one target incentive. Each component is a
measure (bookings, new-customer revenue, a renewal rate...) with a weight and a quota
of its own (the targets' ``metric`` names the measure). Two ways to combine them:

``combine: components``
    Each component is paid through its own curve on its share of the incentive: the
    bookings part at 70% of the incentive by bookings attainment, the new-logo part at
    30% by new-logo attainment. The statement lists each component's lines.
``combine: attainment``
    One weighted attainment, Σ weight × attainment, is paid through the plan's tiers
    (rate 1 at 100% pays the whole incentive).

A gate (on the weighted attainment), a cap and a floor apply to the whole. Each
component's arithmetic is the ordinary statement path (exact, rounded once per
component); the weighted attainment path rounds once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import pandas as pd

from simlib.money import allocate_cents, format_amount
from simlib.periods import parse_label
from simlib.plans.spec import PlanSpec, exact, fmt_number, fmt_rate

__all__ = ["component_plans", "component_statements"]


def component_plans(plan: PlanSpec) -> list[PlanSpec]:
    """Each component as an ordinary plan paying its weight's share of the incentive."""
    base = plan.model_dump(exclude_none=True)
    out = []
    for c in plan.components:
        tiers = c.tiers if plan.combine == "components" else ({"threshold": 0, "rate": 1},)
        data = {
            **base,
            "name": f"{plan.name or 'plan'} · {c.name}",
            "components": (),
            "measure": c.measure,
            "mode": c.mode,
            "tiers": [t if isinstance(t, dict) else t.model_dump(exclude_none=True) for t in tiers],
            "incentive_share": c.weight,
        }
        for key in ("gate", "cap", "floor", "combine"):
            data.pop(key, None)
        out.append(PlanSpec.model_validate(data))
    return out


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
    from simlib.plans.statements import (
        Line,
        Statement,
        StatementSet,
        _commission_free_schedule,
        _fmt_cents,
        _gate_failures,
        _ratio_pieces,
        _reached,
        _round_cents,
        compute_statements,
    )

    name = plan.name or "plan"
    parts = []
    for c, sub in zip(plan.components, component_plans(plan), strict=True):
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
        if failed:
            lines.append(
                Line("gate", "gate not met (" + "; ".join(failed) + "): nothing is paid", -subtotal)
            )
            subtotal = 0
        if plan.cap is not None and plan.cap.per_period is not None:
            capc = _round_cents(exact(plan.cap.per_period))
            if subtotal > capc:
                lines.append(
                    Line(
                        "cap",
                        f"per-period cap {_fmt_cents(capc)}: {_fmt_cents(subtotal)} → "
                        f"{_fmt_cents(capc)}",
                        capc - subtotal,
                    )
                )
                subtotal = capc
        if plan.floor is not None and not failed:
            floorc = _round_cents(exact(plan.floor))
            if subtotal < floorc:
                lines.append(
                    Line(
                        "floor",
                        f"floor {_fmt_cents(floorc)}: {_fmt_cents(subtotal)} topped up",
                        floorc - subtotal,
                    )
                )
                subtotal = floorc
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

"""The reverse funnel (SPEC R5): from a revenue target to the activities that support it.

For each rep and month, with the rep's calibrated funnel (see
:mod:`simlib.targets.history`: rates over the last 12 months, shrunk to the team's)::

    deals     = revenue target / average won deal size
    proposals = deals / win rate (wins per proposal)
    visits    = proposals / proposal rate (proposals per visit)
    leads     = visits / visits per qualified lead

A team's qualified leads are the sum of its reps'; marketing must deliver at least the
plan's floor (``funnel.marketing_lead_floor``, 50 a month) — the check says, per team
and month, whether the requirement sits above the floor (marketing must plan for more)
or below it (the floor covers it).

Applied to a team's revenue of the last 12 months with the team's own rates, the chain
returns that team's activity counts: the rates are ratios of those counts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["FUNNEL_STEPS", "reverse_funnel"]

FUNNEL_STEPS: tuple[str, ...] = ("deals", "proposals", "visits", "leads")


def reverse_funnel(
    rep_months: pd.DataFrame, rates: pd.DataFrame, team_of: dict[str, str], *, lead_floor: int = 50
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Activity targets per rep and month, and qualified leads per team and month.

    Parameters
    ----------
    rep_months : DataFrame
        rep_id, period (``2027-01``), revenue (the rep's monthly target).
    rates : DataFrame
        Indexed by node id with avg_deal_size, win_rate, proposal_rate, visits_per_lead.
    team_of : dict
        rep id → team id.
    lead_floor : int
        Qualified leads per team per month that marketing delivers at least.

    Returns
    -------
    reps : DataFrame
        rep_id, team_id, period, revenue, the four rates, deals, proposals, visits,
        leads (expected values) and ``*_target`` columns rounded up to whole activities.
    teams : DataFrame
        team_id, period, revenue, leads_required (sum of the reps' expected leads,
        rounded up), lead_floor, leads_to_deliver (the larger), above_floor, note_en,
        note_zh.
    """
    r = rep_months.copy()
    r["team_id"] = r["rep_id"].map(team_of)
    cols = ["avg_deal_size", "win_rate", "proposal_rate", "visits_per_lead"]
    rr = rates.reindex(r["rep_id"])[cols].to_numpy(dtype=float)
    for k, c in enumerate(cols):
        r[c] = rr[:, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        r["deals"] = r["revenue"] / r["avg_deal_size"]
        r["proposals"] = r["deals"] / r["win_rate"]
        r["visits"] = r["proposals"] / r["proposal_rate"]
        r["leads"] = r["visits"] / r["visits_per_lead"]
    for c in FUNNEL_STEPS:
        v = r[c].to_numpy(dtype=float)
        r[f"{c}_target"] = pd.array(
            [math.ceil(x - 1e-9) if np.isfinite(x) else pd.NA for x in v], dtype="Int64"
        )
    t = (
        r.groupby(["team_id", "period"], sort=True)
        .agg(revenue=("revenue", "sum"), leads=("leads", "sum"))
        .reset_index()
    )
    t["leads_required"] = [math.ceil(x - 1e-9) if np.isfinite(x) else 0 for x in t["leads"]]
    t["lead_floor"] = int(lead_floor)
    t["leads_to_deliver"] = np.maximum(t["leads_required"], t["lead_floor"])
    t["above_floor"] = t["leads_required"] > t["lead_floor"]
    t["note_en"] = [
        (
            f"needs {req} qualified leads, {req - lead_floor} above the floor of {lead_floor}: "
            "marketing must plan for more"
        )
        if above
        else (f"needs {req} qualified leads; the floor of {lead_floor} covers it")
        for req, above in zip(t["leads_required"], t["above_floor"])
    ]
    t["note_zh"] = [
        (f"需要 {req} 条合格线索，比下限 {lead_floor} 多 {req - lead_floor} 条：市场部需追加投放")
        if above
        else (f"需要 {req} 条合格线索；{lead_floor} 条的下限已可覆盖")
        for req, above in zip(t["leads_required"], t["above_floor"])
    ]
    t = t.drop(columns="leads")
    return r.reset_index(drop=True), t

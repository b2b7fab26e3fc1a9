"""The sales funnel on one cohort: the leads created in a period, followed to the sale.

The older dashboard funnel put counts of different things side by side (leads created
this month, proposals submitted this month on any opportunity, deals won this month),
so a step could exceed 100% ("49 converted leads → 531 proposals"). Here every stage is
a subset of the one before, so each step can only narrow:

==============  ==================================================================
``leads``       leads created in the period by reps at or below the node
``qualified``   of those, qualified
``converted``   of those, converted to an opportunity by ``as_of``
``proposal``    of those, whose opportunity had a proposal submitted by ``as_of``
``won``         of those, whose opportunity was won by ``as_of``
==============  ==================================================================

A young cohort is still maturing: its later stages grow as the leads progress.

>>> from simlib import tracking                                          # doctest: +SKIP
>>> tracking.funnel(data, "2026-Q3", level="rep", within="T-SH")         # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simlib.periods import as_window
from simlib.tracking.dashboard import _rep_node
from simlib.tracking.facts import DataLike, prepare

__all__ = ["FUNNEL_STAGES", "funnel", "funnel_steps"]

#: The cohort funnel's stages, top first: key → (English, Chinese).
FUNNEL_STAGES: dict[str, tuple[str, str]] = {
    "leads": ("Leads created", "新建线索"),
    "qualified": ("Qualified", "合格线索"),
    "converted": ("Converted to opportunity", "转为商机"),
    "proposal": ("Proposal submitted", "已提交方案"),
    "won": ("Won", "成交"),
}


def funnel(
    data: DataLike, period, *, level: str = "team", within: str | None = None, as_of=None
) -> pd.DataFrame:
    """The cohort funnel per node: one row per node of ``level`` (at or below ``within``).

    Returns
    -------
    DataFrame
        ``node_id`` and one count column per stage of :data:`FUNNEL_STAGES`
        (``leads, qualified, converted, proposal, won``); each column ≤ the one before.
    """
    f = prepare(data)
    win = as_window(period)
    upto = f.as_of if as_of is None else min(pd.Timestamp(as_of).normalize(), f.as_of)
    node_of = _rep_node(f, level)
    nodes = f.nodes.drop_duplicates("node_id")
    nodes = nodes[nodes["level"] == level]
    if within is not None:
        members = set(f.members(within))
        keep = set(node_of.reindex(list(members)).dropna())
        nodes = nodes[nodes["node_id"].isin(keep) | (nodes["node_id"] == within)]
    else:
        members = None
    leads = f.leads
    d = leads["created_date"]
    lw = leads[(d >= win.start) & (d <= min(win.end, upto))]
    if members is not None:
        lw = lw[lw["rep_id"].isin(members)]
    qualified = lw["qualified"].fillna(False).to_numpy(dtype=bool)
    conv = (lw["converted_date"] <= upto).to_numpy() & lw["opportunity_id"].notna().to_numpy()
    converted = qualified & conv
    props = f.proposals
    proposed_opps = set(props.loc[props["date"] <= upto, "opportunity_id"].dropna())
    won_opps = set(f.won.loc[f.won["close_date"] <= upto, "opportunity_id"])
    opp = lw["opportunity_id"]
    proposal = converted & opp.isin(proposed_opps).to_numpy()
    won = proposal & opp.isin(won_opps).to_numpy()
    stages = pd.DataFrame(
        {
            "node_id": lw["rep_id"].map(node_of).to_numpy(),
            "leads": 1,
            "qualified": qualified.astype(int),
            "converted": converted.astype(int),
            "proposal": proposal.astype(int),
            "won": won.astype(int),
        }
    )
    counts = stages.groupby("node_id")[list(FUNNEL_STAGES)].sum()
    out = counts.reindex(nodes["node_id"]).fillna(0).astype(np.int64)
    out.index.name = "node_id"
    return out.reset_index().sort_values("node_id", kind="stable").reset_index(drop=True)


def funnel_steps(row) -> pd.DataFrame:
    """One node's funnel as rows: ``stage, label, label_zh, count, step_conversion``
    (the share of the previous stage; NaN for the first or after an empty stage)."""
    counts = [int(row[s]) for s in FUNNEL_STAGES]
    prev = [np.nan] + counts[:-1]
    return pd.DataFrame(
        {
            "stage": list(FUNNEL_STAGES),
            "label": [v[0] for v in FUNNEL_STAGES.values()],
            "label_zh": [v[1] for v in FUNNEL_STAGES.values()],
            "count": counts,
            "step_conversion": [c / p if p and p > 0 else np.nan for c, p in zip(counts, prev)],
        }
    )

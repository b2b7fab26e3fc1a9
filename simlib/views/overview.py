"""A company at a glance: last year's results, this year's targets and the open pipeline.

Pure functions over a :class:`simlib.data.Dataset`; the command line prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simlib.data.io import Dataset
from simlib.data.schema import OPEN_STAGES


@dataclass(frozen=True)
class Overview:
    """The plan summary: every table is computed from the data, nothing is fixed."""

    company: str
    as_of: pd.Timestamp
    last_year: int
    results_by_region: pd.DataFrame  # region, won, target, attainment (last full year)
    ytd_by_region: pd.DataFrame  # region, won, target (full year), attainment so far
    pipeline_by_stage: pd.DataFrame  # stage, deals, amount, weighted
    headcount: pd.DataFrame  # region, teams, reps, new_hires


def _region_of_rep(data: Dataset) -> pd.Series:
    org = data.org.set_index("node_id")
    parent = org["parent_id"]
    level = org["level"]

    def region(node):
        seen = 0
        while node is not None and node in level.index and level[node] != "region" and seen < 20:
            node = parent[node]
            seen += 1
        return (
            node if node is not None and node in level.index and level[node] == "region" else None
        )

    reps = data.reps.set_index("rep_id")
    return reps["team_id"].map(region)


def _region_names(data: Dataset, lang: str) -> dict:
    org = data.org
    col = "name_zh" if lang == "zh-CN" and org["name_zh"].notna().all() else "name"
    return dict(zip(org["node_id"], org[col]))


def build_overview(data: Dataset, lang: str = "en") -> Overview:
    """Summarise a dataset: last full year by region, year to date, open pipeline."""
    as_of = pd.Timestamp(data.as_of)
    last_year = as_of.year - 1
    opp = data.opportunities
    won = opp[opp["stage"] == "won"].copy()
    region = _region_of_rep(data)
    won["region"] = won["owner_id"].map(region).fillna("(none)")
    names = _region_names(data, lang)

    def won_in(year):
        w = won[won["close_date"].dt.year == year]
        if year == as_of.year:
            w = w[w["close_date"] <= as_of]
        return w.groupby("region")["amount"].sum()

    targets = data.targets
    region_targets = targets[(targets["level"] == "region") & (targets["metric"] == "revenue")]

    def frame(year):
        w = won_in(year)
        t = region_targets[region_targets["period"] == str(year)].set_index("owner_id")["amount"]
        regions = sorted(set(w.index) | set(t.index))
        df = pd.DataFrame({"region": regions})
        df["name"] = df["region"].map(names).fillna(df["region"])
        df["won"] = df["region"].map(w).fillna(0.0)
        df["target"] = df["region"].map(t)
        df["attainment"] = df["won"] / df["target"]
        total = pd.DataFrame(
            {
                "region": ["TOTAL"],
                "name": ["Total" if lang == "en" else "合计"],
                "won": [df["won"].sum()],
                "target": [df["target"].sum(min_count=1)],
            }
        )
        total["attainment"] = total["won"] / total["target"]
        return pd.concat([df, total], ignore_index=True)

    open_ = opp[opp["stage"].isin(OPEN_STAGES)]
    prob = open_["probability"].fillna(0.0)
    pipe = (
        open_.assign(weighted=open_["amount"] * prob)
        .groupby("stage")
        .agg(
            deals=("opportunity_id", "size"), amount=("amount", "sum"), weighted=("weighted", "sum")
        )
        .reindex(list(OPEN_STAGES))
        .fillna(0)
        .reset_index()
    )
    reps = data.reps[data.reps["role"] == "rep"].copy()
    active = reps["leave_date"].isna() | (reps["leave_date"] > as_of)
    reps = reps[active]
    reps["region"] = reps["rep_id"].map(region)
    reps["new_hire"] = reps["hire_date"] > as_of - pd.DateOffset(months=12)
    head = (
        reps.groupby("region")
        .agg(teams=("team_id", "nunique"), reps=("rep_id", "size"), new_hires=("new_hire", "sum"))
        .reset_index()
    )
    head["name"] = head["region"].map(names).fillna(head["region"])
    company = data.org.loc[data.org["level"] == "company"]
    cname = names.get(company["node_id"].iloc[0]) if len(company) else data.source
    return Overview(
        company=cname,
        as_of=as_of,
        last_year=last_year,
        results_by_region=frame(last_year),
        ytd_by_region=frame(as_of.year),
        pipeline_by_stage=pipe,
        headcount=head,
    )

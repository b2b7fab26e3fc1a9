"""The target workshop's allocation as people read it: the tables, the headline, the
wall, the SMART failures and the funnel check (SPEC R1-R5, R18).

Used by the workshop app (:mod:`simlib.apps.target_workshop`) and the director's
handout template (``notebooks/reports/target_workshop_summary.ipynb``) alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simlib.display import Markdown
from simlib.i18n import escape_md as _md
from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.plots import target_wall
from simlib.targets import Allocation
from simlib.targets.scenario import compare_scenarios

__all__ = [
    "LEVELS",
    "WALL_METRICS",
    "allocation_table",
    "compare_allocations",
    "funnel_check",
    "gap_table",
    "headline",
    "headline_markdown",
    "quarter_split",
    "smart_failures",
    "wall_data",
    "wall_figure",
]

LEVELS = ("company", "region", "team", "rep")
WALL_METRICS = ("last_year", "probability", "forecast")

_WALL_TITLE = {
    ("last_year", "en"): "Target wall: base-year bookings vs new target",
    ("last_year", "zh-CN"): "目标墙：基准年成交 / 新目标",
    ("probability", "en"): "Target wall: probability of attainment",
    ("probability", "zh-CN"): "目标墙：达成概率",
    ("forecast", "en"): "Target wall: forecast (P50) vs target",
    ("forecast", "zh-CN"): "目标墙：预测中位数 / 目标",
}


def _subtree(alloc: Allocation, under: str | None) -> set[str] | None:
    """``under`` and every node below it (None: everything)."""
    if not under:
        return None
    nodes = alloc.nodes
    if under not in set(nodes["node_id"]):
        raise ValueError(f"{under!r} is not a node of the allocation")
    keep = {under}
    frontier = [under]
    parent = nodes["parent_id"].to_numpy(dtype=object)
    ids = nodes["node_id"].to_numpy(dtype=object)
    while frontier:
        kids = [i for i, p in zip(ids, parent) if p in frontier]
        keep.update(kids)
        frontier = kids
    return keep


def _display_name(df: pd.DataFrame, lang: str) -> list[str]:
    if lang == "zh-CN" and "name_zh" in df.columns:
        return [z if isinstance(z, str) and z else n for z, n in zip(df["name_zh"], df["name"])]
    return df["name"].tolist()


def allocation_table(
    alloc: Allocation,
    levels: Sequence[str] = ("company", "region", "team"),
    under: str | None = None,
) -> pd.DataFrame:
    """The allocation table (:meth:`Allocation.to_frame`) for ``levels``, optionally only
    the nodes at or below ``under`` (a region or team id)."""
    df = alloc.to_frame()
    df = df[df["level"].isin(list(levels))]
    keep = _subtree(alloc, under)
    if keep is not None:
        df = df[df["node_id"].isin(keep)]
    return df.reset_index(drop=True)


def headline(alloc: Allocation) -> dict[str, float]:
    """The numbers a room looks at first.

    company_target, last_year, growth, p_company_forecast (pipeline as it stands),
    p_company_if_reps_on_quota, over_assignment_total, uplift_for_confidence,
    rep_quota_total, smart_failures / smart_targets (targets failing a letter),
    leads_short_months (team-months whose required leads exceed the marketing floor).
    """
    r = alloc.risk.set_index("measure")["value"]
    root = alloc.nodes.iloc[0]
    smart = alloc.smart
    ft = alloc.funnel_teams
    return {
        "company_target": float(alloc.company_target),
        "last_year": float(root["last_year"]),
        "growth": float(root["growth"]),
        "p_company_forecast": float(r["p_company_forecast"]),
        "p_company_if_reps_on_quota": float(r["p_company_if_reps_on_quota"]),
        "over_assignment_total": float(r["over_assignment_total"]),
        "uplift_for_confidence": float(r["uplift_for_confidence"]),
        "rep_quota_total": float(r["rep_quota_total"]),
        "smart_failures": int((smart["fails"] != "").sum()),
        "smart_targets": int(len(smart)),
        "leads_short_months": int(ft["above_floor"].sum()) if len(ft) else 0,
    }


def headline_markdown(alloc: Allocation, lang: str = "en") -> Markdown:
    """The handout's first line: the scenario's name and year, the company target and
    its growth on the base year (the scenario's name escaped: it is text from a file)."""
    h = headline(alloc)
    s = alloc.scenario
    if lang == "zh-CN":
        figure = f"公司目标 {h['company_target'] / 1e4:,.0f}万（较基准年 {h['growth']:+.1%}）"
    else:
        figure = f"company target {h['company_target']:,.0f} ({h['growth']:+.1%} on the base year)"
    return Markdown(f"**{_md(s.name)}** — {_md(s.year)}: {figure}")


def gap_table(
    alloc: Allocation,
    levels: Sequence[str] = ("company", "region", "team"),
    under: str | None = None,
) -> pd.DataFrame:
    """Top-down vs bottom-up, per node.

    ``top_down`` is the cascade's number, ``target`` the final one (the consensus with
    the commits when the scenario has commits), ``bottom_up`` the simulated median
    (P50) of what the pipeline and run-rate deliver; ``gap = target − bottom_up`` (>0:
    the target asks more than the forecast), ``gap_pct = gap / bottom_up``.
    """
    n = alloc.nodes
    n = n[n["level"].isin(list(levels))]
    keep = _subtree(alloc, under)
    if keep is not None:
        n = n[n["node_id"].isin(keep)]
    out = (
        n[["level", "node_id", "name", "name_zh", "top_down", "target", "p50", "p_attain"]]
        .rename(columns={"p50": "bottom_up"})
        .reset_index(drop=True)
    )
    out["gap"] = out["target"] - out["bottom_up"]
    out["gap_pct"] = np.divide(
        out["gap"].to_numpy(float),
        out["bottom_up"].to_numpy(float),
        out=np.full(len(out), np.nan),
        where=out["bottom_up"].to_numpy(float) > 0,
    )
    return out


def smart_failures(
    alloc: Allocation, lang: str = "en", levels: Sequence[str] = LEVELS
) -> pd.DataFrame:
    """Targets failing a SMART letter: owner, level, period, amount, p_attain, fails, why."""
    s = alloc.smart
    s = s[(s["fails"] != "") & s["level"].isin(list(levels))]
    why = "why_zh" if lang == "zh-CN" else "why_en"
    return (
        s[["owner_id", "level", "period", "amount", "p_attain", "fails", why]]
        .rename(columns={why: "why"})
        .reset_index(drop=True)
    )


def quarter_split(
    alloc: Allocation, levels: Sequence[str] = ("company", "region", "team")
) -> pd.DataFrame:
    """Each node's year and quarters, with each quarter's share of the year."""
    df = allocation_table(alloc, levels)
    out = df[["level", "node_id", "name", "name_zh", "target", "Q1", "Q2", "Q3", "Q4"]].copy()
    for q in ("Q1", "Q2", "Q3", "Q4"):
        out[f"{q}_share"] = out[q] / out["target"]
    return out


def funnel_check(alloc: Allocation) -> pd.DataFrame:
    """Marketing-lead check per team: months needing more qualified leads than the
    floor, the peak month's leads and the year's total."""
    ft = alloc.funnel_teams
    if not len(ft):
        return pd.DataFrame(
            columns=["team_id", "months_above_floor", "peak_leads", "lead_floor", "leads_year"]
        )
    g = ft.groupby("team_id", sort=True)
    return pd.DataFrame(
        {
            "months_above_floor": g["above_floor"].sum().astype(int),
            "peak_leads": g["leads_required"].max(),
            "lead_floor": g["lead_floor"].max(),
            "leads_year": g["leads_required"].sum(),
        }
    ).reset_index()


def wall_data(
    alloc: Allocation, metric: str = "last_year", under: str | None = None, lang: str = "en"
) -> pd.DataFrame:
    """The target wall's bars: the teams (or a region's teams, or a team's reps).

    metric ``last_year``: base-year bookings against the new target (how much of it
    was already done last year); ``probability``: the probability of attainment
    (bar = p); ``forecast``: simulated P50 against the target.
    Columns: node_id, name, actual, target.
    """
    if metric not in WALL_METRICS:
        raise ValueError(f"metric must be one of {', '.join(WALL_METRICS)}; got {metric!r}")
    n = alloc.nodes
    level = "team"
    if under:
        lv = n.loc[n["node_id"] == under, "level"]
        if lv.empty:
            raise ValueError(f"{under!r} is not a node of the allocation")
        level = "rep" if lv.iloc[0] in ("team", "rep") else "team"
        if lv.iloc[0] == "rep":
            under = n.loc[n["node_id"] == under, "parent_id"].iloc[0]
    rows = n[n["level"] == level]
    keep = _subtree(alloc, under)
    if keep is not None:
        rows = rows[rows["node_id"].isin(keep)]
    if metric == "last_year":
        actual, target = rows["last_year"].to_numpy(float), rows["target"].to_numpy(float)
    elif metric == "probability":
        actual, target = rows["p_attain"].to_numpy(float), np.ones(len(rows))
    else:
        actual, target = rows["p50"].to_numpy(float), rows["target"].to_numpy(float)
    return pd.DataFrame(
        {
            "node_id": rows["node_id"].to_numpy(),
            "name": _display_name(rows, lang),
            "actual": np.nan_to_num(actual),
            "target": target,
        }
    )


def wall_figure(
    alloc: Allocation,
    metric: str = "last_year",
    under: str | None = None,
    lang: str = "en",
    ax=None,
):
    """:func:`simlib.plots.target_wall` of :func:`wall_data`."""
    d = wall_data(alloc, metric, under, lang)
    labels = [_plot_text(f"{i} {n}") for i, n in zip(d["node_id"], d["name"])]
    return target_wall(
        labels, d["actual"], d["target"], title=_WALL_TITLE[(metric, lang)], lang=lang, ax=ax
    )


def compare_allocations(
    a: Allocation, b: Allocation, levels: Sequence[str] = ("company", "region", "team")
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two allocations side by side: (per-node targets and probabilities, changed
    parameters), both from :func:`simlib.targets.scenario.compare_scenarios`."""
    nodes = compare_scenarios(a, b)
    nodes = nodes[nodes["level"].isin(list(levels))].reset_index(drop=True)
    params = compare_scenarios(a.scenario, b.scenario)
    params = params[params["changed"] & ~params["path"].isin(["name", "description"])]
    return nodes, params.drop(columns="changed").reset_index(drop=True)

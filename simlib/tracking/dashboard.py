"""Dashboard metrics for any period and any node, with pace (SPEC R6, R18).

One call gives a tidy frame, one row per node (and per drill-down value):

>>> from simlib.data import load_demo                                # doctest: +SKIP
>>> metrics(load_demo(), "2026-10", level="rep", within="T-SH")      # doctest: +SKIP

Definitions (all point in time: only what was known by the evaluation day ``as_of``)

=====================  ==================================================================
``revenue``            won opportunities' amount by close date
``target``             the revenue target of the whole period, spread by working days
``expected``           the target of the period's working days up to ``as_of`` (pace)
``attainment``         revenue / target
``pace_attainment``    revenue / expected; "behind pace" means below 0.8 of it
``billed``             invoices falling due in the period (to ``as_of``)
``collected``          payments received on those invoices by ``as_of``
``collection_rate``    collected / billed (cash received / amount billed and due)
``new_customers``      distinct customers won on a ``new_customer`` deal
``win_rate``           deals won / deals closed (won + lost)
``visits``             customer visits; ``qualified_visits`` those rated at least the
                       bar (``visit_rating_bar`` in ``params/scorecard.yaml``); an
                       unrated visit never qualifies
``leads``              leads created in the period; ``leads_converted`` those converted
                       by ``as_of``; ``lead_conversion`` = converted / created (a
                       young cohort is still maturing: compare like with like)
``proposals``          proposals submitted; ``proposals_accepted``;
                       ``proposal_acceptance`` = accepted / decided
``support``            cross-region support activities (teamwork)
``nps``                % promoters (9-10) - % detractors (0-6), ``nps_responses``
=====================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from simlib.periods import as_window
from simlib.tracking.facts import LEVELS, DataLike, Facts, prepare, spread_targets, window_rows

__all__ = [
    "COUNTS",
    "RATIOS",
    "DIMENSIONS",
    "metrics",
    "target_wall",
    "trend",
    "key_account_status",
    "key_account_followup",
    "pace_status",
    "rank_alerts",
    "SEVERITIES",
]

#: Additive components, summed over facts.
COUNTS: tuple[str, ...] = (
    "revenue",
    "deals_won",
    "new_customers",
    "deals_lost",
    "pipeline_created",
    "deals_created",
    "billed",
    "collected",
    "visits",
    "qualified_visits",
    "leads",
    "qualified_leads",
    "leads_converted",
    "proposals",
    "proposals_accepted",
    "proposals_decided",
    "support",
    "nps_responses",
    "promoters",
    "detractors",
)

#: Ratios: name → (numerator, denominator, scale).
RATIOS: dict[str, tuple[str, str, float]] = {
    "attainment": ("revenue", "target", 1.0),
    "pace_attainment": ("revenue", "expected", 1.0),
    "collection_rate": ("collected", "billed", 1.0),
    "win_rate": ("deals_won", "_closed", 1.0),
    "lead_conversion": ("leads_converted", "leads", 1.0),
    "proposal_acceptance": ("proposals_accepted", "proposals_decided", 1.0),
}

#: Drill-down dimensions besides the org tree, and the fact tables that carry them.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "product_line": ("won", "lost", "created", "invoices", "payments", "proposals"),
    "customer_type": (
        "won",
        "lost",
        "created",
        "invoices",
        "payments",
        "proposals",
        "visits",
        "leads",
        "nps",
    ),
    "deal_type": ("won", "lost", "created"),
    "lead_source": ("won", "lost", "created"),
}

_TIME = ("week", "month", "quarter")


def _rep_node(f: Facts, level: str) -> pd.Series:
    """rep_id → the node at ``level`` it rolls up to."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    r = f.reps.set_index("rep_id")
    if level == "rep":
        return pd.Series(r.index, index=r.index)
    return r[f"{level}_id"]


def _groups(f: Facts, node_ids: Sequence[str], level: str, members) -> np.ndarray:
    """For each rep code (and -1 for an unknown rep, last): the row of its node, or -1."""
    node_of = _rep_node(f, level).to_numpy()
    pos = {n: i for i, n in enumerate(node_ids)}
    out = np.array([pos.get(n, -1) for n in node_of] + [-1], dtype=np.int64)
    if members is not None:
        keep = np.append(f.reps["rep_id"].isin(members).to_numpy(), False)
        out[~keep] = -1
    return out


def _components(
    f: Facts,
    start: pd.Timestamp,
    end: pd.Timestamp,
    upto: pd.Timestamp,
    group_of: np.ndarray,
    n: int,
) -> dict[str, np.ndarray]:
    """Every additive component per group for facts dated in ``[start, min(end, upto)]``.

    ``group_of[rep_code]`` is the group row of each rep (-1: not counted).
    """
    u = min(end, upto)
    out: dict[str, np.ndarray] = {}

    def take(df, col="date"):
        d = window_rows(df, start, u, col)
        g = group_of[d["rep_code"].to_numpy()]
        ok = g >= 0
        return d[ok], g[ok]

    def count(g, mask=None):
        if mask is not None:
            g = g[np.asarray(mask, dtype=bool)]
        return np.bincount(g, minlength=n).astype(float)

    def total(g, w):
        return np.bincount(g, weights=np.asarray(w, dtype=float), minlength=n)

    won, g = take(f.won)
    out["revenue"] = total(g, won["amount"])
    out["deals_won"] = count(g)
    nc = (won["deal_type"] == "new_customer").to_numpy()
    pairs = pd.DataFrame({"g": g[nc], "c": won["customer_id"].to_numpy()[nc]}).drop_duplicates()
    out["new_customers"] = count(pairs["g"].to_numpy())
    _, g = take(f.lost)
    out["deals_lost"] = count(g)
    cr, g = take(f.created)
    out["pipeline_created"] = total(g, cr["amount"])
    out["deals_created"] = count(g)
    inv, g = take(f.invoices, "due_date")
    out["billed"] = total(g, inv["amount"])
    pay, g = take(f.payments, "due_date")
    paid = (pay["date"] <= u).to_numpy()
    out["collected"] = total(g[paid], pay["amount"].to_numpy()[paid])
    vis, g = take(f.visits)
    out["visits"] = count(g)
    out["qualified_visits"] = count(g, vis["qualified"].to_numpy())
    leads, g = take(f.leads)
    out["leads"] = count(g)
    out["qualified_leads"] = count(g, leads["qualified"].fillna(False).to_numpy(dtype=bool))
    out["leads_converted"] = count(g, (leads["converted_date"] <= u).to_numpy())
    prop, g = take(f.proposals)
    acc = prop["accepted"]
    out["proposals"] = count(g)
    out["proposals_accepted"] = count(g, acc.fillna(False).to_numpy(dtype=bool))
    out["proposals_decided"] = count(g, acc.notna().to_numpy())
    _, g = take(f.support)
    out["support"] = count(g)
    nps, g = take(f.nps)
    score = nps["score"].to_numpy(dtype=float)
    out["nps_responses"] = count(g)
    out["promoters"] = count(g, score >= 9)
    out["detractors"] = count(g, score <= 6)
    return out


def _components_by(
    f: Facts, start, end, upto, node_of: pd.Series, dims: Sequence[str], members
) -> pd.DataFrame:
    """Components per (node, *dims); facts that lack a dimension give NaN."""
    u = min(end, upto)
    keys = ["node_id", *dims]

    def take(df, name, col="date"):
        if any(name not in DIMENSIONS[d] for d in dims):
            return None  # this fact cannot be split by the dimension
        d = window_rows(df, start, u, col)
        if members is not None:
            d = d[d["rep_id"].isin(members)]
        d = d.assign(node_id=d["rep_id"].map(node_of))
        return d[d["node_id"].notna()]

    def size(df):
        return df.groupby(keys, sort=False).size().astype(float)

    def sum_(df, col):
        return df.groupby(keys, sort=False)[col].sum().astype(float)

    parts: dict[str, pd.Series] = {}
    won = take(f.won, "won")
    if won is not None:
        parts["revenue"] = sum_(won, "amount")
        parts["deals_won"] = size(won)
        nc = won[won["deal_type"] == "new_customer"]
        parts["new_customers"] = nc.groupby(keys, sort=False)["customer_id"].nunique().astype(float)
    lost = take(f.lost, "lost")
    if lost is not None:
        parts["deals_lost"] = size(lost)
    cr = take(f.created, "created")
    if cr is not None:
        parts["pipeline_created"] = sum_(cr, "amount")
        parts["deals_created"] = size(cr)
    inv = take(f.invoices, "invoices", "due_date")
    if inv is not None:
        parts["billed"] = sum_(inv, "amount")
    pay = take(f.payments, "payments", "due_date")
    if pay is not None:
        parts["collected"] = sum_(pay[pay["date"] <= u], "amount")
    vis = take(f.visits, "visits")
    if vis is not None:
        parts["visits"] = size(vis)
        parts["qualified_visits"] = size(vis[vis["qualified"]])
    leads = take(f.leads, "leads")
    if leads is not None:
        parts["leads"] = size(leads)
        parts["qualified_leads"] = size(leads[leads["qualified"].fillna(False).astype(bool)])
        parts["leads_converted"] = size(leads[leads["converted_date"] <= u])
    prop = take(f.proposals, "proposals")
    if prop is not None:
        acc = prop["accepted"]
        parts["proposals"] = size(prop)
        parts["proposals_accepted"] = size(prop[acc.fillna(False).astype(bool)])
        parts["proposals_decided"] = size(prop[acc.notna()])
    sup = take(f.support, "support")
    if sup is not None:
        parts["support"] = size(sup)
    nps = take(f.nps, "nps")
    if nps is not None:
        parts["nps_responses"] = size(nps)
        parts["promoters"] = size(nps[nps["score"] >= 9])
        parts["detractors"] = size(nps[nps["score"] <= 6])
    frames = [v.rename(k) for k, v in parts.items() if len(v)]
    if frames:
        out = pd.concat(frames, axis=1)
        out.index = out.index.set_names(keys)
        out = out.reset_index()
    else:
        out = pd.DataFrame(columns=keys)
    for c in COUNTS:
        if c not in parts:
            out[c] = np.nan
        elif c not in out.columns:
            out[c] = 0.0
        else:
            out[c] = out[c].fillna(0.0)
    return out


def _targets_for(
    f: Facts, node_ids: Sequence[str], level: str, start, end, upto
) -> tuple[np.ndarray, np.ndarray]:
    """``target`` and ``expected`` per node: its own target rows, else the sum of its
    children's (a team without rows: its active reps'; a region: its teams'; ...)."""
    own = spread_targets(f, start, end, upto)
    target = dict(zip(own["owner_id"], own["target"]))
    expected = dict(zip(own["owner_id"], own["expected"]))
    if level != "rep":
        active = set(f.sellers(start, end)["rep_id"])
        nodes = f.nodes
        for lv in ("team", "region", "company"):
            child = LEVELS[LEVELS.index(lv) + 1]
            kids = nodes[nodes["level"] == child]
            if child == "rep":
                kids = kids[kids["node_id"].isin(active)]
            for node in nodes.loc[nodes["level"] == lv, "node_id"]:
                if node in target:
                    continue
                ids = [k for k in kids.loc[kids["parent_id"] == node, "node_id"] if k in target]
                if ids:
                    target[node] = float(sum(target[k] for k in ids))
                    expected[node] = float(sum(expected[k] for k in ids))
            if lv == level:
                break
    t = np.array([target.get(n, np.nan) for n in node_ids], dtype=float)
    x = np.array([expected.get(n, np.nan) for n in node_ids], dtype=float)
    return t, x


def pace_status(pace_attainment, behind_below: float = 0.8, expected=None):
    """``ahead`` (>= 1), ``on_pace`` (>= behind_below), ``behind``; ``not_started`` when
    nothing is expected yet (no working day of the period has passed), ``no_target``."""
    p = np.asarray(pace_attainment, dtype=float)
    out = np.where(p >= 1.0, "ahead", np.where(p >= behind_below, "on_pace", "behind"))
    out = np.where(np.isnan(p), "no_target", out)
    if expected is not None:
        x = np.asarray(expected, dtype=float)
        out = np.where(np.isnan(p) & (x == 0), "not_started", out)
    return out


def _finish(df: pd.DataFrame, behind_below: float = 0.8) -> pd.DataFrame:
    df = df.copy()
    df["_closed"] = df["deals_won"] + df["deals_lost"]
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, (num, den, scale) in RATIOS.items():
            d = df[den].astype(float)
            df[name] = np.where(d > 0, df[num].astype(float) / d.where(d > 0, 1.0) * scale, np.nan)
        r = df["nps_responses"].astype(float)
        df["nps"] = np.where(
            r > 0, 100.0 * (df["promoters"] - df["detractors"]) / r.where(r > 0, 1.0), np.nan
        )
    df["status"] = pace_status(df["pace_attainment"], behind_below, df["expected"])
    return df.drop(columns="_closed")


def _as_list(by) -> list[str]:
    if by is None:
        return []
    by = [by] if isinstance(by, str) else list(by)
    for b in by:
        if b not in DIMENSIONS and b not in _TIME:
            raise ValueError(f"by must name {', '.join([*DIMENSIONS, *_TIME])}; got {b!r}")
    if sum(b in _TIME for b in by) > 1:
        raise ValueError(f"by may hold at most one of {', '.join(_TIME)}; got {by}")
    return by


def _buckets(f: Facts, start, end, freq: str) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    if freq == "week":
        weeks = f.calendar.working_weeks(start, end)
        return [(r.week, max(r.start, start), min(r.end, end)) for r in weeks.itertuples()]
    code = {"month": "MS", "quarter": "QS"}[freq]
    first = start.to_period("M" if freq == "month" else "Q").start_time
    out = []
    for b in pd.date_range(first, end, freq=code):
        e = (
            b + (pd.offsets.MonthEnd(0) if freq == "month" else pd.offsets.QuarterEnd(0))
        ).normalize()
        label = (
            f"{b.year}-{b.month:02d}" if freq == "month" else f"{b.year}-Q{(b.month - 1) // 3 + 1}"
        )
        out.append((label, max(b, start), min(e, end)))
    return out


def metrics(
    data: DataLike,
    period,
    *,
    level: str = "team",
    within: str | None = None,
    by=None,
    as_of=None,
    behind_below: float = 0.8,
) -> pd.DataFrame:
    """Results, process and pace metrics per node for a period.

    Parameters
    ----------
    data : Dataset or Facts
    period : str, tuple or Window
        ``2026``, ``2026-Q4``, ``2026-10``, ``2026-W45``, ``2026-10-01..2026-10-09`` or
        ``(start, end)``.
    level : {"company", "region", "team", "rep"}
        The rows: one per node of this level.
    within : str, optional
        Only nodes at or below this org node (a region, team or rep id).
    by : str or list of str, optional
        Drill down further: ``product_line``, ``customer_type``, ``deal_type``,
        ``lead_source`` and/or one of ``week``, ``month``, ``quarter`` (the period's
        weeks, months or quarters, each with its own target and pace). Metrics that a
        split does not apply to (visits by product line, targets by customer type) are
        NaN.
    as_of : date-like, optional
        The evaluation day (default: the data's ``as_of``); the period is measured
        to this day and pace is the share of its working days passed by then.
    behind_below : float
        ``status`` is ``behind`` below this pace attainment (default 0.8).

    Returns
    -------
    DataFrame
        ``period, start, end, level, node_id, name, name_zh, parent_id`` (+ drill-down
        columns), ``working_days, working_days_elapsed, pace``, the counts of
        :data:`COUNTS`, ``target, expected`` and the ratios ``attainment,
        pace_attainment, collection_rate, win_rate, lead_conversion,
        proposal_acceptance, nps``, and ``status``.
    """
    f = prepare(data)
    win = as_window(period)
    upto = pd.Timestamp(as_of).normalize() if as_of is not None else f.as_of
    if upto > f.as_of:
        upto = f.as_of
    dims = _as_list(by)
    freq = next((b for b in dims if b in _TIME), None)
    dims = [b for b in dims if b not in _TIME]
    node_of = _rep_node(f, level)
    members = f.members(within) if within is not None else None

    nodes = f.nodes[f.nodes["level"] == level]
    if members is not None:
        if level == "rep":
            nodes = nodes[nodes["node_id"].isin(members)]
        else:
            nodes = nodes[
                nodes["node_id"].isin(set(node_of.reindex(members).dropna()))
                | (nodes["node_id"] == within)
            ]
    nodes = nodes.reset_index(drop=True)
    ids = nodes["node_id"].tolist()
    group_of = _groups(f, ids, level, members) if not dims else None
    buckets = _buckets(f, win.start, win.end, freq) if freq else [(win.label, win.start, win.end)]
    cal = f.calendar
    frames = []
    for label, s, e in buckets:
        base = nodes[["node_id", "name", "name_zh", "parent_id"]]
        if dims:
            comp = _components_by(f, s, e, upto, node_of, dims, members)
            rows = base.merge(comp, on="node_id", how="inner")
            rows["target"] = np.nan
            rows["expected"] = np.nan
        else:
            comp = _components(f, s, e, upto, group_of, len(ids))
            rows = base.assign(**comp)
            rows["target"], rows["expected"] = _targets_for(f, ids, level, s, e, upto)
            if level == "rep":  # people who were employed as reps, or have facts in the window
                active = nodes["node_id"].isin(set(f.sellers(s, e)["rep_id"]))
                has = rows[list(COUNTS)].sum(axis=1) > 0
                rows = rows[active.to_numpy() | has.to_numpy() | rows["target"].notna().to_numpy()]
        wd = cal.working_days_between(s, e)
        el = cal.working_days_between(s, min(upto, e)) if upto >= s else 0
        rows.insert(0, "period", label)
        rows.insert(1, "start", s)
        rows.insert(2, "end", e)
        rows.insert(3, "level", level)
        rows["working_days"] = wd
        rows["working_days_elapsed"] = el
        rows["pace"] = el / wd if wd else np.nan
        frames.append(rows)
    out = pd.concat(frames, ignore_index=True)
    out = _finish(out, behind_below)
    lead = [
        "period",
        "start",
        "end",
        "level",
        "node_id",
        "name",
        "name_zh",
        "parent_id",
        *dims,
        "working_days",
        "working_days_elapsed",
        "pace",
    ]
    ratio_cols = [*RATIOS, "nps"]
    cols = lead + [
        "revenue",
        "target",
        "expected",
        *[c for c in COUNTS if c != "revenue"],
        *ratio_cols,
        "status",
    ]
    return out[cols].sort_values(["start", "node_id", *dims], kind="stable").reset_index(drop=True)


def target_wall(
    data: DataLike, period, *, as_of=None, within: str | None = None, behind_below: float = 0.8
) -> pd.DataFrame:
    """The target wall (SPEC R18): every team's and rep's actual vs target vs pace.

    A tidy frame for a progress-bar plot: one row per team and per rep (teams first,
    each followed by its reps in descending attainment).

    Returns
    -------
    DataFrame
        ``level, node_id, name, name_zh, team_id, team_name, actual, target, expected,
        attainment, pace_attainment, pace, status, order``. ``pace`` is the share of
        the period's working days passed: where the pace marker sits on the bar.
    """
    f = prepare(data)
    teams = metrics(f, period, level="team", within=within, as_of=as_of, behind_below=behind_below)
    reps = metrics(f, period, level="rep", within=within, as_of=as_of, behind_below=behind_below)
    reps = reps[reps["target"].notna() | (reps["revenue"] > 0)]
    teams = teams.assign(team_id=teams["node_id"], team_name=teams["name"])
    team_names = dict(zip(teams["node_id"], teams["name"]))
    reps = reps.assign(team_id=reps["parent_id"], team_name=reps["parent_id"].map(team_names))
    cols = [
        "level",
        "node_id",
        "name",
        "name_zh",
        "team_id",
        "team_name",
        "revenue",
        "target",
        "expected",
        "attainment",
        "pace_attainment",
        "pace",
        "status",
    ]
    parts = []
    for t in teams.sort_values("attainment", ascending=False).itertuples():
        parts.append(teams.loc[teams["node_id"] == t.node_id, cols])
        parts.append(
            reps.loc[reps["team_id"] == t.node_id, cols].sort_values("attainment", ascending=False)
        )
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out = out.rename(columns={"revenue": "actual"})
    out["order"] = np.arange(len(out))
    return out


def trend(
    data: DataLike,
    metric: str | Iterable[str] = "revenue",
    *,
    freq: str = "week",
    periods: int = 8,
    level: str = "team",
    within: str | None = None,
    as_of=None,
) -> pd.DataFrame:
    """Week-over-week or month-over-month change of metrics (SPEC R6 trend).

    Parameters
    ----------
    metric : str or list of str
        Columns of :func:`metrics` (``revenue``, ``qualified_visits``,
        ``lead_conversion``, ...).
    freq : {"week", "month", "quarter"}
        Working weeks (a whole-week holiday is folded into the next week) or calendar
        months / quarters.
    periods : int
        How many buckets back from the one holding ``as_of`` (included).

    Returns
    -------
    DataFrame
        Long: ``node_id, name, metric, period, start, end, working_days,
        working_days_elapsed, value, previous, change, pct_change, per_working_day``
        and, for the unfinished last bucket, ``previous_to_date`` — the previous
        bucket over the same number of working days — and ``change_to_date``.
    """
    if freq not in _TIME:
        raise ValueError(f"freq must be one of {', '.join(_TIME)}; got {freq!r}")
    if int(periods) < 1:
        raise ValueError(f"periods must be at least 1; got {periods!r}")
    f = prepare(data)
    upto = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    names = [metric] if isinstance(metric, str) else list(metric)
    if freq == "week":
        weeks = f.calendar.working_weeks(upto - pd.Timedelta(days=7 * (periods + 8)), upto)
        weeks = weeks.iloc[-periods:]
        start = weeks["start"].iloc[0]
        end = weeks["end"].iloc[-1]
    else:
        p = upto.to_period("M" if freq == "month" else "Q")
        start = (p - (periods - 1)).start_time
        end = p.end_time.normalize()
    m = metrics(f, (start, end), level=level, within=within, by=freq, as_of=upto)
    for n in names:
        if n not in m.columns:
            raise ValueError(
                f"unknown metric {n!r}; expected a column of metrics(): "
                f"{', '.join(c for c in m.columns if c not in ('period', 'start', 'end'))}"
            )
    long = m.melt(
        id_vars=[
            "node_id",
            "name",
            "period",
            "start",
            "end",
            "working_days",
            "working_days_elapsed",
        ],
        value_vars=names,
        var_name="metric",
    )
    long = long.sort_values(["node_id", "metric", "start"]).reset_index(drop=True)
    g = long.groupby(["node_id", "metric"], sort=False)["value"]
    long["previous"] = g.shift(1)
    long["change"] = long["value"] - long["previous"]
    with np.errstate(invalid="ignore", divide="ignore"):
        long["pct_change"] = np.where(
            long["previous"].abs() > 0, long["change"] / long["previous"].abs(), np.nan
        )
        long["per_working_day"] = np.where(
            long["working_days_elapsed"] > 0, long["value"] / long["working_days_elapsed"], np.nan
        )
    # Like for like for the bucket still running: the previous bucket's first k working days.
    long["previous_to_date"] = np.nan
    last = long.groupby(["node_id", "metric"], sort=False).tail(1)
    running = last[last["working_days_elapsed"] < last["working_days"]]
    if len(running) and len(long["start"].unique()) > 1:
        starts = sorted(long["start"].unique())
        prev_start = pd.Timestamp(starts[-2])
        k = int(running["working_days_elapsed"].iloc[0])
        wd = f.calendar.working_days(prev_start, pd.Timestamp(starts[-1]) - pd.Timedelta(days=1))
        if k > 0 and len(wd):
            cut = wd[min(k, len(wd)) - 1]
            prev = metrics(f, (prev_start, cut), level=level, within=within, as_of=cut)
            prev = prev.melt(
                id_vars=["node_id"],
                value_vars=names,
                var_name="metric",
                value_name="previous_to_date",
            )
            idx = running.index
            merged = running[["node_id", "metric"]].merge(
                prev, on=["node_id", "metric"], how="left"
            )
            long.loc[idx, "previous_to_date"] = merged["previous_to_date"].to_numpy()
    long["change_to_date"] = long["value"] - long["previous_to_date"]
    return long


def key_account_status(
    data: DataLike, *, as_of=None, within: str | None = None, max_gap_days: int = 30
) -> pd.DataFrame:
    """Follow-up of each key account: last visit, days since, overdue.

    Parameters
    ----------
    max_gap_days : int
        A key account not visited for more than this many days is ``overdue``.

    Returns
    -------
    DataFrame
        ``customer_id, name, rep_id, team_id, last_visit, days_since_visit,
        visits_90d, open_pipeline, overdue``, most overdue first.
    """
    f = prepare(data)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    c = f.customers
    key = c[(c["customer_type"] == "key_account") & c["owner_id"].notna()]
    if within is not None:
        key = key[key["owner_id"].isin(f.members(within))]
    v = f.visits[f.visits["date"] <= t]
    last = v.groupby("customer_id")["date"].max()
    recent = v[v["date"] > t - pd.Timedelta(days=90)].groupby("customer_id").size()
    opp = f.created[(f.created["date"] <= t)]
    still_open = opp[(opp["close_date"].isna()) | (opp["close_date"] > t)]
    pipe = still_open.groupby("customer_id")["amount"].sum()
    team = dict(zip(f.reps["rep_id"], f.reps["team_id"]))
    out = pd.DataFrame(
        {
            "customer_id": key["customer_id"].to_numpy(),
            "name": key["name"].to_numpy(),
            "rep_id": key["owner_id"].to_numpy(),
        }
    )
    out["team_id"] = out["rep_id"].map(team)
    out["last_visit"] = out["customer_id"].map(last)
    out["days_since_visit"] = (t - out["last_visit"]).dt.days
    out["visits_90d"] = out["customer_id"].map(recent).fillna(0).astype(int)
    out["open_pipeline"] = out["customer_id"].map(pipe).fillna(0.0)
    out["overdue"] = out["days_since_visit"].isna() | (out["days_since_visit"] > max_gap_days)
    return out.sort_values(
        ["overdue", "days_since_visit"], ascending=[False, False], na_position="first"
    ).reset_index(drop=True)


def key_account_followup(
    data: DataLike,
    *,
    level: str = "rep",
    as_of=None,
    within: str | None = None,
    max_gap_days: int = 30,
) -> pd.DataFrame:
    """Key-account follow-up progress per node: the share visited in the last ``max_gap_days``.

    Returns
    -------
    DataFrame
        ``node_id, name, key_accounts, followed_up, overdue, coverage`` (followed up /
        key accounts).
    """
    f = prepare(data)
    st = key_account_status(f, as_of=as_of, within=within, max_gap_days=max_gap_days)
    node_of = _rep_node(f, level)
    st["node_id"] = st["rep_id"].map(node_of)
    g = st.groupby("node_id")
    out = pd.DataFrame({"key_accounts": g.size(), "overdue": g["overdue"].sum()})
    out["followed_up"] = out["key_accounts"] - out["overdue"]
    out["coverage"] = out["followed_up"] / out["key_accounts"]
    names = f.nodes.drop_duplicates("node_id").set_index("node_id")["name"]
    out = out.reset_index()
    out.insert(1, "name", out["node_id"].map(names))
    return out[["node_id", "name", "key_accounts", "followed_up", "overdue", "coverage"]]


#: Alert severities, most severe first.
SEVERITIES: tuple[str, ...] = ("high", "medium", "low")


def rank_alerts(
    alerts: pd.DataFrame,
    *,
    result_metrics: Iterable[str] = ("revenue",),
    process_weeks: int = 4,
) -> pd.DataFrame:
    """Alerts ranked by severity and grouped by person (what a manager reads first).

    ``shortfall`` is how far the value is below what the rule compares it with
    (``1 - ratio``: 0.6 means 60% below the pace expected or the team average).

    ==========  ==============================================================
    ``high``    a result (revenue) below half of what pace expects
    ``medium``  a result otherwise behind; or a process metric (visits,
                conversion) at least 50% below its reference for
                ``process_weeks`` weeks or more
    ``low``     any other alert
    ==========  ==============================================================

    Within a person the most severe (then the largest shortfall) comes first; people are
    ordered by their most severe alert, then by its shortfall.

    Returns
    -------
    DataFrame
        ``alerts`` with ``severity``, ``shortfall`` and ``person_rank`` (0 for the person
        to see first), sorted; the caller's frame is not changed.
    """
    a = alerts.copy()
    if a.empty:
        return a.assign(
            severity=pd.Series(dtype=object),
            shortfall=pd.Series(dtype=float),
            person_rank=pd.Series(dtype=np.int64),
        )
    ratio = pd.to_numeric(a["ratio"], errors="coerce").to_numpy(dtype=float)
    short = np.clip(1.0 - np.nan_to_num(ratio, nan=1.0), 0.0, 1.0)
    result = a["metric"].isin(set(result_metrics)).to_numpy()
    weeks = pd.to_numeric(a["weeks_active"], errors="coerce").fillna(0).to_numpy()
    rank = np.where(
        result,
        np.where(short > 0.5, 0, 1),
        np.where((short >= 0.5) & (weeks >= process_weeks), 1, 2),
    )
    a["severity"] = np.asarray(SEVERITIES, dtype=object)[rank]
    a["shortfall"] = short
    a["_rank"] = rank
    a = a.sort_values(
        ["_rank", "shortfall", "weeks_active"], ascending=[True, False, False], kind="stable"
    )
    first = a.groupby("rep_id", sort=False).cumcount() == 0
    order = {r: i for i, r in enumerate(a.loc[first, "rep_id"])}  # people by their worst alert
    a["person_rank"] = a["rep_id"].map(order).astype(np.int64)
    a = a.sort_values(
        ["person_rank", "_rank", "shortfall"], ascending=[True, True, False], kind="stable"
    )
    return a.drop(columns="_rank").reset_index(drop=True)

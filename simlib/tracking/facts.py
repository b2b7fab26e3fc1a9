"""The canonical tables joined once for tracking, and the targets spread over time.

Every tracking function accepts a :class:`simlib.data.Dataset` or the
:class:`Facts` built from it by :func:`prepare`; building once is worth it when a
notebook or the alert history asks many questions of the same data.

Each fact row carries the rep it belongs to and, through the rep, the team, region
and company (the org tree of the ``org`` table), plus the product line and customer
type where the source row knows them. Nothing after the data's ``as_of`` is kept.

Targets (:func:`spread_targets`) are stored per period (``2026``, ``2026-Q3``,
``2026-07``). The target of any window — a week, a month, the 1st to the 9th of
October — is each target row's amount spread over its working days
(:mod:`simlib.calendar`), using the finest granularity that covers the window. A rep's
row is spread only over the days the rep was employed, so a consultant hired on 5 June
owes all of a partial Q2 target in June, and none of it in April.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

import numpy as np
import pandas as pd

from simlib.calendar import WorkingCalendar, load_calendar
from simlib.config import ParamError, default_params_dir, load_yaml
from simlib.data.io import Dataset
from simlib.data.org import ancestors
from simlib.data.schema import TABLES
from simlib.periods import kind_of, parse_period

__all__ = ["Facts", "prepare", "spread_targets", "window_rows", "LEVELS", "DataLike"]

#: Levels of the org tree, top down; ``rep`` is below ``team``.
LEVELS: tuple[str, ...] = ("company", "region", "team", "rep")

DataLike = Union[Dataset, "Facts"]

_GRANULARITY = {"month": 0, "quarter": 1, "year": 2, "range": 3}


@dataclass(frozen=True)
class Facts:
    """Joined, dated facts of one company, cut at ``as_of``.

    Attributes
    ----------
    as_of : Timestamp
        The last day of data.
    calendar : WorkingCalendar
    visit_rating_bar : float
        A visit is *qualified* when its rating is at least this.
    nodes : DataFrame
        One row per org node and per person: ``node_id, level, name, name_zh,
        parent_id`` and the ancestors ``company_id, region_id, team_id``.
    reps : DataFrame
        People: ``rep_id, name, name_zh, role, team_id, region_id, company_id,
        hire_date, leave_date``.
    won, lost, created : DataFrame
        Opportunities won / lost (dated by ``date`` = close date) and created (dated
        by creation), with ``rep_id, customer_id, amount, product_line,
        customer_type, deal_type, lead_source``.
    visits, proposals, support : DataFrame
        Activities by type; visits carry ``rating`` and ``qualified``, proposals
        ``accepted`` (True/False/NA while undecided).
    leads : DataFrame
        Leads with ``date`` = creation, ``converted_date``, ``source``, ...
    invoices, payments : DataFrame
        Invoices (``due_date``, ``issue_date``, ``amount``) and payments joined to their
        invoice's rep and due date.
    nps : DataFrame
        Survey responses with ``score`` 0-10.
    targets : DataFrame
        Target rows with their parsed ``start``, ``end`` and ``granularity``.
    customers : DataFrame
    """

    as_of: pd.Timestamp
    calendar: WorkingCalendar
    visit_rating_bar: float
    nodes: pd.DataFrame
    reps: pd.DataFrame
    won: pd.DataFrame
    lost: pd.DataFrame
    created: pd.DataFrame
    visits: pd.DataFrame
    proposals: pd.DataFrame
    support: pd.DataFrame
    leads: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    nps: pd.DataFrame
    targets: pd.DataFrame
    customers: pd.DataFrame
    source: str = ""

    def __repr__(self) -> str:
        return (
            f"Facts({self.source!r}, as_of={self.as_of.date()}, {len(self.reps)} people, "
            f"{len(self.won):,} won deals, {len(self.leads):,} leads, "
            f"{len(self.visits):,} visits)"
        )

    def members(self, node_id: str | None) -> pd.Index:
        """Rep ids at or below ``node_id`` (every person when None)."""
        reps = self.reps
        if node_id is None:
            return pd.Index(reps["rep_id"])
        node_id = str(node_id)
        known = set(self.nodes["node_id"])
        if node_id not in known:
            import difflib

            close = difflib.get_close_matches(node_id, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown node {node_id!r}: not an org node or rep id{hint}")
        mask = (
            (reps["rep_id"] == node_id)
            | (reps["team_id"] == node_id)
            | (reps["region_id"] == node_id)
            | (reps["company_id"] == node_id)
        )
        return pd.Index(reps.loc[mask, "rep_id"])

    def sellers(self, start, end) -> pd.DataFrame:
        """People with role ``rep`` employed on some day of ``[start, end]``."""
        r = self.reps
        s, e = pd.Timestamp(start), pd.Timestamp(end)
        active = (r["hire_date"].isna() | (r["hire_date"] <= e)) & (
            r["leave_date"].isna() | (r["leave_date"] >= s)
        )
        return r[active & (r["role"] == "rep")]


def _table(data: Dataset, name: str) -> pd.DataFrame:
    """A canonical table, or an empty one with its columns when the data lack it."""
    df = data.tables.get(name)
    if df is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TABLES[name].column_names})
    return df


def _ancestors(org: pd.DataFrame) -> pd.DataFrame:
    """For each org node: its company, region and team ancestors (itself included).

    Raises ValueError for a node that is its own parent or a cycle (see
    :func:`simlib.data.org.ancestors`).
    """
    return ancestors(org, ("company", "region", "team"))


def _visit_rating_bar() -> float:
    """``visit_rating_bar`` of ``params/scorecard.yaml`` (4.0 when it cannot be read)."""
    try:
        scorecard = load_yaml(default_params_dir() / "scorecard.yaml")
        return float(scorecard.get("visit_rating_bar", 4.0))
    except (ParamError, AttributeError, TypeError, ValueError):
        return 4.0


def _period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    w = parse_period(period)
    kind = kind_of(period)
    return w.start, w.end, "range" if kind == "week" else kind


def prepare(
    data: DataLike, *, as_of=None, calendar=None, visit_rating_bar: float | None = None
) -> Facts:
    """Join the canonical tables once for tracking.

    Parameters
    ----------
    data : Dataset or Facts
        A Facts is returned as it is (or re-cut at an earlier ``as_of``).
    as_of : date-like, optional
        Keep facts dated on or before this day; defaults to ``data.as_of``.
    calendar : WorkingCalendar, CalendarParams or name, optional
        Defaults to the company's calendar (``params/calendar_cn.yaml``).
    visit_rating_bar : float, optional
        Defaults to ``visit_rating_bar`` of ``params/scorecard.yaml``.

    Returns
    -------
    Facts
    """
    if isinstance(data, Facts):
        facts = data
        if calendar is not None:
            facts = replace(facts, calendar=load_calendar(calendar))
        if visit_rating_bar is not None and visit_rating_bar != facts.visit_rating_bar:
            v = facts.visits.assign(qualified=facts.visits["rating"] >= float(visit_rating_bar))
            facts = replace(facts, visits=v, visit_rating_bar=float(visit_rating_bar))
        if as_of is not None and pd.Timestamp(as_of) < facts.as_of:
            facts = _cut(facts, pd.Timestamp(as_of))
        return facts
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a simlib Dataset or Facts; got {type(data).__name__}")
    cal = load_calendar(calendar)
    if visit_rating_bar is None:
        visit_rating_bar = _visit_rating_bar()
    cut = pd.Timestamp(as_of if as_of is not None else data.as_of).normalize()

    org = _table(data, "org")
    anc = _ancestors(org)
    nodes = org[["node_id", "level", "name", "name_zh", "parent_id"]].merge(anc, on="node_id")
    people = _table(data, "reps").copy()
    people = people.merge(
        anc.rename(columns={"node_id": "team_id", "team_id": "_team"}), on="team_id", how="left"
    )
    people["team_id"] = people["_team"]
    people = people.drop(columns="_team")
    reps = people[
        [
            "rep_id",
            "name",
            "name_zh",
            "role",
            "team_id",
            "region_id",
            "company_id",
            "hire_date",
            "leave_date",
        ]
    ].reset_index(drop=True)
    rep_nodes = reps.assign(
        level="rep",
        parent_id=reps["team_id"].where(
            reps["team_id"].notna(),
            reps["region_id"].where(reps["region_id"].notna(), reps["company_id"]),
        ),
    )
    nodes = pd.concat(
        [
            nodes,
            rep_nodes.rename(columns={"rep_id": "node_id"})[
                [
                    "node_id",
                    "level",
                    "name",
                    "name_zh",
                    "parent_id",
                    "company_id",
                    "region_id",
                    "team_id",
                ]
            ],
        ],
        ignore_index=True,
    )

    customers = _table(data, "customers")
    ctype = dict(zip(customers["customer_id"], customers["customer_type"]))
    products = _table(data, "products")
    pline = dict(zip(products["product_id"], products["product_line"]))

    opp = _table(data, "opportunities")
    base = pd.DataFrame(
        {
            "opportunity_id": opp["opportunity_id"],
            "rep_id": opp["owner_id"],
            "customer_id": opp["customer_id"],
            "amount": opp["amount"].astype(float),
            "product_id": opp["product_id"],
            "product_line": opp["product_id"].map(pline),
            "customer_type": opp["customer_id"].map(ctype),
            "deal_type": opp["deal_type"],
            "lead_source": opp["lead_source"],
            "stage": opp["stage"],
            "created_date": opp["created_date"],
            "close_date": opp["close_date"],
        }
    )
    won = base[(base["stage"] == "won") & (base["close_date"] <= cut)].assign(
        date=lambda d: d["close_date"]
    )
    lost = base[(base["stage"] == "lost") & (base["close_date"] <= cut)].assign(
        date=lambda d: d["close_date"]
    )
    created = base[base["created_date"] <= cut].assign(date=lambda d: d["created_date"])
    opp_info = base.set_index("opportunity_id")[["product_line", "customer_type"]]

    act = _table(data, "activities")
    act = act[act["date"] <= cut]
    visits = act[act["activity_type"] == "visit"][
        ["activity_id", "rep_id", "date", "customer_id", "rating"]
    ].copy()
    visits["customer_type"] = visits["customer_id"].map(ctype)
    visits["rating"] = visits["rating"].astype(float)
    visits["qualified"] = visits["rating"] >= float(visit_rating_bar)  # unrated never qualifies
    proposals = act[act["activity_type"] == "proposal"][
        ["activity_id", "rep_id", "date", "customer_id", "opportunity_id", "accepted"]
    ].copy()
    proposals["customer_type"] = proposals["customer_id"].map(ctype)
    proposals["product_line"] = proposals["opportunity_id"].map(opp_info["product_line"])
    support = act[act["activity_type"] == "support"][
        ["activity_id", "rep_id", "date", "support_region_id"]
    ].copy()

    leads = _table(data, "leads")
    leads = leads[leads["created_date"] <= cut].copy()
    leads["date"] = leads["created_date"]
    after = leads["converted_date"] > cut
    leads.loc[after, "converted_date"] = pd.NaT
    leads.loc[after, "status"] = "open"

    inv = _table(data, "invoices")
    inv = inv[inv["issue_date"] <= cut].copy()
    inv["customer_type"] = inv["customer_id"].map(ctype)
    inv["product_line"] = inv["opportunity_id"].map(opp_info["product_line"])
    pay = _table(data, "payments")
    pay = pay[pay["date"] <= cut].merge(
        inv[["invoice_id", "rep_id", "due_date", "issue_date", "customer_type", "product_line"]],
        on="invoice_id",
        how="inner",
    )

    nps = _table(data, "nps")
    nps = nps[nps["date"] <= cut].copy()
    nps["customer_type"] = nps["customer_id"].map(ctype)

    targets = _table(data, "targets")
    targets = targets[targets["metric"] == "revenue"].copy() if len(targets) else targets
    if len(targets):
        bounds = [_period_bounds(p) for p in targets["period"]]
        targets["start"] = [b[0] for b in bounds]
        targets["end"] = [b[1] for b in bounds]
        targets["granularity"] = [_GRANULARITY[b[2]] for b in bounds]
    else:
        targets = targets.assign(
            start=pd.Series(dtype="datetime64[ns]"),
            end=pd.Series(dtype="datetime64[ns]"),
            granularity=pd.Series(dtype="int64"),
        )

    # integer rep codes: tracking groups with bincount, not groupby
    code = {r: i for i, r in enumerate(reps["rep_id"])}

    def coded(df):
        return df.assign(rep_code=df["rep_id"].map(code).fillna(-1).astype(np.int64))

    won, lost, created, visits, proposals, support, leads, inv, pay, nps = (
        coded(x) for x in (won, lost, created, visits, proposals, support, leads, inv, pay, nps)
    )
    lo, hi = _employment(reps, targets["owner_id"].to_numpy())
    targets = targets.assign(
        active_start=lo.astype("datetime64[ns]"), active_end=hi.astype("datetime64[ns]")
    )
    return Facts(
        as_of=cut,
        calendar=cal,
        visit_rating_bar=float(visit_rating_bar),
        nodes=_plain(nodes),
        reps=_plain(reps),
        won=_by_date(won),
        lost=_by_date(lost),
        created=_by_date(created),
        visits=_by_date(visits),
        proposals=_by_date(proposals),
        support=_by_date(support),
        leads=_by_date(leads),
        invoices=_by_date(inv, "due_date"),
        payments=_by_date(pay, "due_date"),
        nps=_by_date(nps),
        targets=_plain(targets),
        customers=_plain(customers),
        source=data.source,
    )


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as plain Python objects (arrow-backed strings make every take slow)."""
    df = df.copy()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.StringDtype):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df.reset_index(drop=True)


def _by_date(df: pd.DataFrame, col: str = "date") -> pd.DataFrame:
    """Sorted by its date column, so a window is two binary searches (:func:`window_rows`)."""
    return _plain(df).sort_values(col, kind="stable").reset_index(drop=True)


def window_rows(df: pd.DataFrame, start, end, col: str = "date") -> pd.DataFrame:
    """The rows of a date-sorted fact table dated in ``[start, end]``."""
    v = df[col].to_numpy()
    lo = np.searchsorted(v, np.datetime64(pd.Timestamp(start)), side="left")
    hi = np.searchsorted(v, np.datetime64(pd.Timestamp(end)), side="right")
    return df.iloc[lo:hi]


def _cut(f: Facts, t: pd.Timestamp) -> Facts:
    """The same facts as they were known at the end of day ``t``."""
    t = t.normalize()

    def upto(df, col="date"):
        return df[df[col] <= t].reset_index(drop=True)  # keeps the sort order

    leads = upto(f.leads)
    after = leads["converted_date"] > t
    if after.any():
        leads = leads.copy()
        leads.loc[after, "converted_date"] = pd.NaT
        leads.loc[after, "status"] = "open"
    created = f.created[f.created["date"] <= t]
    return replace(
        f,
        as_of=t,
        won=upto(f.won),
        lost=upto(f.lost),
        created=created.reset_index(drop=True),
        visits=upto(f.visits),
        proposals=upto(f.proposals),
        support=upto(f.support),
        leads=leads,
        invoices=upto(f.invoices, "issue_date"),
        payments=upto(f.payments),
        nps=upto(f.nps),
    )


def _employment(reps: pd.DataFrame, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Employment range of each owner (org nodes: unbounded), as ``datetime64[D]``."""
    hire = dict(zip(reps["rep_id"], reps["hire_date"]))
    leave = dict(zip(reps["rep_id"], reps["leave_date"]))
    lo = pd.to_datetime(pd.Series([hire.get(o, pd.NaT) for o in owners], dtype="object"))
    hi = pd.to_datetime(pd.Series([leave.get(o, pd.NaT) for o in owners], dtype="object"))
    lo = lo.fillna(pd.Timestamp("1900-01-01")).to_numpy(dtype="datetime64[D]")
    hi = hi.fillna(pd.Timestamp("2200-01-01")).to_numpy(dtype="datetime64[D]")
    return lo, hi


def spread_targets(f: Facts, start, end, upto=None, owners=None) -> pd.DataFrame:
    """Revenue target of each owner for ``[start, end]``, and the part due by ``upto``.

    Parameters
    ----------
    f : Facts
    start, end : date-like
        The window, both days included.
    upto : date-like, optional
        The evaluation day; ``expected`` is the target of ``[start, min(upto, end)]``
        (the pace). Defaults to ``f.as_of``.
    owners : iterable of str, optional
        Limit to these owner ids (rep or org node ids).

    Returns
    -------
    DataFrame
        ``owner_id, target, expected, granularity`` (the period kind used: ``month``,
        ``quarter``, ``year``), one row per owner with a target row touching the window.
    """
    t = f.targets
    if owners is not None:
        t = t[t["owner_id"].isin(set(owners))]
    s = np.datetime64(pd.Timestamp(start).date(), "D")
    e = np.datetime64(pd.Timestamp(end).date(), "D")
    u = np.datetime64(pd.Timestamp(upto if upto is not None else f.as_of).date(), "D")
    u = min(u, e)
    t = t[(t["end"] >= pd.Timestamp(s)) & (t["start"] <= pd.Timestamp(e))]
    cols = ["owner_id", "target", "expected", "granularity"]
    if t.empty:
        return pd.DataFrame(columns=cols).astype({"target": float, "expected": float})
    cal = f.calendar
    owner = t["owner_id"].to_numpy()
    lo = t["active_start"].to_numpy(dtype="datetime64[D]")
    hi = t["active_end"].to_numpy(dtype="datetime64[D]")
    rs = np.maximum(t["start"].to_numpy(dtype="datetime64[D]"), lo)
    re_ = np.minimum(t["end"].to_numpy(dtype="datetime64[D]"), hi)
    total = cal.working_days_between(rs, re_)
    # a row whose owner worked none of its days: spread over the row's own days
    none = total == 0
    rs = np.where(none, t["start"].to_numpy(dtype="datetime64[D]"), rs)
    re_ = np.where(none, t["end"].to_numpy(dtype="datetime64[D]"), re_)
    total = np.where(none, cal.working_days_between(rs, re_), total)
    ov = cal.working_days_between(np.maximum(rs, s), np.minimum(re_, e))
    ov_u = (
        cal.working_days_between(np.maximum(rs, s), np.minimum(re_, u))
        if u >= s
        else np.zeros_like(ov)
    )
    amount = t["amount"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, ov / np.maximum(total, 1), 0.0)
        share_u = np.where(total > 0, ov_u / np.maximum(total, 1), 0.0)
    # the window's working days in each owner's employment
    win = cal.working_days_between(np.maximum(lo, s), np.minimum(hi, e))
    rows = pd.DataFrame(
        {
            "owner_id": owner,
            "g": t["granularity"].to_numpy(),
            "target": amount * share,
            "expected": amount * share_u,
            "covered": ov,
            "window": win,
        }
    )
    by = (
        rows.groupby(["owner_id", "g"], sort=False)
        .agg(
            target=("target", "sum"),
            expected=("expected", "sum"),
            covered=("covered", "sum"),
            window=("window", "first"),
        )
        .reset_index()
    )
    by["full"] = by["covered"] >= by["window"]
    # finest granularity that covers the window; else the one covering most (then finest)
    by = by.sort_values(["owner_id", "full", "covered", "g"], ascending=[True, False, False, True])
    best = by.groupby("owner_id", sort=False).head(1)
    names = {v: k for k, v in _GRANULARITY.items()}
    out = pd.DataFrame(
        {
            "owner_id": best["owner_id"].to_numpy(),
            "target": best["target"].to_numpy(dtype=float),
            "expected": best["expected"].to_numpy(dtype=float),
            "granularity": best["g"].map(names).to_numpy(),
        }
    )
    return out.reset_index(drop=True)

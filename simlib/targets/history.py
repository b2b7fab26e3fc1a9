"""What the history says about each node: the inputs of every allocation method.

All of it is computed once per (dataset, year, as_of, base year, ramp) and reused by
every recompute of a workshop scenario.

Definitions
-----------
last year
    Won revenue with ``close_date`` in the *base year* (default: the last full calendar
    year before ``as_of``), by the deal owner. A rep who has left still counts towards
    their team (and up), not towards any rep.
comparable
    Whether a growth floor/cap applies to the node: an org node with last-year revenue
    > 0; a rep hired on or before the base year's first day, still active, with
    last-year revenue > 0. New hires have no comparable year and are bounded by nothing
    but their siblings.
potential
    Sum of the ``annual_contract_value`` of the accounts each rep owns (a missing value
    is imputed with the median of accounts of the same customer type); accounts of a rep
    who has left count for that rep's team. Teams and regions add up their accounts.
capacity
    Headcount × productivity with a linear ramp: each active rep's full-time equivalent
    in each month of the target year (0 before the hire date, rising linearly to 1 over
    ``ramp_months``, 0 after a leave date), times the company's productivity: base-year
    won revenue per ramped rep-year in the base year.
seasonality
    Each month's share of won revenue, averaged over the (up to three) full years up to
    the base year; flat when there is none.
mix
    Shares of won revenue by product line, customer type and deal type (new vs existing
    customer) over the 24 months before ``as_of``; a rep's shares are shrunk towards
    the team's with the weight of 10 average deals.
funnel
    Over the 12 months before ``as_of``, per rep and team: qualified leads created,
    visits, proposals, won deals and won amount; rates visits per qualified lead,
    proposals per visit, wins per proposal and average won deal size. A rep's rates are
    shrunk towards the team's with 20 pseudo-events (5 deals for the deal size).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simlib.data.org import OrgTree

__all__ = [
    "History",
    "build_history",
    "monthly_fte",
    "default_base_year",
    "MIX_SHRINK_DEALS",
    "FUNNEL_SHRINK_EVENTS",
]

#: A rep's mix is shrunk towards the team's with the weight of this many average deals.
MIX_SHRINK_DEALS = 10.0
#: A rep's funnel rates are shrunk towards the team's with this many pseudo-events.
FUNNEL_SHRINK_EVENTS = 20.0
FUNNEL_SHRINK_DEALS = 5.0
MIX_LOOKBACK_DAYS = 730
FUNNEL_LOOKBACK_DAYS = 365


@dataclass(frozen=True)
class History:
    """Per-node inputs of the allocation methods (amounts in currency units).

    Series are indexed by node id (every node of ``tree``). Build from data with
    :func:`build_history`, or directly (tests, a what-if with made-up numbers).
    """

    tree: OrgTree
    year: int
    base_year: int
    last_year: pd.Series
    potential: pd.Series
    capacity: pd.Series
    comparable: pd.Series | None = None
    seasonality: np.ndarray = field(default_factory=lambda: np.full(12, 1 / 12))
    mix: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["node_id", "dimension", "category", "share"])
    )
    funnel: pd.DataFrame = field(default_factory=pd.DataFrame)
    fte: pd.DataFrame = field(default_factory=pd.DataFrame)
    productivity: float = float("nan")
    as_of: dt.date | None = None

    def __post_init__(self):
        ids = self.tree.ids
        for name in ("last_year", "potential", "capacity"):
            s = pd.Series(getattr(self, name), dtype=float).reindex(ids).fillna(0.0)
            if (s < 0).any() or not np.isfinite(s.to_numpy()).all():
                bad = s[(s < 0) | ~np.isfinite(s)].index[0]
                raise ValueError(
                    f"History.{name} must be finite and >= 0; got {s[bad]!r} for {bad!r}"
                )
            object.__setattr__(self, name, s)
        if self.comparable is None:
            comp = self.last_year > 0
        else:
            comp = pd.Series(self.comparable).reindex(ids).fillna(False).astype(bool)
        object.__setattr__(self, "comparable", comp)
        season = np.asarray(self.seasonality, dtype=float)
        if season.shape != (12,) or (season < 0).any() or season.sum() <= 0:
            raise ValueError(
                f"History.seasonality must be 12 non-negative weights, not all 0; got {season!r}"
            )
        object.__setattr__(self, "seasonality", season / season.sum())
        # arrays in tree order, for the cascade's inner loop
        object.__setattr__(self, "_pos", {n: i for i, n in enumerate(ids)})
        object.__setattr__(
            self,
            "_inputs",
            np.column_stack(
                [
                    self.last_year.to_numpy(float),
                    self.potential.to_numpy(float),
                    np.ones(len(ids)),
                    self.capacity.to_numpy(float),
                ]
            ),
        )
        lookup: dict[tuple[str, str], pd.Series] = {}
        if len(self.mix):
            for (node, dim), g in self.mix.groupby(["node_id", "dimension"], sort=False):
                lookup[(node, dim)] = pd.Series(
                    g["share"].to_numpy(float), index=g["category"].astype(str).to_numpy()
                )
        object.__setattr__(self, "_mix_lookup", lookup)

    def mix_of(self, node: str, dimension: str) -> pd.Series:
        """A node's historical shares in one dimension (category → share; empty if none)."""
        return self._mix_lookup.get((node, dimension), pd.Series(dtype=float))

    def __repr__(self) -> str:
        return (
            f"History(year={self.year}, base_year={self.base_year}, {self.tree!r}, "
            f"last year={self.last_year[self.tree.root]:,.0f})"
        )


def default_base_year(as_of: dt.date) -> int:
    """The last full calendar year on or before ``as_of``."""
    as_of = pd.Timestamp(as_of)
    return as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1


def monthly_fte(hire_date, leave_date, year: int, ramp_months: int) -> np.ndarray:
    """Full-time equivalents of one rep in each month of ``year`` (12 values in [0, 1]).

    Measured at mid-month: 0 before the hire date or from the leave date on; the share
    of the ramp reached by then (linear over ``ramp_months`` months, 30.4375 days each).

    >>> monthly_fte(dt.date(2027, 1, 1), None, 2027, 6).round(2).tolist()[:7]
    [0.08, 0.25, 0.4, 0.57, 0.73, 0.9, 1.0]
    """
    mid = pd.to_datetime([dt.date(year, m, 15) for m in range(1, 13)])
    hire = pd.Timestamp(hire_date)
    days = (mid - hire).days.to_numpy(dtype=float)
    if ramp_months > 0:
        fte = np.clip(days / (ramp_months * 30.4375), 0.0, 1.0)
    else:
        fte = (days >= 0).astype(float)
    fte[days < 0] = 0.0
    if leave_date is not None and leave_date == leave_date:
        fte[mid >= pd.Timestamp(leave_date)] = 0.0
    return fte


def _won(data) -> pd.DataFrame:
    o = data.opportunities
    return o[(o["stage"] == "won") & o["close_date"].notna()]


def _by_owner(amounts: pd.Series, owners: pd.Series, tree: OrgTree, team_of: dict) -> pd.Series:
    """Put owner-level amounts on rep nodes, or on the owner's team if not a node; roll up."""
    per_owner = amounts.groupby(owners.to_numpy()).sum()
    placed: dict[str, float] = {}
    ids = set(tree.ids)
    for owner, v in per_owner.items():
        node = owner if owner in ids else team_of.get(owner)
        if node is None or node not in ids:
            node = tree.root
        placed[node] = placed.get(node, 0.0) + float(v)
    return tree.rollup(placed)


def build_history(
    data,
    year: int,
    *,
    as_of=None,
    base_year: int | None = None,
    ramp_months: int = 6,
    tree: OrgTree | None = None,
) -> History:
    """Compute every node's history for a target ``year`` (see the module docstring).

    Parameters
    ----------
    data : Dataset
    year : int
        The target year.
    as_of : date, optional
        The planner's "today" (default ``data.as_of``); nothing after it is read.
    base_year : int, optional
        The "last year" (default: the last full calendar year before ``as_of``).
    ramp_months : int
        Months a new hire takes to reach full productivity.
    tree : OrgTree, optional
        Default: the org table with the reps active in ``year``.
    """
    as_of = pd.Timestamp(as_of if as_of is not None else data.as_of).normalize()
    base_year = default_base_year(as_of.date()) if base_year is None else int(base_year)
    if pd.Timestamp(base_year, 12, 31) > as_of:
        raise ValueError(
            f"base year {base_year} is not complete on {as_of.date()}; choose a "
            f"year up to {default_base_year(as_of.date())}"
        )
    tree = tree if tree is not None else OrgTree.from_tables(data.org, data.reps, year)
    reps = data.reps
    team_of = dict(zip(reps["rep_id"].astype(str), reps["team_id"].astype(str)))
    won = _won(data)
    won = won[won["close_date"] <= as_of]

    # last year and comparability
    base = won[won["close_date"].dt.year == base_year]
    last_year = _by_owner(base["amount"], base["owner_id"].astype(str), tree, team_of)
    comparable = last_year > 0
    rep_rows = reps.set_index("rep_id")
    first_day = pd.Timestamp(base_year, 1, 1)
    for r in tree.of_level("rep"):
        hired = (
            pd.Timestamp(rep_rows.at[r, "hire_date"]) <= first_day if r in rep_rows.index else False
        )
        comparable[r] = bool(hired and last_year[r] > 0)

    # potential: accounts' annual contract value by owner
    cust = data.customers
    acv = (
        cust["annual_contract_value"]
        if "annual_contract_value" in cust
        else pd.Series(np.nan, index=cust.index)
    )
    ctype = cust["customer_type"] if "customer_type" in cust else pd.Series("?", index=cust.index)
    med = acv.groupby(ctype.fillna("?")).transform("median")
    acv = acv.fillna(med).fillna(acv.median()).fillna(0.0)
    owners = cust["owner_id"].astype(str) if "owner_id" in cust else pd.Series("", index=cust.index)
    potential = _by_owner(acv, owners, tree, team_of)

    # capacity: ramped FTE × productivity
    sellers = reps[reps["role"] == "rep"] if "role" in reps else reps
    leave = (
        sellers["leave_date"] if "leave_date" in sellers else pd.Series(pd.NaT, index=sellers.index)
    )
    base_fte = sum(
        monthly_fte(h, lv, base_year, ramp_months).sum() / 12
        for h, lv in zip(sellers["hire_date"], leave)
    )
    productivity = float(base["amount"].sum() / base_fte) if base_fte > 0 else 0.0
    fte_rows = {}
    for r in tree.of_level("rep"):
        row = rep_rows.loc[r]
        fte_rows[r] = monthly_fte(row["hire_date"], row.get("leave_date"), year, ramp_months)
    fte = pd.DataFrame.from_dict(fte_rows, orient="index", columns=range(1, 13))
    capacity = tree.rollup({r: productivity * v.sum() / 12 for r, v in fte_rows.items()})

    return History(
        tree=tree,
        year=int(year),
        base_year=base_year,
        last_year=last_year,
        potential=potential,
        capacity=capacity,
        comparable=comparable,
        seasonality=_seasonality(won, base_year),
        mix=_mix(data, won, as_of, tree, team_of),
        funnel=_funnel(data, won, as_of, tree, team_of),
        fte=fte,
        productivity=productivity,
        as_of=as_of.date(),
    )


def _seasonality(won: pd.DataFrame, base_year: int) -> np.ndarray:
    shares = []
    for y in range(base_year - 2, base_year + 1):
        w = won[won["close_date"].dt.year == y]
        by_month = (
            w.groupby(w["close_date"].dt.month)["amount"].sum().reindex(range(1, 13)).fillna(0.0)
        )
        if (by_month > 0).all():
            shares.append(by_month.to_numpy() / by_month.sum())
    return np.mean(shares, axis=0) if shares else np.full(12, 1 / 12)


def _mix(data, won, as_of, tree: OrgTree, team_of) -> pd.DataFrame:
    w = won[won["close_date"] > as_of - pd.Timedelta(days=MIX_LOOKBACK_DAYS)]
    cats = {}
    if "product_id" in w and len(data.products):
        cats["product_line"] = w["product_id"].map(
            data.products.set_index("product_id")["product_line"]
        )
    if "customer_type" in data.customers:
        cats["customer_type"] = w["customer_id"].map(
            data.customers.set_index("customer_id")["customer_type"]
        )
    if "deal_type" in w:
        cats["deal_type"] = w["deal_type"]
    ids = set(tree.ids)
    owner = w["owner_id"].astype(str)
    rep_node = owner.where(owner.isin(ids), None)
    team_node = owner.map(team_of)
    rows = []
    for dim, cat in cats.items():
        cat = cat.fillna("unknown").astype(str)
        frame = pd.DataFrame(
            {
                "rep": rep_node.to_numpy(),
                "team": team_node.to_numpy(),
                "cat": cat.to_numpy(),
                "amount": w["amount"].to_numpy(),
            }
        )
        per_team = frame.groupby(["team", "cat"])["amount"].sum()
        per_rep = frame.dropna(subset=["rep"]).groupby(["rep", "cat"])["amount"].sum()
        # org nodes: team sums rolled up the tree
        amounts: dict[tuple[str, str], float] = {}
        for (team, c), v in per_team.items():
            node = team if team in ids else tree.root
            while node is not None:
                amounts[(node, c)] = amounts.get((node, c), 0.0) + float(v)
                node = tree.parent_of[node]
        org_shares = pd.Series(amounts, dtype=float)
        if len(org_shares):
            org_shares = org_shares / org_shares.groupby(level=0).transform("sum")
        for (node, c), s in org_shares.items():
            rows.append((node, dim, c, float(s)))
        avg_deal = float(frame["amount"].mean()) if len(frame) else 0.0
        rep_tot = per_rep.groupby(level=0).sum()
        for r in tree.of_level("rep"):
            team = tree.parent_of[r]
            team_sh = (
                org_shares[team]
                if len(org_shares) and team in org_shares.index.get_level_values(0)
                else None
            )
            if team_sh is None:
                continue
            own = per_rep[r] if r in rep_tot.index else pd.Series(dtype=float)
            k = MIX_SHRINK_DEALS * avg_deal
            tot = float(rep_tot.get(r, 0.0))
            for c, ts in team_sh.items():
                rows.append((r, dim, c, (float(own.get(c, 0.0)) + k * ts) / (tot + k)))
    return pd.DataFrame(rows, columns=["node_id", "dimension", "category", "share"])


def _funnel(data, won, as_of, tree: OrgTree, team_of) -> pd.DataFrame:
    start = as_of - pd.Timedelta(days=FUNNEL_LOOKBACK_DAYS - 1)
    ids = set(tree.ids)
    counts: dict[str, pd.Series] = {}
    if "leads" in data.tables:
        leads = data.leads
        m = (
            (leads["created_date"] >= start)
            & (leads["created_date"] <= as_of)
            & leads["qualified"].astype(bool)
        )
        counts["leads"] = leads.loc[m, "rep_id"].astype(str).value_counts()
    if "activities" in data.tables:
        act = data.activities
        m = (act["date"] >= start) & (act["date"] <= as_of)
        for kind, col in (("visit", "visits"), ("proposal", "proposals")):
            counts[col] = (
                act.loc[m & (act["activity_type"] == kind), "rep_id"].astype(str).value_counts()
            )
    w = won[(won["close_date"] >= start) & (won["close_date"] <= as_of)]
    counts["won"] = w["owner_id"].astype(str).value_counts()
    counts["won_amount"] = w.groupby(w["owner_id"].astype(str))["amount"].sum()
    cols = ["leads", "visits", "proposals", "won", "won_amount"]
    per_owner = pd.DataFrame({c: counts.get(c, pd.Series(dtype=float)) for c in cols}).fillna(0.0)
    # place on tree nodes: reps themselves, others on their team; then roll up
    placed = {c: {} for c in cols}
    for owner, row in per_owner.iterrows():
        node = owner if owner in ids else team_of.get(owner, tree.root)
        node = node if node in ids else tree.root
        for c in cols:
            placed[c][node] = placed[c].get(node, 0.0) + float(row[c])
    out = pd.DataFrame({c: tree.rollup(placed[c]) for c in cols})  # counts of every node

    def rates(frame):
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame(
                {
                    "visits_per_lead": frame["visits"] / frame["leads"],
                    "proposal_rate": frame["proposals"] / frame["visits"],
                    "win_rate": frame["won"] / frame["proposals"],
                    "avg_deal_size": frame["won_amount"] / frame["won"],
                },
                index=frame.index,
            )

    r = rates(out)
    k, kd = FUNNEL_SHRINK_EVENTS, FUNNEL_SHRINK_DEALS
    for rep in tree.of_level("rep"):
        team = tree.parent_of[rep]
        t = r.loc[team]
        o = out.loc[rep]
        r.loc[rep, "visits_per_lead"] = (o["visits"] + k * t["visits_per_lead"]) / (o["leads"] + k)
        r.loc[rep, "proposal_rate"] = (o["proposals"] + k * t["proposal_rate"]) / (o["visits"] + k)
        r.loc[rep, "win_rate"] = (o["won"] + k * t["win_rate"]) / (o["proposals"] + k)
        r.loc[rep, "avg_deal_size"] = (o["won_amount"] + kd * t["avg_deal_size"]) / (o["won"] + kd)
    out = pd.concat([out, r], axis=1)
    out.index.name = "node_id"
    out["window_start"] = start.date()
    out["window_end"] = as_of.date()
    return out.reset_index()

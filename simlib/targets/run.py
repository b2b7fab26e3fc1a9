"""Run a workshop scenario end to end; export the result; the ``simlib targets`` command.

:func:`run_scenario` is what a workshop slider calls: history and simulated trials come
from a :class:`~simlib.targets.risk.TargetCache`, so a recompute only cascades, splits
over time, checks and derives (tens of milliseconds on the demo company).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from simlib.config import ParamError
from simlib.data.org import OrgTree, closest_id
from simlib.money import from_cents, to_cents
from simlib.targets.allocate import AllocationError, Cascade, cascade, time_split
from simlib.targets.funnel import reverse_funnel
from simlib.targets.history import History
from simlib.targets.mix import mix_targets
from simlib.targets.params import Uplift
from simlib.targets.reconcile import (
    annual_commits,
    commit_gaps,
    consensus,
    load_commits,
    validate_commits,
)
from simlib.targets.risk import (
    TargetCache,
    rep_trial_matrix,
    sorted_columns,
    uplift_for_confidence,
)
from simlib.targets.scenario import Scenario, scenario_problem
from simlib.targets.smart import smart_check

__all__ = [
    "Allocation",
    "run_scenario",
    "check_scenario",
    "export_xlsx",
    "export_csv",
    "neutralise",
]


@dataclass(frozen=True)
class Allocation:
    """Everything a scenario produces. Money columns are exact to the cent.

    The cascade, the time split and the probabilities are computed by
    :func:`run_scenario`; the SMART table, the mix and the reverse funnel are derived
    from them on first access (a slider that only shows the allocation does not pay
    for them).

    Attributes
    ----------
    scenario : Scenario
    nodes : DataFrame
        One row per node: the final annual target and how it was reached (see
        :class:`~simlib.targets.allocate.Cascade`), ``top_down`` (before the consensus),
        ``p_attain`` and the P10/P50/P90 of simulated bookings.
    targets : DataFrame
        Long: owner_id, level, parent_id, name, period, kind, metric, amount, p_attain —
        every node's year, quarters and months.
    risk : DataFrame
        measure, value, note: company probability, over-assignment, confidence design.
    gaps, consensus : DataFrame or None
        With commits: the gap per node and period; the consensus per node explained.
    top_down, final : Cascade
    notes : tuple of str
    smart, mix, funnel_reps, funnel_teams : DataFrame
        Derived on first access: see :func:`~simlib.targets.smart.smart_check`,
        :func:`~simlib.targets.mix.mix_targets`,
        :func:`~simlib.targets.funnel.reverse_funnel`.
    """

    scenario: Scenario
    nodes: pd.DataFrame
    targets: pd.DataFrame
    risk: pd.DataFrame
    gaps: pd.DataFrame | None
    consensus: pd.DataFrame | None
    top_down: Cascade
    final: Cascade
    notes: tuple[str, ...] = ()
    children_totals: Mapping[tuple[str, str], int] = field(default_factory=dict, repr=False)
    company_target: float = 0.0

    @property
    def history(self) -> History:
        """The history the allocation was computed from."""
        return self.final.history

    @cached_property
    def smart(self) -> pd.DataFrame:
        """The SMART check of every target (one row per node and period)."""
        att = self.scenario.attainability
        p = dict(
            zip(zip(self.targets["owner_id"], self.targets["period"]), self.targets["p_attain"])
        )
        return smart_check(
            self.targets,
            self.history.tree,
            self.scenario.year,
            children_totals=self.children_totals,
            company_target=self.company_target,
            p_attain=p,
            low=att.low,
            high=att.high,
        )

    @cached_property
    def mix(self) -> pd.DataFrame:
        """Each node's year and quarters split by product line, customer type, deal type."""
        return mix_targets(
            self.targets.rename(columns={"owner_id": "node_id"}), self.history, self.scenario.mix
        )

    @cached_property
    def _funnel(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        tree = self.history.tree
        t = self.targets
        rep_months = t[(t["level"] == "rep") & (t["kind"] == "month")]
        rep_months = rep_months.rename(columns={"owner_id": "rep_id", "amount": "revenue"})[
            ["rep_id", "period", "revenue"]
        ]
        f = self.history.funnel
        rates = (
            f.set_index("node_id")
            if len(f)
            else pd.DataFrame(
                columns=["avg_deal_size", "win_rate", "proposal_rate", "visits_per_lead"]
            )
        )
        return reverse_funnel(
            rep_months,
            rates,
            {r: tree.parent_of[r] for r in tree.of_level("rep")},
            lead_floor=self.scenario.funnel.marketing_lead_floor,
        )

    @property
    def funnel_reps(self) -> pd.DataFrame:
        """Activity targets per rep and month (the reverse funnel)."""
        return self._funnel[0]

    @property
    def funnel_teams(self) -> pd.DataFrame:
        """Qualified leads per team and month, checked against the marketing floor."""
        return self._funnel[1]

    def to_frame(self) -> pd.DataFrame:
        """The allocation table: one row per node, year and quarters side by side."""
        q = self.targets[self.targets["kind"] == "quarter"].pivot(
            index="owner_id", columns="period", values="amount"
        )
        q.columns = [c.split("-")[-1] for c in q.columns]
        cols = [
            "level",
            "node_id",
            "name",
            "name_zh",
            "parent_id",
            "last_year",
            "target",
            "growth",
            "status",
            "p_attain",
        ]
        if self.consensus is not None:
            cols.insert(6, "top_down")
        out = self.nodes[cols].merge(q, left_on="node_id", right_index=True, how="left")
        return out.reset_index(drop=True)

    def targets_table(self) -> pd.DataFrame:
        """The targets in the shape of the canonical ``targets`` table.

        Columns owner_id, level, period, metric, amount: ready to load back as a
        dataset's targets.
        """
        return self.targets[["owner_id", "level", "period", "metric", "amount"]].copy()

    def __repr__(self) -> str:
        root = self.nodes.iloc[0]
        return (
            f"Allocation({self.scenario.name or 'scenario'}: {self.scenario.year} company "
            f"{root['target']:,.2f}, {len(self.nodes)} nodes, {len(self.targets)} targets)"
        )


# --------------------------------------------------------------------------- checks


def check_scenario(scenario: Scenario, tree: OrgTree, history: History | None = None) -> None:
    """Checks that need the organisation; raise one :class:`ParamError` for all found.

    Unknown node ids (with the closest id suggested) in ``locked``, ``potential`` and
    ``mix``; a locked company; a focus region that is not a region; a mix category the
    history does not know; locked amounts above a parent whose number is already known
    (the company, or a locked parent); a commits file that does not exist.
    """
    problems = []
    ids = tree.ids
    for section in ("locked", "potential", "mix"):
        for node in getattr(scenario, section):
            if node not in tree.level_of:
                problems.append(
                    scenario_problem(
                        scenario,
                        (section, node),
                        node,
                        f"not a node of the organisation{closest_id(node, ids)}",
                    )
                )
    if tree.root in scenario.locked:
        problems.append(
            scenario_problem(
                scenario,
                ("locked", tree.root),
                scenario.locked[tree.root],
                "the company's number is company_target or "
                "company_growth; lock regions, teams or reps",
            )
        )
    if scenario.focus_region is not None:
        regions = tree.of_level("region")
        if scenario.focus_region not in regions:
            problems.append(
                scenario_problem(
                    scenario,
                    ("focus_region",),
                    scenario.focus_region,
                    f"not a region{closest_id(scenario.focus_region, regions)}"
                    f" (regions: {', '.join(regions)})",
                )
            )
    if history is not None and len(history.mix):
        for node, dims in scenario.mix.items():
            for dim, shares in dims.items():
                known = sorted(set(history.mix.loc[history.mix["dimension"] == dim, "category"]))
                for cat in shares:
                    if known and cat not in known:
                        problems.append(
                            scenario_problem(
                                scenario,
                                ("mix", node, dim, cat),
                                cat,
                                f"not a {dim} in the data{closest_id(cat, known)} "
                                f"(known: {', '.join(known)})",
                            )
                        )
    # locked amounts under a parent whose number is known before the cascade
    company = _company_target(scenario, history) if history is not None else scenario.company_target
    for parent in tree.parents():
        kids = [k for k in tree.children(parent) if k in scenario.locked]
        if not kids:
            continue
        known = company if parent == tree.root else scenario.locked.get(parent)
        if known is None:
            continue
        level = tree.level_of[kids[0]]
        up = float(getattr(scenario.uplift, level, 0.0))
        share = known * (1 + up)
        tot = sum(scenario.locked[k] for k in kids)
        if tot > share + 0.005:
            worst = max(kids, key=lambda k: scenario.locked[k])
            problems.append(
                scenario_problem(
                    scenario,
                    ("locked", worst),
                    scenario.locked[worst],
                    f"locked above its parent: {parent}'s children share {share:,.2f} "
                    f"({parent} {known:,.2f} × (1 + {level} uplift {up:g})) but the locked amounts "
                    f"under {parent} sum to {tot:,.2f}",
                )
            )
    path = scenario.commits_path()
    if path is not None and not path.exists():
        problems.append(
            scenario_problem(
                scenario, ("commits",), scenario.commits, f"commits file not found ({path})"
            )
        )
    if problems:
        raise ParamError(problems)


def _company_target(scenario: Scenario, history: History | None) -> float:
    if scenario.company_target is not None:
        return float(scenario.company_target)
    base = float(history.last_year[history.tree.root])
    return from_cents(to_cents(base * (1.0 + float(scenario.company_growth))))


def _locked_error(scenario: Scenario, e: AllocationError, tree: OrgTree) -> ParamError:
    """An allocation that failed on the scenario's own settings, blamed on them."""
    if e.reason == "locked" and e.children:
        worst = max(e.children, key=lambda k: scenario.locked[k])
        return ParamError(
            [
                scenario_problem(
                    scenario,
                    ("locked", worst),
                    scenario.locked[worst],
                    f"locked above its parent: {e}",
                )
            ]
        )
    key = "cap" if e.reason == "cap" else "floor"
    return ParamError(
        [
            scenario_problem(
                scenario,
                ("growth", key),
                getattr(scenario.growth, key),
                f"the growth bounds cannot be met: {e}",
            )
        ]
    )


# --------------------------------------------------------------------------- run


def run_scenario(
    scenario: Scenario,
    data,
    *,
    cache: TargetCache | None = None,
    commits: str | Path | pd.DataFrame | None = None,
) -> Allocation:
    """Cascade, split over time, reconcile, check and derive activity targets.

    Parameters
    ----------
    scenario : Scenario
    data : Dataset
    cache : TargetCache, optional
        Reused history and simulated trials; pass the same one to every recompute.
    commits : path or DataFrame, optional
        Bottom-up commits; default the scenario's ``commits`` file.

    Returns
    -------
    Allocation

    Raises
    ------
    simlib.config.ParamError
        A scenario that does not fit the organisation: unknown node (closest id
        suggested), a locked override above its parent, bounds that cannot be met.
    simlib.data.io.DataError
        A bad commits file.
    """
    cache = cache if cache is not None and cache.data is data else TargetCache(data)
    as_of = scenario.as_of or data.as_of
    try:
        history = cache.history(scenario.year, as_of, scenario.base_year, scenario.ramp_months)
    except ValueError as e:
        raise ParamError(
            [scenario_problem(scenario, ("base_year",), scenario.base_year, str(e))]
        ) from None
    tree = history.tree
    check_scenario(scenario, tree, history)
    table = _commits_table(scenario, tree, commits)  # a bad file fails before any simulation
    notes: list[str] = []
    company = _company_target(scenario, history)
    sim = scenario.simulation
    fair = None
    if scenario.fair_quotas:
        nt = cache.trials(str(scenario.year), as_of, sim.n_trials, sim.seed)
        fair = sorted_columns(nt, tree.ids)
    kwargs = dict(
        methods=scenario.methods,
        growth=scenario.growth,
        locked=scenario.locked,
        focus_region=scenario.focus_region,
        focus_weight=scenario.focus_weight,
        potential=scenario.potential,
    )
    uplift = scenario.uplift

    def run(up: Uplift) -> Cascade:
        try:
            return cascade(history, company, uplift=up, fair_trials=fair, **kwargs)
        except AllocationError as e:
            raise _locked_error(scenario, e, tree) from e  # the cause: for messages

    td = run(uplift)  # before the simulation: a scenario that cannot be met fails fast
    nt = cache.trials(str(scenario.year), as_of, sim.n_trials, sim.seed)
    reps = tree.of_level("rep")
    x, have = rep_trial_matrix(nt, reps)
    x_mean = nt.mean[[nt.column(r) for r in have]]
    rep_target = dict(zip(td.table["node_id"], td.table["target"]))
    conf = scenario.attainability.company_confidence
    try:
        u_star = (
            uplift_for_confidence(x, np.array([rep_target[r] for r in have]), conf, mean=x_mean)
            if have
            else np.nan
        )
    except ValueError as e:
        u_star = np.nan
        notes.append(f"no over-assignment for {conf:.0%} confidence: {e}")
    if scenario.uplift_from_confidence and u_star == u_star:
        above = (1 + uplift.region) * (1 + uplift.team)
        u_rep = (1 + u_star) / above - 1
        if not 0 <= u_rep <= 1:
            notes.append(
                f"the rep over-assignment for {conf:.0%} confidence would be {u_rep:+.2%}; "
                f"held to {min(max(u_rep, 0.0), 1.0):.2%}"
            )
            u_rep = min(max(u_rep, 0.0), 1.0)
        uplift = Uplift(region=uplift.region, team=uplift.team, rep=round(u_rep, 10))
        notes.append(
            f"rep over-assignment set to {uplift.rep:.2%} so the company reaches its "
            f"number with {conf:.0%} confidence"
        )
        td = run(uplift)
    kwargs["uplift"] = uplift

    gaps = cons = None
    final = td
    if table is not None:
        long_td, _, _ = time_split(td, scenario.seasonality)
        gaps = commit_gaps(long_td, table)
        annual, partial = annual_commits(table, scenario.year)
        notes += partial
        try:
            final, cons = consensus(
                td,
                annual,
                commit_weight=scenario.consensus.commit_weight,
                band=scenario.consensus.band,
                currency=scenario.currency,
                **kwargs,
            )
        except AllocationError as e:
            raise _locked_error(scenario, e, tree) from e  # the cause: for messages

    long, months, totals = time_split(final, scenario.seasonality)
    # long holds each node's 17 periods in a row, nodes in final.table's order
    table = final.table
    per = len(long) // len(table)
    for k, col in enumerate(("level", "parent_id", "name")):
        long.insert(1 + k, col, np.repeat(table[col].to_numpy(dtype=object), per))
    long["metric"] = scenario.metric
    long = long.rename(columns={"node_id": "owner_id"})

    # probability of attainment
    nodes = table.copy()
    nodes["top_down"] = td.table["target"].to_numpy()
    ids = nodes["node_id"].tolist()
    nodes["p_attain"] = nt.probability(ids, nodes["target"].tolist())
    qs = nt.quantiles(ids)
    for c in qs.columns:
        nodes[c] = qs[c].to_numpy()
    p_long = np.full(len(long), np.nan)
    p_long[::per] = nodes["p_attain"].to_numpy()  # the first period of each node is its year
    extra_kinds = {"year": (), "quarter": ("quarter",), "all": ("quarter", "month")}[sim.periods]
    kinds = long["kind"].to_numpy()
    periods = long["period"].to_numpy()
    owners = np.repeat(np.array(ids, dtype=object), per)
    for kind in extra_kinds:
        for period in pd.unique(periods[kinds == kind]):
            rows = np.flatnonzero(periods == period)
            pt = cache.trials(period, as_of, sim.n_trials, sim.seed)
            p_long[rows] = pt.probability(
                owners[rows].tolist(), long["amount"].to_numpy()[rows].tolist()
            )
    long["p_attain"] = p_long

    risk = _risk_table(nt, tree, final, company, u_star, conf, x, have, x_mean)
    if scenario.fair_quotas:
        notes.append(
            "fair quotas: every parent's children share one probability of attainment "
            "(see risk: fair_probability.<parent>)"
        )
        for parent, p in td.level_param.items():
            risk.loc[len(risk)] = [
                f"fair_probability.{parent}",
                p,
                "common P(attainment) of this parent's children",
            ]
    return Allocation(
        scenario=scenario,
        nodes=nodes,
        targets=long,
        risk=risk,
        gaps=gaps,
        consensus=cons,
        top_down=td,
        final=final,
        notes=tuple(notes),
        children_totals=totals,
        company_target=company,
    )


def _commits_table(scenario: Scenario, tree: OrgTree, commits) -> pd.DataFrame | None:
    source = commits if commits is not None else scenario.commits_path()
    if source is None:
        return None
    if isinstance(source, pd.DataFrame):
        return validate_commits(source, tree, scenario.year)
    if not Path(source).exists():
        raise ParamError(
            [scenario_problem(scenario, ("commits",), str(source), "commits file not found")]
        )
    return load_commits(source, tree, scenario.year)


def _risk_table(
    nt, tree, final: Cascade, company: float, u_star, conf, x, have, mean
) -> pd.DataFrame:
    target = dict(zip(final.table["node_id"], final.table["target"]))
    reps = tree.of_level("rep")
    rep_total = float(sum(target[r] for r in reps)) if reps else np.nan
    p_company = float(nt.probability([tree.root], [company])[0])
    over = rep_total / company - 1 if company else np.nan
    if have:
        q = np.array([target[r] for r in have])
        coef = np.divide(q, mean, out=np.zeros_like(q), where=mean > 0)
        scaled = x @ coef
        p_scaled = float(np.count_nonzero(scaled >= company)) / len(scaled)
    else:
        p_scaled = np.nan
    rows = [
        ("company_target", company, "the company number"),
        (
            "p_company_forecast",
            p_company,
            "P(simulated company bookings ≥ the number): the "
            "pipeline as it stands, whatever the quotas",
        ),
        ("rep_quota_total", rep_total, "sum of the reps' annual targets"),
        ("over_assignment_total", over, "rep quota total / company number − 1"),
        (
            "p_company_if_reps_on_quota",
            p_scaled,
            "P(company ≥ number) if every rep's bookings "
            "are centred on their quota (simulated spread and correlation kept)",
        ),
        (
            "uplift_for_confidence",
            u_star,
            f"total over-assignment giving {conf:.0%} confidence under the same assumption",
        ),
        ("confidence", conf, "attainability.company_confidence"),
    ]
    return pd.DataFrame(rows, columns=["measure", "value", "note"])


# --------------------------------------------------------------------------- export

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
# Control characters a workbook cannot hold (openpyxl refuses them: an ANSI colour code
# in a name made the export fail); tab, line feed and carriage return are allowed.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell that a spreadsheet would run as a formula is quoted.

    Control characters other than tab and line breaks (an ANSI escape, a NUL) become
    U+FFFD; then text beginning with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
    return) gets a leading single quote; numbers, negative ones included, stay numbers.

    >>> neutralise(pd.DataFrame({"a": ["=1+1", "ok", "-2"], "b": [-5.0, 1.0, 2.0]})).to_dict("list")
    {'a': ["'=1+1", 'ok', "'-2"], 'b': [-5.0, 1.0, 2.0]}
    >>> neutralise(pd.DataFrame({"a": ["\\x1b[31mRed\\x1b[0m"]}))["a"][0]
    '\ufffd[31mRed\ufffd[0m'
    """
    out = df.copy()

    def fix(v):
        if not isinstance(v, str):
            return v
        v = _ILLEGAL.sub("\ufffd", v)
        return "'" + v if v.startswith(_DANGEROUS) else v

    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(fix)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


def _sheets(allocation: Allocation) -> dict[str, pd.DataFrame]:
    months = allocation.targets[allocation.targets["kind"] == "month"].pivot(
        index="owner_id", columns="period", values="amount"
    )
    months = allocation.nodes[["level", "node_id", "name"]].merge(
        months, left_on="node_id", right_index=True, how="left"
    )
    scen = pd.DataFrame(
        [(k, str(v)) for k, v in _flat(allocation.scenario.model_dump(mode="json")).items()],
        columns=["parameter", "value"],
    )
    sheets = {
        "allocation": allocation.to_frame(),
        "targets": allocation.targets,
        "months": months,
        "mix": allocation.mix,
        "smart": allocation.smart,
        "funnel_reps": allocation.funnel_reps,
        "funnel_teams": allocation.funnel_teams,
        "risk": allocation.risk,
        "scenario": scen,
    }
    if allocation.gaps is not None:
        sheets["gaps"] = allocation.gaps
    if allocation.consensus is not None:
        sheets["consensus"] = allocation.consensus
    if allocation.notes:
        sheets["notes"] = pd.DataFrame({"note": list(allocation.notes)})
    return sheets


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(_flat(v, key))
        else:
            out[key] = v
    return out


def _atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def export_xlsx(allocation: Allocation, path: str | Path) -> Path:
    """Write every table of the allocation to one workbook, one sheet each.

    Text cells that a spreadsheet would run as a formula are neutralised
    (:func:`neutralise`); numbers stay numbers. Written atomically.
    """
    sheets = _sheets(allocation)

    def write(tmp):
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, df in sheets.items():
                neutralise(_plain(df)).to_excel(xw, sheet_name=name, index=False)

    return _atomic(Path(path), write)


def export_csv(allocation: Allocation, path: str | Path, table: str = "allocation") -> Path:
    """Write one table of the allocation (default the allocation table) as UTF-8 CSV.

    ``table`` is a sheet name of :func:`export_xlsx` (allocation, targets, months, mix,
    smart, funnel_reps, funnel_teams, risk, scenario, gaps, consensus). Text cells are
    neutralised as in :func:`neutralise`. Written atomically, with a BOM so that a
    spreadsheet opens Chinese names correctly.
    """
    sheets = _sheets(allocation)
    if table not in sheets:
        raise ValueError(f"table must be one of {', '.join(sheets)}; got {table!r}")
    df = neutralise(_plain(sheets[table]))
    return _atomic(Path(path), lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8-sig"))


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Nullable booleans → object (openpyxl writes pd.NA badly); dates → ISO text."""
    out = df.copy()
    for c in out.columns:
        if str(out[c].dtype) in ("boolean", "Int64"):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


# --------------------------------------------------------------------------- CLI

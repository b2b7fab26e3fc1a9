"""Scorecards, honours, promotion and the review pack (SPEC R11, R12, R15, R16).

A scorecard weighs each rep's KPIs as ``params/scorecard.yaml`` says
(:class:`simlib.config.ScorecardParams`): results 60% / process 40% by default, or the
SaaS set (quarterly revenue 50%, renewal 20%, monthly visits 15%, lead-to-paid 15%).

Each KPI is **normalised against its target** and capped at ``ceiling`` (1.2: at most
120% of target counts). The score is ``100 × Σ weight × normalised``: 100 means every
KPI exactly on target. Targets, by KPI:

=======================  ===============================================================
``revenue``              the rep's quota from the targets table, to date (the part of the
                         period's target due by ``as_of``; the whole of it once the period
                         has ended)
``market_share``         the rep's share of their region's revenue against the same share
                         a year earlier (the target is "hold last year's share"); NaN when
                         the rep was not employed for the whole of last year's period or
                         sold nothing in it
``nps``                  compared on the shifted scale ``(NPS + 100) / (target + 100)``
                         because NPS runs from -100 to 100
everything else          a fixed target from ``kpi_targets`` in the parameter file when
                         given (counts per month, pro-rated by working days employed),
                         else the **team average**: the team's pooled rate for a rate
                         (team conversions / team leads), and for a count what an
                         average team member did per working day times the rep's
                         working days employed
=======================  ===============================================================

KPI definitions: ``collection_rate``, ``qualified_visits``, ``lead_conversion``,
``proposal_acceptance`` are those of :func:`simlib.tracking.dashboard`; ``teamwork`` is
the count of cross-region support activities; ``renewal_rate`` is the share of the
customers who bought from the rep in the same period a year earlier who bought from
them again in this period.

A KPI without a value or target (no survey answers, no last year) is left out and its
weight is **re-spread proportionally over the other KPIs of its group**, so the group
keeps its weight (when a whole group is missing, over the other groups); each such
re-weighting is stated in the rep's ``notes``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simlib.config import At, Fraction01, StrictModel, load_file
from simlib.periods import as_window, previous_periods, shift
from simlib.tracking import text
from simlib.tracking.dashboard import metrics
from simlib.tracking.early_warning import diagnose
from simlib.tracking.facts import DataLike, Facts, prepare, spread_targets, window_rows

__all__ = [
    "KPI_NAMES",
    "Scorecard",
    "kpi_values",
    "score_kpis",
    "scorecard",
    "Milestone",
    "milestone_progress",
    "cycle_of",
    "evaluation_period",
    "params_key",
    "period_kind",
    "last_period",
    "honours",
    "promotion_candidates",
    "ReviewPack",
    "review_pack",
]


# --------------------------------------------------------------------------- parameters


class Kpi(StrictModel):
    name: str
    group: Literal["results", "process"]
    weight: Fraction01
    label: str | None = None
    label_zh: str | None = None
    higher_is_better: bool = True


class WeightSet(StrictModel):
    description: str = ""
    group_weights: dict[Literal["results", "process"], Fraction01]
    kpis: tuple[Kpi, ...]

    @model_validator(mode="after")
    def _weights_add_up(self):
        total = sum(k.weight for k in self.kpis)
        if abs(total - 1.0) > 1e-9:
            raise At(("kpis",), f"KPI weights sum to {total:g}; they must sum to 1")
        for group, gw in self.group_weights.items():
            s = sum(k.weight for k in self.kpis if k.group == group)
            if abs(s - gw) > 1e-9:
                raise At(
                    ("group_weights", group),
                    f"the {group} KPI weights sum to {s:g}; expected them to equal "
                    f"group_weights.{group}",
                    gw,
                )
        names = [k.name for k in self.kpis]
        for k, n in enumerate(names):
            if n in names[:k]:
                raise At(
                    ("kpis", k, "name"),
                    f"KPI names must be unique; first used at kpis[{names.index(n)}]",
                    n,
                )
        return self


class ScorecardParams(StrictModel):
    """``params/scorecard.yaml``: KPI weight sets and normalisation."""

    active: str
    ceiling: float = Field(1.2, ge=1.0, le=3.0, description="cap on KPI attainment")
    visit_rating_bar: float = Field(4.0, ge=0, le=5)
    weight_sets: dict[str, WeightSet]
    kpi_targets: dict[str, float] = Field(
        default_factory=dict,
        description="KPI name → fixed target (e.g. collection_rate: 0.95); "
        "a KPI without one is judged against its team's average (revenue: against quota)",
    )
    newcomer_months: int = Field(12, ge=1, le=60, description="tenure below this is a newcomer")
    promotion_periods: int = Field(
        3,
        ge=1,
        le=12,
        description="top quartile this many evaluation periods running makes a promotion candidate",
    )
    promotion_quantile: Fraction01 = Field(0.75, description="the top-quartile bar of the score")
    min_nps_responses: int = Field(
        3, ge=1, description="fewest survey answers for a reputation award"
    )
    default_cycle: Literal["monthly", "quarterly"] = "monthly"
    team_cycles: dict[str, Literal["monthly", "quarterly"]] = Field(
        default_factory=dict, description="team id → evaluation cycle, where not the default"
    )

    @model_validator(mode="after")
    def _active_exists(self):
        if self.active not in self.weight_sets:
            close = difflib.get_close_matches(self.active, list(self.weight_sets), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise At(
                ("active",),
                "not a weight set defined under weight_sets; expected one "
                f"of {sorted(self.weight_sets)}{hint}",
                self.active,
            )
        return self


#: The KPIs this module can measure.
KPI_NAMES: tuple[str, ...] = (
    "revenue",
    "collection_rate",
    "market_share",
    "nps",
    "qualified_visits",
    "lead_conversion",
    "proposal_acceptance",
    "teamwork",
    "renewal_rate",
)

_RATES = {
    "collection_rate": ("collected", "billed"),
    "lead_conversion": ("leads_converted", "leads"),
    "proposal_acceptance": ("proposals_accepted", "proposals_decided"),
    "renewal_rate": ("renewed", "renewal_cohort"),
    "nps": ("nps_points", "nps_responses"),
}
_COUNTS = {"qualified_visits": "qualified_visits", "teamwork": "support"}

#: Working days in an average month, for a monthly count target over other periods.
_MONTH_DAYS = 21.0


def _params(params) -> ScorecardParams:
    if params is None:
        sp = load_file("scorecard.yaml", ScorecardParams)
    elif isinstance(params, ScorecardParams):
        sp = params
    else:
        sp = ScorecardParams.model_validate(params)
    for k in sp.kpi_targets:
        if k not in KPI_NAMES or k in ("revenue", "market_share"):
            close = difflib.get_close_matches(str(k), KPI_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"scorecard.kpi_targets.{k}: not a KPI that takes a fixed target{hint} "
                "(revenue uses quota and market_share last year's share; others: "
                f"{', '.join(x for x in KPI_NAMES if x not in ('revenue', 'market_share'))})"
            )
    return sp


def _weight_set(sp: ScorecardParams, name: str | None) -> tuple[str, WeightSet]:
    name = sp.active if name is None else name
    if name not in sp.weight_sets:
        close = difflib.get_close_matches(str(name), list(sp.weight_sets), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown weight set {name!r}{hint}; expected one of "
            f"{', '.join(sorted(sp.weight_sets))}"
        )
    ws = sp.weight_sets[name]
    for k in ws.kpis:
        if k.name not in KPI_NAMES:
            raise ValueError(
                f"scorecard.weight_sets.{name}: KPI {k.name!r} cannot be measured; "
                f"expected one of {', '.join(KPI_NAMES)}"
            )
    return name, ws


# --------------------------------------------------------------------------- KPI values


def _employed_days(f: Facts, rep_ids, start, end) -> np.ndarray:
    r = f.reps.set_index("rep_id").reindex(list(rep_ids))
    s = np.datetime64(pd.Timestamp(start).date(), "D")
    e = np.datetime64(pd.Timestamp(end).date(), "D")
    hire = r["hire_date"].fillna(pd.Timestamp("1900-01-01")).to_numpy(dtype="datetime64[D]")
    leave = r["leave_date"].fillna(pd.Timestamp("2200-01-01")).to_numpy(dtype="datetime64[D]")
    return f.calendar.working_days_between(np.maximum(hire, s), np.minimum(leave, e))


def _renewals(f: Facts, rep_ids, start, upto) -> tuple[pd.Series, pd.Series]:
    """Cohort (customers bought from the rep a year earlier) and those who bought again."""
    ly_s, ly_e = start - pd.DateOffset(years=1), upto - pd.DateOffset(years=1)
    before = window_rows(f.won, ly_s, ly_e)[["rep_id", "customer_id"]].drop_duplicates()
    now = window_rows(f.won, start, upto)[["rep_id", "customer_id"]].drop_duplicates()
    again = before.merge(now, on=["rep_id", "customer_id"])
    idx = pd.Index(rep_ids)
    return (
        before.groupby("rep_id").size().reindex(idx).fillna(0).astype(float),
        again.groupby("rep_id").size().reindex(idx).fillna(0).astype(float),
    )


def kpi_values(
    data: DataLike, period, *, as_of=None, within: str | None = None, params=None
) -> pd.DataFrame:
    """Every KPI's value, team value and target inputs, per rep, for a period.

    Returns
    -------
    DataFrame
        Long: ``rep_id, name, team_id, kpi, value, team_value, target, target_basis``;
        one row per rep employed as a rep in the period (and within ``within``) and
        per KPI of :data:`KPI_NAMES`. ``target`` is what the value is normalised
        against (see the module notes); NaN where there is none.
    """
    f = prepare(data)
    sp = _params(params)
    win = as_window(period)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    if t < win.start:
        raise ValueError(f"period {win.label} starts after {t.date()}: nothing to score yet")
    upto = min(t, win.end)
    m = metrics(f, win, level="rep", as_of=t)
    sellers = f.sellers(win.start, upto)
    if within is not None:
        sellers = sellers[sellers["rep_id"].isin(f.members(within))]
    m = m[m["node_id"].isin(sellers["rep_id"])].set_index("node_id")
    reps = m.index
    team = m["parent_id"]
    days = pd.Series(_employed_days(f, reps, win.start, upto), index=reps, dtype=float)
    v = pd.DataFrame(index=reps)
    v["revenue"] = m["revenue"]
    v["expected"] = m["expected"]
    v["nps_points"] = 100.0 * (m["promoters"] - m["detractors"])
    for c in (
        "collected",
        "billed",
        "leads_converted",
        "leads",
        "proposals_accepted",
        "proposals_decided",
        "nps_responses",
        "qualified_visits",
        "support",
    ):
        v[c] = m[c]
    cohort, renewed = _renewals(f, reps, win.start, upto)
    v["renewal_cohort"], v["renewed"] = cohort, renewed
    # market share: of the rep's region, now and a year earlier
    region = f.reps.set_index("rep_id")["region_id"].reindex(reps)
    reg_now = metrics(f, win, level="region", as_of=t).set_index("node_id")["revenue"]
    ly = (win.start - pd.DateOffset(years=1), upto - pd.DateOffset(years=1))
    reg_ly = metrics(f, ly, level="region", as_of=ly[1]).set_index("node_id")["revenue"]
    rep_ly = metrics(f, ly, level="rep", as_of=ly[1]).set_index("node_id")["revenue"].reindex(reps)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_now = v["revenue"] / region.map(reg_now).where(lambda x: x > 0)
        share_ly = rep_ly / region.map(reg_ly).where(lambda x: x > 0)
    hired = f.reps.set_index("rep_id")["hire_date"].reindex(reps)
    share_ly = share_ly.where((hired.isna() | (hired <= ly[0])) & (rep_ly > 0))

    rows = []
    names = f.reps.set_index("rep_id")["name"]
    team_days = days.groupby(team).sum()
    for kpi in KPI_NAMES:
        if kpi == "revenue":
            value, team_value = v["revenue"], None
            target = v["expected"].where(v["expected"] > 0)
            basis = "quota"
            team_att = v.groupby(team)["revenue"].sum() / v.groupby(team)["expected"].sum()
            team_value = team.map(team_att) * v["expected"]
        elif kpi == "market_share":
            value, target, basis = share_now, share_ly, "last year's share"
            team_value = pd.Series(np.nan, index=reps)
        elif kpi in _RATES:
            num, den = _RATES[kpi]
            value = v[num] / v[den].where(v[den] > 0)
            pooled = v.groupby(team)[num].sum() / v.groupby(team)[den].sum().where(lambda d: d > 0)
            team_value = team.map(pooled)
            if kpi in sp.kpi_targets:
                target, basis = pd.Series(float(sp.kpi_targets[kpi]), index=reps), "fixed target"
            else:
                target, basis = team_value, "team average"
        else:
            col = _COUNTS[kpi]
            value = v[col]
            per_day = v.groupby(team)[col].sum() / team_days.where(team_days > 0)
            team_value = team.map(per_day) * days
            if kpi in sp.kpi_targets:
                target = float(sp.kpi_targets[kpi]) * days / _MONTH_DAYS
                basis = "fixed target (per month)"
            else:
                target, basis = team_value, "team average"
        rows.append(
            pd.DataFrame(
                {
                    "rep_id": reps,
                    "name": names.reindex(reps).to_numpy(),
                    "team_id": team.to_numpy(),
                    "kpi": kpi,
                    "value": np.asarray(value, dtype=float),
                    "team_value": np.asarray(team_value, dtype=float),
                    "target": np.asarray(target, dtype=float),
                    "target_basis": basis,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    return out


# --------------------------------------------------------------------------- scoring


def _normalise(kpi: str, value, target, ceiling: float, higher_is_better: bool = True):
    value = np.asarray(value, dtype=float)
    target = np.asarray(target, dtype=float)
    if kpi == "nps":
        value, target = value + 100.0, target + 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        if higher_is_better:
            ratio = np.where(target > 0, value / np.where(target > 0, target, 1.0), np.nan)
        else:
            ratio = np.where(value > 0, target / np.where(value > 0, value, 1.0), np.nan)
    ratio = np.where(np.isnan(value) | np.isnan(target), np.nan, ratio)
    return ratio, np.clip(ratio, 0.0, ceiling)


def score_kpis(values: pd.DataFrame, weight_set: WeightSet, ceiling: float = 1.2) -> pd.DataFrame:
    """Normalise, cap, weigh and sum KPIs: the pure core of the scorecard.

    Parameters
    ----------
    values : DataFrame
        Long: ``rep_id, kpi, value, target`` (other columns are kept).
    weight_set : WeightSet
    ceiling : float
        Cap on each normalised KPI.

    Returns
    -------
    DataFrame
        ``values`` limited to the weight set's KPIs, with ``group, weight, ratio``
        (value / target), ``normalised`` (capped), ``capped`` (bool),
        ``effective_weight`` (after re-spreading missing KPIs), ``contribution``
        (``100 × effective_weight × normalised``), ``note`` and ``note_zh``.
    """
    kpis = {k.name: k for k in weight_set.kpis}
    d = values[values["kpi"].isin(list(kpis))].copy()
    d["group"] = d["kpi"].map({k: v.group for k, v in kpis.items()})
    d["weight"] = d["kpi"].map({k: v.weight for k, v in kpis.items()}).astype(float)
    ratio = np.full(len(d), np.nan)
    norm = np.full(len(d), np.nan)
    for name, k in kpis.items():
        sel = (d["kpi"] == name).to_numpy()
        r, n = _normalise(
            name, d.loc[sel, "value"], d.loc[sel, "target"], ceiling, k.higher_is_better
        )
        ratio[sel], norm[sel] = r, n
    d["ratio"] = ratio
    d["normalised"] = norm
    d["capped"] = d["ratio"] > ceiling
    avail = d["normalised"].notna()
    gw = {g: float(w) for g, w in weight_set.group_weights.items()}
    # re-spread a missing KPI's weight over the measured KPIs of its group (the group
    # keeps its weight); a group with nothing measured gives its weight to the others
    w_ok = d["weight"].where(avail, 0.0)
    group_ok = w_ok.groupby([d["rep_id"], d["group"]]).transform("sum")
    firsts = d.assign(_ok=group_ok > 0).drop_duplicates(["rep_id", "group"])
    total_gw = (firsts["group"].map(gw) * firsts["_ok"]).groupby(firsts["rep_id"]).sum()
    rep_gw = d["rep_id"].map(total_gw)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = d["weight"] / group_ok * d["group"].map(gw) / rep_gw
    d["effective_weight"] = np.where(avail & (group_ok > 0) & (rep_gw > 0), eff, 0.0)
    grp_zh = d["group"].map({"results": "结果类", "process": "过程类"}).fillna(d["group"])
    pct = (100 * d["weight"]).round().astype(int).astype(str) + "%"
    in_group = "no data: its weight " + pct + " is re-spread over the other " + d["group"] + " KPIs"
    other = (
        "no data: its weight "
        + pct
        + " is re-spread over the other groups (no "
        + d["group"]
        + " KPI could be measured)"
    )
    in_group_zh = "无数据：其权重" + pct + "按比例分配给其他" + grp_zh + "指标"
    other_zh = "无数据：" + grp_zh + "指标均无数据，其权重" + pct + "按比例分配给其他类别"
    d["note"] = np.where(avail, "", np.where(group_ok > 0, in_group, other))
    d["note_zh"] = np.where(avail, "", np.where(group_ok > 0, in_group_zh, other_zh))
    d["contribution"] = 100.0 * d["effective_weight"] * d["normalised"].fillna(0.0)
    return d


@dataclass(frozen=True)
class Scorecard:
    """Weighted KPI scores of the reps for one period.

    Attributes
    ----------
    period : str
    start, end, as_of : Timestamp
    weight_set : str
    ceiling : float
    table : DataFrame
        One row per rep, best first: ``rank, rep_id, name, team_id, score, team_rank,
        team_size, percentile, quartile`` (1 = top), ``tenure_months, newcomer``,
        one ``<kpi>`` column per KPI with its contribution, and ``notes``.
    detail : DataFrame
        Long, per rep and KPI (see :func:`score_kpis`) plus ``label, label_zh,
        team_value, target_basis``.
    """

    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    as_of: pd.Timestamp
    weight_set: str
    ceiling: float
    table: pd.DataFrame = field(repr=False)
    detail: pd.DataFrame = field(repr=False)
    #: Teams left out because they are evaluated on another cycle (a month's scorecard
    #: leaves out the teams evaluated quarterly; see :func:`cycle_of`).
    other_cycle: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Scorecard({self.period}, weight set {self.weight_set!r}, {len(self.table)} reps, "
            f"as of {self.as_of.date()})"
        )

    def explain(self, rep_id: str, lang: str = "en") -> str:
        """The score of one rep, KPI by KPI, in words."""
        row = self.table.set_index("rep_id").loc[rep_id]
        d = self.detail[self.detail["rep_id"] == rep_id]
        zh = lang == "zh-CN"
        lines = [
            (
                f"{row['name']}：{self.period} 综合得分 {row['score']:.1f}，"
                f"排名 {int(row['rank'])}/{len(self.table)}"
                f"（团队内 {int(row['team_rank'])}/{int(row['team_size'])}）"
            )
            if zh
            else (
                f"{row['name']}: {self.period} score {row['score']:.1f}, "
                f"rank {int(row['rank'])} of {len(self.table)} "
                f"({int(row['team_rank'])} of {int(row['team_size'])} in the team)"
            )
        ]
        cur = text.company_currency()
        for r in d.itertuples():
            lab = r.label_zh if zh else r.label
            if r.normalised != r.normalised:
                lines.append(f"  {lab}: –  ({r.note_zh if zh else r.note})")
                continue
            cap = (" 已封顶" if zh else " capped") if r.capped else ""
            lines.append(
                f"  {lab}: {text.value(r.kpi, r.value, lang, cur)} / "
                f"{text.value(r.kpi, r.target, lang, cur)} = {r.ratio:.0%}{cap} × "
                f"{r.effective_weight:.1%} → {r.contribution:.1f}"
            )
        return "\n".join(lines)


def _tenure_months(hire, day: pd.Timestamp) -> np.ndarray:
    h = pd.to_datetime(pd.Series(hire))
    return ((day - h).dt.days / 30.4375).to_numpy(dtype=float)


def scorecard(
    data: DataLike,
    period,
    *,
    weight_set: str | None = None,
    as_of=None,
    within: str | None = None,
    params=None,
) -> Scorecard:
    """Score every rep for a period.

    Parameters
    ----------
    data : Dataset or Facts
    period : str, tuple or Window
        ``2026-10`` (monthly cycle), ``2026-Q3`` (quarterly), any range.
    weight_set : str, optional
        A set under ``weight_sets`` (default: ``active``), e.g. ``saas``.
    as_of : date-like, optional
        Score to this day (default: the data's ``as_of``).
    within : str, optional
        Only reps at or below this org node (team averages stay the whole team's).
    params : ScorecardParams, optional
        Default: ``params/scorecard.yaml``.
    """
    f = prepare(data)
    sp = _params(params)
    if f.visit_rating_bar != sp.visit_rating_bar:
        f = prepare(f, visit_rating_bar=sp.visit_rating_bar)
    name, ws = _weight_set(sp, weight_set)
    win = as_window(period)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    vals = kpi_values(f, win, as_of=t, params=sp)
    d = score_kpis(vals, ws, sp.ceiling)
    labels = {
        k.name: (
            k.label or text.metric_name(k.name),
            k.label_zh or text.metric_name(k.name, "zh-CN"),
        )
        for k in ws.kpis
    }
    d["label"] = d["kpi"].map({k: v[0] for k, v in labels.items()})
    d["label_zh"] = d["kpi"].map({k: v[1] for k, v in labels.items()})
    # A month's scorecard is the monthly evaluation: teams evaluated quarterly are not in
    # it (a quarter's scorecard has everyone: a quarter is a window for monthly teams too).
    other: tuple[str, ...] = ()
    if period_kind(win.label) == "monthly" and sp.team_cycles:
        quarterly = {t for t in d["team_id"].dropna().unique() if cycle_of(t, sp) == "quarterly"}
        other = tuple(sorted(quarterly))
        d = d[~d["team_id"].isin(quarterly)]
    if within is not None:
        d = d[d["rep_id"].isin(f.members(within))]
    score = d.groupby("rep_id", sort=False)["contribution"].sum()
    has = d.groupby("rep_id", sort=False)["effective_weight"].sum() > 0
    score = score.where(has)
    first = d.drop_duplicates("rep_id").set_index("rep_id")
    table = pd.DataFrame(
        {
            "rep_id": score.index,
            "name": first["name"].reindex(score.index).to_numpy(),
            "team_id": first["team_id"].reindex(score.index).to_numpy(),
            "score": score.to_numpy(),
        }
    )
    revenue = vals[vals["kpi"] == "revenue"].set_index("rep_id")["value"]
    table["_rev"] = table["rep_id"].map(revenue)
    table = table.sort_values(["score", "_rev"], ascending=False, na_position="last").reset_index(
        drop=True
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["team_rank"] = table.groupby("team_id").cumcount() + 1
    table["team_size"] = table.groupby("team_id")["rep_id"].transform("size")
    table["percentile"] = table["score"].rank(pct=True, method="max")
    table["quartile"] = np.where(
        table["score"].isna(),
        np.nan,
        4 - np.minimum(3, np.floor(table["percentile"] * 4 - 1e-9)).astype(float),
    )
    end_day = min(t, win.end)
    hire = f.reps.set_index("rep_id")["hire_date"]
    table["tenure_months"] = _tenure_months(table["rep_id"].map(hire), end_day)
    table["newcomer"] = table["tenure_months"] < sp.newcomer_months
    wide = d.pivot_table(index="rep_id", columns="kpi", values="contribution", aggfunc="sum")
    for k in ws.kpis:
        table[k.name] = table["rep_id"].map(wide[k.name]) if k.name in wide else np.nan
    notes = (
        d[d["note"] != ""]
        .groupby("rep_id")["note"]
        .apply(lambda s: "; ".join(f"{k}: {n}" for k, n in zip(d.loc[s.index, "kpi"], s)))
    )
    table["notes"] = table["rep_id"].map(notes).fillna("")
    table = table.drop(columns="_rev")
    detail_cols = [
        "rep_id",
        "name",
        "team_id",
        "kpi",
        "label",
        "label_zh",
        "group",
        "value",
        "team_value",
        "target",
        "target_basis",
        "ratio",
        "normalised",
        "capped",
        "weight",
        "effective_weight",
        "contribution",
        "note",
        "note_zh",
    ]
    return Scorecard(
        period=win.label,
        start=win.start,
        end=win.end,
        as_of=t,
        weight_set=name,
        ceiling=sp.ceiling,
        table=table,
        detail=d[detail_cols].reset_index(drop=True),
        other_cycle=other,
    )


# --------------------------------------------------------------------------- cycles


def cycle_of(team_id: str, params=None) -> str:
    """The evaluation cycle of a team: ``monthly`` (FMCG, retail) or ``quarterly``."""
    sp = _params(params)
    return sp.team_cycles.get(team_id, sp.default_cycle)


def params_key(params=None) -> str:
    """A short digest of the scorecard parameters in force (``params/scorecard.yaml`` by
    default): results remembered for a dataset are keyed by it, so an edited file (or
    another params folder) is never answered from a memory of the old one."""
    import hashlib

    return hashlib.sha256(_params(params).model_dump_json().encode()).hexdigest()[:16]


def period_kind(period) -> str | None:
    """``monthly`` for a month label (``2026-10``), ``quarterly`` for a quarter
    (``2026-Q3``), else None (a range, a year)."""
    label = str(getattr(period, "label", period))
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return "monthly"
    if re.fullmatch(r"\d{4}-Q[1-4]", label):
        return "quarterly"
    return None


def evaluation_period(data: DataLike, rep_id: str, period, params=None) -> str:
    """The period ``rep_id`` is evaluated for when their review is for ``period``:
    ``period`` itself, except that a rep of a team evaluated quarterly, reviewed on a
    month, is evaluated for the last quarter closed by that month's end (``2026-10`` →
    ``2026-Q3``; ``2026-12`` → ``2026-Q4``)."""
    label = str(getattr(period, "label", period))
    if period_kind(label) != "monthly":
        return label
    f = prepare(data)
    team = f.reps.set_index("rep_id")["team_id"].get(rep_id)
    if team is None or cycle_of(team, params) != "quarterly":
        return label
    return last_period("quarterly", pd.Period(label, "M").end_time.normalize())


def last_period(cycle: str, as_of) -> str:
    """The last period of a cycle that ended on or before ``as_of`` (``2026-10``, ``2026-Q3``)."""
    t = pd.Timestamp(as_of)
    if cycle == "monthly":
        p = t.to_period("M")
        if t != p.end_time.normalize():
            p -= 1
        return f"{p.year}-{p.month:02d}"
    if cycle == "quarterly":
        p = t.to_period("Q")
        if t != p.end_time.normalize():
            p -= 1
        return f"{p.year}-Q{p.quarter}"
    raise ValueError(f"cycle must be 'monthly' or 'quarterly'; got {cycle!r}")


@dataclass(frozen=True)
class Milestone:
    """A milestone for a new market: ``target`` of ``metric`` within ``months`` of ``start``.

    Examples
    --------
    >>> Milestone("T-CQ", target=10, start="2026-09-01", months=3)
    Milestone(T-CQ: 10 new_customers by 2026-11-30, from 2026-09-01)
    """

    node_id: str
    target: float = 10
    start: object = None
    months: int = 3
    metric: str = "new_customers"
    name: str = ""

    def __post_init__(self):
        if self.start is None:
            raise ValueError("a milestone needs a start date")
        object.__setattr__(self, "start", pd.Timestamp(self.start).normalize())
        if self.months < 1:
            raise ValueError(f"months must be at least 1; got {self.months}")
        if not self.target > 0:
            raise ValueError(f"target must be above 0; got {self.target}")
        if self.metric not in ("new_customers", "revenue", "deals_won", "qualified_visits"):
            raise ValueError(
                "metric must be one of new_customers, revenue, deals_won, "
                f"qualified_visits; got {self.metric!r}"
            )

    @property
    def deadline(self) -> pd.Timestamp:
        return (self.start + pd.DateOffset(months=self.months) - pd.Timedelta(days=1)).normalize()

    def __repr__(self) -> str:
        return (
            f"Milestone({self.node_id}: {self.target:g} {self.metric} by {self.deadline.date()}, "
            f"from {self.start.date()})"
        )


def milestone_progress(
    data: DataLike, milestones: Milestone | Iterable[Milestone], *, as_of=None
) -> pd.DataFrame:
    """Progress of milestone goals (SPEC R12: "10 seed customers within 3 months").

    Returns
    -------
    DataFrame
        ``node_id, name, metric, target, start, deadline, actual, expected`` (linear in
        working days), ``progress`` (actual / target), ``achieved_on`` (the day the
        target was reached), ``status``: ``achieved``, ``on_track``, ``behind``,
        ``missed`` or ``not_started``.
    """
    f = prepare(data)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    items = [milestones] if isinstance(milestones, Milestone) else list(milestones)
    rows = []
    for ms in items:
        members = set(f.members(ms.node_id))
        upto = min(t, ms.deadline)
        if ms.metric == "new_customers":
            w = window_rows(f.won, ms.start, upto)
            w = w[w["rep_id"].isin(members) & (w["deal_type"] == "new_customer")]
            firsts = w.drop_duplicates("customer_id")["date"]
            actual, cum = float(len(firsts)), np.arange(1, len(firsts) + 1)
            dates = firsts.to_numpy()
        elif ms.metric in ("revenue", "deals_won"):
            w = window_rows(f.won, ms.start, upto)
            w = w[w["rep_id"].isin(members)]
            vals = w["amount"].to_numpy(dtype=float) if ms.metric == "revenue" else np.ones(len(w))
            cum, dates, actual = np.cumsum(vals), w["date"].to_numpy(), float(vals.sum())
        else:
            w = window_rows(f.visits, ms.start, upto)
            w = w[w["rep_id"].isin(members) & w["qualified"]]
            cum, dates, actual = np.arange(1, len(w) + 1), w["date"].to_numpy(), float(len(w))
        hit = np.flatnonzero(cum >= ms.target)
        achieved_on = pd.Timestamp(dates[hit[0]]) if len(hit) else pd.NaT
        pace = f.calendar.pace_fraction(ms.start, ms.deadline, t) if t >= ms.start else 0.0
        expected = ms.target * (pace if pace == pace else 0.0)
        if t < ms.start:
            status = "not_started"
        elif achieved_on is not pd.NaT and not pd.isna(achieved_on):
            status = "achieved"
        elif t >= ms.deadline:
            status = "missed"
        else:
            status = "on_track" if actual >= expected else "behind"
        nm = (
            f.nodes.drop_duplicates("node_id")
            .set_index("node_id")["name"]
            .get(ms.node_id, ms.node_id)
        )
        rows.append(
            dict(
                node_id=ms.node_id,
                name=ms.name or nm,
                metric=ms.metric,
                target=ms.target,
                start=ms.start,
                deadline=ms.deadline,
                actual=actual,
                expected=expected,
                progress=actual / ms.target,
                achieved_on=achieved_on,
                status=status,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "node_id",
            "name",
            "metric",
            "target",
            "start",
            "deadline",
            "actual",
            "expected",
            "progress",
            "achieved_on",
            "status",
        ],
    )


# --------------------------------------------------------------------------- honours


_AWARDS = {
    "top_seller": ("Top seller", "销售冠军"),
    "best_newcomer": ("Best newcomer", "最佳新人"),
    "customer_reputation": ("Customer reputation award", "客户口碑奖"),
    "exploration": ("Exploration award", "探索奖"),
}


def honours(
    data: DataLike,
    period,
    *,
    card: Scorecard | None = None,
    nominations: pd.DataFrame | None = None,
    params=None,
    as_of=None,
) -> pd.DataFrame:
    """The period's honours (SPEC R15).

    * **Top seller** — the most revenue won in the period, company-wide and in each team.
    * **Best newcomer** — the best score among reps with tenure below ``newcomer_months``.
    * **Customer reputation** — the best NPS with at least ``min_nps_responses``
      answers (ties: the better average visit rating).
    * **Exploration** — from ``nominations`` (columns ``rep_id, period, approach`` and
      optionally ``evidence``): a documented new approach (``approach`` not empty)
      by a rep who **missed** the period's target. The missed target carries no
      penalty: :func:`promotion_candidates` excuses that period.

    Returns
    -------
    DataFrame
        ``award, award_name, award_name_zh, scope`` (``company`` or a team id),
        ``rep_id, name, team_id, value, reason, reason_zh``.
    """
    f = prepare(data)
    sp = _params(params)
    card = card or scorecard(f, period, as_of=as_of, params=sp)
    cur = text.company_currency()
    m = metrics(f, period, level="rep", as_of=card.as_of).set_index("node_id")
    tab = card.table.set_index("rep_id")
    reps = tab.index
    rows = []

    def add(award, scope, rid, value, reason, reason_zh):
        en, zh = _AWARDS[award]
        rows.append(
            dict(
                award=award,
                award_name=en,
                award_name_zh=zh,
                scope=scope,
                rep_id=rid,
                name=tab.at[rid, "name"],
                team_id=tab.at[rid, "team_id"],
                value=value,
                reason=reason,
                reason_zh=reason_zh,
            )
        )

    rev = m["revenue"].reindex(reps)
    if rev.notna().any() and rev.max() > 0:
        rid = rev.idxmax()
        add(
            "top_seller",
            "company",
            rid,
            float(rev[rid]),
            f"{text.money(rev[rid], 'en', cur)} won in {card.period}, the most in the company",
            f"{card.period}成交{text.money(rev[rid], 'zh-CN', cur)}，全公司第一",
        )
        for team, idx in tab.groupby("team_id").groups.items():
            r = rev.reindex(idx)
            if r.notna().any() and r.max() > 0:
                rid = r.idxmax()
                add(
                    "top_seller",
                    team,
                    rid,
                    float(r[rid]),
                    f"{text.money(r[rid], 'en', cur)} won in {card.period}, the most in the team",
                    f"{card.period}成交{text.money(r[rid], 'zh-CN', cur)}，团队第一",
                )
    new = tab[tab["newcomer"] & tab["score"].notna()]
    if len(new):
        rid = new["score"].idxmax()
        add(
            "best_newcomer",
            "company",
            rid,
            float(new.at[rid, "score"]),
            f"score {new.at[rid, 'score']:.1f} after {new.at[rid, 'tenure_months']:.0f} months, "
            f"the best of {len(new)} newcomers",
            f"入职{new.at[rid, 'tenure_months']:.0f}个月，综合得分{new.at[rid, 'score']:.1f}，"
            f"{len(new)}名新人中最高",
        )
    resp = m["nps_responses"].reindex(reps)
    nps = m["nps"].reindex(reps).where(resp >= sp.min_nps_responses)
    if nps.notna().any():
        vis = window_rows(f.visits, card.start, card.as_of)
        rating = vis.groupby("rep_id")["rating"].mean().reindex(reps)
        order = pd.DataFrame({"nps": nps, "rating": rating}).dropna(subset=["nps"])
        rid = order.sort_values(["nps", "rating"], ascending=False).index[0]
        add(
            "customer_reputation",
            "company",
            rid,
            float(nps[rid]),
            f"NPS {nps[rid]:+.0f} from {int(resp[rid])} customers, visit rating "
            f"{rating.get(rid, float('nan')):.2f}",
            f"{int(resp[rid])}位客户评价，NPS {nps[rid]:+.0f}，"
            f"拜访评分{rating.get(rid, float('nan')):.2f}",
        )
    if nominations is not None and len(nominations):
        need = {"rep_id", "period", "approach"}
        missing = need - set(nominations.columns)
        if missing:
            raise ValueError(f"nominations needs columns {sorted(need)}; missing {sorted(missing)}")
        noms = nominations[nominations["period"].astype(str) == card.period]
        for r in noms.itertuples():
            approach = str(r.approach).strip() if isinstance(r.approach, str) else ""
            if not approach or r.rep_id not in reps:
                continue
            att = m["attainment"].get(r.rep_id, np.nan)
            if not att < 1.0:
                continue  # met the target: not what the award is for
            add(
                "exploration",
                "company",
                r.rep_id,
                float(att),
                f"documented a new approach ({approach}) and missed the target "
                f"({att:.0%}): no penalty",
                f"记录并尝试了新方法（{approach}），目标达成{att:.0%}未达标：不予扣罚",
            )
    return pd.DataFrame(
        rows,
        columns=[
            "award",
            "award_name",
            "award_name_zh",
            "scope",
            "rep_id",
            "name",
            "team_id",
            "value",
            "reason",
            "reason_zh",
        ],
    )


def promotion_candidates(
    data: DataLike,
    period: str,
    *,
    periods: int | None = None,
    nominations: pd.DataFrame | None = None,
    params=None,
    weight_set: str | None = None,
) -> pd.DataFrame:
    """Reps in the top quartile of the score ``periods`` periods running (SPEC R15).

    The last period is ``period`` (a month or a quarter); the run counts back from it.
    A period for which the rep won the exploration award is excused (it neither counts
    nor breaks the run), so a documented experiment that missed carries no penalty.

    Returns
    -------
    DataFrame
        ``rep_id, name, team_id, periods, scores, worst_percentile, next_role``
        (``supervisor`` for a rep) — one row per candidate.
    """
    f = prepare(data)
    sp = _params(params)
    n = sp.promotion_periods if periods is None else int(periods)
    plist = previous_periods(period, n)
    bar = sp.promotion_quantile
    excused = set()
    if nominations is not None and len(nominations):
        for p in plist:
            h = honours(f, p, nominations=nominations, params=sp)
            excused |= {(p, r) for r in h.loc[h["award"] == "exploration", "rep_id"]}
    top: dict[str, list] = {}
    names, teams, seen = {}, {}, {}
    for p in plist:
        card = scorecard(f, p, weight_set=weight_set, params=sp)
        tab = card.table.dropna(subset=["score"])
        for r in tab.itertuples():
            names[r.rep_id], teams[r.rep_id] = r.name, r.team_id
            seen.setdefault(r.rep_id, []).append((p, r.score, r.percentile))
    rows = []
    for rid, hist in seen.items():
        by = {p: (s, pc) for p, s, pc in hist}
        ok = True
        used = []
        for p in plist:
            if (p, rid) in excused:
                continue
            if p not in by or not by[p][1] > bar:  # top quartile: above the 75th percentile
                ok = False
                break
            used.append(p)
        if ok and used:
            rows.append(
                dict(
                    rep_id=rid,
                    name=names[rid],
                    team_id=teams[rid],
                    periods=", ".join(used),
                    scores=", ".join(f"{by[p][0]:.1f}" for p in used),
                    worst_percentile=min(by[p][1] for p in used),
                    next_role="supervisor",
                )
            )
    del top
    return pd.DataFrame(
        rows,
        columns=["rep_id", "name", "team_id", "periods", "scores", "worst_percentile", "next_role"],
    )


# --------------------------------------------------------------------------- review pack


@dataclass(frozen=True)
class ReviewPack:
    """The one-to-one review of a rep (SPEC R16), generated from data.

    Attributes
    ----------
    rep_id, name, name_zh, team_id, period : str
    score : float
    rank, team_rank, team_size, reps : int
    strengths, gaps : DataFrame
        ``kpi, label, label_zh, value, team_value, diff`` (relative to the team),
        ``sentence, sentence_zh``; strongest / widest first.
    targets : DataFrame
        Next period's improvement targets: ``kpi, label, label_zh, current, target,
        basis, sentence, sentence_zh``.
    support : DataFrame
        ``kind`` (training, mentoring, leads, delivery, coaching), ``offer, offer_zh``.
    classification : str
        From :func:`simlib.tracking.diagnose`.
    """

    rep_id: str
    name: str
    name_zh: str
    team_id: str
    period: str
    next_period: str
    score: float
    rank: int
    reps: int
    team_rank: int
    team_size: int
    classification: str
    strengths: pd.DataFrame = field(repr=False)
    gaps: pd.DataFrame = field(repr=False)
    targets: pd.DataFrame = field(repr=False)
    support: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"ReviewPack({self.rep_id} {self.name}, {self.period}: score {self.score:.1f}, "
            f"{len(self.strengths)} strengths, {len(self.gaps)} gaps)"
        )

    def to_markdown(self, lang: str = "en") -> str:
        """The review pack as a short Markdown document in ``lang`` (``en``/``zh-CN``)."""
        zh = lang == "zh-CN"
        if lang not in ("en", "zh-CN"):
            raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
        col = "sentence_zh" if zh else "sentence"
        name = self.name_zh if zh and self.name_zh else self.name
        out = [f"# {name} — {'绩效面谈' if zh else 'Performance review'} {self.period}", ""]
        out.append(
            f"{'综合得分' if zh else 'Score'}: **{self.score:.1f}** — "
            + (
                f"全公司第{self.rank}/{self.reps}名，团队第{self.team_rank}/{self.team_size}名"
                if zh
                else f"rank {self.rank} of {self.reps}, {self.team_rank} of "
                f"{self.team_size} in the team"
            )
        )
        for title, frame in (
            (("优势", "Strengths"), self.strengths),
            (("待改进", "Gaps"), self.gaps),
            (("下期改进目标", f"Targets for {self.next_period}"), self.targets),
        ):
            out += ["", f"## {title[0] if zh else title[1]}", ""]
            out += [f"- {s}" for s in frame[col]] or [("- 无" if zh else "- none")]
        out += ["", f"## {'支持措施' if zh else 'Support offered'}", ""]
        out += [f"- {s}" for s in self.support["offer_zh" if zh else "offer"]] or [
            ("- 无" if zh else "- none")
        ]
        return "\n".join(out) + "\n"


def review_pack(
    data: DataLike,
    rep_id: str,
    period,
    *,
    card: Scorecard | None = None,
    params=None,
    margin: float = 0.05,
) -> ReviewPack:
    """Build a rep's review pack for a period, in English and Chinese.

    * **Strengths**: KPIs at least ``margin`` (5%) above the team average.
    * **Gaps**: KPIs at least ``margin`` below it, stated with data ("lead conversion
      15% below the team average (8.0% vs 9.4%)").
    * **Targets** for the next period: revenue = the next period's quota; each gap =
      close half of the distance to the team average.
    * **Support**: from the rep's diagnosis (:func:`simlib.tracking.diagnose`):
      mentoring by the team's top seller and training for a capability gap, more leads
      (and faster delivery) for a resource gap, plus training on each gap KPI.
    """
    f = prepare(data)
    sp = _params(params)
    card = card or scorecard(f, period, params=sp)
    tab = card.table.set_index("rep_id")
    if rep_id not in tab.index:
        raise ValueError(
            f"{rep_id!r} has no scorecard for {card.period}: not a rep employed in the period"
        )
    row = tab.loc[rep_id]
    d = card.detail[card.detail["rep_id"] == rep_id].copy()
    cur = text.company_currency()
    # compare with the team on the KPI's own scale (revenue: attainment)
    d["cmp_value"] = d["value"]
    d["cmp_team"] = d["team_value"]
    rev = d["kpi"] == "revenue"
    d.loc[rev, "cmp_value"] = d.loc[rev, "value"] / d.loc[rev, "target"]
    d.loc[rev, "cmp_team"] = d.loc[rev, "team_value"] / d.loc[rev, "target"]
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = d["kpi"] == "nps"
        diff = np.where(
            nps,
            (d["cmp_value"] - d["cmp_team"]) / 100.0,
            (d["cmp_value"] - d["cmp_team"]) / d["cmp_team"].abs(),
        )
    d["diff"] = diff

    def shown(kpi, v):
        return text.value("attainment" if kpi == "revenue" else kpi, v, "en", cur)

    def sentence(r, lang):
        lab = r.label_zh if lang == "zh-CN" else r.label
        v, tv = shown(r.kpi, r.cmp_value), shown(r.kpi, r.cmp_team)
        if r.kpi == "nps":
            amount = f"{abs(r.cmp_value - r.cmp_team):.0f} {'分' if lang == 'zh-CN' else 'points'}"
        else:
            amount = text.pct(abs(r.diff), 0)
        if lang == "zh-CN":
            word = "高于" if r.diff > 0 else "低于"
            return f"{lab}{word}团队平均{amount}（{v}，团队{tv}）"
        word = "above" if r.diff > 0 else "below"
        return f"{lab} {amount} {word} the team average ({v} vs {tv})"

    judged = d[d["diff"].notna() & d["cmp_team"].notna()]
    strong = judged[judged["diff"] >= margin].sort_values("diff", ascending=False)
    weak = judged[judged["diff"] <= -margin].sort_values("diff")

    def frame(x):
        return pd.DataFrame(
            {
                "kpi": x["kpi"],
                "label": x["label"],
                "label_zh": x["label_zh"],
                "value": x["cmp_value"],
                "team_value": x["cmp_team"],
                "diff": x["diff"],
                "sentence": [sentence(r, "en") for r in x.itertuples()],
                "sentence_zh": [sentence(r, "zh-CN") for r in x.itertuples()],
            }
        ).reset_index(drop=True)

    strengths, gaps = frame(strong), frame(weak)
    nxt = shift(card.period, 1) if len(card.period) in (4, 7) else card.period
    trows = []
    try:
        nw = as_window(nxt)
        q = spread_targets(f, nw.start, nw.end, nw.end, owners=[rep_id])
        quota = float(q["target"].iloc[0]) if len(q) else float("nan")
    except ValueError:
        quota = float("nan")
    if quota == quota:
        trows.append(
            dict(
                kpi="revenue",
                label=d.loc[rev, "label"].iloc[0] if rev.any() else "Revenue",
                label_zh=d.loc[rev, "label_zh"].iloc[0] if rev.any() else "销售额",
                current=float(d.loc[rev, "value"].iloc[0]) if rev.any() else float("nan"),
                target=quota,
                basis="quota",
                sentence=f"Revenue: quota {text.money(quota, 'en', cur)} for {nxt}",
                sentence_zh=f"销售额：{nxt}指标{text.money(quota, 'zh-CN', cur)}",
            )
        )
    for r in weak.itertuples():
        if r.kpi == "revenue":
            continue
        goal = r.cmp_value + 0.5 * (r.cmp_team - r.cmp_value)
        trows.append(
            dict(
                kpi=r.kpi,
                label=r.label,
                label_zh=r.label_zh,
                current=r.cmp_value,
                target=goal,
                basis="half the gap to the team average",
                sentence=f"{r.label}: from {shown(r.kpi, r.cmp_value)} to "
                f"{shown(r.kpi, goal)} (half the gap to the team's {shown(r.kpi, r.cmp_team)})",
                sentence_zh=f"{r.label_zh}：由{shown(r.kpi, r.cmp_value)}提升至"
                f"{shown(r.kpi, goal)}（缩小与团队平均{shown(r.kpi, r.cmp_team)}差距的一半）",
            )
        )
    targets = pd.DataFrame(
        trows,
        columns=[
            "kpi",
            "label",
            "label_zh",
            "current",
            "target",
            "basis",
            "sentence",
            "sentence_zh",
        ],
    )
    diag = diagnose(f, min(card.as_of, card.end)).set_index("rep_id")
    cls = diag["classification"].get(rep_id, "none")
    srows = []
    if cls in ("capability", "resource", "mixed"):
        kind = {"capability": "mentoring", "resource": "leads", "mixed": "mentoring"}[cls]
        srows.append(
            dict(
                kind=kind,
                offer=diag.at[rep_id, "intervention"],
                offer_zh=diag.at[rep_id, "intervention_zh"],
            )
        )
    training = {
        "lead_conversion": ("lead qualification and follow-up", "线索甄别与跟进"),
        "proposal_acceptance": ("proposal writing and solution selling", "方案撰写与顾问式销售"),
        "qualified_visits": (
            "visit preparation (customers rate the visits)",
            "拜访准备（提升客户评分）",
        ),
        "collection_rate": ("payment terms and collection follow-up", "回款条款与催收跟进"),
        "nps": ("customer care after the sale", "售后客户关怀"),
        "teamwork": ("joining cross-region deals", "跨区域协作"),
        "renewal_rate": ("account management and renewals", "客户经营与续约"),
        "market_share": ("territory planning", "区域市场规划"),
    }
    for r in weak.itertuples():
        if r.kpi in training:
            en, zh = training[r.kpi]
            srows.append(dict(kind="training", offer=f"Training: {en}", offer_zh=f"专项培训：{zh}"))
    if not srows:
        srows.append(
            dict(
                kind="coaching",
                offer="Regular one-to-one coaching with the manager",
                offer_zh="主管定期一对一辅导",
            )
        )
    support = pd.DataFrame(srows, columns=["kind", "offer", "offer_zh"])
    name_zh = f.reps.set_index("rep_id")["name_zh"].get(rep_id) or row["name"]
    return ReviewPack(
        rep_id=rep_id,
        name=row["name"],
        name_zh=name_zh,
        team_id=row["team_id"],
        period=card.period,
        next_period=nxt,
        score=float(row["score"]),
        rank=int(row["rank"]),
        reps=len(tab),
        team_rank=int(row["team_rank"]),
        team_size=int(row["team_size"]),
        classification=cls,
        strengths=strengths,
        gaps=gaps,
        targets=targets,
        support=support,
    )


# --------------------------------------------------------------------------- CLI

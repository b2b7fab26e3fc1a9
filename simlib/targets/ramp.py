"""How fast new hires really ramp: bookings by month of tenure, from the company's data.

The cascade's capacity method assumes a linear ramp over ``ramp_months`` (the plan's
word), and the pipeline forecast ramps a new hire's deal creation over
:data:`simlib.pipeline.RAMP_DAYS`. Bookings lag both by the sales cycle. This module
measures the ramp the data show, so the workshop can put the two side by side and a
director sees a ramping rep's quarters as the company's own hires went:

* for every rep hired inside the data (at least one full month of data before the hire,
  so the month is a start, not the data's beginning), each month's won revenue divided
  by the mean of the *tenured* reps (a year or more in) in the same calendar month —
  which removes the season;
* averaged over those hires by month of tenure (0 = the month of hire), smoothed with a
  centred three-month mean;
* ``months_to_full``: the first month at 90% of the tenured level or more from which
  the smoothed ratio also averages that (None when the data do not show it yet).

>>> import pandas as pd
>>> ratio = pd.Series([0.0, 0.1, 0.3, 0.5, 0.8, 0.95, 1.0, 0.88, 1.05])
>>> _months_to_full(ratio)
5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FULL", "ObservedRamp", "observed_ramp", "ramp_reps"]

#: The share of the tenured level at which a hire counts as ramped.
FULL = 0.9
#: Months of tenure after which a rep counts as tenured (the reference).
TENURED_MONTHS = 12
#: Fewest hires a month of tenure needs for its ratio to be shown.
MIN_HIRES = 2


@dataclass(frozen=True)
class ObservedRamp:
    """The ramp the data show.

    Attributes
    ----------
    curve : DataFrame
        ``month`` (of tenure, 0 = the month of hire), ``ratio`` (hires' won revenue ÷ the
        tenured reps' mean that calendar month), ``smoothed``, ``hires`` (how many hires
        the month averages).
    months_to_full : int or None
    hires : tuple of str
        The reps whose first months are in the data.
    """

    curve: pd.DataFrame
    months_to_full: int | None
    hires: tuple[str, ...]

    def share(self, month: int) -> float:
        """The expected share of a tenured rep's bookings in month ``month`` of tenure
        (1.0 from ``months_to_full`` on; NaN when the data cannot say)."""
        if month < 0:
            return 0.0
        if self.months_to_full is not None and month >= self.months_to_full:
            return 1.0
        row = self.curve[self.curve["month"] == month]
        if row.empty or not row["hires"].iloc[0] >= MIN_HIRES:
            return float("nan")
        return float(min(row["smoothed"].iloc[0], 1.0))


def _months_to_full(smoothed: pd.Series) -> int | None:
    """The first month at the full level whose months from then on average it too (a
    single month of noise after it does not undo the ramp)."""
    v = smoothed.to_numpy(float)
    for m in range(len(v)):
        if v[m] >= FULL and v[m:].mean() >= FULL:
            return int(smoothed.index[m])
    return None


def observed_ramp(data, as_of=None, *, max_months: int = 18) -> ObservedRamp:
    """The ramp of the hires whose first months are in ``data`` (see the module docstring).

    Parameters
    ----------
    data : Dataset
    as_of : date-like, optional
        Nothing after it is read (default: the data's ``as_of``); only whole months
        before it count.
    max_months : int
        The months of tenure measured.
    """
    t = pd.Timestamp(as_of if as_of is not None else data.as_of).normalize()
    last = (t + pd.Timedelta(days=1)).to_period("M") - 1  # the last whole month
    opp = data.opportunities
    won = opp[(opp["stage"] == "won") & opp["close_date"].notna() & (opp["close_date"] <= t)]
    reps = data.reps
    sellers = reps[reps["role"] == "rep"] if "role" in reps else reps
    hire = pd.to_datetime(sellers.set_index("rep_id")["hire_date"])
    if won.empty:
        return ObservedRamp(pd.DataFrame(columns=["month", "ratio", "smoothed", "hires"]), None, ())
    first = won["close_date"].min().to_period("M")
    months = pd.period_range(first, last, freq="M")
    by = (
        won.assign(m=won["close_date"].dt.to_period("M"))
        .groupby(["owner_id", "m"])["amount"]
        .sum()
        .unstack("m")
        .reindex(index=hire.index, columns=months)
        .fillna(0.0)
    )
    hire_m = hire.dt.to_period("M")
    hires = [r for r in hire.index if pd.notna(hire[r]) and first < hire_m[r] <= last]
    rows = []
    for r in hires:
        for k in range(max_months):
            m = hire_m[r] + k
            if m > last:
                break
            tenured = [
                x for x in hire.index if pd.notna(hire[x]) and hire_m[x] <= m - TENURED_MONTHS
            ]
            ref = by.loc[tenured, m].mean() if tenured else np.nan
            if ref > 0:
                rows.append((r, k, by.at[r, m] / ref))
    obs = pd.DataFrame(rows, columns=["rep_id", "month", "ratio"])
    curve = (
        obs.groupby("month")
        .agg(ratio=("ratio", "mean"), hires=("rep_id", "nunique"))
        .reindex(range(max_months))
    )
    curve["hires"] = curve["hires"].fillna(0).astype(int)
    shown = curve["ratio"].where(curve["hires"] >= MIN_HIRES)
    curve["smoothed"] = shown.rolling(3, center=True, min_periods=2).mean()
    measured = curve["smoothed"].dropna()
    full = _months_to_full(measured) if len(measured) else None
    curve = curve.rename_axis("month").reset_index()[["month", "ratio", "smoothed", "hires"]]
    return ObservedRamp(curve, full, tuple(hires))


def ramp_reps(alloc, data, ramp: ObservedRamp | None = None) -> pd.DataFrame:
    """The reps still ramping in the target year, their quarters as the plan and the
    data see them.

    A rep is listed when the plan's ramp (``ramp_months``) or the observed one is not
    complete by the target year's first month.

    Returns
    -------
    DataFrame
        ``rep_id, name, name_zh, team_id, hire_date, months_in`` (at the data's as-of
        date), ``booked_90d`` (won in the last 90 days), for each quarter ``plan_Qn``
        (the plan's FTE share, from the capacity method), ``observed_Qn`` (the observed
        ramp's share of a tenured rep's bookings), ``expected_Qn`` (that share of the
        quarter's mean target of the team's reps with a comparable last year) and
        ``target_Qn``, and ``target``.
    """
    ramp = ramp if ramp is not None else observed_ramp(data, alloc.history.as_of)
    h = alloc.history
    year = int(h.year)
    t = pd.Timestamp(h.as_of)
    frame = alloc.to_frame().set_index("node_id")
    reps = data.reps.set_index("rep_id")
    won = data.opportunities
    won = won[(won["stage"] == "won") & (won["close_date"] <= t)]
    recent = won[won["close_date"] > t - pd.Timedelta(days=90)].groupby("owner_id")["amount"].sum()
    rep_frame = frame[frame["level"] == "rep"]
    comparable = h.comparable.reindex(rep_frame.index).fillna(False).astype(bool)
    tenured_q = rep_frame[comparable].groupby("parent_id")[["Q1", "Q2", "Q3", "Q4"]].mean()
    rows = []
    for r in h.tree.of_level("rep"):
        if r not in reps.index or r not in frame.index:
            continue
        hired = pd.Timestamp(reps.at[r, "hire_date"])
        if pd.isna(hired):
            continue
        start_k = (pd.Period(f"{year}-01", "M") - hired.to_period("M")).n
        plan = h.fte.loc[r].to_numpy(float) if r in h.fte.index else np.ones(12)
        observed = np.array([ramp.share(start_k + i) for i in range(12)])
        if plan.min() >= 1.0 and not (observed[~np.isnan(observed)] < 1.0).any():
            continue
        row = {
            "rep_id": r,
            "name": frame.at[r, "name"],
            "name_zh": frame.at[r, "name_zh"],
            "team_id": frame.at[r, "parent_id"],
            "hire_date": hired.date(),
            "months_in": (t.to_period("M") - hired.to_period("M")).n,
            "booked_90d": float(recent.get(r, 0.0)),
            "target": float(frame.at[r, "target"]),
        }
        for q in range(4):
            row[f"plan_Q{q + 1}"] = float(plan[3 * q : 3 * q + 3].mean())
            obs = observed[3 * q : 3 * q + 3]
            row[f"observed_Q{q + 1}"] = float(np.mean(obs)) if not np.isnan(obs).any() else np.nan
            row[f"target_Q{q + 1}"] = float(frame.at[r, f"Q{q + 1}"])
            team = frame.at[r, "parent_id"]
            ref = tenured_q.at[team, f"Q{q + 1}"] if team in tenured_q.index else np.nan
            row[f"expected_Q{q + 1}"] = row[f"observed_Q{q + 1}"] * ref
        rows.append(row)
    cols = ["rep_id", "name", "name_zh", "team_id", "hire_date", "months_in", "booked_90d"]
    cols += [f"{k}_Q{q}" for q in range(1, 5) for k in ("plan", "observed", "expected", "target")]
    return pd.DataFrame(rows, columns=[*cols, "target"])

"""Early warning (SPEC R8): rules checked week by week, each alert diagnosed.

Rules live in ``params/alerts.yaml`` (:class:`simlib.config.AlertParams`); three kinds:

``threshold``  a result against its pace or target: "weekly attainment below 80% of
               pace". Checked every working week on the period to date
               (``pace_to_date``, default the quarter: targets are set per quarter and a
               week's bookings are one to three deals); ``pace_to_date: window`` judges
               the rule's window alone.
``streak``     a KPI below the team average ``periods`` working weeks running: "lead
               conversion below the team average two weeks running".
``relative``   a KPI more than ``below_team_by`` below the team average over the
               window: "qualified visits 30% below the team this month".

How windows and the team are measured

* Checks happen at the end of each **working week** (Monday-Sunday). A calendar week
  with fewer than ``week_min_working_days`` working days — a whole-week holiday such
  as the Spring Festival — is not a week of its own: its days fold into the next week,
  so a streak neither breaks nor advances across it. A short week (National Day:
  three working days before and after) is an ordinary week.
* A *rate* (lead conversion, win rate, proposal acceptance, collection rate, NPS) in a
  weekly rule is measured over the trailing ``rate_lookback_weeks`` working weeks
  (default 4) and is not judged at all when its denominator is below ``min_sample``;
  such a week leaves a streak as it was. Counts use the week itself. A ``month``
  window is the trailing month to the check day, a ``quarter`` the trailing three.
* The **team average** of a rate is the team's pooled rate (its reps' conversions /
  its reps' leads); of a count, what an average member of the team did per working
  day, times the days the rep was employed in the window (new hires and leavers are
  pro-rated).

Each alert carries the numbers and dates that triggered it and a classification
from :func:`diagnose`: a **capability gap** (activity is there, conversion is weak →
mentoring by a top seller, targeted training), a **resource gap** (conversion is fine,
leads or delivery are short → more leads from marketing, faster delivery), both
(``mixed``), an ``activity`` gap, or ``unclear``. Where the eight weeks show no gap,
the alert's own evidence decides: visits far below the team are an activity gap; a
conversion rate below the team's is a capability gap when chance would give it less
than :data:`CHANCE` of the time (else it stays ``unclear`` and says how many leads would
tell); revenue behind pace is a capability gap when deals close much smaller, a
resource gap when the open pipeline is short, else ``timing`` (the deals are still to
come, and the open deals' close dates would tell). An alert clears when its condition
clears; :func:`alert_history` keeps every episode with its raised and cleared dates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simlib.config import load_file
from simlib.tracking import text
from simlib.tracking.dashboard import COUNTS, _components
from simlib.tracking.facts import DataLike, Facts, prepare, spread_targets, window_rows
from simlib.tracking.params import AlertParams

__all__ = [
    "CLASSES",
    "RULE_METRICS",
    "diagnose",
    "check_rules",
    "alert_history",
    "alerts",
    "struggling_reps",
]

#: Rates a rule may name: metric → (numerator, denominator) components.
_RATES: dict[str, tuple[str, str]] = {
    "lead_conversion": ("leads_converted", "leads"),
    "win_rate": ("deals_won", "deals_closed"),
    "proposal_acceptance": ("proposals_accepted", "proposals_decided"),
    "collection_rate": ("collected", "billed"),
    "nps": ("nps_points", "nps_responses"),
}

#: Every metric a rule may name.
RULE_METRICS: tuple[str, ...] = tuple(sorted(set(COUNTS) | set(_RATES)))

#: Classification → (English, Chinese) intervention heading.
CLASSES: dict[str, tuple[str, str]] = {
    "capability": ("capability gap", "能力短板"),
    "resource": ("resource gap", "资源短板"),
    "mixed": ("capability and resource gap", "能力与资源双重短板"),
    "activity": ("activity gap", "活动量不足"),
    "timing": ("timing: the deals are still to come", "时间性：成交在后"),
    "unclear": ("no single cause", "原因待查"),
    "none": ("no gap", "无明显短板"),
}

#: Beta prior strength (pseudo-observations at the team rate) when judging a rep's rate.
SHRINK = 10.0
#: Delivery is a resource gap only when the median win-to-invoice time is this many
#: days (and ``gap_margin``) slower than the team's.
DELIVERY_DAYS = 7


def _params(params) -> AlertParams:
    if params is None:
        return load_file("alerts.yaml", AlertParams)
    if isinstance(params, AlertParams):
        return params
    return AlertParams.model_validate(params)


# --------------------------------------------------------------------------- panels


def _panel(f: Facts, start, end, upto) -> pd.DataFrame:
    """Components per person for ``[start, min(end, upto)]`` with employed working days."""
    n = len(f.reps)
    comp = _components(f, start, end, upto, np.append(np.arange(n), -1), n)
    p = pd.DataFrame(comp, index=pd.Index(f.reps["rep_id"], name="rep_id"))
    p["deals_closed"] = p["deals_won"] + p["deals_lost"]
    p["nps_points"] = 100.0 * (p["promoters"] - p["detractors"])
    u = min(pd.Timestamp(end), pd.Timestamp(upto))
    s = np.datetime64(pd.Timestamp(start).date(), "D")
    u = np.datetime64(u.date(), "D")
    hire = f.reps["hire_date"].fillna(pd.Timestamp("1900-01-01")).to_numpy(dtype="datetime64[D]")
    leave = f.reps["leave_date"].fillna(pd.Timestamp("2200-01-01")).to_numpy(dtype="datetime64[D]")
    p["days"] = f.calendar.working_days_between(np.maximum(hire, s), np.minimum(leave, u))
    p["team_id"] = f.reps["team_id"].to_numpy()
    employed = (hire <= u) & (leave >= s)  # on some calendar day of the window
    p["seller"] = (f.reps["role"] == "rep").to_numpy() & employed
    return p


def _versus_team(p: pd.DataFrame, metric: str, min_sample: int) -> pd.DataFrame:
    """The rep's value, the team average and the sample size, per seller."""
    sellers = p[p["seller"]]
    team = sellers.groupby("team_id")
    if metric in _RATES:
        num, den = _RATES[metric]
        team_rate = team[num].sum() / team[den].sum().where(lambda d: d > 0)
        value = sellers[num] / sellers[den].where(sellers[den] >= min_sample)
        ref = sellers["team_id"].map(team_rate)
        sample = sellers[den]
    else:
        per_day = team[metric].sum() / team["days"].sum().where(lambda d: d > 0)
        value = sellers[metric]
        ref = sellers["team_id"].map(per_day) * sellers["days"]
        sample = sellers["days"]
    return pd.DataFrame(
        {
            "team_id": sellers["team_id"],
            "value": value.astype(float),
            "reference": ref.astype(float),
            "sample": sample.astype(float),
        }
    )


# --------------------------------------------------------------------------- diagnosis


def _shrunk_ratio(k, n, p):
    """(k + s·p) / (n + s) / p: a rep's rate relative to the team's, pulled toward 1."""
    k, n, p = (np.asarray(x, dtype=float) for x in (k, n, p))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p > 0, (k + SHRINK * p) / (n + SHRINK) / p, np.nan)


def _nanmean(rows: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN; NaN where a column has no value (and no warning)."""
    ok = ~np.isnan(rows)
    n = ok.sum(axis=0)
    total = np.where(ok, rows, 0.0).sum(axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _delivery_days(f: Facts, start, upto) -> pd.Series:
    """Median days from a win to its first invoice, per rep, for wins in the window."""
    won = window_rows(f.won, start, upto)
    inv = f.invoices.dropna(subset=["opportunity_id"])
    if won.empty or inv.empty:
        return pd.Series(dtype=float)
    first = pd.to_datetime(inv.groupby("opportunity_id")["issue_date"].min())
    d = (pd.to_datetime(won["opportunity_id"].map(first)) - won["date"]).dt.days
    return d.groupby(won["rep_id"].to_numpy()).median()


def diagnose(
    data: DataLike,
    as_of=None,
    *,
    params=None,
    weeks: int | None = None,
    margin: float | None = None,
    currency: str | None = None,
    reps: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Classify every rep's situation from the last ``weeks`` working weeks.

    Signals, each relative to the rep's team (1.0 = the team's level):

    * ``activity`` — visits per employed working day;
    * ``conversion`` — the mean of lead conversion and win rate, each shrunk toward
      the team rate by :data:`SHRINK` pseudo-observations so that a handful of leads
      cannot make a gap;
    * ``inflow`` — the mean of new leads and new pipeline (amount) per working day;
    * ``delivery`` — median days from a win to its first invoice (higher is slower).

    A signal is a gap when it is ``margin`` worse than the team (default 25%; slower
    delivery must also be :data:`DELIVERY_DAYS` days slower). Conversion weak →
    **capability**; inflow short or delivery slow with conversion fine → **resource**;
    both → **mixed**; only visits low → **activity**; else **none** (an alert on such a
    rep is reported as ``unclear``: no single cause).

    Parameters
    ----------
    data : Dataset or Facts
    as_of : date-like, optional
        The day of the diagnosis (default: the data's ``as_of``).
    params : AlertParams, optional
        ``diagnosis_weeks`` and ``gap_margin`` come from here (``params/alerts.yaml``).
    weeks, margin : optional
        Override the parameters.
    reps : sequence of str, optional
        Only these reps' rows (the team comparisons still use whole teams).

    Returns
    -------
    DataFrame
        One row per rep employed in the window: ``rep_id, name, tenure_months,
        team_id, start, end``,
        the raw and team values (``visits, team_visits, lead_conversion,
        team_lead_conversion, win_rate, team_win_rate, leads, team_leads,
        pipeline_created, team_pipeline_created, delivery_days, team_delivery_days``),
        the indices (``activity, conversion, inflow, delivery``), the weakest
        conversion step, ``classification``, ``mentor_id`` (the team's top seller in the
        window), ``evidence``, ``evidence_zh``, ``intervention``, ``intervention_zh``.
    """
    f = prepare(data)
    ap = _params(params)
    weeks = ap.diagnosis_weeks if weeks is None else int(weeks)
    margin = ap.gap_margin if margin is None else float(margin)
    currency = currency or text.company_currency()
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    start = (
        f.calendar.add_working_days(t, -(5 * weeks - 1))
        if f.calendar.is_working_day(t)
        else f.calendar.add_working_days(t, -(5 * weeks))
    )
    p = _panel(f, start, t, t)
    s = p[p["seller"]].copy()
    team = s.groupby("team_id")
    per_day = lambda c: s["team_id"].map(team[c].sum() / team["days"].sum()) * s["days"]  # noqa: E731
    pooled = lambda a, b: s["team_id"].map(team[a].sum() / team[b].sum().where(lambda d: d > 0))  # noqa: E731

    out = pd.DataFrame(index=s.index)
    out["team_id"] = s["team_id"]
    out["start"], out["end"] = start, t
    out["visits"], out["team_visits"] = s["visits"], per_day("visits")
    out["leads"], out["team_leads"] = s["leads"], per_day("leads")
    out["pipeline_created"], out["team_pipeline_created"] = (
        s["pipeline_created"],
        per_day("pipeline_created"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["lead_conversion"] = s["leads_converted"] / s["leads"].where(s["leads"] > 0)
        out["win_rate"] = s["deals_won"] / s["deals_closed"].where(s["deals_closed"] > 0)
        out["proposal_acceptance"] = s["proposals_accepted"] / s["proposals_decided"].where(
            s["proposals_decided"] > 0
        )
        out["team_lead_conversion"] = pooled("leads_converted", "leads")
        out["team_win_rate"] = pooled("deals_won", "deals_closed")
        out["team_proposal_acceptance"] = pooled("proposals_accepted", "proposals_decided")
        out["activity"] = out["visits"] / out["team_visits"].where(out["team_visits"] > 0)
        r_lead = _shrunk_ratio(s["leads_converted"], s["leads"], out["team_lead_conversion"])
        r_win = _shrunk_ratio(s["deals_won"], s["deals_closed"], out["team_win_rate"])
        r_prop = _shrunk_ratio(
            s["proposals_accepted"], s["proposals_decided"], out["team_proposal_acceptance"]
        )
        out["conversion"] = _nanmean(np.vstack([r_lead, r_win]))
        inflow = np.vstack(
            [
                out["leads"] / out["team_leads"].where(out["team_leads"] > 0),
                out["pipeline_created"]
                / out["team_pipeline_created"].where(out["team_pipeline_created"] > 0),
            ]
        )
        out["inflow"] = _nanmean(np.asarray(inflow, dtype=float))
    steps = np.vstack([r_lead, r_win, r_prop])
    names = np.array(["lead_conversion", "win_rate", "proposal_acceptance"])
    weakest = np.where(
        np.isnan(steps).all(axis=0),
        "",
        names[np.nanargmin(np.where(np.isnan(steps), np.inf, steps), axis=0)],
    )
    out["weakest_step"] = weakest
    dd = _delivery_days(f, start, t)
    out["delivery_days"] = out.index.map(dd).astype(float)
    team_dd = out.groupby("team_id")["delivery_days"].median()
    out["team_delivery_days"] = out["team_id"].map(team_dd)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["delivery"] = (out["delivery_days"] + 1) / (out["team_delivery_days"] + 1)

    conv_weak = out["conversion"] < 1 - margin
    inflow_short = out["inflow"] < 1 - margin
    # slower delivery only counts when it is also a week or more slower (a 5 vs 7 day
    # median is noise, not a resource gap)
    slow = (out["delivery"] > 1 + margin) & (
        out["delivery_days"] - out["team_delivery_days"] >= DELIVERY_DAYS
    )
    resource = inflow_short | slow
    low_activity = out["activity"] < 1 - margin
    cls = np.select(
        [conv_weak & resource, conv_weak, resource, low_activity],
        ["mixed", "capability", "resource", "activity"],
        "none",
    )
    out["classification"] = cls
    # the mentor: the team's best seller in the window (by revenue) among those who
    # convert at least at the team's rate; never the rep
    rank = s["revenue"] + np.where(out["conversion"] >= 1.0, 1e15, 0.0)
    mentor = {}
    for tm, idx in s.groupby("team_id").groups.items():
        mentor[tm] = list(rank.loc[idx].sort_values(ascending=False).index)
    out["mentor_id"] = [
        next((m for m in mentor.get(tm, []) if m != rid), None)
        for rid, tm in zip(out.index, out["team_id"])
    ]
    names_of = dict(zip(f.reps["rep_id"], f.reps["name"]))
    names_zh = dict(zip(f.reps["rep_id"], f.reps["name_zh"]))
    out.insert(0, "name", out.index.map(names_of))
    hire = f.reps.set_index("rep_id")["hire_date"].reindex(out.index)
    out.insert(2, "tenure_months", ((t - hire).dt.days / 30.4375).to_numpy())
    if reps is not None:
        keep = out.index.isin(list(reps))
        out, inflow_short, slow = out[keep], inflow_short[keep], slow[keep]
    ev, ev_zh, iv, iv_zh = [], [], [], []
    for rid, r in out.iterrows():
        e, z, i, iz = _explain(
            r, names_of, names_zh, margin, inflow_short[rid], slow[rid], currency
        )
        ev.append(e), ev_zh.append(z), iv.append(i), iv_zh.append(iz)
    out["evidence"], out["evidence_zh"] = ev, ev_zh
    out["intervention"], out["intervention_zh"] = iv, iv_zh
    return out.reset_index()


def _explain(r, names, names_zh, margin, inflow_short, slow, currency):
    """Evidence and intervention sentences for one diagnosed rep."""

    def cmp(metric, v, ref, lang):
        nm = text.metric_name(metric, lang)
        if lang == "en":
            return (
                f"{nm} {text.value(metric, v, lang, currency)} "
                f"vs team {text.value(metric, ref, lang, currency)}"
            )
        return (
            f"{nm}{text.value(metric, v, lang, currency)}"
            f"（团队{text.value(metric, ref, lang, currency)}）"
        )

    parts = {"en": [], "zh-CN": []}
    for lang in parts:
        parts[lang].append(cmp("visits", r["visits"], r["team_visits"], lang))
        parts[lang].append(
            cmp("lead_conversion", r["lead_conversion"], r["team_lead_conversion"], lang)
        )
        parts[lang].append(cmp("win_rate", r["win_rate"], r["team_win_rate"], lang))
        parts[lang].append(cmp("leads", r["leads"], r["team_leads"], lang))
        if slow:
            if lang == "en":
                parts[lang].append(
                    f"first invoice {r['delivery_days']:.0f} days after the win vs "
                    f"team {r['team_delivery_days']:.0f}"
                )
            else:
                parts[lang].append(
                    f"赢单到首次开票{r['delivery_days']:.0f}天（团队"
                    f"{r['team_delivery_days']:.0f}天）"
                )
    period = f"{r['start']:%Y-%m-%d} to {r['end']:%Y-%m-%d}"
    period_zh = f"{r['start']:%Y-%m-%d}至{r['end']:%Y-%m-%d}"
    evidence = f"{period}: " + "; ".join(parts["en"])
    evidence_zh = f"{period_zh}：" + "；".join(parts["zh-CN"])
    cls = r["classification"]
    mentor = (
        names.get(r["mentor_id"], "the team's top seller")
        if r["mentor_id"]
        else "the team's top seller"
    )
    mentor_zh = names_zh.get(r["mentor_id"]) or mentor
    step = r["weakest_step"] or "win_rate"
    month_leads = (
        max(0.0, (r["team_leads"] - r["leads"]))
        / max(r["end"] - r["start"], pd.Timedelta(days=1)).days
        * 30
    )
    cap = (
        f"Capability gap: mentoring by a top seller ({mentor}) and targeted training on "
        f"{text.metric_name(step)}",
        f"能力短板：由销冠{mentor_zh}一对一带教，"
        f"并针对{text.metric_name(step, 'zh-CN')}开展专项培训",
    )
    res_en, res_zh = [], []
    if inflow_short:
        res_en.append(
            f"more qualified leads from marketing (about {np.ceil(month_leads):.0f} more a "
            "month to reach the team's level)"
        )
        res_zh.append(f"市场部增加合格线索（每月约多{np.ceil(month_leads):.0f}条以达到团队水平）")
    if slow:
        res_en.append("faster delivery from after-sales")
        res_zh.append("售后加快交付")
    res = (
        "Resource gap: " + " and ".join(res_en or ["more leads from marketing"]),
        "资源短板：" + "，".join(res_zh or ["市场部增加线索"]),
    )
    if cls == "capability":
        iv = cap
    elif cls == "resource":
        iv = res
    elif cls == "mixed":
        iv = (cap[0] + "; " + res[0][0].lower() + res[0][1:], cap[1] + "；" + res[1])
    elif cls == "activity":
        iv = (
            "Activity gap: a weekly visit plan agreed with the manager",
            "活动量不足：与主管制定每周拜访计划",
        )
    else:
        iv = (
            "No single cause stands out: review the pipeline deal by deal in the one-to-one",
            "暂无明显单一原因：在一对一面谈中逐单复盘商机",
        )
    return evidence, evidence_zh, iv[0], iv[1]


# --------------------------------------------------------------------------- alerts without a gap

#: Metrics whose alert is itself the evidence of an activity gap.
_ACTIVITY_METRICS = ("visits", "qualified_visits")
#: A rate below the team's is a capability gap when chance explains it this rarely.
CHANCE = 0.10


def _leads_to_tell(rate: float, team: float, n: int) -> int | None:
    """The smallest sample at which ``rate`` against ``team`` would be rarer than
    :data:`CHANCE` (None when no sample up to 5,000 would be)."""
    from scipy.stats import binom

    if not (0 <= rate < team):
        return None
    for m in range(max(n, 1), 5001):
        if binom.cdf(np.floor(rate * m), m, team) < CHANCE:
            return m
    return None


def _open_pipeline(f: Facts, rep_id: str, t: pd.Timestamp) -> tuple[float, int, float]:
    """``(amount, deals, team's amount per seller)`` open on day ``t``."""
    c = f.created
    open_ = c[(c["created_date"] <= t) & (c["close_date"].isna() | (c["close_date"] > t))]
    mine = open_[open_["rep_id"] == rep_id]
    sellers = f.sellers(t, t)
    tm = f.reps.set_index("rep_id")["team_id"].get(rep_id)
    mates = list(sellers.loc[sellers["team_id"] == tm, "rep_id"])
    per_seller = open_[open_["rep_id"].isin(mates)]["amount"].sum() / max(len(mates), 1)
    return float(mine["amount"].sum()), len(mine), float(per_seller)


def _won_per_deal(f: Facts, reps, start, t) -> tuple[float, int]:
    w = f.won[(f.won["date"] >= start) & (f.won["date"] <= t) & f.won["rep_id"].isin(reps)]
    return (float(w["amount"].mean()) if len(w) else np.nan), len(w)


def _from_the_alert(f: Facts, r: pd.Series, rule, ap: AlertParams, currency: str):
    """``(classification, diagnosis, diagnosis_zh, intervention, intervention_zh)`` for an
    alert the eight-week diagnosis finds no gap behind, from the alert's own evidence;
    None to keep "unclear" as it was."""
    m, margin = r["metric"], ap.gap_margin
    name, t = r["rep_id"], pd.Timestamp(r["last_checked"])
    if m in _ACTIVITY_METRICS and r["ratio"] == r["ratio"] and r["ratio"] < 1 - margin:
        return (
            "activity",
            r["evidence"],
            r["evidence_zh"],
            "Activity gap: a weekly visit plan agreed with the manager",
            "活动量不足：与主管制定每周拜访计划",
        )
    if m in _RATES and m not in ("collection_rate", "nps"):
        from scipy.stats import binom

        n = int(r["sample"]) if r["sample"] == r["sample"] else 0
        rate, team = float(r["value"]), float(r["reference"])
        if n == 0 or not (team > 0) or rate >= team:
            return None
        chance = float(binom.cdf(np.floor(rate * n + 1e-9), n, team))
        unit_en = {"lead_conversion": "leads", "win_rate": "closed deals"}.get(m, "proposals")
        unit_zh = {"lead_conversion": "条线索", "win_rate": "个已结单商机"}.get(m, "份方案")
        nm, nm_zh = text.metric_name(m), text.metric_name(m, "zh-CN")
        v_en, ref_en = text.value(m, rate, "en"), text.value(m, team, "en")
        v_zh, ref_zh = text.value(m, rate, "zh-CN"), text.value(m, team, "zh-CN")
        if chance < CHANCE:
            return (
                "capability",
                f"{nm} {v_en} vs team {ref_en} on {n} {unit_en}: chance alone gives a rate "
                f"this low {text.pct(chance, 0)} of the time",
                f"{nm_zh}{v_zh}（团队{ref_zh}），基于{n}{unit_zh}：仅凭偶然出现这么低的比率的"
                f"可能为{text.pct(chance, 0)}",
                f"Capability gap: coaching on {nm} with the team's best converter",
                f"能力短板：由团队转化最好的同事针对{nm_zh}带教",
            )
        need = _leads_to_tell(rate, team, n)
        more_en = (
            f"about {need} {unit_en} at this rate would tell a skill gap from chance"
            if need
            else f"the gap is too small to tell from chance on any number of {unit_en}"
        )
        more_zh = (
            f"按此比率约需{need}{unit_zh}才能区分能力差距与偶然"
            if need
            else "差距太小，无法与偶然区分"
        )
        return (
            "unclear",
            f"{nm} {v_en} vs team {ref_en} on {n} {unit_en}: as low by chance "
            f"{text.pct(chance, 0)} of the time; {more_en}",
            f"{nm_zh}{v_zh}（团队{ref_zh}），基于{n}{unit_zh}：偶然出现的可能为"
            f"{text.pct(chance, 0)}；{more_zh}",
            "Not yet a gap: watch the next weeks' conversions before acting",
            "尚不能认定为短板：先观察接下来几周的转化再采取措施",
        )
    if m == "revenue":
        amount, deals, team_open = _open_pipeline(f, name, t)
        start = t - pd.Timedelta(weeks=ap.diagnosis_weeks)
        sellers = f.sellers(start, t)
        tm = f.reps.set_index("rep_id")["team_id"].get(name)
        mates = [x for x in sellers.loc[sellers["team_id"] == tm, "rep_id"] if x != name]
        size, n_won = _won_per_deal(f, [name], start, t)
        team_size, n_team = _won_per_deal(f, mates, start, t)
        gap = max(float(r["reference"]) - float(r["value"]), 0.0)
        money = lambda x, lang: text.money(x, lang, currency)  # noqa: E731
        if n_won >= 3 and n_team >= 3 and size < (1 - margin) * team_size:
            return (
                "capability",
                f"average won deal {money(size, 'en')} vs team {money(team_size, 'en')} "
                f"({n_won} wins in {ap.diagnosis_weeks} weeks): deals close smaller",
                f"平均成交额{money(size, 'zh-CN')}（团队{money(team_size, 'zh-CN')}，"
                f"近{ap.diagnosis_weeks}周赢单{n_won}个）：成交金额偏小",
                "Capability gap: coaching on deal size (scoping, upselling, discounting)",
                "能力短板：针对成交金额开展带教（方案范围、增购、折扣控制）",
            )
        if team_open > 0 and amount < (1 - margin) * team_open:
            return (
                "resource",
                f"open pipeline {money(amount, 'en')} ({deals} deals) vs "
                f"{money(team_open, 'en')} per rep in the team, against a gap to pace of "
                f"{money(gap, 'en')}: too little pipeline to catch up",
                f"在手商机{money(amount, 'zh-CN')}（{deals}个），团队人均"
                f"{money(team_open, 'zh-CN')}；距进度目标差{money(gap, 'zh-CN')}：商机不足以追上",
                "Resource gap: more qualified leads and pipeline from marketing",
                "资源短板：市场部增加合格线索和商机",
            )
        return (
            "timing",
            f"visits, conversion, new leads, deal size and open pipeline ({money(amount, 'en')}, "
            f"{deals} deals) are all within {text.pct(margin, 0)} of the team's: the "
            f"shortfall of {money(gap, 'en')} against pace is timing so far; the open deals' "
            "expected close dates (not in the activity data) tell whether they land this "
            "quarter",
            f"拜访、转化、新线索、成交金额和在手商机（{money(amount, 'zh-CN')}，{deals}个）"
            f"均在团队水平的{text.pct(margin, 0)}以内：距进度目标差{money(gap, 'zh-CN')}"
            "目前属时间性偏差；在手商机的预计成交日期（不在活动数据中）可判断能否在本季度落地",
            "Timing: review the open deals' close dates in the one-to-one; no training or "
            "extra resources yet",
            "时间性：在一对一面谈中逐单核对在手商机的预计成交日期；暂不需要培训或增加资源",
        )
    return None


# --------------------------------------------------------------------------- rules


def _window(
    rule, t: pd.Timestamp, week: pd.Series, weeks: pd.DataFrame, ap: AlertParams, is_rate: bool
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The data window a rule reads at check day ``t`` (both ends included)."""
    if rule.kind == "threshold" and rule.of == "pace" and ap.pace_to_date != "window":
        code = {"month": "M", "quarter": "Q", "year": "Y"}[ap.pace_to_date]
        per = t.to_period(code)
        return per.start_time, per.end_time.normalize()
    if rule.window == "week":
        if rule.kind == "threshold":
            return week["start"], week["end"]
        if is_rate and ap.rate_lookback_weeks > 1:
            pos = weeks.index.get_loc(week.name)
            first = max(0, pos - ap.rate_lookback_weeks + 1)
            return weeks["start"].iloc[first], week["end"]
        return week["start"], week["end"]
    if rule.kind == "threshold":  # calendar month / quarter holding the check day
        per = t.to_period("M" if rule.window == "month" else "Q")
        return per.start_time, per.end_time.normalize()
    months = 1 if rule.window == "month" else 3
    return t - pd.DateOffset(months=months) + pd.Timedelta(days=1), t


def _weeks(f: Facts, start, end, ap: AlertParams, extra: int = 0) -> pd.DataFrame:
    """Working weeks whose end falls in [start, end], plus ``extra`` earlier ones (for
    lookbacks)."""
    s = pd.Timestamp(start) - pd.Timedelta(days=7 * (extra + 4))
    w = f.calendar.working_weeks(s, end, ap.week_min_working_days)
    first = np.searchsorted(w["end"].to_numpy(), np.datetime64(pd.Timestamp(start)), side="left")
    return w.iloc[max(0, first - extra) :].reset_index(drop=True)


def check_rules(
    data: DataLike, start=None, end=None, *, params=None, within: str | None = None
) -> pd.DataFrame:
    """Every rule's condition for every rep at the end of every working week.

    Parameters
    ----------
    data : Dataset or Facts
    start, end : date-like, optional
        Weeks ending in ``[start, end]``; default: the 13 weeks to the data's ``as_of``.
        The last week is checked on the data's ``as_of`` when it has not ended.
    params : AlertParams or dict, optional
        Default: ``params/alerts.yaml``.
    within : str, optional
        Only reps at or below this org node.

    Returns
    -------
    DataFrame
        One row per (week, rule, rep): ``week, checked_on, rule_id, kind, metric,
        rep_id, team_id, window_start, window_end, value, reference, ratio, threshold,
        sample, condition`` (True: the rule's condition holds this week; NA: not
        judged, too little data).
    """
    f = prepare(data)
    ap = _params(params)
    end = min(pd.Timestamp(end).normalize(), f.as_of) if end is not None else f.as_of
    start = pd.Timestamp(start).normalize() if start is not None else end - pd.Timedelta(weeks=13)
    if end < start:
        raise ValueError(f"end {end.date()} is before start {start.date()}")
    for k, r in enumerate(ap.rules):
        if r.metric not in RULE_METRICS:
            raise ValueError(
                f"alerts.rules[{k}].metric: unknown metric {r.metric!r}; expected "
                f"one of {', '.join(RULE_METRICS)}"
            )
        if r.kind == "threshold" and r.metric != "revenue":
            raise ValueError(
                f"alerts.rules[{k}].metric: threshold rules compare a result with "
                f"its target; only 'revenue' has targets in the data, got {r.metric!r}"
            )
    weeks = _weeks(f, start, end, ap, extra=ap.rate_lookback_weeks)
    weeks = weeks[weeks["start"] <= end]
    checked = weeks[weeks["end"] >= start]
    members = set(f.members(within)) if within is not None else None
    rows = []
    panels: dict = {}
    for _, week in checked.iterrows():
        t = min(week["end"], f.as_of)
        for rule in ap.rules:
            is_rate = rule.metric in _RATES
            ws, we = _window(rule, t, week, weeks, ap, is_rate)
            key = (ws, we, t)
            if key not in panels:
                panels[key] = _panel(f, ws, we, t)
            p = panels[key]
            if rule.kind == "threshold":
                frame = _threshold(f, rule, p, ws, we, t)
            else:
                frame = _versus_team(p, rule.metric, ap.min_sample)
                with np.errstate(invalid="ignore", divide="ignore"):
                    frame["ratio"] = frame["value"] / frame["reference"].where(
                        frame["reference"] > 0
                    )
                if rule.kind == "streak":
                    frame["threshold"] = 1.0
                    cond = frame["value"] < frame["reference"]
                else:
                    frame["threshold"] = 1.0 - rule.below_team_by
                    cond = frame["value"] < frame["reference"] * (1.0 - rule.below_team_by)
                judged = frame["value"].notna() & frame["reference"].notna()
                frame["condition"] = pd.array(np.where(judged, cond, pd.NA), dtype="boolean")
            if members is not None:
                frame = frame[frame.index.isin(members)]
            frame = frame.assign(
                week=week["week"],
                checked_on=t,
                rule_id=rule.id,
                kind=rule.kind,
                metric=rule.metric,
                window_start=ws,
                window_end=min(we, t),
            )
            rows.append(frame.reset_index())
    cols = [
        "week",
        "checked_on",
        "rule_id",
        "kind",
        "metric",
        "rep_id",
        "team_id",
        "window_start",
        "window_end",
        "value",
        "reference",
        "ratio",
        "threshold",
        "sample",
        "condition",
    ]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.concat(rows, ignore_index=True)
    return out[cols]


def _threshold(f: Facts, rule, p: pd.DataFrame, ws, we, t) -> pd.DataFrame:
    sellers = p[p["seller"]]
    tg = spread_targets(f, ws, we, t, owners=sellers.index).set_index("owner_id")
    ref = (tg["expected"] if rule.of == "pace" else tg["target"]).reindex(sellers.index)
    value = sellers["revenue"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = value / ref.where(ref > 0)
    cond = ratio < rule.below
    frame = pd.DataFrame(
        {
            "team_id": sellers["team_id"],
            "value": value.astype(float),
            "reference": ref.astype(float),
            "ratio": ratio.astype(float),
            "threshold": float(rule.below),
            "sample": tg["target"].reindex(sellers.index).astype(float),
        }
    )
    frame["condition"] = pd.array(np.where(ratio.notna(), cond, pd.NA), dtype="boolean")
    return frame


def _episodes(checks: pd.DataFrame, ap: AlertParams) -> pd.DataFrame:
    """Turn weekly conditions into alert episodes (raised → cleared)."""
    periods = {r.id: (r.periods if r.kind == "streak" else 1) for r in ap.rules}
    out = []
    for (rule_id, rep), g in checks.sort_values("checked_on").groupby(
        ["rule_id", "rep_id"], sort=False
    ):
        need = periods[rule_id]
        run = 0
        active = None
        first_below = None
        for r in g.itertuples(index=False):
            c = r.condition
            if c is pd.NA or (isinstance(c, float) and np.isnan(c)):
                continue  # not judged this week: nothing changes
            if bool(c):
                run += 1
                if run == 1:
                    first_below = r
                if run >= need:
                    if active is None:
                        active = dict(
                            rule_id=rule_id,
                            kind=r.kind,
                            metric=r.metric,
                            rep_id=rep,
                            team_id=r.team_id,
                            raised_on=r.checked_on,
                            raised_week=r.week,
                            condition_since=first_below.checked_on,
                            value_at_raise=r.value,
                            reference_at_raise=r.reference,
                            weeks_active=0,
                        )
                    active.update(
                        last_checked=r.checked_on,
                        last_week=r.week,
                        value=r.value,
                        reference=r.reference,
                        ratio=r.ratio,
                        threshold=r.threshold,
                        window_start=r.window_start,
                        window_end=r.window_end,
                        streak=run,
                        sample=r.sample,
                    )
                    active["weeks_active"] += 1
            else:
                run = 0
                if active is not None:
                    active.update(
                        cleared_on=r.checked_on,
                        cleared_week=r.week,
                        value_at_clear=r.value,
                        reference_at_clear=r.reference,
                    )
                    out.append(active)
                    active = None
        if active is not None:
            active.update(
                cleared_on=pd.NaT,
                cleared_week=None,
                value_at_clear=np.nan,
                reference_at_clear=np.nan,
            )
            out.append(active)
    cols = [
        "rule_id",
        "kind",
        "metric",
        "rep_id",
        "team_id",
        "raised_on",
        "raised_week",
        "condition_since",
        "cleared_on",
        "cleared_week",
        "weeks_active",
        "streak",
        "last_checked",
        "last_week",
        "window_start",
        "window_end",
        "value",
        "reference",
        "ratio",
        "threshold",
        "sample",
        "value_at_raise",
        "reference_at_raise",
        "value_at_clear",
        "reference_at_clear",
    ]
    if not out:
        return pd.DataFrame(columns=cols + ["status"])
    ep = pd.DataFrame(out)[cols]
    ep["status"] = np.where(ep["cleared_on"].isna(), "active", "cleared")
    return ep


def _rule_text(rule, r, lang: str, currency: str) -> str:
    """Why a rule fired, with its numbers and dates."""
    m = r["metric"]
    nm = text.metric_name(m, lang)
    v = text.value(m, r["value"], lang, currency)
    ref = text.value(m, r["reference"], lang, currency)
    a, b = pd.Timestamp(r["window_start"]), pd.Timestamp(r["window_end"])
    win = f"{a:%Y-%m-%d}至{b:%Y-%m-%d}" if lang == "zh-CN" else f"{a:%Y-%m-%d} to {b:%Y-%m-%d}"
    if rule.kind == "threshold":
        basis = "pace" if rule.of == "pace" else "target"
        if lang == "en":
            return (
                f"{nm} {v} is {text.pct(r['ratio'], 0)} of the {ref} {basis} expected by "
                f"{pd.Timestamp(r['last_checked']):%Y-%m-%d} ({win}); rule: below "
                f"{text.pct(rule.below, 0)} of {basis}"
            )
        basis_zh = "进度目标" if rule.of == "pace" else "目标"
        return (
            f"截至{pd.Timestamp(r['last_checked']):%Y-%m-%d}，{nm}{v}，为{basis_zh}{ref}的"
            f"{text.pct(r['ratio'], 0)}（{win}）；规则：低于{basis_zh}的{text.pct(rule.below, 0)}"
        )
    gap = 1 - r["ratio"] if r["ratio"] == r["ratio"] else np.nan
    if rule.kind == "streak":
        if lang == "en":
            return (
                f"{nm} {v} vs team average {ref} ({text.pct(gap, 0)} below), below the team "
                f"{int(r['streak'])} working weeks running to {r['last_week']} ({win})"
            )
        return (
            f"{nm}{v}，团队平均{ref}（低{text.pct(gap, 0)}），已连续{int(r['streak'])}个工作周"
            f"低于团队平均（至{r['last_week']}，{win}）"
        )
    if lang == "en":
        return (
            f"{nm} {v} vs team average {ref}: {text.pct(gap, 0)} below the team ({win}); "
            f"rule: {text.pct(rule.below_team_by, 0)} below"
        )
    return (
        f"{nm}{v}，团队平均{ref}，低于团队{text.pct(gap, 0)}（{win}）；规则：低于团队"
        f"{text.pct(rule.below_team_by, 0)}"
    )


def alert_history(
    data: DataLike,
    start=None,
    end=None,
    *,
    params=None,
    within: str | None = None,
    diagnosis: bool = True,
) -> pd.DataFrame:
    """Every alert episode between ``start`` and ``end``: raised, cleared, why.

    The rules are checked at the end of each working week (:func:`check_rules`); an
    alert is raised the week its condition holds (a streak rule: the week the streak
    reaches ``periods``) and cleared the first later week the condition does not
    hold. Weeks without enough data to judge change nothing.

    Parameters
    ----------
    data : Dataset or Facts
    start, end : date-like, optional
        Default: the 13 weeks to the data's ``as_of``.
    params : AlertParams or dict, optional
    within : str, optional
        Only reps at or below this org node.
    diagnosis : bool
        Classify each episode with :func:`diagnose` on its last firing check day.

    Returns
    -------
    DataFrame
        One row per episode: ``rule_id, kind, metric, rep_id, name, team_id,
        raised_on, cleared_on, status`` (``active``/``cleared``), ``weeks_active``,
        ``last_checked``, the window and numbers of the last firing check (``value,
        reference, ratio, threshold``), the numbers at raise and at clear, ``evidence``
        and ``evidence_zh``, and with ``diagnosis``: ``classification, diagnosis,
        diagnosis_zh, intervention, intervention_zh``.
    """
    f = prepare(data)
    ap = _params(params)
    checks = check_rules(f, start, end, params=ap, within=within)
    ep = _episodes(checks, ap)
    names = dict(zip(f.reps["rep_id"], f.reps["name"]))
    ep.insert(4, "name", ep["rep_id"].map(names))
    currency = text.company_currency()
    rules = {r.id: r for r in ap.rules}
    ep["evidence"] = [_rule_text(rules[r["rule_id"]], r, "en", currency) for _, r in ep.iterrows()]
    ep["evidence_zh"] = [
        _rule_text(rules[r["rule_id"]], r, "zh-CN", currency) for _, r in ep.iterrows()
    ]
    if diagnosis:
        cols = ["classification", "diagnosis", "diagnosis_zh", "intervention", "intervention_zh"]
        for c in cols:
            ep[c] = pd.Series([None] * len(ep), dtype=object)
        for day, idx in ep.groupby("last_checked").groups.items():
            d = diagnose(f, day, params=ap, reps=ep.loc[idx, "rep_id"].unique()).set_index("rep_id")
            sub = ep.loc[idx, "rep_id"]
            ep.loc[idx, "classification"] = sub.map(
                d["classification"].replace({"none": "unclear"})
            ).to_numpy()
            ep.loc[idx, "diagnosis"] = sub.map(d["evidence"]).to_numpy()
            ep.loc[idx, "diagnosis_zh"] = sub.map(d["evidence_zh"]).to_numpy()
            ep.loc[idx, "intervention"] = sub.map(d["intervention"]).to_numpy()
            ep.loc[idx, "intervention_zh"] = sub.map(d["intervention_zh"]).to_numpy()
        # Where the eight weeks show no gap, the alert's own evidence decides (or says
        # what data would): visits low is an activity gap; a conversion gap that chance
        # explains poorly is capability; revenue behind pace is read from the pipeline.
        for i in ep.index[ep["classification"] == "unclear"]:
            found = _from_the_alert(f, ep.loc[i], rules[ep.at[i, "rule_id"]], ap, currency)
            if found is not None:
                for c, v in zip(cols, found):
                    ep.at[i, c] = v
    return ep.sort_values(["raised_on", "rule_id", "rep_id"], kind="stable").reset_index(drop=True)


def alerts(data: DataLike, as_of=None, *, params=None, within: str | None = None) -> pd.DataFrame:
    """The alerts active on ``as_of`` (default: the data's), diagnosed.

    Checks the last 13 working weeks (more when a streak rule needs them) and keeps
    the episodes still active at the last check; an alert active all that time shows
    the first of those weeks as ``raised_on``. See :func:`alert_history` for the
    columns.
    """
    f = prepare(data)
    ap = _params(params)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    longest = max([r.periods for r in ap.rules if r.kind == "streak"] + [1])
    start = t - pd.Timedelta(weeks=max(13, longest + 6))
    hist = alert_history(f, start, t, params=ap, within=within)
    return hist[hist["status"] == "active"].reset_index(drop=True)


def struggling_reps(data: DataLike, as_of=None, *, params=None) -> pd.DataFrame:
    """Reps with an active alert whose diagnosis is a capability or resource gap.

    One row per rep: ``rep_id, name, team_id, tenure_months, classification, rules``
    (the active rule ids), ``evidence`` (the diagnosis), ``intervention``,
    ``intervention_zh``. A new hire still ramping up shows as such in
    ``tenure_months``: fewer leads and a low win rate are expected for a while.
    """
    f = prepare(data)
    a = alerts(f, as_of, params=params)
    a = a[a["classification"].isin(["capability", "resource", "mixed"])]
    if a.empty:
        return pd.DataFrame(
            columns=[
                "rep_id",
                "name",
                "team_id",
                "tenure_months",
                "classification",
                "rules",
                "evidence",
                "intervention",
                "intervention_zh",
            ]
        )
    g = a.groupby("rep_id", sort=True)
    out = g.agg(
        name=("name", "first"),
        team_id=("team_id", "first"),
        classification=("classification", "first"),
        rules=("rule_id", lambda s: ", ".join(sorted(s))),
        evidence=("diagnosis", "first"),
        intervention=("intervention", "first"),
        intervention_zh=("intervention_zh", "first"),
    )
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    hire = f.reps.set_index("rep_id")["hire_date"].reindex(out.index)
    out.insert(2, "tenure_months", ((t - hire).dt.days / 30.4375).round(1).to_numpy())
    return out.reset_index()

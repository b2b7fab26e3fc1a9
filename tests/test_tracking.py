"""Tracking: metrics worked out by hand, alert rules firing and clearing, the exact
deviation analysis, Pareto, the lead model, reminders, and the demo's struggling reps."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib import tracking as tr
from simlib.data import load_data
from simlib.data.io import Dataset
from simlib.data.schema import TABLES
from simlib.money import to_cents
from simlib.tracking.params import AlertParams

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture(scope="module")
def demo_facts(demo):
    """The demo company (session fixture ``demo``), joined once for this module."""
    return tr.prepare(demo)


@pytest.fixture(scope="module")
def tiny():
    """The hand-made company of tests/fixtures/tiny, as of 31 October 2026."""
    return tr.prepare(load_data(TINY, "demo", as_of=dt.date(2026, 10, 31)))


def make(as_of, **tables) -> Dataset:
    """A dataset from lists of row dicts (missing columns empty), for crafted scenarios."""
    out = {}
    for name, t in TABLES.items():
        df = pd.DataFrame(tables.get(name, []), columns=t.column_names)
        for c in t.columns:
            if c.kind == "date":
                df[c.name] = pd.to_datetime(df[c.name])
            elif c.kind in ("money", "number", "int"):
                df[c.name] = pd.to_numeric(df[c.name]).astype(float)
            elif c.kind == "bool":
                df[c.name] = df[c.name].astype("boolean")
            else:
                df[c.name] = df[c.name].astype(object)
        out[name] = df
    return Dataset(out, pd.Timestamp(as_of).date(), source="crafted")


ORG = [
    dict(node_id="CO", level="company", name="Co"),
    dict(node_id="R1", parent_id="CO", level="region", name="R1"),
    dict(node_id="T1", parent_id="R1", level="team", name="T1"),
]
REPS = [dict(rep_id=r, name=r, team_id="T1", role="rep", hire_date="2020-01-06") for r in "XYZ"]


def leads(rep, day, n, converted=0, conv_day=None):
    """``n`` leads of ``rep`` created on ``day``, the first ``converted`` converted."""
    rows = []
    for i in range(n):
        c = i < converted
        rows.append(
            dict(
                lead_id=f"{rep}{day}{i}",
                rep_id=rep,
                created_date=day,
                source="Web",
                qualified=True,
                status="converted" if c else "disqualified",
                converted_date=conv_day if c else None,
            )
        )
    return rows


def only(rule, **extra) -> AlertParams:
    return AlertParams.model_validate({"rules": [rule], **extra})


STREAK = dict(kind="streak", id="conv", metric="lead_conversion", window="week", periods=2)


# --------------------------------------------------------------------------- metrics


def test_rep_metrics_by_hand(tiny):
    m = tr.metrics(tiny, "2026-10", level="rep").set_index("node_id")
    a = m.loc["A"]
    assert a["revenue"] == 80_000  # O1 30,000 on the 9th + O2 50,000 on the 27th
    assert a["target"] == pytest.approx(180_000)  # 620,000 × 18 / 62 working days
    assert a["attainment"] == pytest.approx(80_000 / 180_000)
    assert a["billed"] == 80_000 and a["collected"] == 70_000  # I1 and I3 fell due in October
    assert a["collection_rate"] == pytest.approx(0.875)
    assert a["new_customers"] == 1  # S1, won on a new_customer deal
    assert a["win_rate"] == pytest.approx(2 / 3)  # O1, O2 won; O5 lost
    assert (a["visits"], a["qualified_visits"]) == (
        4,
        2,
    )  # ratings 5, 4 pass; 3.5 and unrated don't
    assert (a["leads"], a["leads_converted"]) == (3, 1)
    assert a["proposal_acceptance"] == pytest.approx(0.5)
    assert a["support"] == 1
    assert a["nps"] == pytest.approx(100 * (2 - 1) / 3)  # 10, 9 promote; 6 detracts
    # Cai joined on the 12th: his 59,000 for Q4 is spread over his 59 working days
    assert m.loc["C", "target"] == pytest.approx(15_000)
    # Dan's October row (50,000) is finer than his Q4 row, so it wins
    assert m.loc["D", "target"] == pytest.approx(50_000)
    assert np.isnan(m.loc["B", "collection_rate"])  # nothing of Bob's fell due in October
    assert "M1" not in m.index  # the manager sells nothing


def test_pace_on_a_working_day_calendar(tiny):
    on9 = tr.metrics(tiny, "2026-10", level="rep", as_of="2026-10-09").set_index("node_id")
    assert on9.loc["A", "expected"] == pytest.approx(20_000)  # 2 working days × 10,000
    assert on9.loc["A", "pace_attainment"] == pytest.approx(1.5)
    assert on9.loc["A", "status"] == "ahead"
    assert on9.loc["A", "pace"] == pytest.approx(2 / 18)
    assert on9.loc["B", "status"] == "behind"
    assert on9.loc["C", "status"] == "not_started"  # hired on the 12th
    on3 = tr.metrics(tiny, "2026-10", level="rep", as_of="2026-10-03")
    assert (on3["expected"] == 0).all() and (on3["status"] == "not_started").all()


def test_roll_up_and_drill_down(tiny):
    team = tr.metrics(tiny, "2026-10", level="team").set_index("node_id")
    assert team.loc["T1", "target"] == pytest.approx(1_000_000 * 18 / 62)  # its own row
    assert team.loc["T2", "target"] == pytest.approx(50_000)  # no row: Dan's
    assert team.loc["T1", "lead_conversion"] == pytest.approx(1 / 5)
    co = tr.metrics(tiny, "2026-10", level="company").iloc[0]
    assert co["revenue"] == 140_000
    assert co["target"] == pytest.approx(1_000_000 * 18 / 62 + 50_000)
    reps_t1 = tr.metrics(tiny, "2026-10", level="rep", within="T1")
    assert set(reps_t1["node_id"]) == {"A", "B", "C"}
    by_line = tr.metrics(tiny, "2026-10", level="team", by="product_line")
    hw = by_line.set_index(["node_id", "product_line"]).loc[("T1", "Hardware")]
    assert hw["revenue"] == 50_000 and np.isnan(hw["visits"]) and np.isnan(hw["target"])
    weeks = tr.metrics(tiny, "2026-10", level="rep", within="A", by="week").set_index("period")
    assert weeks.loc["2026-W40", "working_days"] == 0
    assert weeks.loc["2026-W41", "target"] == pytest.approx(30_000)  # 8th, 9th, Saturday 10th
    assert weeks["target"].sum() == pytest.approx(180_000)
    # the split adds up to the whole
    assert by_line.groupby("node_id")["revenue"].sum()["T1"] == team.loc["T1", "revenue"]


def test_bad_arguments_name_the_problem(tiny):
    with pytest.raises(ValueError, match="level must be one of"):
        tr.metrics(tiny, "2026-10", level="branch")
    with pytest.raises(ValueError, match="unknown node 'T9'"):
        tr.metrics(tiny, "2026-10", within="T9")
    with pytest.raises(ValueError, match="by must name"):
        tr.metrics(tiny, "2026-10", by="colour")
    with pytest.raises(ValueError, match="period must look like"):
        tr.metrics(tiny, "October")


def test_target_wall_trend_key_accounts(tiny):
    wall = tr.target_wall(tiny, "2026-10")
    assert list(wall["node_id"][:4]) == ["T2", "D", "T1", "A"]  # teams by attainment, then reps
    assert set(wall.columns) >= {"actual", "target", "expected", "pace", "status", "order"}
    t = tr.trend(tiny, "revenue", freq="week", periods=3, level="rep", within="A")
    assert t["value"].tolist() == [0.0, 0.0, 50_000.0]
    assert t["change"].iloc[-1] == 50_000
    ka = tr.key_account_status(tiny).set_index("customer_id")
    assert ka.loc["K1", "days_since_visit"] == 18 and not ka.loc["K1", "overdue"]
    assert ka.loc["K1", "open_pipeline"] == 70_000  # O11 in negotiation
    cov = tr.key_account_followup(tiny, level="team").set_index("node_id")
    assert cov.loc["T1", "coverage"] == 1.0


# --------------------------------------------------------------------------- alert rules


def test_threshold_rule_fires_and_clears():
    data = make(
        "2026-11-01",
        org=ORG,
        reps=REPS,
        customers=[dict(customer_id="K", name="K")],
        products=[dict(product_id="P", name="P", product_line="L")],
        targets=[
            dict(owner_id="X", level="rep", period="2026-Q4", metric="revenue", amount=620_000)
        ],
        opportunities=[
            dict(
                opportunity_id="O1",
                customer_id="K",
                owner_id="X",
                product_id="P",
                amount=30_000,
                stage="won",
                created_date="2026-09-01",
                expected_close_date="2026-10-09",
                close_date="2026-10-09",
            ),
            dict(
                opportunity_id="O2",
                customer_id="K",
                owner_id="X",
                product_id="P",
                amount=100_000,
                stage="won",
                created_date="2026-09-01",
                expected_close_date="2026-10-22",
                close_date="2026-10-22",
            ),
        ],
    )
    rule = dict(kind="threshold", id="pace", metric="revenue", window="week", below=0.8, of="pace")
    checks = tr.check_rules(data, "2026-10-01", "2026-11-01", params=only(rule))
    x = checks[checks["rep_id"] == "X"].set_index("week")
    assert pd.isna(x.loc["2026-W40", "condition"])  # 4 October: nothing due yet, not judged
    assert x.loc["2026-W41", "reference"] == pytest.approx(30_000)  # 8th, 9th, Saturday 10th
    assert not x.loc["2026-W41", "condition"]
    assert x.loc["2026-W42", "ratio"] == pytest.approx(30_000 / 80_000)
    hist = tr.alert_history(data, "2026-10-01", "2026-11-01", params=only(rule), diagnosis=False)
    hist = hist[hist["rep_id"] == "X"]
    assert hist["raised_on"].tolist() == [pd.Timestamp("2026-10-18"), pd.Timestamp("2026-11-01")]
    assert hist["cleared_on"].iloc[0] == pd.Timestamp("2026-10-25")  # 130,000 of 130,000 due
    assert hist["status"].tolist() == ["cleared", "active"]
    first = hist.iloc[0]
    assert (first["value_at_raise"], first["reference_at_raise"]) == (30_000, pytest.approx(80_000))
    assert "38% of the ¥80,000 pace" in first["evidence"] and "2026-10-18" in first["evidence"]
    assert "进度目标" in first["evidence_zh"]


def _streak_data(as_of, weeks):
    rows = []
    for day, conv_day, x_conv, y_conv in weeks:
        rows += leads("X", day, 4, x_conv, conv_day) + leads("Y", day, 4, y_conv, conv_day)
    return make(as_of, org=ORG, reps=REPS, leads=rows)


def test_streak_rule_runs_across_the_spring_festival_week():
    # W07 X 0/4 vs team 4/8; 16-22 Feb is a whole holiday week, folded into W09;
    # W09 X 0/4 vs 3/8: two working weeks running -> raised; W10 X 3/4 vs 4/8 -> cleared.
    data = _streak_data(
        "2026-03-08",
        [
            ("2026-02-10", "2026-02-12", 0, 4),
            ("2026-02-24", "2026-02-26", 0, 3),
            ("2026-03-03", "2026-03-05", 3, 1),
        ],
    )
    params = only(STREAK, rate_lookback_weeks=1, min_sample=2)
    hist = tr.alert_history(data, "2026-02-01", "2026-03-08", params=params, diagnosis=False)
    x = hist[hist["rep_id"] == "X"].iloc[0]
    assert x["condition_since"] == pd.Timestamp("2026-02-15")  # end of W07
    assert x["raised_on"] == pd.Timestamp("2026-03-01")  # end of W09, the next working week
    assert x["raised_week"] == "2026-W09" and x["streak"] == 2
    assert x["cleared_on"] == pd.Timestamp("2026-03-08")
    assert (x["value"], x["reference"]) == (0.0, pytest.approx(3 / 8))
    assert "2 working weeks running" in x["evidence"]
    # Y was below only once (W10: 1/4 vs 4/8): no alert
    assert (hist["rep_id"] == "Y").sum() == 0


def test_streak_rule_counts_the_short_national_day_weeks():
    # 28 Sep-4 Oct and 5-11 Oct have 3 working days each: two ordinary weeks.
    data = _streak_data(
        "2026-10-11", [("2026-09-29", "2026-09-30", 0, 4), ("2026-10-08", "2026-10-09", 0, 4)]
    )
    params = only(STREAK, rate_lookback_weeks=1, min_sample=2)
    hist = tr.alert_history(data, "2026-09-21", "2026-10-11", params=params, diagnosis=False)
    x = hist[hist["rep_id"] == "X"].iloc[0]
    assert (x["raised_on"], x["raised_week"], x["status"]) == (
        pd.Timestamp("2026-10-11"),
        "2026-W41",
        "active",
    )


def test_too_small_a_sample_is_not_judged_and_keeps_the_streak():
    # W1 below; W2 only one lead each (below min_sample 2: not judged); W3 below -> raised
    data = _streak_data(
        "2026-11-22",
        [
            ("2026-11-03", "2026-11-04", 0, 4),
            ("2026-11-10", "2026-11-11", 0, 1),
            ("2026-11-17", "2026-11-18", 0, 4),
        ],
    )
    rows = data.tables["leads"]
    # keep one lead each for the middle week
    keep = ~(rows["created_date"].eq("2026-11-10") & ~rows["lead_id"].str.endswith("0"))
    data.tables["leads"] = rows[keep].reset_index(drop=True)
    params = only(STREAK, rate_lookback_weeks=1, min_sample=2)
    checks = tr.check_rules(data, "2026-11-01", "2026-11-22", params=params)
    mid = checks[(checks["rep_id"] == "X") & (checks["week"] == "2026-W46")]
    assert pd.isna(mid["condition"].iloc[0])
    hist = tr.alert_history(data, "2026-11-01", "2026-11-22", params=params, diagnosis=False)
    assert hist.loc[hist["rep_id"] == "X", "raised_on"].tolist() == [pd.Timestamp("2026-11-22")]


def test_relative_rule_fires_and_clears():
    def visits(rep, days, rating=5):
        return [
            dict(
                activity_id=f"{rep}{d}{i}",
                rep_id=rep,
                date=d,
                activity_type="visit",
                customer_id="K",
                rating=rating,
            )
            for i, d in enumerate(days)
        ]

    oct_days = pd.bdate_range("2026-10-12", "2026-10-30").strftime("%Y-%m-%d").tolist()[:10]
    nov_days = pd.bdate_range("2026-11-02", "2026-11-27").strftime("%Y-%m-%d").tolist()
    acts = visits("X", oct_days[:2]) + visits("Y", oct_days) + visits("Z", oct_days)
    acts += visits("X", nov_days) + visits("Y", nov_days) + visits("Z", nov_days)
    acts += visits("Z", oct_days[:3], rating=2)  # unqualified: rated below the bar
    data = make(
        "2026-11-29",
        org=ORG,
        reps=REPS,
        customers=[dict(customer_id="K", name="K")],
        activities=acts,
    )
    rule = dict(
        kind="relative", id="vis", metric="qualified_visits", window="month", below_team_by=0.3
    )
    checks = tr.check_rules(data, "2026-11-01", "2026-11-29", params=only(rule))
    first = checks[(checks["rep_id"] == "X") & (checks["week"] == "2026-W44")].iloc[0]
    assert first["value"] == 2 and first["reference"] == pytest.approx(22 / 3)
    assert bool(first["condition"])
    hist = tr.alert_history(data, "2026-11-01", "2026-11-29", params=only(rule), diagnosis=False)
    x = hist[hist["rep_id"] == "X"].iloc[0]
    assert x["raised_on"] == pd.Timestamp("2026-11-01")
    assert x["status"] == "cleared" and x["cleared_on"] > x["raised_on"]
    assert "below the team" in x["evidence"]


def test_rules_name_their_mistakes(tiny):
    bad = only(dict(kind="streak", id="s", metric="happiness"))
    with pytest.raises(ValueError, match=r"rules\[0\].metric: unknown metric 'happiness'"):
        tr.check_rules(tiny, params=bad)
    bad = only(dict(kind="threshold", id="t", metric="visits", below=0.8))
    with pytest.raises(ValueError, match="only 'revenue' has targets"):
        tr.check_rules(tiny, params=bad)


def test_diagnosis_tells_capability_from_resource():
    # X: visits and leads like the team, converts nothing -> capability.
    # Y: converts fine but has one lead and half the pipeline -> resource.
    reps = REPS + [dict(rep_id="W", name="W", team_id="T1", role="rep", hire_date="2020-01-06")]
    days = pd.bdate_range("2026-10-12", "2026-11-06").strftime("%Y-%m-%d").tolist()
    acts, ls, opps = [], [], []
    for rep in "XYZW":
        acts += [
            dict(
                activity_id=f"{rep}v{i}",
                rep_id=rep,
                date=days[i],
                activity_type="visit",
                customer_id="K",
                rating=4,
            )
            for i in range(10)
        ]
    for rep, n, conv in (("X", 8, 0), ("Y", 1, 1), ("Z", 8, 3), ("W", 8, 3)):
        ls += leads(rep, "2026-10-14", n, conv, "2026-10-20")
    for rep, won, lost in (("X", 0, 4), ("Y", 1, 1), ("Z", 2, 2), ("W", 2, 2)):
        for i in range(won + lost):
            opps.append(
                dict(
                    opportunity_id=f"{rep}o{i}",
                    customer_id="K",
                    owner_id=rep,
                    product_id="P",
                    amount=10_000,
                    stage="won" if i < won else "lost",
                    created_date="2026-10-15",
                    expected_close_date="2026-10-30",
                    close_date="2026-10-30",
                )
            )
    data = make(
        "2026-11-06",
        org=ORG,
        reps=reps,
        customers=[dict(customer_id="K", name="K")],
        products=[dict(product_id="P", name="P", product_line="L")],
        activities=acts,
        leads=ls,
        opportunities=opps,
    )
    d = tr.diagnose(data, weeks=4).set_index("rep_id")
    assert d.loc["X", "classification"] == "capability"
    assert d.loc["Y", "classification"] == "resource"
    assert d.loc["Z", "classification"] == "none"
    assert d.loc["X", "conversion"] == pytest.approx(
        ((2.8 / 18) / 0.28 + (5 / 14 * 10 / 14) / (5 / 14)) / 2
    )
    assert (
        "Capability gap" in d.loc["X", "intervention"]
        and "Z" in d.loc["X", "intervention"]
        or "W" in d.loc["X", "intervention"]
    )
    assert "more qualified leads from marketing" in d.loc["Y", "intervention"]
    assert "市场部" in d.loc["Y", "intervention_zh"]


# --------------------------------------------------------------------------- reviews


def test_deviation_by_hand_and_exact(tiny):
    dev = tr.deviation(tiny, "T1", "2026-10")
    t = dev.table.set_index("customer_group")
    # plan 290,322.58 split by the baseline's revenue: 20k new HW, 80k existing HW, 140k SW
    assert t.loc["total", "plan"] == 290_322.58
    assert t.loc["new_customer", "plan"] == 24_193.55
    assert t.loc["new_customer", "volume"] == -4_193.55  # (1 - 1.2096775) × 20,000
    assert (
        t.loc["new_customer", "mix"] == 30_000.00
    )  # a 50,000 Software deal where 20,000 HW was planned
    assert t.loc["new_customer", "price"] == 0.0
    assert t.loc["existing_customer", "price"] == -3_333.33  # 2 × (25,000 - 26,666.67)
    assert t.loc["existing_customer", "mix"] == -34_666.67
    assert t.loc["existing_customer", "volume"] == -178_129.03
    assert t.loc["total", "gap"] == -190_322.58
    for g, r in t.iterrows():  # to the cent
        v, p, m, g = (float(r[c]) for c in ("volume", "price", "mix", "gap"))
        assert to_cents(v) + to_cents(p) + to_cents(m) == to_cents(g)
    dev.check()
    assert dev.actions["effect"].iloc[0] == "volume"
    assert "Repeat purchases" in dev.actions["action"].iloc[0]


def test_deviation_adds_up_on_every_demo_team(demo_facts):
    f = demo_facts
    for team in ("T-SH", "T-TJ", "T-CD"):
        for month in ("2026-03", "2026-10", "2026-11"):
            dev = tr.deviation(f, team, month)
            dev.check()
            t = dev.table.set_index("customer_group")
            assert to_cents(float(t.loc["total", "gap"])) == to_cents(dev.actual) - to_cents(
                dev.plan
            )


# --------------------------------------------------------------------------- analysis


def test_pareto_and_lead_sources(tiny):
    p = tr.pareto_customers(tiny, "2026-10")
    assert p.table["customer_id"].tolist()[:2] == ["S1", "K2"]  # 50,000 then 40,000
    assert p.customers == 4 and p.core_customers == 3  # 50+40 = 64% < 80%, +30 = 86%
    src = tr.lead_source_conversion(tiny, "2026-10").set_index("source")
    assert src.loc["Website", "conversion"] == pytest.approx(1 / 2)  # L1 converted, L4 not; L6 open
    assert src.loc["Website", "open"] == 1 and src.loc["Website", "won_revenue"] == 50_000


def test_auc_known_values():
    assert tr.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert tr.auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.75)
    assert tr.auc([0, 1], [0.5, 0.5]) == 0.5


def test_lead_model_on_the_demo(demo_facts):
    f = demo_facts
    model = tr.fit_lead_model(f)
    assert model.auc_test > 0.75  # later-dated leads it never saw
    assert model.auc_test_qualified > 0.6  # and not only because unqualified leads never convert
    assert model.n_test > 1000 and model.cutoff < f.as_of
    coef = model.coefficients.set_index("feature")["coef"]
    assert coef["qualified"] > 0 and coef["source=Referral"] > 0 > coef["source=Cold Call"]
    ranked = tr.rank_open_leads(f, model)
    assert ranked["p_convert"].is_monotonic_decreasing
    assert set(ranked["top_reason"]) <= set(model.features)


# --------------------------------------------------------------------------- reminders


def test_reminders(tiny):
    r = tr.reminders(tiny).set_index("subject_id")
    assert (r.loc["L3", "status"], r.loc["L3", "days"]) == ("overdue", 12)  # due 19 Oct
    assert (r.loc["L5", "status"], r.loc["L5", "days"]) == ("due", 0)
    assert "L6" not in r.index  # 30,000 is not high-value
    assert r.loc["S2", "kind"] == "renewal" and r.loc["S2", "days"] == -20
    assert "K2" not in r.index  # renews in March, outside 60 days
    soon = tr.followup_reminders(
        tiny, "2026-10-10", params={"followup_due_within_days": 14, "high_value_lead": 500_000}
    )
    # on 10 Oct neither L3 (created 13th) nor L5 exists yet
    assert soon.empty
    ahead = tr.followup_reminders(tiny, "2026-10-16", params={"followup_due_within_days": 3})
    assert ahead.set_index("subject_id").loc["L3", "status"] == "upcoming"


# --------------------------------------------------------------------------- demo


def test_the_demo_struggling_reps_are_found(demo_facts):
    f = demo_facts
    s = tr.struggling_reps(f).set_index("rep_id")
    cls = s["classification"]
    # capability gap: visits as usual, conversion collapsed
    assert cls.get("S047") == "capability" and cls.get("S054") == "capability"
    # resource gap: converting fine, leads dried up
    assert cls.get("S035") == "resource" and cls.get("S061") == "resource"
    assert "behind_pace" in s.loc["S035", "rules"]
    d = tr.diagnose(f).set_index("rep_id")
    assert d.loc["S061", "inflow"] < 0.5 and d.loc["S061", "conversion"] > 1.0
    assert d.loc["S047", "activity"] > 0.8 and d.loc["S047", "conversion"] < 0.75


# --------------------------------------------------------------------------- CLI


def _cli(argv):
    import simlib.cli as cli
    from simlib.cli import build_parser, main

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "alerts" in sub.choices
    orig = cli.build_parser
    cli.build_parser = lambda: parser
    try:
        return main(argv)
    finally:
        cli.build_parser = orig


def test_cli_alerts(capsys):
    rc = _cli(["alerts", "--period", "2026-10", "--data", str(TINY), "--mapping", "demo", "--json"])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {"rule_id", "rep_id", "raised_on", "evidence", "classification"} <= set(rows[0])
    assert _cli(["alerts", "--period", "2026-13", "--data", str(TINY), "--mapping", "demo"]) == 2
    assert "period must look like" in capsys.readouterr().err
    assert _cli(["alerts", "--period", "2027-01", "--data", str(TINY), "--mapping", "demo"]) == 2
    assert "starts after the data end" in capsys.readouterr().err


# ----------------------------------------------------------------- alerts without a gap


def test_the_samples_a_conversion_gap_needs_to_be_told_from_chance():
    from simlib.tracking.early_warning import _leads_to_tell

    # 0 of n at a team rate of 10.3%: 0.897**n falls below 10% at n = 22 (0.897**21 = 0.101)
    assert _leads_to_tell(0.0, 0.103, 16) == 22
    assert 0.897**22 < 0.10 < 0.897**21
    assert _leads_to_tell(0.10, 0.103, 10) is None  # 3% apart: no sample up to 5,000 tells
    assert _leads_to_tell(0.2, 0.1, 10) is None  # not below the team


def test_alerts_the_eight_weeks_cannot_explain_are_read_from_their_own_evidence(demo):
    """Issue 16: 77% of the demo's alerts were "unclear". Now the alert's own numbers
    decide where they can, and an alert left unclear says what data would tell."""
    from simlib import tracking

    a = tracking.alerts(demo)
    share = a["classification"].value_counts(normalize=True)
    assert share.get("unclear", 0) < 0.25
    for r in a[a["classification"] == "unclear"].itertuples():
        # every unclear alert names the sample that would decide it, or says none can
        assert "would tell" in r.diagnosis or "too small to tell" in r.diagnosis
        assert "区分" in r.diagnosis_zh
    visits = a[(a["rule_id"] == "visits_below_team") & (a["ratio"] < 0.75)]
    assert len(visits) and set(visits["classification"]) <= {
        "activity",
        "mixed",
        "capability",
        "resource",
    }
    timing = a[a["classification"] == "timing"]
    assert (timing["rule_id"] == "behind_pace").all()
    assert timing["diagnosis"].str.contains("expected close dates").all()
    assert set(a["classification"]) <= set(tracking.CLASSES)

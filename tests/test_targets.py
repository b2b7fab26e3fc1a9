"""Targets: hand-worked cascades on a small org, risk design, reconcile, SMART, funnel,
scenarios (good and broken), exports and the command line.

The small org (built here, not from data): company CO; regions R1 (teams T1, T2) and
R2 (T3, T4); two reps per team. Last year, potential and capacity per rep:

    rep  team  last year  potential  capacity
    A1   T1    100        10         1
    A2   T1    300        10         1
    B1   T2    200        30         1
    B2   T2    200        10         0.5
    C1   T3     50        20         1
    C2   T3    150        20         1
    D1   T4      0        20         0.5    (new hire: no last year)
    D2   T4    200        20         1

Teams and regions add up their reps: T1 400 / 20 / 2, T2 400 / 40 / 1.5, T3 200 / 40 /
2, T4 200 / 40 / 1.5; R1 800 / 60 / 3.5, R2 400 / 80 / 3.5; CO 1200 / 140 / 7.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from simlib.config import ParamError
from simlib.data.io import DataError
from simlib.money import to_cents
from simlib.targets import (
    AllocationError,
    History,
    OrgTree,
    TargetCache,
    cascade,
    consensus,
    export_csv,
    export_xlsx,
    fair_quotas,
    monthly_fte,
    neutralise,
    over_assigned,
    reverse_funnel,
    run_scenario,
    smart_check,
    split,
    time_split,
    uplift_for_confidence,
    validate_commits,
)
from simlib.targets.mix import mix_shares
from simlib.targets.params import GrowthBounds, MethodWeights, Uplift
from simlib.targets.scenario import Scenario, compare_scenarios, load_scenario, save_scenario

BAD = Path(__file__).parent / "bad_inputs" / "scenarios"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))

REPS = {  # rep: (team, last year, potential, capacity)
    "A1": ("T1", 100, 10, 1.0),
    "A2": ("T1", 300, 10, 1.0),
    "B1": ("T2", 200, 30, 1.0),
    "B2": ("T2", 200, 10, 0.5),
    "C1": ("T3", 50, 20, 1.0),
    "C2": ("T3", 150, 20, 1.0),
    "D1": ("T4", 0, 20, 0.5),
    "D2": ("T4", 200, 20, 1.0),
}


def _c(x) -> int:
    """Cents of an amount (numpy scalars through float: their repr is not a number)."""
    return to_cents(float(x))


FLAT = Uplift(region=0, team=0, rep=0)


def small_org(order=None) -> History:
    rows = [
        ("CO", None, "company"),
        ("R1", "CO", "region"),
        ("R2", "CO", "region"),
        ("T1", "R1", "team"),
        ("T2", "R1", "team"),
        ("T3", "R2", "team"),
        ("T4", "R2", "team"),
    ]
    rows += [(r, team, "rep") for r, (team, *_) in REPS.items()]
    if order is not None:
        rows = [rows[i] for i in order]
    frame = pd.DataFrame(rows, columns=["node_id", "parent_id", "level"]).assign(
        name=lambda d: d["node_id"]
    )
    tree = OrgTree.from_frame(frame)
    ly = tree.rollup({r: v[1] for r, v in REPS.items()})
    return History(
        tree=tree,
        year=2027,
        base_year=2025,
        last_year=ly,
        potential=tree.rollup({r: v[2] for r, v in REPS.items()}),
        capacity=tree.rollup({r: v[3] for r, v in REPS.items()}),
    )


def only(method: str) -> MethodWeights:
    return MethodWeights(
        **{
            m: (1.0 if m == method else 0.0)
            for m in ("historical", "potential", "equal", "capacity")
        }
    )


def targets(c) -> dict[str, float]:
    return dict(zip(c.table["node_id"], c.table["target"]))


# --------------------------------------------------------------------------- methods


def test_historical_share_hand_worked():
    # regions 800:400 of 1,500; teams 1:1 and 1:1; reps 1:3, 1:1, 1:3, 0:1
    t = targets(cascade(small_org(), 1500, methods=only("historical"), uplift=FLAT, growth=None))
    assert t == {
        "CO": 1500,
        "R1": 1000,
        "R2": 500,
        "T1": 500,
        "T2": 500,
        "T3": 250,
        "T4": 250,
        "A1": 125,
        "A2": 375,
        "B1": 250,
        "B2": 250,
        "C1": 62.5,
        "C2": 187.5,
        "D1": 0,
        "D2": 250,
    }


def test_equal_split_with_over_assignment_hand_worked():
    # regions 500 each; teams share 500 × 1.1 = 550; reps share 275 × 1.2 = 330
    c = cascade(
        small_org(),
        1000,
        methods=only("equal"),
        uplift=Uplift(region=0, team=0.1, rep=0.2),
        growth=None,
    )
    t = targets(c)
    assert [t[n] for n in ("R1", "R2", "T1", "T2", "T3", "T4")] == [500, 500, 275, 275, 275, 275]
    assert all(t[r] == 165 for r in REPS)
    assert c.table.set_index("node_id").at["R1", "children_total"] == 550


def test_potential_hand_worked():
    t = targets(cascade(small_org(), 1400, methods=only("potential"), uplift=FLAT, growth=None))
    assert [t[n] for n in ("R1", "R2", "T1", "T2", "T3", "T4")] == [600, 800, 200, 400, 400, 400]
    assert [t[r] for r in REPS] == [100, 100, 300, 100, 200, 200, 200, 200]


def test_potential_override_replaces_the_accounts():
    # R2's potential said 80; the scenario says 60: regions split 60:60
    t = targets(
        cascade(
            small_org(),
            1400,
            methods=only("potential"),
            uplift=FLAT,
            growth=None,
            potential={"R2": 60},
        )
    )
    assert (t["R1"], t["R2"]) == (700, 700)


def test_capacity_hand_worked():
    t = targets(cascade(small_org(), 700, methods=only("capacity"), uplift=FLAT, growth=None))
    assert [t[n] for n in ("R1", "R2", "T1", "T2", "T3", "T4")] == [350, 350, 200, 150, 200, 150]
    assert [t[r] for r in REPS] == [100, 100, 100, 50, 100, 100, 50, 100]


def test_blend_hand_worked():
    # historical + equal, weight 1 each: regions (2/3 + 1/2)/2 = 7/12 and 5/12 of 1,200;
    # T1's reps (1/4 + 1/2)/2 = 3/8 and 5/8 of 350; T4's (0 + 1/2)/2 = 1/4 of 250
    t = targets(
        cascade(
            small_org(),
            1200,
            methods=MethodWeights(historical=1, potential=0, equal=1, capacity=0),
            uplift=FLAT,
            growth=None,
        )
    )
    assert (t["R1"], t["R2"], t["T1"], t["T2"], t["T3"], t["T4"]) == (700, 500, 350, 350, 250, 250)
    assert (t["A1"], t["A2"], t["D1"], t["D2"]) == (131.25, 218.75, 62.5, 187.5)


def test_a_method_without_signal_is_left_out_of_the_blend():
    h = small_org()
    h = dataclasses.replace(h, potential=h.potential * 0)  # no accounts anywhere
    w = MethodWeights(historical=1, potential=5, equal=0, capacity=0)
    assert targets(cascade(h, 1500, methods=w, uplift=FLAT, growth=None)) == targets(
        cascade(small_org(), 1500, methods=only("historical"), uplift=FLAT, growth=None)
    )


def test_focus_region_multiplies_its_share():
    # equal shares 1 : 1, R2 × (1 + 0.5) → 1 : 1.5 of 1,000
    t = targets(
        cascade(
            small_org(),
            1000,
            methods=only("equal"),
            uplift=FLAT,
            growth=None,
            focus_region="R2",
            focus_weight=0.5,
        )
    )
    assert (t["R1"], t["R2"]) == (400, 600)


# --------------------------------------------------------------------------- bounds, locks


def test_cap_binds_and_the_rest_is_re_spread():
    # equal weights on 450: 225 each; A1 (last year 100) is capped at +20% = 120, A2 takes 330
    s = split(450, [1, 1], last_year=[100, 300], floor=-0.1, cap=0.2)
    assert s.amounts.tolist() == [120, 330] and s.status == ("cap", "")


def test_floor_binds_and_the_rest_is_re_spread():
    # weights 1 : 0.1 on 380: A2 (last year 300) may not fall below 270; A1 takes 110
    s = split(380, [1, 0.1], last_year=[100, 300], floor=-0.1, cap=0.2)
    assert s.amounts.tolist() == [110, 270] and s.status == ("", "floor")


def test_new_hire_without_last_year_is_not_bounded():
    s = split(1000, [1, 1], last_year=[0, 100], floor=-0.1, cap=0.2)
    assert s.amounts.tolist() == [880, 120] and s.status == ("", "cap")


def test_bounds_that_cannot_hold_the_total_name_the_parent():
    # the regions may grow 20% at most: 960 + 480 = 1,440, not 3,000
    with pytest.raises(
        AllocationError,
        match=r"cannot split CO \(CO\): its 2 children share 3,000.00 "
        r".*with every one at its growth cap they sum to 1,440.00; widen growth",
    ):
        cascade(
            small_org(),
            3000,
            methods=only("historical"),
            uplift=FLAT,
            growth=GrowthBounds(floor=-0.1, cap=0.2),
        )


def test_locked_override_kept_and_the_rest_re_spread():
    c = cascade(
        small_org(), 1500, methods=only("historical"), uplift=FLAT, growth=None, locked={"T1": 600}
    )
    t = targets(c)
    assert (t["T1"], t["T2"]) == (600, 400)
    assert (t["A1"], t["A2"]) == (150, 450)  # T1's reps share the locked 600 by history
    assert c.table.set_index("node_id").at["T1", "status"] == "locked"


def test_locked_override_above_its_parent_is_refused():
    with pytest.raises(
        AllocationError, match="the locked amounts sum to 1,200.00, above the 1,000.00"
    ):
        cascade(
            small_org(),
            1500,
            methods=only("historical"),
            uplift=FLAT,
            growth=None,
            locked={"T1": 1200},
        )


def test_over_assigned_rounds_half_away_from_zero():
    assert over_assigned(1001, 0.05) == 1051  # 1051.05
    assert over_assigned(10, 0.05) == 11  # 10.5


def test_children_are_processed_by_id_so_row_order_does_not_matter():
    a = cascade(small_org(), 1000.01, methods=only("equal"), uplift=FLAT, growth=None)
    b = cascade(
        small_org(order=list(reversed(range(15)))),
        1000.01,
        methods=only("equal"),
        uplift=FLAT,
        growth=None,
    )
    assert targets(a) == targets(b)


# --------------------------------------------------------------------------- time


def test_time_split_hand_worked():
    h = dataclasses.replace(small_org(), seasonality=np.repeat([0.1, 0.2, 0.3, 0.4], 3) / 3)
    c = cascade(
        h, 1200, methods=only("historical"), uplift=Uplift(region=0, team=0, rep=0.5), growth=None
    )
    long, months, totals = time_split(c)
    amt = dict(zip(zip(long["node_id"], long["period"]), long["amount"]))
    assert [amt[("CO", f"2027-Q{q}")] for q in (1, 2, 3, 4)] == [120, 240, 360, 480]
    assert [amt[("CO", f"2027-{m:02d}")] for m in (1, 4, 12)] == [40, 80, 160]
    # T1 (400) splits like the company, within a cent per period (each month's cent goes
    # to one sibling by largest remainder; the year is exact); its reps share
    # 400 × 1.5 = 600 over T1's months
    assert [amt[("T1", f"2027-Q{q}")] for q in (1, 2, 3, 4)] == pytest.approx(
        [40, 80, 120, 160], abs=0.011
    )
    assert amt[("T1", "2027")] == 400
    assert abs(totals[("T1", "2027-Q1")] - 1.5 * _c(amt[("T1", "2027-Q1")])) <= 2
    assert (
        sum(totals[("T1", f"2027-Q{q}")] for q in (1, 2, 3, 4)) == totals[("T1", "2027")] == 60000
    )
    assert (amt[("A1", "2027-Q1")], amt[("A2", "2027-Q1")]) == pytest.approx((15, 45), abs=0.011)
    # and without seasonality, flat months
    long, _, _ = time_split(c, seasonality=False)
    assert set(long[(long["node_id"] == "CO") & (long["kind"] == "month")]["amount"]) == {100}


def test_monthly_fte_ramps_linearly_from_the_hire_date():
    fte = monthly_fte("2027-03-01", None, 2027, 6)
    assert fte[:2].tolist() == [0, 0]
    assert fte[2] == pytest.approx(14 / (6 * 30.4375))  # 14 days in on 15 March
    assert fte[8:].tolist() == [1, 1, 1, 1]
    assert monthly_fte("2020-01-01", "2027-07-01", 2027, 6).tolist() == [1] * 6 + [0] * 6
    assert monthly_fte("2027-03-01", None, 2027, 0).tolist() == [0, 0] + [1] * 10


# --------------------------------------------------------------------------- risk


def test_fair_quotas_equalise_the_probability_of_attainment():
    # 5 reps, gamma bookings of different scales; quotas sum to 1.4 × the mean total.
    # Tolerance: on the trials used, each P(X ≥ q) is within 1/n (+ the cent rounding) of
    # the common p; on 20,000 fresh trials, within 4 standard errors sqrt(p(1-p)/n)
    # (≈ 0.013), and against the exact gamma tail within 0.02 (quantile noise).
    rng = np.random.default_rng(7)
    scale = np.array([1.0, 2.0, 3.0, 5.0, 8.0]) * 100
    n = 20_000
    x = rng.gamma(4.0, scale, size=(n, 5))
    total = 1.4 * (4.0 * scale).sum()
    fq = fair_quotas(x, total, ids=list("abcde"))
    assert sum(_c(q) for q in fq["quota"]) == _c(total)
    p = fq["target_probability"].iloc[0]
    assert np.all(np.abs(fq["p_attain"] - p) <= 1 / n + 1e-9)
    fresh = rng.gamma(4.0, scale, size=(n, 5))
    p_fresh = (fresh >= fq["quota"].to_numpy()).mean(axis=0)
    assert np.all(np.abs(p_fresh - p) <= 4 * np.sqrt(p * (1 - p) / n))
    exact = stats.gamma.sf(fq["quota"].to_numpy(), 4.0, scale=scale)
    assert np.all(np.abs(exact - p) <= 0.02)


def test_uplift_for_confidence_matches_the_normal_answer():
    # independent normal reps: Σ s X / μ is normal(1, sd); u = 1 / (1 - z_π sd) - 1
    rng = np.random.default_rng(3)
    mu = np.array([100.0, 200.0, 300.0])
    sd = np.array([20.0, 30.0, 60.0])
    x = rng.normal(mu, sd, size=(200_000, 3))
    s = mu / mu.sum()
    z_sd = np.sqrt(np.sum((s * sd / mu) ** 2))
    want = 1 / (1 - stats.norm.ppf(0.8) * z_sd) - 1
    assert uplift_for_confidence(x, s, 0.8) == pytest.approx(want, abs=2e-3)


# --------------------------------------------------------------------------- reconcile


def test_consensus_hand_worked_and_explained():
    # T1 commits 600 against a top-down 500: 50/50 blend 550 is inside ±10%; T2 keeps 500;
    # R1's 1,000 is re-split 550 : 500 → 523.81 and 476.19
    kw = dict(methods=only("historical"), uplift=FLAT, growth=None)
    td = cascade(small_org(), 1500, **kw)
    final, table = consensus(td, {"T1": 600}, commit_weight=0.5, band=0.10, **kw)
    t = targets(final)
    assert (t["T1"], t["T2"], t["R1"], t["CO"]) == (523.81, 476.19, 1000, 1500)
    row = table.set_index("node_id").loc["T1"]
    assert (row["blend"], row["raw"], row["rule"]) == (550, 550, "blend")
    assert (
        "Commit ¥600 is 20.0% above the top-down ¥500; 50% commit + 50% top-down = ¥550"
        in row["explanation_en"]
    )
    assert (
        "rescaled with its siblings to add up to R1 (R1)'s number: ¥523.81" in row["explanation_en"]
    )
    assert "承诺" in row["explanation_zh"] and "融合为" in row["explanation_zh"]
    assert "No commit; rescaled" in table.set_index("node_id").at["T2", "explanation_en"]


def test_consensus_band_limits_a_far_commit():
    kw = dict(methods=only("historical"), uplift=FLAT, growth=None)
    td = cascade(small_org(), 1500, **kw)
    _, table = consensus(td, {"T3": 100}, commit_weight=0.5, band=0.10, **kw)
    row = table.set_index("node_id").loc["T3"]  # blend 175 → held at 250 × 0.9 = 225
    assert (row["blend"], row["raw"], row["rule"]) == (175, 225, "band_low")
    assert "limited to the -10% band edge" in row["explanation_en"]


def test_bad_commit_rows_are_named():
    tree = small_org().tree
    frame = pd.DataFrame(
        {
            "owner_id": ["T11", "CO", "T1"],
            "period": ["2027", "2027", "2027-13"],
            "amount": ["1", "2", "3"],
        }
    )
    with pytest.raises(DataError) as e:
        validate_commits(frame, tree, 2027, "c.csv")
    text = str(e.value)
    assert (
        "c.csv, row 2, column 'owner_id': got 'T11'; not a node of the organisation; "
        "did you mean 'T1'?" in text
    )
    assert "row 3, column 'owner_id': got 'CO'; the company's number is set top-down" in text
    assert "row 4, column 'period': got '2027-13'" in text


# --------------------------------------------------------------------------- SMART, funnel, mix


def test_smart_check_names_each_failing_letter():
    tree = small_org().tree
    t = pd.DataFrame(
        {
            "owner_id": ["CO", "R1", "R2", "X9", "T1"],
            "period": ["2027", "2027", "2026", "2027", "2027"],
            "metric": ["revenue", "revenue", "revenue", "revenue", "nps"],
            "amount": [1000.0, 600.0, 400.0, 5.0, -1.0],
        }
    )
    totals = {("CO", "2027"): 100_000}
    p = {("CO", "2027"): 0.95, ("R1", "2027"): 0.5}
    out = smart_check(
        t, tree, 2027, children_totals=totals, company_target=1000, p_attain=p
    ).set_index("owner_id")
    assert out.at["CO", "fails"] == "A" and "above 90% (no stretch)" in out.at["CO", "why_en"]
    assert (
        out.at["R1", "fails"] == "R"
        and "children of CO sum to 600.00 for 2027, not" in out.at["R1", "why_en"]
    )
    assert (
        out.at["R2", "fails"] == "RT"
        and "not a year, quarter or month of 2027" in out.at["R2", "why_en"]
    )
    assert out.at["X9", "fails"] == "SR"
    assert (
        out.at["T1", "fails"] == "MR" and "does not measure metric 'nps'" in out.at["T1", "why_en"]
    )
    assert pd.isna(out.at["T1", "A"])  # not simulated: not assessed


def test_reverse_funnel_hand_worked():
    rates = pd.DataFrame(
        {
            "avg_deal_size": [100_000.0] * 2,
            "win_rate": [0.5] * 2,
            "proposal_rate": [0.25] * 2,
            "visits_per_lead": [2.0] * 2,
        },
        index=["A1", "A2"],
    )
    months = pd.DataFrame(
        {"rep_id": ["A1", "A2"], "period": ["2027-01"] * 2, "revenue": [1_000_000.0, 250_000.0]}
    )
    reps, teams = reverse_funnel(months, rates, {"A1": "T1", "A2": "T1"}, lead_floor=50)
    a1 = reps.set_index("rep_id").loc["A1"]
    assert (a1["deals"], a1["proposals"], a1["visits"], a1["leads"]) == (10, 20, 80, 40)
    assert reps.set_index("rep_id").at["A2", "leads_target"] == 10
    row = teams.iloc[0]
    assert (row["leads_required"], row["leads_to_deliver"], bool(row["above_floor"])) == (
        50,
        50,
        False,
    )
    _, teams = reverse_funnel(
        months.assign(revenue=[1_100_000.0, 250_000.0]),
        rates,
        {"A1": "T1", "A2": "T1"},
        lead_floor=50,
    )
    assert (
        teams.iloc[0]["leads_required"] == 54
        and "4 above the floor of 50" in teams.iloc[0]["note_en"]
    )


def test_mix_override_keeps_the_rest_in_historical_proportion():
    h = pd.Series({"IoT": 0.5, "Sensors": 0.3, "Services": 0.2})
    assert mix_shares(h, {"IoT": 0.6}).round(10).to_dict() == {
        "IoT": 0.6,
        "Sensors": 0.24,
        "Services": 0.16,
    }


# --------------------------------------------------------------------------- scenarios


def test_scenario_round_trip_and_compare(tmp_path):
    s = load_scenario("baseline_2027")
    p = save_scenario(s.model_copy(update={"locked": {"T-SH": 190_000_000.0}}), tmp_path / "x.yaml")
    back = load_scenario(p)
    assert (
        back.model_dump() == s.model_copy(update={"locked": {"T-SH": 190_000_000.0}}).model_dump()
    )
    diff = compare_scenarios(s, back)
    assert diff[diff["changed"]]["path"].tolist() == ["locked.T-SH"]


def test_scenario_starts_from_targets_yaml():
    from simlib.params import load_params

    s = Scenario.from_params(load_params("targets.yaml"), name="from_params", fair_quotas=True)
    assert s.fair_quotas and s.year == 2027 and s.company_growth == 0.12


def _check_problem(err: ParamError, file: str, want: dict):
    text = str(err)
    assert file in text
    shown = "" if want["value"] is None else f"got {want['value']!r}; "
    head = f"{want['path']}: {shown}"
    assert head in text, f"{head!r} not in {text!r}"
    for m in want["message"]:
        assert m in text, f"{m!r} not in {text!r}"


def test_a_scenario_takes_what_it_does_not_write_from_the_standing_policy(tmp_path, monkeypatch):
    """params/targets.yaml is the policy, a scenario states what it changes (issue 16)."""
    import shutil

    from simlib.targets.scenario import policy_overrides, save_scenario
    from simlib.views.workshop import policy_text

    params = tmp_path / "params"
    shutil.copytree(Path(__file__).resolve().parents[1] / "params", params)
    (params / "targets.yaml").write_text(
        "year: 2027\ncompany_growth: 0.12\nuplift: {team: 0.04, rep: 0.06}\n"
        "growth: {floor: -0.05, cap: 0.35}\nfocus_region: R-EAST\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SIMLIB_PARAMS", str(params))
    f = tmp_path / "q4.yaml"
    f.write_text(
        "company_target: 1500000000\ngrowth: {cap: 0.6}\nuplift: {rep: 0.02}\n", encoding="utf-8"
    )
    s = load_scenario(f)
    # written here wins; left out comes from the policy, nested keys one by one
    assert (s.growth.cap, s.growth.floor) == (0.6, -0.05)
    assert (s.uplift.rep, s.uplift.team, s.uplift.region) == (0.02, 0.04, 0.0)
    assert (s.year, s.focus_region) == (2027, "R-EAST")
    # the scenario's company number replaces the policy's (not "both given")
    assert (s.company_target, s.company_growth) == (1_500_000_000, None)
    assert policy_overrides(s) == [
        ("company_number", {"company_growth": 0.12}, {"company_target": 1_500_000_000}),
        ("uplift.rep", 0.06, 0.02),
        ("growth.cap", 0.35, 0.6),
    ]
    assert policy_text(s, "en") == (
        "Changes to the standing policy (params/targets.yaml): Company growth +12.0% → "
        "Company target ¥1,500.00M; Uplift, reps +6.0% → +2.0%; Growth cap +35.0% → +60.0%"
    )
    assert "增长上限 +35.0% → +60.0%" in policy_text(s, "zh-CN")
    # a value equal to simlib's default but not to the policy survives a save and reload
    t = s.model_copy(update={"uplift": s.uplift.model_copy(update={"team": 0.03})})
    back = load_scenario(save_scenario(t, tmp_path / "saved.yaml"))
    assert back.uplift.team == 0.03 and back.model_dump() == {**t.model_dump(), "name": back.name}
    # a scenario that changes nothing says nothing
    same = tmp_path / "same.yaml"
    same.write_text("company_growth: 0.12\n", encoding="utf-8")
    assert policy_text(load_scenario(same), "en") == ""


@pytest.mark.parametrize("case", [c for c in CASES if c["stage"] == "load"], ids=lambda c: c["id"])
def test_broken_scenario_files_fail_to_load(case):
    with pytest.raises(ParamError) as e:
        load_scenario(BAD / case["file"])
    _check_problem(e.value, case["file"], case["expect"])


# --------------------------------------------------------------------------- demo company


@pytest.fixture(scope="module")
def cache(demo):
    return TargetCache(demo)


@pytest.fixture(scope="module")
def baseline():
    s = load_scenario("baseline_2027")
    return s.model_copy(update={"simulation": s.simulation.model_copy(update={"n_trials": 2000})})


@pytest.fixture(scope="module")
def alloc(demo, cache, baseline):
    return run_scenario(baseline, demo, cache=cache)


@pytest.mark.parametrize("case", [c for c in CASES if c["stage"] == "run"], ids=lambda c: c["id"])
def test_broken_scenarios_fail_against_the_demo_org(case, demo, cache):
    s = load_scenario(BAD / case["file"])
    s2 = s.model_copy(update={"simulation": s.simulation.model_copy(update={"n_trials": 2000})})
    s2._source = s._source
    if case.get("error") == "DataError":
        with pytest.raises(DataError) as e:
            run_scenario(s2, demo, cache=cache)
        text = str(e.value)
        for want in case["expect"]:
            assert (
                f"{want['file']}, row {want['row']}, column {want['column']!r}: "
                f"got {want['value']!r}" in text
            )
            assert all(m in text for m in want["message"])
        return
    with pytest.raises(ParamError) as e:
        run_scenario(s2, demo, cache=cache)
    _check_problem(e.value, case["file"], case["expect"])


def test_demo_allocation_sums_exactly_at_every_level_and_period(alloc):
    t = alloc.targets
    tree = alloc.history.tree
    cents = {(o, p): _c(float(a)) for o, p, a in zip(t["owner_id"], t["period"], t["amount"])}
    periods = t["period"].unique()
    assert len(periods) == 17 and len(t) == 17 * len(tree.ids)
    for parent in tree.parents():
        kids = tree.children(parent)
        u = {"region": 0.0, "team": 0.02, "rep": 0.03}[tree.level_of[kids[0]]]
        assert sum(cents[(k, "2027")] for k in kids) == over_assigned(cents[(parent, "2027")], u)
        for p in periods:
            assert sum(cents[(k, p)] for k in kids) == alloc.children_totals[(parent, p)]
    for n in tree.ids:
        y = cents[(n, "2027")]
        assert (
            y
            == sum(cents[(n, f"2027-Q{q}")] for q in range(1, 5))
            == sum(cents[(n, f"2027-{m:02d}")] for m in range(1, 13))
        )
    assert cents[("CO", "2027")] == _c(1_570_000_000)
    # the bounds held for every comparable node
    n = alloc.nodes
    bounded = n[n["comparable"] & (n["status"] != "locked") & (n["level"] != "company")]
    assert (bounded["growth"] >= -0.10 - 1e-9).all() and (bounded["growth"] <= 0.60 + 1e-9).all()


def test_demo_derived_tables(alloc):
    assert set(alloc.smart.columns) >= {"S", "M", "A", "R", "T", "fails", "why_en", "why_zh"}
    assert len(alloc.smart) == len(alloc.targets)
    assert not alloc.smart["fails"].str.contains("[SMRT]").any()  # only A can fail here
    assert alloc.nodes["p_attain"].between(0, 1).all()
    ft = alloc.funnel_teams
    assert len(ft) == 9 * 12 and (ft["leads_to_deliver"] >= 50).all()
    mix = alloc.mix
    s3 = mix[(mix["node_id"] == "S003") & (mix["period"] == "2027")].set_index("category")
    assert s3.at["new_customer", "share"] == pytest.approx(0.30)
    assert _c(s3["amount"].sum()) == _c(alloc.nodes.set_index("node_id").at["S003", "target"])


def test_uplift_from_confidence_reaches_the_confidence(demo, cache, baseline):
    a = run_scenario(
        baseline.model_copy(update={"uplift_from_confidence": True}), demo, cache=cache
    )
    r = a.risk.set_index("measure")["value"]
    assert r["over_assignment_total"] == pytest.approx(r["uplift_for_confidence"], abs=1e-6)
    # quantile of the trials: within one trial (and the rounding to cents) of 80%
    assert r["p_company_if_reps_on_quota"] == pytest.approx(0.80, abs=2 / 2000)


def test_fair_quotas_on_the_demo_equalise_within_each_team(demo, cache, baseline):
    a = run_scenario(
        baseline.model_copy(update={"fair_quotas": True, "growth": GrowthBounds(floor=-1, cap=5)}),
        demo,
        cache=cache,
    )
    reps = a.nodes[a.nodes["level"] == "rep"]
    spread = reps.groupby("parent_id")["p_attain"].agg(lambda p: p.max() - p.min())
    assert (spread <= 2 / 2000).all()  # same trials: one trial's worth (plus cents)


def test_commits_give_gaps_and_a_consensus_that_keeps_the_company_number(
    demo, cache, baseline, tmp_path
):
    td = run_scenario(baseline, demo, cache=cache)
    tsh = td.nodes.set_index("node_id").at["T-SH", "target"]
    pd.DataFrame(
        {
            "owner_id": ["T-SH", "S003", "T-HZ"],
            "period": ["2027", "2027", "2027-Q1"],
            "amount": [tsh * 0.8, 30_000_000, 50_000_000],
        }
    ).to_csv(tmp_path / "commits.csv", index=False)
    a = run_scenario(baseline, demo, cache=cache, commits=tmp_path / "commits.csv")
    g = a.gaps.set_index("owner_id")
    assert g.at["T-SH", "gap"] == pytest.approx(-0.2 * tsh, abs=0.01)
    cons = a.consensus.set_index("node_id")
    assert cons.at["T-SH", "rule"] == "band_low" and cons.at["T-HZ", "rule"] == "no_commit"
    assert _c(a.nodes.set_index("node_id").at["CO", "target"]) == _c(1_570_000_000)
    east = a.nodes.set_index("node_id").loc[["T-SH", "T-HZ", "T-NJ"], "target"].sum()
    assert _c(east) == _c(
        td.nodes.set_index("node_id").loc[["T-SH", "T-HZ", "T-NJ"], "target"].sum()
    )
    assert any("T-HZ: commits for 2027-Q1 do not cover the year" in n for n in a.notes)


def test_export_neutralises_formulas_but_keeps_numbers(alloc, tmp_path):
    import openpyxl

    evil = alloc.nodes.copy()
    evil.loc[evil["node_id"] == "T-SH", "name"] = '=HYPERLINK("http://x","click")'
    evil.loc[evil["node_id"] == "T-HZ", "name"] = "@SUM(1)"
    # the demo's baseline has no shrinking node: give one a negative growth, which must
    # reach the sheet as a number (not as quoted text like a "-..." string would)
    evil.loc[evil["node_id"] == "S003", "growth"] = -0.25
    bad = dataclasses.replace(alloc, nodes=evil)
    p = export_xlsx(bad, tmp_path / "a.xlsx")
    ws = openpyxl.load_workbook(p)["allocation"]
    header = [c.value for c in ws[1]]
    rows = {r[header.index("node_id")]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["T-SH"][header.index("name")] == '\'=HYPERLINK("http://x","click")'
    assert rows["T-HZ"][header.index("name")] == "'@SUM(1)"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert isinstance(rows["T-SH"][header.index("target")], float)
    gcol = header.index("growth")
    assert rows["S003"][gcol] == -0.25
    want = bad.to_frame().set_index("node_id")["growth"]
    assert set(rows) == set(want.index)
    for node_id, row in rows.items():
        if pd.isna(want[node_id]):
            assert row[gcol] is None, node_id
        else:
            assert isinstance(row[gcol], float), node_id
            assert row[gcol] == pytest.approx(want[node_id], rel=1e-12), node_id
    csv = export_csv(bad, tmp_path / "a.csv")
    text = csv.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text
    neg = neutralise(pd.DataFrame({"gap": [-5.0], "who": ["-1+2"]}))
    assert neg.at[0, "gap"] == -5.0 and neg.at[0, "who"] == "'-1+2"


def test_cli_allocate_prints_json_and_writes_xlsx(demo, cache, monkeypatch, tmp_path, capsys):
    import simlib.cli
    import simlib.cli.targets
    import simlib.targets.run as run_mod

    monkeypatch.setattr(simlib.cli.targets, "load_dataset", lambda args: demo)
    real = run_mod.run_scenario
    monkeypatch.setattr(
        run_mod,
        "run_scenario",
        lambda s, d, commits=None: real(
            s.model_copy(update={"simulation": s.simulation.model_copy(update={"n_trials": 2000})}),
            d,
            cache=cache,
            commits=commits,
        ),
    )
    parser = argparse.ArgumentParser(prog="simlib")
    simlib.cli.targets.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["targets", "allocate", "--scenario", "baseline_2027", "--json", "--level", "region"]
    )
    assert args.func(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["node_id"] for r in rows] == ["R-EAST", "R-NORTH", "R-SOUTH", "R-WEST"]
    args = parser.parse_args(
        ["targets", "allocate", "--scenario", "baseline_2027", "--xlsx", str(tmp_path / "o.xlsx")]
    )
    assert args.func(args) == 0 and (tmp_path / "o.xlsx").exists()
    args = parser.parse_args(
        ["targets", "allocate", "--scenario", "baseline_2027", "--level", "bogus"]
    )
    with pytest.raises(simlib.cli.UserError, match="--level must be"):
        args.func(args)


def test_a_target_without_a_comparable_year_says_the_bounds_did_not_apply(alloc):
    """S036 grows +554% under a 60% cap because it has no comparable base year: the
    allocation says so instead of a blank status (issue 16)."""
    from simlib.views.workshop import LEVELS, allocation_html, allocation_table, bound_keys

    table = allocation_table(alloc, LEVELS)
    keys = dict(zip(table["node_id"], bound_keys(alloc, table)))
    free = alloc.nodes.set_index("node_id")["comparable"].astype(bool)
    assert {n for n, k in keys.items() if k == "no_history"} == set(free.index[~free])
    assert keys["S036"] == "no_history" and keys["CO"] == "free"
    assert table.set_index("node_id").at["S036", "growth"] > 0.6  # above the 60% cap
    for lang in ("zh-CN", "en"):
        html = allocation_html(alloc, LEVELS, None, lang)
        assert ("无可比基准年" if lang == "zh-CN" else "no comparable year") in html
        assert ("新人，无基准年" if lang == "zh-CN" else "new: no base year") in html  # S010


# --------------------------------------------------------------------------- the observed ramp


def test_the_ramp_the_data_show_and_the_reps_still_ramping(demo, alloc):
    """Issue 16: a new hire's quarters beside the ramp the company's own hires show."""
    from simlib.targets.ramp import observed_ramp, ramp_reps
    from simlib.views.workshop import ramp_html

    ramp = observed_ramp(demo)
    assert set(ramp.hires) == {"S010", "S020", "S036", "S052", "S072"}
    # one cell by hand: S020's month of hire (2025-06) against the tenured reps' mean
    opp, reps = demo.opportunities, demo.reps
    won = opp[(opp["stage"] == "won") & (opp["close_date"].dt.to_period("M") == "2025-06")]
    sellers = reps[(reps["role"] == "rep") & (reps["hire_date"] <= "2024-06-30")]
    by = won.groupby("owner_id")["amount"].sum().reindex(sellers["rep_id"]).fillna(0.0)
    s020 = won.loc[won["owner_id"] == "S020", "amount"].sum() / by.mean()
    row0 = ramp.curve.set_index("month").loc[0]
    assert row0["hires"] == 5 and 0 <= s020 <= 5 * row0["ratio"]
    # the demo's hires reach 90% of the tenured level in month 11 (index 10), not month 7
    assert ramp.months_to_full == 10 and ramp.share(10) == 1.0 and ramp.share(-1) == 0.0
    assert 0.2 < ramp.curve["smoothed"].iloc[:3].mean() < 0.4

    rows = ramp_reps(alloc, demo, ramp).set_index("rep_id")
    assert set(rows.index) == {"S010", "S052"}  # hired in 2026: still ramping in 2027
    s010 = rows.loc["S010"]
    # hired 2026-06: January 2027 is month 7 of tenure
    assert s010["observed_Q1"] == pytest.approx(np.mean([ramp.share(k) for k in (7, 8, 9)]))
    frame = alloc.to_frame()
    tenured = frame[(frame["parent_id"] == "T-SH") & (frame["level"] == "rep")]
    tenured = tenured[alloc.history.comparable.reindex(tenured["node_id"]).to_numpy()]
    assert s010["expected_Q1"] == pytest.approx(s010["observed_Q1"] * tenured["Q1"].mean())
    assert s010["plan_Q1"] == 1.0  # the plan's linear 6-month ramp is over by January
    for lang, words in (
        ("en", ("Wu Yang", "month 11", "after 6 months")),
        ("zh-CN", ("吴洋", "第 11 个月")),
    ):
        html = str(ramp_html(alloc, demo, lang, ramp))
        assert all(w in html for w in words) and "S010" not in html and "nan" not in html.lower()


def test_the_scenario_chooses_how_reps_without_a_comparable_year_are_bounded(demo, cache, baseline):
    """Issue 16: growth.no_history — 'free' says no bound applied, 'peers' bounds a
    new node by its comparable siblings' mean last year (× the plan's FTE for a rep)."""
    from simlib.views.workshop import bound_keys

    def run(rule):
        s = baseline.model_copy(
            update={"growth": baseline.growth.model_copy(update={"no_history": rule})}
        )
        a = run_scenario(s, demo, cache=cache)
        f = a.to_frame().set_index("node_id")
        return a, f.assign(key=bound_keys(a, f.reset_index()))

    free_a, free = run("free")
    assert (
        free.at["S036", "key"] == "no_history"
        and free.at["S036", "target"] > 6 * free.at["S036", "last_year"]
    )
    a, peers = run("peers")
    h = a.history
    mates = [n for n in peers.index[peers["parent_id"] == "T-GZ"] if h.comparable[n]]
    bound = (
        h.last_year[mates].mean() * float(h.fte.loc["S036"].mean()) * (1 + baseline.growth.floor)
    )
    assert peers.at["S036", "target"] == pytest.approx(bound, abs=0.01)
    assert peers.at["S036", "key"] == "peers_floor"
    # comparable reps keep their own bounds; the team still sums to its target
    team = peers[peers["parent_id"] == "T-GZ"]
    assert team["target"].sum() == pytest.approx(
        peers.at["T-GZ", "target"] * (1 + baseline.uplift.rep), abs=1
    )

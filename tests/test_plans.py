"""Commission plans: hand-worked cases, shipped plans, bad plans, cost and solvers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib.config import ParamError, default_params_dir, load_yaml
from simlib.params import load_params
from simlib.plans import (
    PlanSpec,
    PoolSpec,
    allocate_pool,
    attainment_shares,
    compare_plans,
    compute_statements,
    cost_of_sales,
    evaluate,
    fairness,
    gaming_risk,
    gini,
    load_plan,
    load_pool,
    not_modelled,
    payout_curve,
    plan_levels,
    pool_payouts,
    solve_gate,
    solve_rate,
    statement_for,
    teams_from_reps,
)

HERE = Path(__file__).parent
PARAMS = default_params_dir()
CASES = load_yaml(HERE / "cases" / "commission.yaml")["cases"]
BAD = HERE / "bad_inputs" / "plans"


# --------------------------------------------------------------------------- cases


def _merged(kind: str, spec, overrides: dict | None, default_name: str) -> dict:
    if isinstance(spec, str):
        path = PARAMS / ("plans" if kind == "plan" else "") / f"{spec}.yaml"
        data = load_yaml(path)
        data.setdefault("name", spec)
    else:
        data = dict(spec)
        data.setdefault("name", default_name)
    data.update(overrides or {})
    return data


def _frames(case):
    deals = pd.DataFrame(
        [
            {
                "opportunity_id": d["id"],
                "owner_id": d.get("owner", "R1"),
                "amount": d["amount"],
                "close_date": pd.Timestamp(d["date"]),
                "product_id": d.get("product", "P-CORE"),
                "deal_type": d.get("type", "new_customer"),
                "gross_margin_pct": d.get("margin_pct"),
                "cost": d.get("cost"),
                "stage": "won",
            }
            for d in case.get("deals", [])
        ]
    )
    quotas = None
    if "quotas" in case:  # {rep: {period: quota}} or {rep: {period: {measure: quota}}}
        rows = []
        for r, per in case["quotas"].items():
            for p, q in per.items():
                if isinstance(q, dict):
                    rows += [
                        {"owner_id": r, "period": str(p), "metric": m, "quota": v}
                        for m, v in q.items()
                    ]
                else:
                    rows.append({"owner_id": r, "period": str(p), "quota": q})
        quotas = pd.DataFrame(rows)
    metrics = None
    if "metrics" in case:
        metrics = pd.DataFrame(
            [
                {"owner_id": r, "period": str(p), **vals}
                for r, per in case["metrics"].items()
                for p, vals in per.items()
            ]
        )
    reversals = None
    if "reversals" in case:
        reversals = pd.DataFrame(
            [
                {"opportunity_id": o, "reversal_date": pd.Timestamp(d)}
                for o, d in case["reversals"].items()
            ]
        )
    collections = None
    if "collections" in case:
        collections = pd.DataFrame(
            case["collections"], columns=["opportunity_id", "date", "amount"]
        )
    return deals, quotas, metrics, reversals, collections


def _check_pool(case):
    pool = PoolSpec.model_validate(_merged("pool", case["pool"], case.get("set"), case["id"]))
    res = allocate_pool(pool, pd.DataFrame(case["results"]))
    exp = case["expect"]
    assert res.pool_cents == round(exp["pool"] * 100)
    assert sum(s.cents for s in res.shares) == res.pool_cents  # to the cent
    got = res.cents_by_rep()
    if "shares" in exp:
        assert got == {k: round(v * 100) for k, v in exp["shares"].items()}
    if "shares_multiset" in exp:
        assert sorted(got.values()) == sorted(round(v * 100) for v in exp["shares_multiset"])
    assert list(res.review) == exp.get("review", [])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_commission_case(case):
    if "pool" in case:
        _check_pool(case)
        return
    plan = PlanSpec.model_validate(_merged("plan", case["plan"], case.get("set"), case["id"]))
    exp = case["expect"]
    if "result" in case:
        statements = [
            statement_for(
                plan,
                case["result"],
                case.get("quota"),
                collection_rate=case.get("collection_rate"),
                kpi_score=case.get("kpi_score"),
            )
        ]
    else:
        deals, quotas, metrics, reversals, collections = _frames(case)
        statements = list(
            compute_statements(
                plan,
                deals,
                quotas,
                reversals=reversals,
                collections=collections,
                metrics=metrics,
                teams=case.get("teams"),
            )
        )
    for s in statements:  # every statement reconciles to the cent
        assert sum(ln.cents for ln in s.lines) == s.payable_cents, repr(s)
    if "payout" in exp:
        assert len(statements) == 1
        assert statements[0].payable_cents == round(exp["payout"] * 100), repr(statements[0])
    if "band" in exp:
        assert statements[0].band == exp["band"]
    for key, want in exp.get("statements", {}).items():
        rep, period = key.split()
        (s,) = [s for s in statements if s.rep_id == rep and s.period == period]
        want = want if isinstance(want, dict) else {"payout": want}
        assert s.payable_cents == round(want["payout"] * 100), repr(s)
        if "balance" in want:
            assert s.balance_out_cents == round(want["balance"] * 100), repr(s)
    if "lines" in exp:
        texts = [ln.text for s in statements for ln in s.lines]
        assert texts == exp["lines"]
    if "kinds" in exp:
        totals: dict[str, int] = {}
        for s in statements:
            for k, c in s.cents_by_kind().items():
                totals[k] = totals.get(k, 0) + c
        for k, v in exp["kinds"].items():
            assert totals.get(k, 0) == round(v * 100), (k, totals)


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)


# --------------------------------------------------------------------------- shipped files


SHIPPED = sorted((PARAMS / "plans").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_plan_loads(path):
    plan = load_plan(path)
    assert isinstance(plan, PlanSpec)
    assert plan.name == path.stem
    assert plan.description and plan.reference
    assert repr(plan).startswith("PlanSpec(")
    assert plan.describe().startswith(path.stem)


def test_required_plans_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {
        "tiered_cn",
        "tiered_cn_retro",
        "saas_quota",
        "gated_collections",
        "manager_override",
    } <= names
    assert load_plan("saas_quota").multipliers and load_plan("saas_quota").cap
    assert load_plan("gated_collections").gate is not None
    assert load_plan("manager_override").credit == "team"


def test_bonus_pool_loads():
    pool = load_pool(PARAMS / "bonus_pool.yaml")
    assert 0.05 <= pool.funding_rate <= 0.10
    assert pool.shares[0] == 0.30
    assert "PoolSpec(" in repr(pool)


def test_tiered_cn_is_the_playbook_example():
    plan = load_plan("tiered_cn")
    assert [(b.threshold, b.rate) for b in plan.tiers] == [
        (0, 0.01),
        (1_000_000, 0.015),
        (3_000_000, 0.02),
    ]
    assert plan.mode == "marginal"
    retro = load_plan("tiered_cn_retro")
    assert retro.mode == "retroactive" and retro.tiers == tuple(
        b.model_copy(update={"label": None}) for b in plan.tiers
    )


# --------------------------------------------------------------------------- bad plans


BAD_CASES = [
    # file, dotted path, value shown, words that say what is allowed
    # (simlib.config currently shortens a path ending in ``.threshold``; the message
    # names the key in full either way)
    (
        "overlapping_bands.yaml",
        "plans.overlapping_bands.tiers[2]",
        "got 900000.0",
        "bands overlap: tiers[2].threshold 900,000 is not above tiers[1].threshold 1,000,000",
    ),
    (
        "gapped_bands.yaml",
        "plans.gapped_bands.tiers[0].up_to",
        "got 900000.0",
        "gap between bands: tiers[0] ends at 900,000 but tiers[1] starts at 1,000,000",
    ),
    (
        "first_band_not_zero.yaml",
        "plans.first_band_not_zero.tiers[0]",
        "got 500000.0",
        "tiers[0].threshold must be 0",
    ),
    (
        "negative_rate.yaml",
        "plans.negative_rate.tiers[1].rate",
        "got -0.015",
        "greater than or equal to 0",
    ),
    (
        "cap_below_floor.yaml",
        "plans.cap_below_floor.cap.per_period",
        "got 1000.0",
        "a cap must be at least the floor",
    ),
    ("unknown_key.yaml", "plans.unknown_key", "unknown key 'tier'", "did you mean 'tiers'?"),
    (
        "unknown_band_key.yaml",
        "plans.unknown_band_key.tiers[1]",
        "unknown key 'rte'",
        "did you mean 'rate'?",
    ),
    ("rate_as_percent.yaml", "plans.rate_as_percent.tiers[0].rate", "got 1.5", "at most 1 (100%)"),
    ("bad_mode.yaml", "plans.bad_mode.mode", "got 'progressive'", "'marginal' or 'retroactive'"),
    (
        "ratio_measure_on_measure.yaml",
        "plans.ratio_measure_on_measure.pays_on",
        "got 'measure'",
        "must pay on 'target_incentive'",
    ),
]


@pytest.mark.parametrize("fname,path,value,allowed", BAD_CASES, ids=[b[0] for b in BAD_CASES])
def test_bad_plan_message(fname, path, value, allowed):
    file = BAD / fname
    with pytest.raises(ParamError) as ei:
        load_params(file)
    msg = str(ei.value)
    assert str(file) in msg
    assert path in msg
    assert value in msg
    assert allowed in msg


def test_pool_shares_over_100_percent():
    file = BAD / "pool" / "bonus_pool.yaml"
    with pytest.raises(ParamError) as ei:
        load_params(file)
    msg = str(ei.value)
    assert str(file) in msg
    assert "bonus_pool.shares" in msg
    assert "[0.5, 0.3, 0.3]" in msg
    assert "must not exceed 1 (100%)" in msg


def test_bad_files_each_fail_for_one_reason():
    # a misspelt band key also leaves the real key missing: two findings, both named
    for file in (f for f in BAD.glob("*.yaml") if f.name != "unknown_band_key.yaml"):
        with pytest.raises(ParamError) as ei:
            load_params(file)
        assert len(ei.value.problems) == 1, (file, str(ei.value))


# --------------------------------------------------------------------------- statements


def _deals(*rows):
    return pd.DataFrame(
        [
            {"opportunity_id": o, "owner_id": r, "amount": a, "close_date": pd.Timestamp(d)}
            for o, r, a, d in rows
        ]
    )


def test_statement_frames_and_repr():
    plan = load_plan("tiered_cn")
    ss = compute_statements(
        plan, _deals(("D1", "R1", 1_500_000, "2025-01-10"), ("D2", "R2", 500_000, "2025-02-01"))
    )
    assert len(ss) == 2
    df = ss.to_frame()
    assert list(df["payable"]) == [17_500.0, 5_000.0]
    lines = ss.lines()
    assert lines["cents"].sum() == ss.total_cents == 2_250_000
    st = ss.get("R1", "2025-Q1")
    assert "1,000,000 × 1% = 10,000" in repr(st)
    assert "payable" in repr(st) and "17,500" in repr(st)
    bands = st.bands()
    assert list(bands["cents"]) == [1_000_000, 750_000]
    assert "StatementSet(tiered_cn" in repr(ss)
    with pytest.raises(KeyError, match="no statement for rep 'R9'"):
        ss.get("R9", "2025-Q1")


def test_statements_do_not_mutate_inputs():
    plan = load_plan("tiered_cn")
    deals = _deals(("D1", "R1", 1_500_000, "2025-01-10"))
    before = deals.copy()
    compute_statements(plan, deals)
    pd.testing.assert_frame_equal(deals, before)


def test_missing_quota_is_named():
    with pytest.raises(ValueError, match=r"needs a quota: none for 'R1' in \['2025-Q1'\]"):
        compute_statements(load_plan("saas_quota"), _deals(("D1", "R1", 100, "2025-01-10")))


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"deals is missing column\(s\) \['close_date'\]"):
        compute_statements(
            load_plan("tiered_cn"),
            pd.DataFrame({"opportunity_id": ["D1"], "owner_id": ["R1"], "amount": [1.0]}),
        )


def test_quota_period_label_must_match_plan():
    quotas = pd.DataFrame([{"owner_id": "R1", "period": "2025-01", "quota": 100.0}])
    with pytest.raises(ValueError, match="is not a quarter label like '2025-Q3'"):
        compute_statements(load_plan("saas_quota"), _deals(("D1", "R1", 100, "2025-01-10")), quotas)


def test_teams_from_reps_table():
    reps = pd.DataFrame(
        {
            "rep_id": ["M1", "R1", "R2", "M2", "R3"],
            "team_id": ["T1", "T1", "T1", "T2", "T2"],
            "role": ["manager", "rep", "rep", "manager", "rep"],
        }
    )
    assert teams_from_reps(reps) == {"M1": ("R1", "R2"), "M2": ("R3",)}


def test_lost_deals_are_ignored():
    deals = _deals(("D1", "R1", 1_500_000, "2025-01-10"), ("D2", "R1", 900_000, "2025-01-11"))
    deals["stage"] = ["won", "lost"]
    ss = compute_statements(load_plan("tiered_cn"), deals)
    assert ss.get("R1", "2025-Q1").payable_cents == 1_750_000


# --------------------------------------------------------------------------- vectorised


def _trials(T=2000, R=12, seed=1):
    rng = np.random.default_rng(seed)
    quota = rng.uniform(0.8e6, 1.2e6, R)
    bookings = quota * rng.lognormal(-0.05, 0.35, (T, R))
    return bookings, quota


def test_evaluate_matches_hand_figures():
    b = np.array([[1_500_000.0, 3_500_000.0, 1_000_000.0]])
    assert evaluate(load_plan("tiered_cn"), b).tolist() == [[17_500.0, 50_000.0, 10_000.0]]
    assert evaluate(load_plan("tiered_cn_retro"), b).tolist() == [[22_500.0, 70_000.0, 10_000.0]]


def test_evaluate_errors_are_specific():
    b, q = _trials(10, 3)
    with pytest.raises(ValueError, match="uses attainment: pass quota"):
        evaluate(load_plan("saas_quota"), b)
    with pytest.raises(ValueError, match="gates on the collection rate"):
        evaluate(load_plan("gated_collections"), b, q, kpi_score=70)
    with pytest.raises(ValueError, match=r"quota must have shape \(3,\)"):
        evaluate(load_plan("saas_quota"), b, q[:2])
    with pytest.raises(ValueError, match="pays on team results: pass teams"):
        evaluate(load_plan("manager_override"), b, q)


def test_team_plan_over_trials():
    b, q = _trials(500, 6)
    teams = ["A", "A", "A", "B", "B", "B"]
    pay = evaluate(load_plan("manager_override"), b, q, teams=teams)
    assert pay.shape == (500, 2)
    team_b = b[:, :3].sum(axis=1)
    team_q = q[:3].sum()
    a = team_b / team_q
    expect = np.where(
        a >= 0.7, np.minimum(0.005 * team_b + 0.0025 * np.maximum(team_b - team_q, 0), 150_000), 0
    )
    np.testing.assert_allclose(pay[:, 0], expect, rtol=1e-12)


def test_cost_of_sales_on_common_trials():
    b, q = _trials()
    plans = [load_plan("tiered_cn"), load_plan("tiered_cn_retro")]
    res = cost_of_sales(plans, b, q)
    assert res.names == ("tiered_cn", "tiered_cn_retro")
    np.testing.assert_allclose(res.total, sum(evaluate(p, b, q).sum(axis=1) for p in plans))
    assert res.p90 >= res.budget_p50 > 0
    assert res.reserve_p90 == pytest.approx(res.p90 - res.budget_p50)
    assert 0 < res.expected_cost_of_sales < 0.05
    summ = res.summary()
    assert list(summ["plan"]) == ["tiered_cn", "tiered_cn_retro", "total"]
    assert res.by_rep().shape[0] == 2 * b.shape[1]
    assert "CostResult(" in repr(res) and "budget P50" in repr(res)
    # retroactive pays at least as much as marginal on every trial
    assert (res.payouts["tiered_cn_retro"] >= res.payouts["tiered_cn"] - 1e-9).all()
    cmp = compare_plans({"m": plans[0], "r": plans[1]}, b, q)
    assert cmp.loc[1, "diff_vs_first"] > 0 and cmp.loc[1, "diff_se"] > 0


def test_cost_with_pool_and_not_modelled():
    b, q = _trials(300, 8)
    res = cost_of_sales([load_plan("new_hire_draw"), load_pool(PARAMS / "bonus_pool.yaml")], b, q)
    np.testing.assert_allclose(res.payouts["bonus_pool"].sum(axis=1), 0.05 * b.sum(axis=1))
    assert any("clawbacks" in t for t in res.not_modelled)
    assert any("SPIF" in t for t in not_modelled(load_plan("saas_quota")))
    assert not_modelled(load_plan("tiered_cn")) == ()
    with pytest.raises(ValueError, match=r"different currencies \['CNY', 'USD'\]"):
        cost_of_sales([load_plan("saas_quota"), load_plan("tiered_cn")], b, q)


def test_pool_payouts_rank_by_attainment():
    pool = load_pool(PARAMS / "bonus_pool.yaml")
    results = np.array(
        [[1_500_000, 1_300_000, 1_100_000, 1_000_000, 900_000, 800_000, 700_000, 200_000.0]]
    )
    pay = pool_payouts(pool, results, np.full(8, 1_000_000.0))
    np.testing.assert_allclose(pay[0], [112_500, 75_000, 56_250] + [32_812.5] * 4 + [0])


def test_payout_curve_and_marginal_pay():
    curve = payout_curve(load_plan("tiered_cn"), 2_000_000)
    row = curve.set_index("attainment").loc[0.75]
    assert row["payout"] == pytest.approx(10_000 + 500_000 * 0.015)
    assert row["marginal_pay"] == pytest.approx(20_000 * 0.015)
    assert (np.diff(curve["payout"]) >= 0).all()


def test_gaming_risk_finds_cliffs_and_dead_zones():
    retro = gaming_risk(load_plan("tiered_cn_retro"), 2_000_000)
    assert list(retro.cliffs["attainment"]) == [0.5, 1.5]
    assert retro.cliffs["jump"].tolist() == pytest.approx([5_000.0, 15_000.0], abs=0.01)
    marginal = gaming_risk(load_plan("tiered_cn"), 2_000_000)
    assert marginal.cliffs.empty and marginal.dead_zones.empty
    saas = gaming_risk(load_plan("saas_quota"), 1_000_000)
    assert saas.cliffs.empty
    cap = saas.dead_zones.iloc[-1]
    assert "cap" in cap["reason"] and cap["end"] == pytest.approx(3.0)
    # the 120,000 cap is reached at 130%: 25,000 + 50,000 + 300,000 × 15%
    assert cap["start"] == pytest.approx(1.3, abs=0.002)
    gated = gaming_risk(load_plan("gated_collections"), 100_000)
    assert gated.cliffs["attainment"].tolist() == [0.5]
    assert "below the gate" in gated.dead_zones.iloc[0]["reason"]
    assert "cliff at 50.0%" in repr(gated)


def test_fairness_and_gini():
    assert gini(np.array([1.0, 1.0, 1.0])) == pytest.approx(0.0)
    assert gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)
    f = fairness(np.array([[0.0] * 9 + [10.0]]))
    assert f["top_decile_share"] == 1.0 and f["share_zero_pay"] == 0.9


def test_attainment_shares_against_rule_of_thumb():
    b = np.array([[0.4, 0.6, 0.9, 1.0, 1.1, 1.2, 1.3, 1.0, 1.6, 0.95]]) * 100
    df = attainment_shares(
        b, np.full(10, 100.0), threshold=0.5, target=1.0, excellence=1.5
    ).set_index("level")
    assert df.loc["threshold", "share"] == 0.9 and df.loc["threshold", "verdict"] == "in line"
    assert df.loc["target", "share"] == 0.6 and df.loc["target", "verdict"] == "in line"
    assert df.loc["excellence", "share"] == 0.1 and df.loc["excellence", "verdict"] == "in line"
    assert plan_levels(load_plan("saas_quota")) == {
        "threshold": 0.5,
        "target": 1.0,
        "excellence": 1.5,
    }
    assert plan_levels(load_plan("gated_collections"))["threshold"] == 0.5


def test_solve_rate_hits_budget():
    b, q = _trials()
    plan = load_plan("tiered_cn")
    sol = solve_rate(plan, b, q, cost_of_sales=0.02)
    got = evaluate(sol.plan, b, q).sum(axis=1).mean() / b.sum(axis=1).mean()
    assert got == pytest.approx(0.02, rel=1e-9)
    assert sol.plan.tiers[1].rate / sol.plan.tiers[0].rate == pytest.approx(1.5)
    saas = load_plan("saas_quota")
    budget = 1.03 * evaluate(saas, b, q).sum(axis=1).mean()
    acc = solve_rate(saas, b, q, budget=budget, parameter="multipliers[2].factor")
    assert acc.value > saas.multipliers[2].factor
    assert evaluate(acc.plan, b, q).sum(axis=1).mean() == pytest.approx(budget, rel=1e-9)
    with pytest.raises(ValueError, match="cannot be reached"):
        solve_rate(load_plan("saas_quota"), b, q, budget=120_000 * b.shape[1] + 1)
    with pytest.raises(ValueError, match="parameter must be"):
        solve_rate(plan, b, q, budget=1.0, parameter="tiers.rate")


def test_solve_gate_keeps_share_eligible():
    b, q = _trials()
    sol = solve_gate(load_plan("saas_quota"), b, q, 0.9)
    share = np.mean(b / q >= sol.value)
    assert share >= 0.9
    assert np.mean(b / q >= sol.value + 0.001) < 0.9
    assert sol.plan.gate.min_attainment == sol.value


def test_plan_repr_reads_like_the_plan():
    text = load_plan("tiered_cn").describe()
    assert "up to 1,000,000: 1%" in text and "above 3,000,000: 2%" in text
    assert "belongs to the band below" in text


def test_statement_for_period_start():
    st = statement_for(load_plan("tiered_cn"), 10.0, period="2025-Q3")
    assert st.period == "2025-Q3" and st.payable_cents == 10


def test_new_statement_lines_read_in_chinese():
    from simlib.plans import PlanSpec
    from simlib.views.statement import line_text

    cases = [
        (
            dict(
                tiers=[
                    {"threshold": 0, "rate": 0.01},
                    {"threshold": 1000, "rate": 0.02, "entry_bonus": 200},
                ]
            ),
            None,
            "进入档位 高于 1,000：一次性奖励 200",
        ),
        (
            dict(
                mode="retroactive",
                tiers=[{"threshold": 0, "amount": 0}, {"threshold": 500, "amount": 1000}],
            ),
            None,
            "销售额 1,500 达到档位 高于 500：固定金额 1,000 = 1,000",
        ),
        (
            dict(
                tiers=[{"threshold": 0, "rate": 0.1}],
                multipliers=[{"threshold": 0, "factor": 1}, {"threshold": 1, "factor": 2}],
                accelerator_gate={"min_attainment": 2},
            ),
            1000,
            "未达到加速门槛（达成率 150.0% 低于 200%）：高于 1 的加速系数按 1 计",
        ),
    ]
    for terms, quota, want in cases:
        plan = PlanSpec.model_validate({"name": "x", "description": "x", **terms})
        texts = [line_text(ln, "zh-CN") for ln in statement_for(plan, 1500, quota).lines]
        assert want in texts, texts


@pytest.mark.parametrize(
    "mix, said",
    [
        ({"ote": 500000}, "give two of base_salary, ote and mix (the third follows); got ote"),
        ({"base_salary": 500000, "ote": 400000}, "must be below ote"),
        ({"ote": 500000, "mix": 1.2}, "less than 1"),
    ],
)
def test_pay_mix_mistakes_are_named(mix, said):
    from pydantic import ValidationError

    from simlib.plans import PlanSpec

    base = {
        "description": "x",
        "basis": "attainment",
        "pays_on": "target_incentive",
        "tiers": [{"threshold": 0, "rate": 1.0}],
    }
    with pytest.raises(ValidationError, match=said.replace("(", r"\(").replace(")", r"\)")):
        PlanSpec.model_validate({**base, "pay_mix": mix})
    with pytest.raises(ValidationError, match="give one or the other"):
        PlanSpec.model_validate(
            {**base, "pay_mix": {"ote": 5, "mix": 0.5}, "target_incentive": 100}
        )


def test_cost_of_sales_funds_each_teams_pool_from_its_own_reps():
    from simlib.plans import load_pool, pool_payouts

    pool = load_pool("params/bonus_pool.yaml").model_copy(update={"funded_above": 1.0})
    x, q = _trials(T=500, R=12)
    teams = np.repeat(["A", "B"], 6)
    res = cost_of_sales([pool], x, q, teams=teams)
    got = res.payouts[pool.name] if hasattr(res, "payouts") else None
    want_a = pool_payouts(pool, x[:, :6], q[:6])
    want_b = pool_payouts(pool, x[:, 6:], q[6:])
    total = want_a.sum() + want_b.sum()
    assert res.summary().set_index("plan").loc[pool.name, "mean"] * len(x) == pytest.approx(total)
    if got is not None:
        np.testing.assert_allclose(got[:, :6], want_a)

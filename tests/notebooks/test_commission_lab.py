"""The commission lab: the pure compute, the plan builder, saving, and the widget app.

Trials here are synthetic (lognormal around each rep's quota), so the tests need no
demo company and no simulation; the notebook test runs the lab on the real thing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simlib.params import load_params
from simlib.plans import compare_plans, cost_of_sales, evaluate, load_plan
from simlib.apps.commission_lab import (
    MAX_BANDS,
    MAX_MULTIPLIERS,
    CommissionLab,
    LabContext,
    LabState,
    PlanEditError,
    compute,
    css_class,
    plan_from_state,
    save_plan,
    state_from_values,
    values_from_state,
)


def _context(T=2_000, R=12, seed=20261120) -> LabContext:
    rng = np.random.default_rng(seed)
    quotas = np.round(rng.uniform(2e6, 6e6, R), -3)
    trials = quotas * rng.lognormal(-0.05, 0.35, (T, R))
    teams = [f"T{i % 3}" for i in range(R)]
    return LabContext.from_arrays(trials, quotas, [f"R{i:02d}" for i in range(R)],
                                  [f"Rep {i}" for i in range(R)], teams, period="2026-Q4")


@pytest.fixture(scope="module")
def ctx() -> LabContext:
    return _context()


@pytest.fixture(scope="module")
def base(ctx) -> LabState:
    return LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn")


# --------------------------------------------------------------------------- context


def test_context_offers_only_plans_the_trials_can_price(ctx):
    assert {"tiered_cn", "tiered_cn_retro", "manager_override"} <= set(ctx.plans)
    # monthly, USD and renewal-rate plans cannot be priced on a quarter's CNY revenue
    assert "month" in ctx.excluded["new_hire_draw"]
    assert "USD" in ctx.excluded["saas_quota"]
    assert "renewal rate" in ctx.excluded["renewal_kpi"]


# --------------------------------------------------------------------------- compute


def test_view_equals_plans_evaluate_on_the_same_trials(ctx, base):
    view = compute(base, ctx)
    assert view.ok, view.error
    shipped = load_plan("tiered_cn")
    expect = evaluate(shipped, ctx.trials, ctx.quotas)
    np.testing.assert_array_equal(view.cost.payouts[view.plan.name], expect)
    cr = cost_of_sales(shipped, ctx.trials, ctx.quotas)
    assert view.cost_of_sales == cr.expected_cost_of_sales
    assert view.budget_p50 == cr.budget_p50 and view.budget_p90 == cr.p90
    np.testing.assert_allclose(view.per_rep["expected_pay"], expect.mean(axis=0), rtol=0, atol=0)
    assert math.isclose(view.gini, cr.fairness()["gini"])


def test_comparison_is_compare_plans_on_base_edited_and_others(ctx, base):
    st = base.with_rate(2, 0.025).replace(compare=("tiered_cn_retro", "manager_override"))
    view = compute(st, ctx)
    p = ctx.plans
    kw = ctx.evaluate_kwargs([view.plan, p["tiered_cn"], p["tiered_cn_retro"], p["manager_override"]])
    expect = compare_plans({"tiered_cn": p["tiered_cn"], view.plan.name: view.plan,
                            "tiered_cn_retro": p["tiered_cn_retro"],
                            "manager_override": p["manager_override"]}, ctx.trials, ctx.quotas, **kw)
    pd.testing.assert_frame_equal(view.comparison, expect)
    assert view.comparison["diff_vs_first"].iloc[1] > 0  # a higher top rate costs more


@pytest.mark.parametrize("band, rate, direction", [(2, 0.03, 1), (2, 0.01, -1), (0, 0.005, -1)])
def test_changing_a_rate_moves_cost_of_sales_its_way(ctx, base, band, rate, direction):
    before = compute(base, ctx).cost_of_sales
    after = compute(base.with_rate(band, rate), ctx).cost_of_sales
    assert np.sign(after - before) == direction


def test_accelerator_and_pool_add_cost(ctx, base):
    plain = compute(base, ctx)
    accel = compute(base.with_accelerator(2.0), ctx)
    assert accel.cost_of_sales > plain.cost_of_sales
    assert accel.plan.multipliers[-1].threshold == 1.0 and accel.plan.multipliers[-1].factor == 2.0
    pooled = compute(base.replace(pool_rate=0.05), ctx)
    # the pool is 5% of revenue on top of the commission, split inside each team (the
    # split sums in a different order than the revenue: a few 1e-12 of float noise)
    assert pooled.cost_of_sales == pytest.approx(plain.cost_of_sales + 0.05, abs=1e-10)
    assert "expected_pool" in pooled.per_rep.columns


def test_retroactive_mode_flags_cliffs_at_band_edges(ctx, base):
    marginal = compute(base, ctx)
    assert marginal.risk.cliffs.empty and not marginal.flags
    retro = compute(base.replace(mode="retroactive"), ctx)
    assert list(retro.risk.cliffs["result"]) == [1_000_000.0, 3_000_000.0]
    # the whole amount moves to the next rate: 1,000,000 × (1.5% − 1%) = 5,000
    assert retro.risk.cliffs["jump"].iloc[0] == pytest.approx(5_000, abs=0.05)
    assert any(f.startswith("Cliff at") and "(1,000,000)" in f for f in retro.flags)


def test_cap_makes_a_dead_zone(ctx, base):
    view = compute(base.replace(cap=40_000.0), ctx)
    zones = view.risk.dead_zones
    assert len(zones) == 1 and "cap" in zones["reason"].iloc[0]
    # 40,000 is reached at 3,000,000 (10,000 + 30,000): the zone starts there
    assert zones["start"].iloc[0] * view.curve_quota == pytest.approx(3_000_000, rel=2e-3)
    assert any(f.startswith("Dead zone") for f in view.flags)
    assert view.cost_of_sales < compute(base, ctx).cost_of_sales


def test_gate_makes_a_dead_zone_below_and_a_cliff_at_it(ctx, base):
    view = compute(base.replace(gate=0.5), ctx)
    assert "below the gate" in view.risk.dead_zones["reason"].iloc[0]
    assert list(view.risk.cliffs["attainment"]) == [0.5]


def test_team_plan_pays_per_team(ctx):
    st = LabState.from_plan(ctx.plans["manager_override"], "manager_override")
    view = compute(st, ctx)
    assert view.ok and list(view.per_rep["team"]) == ["T0", "T1", "T2"]
    expect = evaluate(ctx.plans["manager_override"], ctx.trials, ctx.quotas, teams=np.asarray(ctx.teams))
    np.testing.assert_array_equal(view.cost.payouts[view.plan.name], expect)


def test_every_offered_plan_round_trips_through_the_state(ctx):
    for name, plan in ctx.plans.items():
        rebuilt = plan_from_state(LabState.from_plan(plan, name), ctx)
        kw = ctx.evaluate_kwargs([plan])
        np.testing.assert_array_equal(evaluate(rebuilt, ctx.trials, ctx.quotas, **kw),
                                      evaluate(plan, ctx.trials, ctx.quotas, **kw), err_msg=name)


# --------------------------------------------------------------------------- bad edits


@pytest.mark.parametrize(
    "change, field, path",
    [
        ({"rates": (0.01, -0.015, 0.02)}, "band 2 rate", "tiers[1].rate"),
        ({"thresholds": (0.0, 3e6, 1e6)}, "band 3 threshold", "tiers[2].threshold"),
        ({"thresholds": (5e5, 1e6, 3e6)}, "band 1 threshold", "tiers[0].threshold"),
        ({"rates": (0.01, 1.5, 0.02)}, "band 2 rate", "tiers[1].rate"),
        ({"rates": (0.01, float("nan"), 0.02)}, "band 2 rate", ""),
        ({"rates": (0.01, 0.015)}, "bands", ""),
        ({"cap": -5.0}, "cap per period", "cap.per_period"),
        ({"gate": -0.1}, "gate", "gate.min_attainment"),
        ({"pool_rate": 1.5}, "pool %", "funding_rate"),
        ({"mode": "sideways"}, "mode", "mode"),
        ({"multiplier_thresholds": (0.0, 1.0), "multiplier_factors": (1.0, -2.0)}, "multiplier 2 factor",
         "multipliers[1].factor"),
        ({"plan": "no_such_plan"}, "plan", ""),
        ({"compare": ("no_such_plan",)}, "compare", ""),
    ],
)
def test_bad_edits_give_a_message_naming_the_field(ctx, base, change, field, path):
    view = compute(base.replace(**change), ctx)  # never raises
    assert not view.ok and view.cost is None
    assert field in [f for f, _ in view.problems], view.problems
    assert view.error.startswith(field) or f"; {field}:" in view.error
    if path:
        assert path in view.error


def test_plan_from_state_raises_plan_edit_error(ctx, base):
    with pytest.raises(PlanEditError, match=r"band 2 rate: \(tiers\[1\]\.rate\) got -0.01"):
        plan_from_state(base.with_rate(1, -0.01), ctx)


# --------------------------------------------------------------------------- save


def test_save_reload_same_payouts_and_no_overwrite(ctx, base, tmp_path):
    folder = tmp_path / "plans"
    view = compute(base.with_rate(2, 0.025).replace(mode="retroactive", cap=90_000.0,
                                                      gate=0.4).with_accelerator(1.5), ctx)
    path = save_plan(view.plan, "tiered_cn_test", directory=folder)
    assert path == folder / "tiered_cn_test.yaml"
    reloaded = load_params(path, tmp_path)
    assert reloaded.mode == "retroactive" and reloaded.cap.per_period == 90_000
    np.testing.assert_array_equal(evaluate(reloaded, ctx.trials, ctx.quotas),
                                  evaluate(view.plan, ctx.trials, ctx.quotas))
    assert load_plan(path).name == "tiered_cn_test"

    before = path.read_text(encoding="utf-8")
    with pytest.raises(FileExistsError, match="already exists"):
        save_plan(compute(base, ctx).plan, "tiered_cn_test", directory=folder)
    assert path.read_text(encoding="utf-8") == before
    save_plan(compute(base, ctx).plan, "tiered_cn_test", directory=folder, overwrite=True)
    assert load_plan(path).mode == "marginal"
    assert sorted(p.name for p in folder.iterdir()) == ["tiered_cn_test.yaml"]  # no temp files left


@pytest.mark.parametrize("name", ["../evil", "a b", "", "x" * 65, "-lead"])
def test_save_refuses_names_that_are_not_plain_file_names(ctx, base, tmp_path, name):
    with pytest.raises(ValueError, match="plan name"):
        save_plan(compute(base, ctx).plan, name, directory=tmp_path / "plans")


def test_save_defaults_to_params_plans(ctx, base, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_PARAMS", str(tmp_path))
    path = save_plan(compute(base, ctx).plan, "variant")
    assert path == tmp_path / "plans" / "variant.yaml"
    assert load_params("plans/variant.yaml").tiers == compute(base, ctx).plan.tiers


# --------------------------------------------------------------------------- size


def test_recompute_on_10k_trials_by_60_reps():
    """The slider's recompute at full size (its speed is measured by bench/targets.py)."""
    big = _context(T=10_000, R=60, seed=1)
    st = LabState.from_plan(big.plans["tiered_cn"], "tiered_cn").replace(compare=("tiered_cn_retro",))
    compute(st, big)  # warm the cache of unedited plans
    for k in range(5):
        view = compute(st.with_rate(2, 0.02 + k / 1000), big)
        assert view.ok


# --------------------------------------------------------------------------- widgets


def test_values_and_state_round_trip_in_percent(base):
    v = values_from_state(base, "amount")
    assert v["rate_1"] == 1.5 and v["threshold_1"] == 1_000_000.0
    assert state_from_values(v, "amount") == base
    st = base.replace(gate=0.5, pool_rate=0.05, multiplier_thresholds=(0.0, 1.0), multiplier_factors=(1.0, 1.5))
    assert state_from_values(values_from_state(st, "amount"), "amount") == st
    assert state_from_values({**v, "rate_1": 2.3}, "amount").rates[1] == 0.023  # no binary noise


def test_app_builds_headless_and_a_value_change_updates_the_outputs(ctx, base):
    lab = CommissionLab(ctx, base)
    root = lab.show()
    assert "simlib-commission-lab" in root._dom_classes
    for key, w in {**lab.controls, **lab.outputs}.items():
        assert css_class(key) in w._dom_classes, key
    c, o = lab.controls, lab.outputs
    assert "rate-0" in css_class("rate_0") and len(o["chart_curve"].value) > 1000
    assert o["chart_curve"].layout.display == ""
    cost, chart = o["cost_of_sales"].value, o["chart_curve"].value
    assert f"{lab.view.cost_of_sales:.2%}" in cost

    c["rate_2"].value = 3.0  # percent, as typed
    assert lab.state.rates == (0.01, 0.015, 0.03)
    assert o["cost_of_sales"].value != cost
    assert f"{lab.view.cost_of_sales:.2%}" in o["cost_of_sales"].value
    assert o["chart_curve"].value != chart

    c["mode"].value = "retroactive"
    assert "Cliff at" in o["flags"].value

    # a bad value: said next to its row, as typed, in the user's words; views blanked
    c["rate_1"].value = -1.0
    assert "−1%" in lab.messages["band_1"].value and "-0.01" not in lab.messages["band_1"].value
    assert "tiers[1]" not in o["message"].value and o["message"].value
    assert "—" in o["cost_of_sales"].value
    assert all(o[k].layout.display == "none" for k in ("chart_curve", "chart_cost", "chart_reps"))
    c["rate_1"].value = 1.5
    assert o["message"].value == "" and lab.messages["band_1"].value == ""
    assert o["chart_curve"].layout.display == ""


def test_app_rows_plan_switch_and_save(ctx, base, tmp_path, monkeypatch):
    lab = CommissionLab(ctx, base, charts=False, lang="zh-CN")
    lab.show()
    c, o = lab.controls, lab.outputs
    rows = lambda: [r.layout.display for r in lab._band_rows]  # noqa: E731
    assert rows() == [""] * 3 + ["none"] * (MAX_BANDS - 3)
    c["n_bands"].value = 4
    assert rows()[3] == "" and lab.state.thresholds[3] > lab.state.thresholds[2]
    c["n_multipliers"].value = 2
    assert lab.state.multiplier_thresholds == (0.0, 1.0) and lab.state.multiplier_factors == (1.0, 1.5)
    assert [r.layout.display for r in lab._mult_rows] == ["", ""] + ["none"] * (MAX_MULTIPLIERS - 2)
    assert "销售成本率" in o["cost_of_sales"].value

    c["plan"].value = "manager_override"
    assert lab.state == LabState.from_plan(ctx.plans["manager_override"], "manager_override")
    # the cap is typed in the page's unit (万 in zh-CN): 150,000 → 15
    assert c["gate"].value == 70.0 and c["cap"].value == 15.0 and c["n_multipliers"].value == 2

    monkeypatch.setenv("SIMLIB_PARAMS", str(tmp_path))
    c["save_name"].value = "mgr_variant"
    c["save"].click()
    assert (tmp_path / "plans" / "mgr_variant.yaml").exists(), o["save_status"].value
    assert ("mgr_variant", "mgr_variant") in c["plan"].options
    assert "已保存" in o["save_status"].value
    c["save"].click()  # again: refused, said in the app, in the user's language
    assert "已存在" in o["save_status"].value

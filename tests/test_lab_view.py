"""The commission lab as people see it, without a browser: every chart draws for every
valid plan (a flat rate, nothing paid, one trial, one rep), invalid values are said next
to their control in the user's language and units with the views hidden, an unexpected
error is logged and shown as an apology, both languages are complete, and the lab opens
the user's export with its trials kept on disk."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from simlib.apps.commission_lab import (
    CommissionLab,
    LabContext,
    LabState,
    check_values,
    compute,
    page_units,
    plan_label,
    state_from_values,
    values_from_state,
    view_html,
)
from simlib.plots.commission import cost_distribution, figure_png, payout_curves, rep_pay
from simlib.present import pct

LEAKS = re.compile(
    r"\bNaN\b|\bnan\b|\bNone\b|\{'|LabView\(|got -|tiers\[|_[a-z]+_|\bT\d\b|\bR\d\d\b"
)


def _context(T=300, R=6, seed=3) -> LabContext:
    rng = np.random.default_rng(seed)
    quotas = np.round(rng.uniform(2e6, 6e6, R), -3)
    trials = quotas * rng.lognormal(-0.05, 0.35, (T, R))
    teams = [f"T{i % 2}" for i in range(R)]
    return LabContext.from_arrays(
        trials, quotas, [f"R{i:02d}" for i in range(R)], [f"Rep {chr(65 + i)}" for i in range(R)],
        teams, period="2026-Q4", team_names={"T0": "East team", "T1": "West team"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def ctx():
    return _context()


@pytest.fixture(scope="module")
def base(ctx):
    return LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn")


def _charts(view, ctx, lang="en"):
    u = page_units(lang, ctx)
    figs = [
        payout_curves(view, lang=lang, units=u),
        cost_distribution(view, lang=lang),
        rep_pay(view, lang=lang, units=u, team_names=ctx.team_names),
    ]
    return [figure_png(f, dpi=60) for f in figs]


# --------------------------------------------------------------------------- degenerate plans


FLAT = dict(thresholds=(0.0,), rates=(0.03,))
NOTHING = dict(thresholds=(0.0,), rates=(0.0,))


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize(
    "edit",
    [FLAT, NOTHING, dict(FLAT, cap=1.0), dict(FLAT, gate=5.0)],
    ids=["flat", "zero", "tiny-cap", "gate-all"],
)
def test_every_chart_draws_for_degenerate_plans(ctx, base, edit, lang):
    view = compute(base.replace(**edit), ctx)
    assert view.ok, view.error
    for png in _charts(view, ctx, lang):
        assert png[:4] == b"\x89PNG" and len(png) > 2000
    html = " ".join(view_html(view, ctx, lang, page_units(lang, ctx)).values())
    assert not LEAKS.search(html), LEAKS.search(html)


def test_flat_rate_costs_exactly_the_rate(ctx, base):
    view = compute(base.replace(**FLAT), ctx)
    assert np.allclose(view.cost_of_sales_trials, 0.03)
    assert pct(view.cost_of_sales, 2) == "3.00%"


@pytest.mark.parametrize("T,R", [(1, 1), (1, 5), (40, 1)])
def test_one_trial_or_one_rep(T, R):
    ctx = _context(T=T, R=R)
    for st in (LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn"), LabState(**FLAT)):
        st = st.replace(plan="tiered_cn")
        view = compute(st, ctx)
        assert view.ok
        assert all(len(p) > 2000 for p in _charts(view, ctx))


# --------------------------------------------------------------------------- validation


def _values(ctx, base, **changes):
    v = values_from_state(base, "amount", page_units("en", ctx).divisor)
    v.update(changes)
    return v


@pytest.mark.parametrize(
    "lang,changes,row,expected",
    [
        ("en", {"rate_1": -1.0}, "band_1", "A rate cannot be below 0% (you typed −1%)."),
        ("zh-CN", {"rate_1": -1.0}, "band_1", "费率不能低于 0%（当前为 −1%）。"),
        ("en", {"rate_0": 150.0}, "band_0", "(you typed 150%)"),
        ("en", {"pool": 120.0}, "pool", "(you typed 120%)"),
        ("zh-CN", {"pool": -0.5}, "pool", "−0.5%"),
        ("en", {"cap": -5.0}, "cap", "(you typed −¥5k)"),
        ("zh-CN", {"cap": -5.0}, "cap", "（当前为 −5万元）"),
        ("en", {"gate": -10.0}, "gate", "−10%"),
        ("en", {"threshold_2": 500.0}, "band_2", "Band 3 must start above band 2 (¥1,000k)"),
        ("zh-CN", {"threshold_2": 50.0}, "band_2", "第 3 档的起点必须高于第 2 档（100万元）"),
        ("en", {"rate_0": float("nan")}, "band_0", "Enter a number."),
    ],
)
def test_bad_values_are_said_as_typed_in_the_users_language(
    ctx, base, lang, changes, row, expected
):
    u = page_units(lang, ctx)
    v = values_from_state(base, "amount", u.divisor)
    v.update(changes)
    errs = check_values(v, ctx.plans["tiered_cn"], u, lang)
    assert row in errs and expected in errs[row], errs
    assert "-0.0" not in errs[row] and "got" not in errs[row]


def test_amounts_are_typed_in_the_page_unit(ctx, base):
    zh, en = page_units("zh-CN", ctx), page_units("en", ctx)
    assert (zh.scale, en.scale) == ("wan", "k")
    st = base.replace(cap=150_000.0)
    v = values_from_state(st, "amount", zh.divisor)
    assert v["threshold_1"] == 100.0 and v["cap"] == 15.0
    assert state_from_values(v, "amount", zh.divisor) == st
    assert (
        state_from_values(values_from_state(st, "amount", en.divisor), "amount", en.divisor) == st
    )


def test_plan_labels_are_names_not_ids(ctx):
    for lang in ("en", "zh-CN"):
        labels = {plan_label(p, n, lang) for n, p in ctx.plans.items()}
        assert not any(re.fullmatch(r"[a-z_]+", x) for x in labels), labels
    assert plan_label(ctx.plans["tiered_cn"], "tiered_cn", "zh-CN") == "阶梯提成（超额累进）"


# --------------------------------------------------------------------------- the widget app


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_invalid_value_hides_every_view_and_a_valid_one_brings_them_back(ctx, base, lang):
    lab = CommissionLab(ctx, base, lang=lang)
    lab.show()
    c, o = lab.controls, lab.outputs
    charts = ("chart_curve", "chart_cost", "chart_reps")
    assert all(o[k].layout.display == "" and len(o[k].value) > 2000 for k in charts)
    c["pool"].value = 120.0
    assert "120%" in lab.messages["pool"].value
    assert o["message"].value and "—" in o["budget_p50"].value
    assert lab._results.layout.display == "none"
    # never an empty picture on show (a broken-image icon)
    assert all(o[k].layout.display == "none" for k in charts)
    for k in ("flags", "shares", "compare_table"):
        assert o[k].value == ""
    c["pool"].value = 0.0
    assert lab.messages["pool"].value == "" and o["message"].value == ""
    assert all(o[k].layout.display == "" for k in charts)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_one_band_a_flat_rate_draws_everything(ctx, base, lang):
    lab = CommissionLab(ctx, base, lang=lang)
    lab.show()
    lab.controls["n_bands"].value = 1
    lab.controls["rate_0"].value = 2.0
    assert lab.view.ok and not lab.errors
    assert (
        pct(lab.view.cost_of_sales, 2) == "2.00%" and "2.00%" in lab.outputs["cost_of_sales"].value
    )
    assert all(
        lab.outputs[k].layout.display == "" for k in ("chart_curve", "chart_cost", "chart_reps")
    )
    assert "internal error" not in lab.outputs["message"].value


def test_an_unexpected_error_is_logged_and_shown_as_an_apology(ctx, base, monkeypatch, caplog):
    import simlib.apps.commission_lab as mod

    lab = CommissionLab(ctx, base, lang="zh-CN", charts=False)
    lab.show()

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(mod, "compute", boom)
    with caplog.at_level(logging.ERROR, logger=mod.__name__):
        lab.controls["rate_2"].value = 2.5
    assert "抱歉" in lab.outputs["message"].value
    assert (
        "secret" not in lab.outputs["message"].value
        and "RuntimeError" not in lab.outputs["message"].value
    )
    assert "—" in lab.outputs["cost_of_sales"].value and lab._results.layout.display == "none"
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)
    monkeypatch.undo()
    lab.controls["rate_2"].value = 2.0
    assert lab.outputs["message"].value == "" and lab.view.ok


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_every_label_is_in_the_users_language(ctx, base, lang):
    lab = CommissionLab(ctx, base.replace(compare=("tiered_cn_retro",)), lang=lang, charts=False)
    root = lab.show()
    texts = [getattr(w, "description", "") for w in lab.controls.values()]
    texts += [getattr(w, "tooltip", "") or "" for w in lab.controls.values()]
    texts += [lab_ for w in lab.controls.values() for lab_, _ in getattr(w, "options", ()) or ()
              if isinstance(lab_, str)]  # fmt: skip
    texts += [o.value for o in lab.outputs.values() if isinstance(o.value, str)]
    texts += [root.children[0].value.split("</style>", 1)[1]]
    page = re.sub(r"<[^>]+>", " ", " ".join(t for t in texts if t))
    assert not LEAKS.search(page), LEAKS.search(page)
    if lang == "zh-CN":
        # the test's rep and team names, the Ctrl key, YTD in the shipped plan's name
        words = set(re.findall(r"[A-Za-z]{3,}", page)) - {
            "Rep",
            "East",
            "West",
            "team",
            "Ctrl",
            "YTD",
        }
        assert not words, words
    else:
        assert not re.search(r"[\u4e00-\u9fff]", page)


def test_save_says_what_happened_in_the_users_language(ctx, base, tmp_path):
    lab = CommissionLab(ctx, base, lang="en", charts=False)
    lab.show()
    c, o = lab.controls, lab.outputs
    lab.controls["rate_2"].value = 2.5
    path = lab.save("variant_a", directory=tmp_path)
    assert path.exists()
    c["save_name"].value = "bad name!"
    c["save"].click()
    assert "letters, digits" in o["save_status"].value
    c["rate_2"].value = -3.0
    c["save_name"].value = "variant_b"
    c["save"].click()
    assert "Fix the settings" in o["save_status"].value


# --------------------------------------------------------------------------- the user's data


def test_open_reads_the_users_export_and_keeps_the_trials_on_disk(tmp_path, monkeypatch):
    from pathlib import Path

    import simlib.apps.commission_lab as mod

    monkeypatch.setenv("SIMLIB_CACHE_DIR", str(tmp_path / "cache"))
    export = Path(__file__).resolve().parent / "fixtures" / "tiny"
    calls = []
    real = mod.simulate
    monkeypatch.setattr(mod, "simulate", lambda *a, **k: calls.append(1) or real(*a, **k))
    lab = CommissionLab.open(str(export), "demo", n_trials=100, lang="zh-CN", charts=False)
    assert lab.view.ok and lab.context.trials.shape[0] == 100 and "tiny" in lab.data_label
    assert all(re.search(r"[\u4e00-\u9fff]", n) for n in lab.context.names)
    again = CommissionLab.open(str(export), "demo", n_trials=100, lang="en", charts=False)
    assert len(calls) == 1  # the second open read the trials from the disk cache
    assert np.array_equal(again.context.trials, lab.context.trials)


def test_app_says_when_the_data_cannot_be_opened(tmp_path, monkeypatch):
    import ipywidgets as w

    import simlib.apps.commission_lab as mod

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda x: shown.append(x))
    monkeypatch.setenv("SIMLIB_CACHE_DIR", str(tmp_path / "cache"))
    assert mod.CommissionLab.app(str(tmp_path / "missing"), "", lang="zh-CN") is None
    (box,) = shown
    assert isinstance(box.children[0], w.HTML)
    assert "无法打开数据" in box.children[0].value and "Traceback" not in box.children[0].value


# --------------------------------------------------------------------------- the new plan terms

#: A quarterly plan with every new term the lab edits: a band stated as an amount,
#: entry bonuses, overage accelerators and an accelerator gate.
NEW_TERMS = {
    "description": "Tiered commission with entry bonuses and accelerators above quota",
    "label_zh": "进档奖励与超额加速提成",
    "period": "quarter",
    "tiers": [
        {"threshold": 0, "amount": 10_000},
        {"threshold": 1_000_000, "rate": 0.015, "entry_bonus": 5_000},
        {"threshold": 3_000_000, "rate": 0.02, "entry_bonus": 10_000},
    ],
    "multipliers": [
        {"threshold": 0, "factor": 1},
        {"threshold": 1.0, "factor": 1.5},
        {"threshold": 1.5, "factor": 2},
    ],
    "multiplier_mode": "overage",
    "accelerator_gate": {"min_attainment": 1.1},
}


def _new_terms_plan():
    from simlib.plans import PlanSpec

    return PlanSpec.model_validate({**NEW_TERMS, "name": "new_terms"})


@pytest.fixture(scope="module")
def terms_ctx(ctx):
    return ctx.with_plan("new_terms", _new_terms_plan())


@pytest.fixture(scope="module")
def terms(terms_ctx):
    return LabState.from_plan(terms_ctx.plans["new_terms"], "new_terms")


def test_from_plan_reads_the_new_terms_and_gives_them_back(terms, terms_ctx):
    from simlib.apps.commission_lab import plan_from_state

    assert terms.amounts == (10_000.0, None, None)
    assert terms.entry_bonuses == (None, 5_000.0, 10_000.0)
    assert terms.accelerator_gate == 1.1 and terms.multiplier_mode == "overage"
    plan = plan_from_state(terms, terms_ctx)
    base = terms_ctx.plans["new_terms"]
    # the band stated as an amount stays an amount (its rate follows from it)
    assert plan.tiers[0].amount == 10_000 and plan.tiers[0].rate == pytest.approx(0.01)
    assert [(b.threshold, b.rate, b.amount, b.entry_bonus) for b in plan.tiers] == [
        (b.threshold, b.rate, b.amount, b.entry_bonus) for b in base.tiers
    ]
    assert plan.multiplier_mode == "overage" and plan.multipliers == base.multipliers
    assert plan.accelerator_gate.min_attainment == 1.1
    # the amount is kept through an edit of the band's width: the rate follows
    wider = plan_from_state(terms.replace(thresholds=(0.0, 2_000_000.0, 3_000_000.0)), terms_ctx)
    assert wider.tiers[0].amount == 10_000 and wider.tiers[0].rate == pytest.approx(0.005)
    # margin rates and anything else without a control survive the edit
    margin = _new_terms_plan().model_copy(
        update={"measure": "gross_margin", "margin_pct": {"*": 0.3}}
    )
    assert plan_from_state(terms, margin).margin_pct == {"*": 0.3}


def _one_rep(figures, quota):
    """A context whose trials are the given figures for one rep (one figure a trial)."""
    return LabContext.from_arrays(
        np.asarray(figures, float)[:, None], [quota], ["R01"], ["Rep A"],
        plans={"tiered_cn": _context().plans["tiered_cn"]},
    )  # fmt: skip


def _statement_pay(plan, x, quota):
    from simlib.plans import statement_for

    return float(statement_for(plan, x, quota).payable)


QUOTA = 2_000_000.0
#: around every edge of the terms below: thresholds, quota, the gates, the factors' bands
FIGURES = [
    0.0, 400_000.0, 999_999.99, 1_000_000.0, 1_000_000.01, 1_500_000.0, 2_000_000.0,
    2_100_000.0, 2_199_999.99, 2_200_000.0, 2_200_000.01, 2_900_000.0, 3_000_000.0,
    3_000_000.01, 3_500_000.0, 4_400_000.0,
]  # fmt: skip


def _states(base: LabState) -> dict[str, LabState]:
    mult = dict(
        multiplier_thresholds=(0.0, 1.0, 1.5), multiplier_factors=(1.0, 1.5, 2.0)
    )  # fmt: skip
    return {
        "overage": base.replace(multiplier_mode="overage", **mult),
        "overage-decelerator": base.replace(
            multiplier_mode="overage",
            multiplier_thresholds=(0.0, 0.5, 1.0),
            multiplier_factors=(0.5, 1.0, 2.0),
        ),
        "entry-bonus": base.replace(entry_bonuses=(None, 5_000.0, 10_000.0)),
        "entry-bonus-retro": base.replace(mode="retroactive", entry_bonuses=(None, 5_000.0)),
        "accelerator-gate": base.replace(accelerator_gate=1.1, **mult),
        "accelerator-gate-overage": base.replace(
            accelerator_gate=1.1, multiplier_mode="overage", **mult
        ),
        "amount-band": base.replace(amounts=(10_000.0, 45_000.0, None), rates=(0.0, 0.0, 0.02)),
        "flat-amounts": base.replace(
            mode="retroactive", amounts=(0.0, 8_000.0, 30_000.0), rates=(0.0, 0.0, 0.0)
        ),
        "flat-amounts-retro-accelerator": base.replace(
            mode="retroactive",
            amounts=(0.0, 8_000.0, 30_000.0),
            multiplier_mode="retroactive",
            **mult,
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "overage",
        "overage-decelerator",
        "entry-bonus",
        "entry-bonus-retro",
        "accelerator-gate",
        "accelerator-gate-overage",
        "amount-band",
        "flat-amounts",
        "flat-amounts-retro-accelerator",
        "all-new-terms",
    ],
)
def test_each_new_term_pays_what_the_statement_says(name, base, terms):
    from simlib.apps.commission_lab import plan_from_state

    states = _states(base)
    states["all-new-terms"] = terms
    one = _one_rep(FIGURES, QUOTA)
    if name == "all-new-terms":
        one = one.with_plan("new_terms", _new_terms_plan())
    st = states[name]
    plan = plan_from_state(st, one)
    view = compute(st, one)
    assert view.ok, view.error
    lab_pay = view.cost.payouts[plan.name][:, 0]
    for x, got in zip(FIGURES, lab_pay):
        want = _statement_pay(plan, x, QUOTA)
        assert abs(got - want) <= 0.005, (name, x, got, want)


def test_the_hand_worked_overage_and_entry_bonus_examples(base):
    """Two of tests/cases/commission.yaml's examples, typed into the lab's state."""
    from simlib.apps.commission_lab import plan_from_state

    saas = LabState(
        plan="tiered_cn", thresholds=(0.0,), rates=(0.60,), multiplier_mode="overage",
        multiplier_thresholds=(0.0, 1.0, 1.5), multiplier_factors=(1.0, 1.5, 2.5),
    )  # fmt: skip
    one = _one_rep([175_000.0, 150_000.0, 150_000.01], 100_000.0)
    pay = compute(saas, one).cost.payouts[plan_from_state(saas, one).name][:, 0]
    assert pay == pytest.approx([172_500.0, 105_000.0, 135_000.02], abs=0.005)
    tiers = LabState(
        plan="tiered_cn", thresholds=(0.0, 1000.0, 2000.0, 3000.0),
        rates=(0.01, 0.02, 0.03, 0.04), entry_bonuses=(None, 200.0, 300.0, 400.0),
    )  # fmt: skip
    one = _one_rep([1000.0, 1000.01, 3000.0, 3000.01], 5000.0)
    pay = compute(tiers, one).cost.payouts[plan_from_state(tiers, one).name][:, 0]
    assert pay == pytest.approx([10.0, 210.0, 560.0, 960.0], abs=0.005)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_new_terms_round_trip_through_the_controls(terms, terms_ctx, lang):
    u = page_units(lang, terms_ctx)
    v = values_from_state(terms, "amount", u.divisor)
    assert v["is_amount_0"] and not v["is_amount_1"]
    assert v["acc_gate"] == 110.0
    assert v["bonus_1"] == 5_000 / u.divisor and v["amount_0"] == 10_000 / u.divisor
    assert state_from_values(v, "amount", u.divisor) == terms
    # 0 means none; the first band never has an entry bonus
    none = state_from_values({**v, "bonus_1": 0.0, "acc_gate": 0.0}, "amount", u.divisor)
    assert none.entry_bonuses == (None, None, 10_000.0) and none.accelerator_gate is None
    assert state_from_values({**v, "bonus_0": 3.0}, "amount", u.divisor).entry_bonuses[0] is None


def test_a_state_without_the_new_terms_is_unchanged(base):
    assert base.entry_bonuses == (None, None, None) and base.amounts == (None, None, None)
    # fewer bands drop the empty entries; a value past the last band is refused
    assert base.replace(thresholds=(0.0,), rates=(0.02,)).amounts == (None,)
    from simlib.apps.commission_lab import PlanEditError, plan_from_state

    st = LabState(plan="tiered_cn", thresholds=(0.0,), rates=(0.01,), entry_bonuses=(None, 5.0))
    with pytest.raises(PlanEditError, match="entry bonus per band"):
        plan_from_state(st, _context())
    # overage without any accelerator band has nothing to apply to: the plan is plain
    plain = plan_from_state(base.replace(multiplier_mode="overage"), _context())
    assert plain.multiplier_mode == "marginal" and not plain.multipliers


@pytest.mark.parametrize(
    "lang,changes,row,expected",
    [
        ("en", {"bonus_1": -5.0}, "band_1", "An entry bonus cannot be below 0 (you typed −¥5k)"),
        ("zh-CN", {"bonus_1": -5.0}, "band_1", "进档奖励不能低于 0（当前为 −5万元）"),
        ("en", {"bonus_2": float("nan")}, "band_2", "Enter a number."),
        ("en", {"acc_gate": -10.0}, "acc_gate", "cannot be below 0% (you typed −10%)"),
        ("zh-CN", {"acc_gate": -10.0}, "acc_gate", "加速系数生效门槛不能低于 0%（当前为 −10%）"),
        ("en", {"n_multipliers": 0}, "acc_gate", "There is no accelerator"),
        ("zh-CN", {"mult_factor_1": 0.8, "mult_factor_2": 0.9}, "acc_gate", "没有可约束的加速系数"),
        ("en", {"amount_0": -1.0}, "band_0", "An amount cannot be below 0 (you typed −¥1k)"),
        ("zh-CN", {"amount_0": -1.0}, "band_0", "金额不能低于 0（当前为 −1万元）"),
        ("en", {"amount_0": 1500.0}, "band_0", "more than the band's width (¥1,000k)"),
        ("zh-CN", {"amount_0": 150.0}, "band_0", "整档金额 150万元 超过该档宽度 100万元"),
        ("en", {"n_bands": 1}, "band_0", "The top band has no end"),
        ("zh-CN", {"n_bands": 1}, "band_0", "最高档没有上限"),
        ("en", {"mode": "retroactive"}, "band_0", "A flat amount can only take Retroactive"),
        ("zh-CN", {"mode": "retroactive"}, "band_0", "固定金额只能配合“全额累进”"),
    ],
)
def test_bad_new_term_values_are_said_in_the_users_language(
    terms, terms_ctx, lang, changes, row, expected
):
    u = page_units(lang, terms_ctx)
    v = values_from_state(terms, "amount", u.divisor)
    v.update(changes)
    errs = check_values(v, terms_ctx.plans["new_terms"], u, lang)
    assert row in errs and expected in errs[row], errs
    assert "-0.0" not in errs[row] and "got" not in errs[row]
    if lang == "zh-CN":
        assert not re.search(r"[A-Za-z]{3,}", errs[row]), errs[row]


def test_valid_new_term_values_pass_the_checks(terms, terms_ctx):
    u = page_units("en", terms_ctx)
    v = values_from_state(terms, "amount", u.divisor)
    assert check_values(v, terms_ctx.plans["new_terms"], u, "en") == {}
    retro = {**v, "mode": "retroactive", "multiplier_mode": "retroactive"}
    assert check_values(retro, terms_ctx.plans["new_terms"], u, "en") == {}
    assert compute(state_from_values(retro, "amount", u.divisor), terms_ctx).ok


def test_the_curve_shows_the_entry_bonus_jump_and_the_overage_kink(terms, terms_ctx):
    st = terms.replace(curve_rep="R00")
    view = compute(st, terms_ctx)
    q = view.curve_quota
    curve = view.curves[view.plan.name]
    # the bonus of entering band 2 (1,000,000) is a cliff on the curve, of 5,000
    cliffs = view.risk.cliffs
    at = cliffs[np.isclose(cliffs["result"], 1_000_000.0)]
    assert len(at) == 1 and at["jump"].iloc[0] == pytest.approx(5_000, abs=1)
    pay = dict(zip(np.round(curve["attainment"], 2), curve["payout"]))
    # below quota the slope is the rate; above quota (gate met) the factor on the excess
    below = pay[0.95] - pay[0.94]
    above = pay[1.60] - pay[1.59]
    assert above > below * 1.4
    # English and Chinese: the cliff is said in the user's words, nothing raw
    for lang in ("en", "zh-CN"):
        html = " ".join(view_html(view, terms_ctx, lang, page_units(lang, terms_ctx)).values())
        assert not LEAKS.search(html), LEAKS.search(html)
    assert q > 0


def test_a_compared_plan_with_the_new_terms_shows_its_own_numbers(base, terms_ctx):
    from simlib.plans import cost_of_sales

    view = compute(base.replace(compare=("new_terms",)), terms_ctx)
    assert view.ok, view.error
    row = view.comparison.set_index("plan").loc["new_terms"]
    plan = terms_ctx.plans["new_terms"]
    kw = terms_ctx.evaluate_kwargs([plan])
    own = cost_of_sales({"new_terms": plan}, terms_ctx.trials, terms_ctx.quotas, **kw)
    assert row["cost_of_sales"] == pytest.approx(own.expected_cost_of_sales, rel=1e-12)
    assert row["p50"] == pytest.approx(own.budget_p50, rel=1e-12)
    assert "new_terms" in view.curves
    html = view_html(view, terms_ctx, "zh-CN", page_units("zh-CN", terms_ctx), {"new_terms": "X"})
    assert ">X<" in html["compare_table"]


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_app_edits_the_new_terms(terms_ctx, terms, lang):
    lab = CommissionLab(terms_ctx, terms, lang=lang, charts=False)
    lab.show()
    c, o, m = lab.controls, lab.outputs, lab.messages
    # the amount band shows its amount (and a note), not its rate; band 1 has no bonus
    assert c["amount_0"].layout.display == "" and c["rate_0"].layout.display == "none"
    assert c["rate_1"].layout.display == "" and c["amount_1"].layout.display == "none"
    note = "amount for the band" if lang == "en" else "整档金额"
    assert note in o["note_0"].value and o["note_1"].value == ""
    assert c["bonus_0"].disabled and c["bonus_0"].layout.visibility == "hidden"
    labels = [lab_ for lab_, _ in c["multiplier_mode"].options]
    assert ("Above quota only" if lang == "en" else "仅超额部分") in labels
    assert c["multiplier_mode"].value == "overage" and c["acc_gate"].value == 110.0
    u = lab.units
    assert c["bonus_1"].value == 5_000 / u.divisor
    cost = lab.view.cost_of_sales

    # every new control feeds the plan and the views
    c["bonus_1"].value = 20_000 / u.divisor
    assert lab.view.ok and lab.state.entry_bonuses[1] == 20_000 and lab.view.cost_of_sales > cost
    c["amount_0"].value = 15_000 / u.divisor
    assert lab.state.amounts[0] == 15_000 and lab.view.plan.tiers[0].rate == pytest.approx(0.015)
    c["acc_gate"].value = 0.0
    assert lab.state.accelerator_gate is None and lab.view.plan.accelerator_gate is None
    c["multiplier_mode"].value = "marginal"
    assert lab.view.plan.multiplier_mode == "marginal"
    c["multiplier_mode"].value = "overage"

    # a bad value: said under its row, every view blanked
    c["bonus_2"].value = -1.0
    assert "−" in m["band_2"].value and "—" in o["cost_of_sales"].value
    assert lab._results.layout.display == "none"
    c["bonus_2"].value = 1.0
    assert m["band_2"].value == "" and lab.view.ok
    c["acc_gate"].value = -5.0
    assert "−5%" in m["acc_gate"].value and "—" in o["budget_p50"].value
    c["acc_gate"].value = 120.0
    assert m["acc_gate"].value == "" and lab.state.accelerator_gate == 1.2

    # retroactive: the amount is flat; it then takes only retroactive accelerators
    c["mode"].value = "retroactive"
    assert ("flat" if lang == "en" else "固定金额") in o["note_0"].value
    assert m["band_0"].value and not lab.view.ok
    c["multiplier_mode"].value = "retroactive"
    assert m["band_0"].value == "" and lab.view.ok
    assert lab.view.plan.tiers[0].amount == 15_000 and lab.view.plan.tiers[0].rate == 0

    # a new band is a rate band; leaving the plan resets the rows
    c["n_bands"].value = 4
    assert c["rate_3"].layout.display == "" and lab.state.amounts[3] is None
    c["plan"].value = "tiered_cn"
    assert c["rate_0"].layout.display == "" and c["amount_0"].layout.display == "none"
    assert o["note_0"].value == "" and lab.state.amounts == (None, None, None)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_new_controls_speak_the_users_language(terms_ctx, terms, lang):
    lab = CommissionLab(terms_ctx, terms, lang=lang, charts=False)
    lab.show()
    texts = [getattr(w, "description", "") for w in lab.controls.values()]
    texts += [getattr(w, "tooltip", "") or "" for w in lab.controls.values()]
    texts += [t for w in lab.controls.values() for t in getattr(w, "tooltips", ()) or ()]
    texts += [lab_ for w in lab.controls.values() for lab_, _ in getattr(w, "options", ()) or ()
              if isinstance(lab_, str)]  # fmt: skip
    texts += [o.value for o in lab.outputs.values() if isinstance(o.value, str)]
    page = re.sub(r"<[^>]+>", " ", " ".join(t for t in texts if t))
    assert not LEAKS.search(page), LEAKS.search(page)
    if lang == "zh-CN":
        words = set(re.findall(r"[A-Za-z]{3,}", page)) - {"Rep", "East", "West", "team", "Ctrl"}
        words -= {"YTD"}
        assert not words, words
        assert "加速系数生效门槛" in page and "进档奖励" in page
    else:
        assert not re.search(r"[\u4e00-\u9fff]", page)
        assert "Accelerators only from attainment" in page and "Entry bonus" in page


def test_a_saved_plan_with_the_new_terms_reads_back_as_edited(terms, terms_ctx, tmp_path):
    from simlib.apps.commission_lab import plan_from_state, save_plan
    from simlib.plans import load_plan

    st = terms.replace(amounts=(12_000.0, None, None))
    path = save_plan(plan_from_state(st, terms_ctx), "nt", directory=tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "amount: 12000" in text and "rate: 0.012" not in text and "margin_pct" not in text
    assert LabState.from_plan(load_plan(path), "nt") == st.replace(plan="nt")


def test_saving_a_plan_records_a_version_in_the_ledger(ctx, base, tmp_path, monkeypatch):
    """Issue 15: the lab's save records the plan as the signed-in person's draft version;
    a rep is refused (the file still saved); nobody signed in is told how to be."""
    import shutil
    from pathlib import Path

    from simlib.data import load_demo
    from simlib.ledger import open_ledger

    shutil.copytree(Path(__file__).resolve().parents[1] / "params", tmp_path / "params")
    monkeypatch.setenv("SIMLIB_PARAMS", str(tmp_path / "params"))
    monkeypatch.setenv("SIMLIB_LEDGER", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    demo = load_demo()
    people = (demo.reps, demo.tables.get("org"))
    lab = CommissionLab(ctx, base, lang="zh-CN", charts=False, user="彭梓涵", people=people)
    lab.show()
    c, o = lab.controls, lab.outputs
    c["rate_2"].value = 2.5
    c["save_name"].value = "tiered_2027"
    c["save"].click()
    said = re.sub(r"<[^>]+>", " ", o["save_status"].value)
    assert (
        "已保存为“tiered_2027”" in said and "已登记到台账：第 1 版（草稿）；尚无批准版本。" in said
    )
    led = open_ledger(*people)
    (v,) = led.versions("plan", "tiered_2027")
    assert v.author == "S001" and v.text == (tmp_path / "params/plans/tiered_2027.yaml").read_text()
    led.close()
    rep = CommissionLab(ctx, base, lang="en", charts=False, user="S003", people=people)
    rep.show()
    rep.controls["save_name"].value = "mine"
    rep.controls["save"].click()
    said = rep.outputs["save_status"].value
    assert "Not recorded in the ledger: Zhang Wei is a rep" in said and "b71c1c" in said
    anon = CommissionLab(ctx, base, lang="en", charts=False)
    anon.show()
    anon.controls["save_name"].value = "anon"
    anon.controls["save"].click()
    assert "open the lab as yourself (add ?user=" in anon.outputs["save_status"].value


# --------------------------------------------------------------------------- the Solve panel (R23)


def _solve_ctx():
    ctx = _context()
    return ctx, LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn")


@pytest.mark.parametrize(
    "what,aim,target,edit",
    [
        ("rates", "cost_of_sales", 0.012, {}),
        ("band_1", "cost_of_sales", 0.011, {}),
        ("rates", "budget", 150_000.0, {}),
        ("mult_1", "cost_of_sales", 0.016, {"accelerator": 1.5}),
        ("rates", "cost_of_sales", 0.012, {"pool_rate": 0.003}),
    ],
    ids=["every-rate", "one-band", "budget", "accelerator", "with-pool"],
)
def test_solve_then_apply_hits_the_target(what, aim, target, edit):
    from simlib.apps.commission_lab import solve_lab

    ctx, base = _solve_ctx()
    state = base.with_accelerator(edit["accelerator"]) if "accelerator" in edit else base
    state = state.replace(pool_rate=edit.get("pool_rate", 0.0))
    ans = solve_lab(state, ctx, what, aim, target)
    assert ans.ok, ans.text
    view = compute(ans.state, ctx)  # what the cost cards show after Apply
    assert view.ok, view.error
    got = view.cost_of_sales if aim == "cost_of_sales" else float(view.cost.total.mean())
    assert got == pytest.approx(target, rel=1e-9)
    assert ans.expected_cost_of_sales == pytest.approx(view.cost_of_sales, rel=1e-12)
    # everything but the solved value is kept
    assert ans.state.pool_rate == state.pool_rate and ans.state.plan == state.plan
    if what == "band_1":
        assert ans.state.rates[0] == state.rates[0] and ans.state.rates[2] == state.rates[2]


def test_solve_scales_a_band_stated_as_an_amount_with_the_rates():
    from simlib.apps.commission_lab import solve_lab

    ctx, base = _solve_ctx()
    state = base.replace(amounts=(10_000.0, None, None), rates=(0.0, 0.015, 0.02))
    ans = solve_lab(state, ctx, "rates", "cost_of_sales", 0.012)
    assert ans.ok, ans.text
    assert ans.state.amounts[0] == pytest.approx(10_000.0 * ans.value)
    assert compute(ans.state, ctx).cost_of_sales == pytest.approx(0.012, rel=1e-9)


def test_solve_the_gate_for_a_share_eligible():
    from simlib.apps.commission_lab import solve_lab
    from simlib.plans import solve_gate

    ctx, base = _solve_ctx()
    ans = solve_lab(base, ctx, "gate", target=0.8)
    ref = solve_gate(ctx.plans["tiered_cn"], ctx.trials, ctx.quotas, 0.8, teams=np.array(ctx.teams))
    assert ans.ok and ans.state.gate == pytest.approx(ref.value) and ans.eligible >= 0.8
    assert compute(ans.state, ctx).plan.gate.min_attainment == pytest.approx(ref.value)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_an_unreachable_target_says_the_range_in_the_users_words(lang):
    from simlib.apps.commission_lab import solve_lab

    ctx, base = _solve_ctx()
    # a cap holds the cost down: 20% cannot be reached by any rate
    ans = solve_lab(base.replace(cap=30_000.0), ctx, "rates", "cost_of_sales", 0.2, lang=lang)
    assert not ans.ok and ans.state is None
    lo, hi = ans.reach
    assert lo == pytest.approx(0.0) and 0 < hi < 0.2
    assert pct(hi, 2) in ans.text and "20.00%" in ans.text
    assert ("无法达到" in ans.text) if lang == "zh-CN" else ("No value" in ans.text)
    # the bonus pool alone costs more than the target
    ans = solve_lab(base.replace(pool_rate=0.003), ctx, "rates", "cost_of_sales", 0.002, lang=lang)
    assert not ans.ok and ans.reach[0] == pytest.approx(0.003, rel=1e-6)
    assert "0.30%" in ans.text and ("奖金池" if lang == "zh-CN" else "bonus pool") in ans.text
    for a in (ans,):
        assert not LEAKS.search(a.text), a.text


def test_the_lab_answer_equals_simlib_solve_on_the_same_trials(capsys, monkeypatch):
    """`simlib solve rate|gate` and the lab's Solve on the same simulated quarter."""
    import json

    from simlib.apps.commission_lab import solve_lab, trials_record
    from simlib.cli import common, main
    from simlib.data import load_demo
    from simlib.simulate import simulate

    demo = load_demo()
    monkeypatch.setattr(common, "load_dataset", lambda args: demo)
    sim = simulate(demo, "2026-Q4", demo.as_of, n_trials=300, seed=7)
    ctx = LabContext.from_record(trials_record(sim))
    state = LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn")

    def cli(*argv):
        assert main([*argv, "--period", "2026-Q4", "--trials", "300", "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    out = cli("solve", "rate", "--plan", "tiered_cn", "--cost-of-sales", "1.2%")
    ans = solve_lab(state, ctx, "rates", "cost_of_sales", 0.012)
    assert ans.value == pytest.approx(out["factor"], rel=1e-12)
    assert [r for r in ans.state.rates] == pytest.approx(out["rates"], rel=1e-12)
    assert ans.expected_cost_of_sales == pytest.approx(out["expected_cost_of_sales"], rel=1e-12)
    assert ans.cost_of_sales_p10 == pytest.approx(out["cost_of_sales_p10"], rel=1e-9)
    assert ans.cost_of_sales_p90 == pytest.approx(out["cost_of_sales_p90"], rel=1e-9)
    assert ans.expected_payout == pytest.approx(out["expected_payout"], rel=1e-12)
    out = cli("solve", "rate", "--plan", "tiered_cn", "--budget", "2000000")
    ans = solve_lab(state, ctx, "rates", "budget", 2_000_000.0)
    assert ans.value == pytest.approx(out["factor"], rel=1e-12)
    out = cli("solve", "gate", "--plan", "tiered_cn", "--eligible", "80%")
    ans = solve_lab(state, ctx, "gate", target=0.8)
    assert ans.value == pytest.approx(out["gate"]) and ans.eligible == pytest.approx(
        out["eligible"]
    )


@pytest.mark.parametrize(
    "what,aim,typed,en,zh",
    [
        ("rates", "cost_of_sales", 60.0, "below 50% (you typed 60%)", "小于 50%（当前为 60%）"),
        ("rates", "cost_of_sales", -1.0, "you typed −1%", "当前为 −1%"),
        ("rates", "cost_of_sales", 0.0, "above 0%", "大于 0%"),
        ("rates", "budget", -5.0, "−¥5k", "−5万元"),
        ("gate", "cost_of_sales", 120.0, "120%", "120%"),
        ("rates", "cost_of_sales", float("nan"), "Enter a number", "请输入数字"),
    ],
)
def test_solve_targets_are_checked_as_typed(what, aim, typed, en, zh):
    from simlib.apps.commission_lab import check_solve

    ctx, _ = _solve_ctx()
    for lang, want in (("en", en), ("zh-CN", zh)):
        msg = check_solve(what, aim, typed, lang, page_units(lang, ctx))
        assert msg is not None and want in msg, msg
    assert check_solve("rates", "cost_of_sales", 1.2, "en", page_units("en", ctx)) is None


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_solve_panel_solves_applies_and_never_shows_a_stale_answer(lang):
    ctx, base = _solve_ctx()
    lab = CommissionLab(ctx, base, lang=lang, charts=False)
    lab.show()
    s, o = lab.solve_controls, lab.solve_outputs
    # names, not ids, in the choices; the target's label in the page's unit
    labels = [lbl for lbl, _ in s["solve_what"].options]
    assert all(not LEAKS.search(x) for x in labels), labels
    s["solve_value"].value = 60.0
    assert "60%" in o["solve_error"].value
    s["solve_value"].value = 1.2
    assert o["solve_error"].value == ""
    s["solve"].click()
    assert lab.solved is not None and lab.solved.ok
    assert "1.20%" in o["solve_answer"].value and s["solve_apply"].layout.display == ""
    s["solve_apply"].click()
    assert lab.view.ok and pct(lab.view.cost_of_sales, 2) == "1.20%"
    assert ">1.20%<" in lab.outputs["cost_of_sales"].value
    assert [lab.controls[f"rate_{i}"].value for i in range(3)] == pytest.approx(
        [r * 100 for r in lab.state.rates]
    )
    applied = "已应用" if lang == "zh-CN" else "Applied"
    assert applied in o["solve_answer"].value and s["solve_apply"].layout.display == "none"
    # a changed control makes the answer stale: it goes
    s["solve"].click()
    assert s["solve_apply"].layout.display == ""
    lab.controls["rate_0"].value = 2.0
    assert o["solve_answer"].value == "" and s["solve_apply"].layout.display == "none"
    # an invalid plan: Solve refuses, next to the control
    lab.controls["rate_0"].value = -1.0
    s["solve"].click()
    fix = "请先修正" if lang == "zh-CN" else "Fix the settings"
    assert fix in o["solve_error"].value and o["solve_answer"].value == ""
    lab.controls["rate_0"].value = 1.0
    # budget in the page's unit; the gate asks for a share of reps
    s["solve_aim"].value = "budget"
    assert lab.units.label() in s["solve_value"].description
    s["solve_value"].value = 150_000 / lab.units.divisor
    s["solve"].click()
    s["solve_apply"].click()
    assert float(lab.view.cost.total.mean()) == pytest.approx(150_000, rel=1e-9)
    s["solve_what"].value = "gate"
    assert s["solve_value"].value == 80.0 and s["solve_aim"].layout.display == "none"
    s["solve"].click()
    s["solve_apply"].click()
    assert lab.controls["gate"].value == pytest.approx(lab.state.gate * 100)
    # more bands: more choices
    lab.controls["n_bands"].value = 4
    assert "band_3" in [k for _, k in s["solve_what"].options]
    # unreachable: said in the panel, nothing to apply
    lab.controls["cap"].value = 3.0 if lang == "zh-CN" else 30.0
    s["solve_what"].value = "rates"
    s["solve_aim"].value = "cost_of_sales"
    s["solve_value"].value = 20.0
    s["solve"].click()
    assert "simlib-solve-unreachable" in o["solve_answer"].value
    assert s["solve_apply"].layout.display == "none"
    text = re.sub(r"<[^>]+>", " ", o["solve_answer"].value)
    assert not LEAKS.search(text), text


def test_a_failing_solve_is_logged_and_shown_as_an_apology(monkeypatch, caplog):
    import simlib.apps.commission_lab as lab_mod

    ctx, base = _solve_ctx()
    lab = CommissionLab(ctx, base, lang="zh-CN", charts=False)
    lab.show()

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(lab_mod, "solve_lab", boom)
    with caplog.at_level(logging.ERROR):
        lab.solve_controls["solve"].click()
    assert "抱歉" in lab.solve_outputs["solve_answer"].value
    assert "boom" in caplog.text and "Traceback" not in lab.solve_outputs["solve_answer"].value


def _ti_ctx():
    from simlib.plans import PlanSpec

    ti = PlanSpec.model_validate(
        {
            "name": "incentive",
            "description": "Target incentive, 1.5x above quota",
            "label_zh": "目标奖金提成",
            "period": "quarter",
            "basis": "attainment",
            "pays_on": "target_incentive",
            "target_incentive": 30_000,
            "tiers": [{"threshold": 0, "rate": 1.0}, {"threshold": 1.0, "rate": 1.5}],
        }
    )
    ctx = _context()
    ctx = ctx.with_plan("incentive", ti)
    return ctx, LabState.from_plan(ti, "incentive")


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_solve_the_target_incentive_and_apply_it_to_its_control(lang):
    from simlib.apps.commission_lab import solve_lab, solve_options

    ctx, state = _ti_ctx()
    assert state.target_incentive == 30_000
    assert "target_incentive" in [k for _, k in solve_options(state, ctx, lang)]
    ans = solve_lab(state, ctx, "target_incentive", "cost_of_sales", 0.012, lang=lang)
    assert ans.ok, ans.text
    assert compute(ans.state, ctx).cost_of_sales == pytest.approx(0.012, rel=1e-9)
    assert compute(ans.state, ctx).plan.target_incentive == pytest.approx(ans.value)
    assert not LEAKS.search(ans.text), ans.text
    # in the app: the control shows it in the page's unit; 0 is refused next to it
    lab = CommissionLab(ctx, state, lang=lang, charts=False)
    lab.show()
    ti = lab.controls["target_incentive"]
    assert ti.layout.display == "" and ti.value == pytest.approx(30_000 / lab.units.divisor)
    lab.apply(ans)
    assert ti.value == pytest.approx(ans.value / lab.units.divisor)
    assert pct(lab.view.cost_of_sales, 2) == "1.20%"
    ti.value = 0.0
    assert "target_incentive" in lab.errors and not lab.view.ok
    ti.value = 5.0
    assert lab.view.ok and lab.view.plan.target_incentive == pytest.approx(5 * lab.units.divisor)
    # a plan without one hides the control
    lab.controls["plan"].value = "tiered_cn"
    assert ti.layout.display == "none" and lab.view.ok

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

"""The Q4 target workshop: pure compute, scenarios, exports, widgets headless, notebooks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib.targets.scenario import load_scenario
from simlib.targets import TargetCache
from simlib.apps.target_workshop import (
    ControlError,
    TargetWorkshop,
    WorkshopControls,
    compute,
    controls_from_values,
    evaluate,
    scenario_from_controls,
    values_from_controls,
)
from simlib.views.workshop import gap_table, headline, wall_data

ROOT = Path(__file__).resolve().parents[2]
N_TRIALS = 500

NOTEBOOKS = {
    "notebooks/q4_target_workshop.ipynb": {"n_trials": N_TRIALS, "lang": "en"},
    "notebooks/reports/target_workshop_summary.ipynb": {
        "n_trials": N_TRIALS,
        "scenario": "baseline_2027",
        "lang": "zh-CN",
        "seed": 1,
    },
}


@pytest.fixture(scope="module", autouse=True)
def executed(tmp_path_factory):
    """Both notebooks executed by papermill in the background while the other tests of
    this module run (kernel start, imports and the simulation dominate), each in its
    own temporary working directory outside the repository."""
    from concurrent.futures import ThreadPoolExecutor

    import papermill as pm

    def run(notebook, params, cwd):
        pm.execute_notebook(
            str(ROOT / notebook),
            str(cwd / "out.ipynb"),
            parameters=params,
            cwd=str(cwd),
            kernel_name="python3",
            progress_bar=False,
        )
        return cwd

    pool = ThreadPoolExecutor(max_workers=2)
    futures = {
        nb: pool.submit(run, nb, params, tmp_path_factory.mktemp("papermill"))
        for nb, params in NOTEBOOKS.items()
    }
    yield futures
    pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def cache(demo):
    return TargetCache(demo)


@pytest.fixture(scope="module")
def base():
    s = load_scenario("baseline_2027")
    out = s.model_copy(
        update={"simulation": s.simulation.model_copy(update={"n_trials": N_TRIALS})}
    )
    out._source = s.source
    return out


@pytest.fixture(scope="module")
def controls(base, cache):
    h = cache.history(base.year, cache.data.as_of, base.base_year, base.ramp_months)
    return WorkshopControls.from_scenario(base, float(h.last_year[h.tree.root]))


@pytest.fixture(scope="module")
def alloc(controls, cache, base):
    return compute(controls, cache, base)


# --------------------------------------------------------------------------- pure layer


def test_controls_round_trip_the_baseline(controls, base, alloc):
    s = scenario_from_controls(base, controls)
    assert s.company_target == base.company_target
    assert s.methods == base.methods and s.growth == base.growth and s.uplift == base.uplift
    assert s.focus_region == "R-EAST" and s.mix == base.mix
    assert alloc.company_target == pytest.approx(1_570_000_000)
    for unit in (1e4, 1e6):
        assert controls_from_values(values_from_controls(controls, unit), unit) == controls


def test_more_growth_gives_a_higher_company_target(controls, cache, base):
    lo = compute(controls.replace(target_mode="growth", growth=0.10), cache, base)
    hi = compute(controls.replace(target_mode="growth", growth=0.30), cache, base)
    assert hi.company_target > lo.company_target
    assert headline(hi)["growth"] == pytest.approx(0.30, abs=1e-6)
    # and a harder number is less likely to be reached
    assert headline(hi)["p_company_forecast"] <= headline(lo)["p_company_forecast"]
    # more rep uplift → more quota handed out
    more = compute(controls.replace(uplift_rep=0.10), cache, base)
    assert (
        headline(more)["rep_quota_total"]
        > headline(compute(controls, cache, base))["rep_quota_total"]
    )


def test_fair_quotas_change_rep_targets_and_equalise_probabilities(controls, cache, base, alloc):
    fair = compute(controls.replace(fair_quotas=True), cache, base)

    def reps(a):
        n = a.nodes[a.nodes["level"] == "rep"].set_index("node_id")
        return n[["parent_id", "target", "p_attain"]]

    off, on = reps(alloc), reps(fair)
    assert not np.allclose(off["target"], on.loc[off.index, "target"])
    spread_off = off.groupby("parent_id")["p_attain"].std().mean()
    spread_on = on.groupby("parent_id")["p_attain"].std().mean()
    assert spread_on < 0.5 * spread_off
    assert any(m.startswith("fair_probability.") for m in fair.risk["measure"])


@pytest.mark.parametrize(
    "change, control",
    [
        ({"floor": 0.2, "cap": 0.1}, "cap"),
        (
            {
                "weight_historical": 0,
                "weight_potential": 0,
                "weight_equal": 0,
                "weight_capacity": 0,
            },
            "weights",
        ),
        ({"uplift_rep": -0.05}, "uplift_rep"),
        ({"company_target": 0.0}, "company_target"),
        ({"company_target": float("nan")}, "company_target"),
        ({"floor": 0.5}, "floor"),  # every node +50%: the company number cannot be met
    ],
)
def test_bad_controls_give_a_message_naming_the_control(controls, cache, base, change, control):
    with pytest.raises(ControlError) as e:
        compute(controls.replace(**change), cache, base)
    assert control in [k for k, _ in e.value.problems]
    v = evaluate(controls.replace(**change), cache, base)
    assert not v.ok and v.message and v.allocation is None


def test_views_of_an_allocation(alloc):
    g = gap_table(alloc)
    assert set(g["level"]) == {"company", "region", "team"}
    assert np.allclose(g["gap"], g["target"] - g["bottom_up"])
    w = wall_data(alloc, "last_year")
    assert len(w) == 9 and (w["target"] > 0).all()
    reps = wall_data(alloc, "probability", under="T-SH")
    assert len(reps) > 1 and reps["target"].eq(1).all() and reps["actual"].between(0, 1).all()
    with pytest.raises(ValueError, match="metric"):
        wall_data(alloc, "nonsense")


# --------------------------------------------------------------------------- app: scenarios, exports


@pytest.fixture()
def app(cache, tmp_path):
    return TargetWorkshop(
        cache,
        load_scenario("baseline_2027"),
        n_trials=N_TRIALS,
        lang="en",
        charts=False,
        scenario_dir=tmp_path / "scenarios",
        export_dir=tmp_path / "exports",
    )


def test_save_reload_gives_the_same_allocation(app, tmp_path):
    app.set_controls(
        app.controls.replace(
            target_mode="growth",
            growth=0.27,
            uplift_team=0.04,
            fair_quotas=True,
            weight_equal=0.1,
            cap=0.5,
        )
    )
    before = app.allocation.nodes[["node_id", "target"]].copy()
    path = app.save("q4_variant")
    assert path == tmp_path / "scenarios" / "q4_variant.yaml"
    with pytest.raises(FileExistsError):
        app.save("q4_variant")
    with pytest.raises(ValueError, match="name"):
        app.save("../evil")
    saved = load_scenario(path)
    assert saved.simulation.n_trials == 10_000  # the session's n_trials is not saved
    app.set_controls(
        app.controls.replace(target_mode="amount", company_target=1.5e9, fair_quotas=False)
    )
    app.load("q4_variant")
    assert app.controls.fair_quotas and app.controls.target_mode == "growth"
    pd.testing.assert_frame_equal(app.allocation.nodes[["node_id", "target"]], before)
    # compare side by side with the shipped baseline
    nodes, params = app.compare("baseline_2027")
    assert {"target_a", "target_b", "difference"} <= set(nodes.columns)
    assert "fair_quotas" in set(params["path"])
    assert (nodes["difference"].abs() > 0).any()


def test_exports_neutralise_formula_names(app, tmp_path):
    a = app.allocation
    bad = a.nodes.copy()
    bad.loc[bad["node_id"] == "T-SH", "name"] = "=cmd|'/c calc'!A0"
    object.__setattr__(a, "nodes", bad)
    x = app.export_xlsx()
    c = app.export_csv()
    assert x.suffix == ".xlsx" and c.suffix == ".csv"
    sheet = pd.read_excel(x, sheet_name="allocation")
    name = sheet.loc[sheet["node_id"] == "T-SH", "name"].iloc[0]
    assert name.startswith("'=")
    text = c.read_text(encoding="utf-8-sig")
    assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text
    assert pd.read_csv(c)["target"].dtype.kind == "f"


# --------------------------------------------------------------------------- widgets headless


def _text(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", html)


def test_widgets_build_headless_and_follow_the_controls(app):
    root = app.show()
    o = app.outputs
    assert "simlib-target-workshop" in root._dom_classes
    for key, cls in [
        ("growth", "simlib-growth"),
        ("uplift_rep", "simlib-uplift-rep"),
        ("fair_quotas", "simlib-fair-quotas"),
        ("cap", "simlib-cap"),
        ("save", "simlib-save"),
        ("export_xlsx", "simlib-export-xlsx"),
    ]:
        assert cls in app.controls_[key]._dom_classes
    for key in ("cards", "table_out", "message", "wall_out", "err_cap"):
        assert f"simlib-{key.replace('_', '-')}" in o[key]._dom_classes
    before = o["cards"].value
    assert "¥1,570.00M" in before and "Company target" in before
    # the reps still ramping, beside the ramp the company's hires show (issue 16)
    assert (
        "Wu Yang" in o["ramp_out"].value
        and "Each quarter: target / expected" in o["ramp_out"].value
    )
    app.controls_["target_mode"].value = "growth"
    assert not app.controls_["growth"].disabled and app.controls_["company_target"].disabled
    app.controls_["growth"].value = 35.0
    after = o["cards"].value
    assert after != before and "+35.0%" in after
    assert app.controls.growth == pytest.approx(0.35)
    app.controls_["fair_quotas"].value = True
    assert app.controls.fair_quotas
    # a bad edit: the message under the control, in the user's units; the results hidden
    app.controls_["cap"].value = -20.0
    assert "The growth cap (-20%) is below the growth floor (-10%)" in o["err_cap"].value
    assert o["message"].value and app._results.layout.display == "none"
    assert not o["wall_out"].value
    app.controls_["cap"].value = 60.0
    assert o["message"].value == "" and o["err_cap"].value == ""
    assert app._results.layout.display == ""
    for k in ("historical", "potential", "equal", "capacity"):
        app.controls_[f"weight_{k}"].value = 0.0
    assert "weight above 0" in o["err_weights"].value
    app.controls_["weight_equal"].value = 1.0
    assert o["message"].value == "" and o["err_weights"].value == ""
    # a negative company number is said, never turned into 0
    app.controls_["target_mode"].value = "amount"
    app.controls_["company_target"].value = -5
    assert "above 0; you entered -¥5.00M" in o["err_company_target"].value
    app.controls_["company_target"].value = 1600
    assert o["err_company_target"].value == ""
    # display-only controls: names, not ids
    app.controls_["view"].value = "T-SH"
    table = _text(o["table_out"].value)
    assert "Shanghai Team" in table and "Beijing Team" not in table and "T-SH" not in table
    # buttons report in the app, in its language
    app.controls_["save_name"].value = "bad/name"
    app.controls_["save"].click()
    assert "letters, digits" in o["save_status"].value
    app.controls_["save_name"].value = "from_button"
    app.controls_["save"].click()
    assert "from_button" in app.controls_["load_name"].options
    app.controls_["save"].click()
    assert "exists already" in o["save_status"].value
    app.controls_["export_csv"].click()
    assert ".csv" in o["export_status"].value
    app.controls_["compare_with"].value = "from_button"
    app.controls_["compare"].click()
    assert "Target in from_button" in o["compare_out"].value
    assert "target_a" not in o["compare_out"].value


def test_saving_records_a_version_in_the_ledger_and_submits_it(cache, tmp_path, monkeypatch):
    """Issue 15: the workshop's save records a version (author, reason, diff) and says
    where it stands; submit moves it on; a rep is refused; nobody signed in: said."""
    from simlib.calendar import load_calendar
    from simlib.ledger import Ledger, Roster, open_ledger

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("SIMLIB_LEDGER", url)
    kw = dict(
        n_trials=N_TRIALS, charts=False, scenario_dir=tmp_path / "s", export_dir=tmp_path / "e"
    )
    app = TargetWorkshop(cache, load_scenario("baseline_2027"), lang="zh-CN", user="彭梓涵", **kw)
    app.show()
    c, o = app.controls_, app.outputs
    assert "当前用户：彭梓涵（总监）" in o["signed_in"].value
    c["save_name"].value = "targets_2027"
    c["save_reason"].value = "研讨会第一稿"
    c["save"].click()
    assert "已保存：targets_2027.yaml；已登记为第 1 版（草稿）；尚无批准版本" in _text(
        o["save_status"].value
    )
    c["submit"].click()
    assert "第 1 版已提交审批" in o["save_status"].value

    org = cache.data.tables.get("org")
    led = open_ledger(cache.data.reps, org)
    (v1,) = led.versions("scenario", "targets_2027")
    assert (v1.author, v1.reason, v1.state) == ("S001", "研讨会第一稿", "submitted")
    assert v1.text == (tmp_path / "s" / "targets_2027.yaml").read_text(encoding="utf-8")
    led.close()
    # approved by sales ops (an admin: the director may not approve their own)
    ops = Ledger(
        url,
        roster=Roster.from_tables(cache.data.reps, org, admins=["ops"]),
        calendar=load_calendar(),
    )
    ops.approve("ops", "scenario", "targets_2027", 1, "agreed")
    ops.close()

    # a new draft over the approved one: recorded as version 2, the approved one stays
    app.controls_["growth"].value = 30.0
    app.controls_["target_mode"].value = "growth"
    c["save_overwrite"].value = True
    c["save_reason"].value = "raise to +30%"
    c["save"].click()
    status = _text(o["save_status"].value)
    assert "已登记为第 2 版（草稿）；与批准的第 1 版不同（是已登记的第 2 版，尚未批准）" in status
    led = open_ledger(cache.data.reps, org)
    v2 = led.versions("scenario", "targets_2027")[-1]
    assert (
        v2.version == 2
        and "-company_target:" in v2.diff
        and led.approved("scenario", "targets_2027").version == 1
    )
    led.close()

    # a rep may not record targets: the file is saved, the refusal said next to the button
    rep = TargetWorkshop(cache, load_scenario("baseline_2027"), lang="en", user="S003", **kw)
    rep.show()
    rep.controls_["save_name"].value = "mine"
    rep.controls_["save"].click()
    said = _text(rep.outputs["save_status"].value)
    assert (
        "Saved: mine.yaml; not recorded in the ledger: Zhang Wei is a rep; only a manager" in said
    )
    # nobody signed in: saved, not recorded, and how to be
    anon = TargetWorkshop(cache, load_scenario("baseline_2027"), lang="en", **kw)
    anon.show()
    assert anon.controls_["submit"].disabled and anon.outputs["signed_in"].value == ""
    anon.controls_["save_name"].value = "anon"
    anon.controls_["save"].click()
    assert "open the workshop as yourself (add ?user=" in anon.outputs["save_status"].value


def test_an_unexpected_failure_is_an_apology_not_a_traceback(app, monkeypatch):
    import simlib.apps.target_workshop as tw

    app.show()

    def boom(*a, **k):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(tw, "headline_cards", boom)
    app.controls_["uplift_team"].value = 4.0
    msg = app.outputs["message"].value
    assert "Sorry" in msg and "internal detail" not in msg and "RuntimeError" not in msg
    assert app._results.layout.display == "none"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_engine_errors_are_said_in_the_users_language(controls, cache, base, lang):
    v = evaluate(controls.replace(floor=0.6, cap=0.9), cache, base, lang)
    ((key, msg),) = v.problems
    assert key == "floor"
    if lang == "zh-CN":
        assert "增长下限" in msg and "60%" in msg and "万元" in msg and "华夏智能系统" in msg
    else:
        assert "growth floor" in msg and "60%" in msg and "¥" in msg and "Huaxia" in msg
    assert "CO" not in msg.split() and "growth.floor" not in msg


def test_the_wall_renders(cache, tmp_path):
    app = TargetWorkshop(
        cache,
        load_scenario("baseline_2027"),
        n_trials=N_TRIALS,
        lang="zh-CN",
        scenario_dir=tmp_path,
        export_dir=tmp_path,
    )
    app.show()
    png = app.outputs["wall_out"].value
    assert png[:4] == b"\x89PNG"
    app.controls_["wall"].value = "probability"
    assert app.outputs["wall_out"].value != png
    assert "万元" in app.outputs["cards"].value


# --------------------------------------------------------------------------- notebooks


def _committed_clean(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "n_trials" in tagged[0].source


@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_notebook_executes_with_papermill(notebook, executed):
    import nbformat

    _committed_clean(ROOT / notebook)
    cwd = executed[notebook].result(timeout=300)
    nb = nbformat.read(cwd / "out.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and f"n_trials = {N_TRIALS}" in injected[0].source
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if "reports" in notebook:  # figures survive (no MPLBACKEND=Agg)
        assert any("image/png" in o.get("data", {}) for o in outputs)
    else:  # the app, and nothing else: no repr, no static tables under it
        kinds = [k for o in outputs for k in o.get("data", {})]
        assert "application/vnd.jupyter.widget-view+json" in kinds
        assert "text/html" not in kinds and "image/png" not in kinds
    assert not (cwd / "exports").exists()

"""The commission notebooks: stored clean, executed by papermill with small parameters,
and the statement template's helpers (one rep's figures only, en and zh-CN)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
WHATIF = ROOT / "notebooks" / "commission_whatif.ipynb"
STATEMENT = ROOT / "notebooks" / "reports" / "commission_statement.ipynb"


def _parameters(nb) -> str:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    return cells[0].source


@pytest.mark.parametrize("path", [WHATIF, STATEMENT], ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            # thin: a notebook cell arranges calls, it does not compute (the parameters
            # cell only declares values, one per line)
            if "parameters" not in cell.metadata.get("tags", []):
                assert len(cell.source.splitlines()) <= 6, cell.source


def test_parameter_cells_are_typed_and_commented():
    src = _parameters(nbformat.read(STATEMENT, as_version=4))
    for decl in (
        'rep_id: str = "S003"',
        'period: str = "2026-Q3"',
        'plan: str = "tiered_cn"',
        'lang: str = "zh-CN"',
        "demo_seed: int | None = None",
    ):
        line = next((ln for ln in src.splitlines() if ln.startswith(decl)), None)
        assert line is not None and "#" in line, decl
    assert "n_trials = 10000" in _parameters(nbformat.read(WHATIF, as_version=4))


def _run(path: Path, out: Path, params: dict) -> nbformat.NotebookNode:
    import papermill as pm

    pm.execute_notebook(
        str(path),
        str(out),
        parameters=params,
        cwd=str(out.parent),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    return nbformat.read(out, as_version=4)


def _texts(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.output_type != "error", o
            if "text" in o:
                out.append(o.text)
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in o.get("data", {}):
                    out.append(o.data[mime])
    return out


@pytest.fixture
def no_agg(monkeypatch):
    # PITFALLS: MPLBACKEND=Agg around papermill makes figures vanish from the output
    monkeypatch.delenv("MPLBACKEND", raising=False)


def _widgets(nb) -> dict[str, dict]:
    """The widgets the executed notebook left, by their first CSS class (the models'
    state as the page renders it)."""
    models = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    out = {}
    for m in models.values():
        classes = m["state"].get("_dom_classes") or []
        if classes:
            out.setdefault(classes[0], {**m["state"], "buffers": m.get("buffers", [])})
    return out


def _card(html: str) -> str:
    m = re.search(r"<b class='v'[^>]*>(.*?)</b>", html)
    assert m, html
    return m.group(1)


def test_whatif_notebook_runs_small(tmp_path, no_agg, monkeypatch):
    import datetime as dt

    from simlib.apps.commission_lab import LabContext, LabState, compute, page_units, plan_label
    from simlib.company import default_language
    from simlib.data import load_demo
    from simlib.present import count, pct
    from simlib.simulate import simulate

    # the kernel inherits this environment: the demo company, no ?lang=, its own disk cache
    for name in ("SIMLIB_APP_SOURCE", "SIMLIB_APP_MAPPING", "QUERY_STRING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIMLIB_CACHE_DIR", str(tmp_path / "cache"))
    nb = _run(WHATIF, tmp_path / "whatif.ipynb", {"n_trials": 500})

    # the page is the app and nothing else: no static charts, no reprs, no errors
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert [o.output_type for o in outputs] == ["display_data"], outputs
    assert set(outputs[0].data) == {"application/vnd.jupyter.widget-view+json", "text/plain"}
    text = "\n".join(_texts(nb))
    assert "LabContext(" not in text and "Traceback" not in text

    # the progress line was replaced by the lab, in the company's language (lang = "")
    lang = default_language()
    w = _widgets(nb)
    (root,) = w["simlib-lab-loading"]["children"]
    assert root.startswith("IPY_MODEL_") and "simlib-commission-lab" in w
    title = {"zh-CN": "提成方案模拟实验室", "en": "Commission what-if lab"}[lang]
    head = w["simlib-lab-title"]["value"]
    assert f"<h2>{title}</h2>" in head and count(500) in head

    # the cards are simlib's own numbers for the demo quarter (seed 7, 500 trials),
    # in the page's units (万元 in zh-CN)
    sim = simulate(load_demo(), "2026-Q4", dt.date(2026, 11, 20), n_trials=500, seed=7)
    ctx = LabContext.from_simulation(sim, lang=lang)
    units = page_units(lang, ctx)
    v = compute(LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn"), ctx)
    assert _card(w["simlib-cost-of-sales"]["value"]) == pct(v.cost_of_sales, 2)
    assert _card(w["simlib-budget-p50"]["value"]) == units.amount(v.budget_p50, unit=True)
    assert _card(w["simlib-budget-p90"]["value"]) == units.amount(v.budget_p90, unit=True)
    if lang == "zh-CN":
        assert _card(w["simlib-budget-p50"]["value"]).endswith("万元")

    # plans by name, not id; the charts drawn; no message (a valid start)
    assert w["simlib-plan"]["_options_labels"] == [
        plan_label(p, n, lang) for n, p in ctx.plans.items()
    ]
    assert not set(w["simlib-plan"]["_options_labels"]) & set(ctx.plans)
    for k in ("simlib-chart-curve", "simlib-chart-cost", "simlib-chart-reps"):
        assert w[k]["buffers"], f"{k} has no picture"
    assert not w["simlib-message"].get("value")


def test_statement_template_shows_only_the_reps_own_lines(tmp_path, no_agg):
    nb = _run(
        STATEMENT,
        tmp_path / "statement.ipynb",
        {"rep_id": "S003", "period": "2026-Q3", "plan": "tiered_cn", "lang": "zh-CN"},
    )
    outputs = _texts(nb)
    text = "\n".join(outputs)
    assert "× 1%" in text and "× 2%" in text
    assert "提成明细" in text and "本期应发" in text and "140,220.00元" in text
    assert "张伟" in text and "金额（元）" in text and "(CNY)" not in text  # yuan, named
    assert not re.findall(r"\bS\d{3}\b", text)  # no id at all, the rep's own included
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


# --------------------------------------------------------------------------- helpers


def test_statement_report_en_and_manager_plan_hide_other_reps(demo):
    from simlib.plans import compute_statements, load_plan
    from simlib.views.statement import rep_statement, statement_report

    rep = statement_report("S003", "2026-Q3", "tiered_cn", lang="en", data=demo)
    assert str(rep.lines()).startswith("<h2>Line items</h2>")
    totals = rep.totals_frame()
    assert totals["cents"].iloc[-1] == rep.statement.payable_cents  # exact, to the cent
    assert totals["cents"].iloc[0] + totals["cents"].iloc[1] == totals["cents"].iloc[-1]
    assert f"¥{rep.statement.payable:,.2f}" in str(rep.header())  # yuan to the cent, ¥
    assert f"{rep.statement.payable:,.2f}</td>" in str(rep.totals())
    assert "OPP035328: 271,100 × 1% = 2,711" in str(rep.lines())
    assert "S003" not in str(rep.header()) and "Zhang Wei" in str(rep.header())

    # one rep's inputs give the same statement as the whole company's
    plan = load_plan("tiered_cn_retro")
    t = demo.targets
    full = compute_statements(
        plan,
        demo.opportunities[demo.opportunities["stage"] == "won"],
        t[t["period"].str.match(r"^\d{4}-Q[1-4]$") & (t["level"] == "rep")],
    )
    assert rep_statement(demo, plan, "S010", "2026-Q3") == full.get("S010", "2026-Q3")

    mgr = statement_report("S002", "2026-Q3", "manager_override", lang="zh-CN", data=demo)
    shown = "\n".join(str(s) for s in (mgr.summary(), mgr.lines(), mgr.adjustments(), mgr.totals()))
    shown += str(mgr.header()) + str(mgr.notes())
    assert not re.findall(r"\bS\d{3}\b", shown)  # nobody's id, the manager's included
    assert "单期封顶 150,000：" in shown and "团队" in shown
    assert "pays on" not in shown and "每期封顶 150,000.00元" in shown  # the plan in Chinese


@pytest.mark.parametrize(
    "rep, period, plan, message",
    [
        ("S999", "2026-Q3", "tiered_cn", "no rep 'S999'"),
        ("S003", "2026-09", "tiered_cn", "period must look like '2026-Q3'"),
        ("S003", "2020-Q1", "tiered_cn", "no tiered_cn statement for 2020-Q1"),
        ("S003", "2026-Q3", "manager_override", "manages no team"),
    ],
)
def test_statement_report_bad_parameters_say_what_is_wrong(demo, rep, period, plan, message):
    from simlib.views.statement import statement_report

    with pytest.raises(ValueError, match=re.escape(message)):
        statement_report(rep, period, plan, data=demo)


def test_line_text_in_chinese_keeps_the_numbers():
    from simlib.plans import Line
    from simlib.views.statement import line_text

    cases = {
        Line(
            "cap", "per-period cap 120,000: 521,355 → 120,000", -40_135_500
        ): "单期封顶 120,000：521,355 → 120,000",
        Line(
            "gate", "gate not met (attainment 42.0% is below 50%): nothing is paid", -1
        ): "未达到门槛（达成率 42.0% 低于 50%）：本期不发放",
        Line("floor", "floor 2,000: 1,500 topped up", 50_000): "保底 2,000：1,500 补足至保底",
        Line(
            "commission", "OPP1 (S006): 176,100 × 0.5% = 880.50", 88_050, owner_id="S006"
        ): "OPP1: 176,100 × 0.5% = 880.50",
    }
    for line, want in cases.items():
        assert line_text(line, "zh-CN") == want
    team_line = Line("commission", "OPP1 (S006): 1 × 1% = 0.01", 1, owner_id="S006")
    assert line_text(team_line, "en") == "OPP1: 1 × 1% = 0.01"

"""The tracking dashboard: pure compute matches the engine; widgets work headless; the
notebook executes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simlib import tracking
from simlib.apps.tracking_dashboard import (
    CSS,
    Controls,
    DashboardContext,
    TrackingDashboard,
    compute,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ctx():
    return DashboardContext.from_demo()


@pytest.mark.parametrize(
    "period,level,node",
    [("2026-10", "team", "T-SH"), ("2026-Q4", "region", "R-EAST"), ("2026-11", "rep", "S003")],
)
def test_compute_gives_the_engines_numbers(ctx, period, level, node):
    f = ctx.facts
    v = compute(Controls(period, level, node), ctx)
    m = tracking.metrics(f, period, level=level, within=node).set_index("node_id").loc[node]
    k = v.kpis.set_index("key")
    for key in ("revenue", "target", "attainment", "pace", "collection_rate", "win_rate", "nps"):
        col = k.at[key, "kpi"]
        assert k.at[key, "value"] == pytest.approx(m[col], nan_ok=True)
    wall = tracking.target_wall(f, period, within=node)
    if level == "region":
        wall = wall[wall["level"] == "team"]
    elif level == "rep":
        wall = wall[wall["node_id"] == node]
    cols = ["node_id", "actual", "target", "expected", "attainment", "pace"]
    pd.testing.assert_frame_equal(
        v.wall[cols].reset_index(drop=True), wall[cols].reset_index(drop=True), check_dtype=False
    )
    p = tracking.pareto_customers(f, period, within=node)
    assert v.pareto.revenue == pytest.approx(p.revenue)
    fun = tracking.funnel(f, period, level=level, within=node).set_index("node_id").loc[node]
    assert v.funnel["count"].tolist() == [fun[s] for s in v.funnel["stage"]]
    assert v.funnel["stage"].tolist() == list(tracking.FUNNEL_STAGES)
    assert set(v.alerts["rep_id"]) <= set(f.members(node))
    assert v.path[-1][0] == node


def test_drill_helpers(ctx):
    c = Controls("2026-11", "company", "CO")
    down = ctx.at_level(c, "team")
    assert down.level == "team" and ctx.path(down.node)[0] == "CO"
    assert ctx.at_level(Controls("2026-11", "rep", "S003"), "region").node == ctx.path("S003")[1]
    assert ctx.up(Controls("2026-11", "rep", "S003")).node == "T-SH"


def test_widgets_headless_node_change_updates_kpis(ctx):
    app = TrackingDashboard(ctx, Controls("2026-11", "team", "T-SH"), draw=False)
    root = app.build()
    assert CSS["root"] in root._dom_classes
    assert "simlib-node" in app.controls["node"]._dom_classes
    assert "simlib-kpi-revenue" in app.outputs["kpi_revenue"]._dom_classes
    before = app.outputs["kpi_revenue"].value
    m = tracking.metrics(ctx.facts, "2026-11", level="team").set_index("node_id")
    units = app.view.units  # amounts in the page's one unit (¥M in English)
    assert units.amount(m.at["T-SH", "revenue"], unit=True) in before
    app.controls["node"].value = "T-HZ"
    after = app.outputs["kpi_revenue"].value
    assert after != before and units.amount(m.at["T-HZ", "revenue"], unit=True) in after
    assert app.state.node == "T-HZ" and app.outputs["message"].value == ""
    assert "T-HZ" not in "".join(o.value for o in app.outputs.values() if isinstance(o.value, str))
    app.controls["drill"].value = "S012"
    assert app.state == Controls("2026-11", "rep", "S012")
    app.controls["level"].value = "region"
    assert app.state.level == "region" and app.state.node == ctx.path("S012")[1]
    app.controls["period"].value = "2026-Q4"
    assert "simlib-alerts-out" in app.outputs["alerts"]._dom_classes
    assert app.outputs["alerts"].value


def test_app_draws_charts(ctx):
    app = TrackingDashboard(ctx, Controls("2026-10", "team", "T-SH"))
    app.build()
    for k in ("wall", "pareto", "funnel", "trend"):
        assert app.outputs[k].value[:4] == b"\x89PNG"


def test_dashboard_notebook_executes(tmp_path):
    pm = pytest.importorskip("papermill")
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "tracking_dashboard.ipynb"),
        str(out),
        parameters={"node": "T-SH", "period": "2026-10", "lang": "zh-CN"},
        cwd=str(ROOT),
        progress_bar=False,
        kernel_name="python3",
    )
    assert out.exists()
    import nbformat

    nb = nbformat.read(str(out), as_version=4)
    mine = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert len(mine) == 2  # the parameters and the app: no static section, no repr
    shown = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in shown)
    assert not any("LabView(" in str(o) or "DashboardContext(" in str(o) for o in shown)

"""The tracking dashboard's pure view and headless app: every node drills, pages show
names (not ids) in the page's language and one unit, the funnel narrows, alerts are
ranked and grouped, invalid controls are said next to the control and errors apologised
for with the views blanked."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from simlib import tracking
from simlib.apps import tracking_dashboard as td
from simlib.apps.tracking_dashboard import (
    KPIS,
    Controls,
    DashboardContext,
    TrackingDashboard,
    alerts_html,
    children_html,
    compute,
    figures,
    kpis_html,
    repair,
    validate,
)

ID = re.compile(r"\b(?:S\d{3}|T-[A-Z]{2}|R-[A-Z]+|CO)\b")
DEV = re.compile(r"\bnan\b|\bNone\b|NaN|node_id|name_zh|rule_id|\{'|Traceback|\de[+-]?\d", re.I)
LATIN_NAME = re.compile(r"^[A-Za-z .'-]+$")


@pytest.fixture(scope="module")
def ctx():
    return DashboardContext.from_demo()


def _page(v) -> str:
    return "".join(kpis_html(v, k) for k in KPIS) + children_html(v) + alerts_html(v)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_every_node_drills_and_shows_the_engines_numbers(ctx):
    """Company, regions, teams and every person (managers and the director included) in
    zh-CN: the KPIs are the node's own metrics, the page has no id and no developer text."""
    nodes = [n for lv in ("company", "region", "team", "rep") for _, n in ctx.nodes(lv)]
    assert len(nodes) > 60
    start = Controls("2026-11", "company", "CO", "zh-CN")
    metrics = {
        lv: tracking.metrics(ctx.facts, "2026-11", level=lv).set_index("node_id")
        for lv in ("company", "region", "team", "rep")
    }
    for node in nodes:
        v = compute(ctx.drill(start, node), ctx)
        assert v.path[-1][0] == node and v.controls.node == node
        k = v.kpis.set_index("key")
        m = metrics[ctx.level_of(node)]
        want = m.at[node, "revenue"] if node in m.index else 0.0
        assert k.at["revenue", "value"] == pytest.approx(want), node
        if node not in m.index:  # a manager or the director: no figures of their own
            assert v.note and ctx.name_of(node, "zh-CN") in v.note
        page = _text(_page(v))
        assert not ID.search(page), (node, ID.search(page))
        assert not DEV.search(page), (node, DEV.search(page))
        assert not any(LATIN_NAME.match(n) for _, _, n in v.path), v.path


def test_names_and_units_follow_the_language(ctx):
    for lang, unit, name in (("zh-CN", "万元", "上海一部"), ("en", "¥", "Shanghai Team")):
        v = compute(Controls("2026-Q4", "region", "R-EAST", lang), ctx)
        html = children_html(v)
        assert name in html and unit in html
        assert (
            v.kpi_text("revenue").endswith("万元")
            if lang == "zh-CN"
            else "M" in v.kpi_text("revenue")
        )
        assert ("Revenue" in html) == (lang == "en")
    opts = dict((n, lab) for lab, n in ctx.nodes("rep", "zh-CN"))
    assert opts["S003"] == "张伟" and opts["S002"] == "魏平（经理）"
    assert all(not ID.search(lab) for lab, _ in ctx.nodes("rep", "en"))


def test_funnel_is_the_cohort_funnel(ctx):
    for c in (Controls("2026-Q4", "team", "T-SH"), Controls("2026-11", "company", "CO"),
              Controls("2026-Q3", "rep", "S003")):  # fmt: skip
        v = compute(c, ctx)
        n = v.funnel["count"].to_numpy()
        assert (np.diff(n) <= 0).all() and n[0] > 0
        fun = tracking.funnel(ctx.facts, c.period, level=c.level, within=c.node)
        assert (
            n.tolist()
            == fun.set_index("node_id").loc[c.node, list(tracking.FUNNEL_STAGES)].tolist()
        )
        assert (v.funnel["step_conversion"].dropna() <= 1).all()


def test_alerts_ranked_by_severity_and_grouped_by_person(ctx):
    a = ctx.alerts
    assert set(a["severity"]) <= set(tracking.SEVERITIES)
    # a person's alerts are together, people in order of their most severe alert
    runs = (a["rep_id"] != a["rep_id"].shift()).cumsum()
    assert runs.groupby(a["rep_id"]).nunique().max() == 1
    worst = a.groupby("person_rank", sort=True)["severity"].first().map(tracking.SEVERITIES.index)
    assert worst.is_monotonic_increasing
    high = a[a["severity"] == "high"]
    assert (high["metric"] == "revenue").all() and (high["ratio"] < 0.5).all()
    v = compute(Controls("2026-11", "company", "CO", "zh-CN"), ctx)
    html = alerts_html(v)
    assert f"当前预警（{len(a)}）" in html
    assert html.count("<details") == a["rep_id"].nunique()
    assert "behind_pace" not in html and "¥" not in html  # rule titles, 万 not yuan


def test_rank_alerts_by_hand():
    a = pd.DataFrame({
        "rep_id": ["A", "B", "B", "C"],
        "metric": ["qualified_visits", "revenue", "lead_conversion", "revenue"],
        "ratio": [0.2, 0.7, 0.0, 0.3],
        "weeks_active": [6, 2, 5, 1],
    })  # fmt: skip
    r = tracking.rank_alerts(a)
    assert r["rep_id"].tolist() == ["C", "B", "B", "A"]
    assert r["severity"].tolist() == ["high", "medium", "medium", "medium"]
    assert r["shortfall"].tolist() == pytest.approx([0.7, 1.0, 0.3, 0.8])
    assert tracking.rank_alerts(a.iloc[0:0]).empty
    assert "severity" not in a  # the caller's frame is not changed


def test_one_pace_definition(ctx):
    v = compute(Controls("2026-11", "team", "T-SH", "en"), ctx)
    r = v.row
    assert r["pace"] == pytest.approx(r["working_days_elapsed"] / r["working_days"])
    assert "share of the period's working days elapsed" in v.pace_note
    assert (
        f"{int(r['working_days_elapsed'])} of {int(r['working_days'])} working days" in v.pace_note
    )
    assert (v.wall["pace"] == r["pace"]).all()


def test_charts_sized_for_the_screen_with_units_and_legends(ctx):
    for lang in ("en", "zh-CN"):
        v = compute(Controls("2026-Q4", "team", "T-SH", lang), ctx)
        figs = figures(v, bare=True)
        for name, fig in figs.items():
            assert fig.get_figwidth() >= 6.5, name
            fig.canvas.draw()
            for ax in fig.axes:
                for axis in (ax.xaxis, ax.yaxis):
                    assert axis.get_offset_text().get_text() == "", (name, "offset")
                    for t in axis.get_ticklabels():
                        assert not re.search(r"\de[+-]?\d", t.get_text()), (name, t.get_text())
        wall_ax = figs["wall"].axes[0]
        assert wall_ax.get_legend() is not None and wall_ax.get_xlabel()
        legend = [t.get_text() for t in wall_ax.get_legend().get_texts()]
        assert ("超进度" in legend) == (lang == "zh-CN") and ("ahead of pace" in legend) == (
            lang == "en"
        )
        assert figs["trend"].axes[0].get_ylabel() == (
            "销售额（万元）" if lang == "zh-CN" else "Revenue (¥M)"
        )
        assert figs["pareto"].axes[0].get_ylabel() == figs["trend"].axes[0].get_ylabel()


def test_status_colours_agree_with_the_text(ctx):
    from simlib.present import STATUS_COLORS

    v = compute(Controls("2026-Q4", "team", "T-SH", "en"), ctx)
    fig = figures(v, ["wall"], bare=True)["wall"]
    bars = fig.axes[0].containers[1]  # the coloured bars, top row first drawn last
    colours = [b.get_facecolor() for b in bars]
    from matplotlib.colors import to_rgba

    for (_, r), c in zip(v.wall.iterrows(), colours):
        assert c == pytest.approx(to_rgba(STATUS_COLORS[td.STATUS_LIGHT[r["status"]]]))
    card = kpis_html(v, "status")
    assert STATUS_COLORS[td.STATUS_LIGHT[v.row["status"]]] in card


def test_validation_messages_in_the_users_language(ctx):
    assert validate(Controls("2026-11", "team", "T-SH"), ctx) == {}
    bad = validate(Controls("2026-13", "company", "CO", "zh-CN"), ctx)
    assert "不是有效的周期" in bad["period"]
    future = validate(Controls("2027-05", "company", "CO", "en"), ctx)
    assert "after the data's last day (2026-11-20)" in future["period"]
    assert "S999" in validate(Controls("2026-11", "rep", "S999", "en"), ctx)["node"]
    c, msgs = repair(Controls("2026-13", "rep", "S999", "zh-CN"), ctx)
    assert c == Controls("2026-11", "company", "CO", "zh-CN")
    assert "已改为显示2026-11" in msgs["period"] and "全公司" in msgs["node"]
    c, msgs = repair(Controls("2026-11", "company", "T-SH", "en"), ctx)
    assert c.level == "team" and msgs == {}
    with pytest.raises(ValueError, match="not a period"):
        compute(Controls("Q9", "company", "CO"), ctx)


def test_app_drills_into_a_manager_and_back(ctx):
    app = TrackingDashboard(ctx, Controls("2026-11", "team", "T-SH", "zh-CN"), draw=False)
    app.build()
    drill = dict((n, lab) for lab, n in app.controls["drill"].options)
    assert drill["S002"] == "魏平（经理）"
    app.controls["drill"].value = "S002"
    assert not app.failed and app.outputs["message"].value == ""
    assert app.state == Controls("2026-11", "rep", "S002", "zh-CN")
    assert "0.0万元" in app.outputs["kpi_revenue"].value
    assert "魏平为经理" in app.outputs["note"].value
    app.controls["up"].click()
    assert app.state.node == "T-SH" and app.outputs["note"].value == ""
    app.controls["lang"].value = "en"
    assert "Shanghai Team" in app.outputs["path"].value
    assert app.controls["level"].options[2] == ("Team", "team")


def test_app_apologises_and_blanks_on_an_internal_error(ctx, monkeypatch, caplog):
    app = TrackingDashboard(ctx, Controls("2026-11", "team", "T-SH", "en"), draw=True)
    app.build()
    assert app.outputs["kpi_revenue"].value and app.outputs["wall"].layout.display is None

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(td, "compute", boom)
    with caplog.at_level("ERROR", logger=td.__name__):
        app.controls["period"].value = "2026-10"
    assert (
        "simlib-apology" in app.outputs["message"].value
        and "boom" not in app.outputs["message"].value
    )
    assert "boom" in caplog.text
    assert all(app.outputs[f"kpi_{k}"].value == "" for k in KPIS)
    assert app.outputs["alerts"].value == "" and app.outputs["children"].value == ""
    assert all(
        app.outputs[k].layout.display == "none" for k in ("wall", "funnel", "trend", "pareto")
    )
    monkeypatch.undo()
    app.controls["period"].value = "2026-Q4"
    assert not app.failed and app.outputs["message"].value == ""
    assert app.outputs["wall"].layout.display is None


def test_app_says_a_repaired_parameter_next_to_its_control(ctx):
    c, msgs = repair(Controls("2026-11", "company", "S999", "zh-CN"), ctx)
    app = TrackingDashboard(ctx, c, problems=msgs, draw=False)
    app.build()
    assert "simlib-field-error" in app.outputs["node_error"].value
    assert "S999" in app.outputs["node_error"].value
    assert app.outputs["kpi_revenue"].value  # the company is shown
    app.controls["period"].value = "2026-10"  # the next change clears the message
    assert app.outputs["node_error"].value == ""


def test_open_on_data_that_does_not_open_says_why(tmp_path):
    app = TrackingDashboard.open(source=str(tmp_path / "missing"), mapping="", lang="zh-CN")
    assert app.failed
    html = "".join(getattr(w, "value", "") for w in app.show().children)
    assert "无法打开数据" in html and "Traceback" not in html

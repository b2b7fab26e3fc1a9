"""Names from data that are attacks come out as text: in every report template, both
languages, the executed notebooks, the apps' HTML, chart labels and the spreadsheet export.

A rep, a team and a customer of the demo company are renamed to script tags, event
handlers, a ``javascript:`` link, Markdown emphasis and mathtext; a colleague's name
carries ANSI colour codes. Every template is rendered from that company as a CRM export
(CSV folder, ``mapping=demo``) in English and Chinese, and the HTML and the Markdown and
HTML outputs of the notebooks are searched for the payloads in a form a browser would run
or a Markdown renderer would turn into markup. (``text/plain`` outputs show the names as
written: no frontend reads them as markup.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REP, MATE, TEAM, REGION = "S003", "S005", "T-SH", "R-EAST"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
MD = "*bold* [x](javascript:alert(3)) $x^2$"
SVG = "<svg onload=alert(5)>"
ANSI = "\x1b[31mRed\x1b[0m =1+1"
OPEN_STAGES = ("qualification", "discovery", "proposal", "negotiation")

#: Markup a browser would run or a renderer would build from the payloads.
RAW = re.compile(
    r"<script>alert|<svg\s+onload|<img\s+src=x"
    r"|(?:href|src)\s*=\s*[\"']?\s*javascript:"
    r"|<em>bold</em>|<a\s[^>]*>x</a>",
    re.I,
)
#: The same in Markdown source: a link or emphasis not escaped.
RAW_MD = re.compile(r"(?<!\\)\]\(javascript:|(?<!\\)\*bold(?<!\\)\*")


def hostile_tables():
    """The demo company's tables with hostile names, and an open deal of the rep's whose
    customer has one."""
    from simlib.data import load_demo

    tables = {k: v.copy() for k, v in load_demo().tables.items()}
    reps, org, cust, opp = (tables[k] for k in ("reps", "org", "customers", "opportunities"))
    reps.loc[reps["rep_id"] == REP, ["name", "name_zh"]] = [SCRIPT, IMG]
    reps.loc[reps["rep_id"] == MATE, ["name", "name_zh"]] = [ANSI, MD]
    org.loc[org["node_id"] == TEAM, ["name", "name_zh"]] = [SVG, MD]
    mine = opp[(opp["owner_id"] == REP) & opp["stage"].isin(OPEN_STAGES)]
    deal = str(mine["opportunity_id"].iloc[0])
    cid = mine["customer_id"].iloc[0]
    cust.loc[cust["customer_id"] == cid, "name"] = f"{IMG} {MD}"
    return tables, deal


def _params(deal: str, customer: str = "") -> dict[str, dict]:
    # the proposal is addressed to the customer of the rep's open deal, whose name is hostile
    needs = dict(customer=customer, budget="2000000", lines="IoT Platform", size=60)
    return {
        "attainment_forecast": dict(node=TEAM, period="2026-Q4", n_trials=300),
        "commission_statement": dict(rep_id=REP, period="2026-Q3"),
        "commission_summary": dict(scope=TEAM, period="2026-Q3"),
        "forecast_backtest": dict(as_of="2026-03-31,2026-06-30", n_trials=300),
        "monthly_team_review": dict(team=TEAM, month="2026-10"),
        "proposal": needs,
        "proposal_cover": needs,
        "quote": dict(opportunity_id=deal),
        "rep_review_pack": dict(rep_id=REP, period="2026-10"),
        "target_workshop_summary": dict(n_trials=300),
        "weekly_team_review": dict(team=TEAM, week_ending="2026-11-20"),
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from simlib.data import write_tables

    tables, deal = hostile_tables()
    folder = tmp_path_factory.mktemp("hostile_crm")
    write_tables(tables, folder)
    return folder, deal


@pytest.fixture(scope="module")
def rendered(hostile, tmp_path_factory):
    """Every template in both languages, rendered in one pool of warm kernels."""
    pytest.importorskip("papermill")
    from simlib.reports.batch import Item, run_items
    from simlib.reports.templates import available, template_info

    folder, deal = hostile
    params = _params(deal, f"{IMG} {MD}")  # the deal's customer, renamed by hostile_tables
    assert sorted(params) == available(), "a new template: give it hostile parameters here"
    out = tmp_path_factory.mktemp("hostile_reports")
    items = [
        Item(
            template=str(template_info(name).path),
            params={**p, "lang": lang, "source": str(folder), "mapping": "demo"},
            name=f"{name}__{lang}",
            out_dir=str(out),
        )
        for name, p in params.items()
        for lang in ("en", "zh-CN")
    ]
    batch = run_items(items, out, workers=2, progress=False)
    return {r.name: r for r in batch.results}


def _names():
    return [f"{t}__{lang}" for t in sorted(_params("x")) for lang in ("en", "zh-CN")]


@pytest.mark.parametrize("name", _names())
def test_template_shows_hostile_names_as_text(rendered, name):
    r = rendered[name]
    assert r.ok, f"{name} failed: {r.error}"
    page = Path(r.html).read_text(encoding="utf-8")
    assert not RAW.findall(page), f"{name}: markup from data in the HTML"
    assert "alert(" in page, f"{name}: no hostile name reached the page (the test tests nothing)"
    nb = json.loads(Path(r.ipynb).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            for mime in ("text/html", "text/markdown"):
                text = "".join(data.get(mime, ""))
                assert not RAW.findall(text), f"{name}: markup from data in a {mime} output"
                if mime == "text/markdown":
                    assert not RAW_MD.findall(text), f"{name}: Markdown from data in an output"


# --------------------------------------------------------------------------- the apps


@pytest.fixture(scope="module")
def data():
    from simlib.data import load_demo
    from simlib.data.io import Dataset

    tables, _ = hostile_tables()
    return Dataset(tables, load_demo().as_of, source="hostile names")


@pytest.fixture(scope="module")
def dashboard(data):
    from simlib import tracking
    from simlib.apps.tracking_dashboard import DashboardContext

    return DashboardContext.from_facts(tracking.prepare(data))


def _as_text(s: str, html: str) -> bool:
    """``s`` is in ``html`` as text (escaped; quotes may stay, they open nothing there)."""
    from simlib.i18n import escape

    return escape(s) in html or escape(s).replace("&quot;", '"').replace("&#x27;", "'") in html


def _no_markup(html: str) -> None:
    assert not RAW.findall(html)
    assert not re.search(r"<(?:script|svg|img)\b", html, re.I)


def _texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        out.append(ax.get_title())
        out += [t.get_text() for t in (*ax.get_yticklabels(), *ax.get_xticklabels())]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return out


def _plain(texts) -> None:
    """No mathtext: every ``$`` escaped, no control character."""
    for s in texts:
        assert not re.search(r"(?<!\\)\$", s), s
        assert not re.search(r"[\x00-\x1f]", s), s


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("level,node", [("team", TEAM), ("region", REGION)])
def test_tracking_dashboard_escapes_names(dashboard, lang, level, node):
    from simlib.apps.tracking_dashboard import (
        Controls,
        TrackingDashboard,
        alerts_html,
        children_html,
        compute,
        figures,
    )

    view = compute(Controls("2026-10", level, node, lang), dashboard)
    kids = children_html(view)
    _no_markup(kids)
    shown = {"team": (SCRIPT, IMG), "region": (SVG, MD)}[level][lang == "zh-CN"]
    assert _as_text(shown, kids)
    _no_markup(alerts_html(view))
    figs = figures(view, bare=True)
    _plain(t for f in figs.values() for t in _texts(f))
    if lang == "zh-CN":
        assert any("\\$x^2\\$" in t for f in figs.values() for t in _texts(f))
    app = TrackingDashboard(dashboard, Controls("2026-10", level, node, lang), draw=False)
    app.build()
    for out in app.outputs.values():
        if isinstance(out.value, str):
            _no_markup(out.value)


@pytest.fixture(scope="module")
def alloc(data):
    from simlib.targets import TargetCache, run_scenario
    from simlib.targets.scenario import load_scenario

    s = load_scenario("baseline_2027")
    s = s.model_copy(update={"simulation": s.simulation.model_copy(update={"n_trials": 200})})
    return run_scenario(s, data, cache=TargetCache(data))


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_target_workshop_escapes_names(alloc, lang):
    from simlib.views.workshop import (
        allocation_html,
        compare_html,
        gap_html,
        headline_cards,
        headline_markdown,
        smart_html,
        wall_figure,
    )

    html = allocation_html(alloc, ("company", "region", "team", "rep"), None, lang)
    for other in (
        gap_html(alloc, lang=lang),
        smart_html(alloc, lang),
        headline_cards(alloc, lang),
        compare_html(alloc, alloc, lang, SCRIPT),
    ):
        _no_markup(other)
    _no_markup(html)
    assert _as_text(SVG if lang == "en" else MD, html) and _as_text(
        SCRIPT if lang == "en" else IMG, html
    )
    _plain(_texts(wall_figure(alloc, "last_year", REGION, lang)))
    _plain(_texts(wall_figure(alloc, "forecast", TEAM, lang)))
    assert "<" not in headline_markdown(alloc, lang).data


def test_spreadsheet_export_of_control_characters(alloc, tmp_path):
    """An ANSI-coloured name exports (it used to end in openpyxl's IllegalCharacterError,
    "internal error" in the workshop); control characters are replaced, formulas quoted."""
    import openpyxl

    from simlib.targets.run import export_csv, export_xlsx

    path = export_xlsx(alloc, tmp_path / "alloc.xlsx")
    wb = openpyxl.load_workbook(path)
    cells = [
        c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)
    ]
    red = [v for v in cells if "Red" in v]
    assert red and all("\x1b" not in v for v in red)
    assert "\ufffd[31mRed\ufffd[0m =1+1" in red
    assert not any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", v) for v in cells)
    text = export_csv(alloc, tmp_path / "alloc.csv").read_text(encoding="utf-8-sig")
    assert "\x1b" not in text


def test_commission_lab_escapes_plan_and_rep_names():
    import numpy as np

    from simlib.apps.commission_lab import CommissionLab, LabContext, LabState, compute
    from simlib.plots.commission import lab_figure

    rng = np.random.default_rng(0)
    ids = [SCRIPT, "$a$", "R2", "R3"]
    ctx = LabContext.from_arrays(
        rng.gamma(4.0, 250_000, size=(300, 4)), np.full(4, 1_000_000.0), ids, ids, [SVG] * 4
    )
    plan = next(iter(ctx.plans))
    ctx = ctx.with_plan(MD, ctx.plans[plan])
    state = LabState.from_plan(ctx.plans[plan], plan, curve_rep=SCRIPT, compare=(MD,))
    view = compute(state, ctx)
    assert view.ok
    _plain(_texts(lab_figure(view)))
    lab = CommissionLab(ctx, state, lang="en", charts=False)
    lab.show()
    for out in lab.outputs.values():
        if isinstance(out.value, str):
            _no_markup(out.value)

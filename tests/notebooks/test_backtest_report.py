"""The forecast backtest report: its view agrees with simlib.backtest, and its template
renders in both languages as a page for people.

One small backtest of the demo company (two as-of dates, a few hundred trials) is
computed once; the view is built on it (``result=``) in zh-CN and English and checked
against :func:`simlib.backtest.summarise_backtest` and the rows' PIT. The template is
rendered with papermill in both languages with the same parameters, its HTML goes through
the text lint (:mod:`tests.textlint`), and a screenshot of each page is kept
(``$SIMLIB_SCREENSHOTS`` or the tests' temporary folder, under ``reports/``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.textlint import latin_rep_names, lint_html

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "notebooks" / "reports" / "forecast_backtest.ipynb"
DATES = ("2026-03-31", "2026-06-30")
TRIALS = 300
LANGS = ("zh-CN", "en")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def data():
    from simlib.data import load_demo

    return load_demo()


@pytest.fixture(scope="module")
def rows(data):
    from simlib.backtest import backtest

    return backtest(data, list(DATES), "quarter", n_trials=TRIALS, seed=0)


@pytest.fixture(scope="module", params=LANGS)
def report(request, data, rows):
    from simlib.views.backtest import backtest_report

    return backtest_report(data=data, n_trials=TRIALS, lang=request.param, result=rows)


def _html(rep) -> str:
    return "".join(
        str(getattr(rep, s)())
        for s in (
            "header",
            "scores",
            "by_date",
            "by_team",
            "pit_note",
            "reliability_note",
            "method",
        )
    )


def _fig_texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in out if t]


# --------------------------------------------------------------------------- the view


def test_scores_are_summarise_backtests_numbers(report, rows):
    from simlib import present
    from simlib.backtest import summarise_backtest

    s = summarise_backtest(rows)
    f = report.scores_frame()
    assert len(f) == len(s) == 4  # company, region, team, rep
    for a, b in (
        ("rows", "rows"),
        ("coverage", "coverage_p10_p90"),
        ("pinball_ratio", "pinball_ratio"),
        ("wape", "wape"),
        ("crm_wape", "crm_wape"),
        ("bias", "bias"),
        ("crm_bias", "crm_bias"),
        ("mae_p50", "mae_p50"),
        ("mae_crm", "mae_crm"),
    ):
        np.testing.assert_allclose(f[a].to_numpy(float), s[b].to_numpy(float), err_msg=a)
    # shown in the page's one unit and as % (the reps' row, formatted as present does)
    shown = str(report.scores())
    u = report.units
    rep = s.set_index("level").loc["rep"]
    for text in (
        present.pct(rep["coverage_p10_p90"]),
        present.number(rep["pinball_ratio"], 2),
        present.pct(rep["wape"]),
        present.pct(rep["bias"], sign=True),
        u.amount(rep["mae_p50"]),
        u.amount(rep["mae_crm"]),
    ):
        assert f">{text}</td>" in shown, text
    zh = report.lang == "zh-CN"
    assert ("MAE 模型（万元）" if zh else "MAE model (¥M)") in shown
    levels = ["公司", "大区", "团队", "销售"] if zh else ["Company", "Regions", "Teams", "Reps"]
    assert list(f["level"]) == levels


def test_headline_cards_are_the_scores(report, rows):
    from simlib import present
    from simlib.backtest import summarise_backtest

    s = summarise_backtest(rows).set_index("level")
    head = str(report.header())
    assert present.pct(s.at["rep", "coverage_p10_p90"]) in head
    assert present.pct(s.at["company", "bias"], sign=True) in head
    assert present.number(s.at["rep", "pinball_ratio"], 2) + "×" in head
    co = rows[rows["level"] == "company"]
    k, n = int(co["covered"].sum()), len(co)
    assert (f"{n} 次中 {k} 次" if report.lang == "zh-CN" else f"{k} of {n}") in head
    assert ("预测回测" if report.lang == "zh-CN" else "Forecast backtest") in head
    assert ("2026年3月31日" if report.lang == "zh-CN" else "31 Mar 2026") in head


def test_pit_histogram_counts_sum_to_the_rows(report, rows):
    from simlib.views.backtest import PIT_BINS

    t = report.pit_table()
    assert {"rep", "team"} <= set(t["level"])
    for lv, g in t.groupby("level"):
        pit = rows.loc[rows["level"] == lv, "pit"].to_numpy()
        assert len(g) == PIT_BINS
        assert g["count"].sum() == len(pit)
        expected, _ = np.histogram(pit, bins=np.linspace(0, 1, PIT_BINS + 1))
        assert list(g["count"]) == list(expected)
        np.testing.assert_allclose(g["share"].sum(), 1.0)
    fig = report.pit()
    axes = [ax for ax in fig.axes if ax.patches]
    assert len(axes) == t["level"].nunique()
    for ax, lv in zip(axes, report.dist_levels()):
        heights = [p.get_height() for p in ax.patches]
        np.testing.assert_allclose(heights, t.loc[t["level"] == lv, "share"])
        flat = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        assert flat and np.allclose(flat[0].get_ydata(), 1 / PIT_BINS)  # the flat height


def test_reliability_is_the_share_of_pit_at_or_below_tau(report, rows):
    from simlib.views.backtest import TAUS

    t = report.reliability_table()
    assert {"rep", "team"} <= set(t["level"])
    for lv, g in t.groupby("level"):
        pit = rows.loc[rows["level"] == lv, "pit"].to_numpy()
        assert list(g["tau"]) == list(TAUS)
        for tau, obs in zip(g["tau"], g["observed"]):
            assert obs == pytest.approx((pit <= tau).mean())
    fig = report.reliability()
    (ax,) = fig.axes
    diag = ax.get_lines()[0]
    assert list(diag.get_xdata()) == [0, 1] and list(diag.get_ydata()) == [0, 1]
    drawn = {tuple(np.round(ln.get_ydata(), 9)) for ln in ax.get_lines()[1:]}
    for _lv, g in t.groupby("level"):
        assert tuple(np.round(g["observed"].to_numpy(), 9)) in drawn


def test_by_date_is_the_companys_rows(report, rows):
    co = rows[rows["level"] == "company"].sort_values("as_of")
    f = report.by_date_frame()
    np.testing.assert_allclose(f["p50"], co["p50"])
    np.testing.assert_allclose(f["crm"], co["crm_baseline"])
    np.testing.assert_allclose(f["actual"], co["actual"])
    assert list(f["where"] == "inside") == list(co["covered"])
    zh = report.lang == "zh-CN"
    assert list(f["as_of"]) == (
        ["2026年3月31日", "2026年6月30日"] if zh else ["31 Mar 2026", "30 Jun 2026"]
    )
    assert list(f["window"]) == (
        ["2026年第2季度", "2026年第3季度"] if zh else ["2026-Q2", "2026-Q3"]
    )
    shown = str(report.by_date())
    for v in co["actual"]:
        assert report.units.amount(v) in shown


def test_by_team_scores_each_team_by_name(report, rows, data):
    from simlib.backtest import summarise_backtest

    f = report.by_team_frame()
    teams = data.org[data.org["level"] == "team"]
    assert set(f["team_id"]) == set(teams["node_id"])
    col = "name_zh" if report.lang == "zh-CN" else "name"
    assert set(f["team"]) == set(teams[col])
    reps = data.reps.set_index("rep_id")["team_id"]
    for rec in f.itertuples():
        own = summarise_backtest(rows[rows["node_id"] == rec.team_id]).iloc[0]
        assert rec.bias == pytest.approx(own["bias"])
        assert rec.pinball_ratio == pytest.approx(own["pinball_ratio"])
        mine = rows[(rows["level"] == "rep") & (rows["node_id"].map(reps) == rec.team_id)]
        assert rec.rep_coverage == pytest.approx(mine["covered"].mean())
    shown = str(report.by_team())
    assert (
        "T-SH" not in shown and ("上海一部" if report.lang == "zh-CN" else "Shanghai Team") in shown
    )


def test_every_section_reads_as_a_page_in_its_language(report, data):
    html = _html(report)
    problems = lint_html(html, report.lang, latin_names=latin_rep_names(data))
    assert not problems, problems
    if report.lang == "en":
        assert not CJK.search(html), CJK.search(html)
    else:
        text = re.sub(r"<[^>]+>", " ", html)
        assert not re.search(r"\b(?:Company|Teams|Reps|inside|below|above|Bias)\b", text)
    for make in (report.bands, report.pit, report.reliability):
        fig = make()
        w, h = fig.get_size_inches() * fig.dpi
        assert fig.dpi >= 100 and w >= 800 and h >= 380  # sized for a page
        texts = _fig_texts(fig)
        joined = " ".join(texts)
        assert not re.search(r"\bnan\b|\bNone\b|e[+-]\d", joined, re.I), joined
        assert not re.search(r"(?<![\w-])(?:R-[A-Z]{2,}|T-[A-Z]{2,}|S\d{3})(?![\w-])", joined)
        if report.lang == "en":
            assert not CJK.search(joined), joined
        else:
            labels = [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]
            labels += [t.get_text() for t in fig.texts]
            assert all(CJK.search(x) for x in labels if x), labels
    fig = report.bands()
    fig.canvas.draw()
    (ax,) = fig.axes
    assert ax.yaxis.get_offset_text().get_text() == ""  # no 1e7 offset
    assert ("万元" if report.lang == "zh-CN" else "¥M") in ax.get_ylabel()


def test_method_says_point_in_time_and_the_crm_baseline(report):
    m = str(report.method())
    if report.lang == "zh-CN":
        assert "时点一致" in m and "加权管道" in m and "2 个过去的日期" in m
    else:
        assert "Point in time" in m and "weighted pipeline" in m and "from 2 past dates" in m
    assert "stage history" not in m and "阶段历史" not in m  # the demo has one


def test_method_warns_when_the_export_had_no_stage_history(data, rows):
    import dataclasses

    from simlib.views.backtest import backtest_report

    snap = dataclasses.replace(data, derived=("stage_history",))
    for lang, words in (("en", "no stage history"), ("zh-CN", "没有阶段历史")):
        m = str(backtest_report(data=snap, lang=lang, result=rows, n_trials=TRIALS).method())
        assert words in m


def test_dates_horizon_and_their_errors(data):
    from simlib.views.backtest import (
        backtest_report,
        default_as_of_dates,
        parse_as_of_dates,
        parse_horizon,
    )

    assert [str(d.date()) for d in default_as_of_dates(data)] == [
        "2025-09-30",
        "2025-12-31",
        "2026-03-31",
        "2026-06-30",
    ]
    # data to 2026-11-20: October is the last whole month after a month end
    assert str(default_as_of_dates(data, "month")[-1].date()) == "2026-09-30"
    assert [str(d.date()) for d in parse_as_of_dates("2026-06-30, 2026-03-31,2026-06-30")] == [
        "2026-03-31",
        "2026-06-30",
    ]
    assert parse_horizon("90") == 90 and parse_horizon("Quarter") == "quarter"
    with pytest.raises(ValueError, match="as_of: '2026-13-01' is not a date"):
        parse_as_of_dates("2026-03-31,2026-13-01")
    with pytest.raises(ValueError, match="horizon must be 'quarter', 'month' or a number"):
        parse_horizon("year")
    with pytest.raises(ValueError, match="runs past the end of the data"):
        backtest_report("2026-09-30", data=data, n_trials=50)
    with pytest.raises(ValueError, match="lang must be 'en' or 'zh-CN'"):
        backtest_report(data=data, lang="fr", result=pd.DataFrame())


def test_hostile_company_name_is_escaped(data, rows):
    import dataclasses

    from simlib.views.backtest import backtest_report

    org = data.org.copy()
    org.loc[org["level"] == "company", ["name", "name_zh"]] = "<script>alert(1)</script>"
    org.loc[org["node_id"] == "T-SH", ["name", "name_zh"]] = "<b>x</b>"
    bad = dataclasses.replace(data, tables={**data.tables, "org": org})
    for lang in LANGS:
        rep = backtest_report(data=bad, lang=lang, result=rows, n_trials=TRIALS)
        html = _html(rep)
        assert "<script>" not in html and "<b>x" not in html
        assert "&lt;script&gt;" in html and "&lt;b&gt;x" in html


# --------------------------------------------------------------------------- the template

_DECL = re.compile(r"^[a-z_]+: (str|int|float|bool|int \| None) = \S.*#\s*\S")


def test_template_has_the_documented_typed_parameters_and_thin_cells():
    from simlib.reports.templates import template_info

    nb = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    lines = [ln for ln in src.splitlines() if ln.strip()]
    assert all(_DECL.match(ln) for ln in lines), lines
    for decl in (
        'as_of: str = ""',
        'horizon: str = "quarter"',
        "n_trials: int = 2000",
        "seed: int = 0",
        'lang: str = "zh-CN"',
        "demo_seed: int | None = None",
        'source: str = ""',
        'mapping: str = ""',
    ):
        assert decl in src, decl
    t = template_info("forecast_backtest")
    assert set(t.parameters) == {
        "as_of",
        "horizon",
        "n_trials",
        "seed",
        "lang",
        "demo_seed",
        "source",
        "mapping",
    }
    docs = [c for c in nb["cells"] if "template-doc" in c["metadata"].get("tags", [])]
    assert len(docs) == 1 and CJK.search("".join(docs[0]["source"]))
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None
            if c is not tagged[0]:
                assert len("".join(c["source"]).splitlines()) <= 6


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{lang: (html path, executed notebook)}: the template in both languages, papermill
    through simlib's batch (two workers)."""
    pytest.importorskip("papermill")
    from simlib.reports.batch import Item, run_items

    out = tmp_path_factory.mktemp("backtest_pages")
    params = dict(as_of=",".join(DATES), n_trials=TRIALS, seed=0)
    items = [
        Item(str(TEMPLATE), {**params, "lang": lang}, f"forecast_backtest_{lang}", str(out))
        for lang in LANGS
    ]
    batch = run_items(items, out, workers=2, progress=False, pdf=False)
    failed = [(r.name, r.error) for r in batch.results if not r.ok]
    assert not failed, failed
    return {
        r.name.removeprefix("forecast_backtest_"): (
            Path(r.html),
            json.loads(Path(r.ipynb).read_text(encoding="utf-8")),
        )
        for r in batch.results
    }


@pytest.mark.parametrize("lang", LANGS)
def test_template_renders_the_backtest_as_a_page_for_people(rendered, data, rows, lang):
    from simlib import present
    from simlib.backtest import summarise_backtest

    path, nb = rendered[lang]
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", o
    pngs = [
        o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(pngs) == 3  # bands, PIT, reliability
    html = path.read_text(encoding="utf-8")
    problems = lint_html(html, lang, latin_names=latin_rep_names(data))
    assert not problems, "\n".join(problems)
    assert "Warning" not in html  # a library's warning (stderr) never reaches the page
    assert f'lang="{lang}"' in html
    # the numbers are simlib's for the same dates, trials and seed
    s = summarise_backtest(rows).set_index("level")
    assert present.pct(s.at["rep", "coverage_p10_p90"]) in html
    assert present.number(s.at["team", "pinball_ratio"], 2) in html
    u = present.Units(lang)
    co = rows[rows["level"] == "company"]
    for v in co["actual"]:
        assert u.amount(v) in html
    assert ("预测回测" if lang == "zh-CN" else "Forecast backtest") in html


def test_screenshots_of_both_languages(rendered, tmp_path_factory):
    """A full-page screenshot of each language's page, for people to look at."""
    from simlib.reports.render import chromium_path

    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    d = Path(os.environ.get("SIMLIB_SCREENSHOTS") or tmp_path_factory.getbasetemp()) / "reports"
    d.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1200, "height": 900})
        for lang, (path, _nb) in sorted(rendered.items()):
            page.goto(path.resolve().as_uri())
            broken = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
            )
            assert broken == 0, f"{lang}: {broken} broken image(s)"
            page.screenshot(path=str(d / f"forecast_backtest_{lang}.png"), full_page=True)
        b.close()
    print(f"report screenshots: {d}")
    for lang in LANGS:
        assert (d / f"forecast_backtest_{lang}.png").stat().st_size > 50_000

"""Every report template, rendered in both languages, reads as a page for people.

One document of each kind (the director's three, a team's weekly and monthly review, a
rep's review pack, a commission statement and a quote) is rendered in zh-CN and in
English, and each page goes through the text lint (:mod:`tests.textlint`): no NaN or
None, no repr, no traceback or papermill, no scientific notation, no code-style header,
no ids where names belong, no Latin-only rep name on a Chinese page, and no resource off
this machine. A screenshot of each page is kept (``$SIMLIB_SCREENSHOTS`` or the test's
temporary folder) so that anyone can look.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simlib.data import load_demo
from simlib.reports.batch import Item, run_items
from simlib.reports.pack import pack_items, plan_for
from simlib.reports.templates import check_parameters, template_info
from tests.textlint import latin_rep_names, lint_html

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("zh-CN", "en")
EXTRA = {  # not (or not always) in the pack: their defaults (a backtest with fewer trials)
    "commission_statement": {},
    "quote": {},
    "forecast_backtest": {"n_trials": 300},
}


def _wanted(kind: str) -> bool:
    """``$SIMLIB_LINT_KINDS`` (comma-separated) narrows the kinds while working on them."""
    only = os.environ.get("SIMLIB_LINT_KINDS", "")
    return not only or kind in only.split(",")


def _items(lang: str, out: Path) -> list[Item]:
    plan = plan_for(load_demo(), lang, n_trials=300)
    seen, items = set(), []
    for item, _aud, _label in pack_items(plan, out):
        kind = Path(item.template).stem
        if kind not in seen and _wanted(kind):
            seen.add(kind)
            items.append(item)
    for kind, params in EXTRA.items():
        if not _wanted(kind) or kind in seen:  # the pack renders it already
            continue
        t = template_info(kind)
        p = check_parameters(t, {**params, "lang": lang} if "lang" in t.parameters else params)
        items.append(Item(str(t.path), p, f"{kind}", str(out), str(ROOT)))
    return items


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{(lang, kind): html path}: every kind in both languages, one batch of 2 workers."""
    out = tmp_path_factory.mktemp("pages")
    items = []
    for lang in LANGS:
        for it in _items(lang, out / lang):
            items.append(
                Item(it.template, it.params, f"{lang}/{Path(it.template).stem}", str(out), it.cwd)
            )
    batch = run_items(items, out, run={"job": "text lint"}, workers=2, progress=False, pdf=False)
    failed = [r for r in batch.results if not r.ok]
    assert not failed, [(r.name, r.error) for r in failed]
    return {
        tuple(Path(r.name).parts[:2]): Path(r.html) for r in batch.results  # (lang, kind)
    }


@pytest.fixture(scope="module")
def latin_names():
    return latin_rep_names(load_demo())


KINDS = [
    "target_workshop_summary",
    "attainment_forecast",
    "commission_summary",
    "weekly_team_review",
    "monthly_team_review",
    "rep_review_pack",
    "commission_statement",
    "quote",
    "forecast_backtest",
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_the_page_reads_as_a_page_for_people(rendered, latin_names, kind, lang):
    if not _wanted(kind):
        pytest.skip("not in $SIMLIB_LINT_KINDS")
    html = rendered[(lang, kind)].read_text(encoding="utf-8")
    problems = lint_html(html, lang, latin_names=latin_names)
    assert not problems, f"{kind} ({lang}):\n" + "\n".join(problems)
    assert f'lang="{lang}"' in html


def test_screenshots_of_every_page(rendered):
    """A full-page screenshot of each rendered page, for people to look at."""
    from simlib.reports.render import chromium_path

    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    d = Path(os.environ.get("SIMLIB_SCREENSHOTS") or next(iter(rendered.values())).parents[2])
    d = d / "reports"
    d.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1200, "height": 900})
        for (lang, kind), path in sorted(rendered.items()):
            page.goto(path.resolve().as_uri())
            page.screenshot(path=str(d / f"{kind}_{lang}.png"), full_page=True)
        b.close()
    print(f"report screenshots: {d}")
    assert len(list(d.glob("*.png"))) >= len(rendered)

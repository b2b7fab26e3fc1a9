"""The team-review templates execute under papermill; the rep pack leaks no other rep; the
monthly review and the rep pack show the governance ledger's appeals and plan
acknowledgements (issue 15), and say so in one line when there is no ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simlib.reports.render import output_text

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "notebooks" / "reports"
TEMPLATES = ("weekly_team_review", "monthly_team_review", "rep_review_pack")


RUNS = {  # small parameters; the three renders run at once (kernel start and imports dominate)
    "weekly_team_review": dict(team="T-SH", week_ending="2026-11-20", lang="en"),
    "monthly_team_review": dict(team="T-SH", month="2026-10", lang="en"),
    "rep_review_pack": dict(rep_id="S003", period="2026-10", lang="zh-CN"),
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each template executed by papermill (in parallel processes), as parsed JSON."""
    pytest.importorskip("papermill")
    tmp = tmp_path_factory.mktemp("reviews")
    # no ledger: the demo company's default, which a report must not create
    env = {**os.environ, "SIMLIB_LEDGER": f"sqlite:///{tmp}/no-ledger.sqlite"}
    procs = {}
    for name, params in RUNS.items():
        args = [
            sys.executable,
            "-m",
            "papermill",
            str(REPORTS / f"{name}.ipynb"),
            str(tmp / f"{name}.ipynb"),
            "--cwd",
            str(ROOT),
            "--no-progress-bar",
            "-k",
            "python3",
        ]
        for k, v in params.items():
            args += ["-p", k, str(v)]
        procs[name] = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
        )
    out = {}
    for name, p in procs.items():
        log = p.communicate(timeout=300)[0].decode(errors="replace")
        assert p.returncode == 0, f"{name} failed:\n{log[-3000:]}"
        out[name] = json.loads((tmp / f"{name}.ipynb").read_text(encoding="utf-8"))
    assert not (tmp / "no-ledger.sqlite").exists()  # read, never created
    return out


def _outputs(nb) -> str:
    return output_text(nb, images=True)


@pytest.mark.parametrize("name", TEMPLATES)
def test_one_typed_parameters_cell_and_no_outputs(name):
    nb = json.loads((REPORTS / f"{name}.ipynb").read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    assert ": str =" in src and "#" in src
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None


def test_weekly_review_executes(executed):
    text = _outputs(executed["weekly_team_review"])
    assert "Progress against pace" in text and "Zhang Wei" in text
    assert "Alerts active on 2026-11-20" in text and "Expected by pace" in text
    assert "S003" not in text and "node_id" not in text


def test_monthly_review_shows_decomposition_and_check(executed):
    from simlib import tracking
    from simlib.views.team_review import load_facts

    text = _outputs(executed["monthly_team_review"])
    assert "Gap to plan, decomposed" in text and "Check passed" in text
    for word in ("volume", "price", "mix", "new customers", "existing customers"):
        assert word in text
    from simlib.present import Units

    dev = tracking.deviation(load_facts(), "T-SH", "2026-10")
    assert Units("en").amount(dev.gap, unit=True, sign=True) in text  # the page's unit
    assert "to the cent" in text
    assert "Proposed actions" in text


@pytest.fixture(scope="module")
def facts():
    from simlib.views.team_review import load_facts

    return load_facts()


def _mates(reps, rep_id):
    me = reps.set_index("rep_id").loc[rep_id]
    return me, reps[(reps["team_id"] == me["team_id"]) & (reps["rep_id"] != rep_id)]


def test_rep_pack_notebook_shows_only_that_rep(executed):
    from simlib.views.team_review import load_facts

    me, mates = _mates(load_facts().reps, "S003")
    text = _outputs(executed["rep_review_pack"])
    assert me["name_zh"] in text and "团队平均" in text
    assert len(mates) > 3
    for _, r in mates.iterrows():
        assert r["name"] not in text and r["name_zh"] not in text and r["rep_id"] not in text


@pytest.mark.parametrize("rep_id", ["S003", "S054"])  # S054 has a capability gap: a mentor is named
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_rep_pack_view_names_no_other_rep(facts, rep_id, lang):
    from simlib.views.team_review import rep_pack

    f = facts
    me, mates = _mates(f.reps, rep_id)
    p = rep_pack(f, rep_id, "2026-10", lang)
    text = "\n".join(
        [
            repr(p.header()),
            repr(p.scorecard()),
            p.explanation,
            p.markdown,
            repr(p.honours_list()),
            p.scorecard()._repr_html_(),
        ]
    )
    assert (me["name_zh"] if lang == "zh-CN" else me["name"]) in text
    assert not any("  " in line for line in p.markdown.splitlines())  # a name cut out cleanly
    for _, r in mates.iterrows():
        assert r["name"] not in text and r["name_zh"] not in text and r["rep_id"] not in text


def test_without_a_ledger_the_sections_say_so_in_one_line(executed):
    monthly = _outputs(executed["monthly_team_review"])
    assert "No statements have been issued to the ledger yet, so there are no appeals." in monthly
    pack = _outputs(executed["rep_review_pack"])
    assert "我的申诉" in pack and "账本中尚未发布对账单，因此没有申诉。" in pack
    assert "方案确认" in pack and "账本中尚无批准的方案，暂无需确认。" in pack
    for text in (monthly, pack):
        assert "<table" not in text.split("No statements")[-1].split("账本中尚未")[-1]


# ---------------------------------------------------------------------- with a ledger

LEDGER_RUNS = [
    ("monthly_team_review", dict(team="T-SH", month="2026-10"), lang) for lang in ("en", "zh-CN")
] + [("rep_review_pack", dict(rep_id="S003", period="2026-10"), lang) for lang in ("en", "zh-CN")]


@pytest.fixture(scope="module")
def with_ledger(tmp_path_factory):
    """The monthly review (Shanghai Team) and Zhang Wei's pack in both languages, rendered
    as the report command renders them (papermill in warm kernels, 2 workers) against
    the ledger of tests/test_governance_view.py, given by the ``ledger`` parameter."""
    pytest.importorskip("papermill")
    from simlib.reports.batch import Item, run_items
    from simlib.reports.templates import check_parameters, template_info
    from tests.test_governance_view import build_ledger

    tmp = tmp_path_factory.mktemp("gov-reports")
    url = f"sqlite:///{tmp}/ledger.sqlite"
    build_ledger(url)
    items = []
    for name, params, lang in LEDGER_RUNS:
        t = template_info(name)
        p = check_parameters(t, {**params, "lang": lang, "ledger": url})
        items.append(Item(str(t.path), p, f"{lang}/{name}", str(tmp / "out"), str(ROOT)))
    batch = run_items(
        items, tmp / "out", run={"job": "ledger"}, workers=2, progress=False, pdf=False
    )
    failed = [(r.name, r.error) for r in batch.results if not r.ok]
    assert not failed, failed
    return {tuple(r.name.split("/")): Path(r.html) for r in batch.results}


def _page(with_ledger, lang, name) -> str:
    import html as _html
    import re

    page = with_ledger[(lang, name)].read_text(encoding="utf-8")
    return _html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"data:image/[^\"]+", "", page)))


def test_monthly_review_lists_the_teams_appeals(with_ledger):
    en = _page(with_ledger, "en", "monthly_team_review")
    assert "Appeals" in en
    # overdue judged on the data's last day, 2026-11-20
    assert "2026-10: 4 filed, 2 decided (adjustments accepted +¥500.00), 2 open, 2 overdue." in en
    for words in (
        "Zhang Wei",
        "Jiang Jun",
        "Yao Jing",
        "Wei Hui",
        "accepted",
        "rejected",
        "withdrawn",
        "overdue",
        "the band was read wrongly",
        "Wei Ping · 2026-10-14",
        "line 2: OPP001100: 180,000 × 1% = 1,800",
        "Decision due",
    ):
        assert words in en, words
    assert "Ren Chao" not in en  # Hangzhou's appeal
    zh = _page(with_ledger, "zh-CN", "monthly_team_review")
    assert "申诉" in zh and "2026年10月：提交 4 件，裁决 2 件（接受的调整合计 +500.00元）" in zh
    for words in ("张伟", "蒋军", "已逾期", "接受", "驳回", "已撤回", "第 2 行", "裁决截止"):
        assert words in zh, words


def test_rep_pack_shows_own_appeals_and_the_acknowledged_plan(with_ledger):
    en = _page(with_ledger, "en", "rep_review_pack")
    assert "My open appeals" in en and "You have no open appeal." in en
    assert "Decided since 2026-10-01" in en and "+500.00" in en and "+200.00" in en
    assert "Plan acknowledged" in en
    plan = "Tiered commission on the quarter's revenue"  # the plan by its description
    assert f"You acknowledged version 1 of {plan} on 2026-09-30" in en
    assert "version 2, approved on 2026-11-06, is not yet acknowledged" in en
    assert "simlib plans accept --plan tiered_cn --as 'Zhang Wei'" in en
    zh = _page(with_ledger, "zh-CN", "rep_review_pack")
    assert "我的申诉" in zh and "方案确认" in zh and "部分接受" in zh
    assert "你已于 2026-09-30 确认阶梯提成第 1 版；2026-11-06 批准的第 2 版尚未确认" in zh
    for text in (en, zh):  # only the rep's own: no colleague's appeal
        for other in ("Jiang Jun", "蒋军", "Yao Jing", "姚静", "Wei Hui", "魏慧", "S004"):
            assert other not in text


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("name", ["monthly_team_review", "rep_review_pack"])
def test_ledger_pages_read_as_pages_for_people(with_ledger, name, lang):
    from simlib.data import load_demo
    from tests.textlint import latin_rep_names, lint_html

    html = with_ledger[(lang, name)].read_text(encoding="utf-8")
    problems = lint_html(html, lang, latin_names=latin_rep_names(load_demo()))
    assert not problems, problems


def test_screenshots_of_the_ledger_sections(with_ledger):
    """Full-page screenshots (``$SIMLIB_SCREENSHOTS`` or the test's folder)."""
    from simlib.reports.render import chromium_path

    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    d = Path(os.environ.get("SIMLIB_SCREENSHOTS") or next(iter(with_ledger.values())).parents[1])
    d = d / "ledger_reports"
    d.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1200, "height": 900})
        for (lang, name), path in sorted(with_ledger.items()):
            page.goto(path.resolve().as_uri())
            page.screenshot(path=str(d / f"{name}_{lang}.png"), full_page=True)
            last = page.locator("h2").last  # the ledger's section, close up
            last.scroll_into_view_if_needed()
            page.screenshot(path=str(d / f"{name}_{lang}_ledger.png"))
        b.close()
    print(f"ledger report screenshots: {d}")
    assert len(list(d.glob("*.png"))) == 2 * len(with_ledger)

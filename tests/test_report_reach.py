"""What the reach commands compute, in the reports people read (issue 16): the weekly and
monthly team reviews, the rep pack and the director's pay document.

The section builders (:mod:`simlib.views.reach`) on the demo company in both languages,
their numbers against the library functions, their empty cases; the four templates
rendered in both languages (warm kernels, 2 workers), checked for the new sections and
by the text lint; screenshots of each new section in Chromium."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from simlib import scorecard as sc
from simlib import tracking
from simlib.data.io import Dataset
from simlib.present import Units
from simlib.views import reach
from tests.textlint import latin_rep_names, lint_html, lint_text

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("en", "zh-CN")


@pytest.fixture(scope="module")
def facts():
    from simlib.views.team_review import load_facts

    return load_facts()


def _text(section) -> str:
    return repr(section)


def _clean(section, lang, latin=()):
    html = str(section)
    assert not lint_html(f"<html>{html}</html>", lang, latin_names=latin), lint_html(
        html, lang, latin_names=latin
    )
    assert not lint_text(_text(section), lang, latin_names=latin)


# --------------------------------------------------------------------------- weekly


@pytest.mark.parametrize("lang", LANGS)
def test_followups_due_grouped_by_rep_with_the_library_numbers(facts, lang, demo):
    u = Units(lang)
    s = reach.followups_due(facts, "T-SH", u, as_of="2026-11-20")
    t = _text(s)
    _clean(s, lang, latin_rep_names(demo))
    fu = tracking.followup_reminders(facts, "2026-11-20")
    fu = fu[(fu["team_id"] == "T-SH") & fu["status"].isin(["overdue", "due"])]
    rn = tracking.renewal_reminders(facts, "2026-11-20")
    rn = rn[rn["team_id"] == "T-SH"]
    assert len(fu) == 4 and len(rn) > 0
    worst = fu.sort_values("days").iloc[-1]
    if lang == "en":
        assert s.startswith("<h2>Follow-ups due</h2>")
        assert f"{len(fu)} follow-ups overdue (the longest {worst['days']} days)" in t
        assert f"{len(rn)} renewals coming up, for 8 reps" in t
        assert f"{worst['days']} days overdue" in t and "Jiang Jun" in t
        assert "lead L011985 (Cold call, key account)" in t
    else:
        assert s.startswith("<h2>待跟进事项</h2>")
        assert f"逾期跟进 {len(fu)} 条（最长已逾期{worst['days']}天）" in t
        assert f"已逾期{worst['days']}天" in t and "蒋军" in t
    # one row per rep in the counts, the most overdue first
    counts = t.split("\n")[3]  # title, sentence, header, first rep
    assert counts.startswith("Jiang Jun" if lang == "en" else "蒋军")
    # the amount in the page's unit
    assert u.amount(worst["value"]) in t
    # only the team's reps
    others = facts.reps[facts.reps["team_id"] != "T-SH"]
    assert not any(n in t for n in others["name"]) and not any(n in t for n in others["name_zh"])


def test_followups_empty_and_own(facts):
    # a day before every follow-up date and with no renewal in reach: nothing
    s = reach.followups_due(facts, "S003", Units("en", scale="yuan"), as_of="2020-01-01", own=True)
    assert "no follow-up is overdue or due and no renewal is coming up" in _text(s)
    assert "<table" not in s
    own = reach.followups_due(facts, "S003", Units("en", scale="yuan"), own=True)
    assert own.startswith("<h2>My follow-ups due</h2>") and "Zhang Wei" not in own
    assert "669,000" in own and "669,000.00" not in own and "14 days overdue" in own


@pytest.mark.parametrize("lang", LANGS)
def test_key_accounts_idle(facts, lang):
    s = reach.key_accounts_idle(facts, "T-SH", Units(lang), as_of="2026-11-20")
    st = tracking.key_account_status(facts, as_of="2026-11-20", within="T-SH", max_gap_days=30)
    n = int(st["overdue"].sum())
    t = _text(s)
    assert n == 1
    if lang == "en":
        assert f"{n} of {len(st)} key accounts have not been visited in the last 30 days" in t
        assert "32 days" in t
    else:
        assert f"{len(st)} 家大客户中有 {n} 家超过 30 天未拜访" in t
    assert st.loc[st["overdue"], "name"].iloc[0] in t
    _clean(s, lang)
    none = reach.key_accounts_idle(facts, "T-SH", Units(lang), as_of="2026-11-20", max_gap_days=400)
    assert "<table" not in none and ("0 of" in none or "有 0 家" in none)


# --------------------------------------------------------------------------- monthly


@pytest.mark.parametrize("lang", LANGS)
def test_lead_sources_with_interval_and_small_samples(facts, lang):
    s = reach.lead_sources(facts, "T-SH", "2026-10", Units(lang))
    tab = tracking.lead_source_conversion(facts, None, within="T-SH", as_of="2026-10-31")
    t = _text(s)
    from simlib.present import pct

    best = tab.iloc[0]
    assert (
        f"{pct(best['conversion'])}" in t and f"{pct(best['ci_low'])}–{pct(best['ci_high'])}" in t
    )
    assert ("2025-11-01 to 2026-10-31" if lang == "en" else "2025-11-01 至 2026-10-31") in t
    _clean(s, lang)
    # a rep alone has sources with fewer than MIN_DECIDED decided leads: said so
    one = _text(reach.lead_sources(facts, "S010", "2026-10", Units(lang)))
    small = tracking.lead_source_conversion(facts, None, within="S010", as_of="2026-10-31")
    assert (small["decided"] < reach.MIN_DECIDED).any()
    assert ("too few decided leads to compare" if lang == "en" else "无法比较") in one
    empty = reach.lead_sources(facts, "S052", "2025-01", Units(lang))  # hired later
    assert "<table" not in empty


@pytest.mark.parametrize("lang", LANGS)
def test_drill_and_coverage_match_the_library(facts, lang):
    u = Units(lang)
    s = reach.drill(facts, "T-SH", "2026-10", u)
    m = tracking.metrics(facts, "2026-10", level="team", within="T-SH", by="product_line")
    t = _text(s)
    assert u.amount(m["revenue"].sum(), unit=True) in t
    for v in m["revenue"]:
        assert u.amount(v) in t
    ct = tracking.metrics(facts, "2026-10", level="team", within="T-SH", by="customer_type")
    for v in ct["revenue"]:
        assert u.amount(v) in t
    assert ("IoT Platform" if lang == "en" else "物联网平台") in t
    assert ("small business" if lang == "en" else "中小企业") in t
    _clean(s, lang)
    c = reach.key_account_coverage(facts, "T-SH", "2026-10", u)
    cov = tracking.key_account_followup(facts, level="rep", as_of="2026-10-31", within="T-SH")
    n, seen = int(cov["key_accounts"].sum()), int(cov["followed_up"].sum())
    assert (f"{seen} of {n} key accounts" if lang == "en" else f"{n} 家大客户中 {seen} 家") in c
    _clean(c, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_milestones_of_a_team_a_rep_and_the_company(facts, lang):
    from simlib.present import pct

    u = Units(lang)
    team = _text(reach.milestones(facts, u, nodes=reach.milestone_nodes(facts, "T-SH")))
    assert ("Wu Yang's first six months" if lang == "en" else "吴洋入职半年") in team
    assert ("Chongqing" not in team) and ("重庆" not in team)
    allm = reach.milestone_rows(facts)
    every = reach.milestones(facts, u, nodes=reach.milestone_nodes(facts, "CO"))
    for p in allm["progress"]:
        assert pct(p, 0) in every
    _clean(every, lang)
    none = reach.milestones(facts, u, nodes={"S003"}, own=True)
    assert "<table" not in none
    assert ("No milestone is set for you" if lang == "en" else "没有为你设定的里程碑") in none


@pytest.fixture(scope="module")
def reversed_demo(demo):
    """The demo company with two deals reversed in October 2026."""
    tables = {k: v.copy() for k, v in demo.tables.items()}
    tables["reversals"] = pd.DataFrame(
        {
            "opportunity_id": ["OPP030976", "OPP031163"],
            "reversal_date": pd.to_datetime(["2026-10-20", "2026-10-05"]),
            "reason": ["cancelled", "cancelled"],
        }
    )
    return Dataset(tables, demo.as_of, source="with reversals")


@pytest.mark.parametrize("lang", LANGS)
def test_clawbacks_equal_the_library_lines(reversed_demo, lang):
    from simlib.plans import load_plan
    from simlib.plans.clawbacks import clawback_lines

    f = tracking.prepare(reversed_demo)
    plan = load_plan("new_hire_draw")
    lines = clawback_lines(reversed_demo, plan, "2026-10")
    assert len(lines) == 2
    rep = lines[0]["rep_id"]
    team = f.reps.set_index("rep_id").at[rep, "team_id"]
    mine = [x for x in lines if f.reps.set_index("rep_id").at[x["rep_id"], "team_id"] == team]
    s = reach.clawbacks(reversed_demo, f, "new_hire_draw", "2026-10", team, Units(lang))
    money = Units(lang, scale="yuan")
    total = sum(Decimal(x["amount"]) for x in mine)
    assert money.amount(-total, unit=True) in s
    for x in mine:
        assert money.amount(-Decimal(x["amount"])) in s
    _clean(s, lang)
    # a quarterly plan's quarter, the month's reversals only; another month: none
    nov = reach.clawbacks(reversed_demo, f, "new_hire_draw", "2026-11", team, Units(lang))
    assert "<table" not in nov and "2026-11" in nov
    flat = reach.clawbacks(reversed_demo, f, "tiered_cn", "2026-10", team, Units(lang))
    assert ("has no clawback" if lang == "en" else "没有追回条款") in flat


def test_monthly_review_and_rep_pack_read_their_clawbacks(reversed_demo):
    from simlib.plans import load_plan
    from simlib.plans.clawbacks import clawback_lines
    from simlib.views.team_review import monthly_review, rep_pack

    f = tracking.prepare(reversed_demo)
    lines = clawback_lines(reversed_demo, load_plan("new_hire_draw"), "2026-10")
    rep = lines[0]["rep_id"]
    team = f.reps.set_index("rep_id").at[rep, "team_id"]
    m = monthly_review(f, team, "2026-10", "en", ledger=None, plan="new_hire_draw",
                       data=reversed_demo)  # fmt: skip
    assert "reversed deal" in m.clawbacks()
    p = rep_pack(f, rep, "2026-10", "en", plan="new_hire_draw", ledger=None, data=reversed_demo)
    mine = [x for x in lines if x["rep_id"] == rep]
    assert p.my_clawbacks().startswith("<h2>My clawbacks</h2>")
    amt = Units("en", scale="yuan").amount(-sum(Decimal(x["amount"]) for x in mine), unit=True)
    assert amt in p.my_clawbacks()


# --------------------------------------------------------------------------- rep pack


@pytest.mark.parametrize("lang", LANGS)
def test_open_leads_top_ten_with_reasons(facts, lang, demo):
    from simlib.present import pct

    u = Units(lang, scale="yuan")
    s = reach.open_leads(facts, "S003", u)
    tab = tracking.rank_open_leads(facts, within="S003")
    t = _text(s)
    assert t.count("\n") == 2 + 10  # title, sentence, header, ten rows
    for r in tab.head(10).itertuples():
        assert r.lead_id in t and pct(r.p_convert, 1) in t
    assert tab.iloc[10].lead_id not in t
    assert (f"{len(tab)} open leads" if lang == "en" else f"在途线索 {len(tab)} 条") in t
    assert reach.lead_reason(tab.iloc[0]["top_reason"], lang) in t
    _clean(s, lang, latin_rep_names(demo))


def test_rep_pack_sections_name_no_other_rep(facts):
    from simlib.views.team_review import rep_pack

    for lang in LANGS:
        p = rep_pack(facts, "S052", "2026-10", lang)
        text = "\n".join(
            repr(x) for x in (p.my_followups(), p.my_leads(), p.my_milestones(), p.my_clawbacks())
        )
        assert ("Zhu Liang's first six months" if lang == "en" else "朱亮入职半年") in text
        others = facts.reps[facts.reps["rep_id"] != "S052"]
        for _, r in others.iterrows():
            assert r["name"] not in text and r["name_zh"] not in text
            assert not re.search(rf"\b{r['rep_id']}\b", text)


# --------------------------------------------------------------------------- director


@pytest.mark.parametrize("lang", LANGS)
def test_director_sections(facts, demo, lang, tmp_path):
    from simlib.cli.pool import pool_payout_list

    u = Units(lang, scale=None if lang == "zh-CN" else "k")
    d = reach.Director.of(demo, "CO", "2026-Q3", u, payouts=pool_payout_list)
    pool = d.pool()
    teams = pool_payout_list(demo, d.pool_spec, "2026-Q3", lang=lang)
    money = Units(lang, scale="yuan")
    paid = sum(Decimal(t["paid"]) for t in teams)
    assert money.amount(paid, unit=True) in pool
    for r in teams[0]["reps"]:
        assert money.amount(Decimal(r["amount"])) in pool
    _clean(pool, lang, latin_rep_names(demo))
    promo = d.promotion()
    cands = sc.promotion_candidates(facts, "2026-Q3")
    names = facts.reps.set_index("rep_id")["name_zh" if lang == "zh-CN" else "name"]
    assert len(cands) and all(names[r] in promo for r in cands["rep_id"])
    hon = d.honours()
    h = sc.honours(facts, "2026-Q3")
    assert all(names[r] in hon for r in h["rep_id"])
    assert ("needs a nominations file" if lang == "en" else "需要提名文件") in hon
    ms = d.milestones()
    assert ms.count("<tr") == 1 + len(reach.milestone_rows(facts))
    for s in (promo, hon, ms):
        _clean(s, lang, latin_rep_names(demo))
    # a nominations file: a rep who missed the quarter's target is awarded
    att = tracking.metrics(facts, "2026-Q3", level="rep").set_index("node_id")["attainment"]
    missed = att[(att < 1) & att.index.isin(facts.reps["rep_id"])].index[0]
    f = tmp_path / "noms.csv"
    f.write_text(
        f"rep_id,period,approach,evidence\n{missed},2026-Q3,WeChat mini-program demo,wiki\n"
    )
    d2 = reach.Director.of(demo, "CO", "2026-Q3", u, nominations=str(f), payouts=pool_payout_list)
    hon2 = d2.honours()
    assert ("Exploration award" if lang == "en" else "探索奖") in hon2
    assert "WeChat mini-program demo" in hon2 and "needs a nominations file" not in hon2
    # a team's scope: only that team
    dt_ = reach.Director.of(demo, "T-SH", "2026-Q3", u, payouts=pool_payout_list)
    assert dt_.pool().count("<tr") < pool.count("<tr")
    # a month: the quarterly pool says so
    dm = reach.Director.of(demo, "CO", "2026-09", u, payouts=pool_payout_list)
    assert "<table" not in dm.pool() and ("per quarter" if lang == "en" else "按季度") in dm.pool()


# --------------------------------------------------------------------------- templates

RUNS = [
    ("weekly_team_review", dict(team="T-SH", week_ending="2026-11-20")),
    ("monthly_team_review", dict(team="T-SH", month="2026-10")),
    ("rep_review_pack", dict(rep_id="S010", period="2026-10")),
    ("commission_summary", dict(scope="CO", period="2026-Q3")),
]
TITLES = {
    "weekly_team_review": [
        ("Follow-ups due", "待跟进事项"),
        ("Key accounts not visited", "久未拜访的大客户"),
    ],
    "monthly_team_review": [
        ("Lead sources", "线索来源转化"),
        ("The month by product line and customer type", "本月按产品线与客户类型"),
        ("Key-account follow-up", "大客户跟进覆盖"),
        ("Milestones", "里程碑"),
        ("Clawbacks", "提成追回"),
    ],
    "rep_review_pack": [
        ("My follow-ups due", "我的待跟进事项"),
        ("My open leads by chance to convert", "我的在途线索（按转化可能性）"),
        ("My milestones", "我的里程碑"),
        ("My clawbacks", "我的提成追回"),
    ],
    "commission_summary": [
        ("Bonus pool payouts", "奖金池发放名单"),
        ("Promotion candidates", "晋升候选人"),
        ("Honours", "荣誉榜"),
        ("Milestones", "里程碑"),
    ],
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{(lang, template): html}: the four templates in both languages."""
    pytest.importorskip("papermill")
    from simlib.reports.batch import Item, run_items
    from simlib.reports.templates import check_parameters, template_info

    tmp = tmp_path_factory.mktemp("reach-reports")
    os.environ.setdefault("SIMLIB_LEDGER", f"sqlite:///{tmp}/no-ledger.sqlite")
    items = []
    for name, params in RUNS:
        for lang in LANGS:
            t = template_info(name)
            p = check_parameters(t, {**params, "lang": lang})
            items.append(Item(str(t.path), p, f"{lang}/{name}", str(tmp / "out"), str(ROOT)))
    batch = run_items(
        items, tmp / "out", run={"job": "reach"}, workers=2, progress=False, pdf=False
    )
    failed = [(r.name, r.error) for r in batch.results if not r.ok]
    assert not failed, failed
    return {tuple(r.name.split("/")): Path(r.html) for r in batch.results}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [n for n, _ in RUNS])
def test_templates_show_the_new_sections_and_read_clean(rendered, demo, name, lang):
    html = rendered[(lang, name)].read_text(encoding="utf-8")
    for en, zh in TITLES[name]:
        title = zh if lang == "zh-CN" else en
        assert f">{title}</h2>" in html, (name, lang, title)
    problems = lint_html(html, lang, latin_names=latin_rep_names(demo))
    assert not problems, problems


def test_rep_pack_template_shows_nothing_of_other_reps(rendered, demo):
    reps = demo.reps
    for lang in LANGS:
        import html as _html

        page = rendered[(lang, "rep_review_pack")].read_text(encoding="utf-8")
        text = _html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"data:image/[^\"]+", "", page)))
        text = text.split("<footer")[0]
        for _, r in reps[(reps["rep_id"] != "S010") & (reps["role"] == "rep")].iterrows():
            assert r["name"] not in text and r["name_zh"] not in text, r["rep_id"]


def test_screenshots_of_the_new_sections(rendered):
    """Each new section, close up, in both languages (``$SIMLIB_SCREENSHOTS`` or the
    test's folder)."""
    from simlib.reports.render import chromium_path

    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    d = Path(os.environ.get("SIMLIB_SCREENSHOTS") or next(iter(rendered.values())).parents[1])
    d = d / "reach_reports"
    d.mkdir(parents=True, exist_ok=True)
    shots = 0
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1440, "height": 900})
        for (lang, name), path in sorted(rendered.items()):
            page.goto(path.resolve().as_uri())
            for i, (en, zh) in enumerate(TITLES[name]):
                h = page.locator("h2", has_text=zh if lang == "zh-CN" else en).last
                h.scroll_into_view_if_needed()
                page.evaluate(
                    "(y) => window.scrollTo(0, y)",
                    h.bounding_box()["y"] + page.evaluate("window.scrollY") - 10,
                )
                page.screenshot(path=str(d / f"{name}_{i}_{lang}.png"))
                shots += 1
        b.close()
    print(f"reach report screenshots: {d}")
    assert shots == sum(len(v) for v in TITLES.values()) * len(LANGS)

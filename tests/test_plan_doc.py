"""The plan document a rep signs (``simlib plan-doc``): every band with its rate, worked
examples that are the exact statements, names not ids, both languages, one A4 page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simlib.cli import main
from simlib.config import default_params_dir
from simlib.data import load_demo
from simlib.plans import Draw, PlanSpec, load_plan, statement_for
from simlib.plans.spec import fmt_number, fmt_rate
from simlib.present import Units
from simlib.views.plan_doc import TERMS, plan_document, plan_sentences
from tests.textlint import latin_rep_names, lint_html, lint_text

LANGS = ("zh-CN", "en")
#: (plan, rep, quota): a quota where the data has none of the plan's kind of period.
CASES = [
    ("tiered_cn", "S003", None),  # quarterly quota from the data
    ("saas_quota", "S003", 100_000.0),  # in USD (the demo's quotas are in yuan)
    ("gated_collections", "S003", 500_000.0),  # monthly: no monthly targets in the demo
    ("new_hire_draw", "S010", None),  # monthly, amounts: examples cross the draw
]


@pytest.fixture(scope="module")
def data():
    return load_demo()


@pytest.fixture(scope="module")
def docs(data):
    return {
        (name, lang): plan_document(load_plan(name), rep_id=rep, data=data, quota=q, lang=lang)
        for name, rep, q in CASES
        for lang in LANGS
    }


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", html)]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_every_band_appears_with_its_rate(docs, name, lang):
    doc, plan = docs[(name, lang)], load_plan(name)
    frame = doc.band_frame()
    assert len(frame) == len(plan.tiers)
    assert list(frame["rate"]) == [fmt_rate(b.rate) for b in plan.tiers]
    cells = _cells(doc.html())
    units = Units(lang, scale="yuan", currency=plan.currency)
    for i, b in enumerate(plan.tiers):
        row = cells.index(str(i + 1))  # the band's number, then from, to, rate
        start = fmt_rate(b.threshold) if plan.basis == "attainment" else units.amount(b.threshold)
        assert cells[row + 1] in (start, units.amount(b.threshold, unit=True)), cells[row : row + 4]
        assert cells[row + 3] == fmt_rate(b.rate)
    text = doc.text()
    for b in plan.tiers:
        assert fmt_rate(b.rate) in text
    for m in plan.multipliers:
        assert f"× {fmt_number(m.factor)}" in doc.html()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_worked_examples_pay_what_the_statement_pays(docs, data, name, lang):
    doc, plan = docs[(name, lang)], load_plan(name)
    assert len(doc.examples) == 3
    gate = plan.gate
    rates = {
        "collection_rate": gate.min_collection_rate if gate else None,
        "kpi_score": gate.min_kpi_score if gate else None,
    }
    units = doc.units
    frame = doc.example_frame()
    pays = list(frame.loc[frame["kind"] == "total", "amount"])
    for ex, shown in zip(doc.examples, pays):
        st = statement_for(plan, ex.result, doc.quota, **rates)
        assert ex.statement.payable_cents == st.payable_cents
        assert round(shown * 100) == st.payable_cents
        assert units.amount(st.payable_cents / 100) in _cells(doc.html())
        assert sum(ln.cents for ln in st.lines) == st.payable_cents
    if doc.quota is not None:
        assert [ex.share for ex in doc.examples] == [0.5, 1.0, 1.5]
        assert [ex.result for ex in doc.examples] == [0.5 * doc.quota, doc.quota, 1.5 * doc.quota]


def test_the_quota_is_the_reps_for_the_plans_first_period(data):
    doc = plan_document(load_plan("tiered_cn"), rep_id="S003", data=data, lang="en")
    t = data.targets
    want = t[(t["owner_id"] == "S003") & (t["period"] == "2026-Q1")]["amount"].iloc[0]
    assert (doc.quota, doc.quota_period) == (want, "2026-Q1")
    assert "Quota: ¥7,142,500.00 (2026-Q1)" in doc.text()


def test_a_plan_on_amounts_without_a_quota_crosses_its_bands():
    doc = plan_document(load_plan("tiered_cn"), lang="en")
    results = [ex.result for ex in doc.examples]
    assert results == [500_000, 2_000_000, 4_500_000]  # one in each band
    assert [ex.statement.band for ex in doc.examples] == [
        "up to 1,000,000",
        "1,000,000 to 3,000,000",
        "above 3,000,000",
    ]
    draw = plan_document(load_plan("new_hire_draw"), lang="en")
    kinds = [[ln.kind for ln in ex.statement.lines] for ex in draw.examples]
    assert kinds[0] == ["commission", "draw"] and kinds[2] == ["commission"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_the_page_reads_as_a_page_for_people(docs, data, name, lang):
    doc = docs[(name, lang)]
    html, text = doc.html(), doc.text()
    latin = latin_rep_names(data)
    assert not lint_html(html, lang, latin_names=latin)
    assert not lint_text(text, lang, latin_names=latin)
    assert f'lang="{lang}"' in html
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|title)>.*?</\1>", "", html, flags=re.S))
    for bad in ("D1", "S003", "S010", "T-SH", "None", "nan"):  # the example's deal, ids
        assert not re.search(rf"\b{bad}\b", visible), (name, bad)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", visible), name  # code-style words
    zh = lang == "zh-CN"
    rep = data.reps.set_index("rep_id").loc[CASES[[c[0] for c in CASES].index(name)][1]]
    assert (rep["name_zh"] if zh else rep["name"]) in html
    assert ("上海一部" if zh else "Shanghai Team") in html
    assert ("本人已阅读并理解本方案" if zh else "I have read and understood this plan") in html
    assert "http" not in html


#: The terms being added to the plan language (issue 14), as published plans state them.
NEW_TERMS = {
    "overage": dict(
        description="60% of revenue; the accelerator reached applies to the amount above quota",
        tiers=[{"threshold": 0, "rate": 0.60}],
        multipliers=[
            {"threshold": 0, "factor": 1},
            {"threshold": 1.0, "factor": 1.5},
            {"threshold": 1.5, "factor": 2.5},
        ],
        multiplier_mode="overage",
        accelerator_gate={"min_attainment": 1.2},
    ),
    "entry_bonus": dict(
        description="marginal tiers with a one-time bonus on entering tiers 2 to 4",
        tiers=[
            {"threshold": 0, "rate": 0.01},
            {"threshold": 1000, "rate": 0.02, "entry_bonus": 200},
            {"threshold": 2000, "rate": 0.03, "entry_bonus": 300},
            {"threshold": 3000, "rate": 0.04, "entry_bonus": 400},
        ],
    ),
    "amounts": dict(
        description="a flat amount per band reached",
        mode="retroactive",
        tiers=[
            {"threshold": 0, "rate": 0},
            {"threshold": 100000, "amount": 1000},
            {"threshold": 200000, "amount": 3000},
        ],
    ),
}
SAID = {  # (plan, lang): what must be said
    ("overage", "en"): ["applies only to the amount above quota", "only when attainment ≥ 120%"],
    ("overage", "zh-CN"): ["只适用于超过指标的部分", "仅在达成率 ≥ 120% 时适用"],
    ("entry_bonus", "en"): ["¥200.00 on entering band 2 (from ¥1,000.00)"],
    ("entry_bonus", "zh-CN"): ["进入第 2 档（1,000.00元 起）200.00元"],
    ("amounts", "en"): ["paid flat once the result reaches it", "¥1,000.00 flat"],
    ("amounts", "zh-CN"): ["一次性发放该金额", "固定 1,000.00元"],
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("term", sorted(NEW_TERMS))
def test_the_new_plan_terms_are_said_and_their_examples_are_exact(term, lang):
    plan = PlanSpec(name=term, **NEW_TERMS[term])
    doc = plan_document(plan, quota=100_000.0 if plan.uses_quota else None, lang=lang)
    text = doc.text()
    for words in SAID[(term, lang)]:
        assert words in text, (words, text)
    for ex in doc.examples:
        assert ex.payable_cents == statement_for(plan, ex.result, doc.quota).payable_cents
    assert not lint_html(doc.html(), lang) and not lint_text(text, lang)


def test_the_terms_table_covers_the_plan_language():
    """Every entry of TERMS fires for some plan: the shipped ones and the new terms."""
    plans = [load_plan(n) for n in (c[0] for c in CASES)]
    plans += [load_plan(n) for n in ("tiered_cn_retro", "annual_ytd", "manager_override")]
    plans += [load_plan("renewal_kpi")] + [PlanSpec(**kw) for kw in NEW_TERMS.values()]
    plans += [
        load_plan("tiered_cn").model_copy(update={"tier_scope": "per_deal"}),
        load_plan("saas_quota").model_copy(update={"multiplier_mode": "retroactive"}),
        load_plan("new_hire_draw").model_copy(
            update={"draw": Draw(kind="non_recoverable", amount=6000)}
        ),
        PlanSpec(
            description="marginal amount band",
            tiers=[
                {"threshold": 0, "amount": 1000, "up_to": 1000},
                {"threshold": 1000, "rate": 0.01},
            ],
        ),
        PlanSpec(
            description="margin",
            measure="gross_margin",
            tiers=[{"threshold": 0, "rate": 0.1}],
            margin_pct={"*": 0.3},
        ),
        *(
            PlanSpec(
                description="weighted",
                basis="attainment",
                pays_on="target_incentive",
                target_incentive=10000,
                combine=how,
                tiers=[{"threshold": 0, "rate": 1}],
                components=[
                    {
                        "name": "bookings",
                        "measure": "revenue",
                        "weight": 0.7,
                        "tiers": [{"threshold": 0, "rate": 1}],
                    },
                    {
                        "name": "new logos",
                        "measure": "new_customer_revenue",
                        "weight": 0.3,
                        "tiers": [{"threshold": 0, "rate": 1}],
                    },
                ],
            )
            for how in ("components", "attainment")
        ),
        PlanSpec(
            description="spread",
            base_rate=0.03,
            tiers=[{"threshold": 0, "rate": 0.03}, {"threshold": 100000, "rate": 0.05}],
        ),
        PlanSpec(
            description="60/40 pay mix, monthly",
            period="month",
            basis="attainment",
            pays_on="target_incentive",
            pay_mix={"ote": 500000, "mix": 0.6},
            tiers=[{"threshold": 0, "rate": 1.0}, {"threshold": 1.0, "rate": 1.5}],
        ),
    ]
    fired = {i for p in plans for i, (cond, _zh, _en) in enumerate(TERMS) if cond(p)}
    assert fired == set(range(len(TERMS)))
    for p in plans:
        for lang in LANGS:
            for sentence in plan_sentences(p, lang, Units(lang, scale="yuan")):
                assert sentence and not lint_text(sentence, lang), sentence


def test_example_lines_are_in_the_pages_language(docs):
    """The statement's arithmetic, reworded in Chinese by the statement view."""
    for name, _rep, _q in CASES:
        frame = docs[(name, "zh-CN")].example_frame()
        for calc in frame["calc"]:
            assert not re.search(r"[A-Za-z]{3,}", calc), (name, calc)


def test_new_term_lines_are_in_chinese_too():
    lines = []
    for term in NEW_TERMS:
        plan = PlanSpec(name=term, **NEW_TERMS[term])
        doc = plan_document(plan, quota=100_000.0 if plan.uses_quota else None, lang="zh-CN")
        lines += list(doc.example_frame()["calc"])
    assert not [c for c in lines if re.search(r"[A-Za-z]{3,}", c)]


# --------------------------------------------------------------------------- command line


def test_the_command_writes_the_page_and_prints_the_text(tmp_path, capsys):
    out = tmp_path / "docs" / "zhang.html"
    rc = main(
        ["plan-doc", "--plan", "tiered_cn", "--rep", "S003", "--out", str(out), "--lang", "en"]
    )
    assert rc == 0
    html = out.read_text(encoding="utf-8")
    assert "Zhang Wei" in html and not lint_html(html, "en")
    assert [p.name for p in out.parent.iterdir()] == ["zhang.html"]  # no scratch left
    capsys.readouterr()
    assert (
        main(["plan-doc", "--plan", "gated_collections", "--quota", "50万", "--lang", "zh-CN"]) == 0
    )
    text = capsys.readouterr().out
    assert "提成方案确认书" in text and "业绩指标：500,000.00元" in text
    assert not lint_text(text, "zh-CN")


def test_the_command_takes_a_path_to_a_plan_file(tmp_path, capsys):
    src = default_params_dir() / "plans" / "tiered_cn.yaml"
    mine = tmp_path / "elsewhere" / "my_plan.yaml"
    mine.parent.mkdir()
    mine.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["plan-doc", "--plan", str(mine), "--lang", "en"]) == 0
    assert "Tiered commission" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plan", "tiered_cn", "--rep", "Zhang We"], "did you mean S003 (Zhang Wei)"),
        (["--plan", "gated_collections", "--rep", "S003"], "pass a quota (--quota)"),
        (["--plan", "saas_quota", "--quota", "10%"], "not a percentage"),
        (["--plan", "tiered_cn", "--quota", "0"], "quota must be above 0"),
        (["--plan", "manager_override", "--rep", "S003"], "S003 (Zhang Wei) is not a manager"),
        (["--plan", "tiered_cn", "--pdf"], "give --out FILE.html"),
        (["--plan", "tiered_cn", "--out", "doc.pdf"], "FILE.html"),
        (["--plan", "no_such_plan"], "plan file not found"),
    ],
)
def test_mistakes_are_one_clear_line(argv, message, capsys):
    assert main(["plan-doc", *argv, "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- the page


@pytest.mark.slow
def test_screenshots_and_an_a4_pdf_of_one_page(docs, tmp_path):
    """A screenshot of a zh-CN and an English document (``$SIMLIB_SCREENSHOTS`` or the
    test's folder), and each prints to a single A4 page with nothing fetched."""
    import os

    from simlib.reports.render import PdfPrinter, chromium_path

    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SIMLIB_SCREENSHOTS") or tmp_path) / "plan_doc"
    shots.mkdir(parents=True, exist_ok=True)
    pages = {
        "gated_collections_zh-CN": docs[("gated_collections", "zh-CN")],
        "saas_quota_en": docs[("saas_quota", "en")],
    }
    files = {}
    for key, doc in pages.items():
        files[key] = tmp_path / f"{key}.html"
        files[key].write_text(doc.html(), encoding="utf-8")
    asked = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1000, "height": 1200})
        page.on("request", lambda r: asked.append(r.url))
        for key, f in files.items():
            page.goto(f.resolve().as_uri())
            page.screenshot(path=str(shots / f"{key}.png"), full_page=True)
        b.close()
    assert all(u.startswith("file:") for u in asked), asked
    print(f"plan document screenshots: {shots}")
    printer = PdfPrinter()
    try:
        for f in files.values():
            printer.print_pdf(f, f.with_suffix(".pdf"))
    finally:
        printer.close()
    for key, f in files.items():
        pdf = f.with_suffix(".pdf").read_bytes()
        boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
        assert len(boxes) == 1, f"{key}: {len(boxes)} pages"
        assert abs(float(boxes[0][0]) - 595.9) < 2 and abs(float(boxes[0][1]) - 842.9) < 2

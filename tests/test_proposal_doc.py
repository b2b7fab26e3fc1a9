"""The proposal documents (issue 19): the customer's proposal and quote carries nothing
internal, its sums are exact in both languages; the manager's cover sheet carries the
reasons, the approval and the margins; the templates render under the text lint."""

from __future__ import annotations

import functools
import html as _html
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from simlib.proposals import NeedsError
from simlib.views.proposal import (
    build_proposal,
    cover_sheet,
    customer_document,
    needs_from_fields,
    save_documents,
)
from tests.textlint import latin_rep_names, lint_html

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("zh-CN", "en")
CUSTOMER = "Guiyang Minghui Nonferrous Metals Co., Ltd."


@functools.lru_cache(maxsize=1)
def demo():
    from simlib.data import load_demo

    return load_demo()


NEEDS = {
    # a customer with history, a must-have, an extra discount that needs a manager
    "manager": dict(
        customer=CUSTOMER,
        budget="2000000",
        lines="IoT Platform, Smart Sensors",
        size=120,
        must_have="IoT Platform License",
        start_date="2027-01-15",
        discount="8%",
    ),
    # a new customer, no budget, a named product, an exclusion
    "new": dict(
        industry="Manufacturing",
        customer_type="key_account",
        products="Vibration Sensor Kit, Smart Edge Gateway",
        lines="IoT Platform",
        exclude="Digital Twin Suite",
        size=60,
    ),
}


@functools.cache
def proposal(key: str):
    return build_proposal(NEEDS[key], demo())


def visible(html: str) -> str:
    """The text a reader sees (no tags, no styles)."""
    body = re.sub(r"<(style|script|title)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return " ".join(_html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _amount_cents(text: str) -> int:
    return int(Decimal(re.sub(r"[^\d.\-]", "", text)) * 100)


def _rows(table_html: str) -> list[list[str]]:
    """The body rows of an HTML table as cell texts."""
    out = []
    for tr in re.findall(r"<tr\b[^>]*>(.*?)</tr>", table_html, flags=re.S):
        cells = re.findall(r"<td\b[^>]*>(.*?)</td>", tr, flags=re.S)
        if cells:
            out.append([visible(c) for c in cells])
    return out


def internal_leaks(text: str, prop, kind: str, lang: str) -> list[str]:
    """Everything internal found in ``text``, the customer's document."""
    data = demo()
    out = []
    for w in ("papermill", "simlib", "margin", "毛利", "approv", "审批", "similar", "同类"):
        if w.lower() in text.lower():
            out.append(f"word {w!r}")
    from simlib.ledger.roles import role_label

    for role in ("manager", "director"):
        if role_label(role, lang) in text:
            out.append(f"role {role_label(role, lang)!r}")
    for rx in (r"\bC\d{5}\b", r"\bP-[A-Z]{3}-\d{2}\b", r"\bOPP\d+", r"\bS\d{3}\b", r"PRP-"):
        m = re.search(rx, text)
        if m:
            out.append(f"id {m[0]!r}")
    addressee = prop.needs.customer_name
    for name in data.customers["name"].astype(str):
        if name != addressee and name in text:
            out.append(f"customer {name!r}")
    for o in prop.options:
        for r in (*o.reasons, *o.notes):
            if r.text(lang) in text:
                out.append(f"reason {r.text(lang)[:40]!r}")
    cover = cover_sheet(prop, kind, lang=lang, data=data)
    for o in prop.options:
        m = cover.margin_cents(o)
        shown = f"{m / 100:,.2f}"
        if m and shown in text:
            out.append(f"margin amount {shown}")
    for token in ("{'", "None", "NaN", "Option(", "PricedQuote(", "Proposal("):
        if token in text:
            out.append(f"repr {token!r}")
    return out


# --------------------------------------------------------------------------- the document


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("key", sorted(NEEDS))
def test_customer_document_has_nothing_internal(key, lang):
    prop = proposal(key)
    for o in prop.options:
        doc = customer_document(prop, o.kind, lang=lang, data=demo())
        text = visible(doc.html())
        assert not internal_leaks(text, prop, o.kind, lang), (o.kind, lang)
        if prop.needs.customer_name:
            assert prop.needs.customer_name in text
        company = "华夏智能系统" if lang == "zh-CN" else "Huaxia Smart Systems"
        assert company in text
        assert str(prop.valid_until) in text
        terms = prop.book.payment_terms[1 if lang == "zh-CN" else 0].rstrip("。.")
        assert terms in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("key", sorted(NEEDS))
def test_sums_on_the_page_are_exact(key, lang):
    prop = proposal(key)
    for o in prop.options:
        doc = customer_document(prop, o.kind, lang=lang, data=demo())
        q = o.quote
        # the line items, read back from the page: the last cell of each row
        items = _rows(str(doc.items()))
        shown = [_amount_cents(r[-1]) for r in items]
        assert shown == [ln.net_cents for ln in q.lines]
        vals = [_amount_cents(r[-1]) for r in _rows(str(doc.totals()))]
        lst, disc, sub, vat, total = vals
        assert lst + disc == sub == sum(shown) == q.subtotal_cents
        assert sub + vat == total == q.total_cents
        assert vat == q.vat_cents
        for ln in q.lines:  # list − discount = subtotal on every line, to the cent
            assert ln.list_cents - ln.discount_cents == ln.net_cents
        unit = "元" if lang == "zh-CN" else "¥"
        assert unit in str(doc.items()) and "万" not in str(doc.items())


def test_both_languages_are_complete():
    prop = proposal("manager")
    zh = visible(customer_document(prop, None, lang="zh-CN", data=demo()).html())
    en = visible(customer_document(prop, None, lang="en", data=demo()).html())
    assert "方案建议书及报价单" in zh and "增值税" in zh and "有效期" in zh and "付款条件" in zh
    assert "Proposal and quotation" in en and "VAT" in en and "Payment terms" in en
    # no English heading left on the Chinese page
    for word in ("Line items", "Subtotal", "Total", "Valid until", "Quantity"):
        assert word not in zh
    for word in ("报价明细", "小计", "总计"):
        assert word not in en


def test_cover_sheet_carries_reasons_approval_and_margins():
    prop = proposal("manager")
    for lang in LANGS:
        cover = cover_sheet(prop, None, lang=lang, data=demo())
        text = visible(cover.html())
        chosen = prop.option()
        assert chosen.quote.approver == "manager"
        from simlib.ledger.roles import role_label

        assert role_label("manager", lang) in text
        for r in chosen.reasons:
            assert r.text(lang) in text
        for o in prop.options:
            m = cover.margin_cents(o)
            assert m is not None and f"{m / 100:,.2f}" in text
            # margin by hand: net − Σ list × (1 − the catalogue's gross margin)
            gm = demo().products.set_index("product_id")["gross_margin_pct"]
            cost = sum(
                round(Decimal(ln.list_cents) * (1 - Decimal(repr(float(gm[ln.product_id])))))
                for ln in o.quote.lines
            )
            assert m == o.quote.subtotal_cents - cost
        assert ("内部" in text) if lang == "zh-CN" else ("internal" in text)
        assert not re.search(r"\bP-[A-Z]{3}-\d{2}\b|\bC\d{5}\b|\bS\d{3}\b", text)


def test_bad_need_is_said_with_its_field():
    with pytest.raises(NeedsError) as e:
        build_proposal({"budget": "-5", "size": 10}, demo())
    (p,) = e.value.problems
    assert p.field == "budget" and "-5.00" in p.en and "大于零" in p.zh


def test_needs_from_fields_keeps_the_file_and_overrides(tmp_path):
    f = tmp_path / "needs.yaml"
    f.write_text("budget: 1000000\nsize: 30\nlines: [IoT Platform]\n", encoding="utf-8")
    raw = needs_from_fields(str(f), size=40, budget="", lines=None)
    assert raw == {"budget": 1000000, "size": 40, "lines": ["IoT Platform"]}


def test_save_writes_the_documents_and_the_pipeline_export(tmp_path):
    prop = proposal("manager")
    paths = save_documents(prop, "within_budget", tmp_path, lang="zh-CN", data=demo())
    doc = paths["document"].read_text(encoding="utf-8")
    assert not internal_leaks(visible(doc), prop, "within_budget", "zh-CN")
    assert "毛利" in paths["cover"].read_text(encoding="utf-8")
    rows = pd.read_csv(paths["export"], dtype=str)
    opt = prop.option("within_budget")
    assert sum(_amount_cents(a) for a in rows["amount"]) == opt.quote.subtotal_cents
    assert set(rows["stage"]) == {"proposal"}
    for p in paths.values():  # file names carry no customer id
        assert not re.search(r"C\d{5}", p.name) or p == paths["export"]


def test_the_old_quote_shows_no_ids_nor_internal_notes():
    from simlib.views.quote import quote

    data = demo()
    opp = data.opportunities
    oid = opp[opp["stage"] == "proposal"]["opportunity_id"].iloc[0]
    for lang in LANGS:
        q = quote(oid, data=data, lang=lang, vat_rate=0.13)
        text = visible("".join(str(s) for s in (q.header(), q.items(), q.totals(), q.terms())))
        assert oid not in text and not re.search(r"\bOPP\d+|\bC\d{5}\b|\bS\d{3}\b", text)
        assert "CRM" not in text and "商机" not in text
        assert oid in q.derivation()  # for the rep, not on the page


# --------------------------------------------------------------------------- the templates


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from simlib.reports.batch import Item, run_items
    from simlib.reports.templates import check_parameters, template_info

    out = tmp_path_factory.mktemp("proposal_pages")
    items = []
    for kind in ("proposal", "proposal_cover"):
        t = template_info(kind)
        for lang in LANGS:
            p = check_parameters(t, {"lang": lang, "discount": "8%", "size": 120})
            items.append(Item(str(t.path), p, f"{lang}/{kind}", str(out), str(ROOT)))
    batch = run_items(items, out, run={"job": "proposal"}, workers=1, progress=False, pdf=True)
    failed = [r for r in batch.results if not r.ok]
    assert not failed, [(r.name, r.error) for r in failed]
    return {tuple(Path(r.name).parts[:2]): r for r in batch.results}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["proposal", "proposal_cover"])
def test_templates_render_under_the_text_lint(rendered, kind, lang):
    r = rendered[(lang, kind)]
    html = Path(r.html).read_text(encoding="utf-8")
    problems = lint_html(html, lang, latin_names=latin_rep_names(demo()))
    assert not problems, "\n".join(problems)
    assert f'lang="{lang}"' in html
    if r.pdf:
        assert Path(r.pdf).read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("lang", LANGS)
def test_rendered_customer_document_has_nothing_internal(rendered, lang):
    html = Path(rendered[(lang, "proposal")].html).read_text(encoding="utf-8")
    # a document for the customer ends with no provenance footer (no parameters, no
    # fingerprint, no tool name): the whole page is scanned
    assert '<footer class="simlib-footer"' not in html
    text = visible(html)
    assert "simlib" not in text.lower() and "fingerprint" not in text.lower()
    prop = build_proposal(
        needs_from_fields(
            customer=CUSTOMER, budget="2000000", lines="IoT Platform", size=120,
            must_have="IoT Platform License", start_date="2027-01-15", discount="8%",
        ),
        demo(),
    )  # fmt: skip
    assert not internal_leaks(text, prop, "recommended", lang)
    q = prop.option("recommended").quote
    assert f"{q.total_cents / 100:,.2f}" in text
    cover = visible(Path(rendered[(lang, "proposal_cover")].html).read_text(encoding="utf-8"))
    assert ("毛利" if lang == "zh-CN" else "Gross margin") in cover


def test_screenshots_of_the_documents(rendered, tmp_path_factory):
    """Full-page screenshots of the customer document and the cover sheet, both languages."""
    import os

    from simlib.reports.render import chromium_path

    exe = chromium_path()
    if not exe:
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    d = Path(os.environ.get("SIMLIB_SCREENSHOTS") or tmp_path_factory.getbasetemp()) / "proposal"
    d.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1200, "height": 900})
        for (lang, kind), r in sorted(rendered.items()):
            page.goto(Path(r.html).resolve().as_uri())
            page.screenshot(path=str(d / f"{kind}-{lang}.png"), full_page=True)
        b.close()
    print(f"screenshots: {d}")

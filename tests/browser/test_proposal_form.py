"""The proposal form in a real browser (Voilà, Chromium, 1440×900), zh-CN and English.

A negative budget is said next to the budget field and no options are shown; then the
needs are filled (a budget, a product line, a must-have, a customer), the options come
side by side with the totals simlib computes for the same needs, one is chosen and
saved: the customer's document, the cover sheet and the pipeline export are written.
Voilà serves a copy of ``notebooks/proposal_form.ipynb`` of its own (a small data copy).
Screenshots in both languages.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import free_port, small_copy, start_server

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = "proposal_form.ipynb"
FORM = ".simlib-pf-form"
CUSTOMER = "Guiyang Minghui Nonferrous Metals Co., Ltd."
LEAKS = re.compile(
    r"internal error|Traceback|Proposal\(|Option\(|PricedQuote\(|\{'|\bNaN\b|\bnan\b|\bNone\b"
    r"|\bC\d{5}\b|\bP-[A-Z]{3}-\d{2}\b|\bS\d{3}\b"
)


@pytest.fixture(scope="module")
def form_server(tmp_path_factory):
    from simlib.apps.server import voila_command

    base = tmp_path_factory.mktemp("voila_proposal")
    root = small_copy([NOTEBOOK], base / "notebooks")
    env = {**os.environ, "SIMLIB_CACHE_DIR": str(base / "cache")}
    for name in ("SIMLIB_APP_SOURCE", "SIMLIB_APP_MAPPING"):
        env.pop(name, None)
    port = free_port()
    server = start_server(
        "voila-proposal",
        voila_command(port, root=root, extra=["--Voila.log_level=INFO"]),
        port,
        base / "voila.log",
        root,
        env=env,
    )
    yield server
    server.stop()


def _no_leaks(page) -> None:
    text = page.locator("body").inner_text()
    leak = LEAKS.search(text)
    assert leak is None, (
        f"{leak.group(0)!r} on the page:\n{text[max(0, leak.start() - 200) :][:400]}"
    )


def _fill(page, field: str, value: str) -> None:
    box = page.locator(f"{FORM} .simlib-pf-{field} input")
    box.fill(value)
    box.press("Tab")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_fill_get_options_choose_and_save(form_server, page, screenshot_dir, lang):
    from simlib.data import load_demo
    from simlib.present import Units
    from simlib.views.proposal import build_proposal

    def shot(name):
        path = screenshot_dir / f"proposal-form-{lang}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")

    page.goto(form_server.url)  # the _xsrf cookie
    page.goto(
        f"{form_server.url}voila/render/{NOTEBOOK}?lang={lang}", timeout=form_server.render_ms
    )
    page.locator(f"{FORM} .simlib-pf-go").wait_for(timeout=form_server.render_ms)
    zh = lang == "zh-CN"
    expect(page.locator("h1").first).to_have_text(
        "按客户需求起草方案" if zh else "Proposal from a customer's needs"
    )
    go = page.locator(f"{FORM} button.simlib-pf-go")
    options = page.locator(".simlib-pf-options")

    # a bad need: said next to its field, in the user's units; no options
    _fill(page, "budget", "-5")
    go.click()
    err = page.locator(f"{FORM} .simlib-pf-err-budget")
    expect(err).to_contain_text("大于零" if zh else "above zero")
    expect(err).to_contain_text("-5.00")
    expect(options).to_be_empty()
    expect(page.locator("button.simlib-pf-save")).to_be_disabled()
    _no_leaks(page)
    shot("invalid")

    # the needs, filled
    _fill(page, "budget", "200万" if zh else "2000000")
    expect(err).to_be_empty()
    _fill(page, "size", "120")
    _fill(page, "customer", CUSTOMER)
    line = "物联网平台" if zh else "IoT Platform"
    page.locator(f"{FORM} .simlib-pf-lines select").select_option(label=line)
    page.locator(f"{FORM} .simlib-pf-must_have select").select_option(
        label="工业物联网平台许可" if zh else "IoT Platform License"
    )
    go.click()
    expect(page.locator(".simlib-pf-opt").first).to_be_visible()
    want = build_proposal(
        dict(budget="2000000", size="120", customer=CUSTOMER, lines=["IoT Platform"],
             must_have=["P-IOT-01"]),
        load_demo(),
    )  # fmt: skip
    units = Units(lang, scale="yuan", currency=want.book.currency)
    cards = page.locator(".simlib-pf-opt")
    expect(cards).to_have_count(len(want.options))
    for i, o in enumerate(want.options):
        expect(cards.nth(i).locator(".simlib-pf-total")).to_contain_text(
            units.amount(o.quote.total_cents / 100, unit=True)
        )
        expect(cards.nth(i)).to_contain_text(o.title(lang))
    _no_leaks(page)
    shot("options")

    # choose one, save
    chosen = want.options[0]
    page.locator(".simlib-pf-choose label", has_text=chosen.title(lang)).click()
    page.locator("button.simlib-pf-save").click()
    done = page.locator(".simlib-pf-done")
    expect(done).to_contain_text("已保存" if zh else "Saved")
    expect(done).to_contain_text(f"-{lang}.html")
    saved = list((form_server.root / "proposals").glob(f"*-{lang}.html"))
    assert saved, "no document saved"
    assert list((form_server.root / "proposals").glob("proposal-*.csv"))
    _no_leaks(page)
    shot("saved")

    # a change blanks the options (no stale numbers)
    _fill(page, "size", "60")
    expect(options).to_be_empty()
    expect(page.locator("button.simlib-pf-save")).to_be_disabled()
    page.watch.check()

"""The commission lab's Solve panel in a real browser (Voilà, Chromium, 1440×900).

"What rate keeps cost of sales at 1.2%?" as a user asks it (issue 16, SPEC R23): type
1.2 as the target cost of sales, Solve, read the answer in words, Apply, and read 1.20%
on the cost card; then a target out of range (60%) said next to the box, and a target
no rate can reach under a cap said with the range that can be reached. A headless twin
of the app on the same trials gives what the page must say. Screenshots in zh-CN and
English.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = "commission_whatif.ipynb"
LAB = ".simlib-commission-lab"

LEAKS = re.compile(
    r"internal error|Traceback|LabView\(|LabContext\(|SolveAnswer\(|Solution\(|\{'|\bNaN\b"
    r"|\bnan\b|\bNone\b|tiers\[\d\]|multipliers\[|got -|cost_of_sales|solve_rate"
)


@pytest.fixture(scope="module")
def trials(voila_server):
    """The lab's trials as the served notebook makes them (demo company, 2026-Q4 as of
    2026-11-20, seed 7)."""
    from simlib.apps.commission_lab import trials_record
    from simlib.data import load_demo
    from simlib.simulate import simulate

    data = load_demo()
    sim = simulate(data, "2026-Q4", dt.date(2026, 11, 20), n_trials=voila_server.n_trials, seed=7)
    return trials_record(sim)


def _twin(rec, lang):
    from simlib.apps.commission_lab import CommissionLab, LabContext

    lab = CommissionLab(LabContext.from_record(rec, lang=lang), lang=lang, charts=False)
    lab.show()
    return lab


def _type(page, cls: str, value) -> None:
    box = page.locator(f"{LAB} .{cls} input")
    box.fill(str(value))
    box.press("Enter")


def _no_leaks(page) -> None:
    text = page.locator("body").inner_text()
    leak = LEAKS.search(text)
    assert leak is None, (
        f"{leak.group(0)!r} on the page:\n{text[max(0, leak.start() - 200) :][:400]}"
    )


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_solve_for_a_cost_of_sales_and_apply(voila_server, page, trials, screenshot_dir, lang):
    from simlib.present import pct

    def shot(name):
        path = screenshot_dir / f"lab-solve-{lang}-{name}.png"
        page.screenshot(path=str(path))
        print(f"screenshot: {path}")

    page.goto(voila_server.url)  # the _xsrf cookie
    page.goto(
        f"{voila_server.url}voila/render/{NOTEBOOK}?lang={lang}", timeout=voila_server.render_ms
    )
    page.locator(f"{LAB} .simlib-chart-cost img, {LAB} img.simlib-chart-cost").first.wait_for(
        timeout=voila_server.render_ms
    )
    lab = _twin(trials, lang)
    panel = page.locator(f"{LAB} .simlib-solve-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("求解" if lang == "zh-CN" else "Solve")
    cost = page.locator(f"{LAB} .simlib-cost-of-sales b")
    p50 = page.locator(f"{LAB} .simlib-budget-p50 b")
    answer = page.locator(f"{LAB} .simlib-solve-answer")
    apply_ = page.locator(f"{LAB} button.simlib-solve-apply")
    error = page.locator(f"{LAB} .simlib-solve-error")

    # a target out of range: said next to the box, in the user's words and as typed
    _type(page, "simlib-solve-value", 60)
    expect(error).to_contain_text("60%")
    expect(error).to_contain_text("小于 50%" if lang == "zh-CN" else "below 50%")
    shot("invalid")

    # "what rate keeps cost of sales at 1.2%?"
    _type(page, "simlib-solve-value", 1.2)
    expect(error).to_be_empty()
    want = lab.solve("rates", "cost_of_sales", 0.012)
    assert want.ok
    page.locator(f"{LAB} button.simlib-solve").click()
    expect(answer).to_have_text(want.text)
    expect(apply_).to_be_visible()
    _no_leaks(page)
    shot("answer")

    apply_.click()
    lab.apply(want)
    expect(cost).to_have_text("1.20%")
    expect(cost).to_have_text(pct(lab.view.cost_of_sales, 2))
    expect(p50).to_have_text(lab.units.amount(lab.view.budget_p50, unit=True))
    expect(page.locator(f"{LAB} .simlib-solve-applied")).to_be_visible()
    expect(apply_).to_be_hidden()
    rate0 = page.locator(f"{LAB} .simlib-rate-0 input")
    assert float(rate0.input_value()) == pytest.approx(lab.controls["rate_0"].value, rel=1e-9)
    page.wait_for_timeout(300)
    _no_leaks(page)
    shot("applied")

    # a cap no rate can get past: the answer says the range that can be reached
    cap = 3 if lang == "zh-CN" else 30  # 30,000 in the page's unit
    _type(page, "simlib-cap", cap)
    lab.controls["cap"].value = cap
    expect(answer).to_be_empty()  # the last answer is stale: gone
    _type(page, "simlib-solve-value", 20)
    lab.solve_controls["solve_value"].value = 20.0
    want = lab.solve("rates", "cost_of_sales", 0.2)
    assert not want.ok
    page.locator(f"{LAB} button.simlib-solve").click()
    expect(answer).to_have_text(want.text)
    expect(apply_).to_be_hidden()
    _no_leaks(page)
    shot("unreachable")
    page.watch.check()

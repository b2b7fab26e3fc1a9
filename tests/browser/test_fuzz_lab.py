"""A control fuzzer for the commission lab in a real browser (Voilà, Chromium, 1440×900).

For each language the lab is opened as a user opens it (``?lang=``), then a seeded random
sequence of control changes is typed in, valid and invalid (a negative rate, bands out of
order, a pool over 100%, one band: a flat rate, no pay at all...). The same changes go
to a headless twin of the app built in this process on the same trials; after each step
the page must show what simlib computes for that state (cost of sales and the P50 budget
in the page's units) or, for an invalid state, the twin's message next to the control
with every view blanked; and never an internal error, a traceback, a Python repr, NaN or
None, or a broken image. Screenshots of a valid, an invalid and a flat-rate state in
both languages are kept.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = "commission_whatif.ipynb"
STEPS = 10  # per language, after the scripted opening moves

#: Text that must never be on the page.
LEAKS = re.compile(
    r"internal error|Traceback|LabView\(|LabContext\(|PlanSpec\(|\{'|\bNaN\b|\bnan\b|\bNone\b"
    r"|lab\.save\(|from_demo\(|tiers\[\d\]|got -"
)

BROKEN_IMAGES = """() => [...document.querySelectorAll('.simlib-commission-lab img')]
  .filter(i => i.offsetParent !== null && (!i.getAttribute('src') ||
               (i.complete && i.naturalWidth === 0))).length"""


@pytest.fixture(scope="module")
def trials(voila_server):
    """The lab's trials as the served notebook makes them (demo company, 2026-Q4 as of
    2026-11-20, seed 7), as a plain record."""
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


# --------------------------------------------------------------------------- moves


def _moves(rng: random.Random, lab) -> list[tuple[str, object]]:
    """A random control change for the twin's current controls: (control key, value)."""
    c = lab.controls
    nb = c["n_bands"].value
    typed = {
        "rate": [0, 0.5, 1.5, 2.5, 8, -1, -0.5, 150],
        "threshold": [50, 100, 150, 300, -20, 1],
        "cap": [0, 20, 150, -5],
        "gate": [0, 40, 80, -10],
        "pool": [0, 2, 5, 120, -1],
    }
    kind = rng.choice(
        ["rate", "rate", "threshold", "n_bands", "mode", "cap", "gate", "pool", "n_multipliers",
         "plan", "curve_rep"]
    )  # fmt: skip
    if kind == "rate":
        return [(f"rate_{rng.randrange(nb)}", rng.choice(typed["rate"]))]
    if kind == "threshold" and nb > 1:
        return [(f"threshold_{rng.randrange(1, nb)}", rng.choice(typed["threshold"]))]
    if kind in ("cap", "gate", "pool"):
        return [(kind, rng.choice(typed[kind]))]
    if kind == "n_bands":
        return [("n_bands", rng.choice([1, 2, 3, 4]))]
    if kind == "n_multipliers":
        return [("n_multipliers", rng.choice([0, 1, 2]))]
    if kind == "mode":
        return [("mode", "retroactive" if c["mode"].value == "marginal" else "marginal")]
    if kind == "plan":
        return [("plan", rng.choice([v for _, v in c["plan"].options]))]
    if kind == "curve_rep":
        return [("curve_rep", rng.choice([v for _, v in c["curve_rep"].options][:8]))]
    return [("rate_0", rng.choice(typed["rate"]))]


def _js_number(x) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _apply(page, lab, key: str, value) -> None:
    """The change typed in the page and set on the twin."""
    from simlib.apps.commission_lab import css_class

    ctl = lab.controls[key]
    sel = f".simlib-commission-lab .{css_class(key)}"
    if key in ("plan", "curve_rep"):
        label = next(lab_ for lab_, v in ctl.options if v == value)
        page.locator(f"{sel} select").select_option(label=label)
    elif key == "mode":
        label = next(lab_ for lab_, v in ctl.options if v == value)
        page.locator(f"{sel} button", has_text=label).click()
    else:
        box = page.locator(f"{sel} input")
        box.fill(_js_number(value))
        box.press("Enter")
    ctl.value = value


# --------------------------------------------------------------------------- checks


def _check(page, lab) -> str:
    """The page shows what the twin shows; returns "valid" or "invalid"."""
    from simlib.apps.commission_lab import compute
    from simlib.present import pct

    cost = page.locator(".simlib-commission-lab .simlib-cost-of-sales b")
    p50 = page.locator(".simlib-commission-lab .simlib-budget-p50 b")
    if lab.errors:
        expect(page.locator(".simlib-commission-lab .simlib-message")).not_to_be_empty()
        for row, msg in lab.errors.items():
            if msg and row != "plan":
                expect(page.locator(f".simlib-error-{row.replace('_', '-')}")).to_have_text(msg)
        expect(cost).to_have_text("—")
        expect(page.locator(".simlib-lab-results")).to_be_hidden()
        for k in ("chart-curve", "chart-cost", "chart-reps"):
            expect(page.locator(f".simlib-commission-lab .simlib-{k}")).to_be_hidden()
        state = "invalid"
    else:
        view = compute(lab.state, lab.context)  # simlib's own numbers for this state
        assert view.ok, view.error
        expect(cost).to_have_text(pct(view.cost_of_sales, 2))
        expect(p50).to_have_text(lab.units.amount(view.budget_p50, unit=True))
        expect(page.locator(".simlib-commission-lab .simlib-message")).to_be_empty()
        expect(page.locator(".simlib-lab-results")).to_be_visible()
        img = page.locator(".simlib-commission-lab .simlib-chart-cost")
        expect(img).to_be_visible()
        state = "valid"
    text = page.locator("body").inner_text()
    leak = LEAKS.search(text)
    assert leak is None, (
        f"{leak.group(0)!r} on the page:\n{text[max(0, leak.start() - 200) :][:400]}"
    )
    page.wait_for_timeout(150)  # a new picture decodes
    assert page.evaluate(BROKEN_IMAGES) == 0, "a broken image on the page"
    return state


def _no_latin_labels(page, lang: str) -> None:
    """In zh-CN, the control labels are Chinese (no English developer words)."""
    if lang != "zh-CN":
        return
    labels = page.locator(".simlib-commission-lab .widget-label").all_inner_texts()
    for t in labels:
        assert not re.search(r"[A-Za-z]{3,}", t), t


# --------------------------------------------------------------------------- the test


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_fuzz_commission_lab(voila_server, page, trials, screenshot_dir, lang):
    def shot(name):
        path = screenshot_dir / f"lab-{lang}-{name}.png"
        page.screenshot(path=str(path))
        print(f"screenshot: {path}")

    page.goto(voila_server.url)  # the _xsrf cookie (kernel shut down on leaving)
    page.goto(
        f"{voila_server.url}voila/render/{NOTEBOOK}?lang={lang}",
        timeout=voila_server.render_ms,
    )
    page.locator(".simlib-commission-lab .simlib-chart-cost img, "
                 ".simlib-commission-lab img.simlib-chart-cost").first.wait_for(
        timeout=voila_server.render_ms
    )  # fmt: skip
    lab = _twin(trials, lang)
    title = "提成方案模拟实验室" if lang == "zh-CN" else "Commission what-if lab"
    expect(page.locator(".simlib-lab-title h2")).to_have_text(title)
    assert _check(page, lab) == "valid"
    _no_latin_labels(page, lang)
    shot("start")
    page.locator(".simlib-commission-lab .simlib-chart-reps").scroll_into_view_if_needed()
    shot("start-lower")
    page.locator(".simlib-lab-title").scroll_into_view_if_needed()

    # scripted: a flat rate (one band), then nothing paid, then a negative rate
    for key, value in (("n_bands", 1), ("rate_0", 3)):
        _apply(page, lab, key, value)
    assert _check(page, lab) == "valid"
    page.wait_for_timeout(300)
    shot("flat-rate")
    _apply(page, lab, "rate_0", 0)
    assert _check(page, lab) == "valid"
    _apply(page, lab, "rate_0", -1)
    assert _check(page, lab) == "invalid"
    assert "−1%" in lab.errors["band_0"]
    shot("invalid")
    _apply(page, lab, "rate_0", 1.5)
    assert _check(page, lab) == "valid"

    rng = random.Random(f"lab-{lang}-20261120")
    seen = set()
    for _ in range(STEPS):
        for key, value in _moves(rng, lab):
            _apply(page, lab, key, value)
        seen.add(_check(page, lab))
    assert seen, "no step was checked"
    page.watch.check()

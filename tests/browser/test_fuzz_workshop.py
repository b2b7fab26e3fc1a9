"""A control fuzzer for the Q4 target workshop in a real browser (Voilà, Chromium, 1440×900).

For each language the workshop is opened as a user opens it (``?lang=``), then a seeded
random sequence of control changes is made, valid and invalid (a negative or zero company
number, a cap below the floor, every method weight 0, a floor the company number cannot
meet...). The same changes go to a headless twin of the app built in this process on the
same trials; after each step the page must show what simlib computes for that state (the
headline cards, in the page's units) or, for an invalid state, the twin's message under
the control with the results hidden; and never an internal error, a traceback, a Python
repr, NaN or None, an id, or a broken image. Screenshots of a valid and an invalid state
in both languages are kept.
"""

from __future__ import annotations

import random
import re

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = "q4_target_workshop.ipynb"
STEPS = 10  # per language, after the scripted opening moves
ROOT = ".simlib-target-workshop"

#: Text that must never be on the page.
LEAKS = re.compile(
    r"internal error|Traceback|WorkshopView\(|Allocation\(|Scenario\(|\{'|\bNaN\b|\bnan\b"
    r"|\bNone\b|got -|growth\.floor|growth\.cap"
    r"|(?<![\w-])(?:R-[A-Z]{2,}|T-[A-Z]{2,}|S\d{3})(?![\w-])"
)
BROKEN_IMAGES = f"""() => [...document.querySelectorAll('{ROOT} img')]
  .filter(i => i.offsetParent !== null && (!i.getAttribute('src') ||
               (i.complete && i.naturalWidth === 0))).length"""


@pytest.fixture(scope="module")
def cache(voila_server):
    """History and trials as the served notebook makes them (the demo company)."""
    from simlib.data import load_demo
    from simlib.targets import TargetCache

    return TargetCache(load_demo())


def _twin(cache, lang, n_trials):
    from simlib.apps.target_workshop import TargetWorkshop
    from simlib.targets.scenario import load_scenario

    app = TargetWorkshop(
        cache, load_scenario("baseline_2027"), n_trials=n_trials, seed=0, lang=lang, charts=False
    )
    app.show()
    return app


# --------------------------------------------------------------------------- moves

SLIDERS = {  # typed into the slider's readout, in %
    "floor": [-20, -10, 0, 5, 40],
    "cap": [-20, 10, 30, 60, 120],
    "uplift_rep": [0, 3, 8],
    "uplift_team": [0, 2, 5],
    "growth": [-10, 15, 30, 60],
}
WEIGHTS = ["weight_historical", "weight_potential", "weight_equal", "weight_capacity"]


def _move(rng: random.Random, app) -> list[tuple[str, object]]:
    c = app.controls_
    kind = rng.choice(
        ["target", "target", "slider", "slider", "weights_zero", "weight", "view", "wall",
         "fair", "mode"]
    )  # fmt: skip
    if kind == "target":
        unit = 1e4 if app.lang == "zh-CN" else 1e6
        base = 1.57e9 / unit
        return [("target_mode", "amount"), ("company_target", rng.choice(
            [-5, 0, round(base * 0.9, 1), round(base * 1.1, 1), round(base * 1.3, 1)]
        ))]  # fmt: skip
    if kind == "slider":
        key = rng.choice(list(SLIDERS))
        moves = [("target_mode", "growth")] if key == "growth" else []
        return moves + [(key, float(rng.choice(SLIDERS[key])))]
    if kind == "weights_zero":
        return [(k, 0.0) for k in WEIGHTS]
    if kind == "weight":
        return [(rng.choice(WEIGHTS), rng.choice([0.1, 0.5, 1.0]))]
    if kind == "view":
        return [("view", rng.choice([v for _, v in c["view"].options]))]
    if kind == "wall":
        return [("wall", rng.choice([v for _, v in c["wall"].options]))]
    if kind == "fair":
        return [("fair_quotas", not c["fair_quotas"].value)]
    return [("target_mode", rng.choice(["amount", "growth"]))]


def _js_number(x) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _apply(page, app, key: str, value) -> None:
    """The change made in the page and on the twin."""
    from simlib.apps.target_workshop import css_class

    ctl = app.controls_[key]
    if ctl.value == value:
        return
    sel = f"{ROOT} .{css_class(key)}"
    if key in ("view", "focus_region"):
        label = next(lab for lab, v in ctl.options if v == value)
        page.locator(f"{sel} select").select_option(label=label)
    elif key in ("target_mode", "wall"):
        label = next(lab for lab, v in ctl.options if v == value)
        page.locator(f"{sel} button", has_text=label).first.click()
    elif key == "fair_quotas":
        page.locator(f"{sel} input").set_checked(bool(value))
    elif key == "company_target":
        box = page.locator(f"{sel} input")
        box.fill(_js_number(value))
        box.press("Enter")
    else:  # a slider: type into its readout
        readout = page.locator(f"{sel} .widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(_js_number(value))
        page.keyboard.press("Enter")
    ctl.value = value


# --------------------------------------------------------------------------- checks


def _check(page, app) -> str:
    """The page shows what the twin shows; returns "valid" or "invalid"."""
    from simlib.views.workshop import headline_items

    v = app.view
    results = page.locator(f"{ROOT} .simlib-results")
    if not v.ok:
        for key, _msg in v.problems:
            box = f"err_{key}" if f"err_{key}" in app.outputs else "err_scenario"
            want = re.sub(r"<[^>]+>", "", app.outputs[box].value)
            expect(page.locator(f"{ROOT} .simlib-{box.replace('_', '-')}")).to_have_text(want)
        expect(results).to_be_hidden()
        state = "invalid"
    else:
        expect(results).to_be_visible()
        for key, _label, value, _s in headline_items(v.allocation, app.lang):
            if key in ("company_target", "probability", "over_assignment"):
                card = page.locator(f"{ROOT} .simlib-card-{key.replace('_', '-')} .v")
                expect(card).to_have_text(value)
        expect(page.locator(f"{ROOT} .simlib-message")).to_have_text("")
        state = "valid"
    text = page.locator("body").inner_text()
    leak = LEAKS.search(text)
    assert leak is None, (
        f"{leak.group(0)!r} on the page:\n{text[max(0, leak.start() - 200) :][:400]}"
    )
    page.wait_for_timeout(150)
    assert page.evaluate(BROKEN_IMAGES) == 0, "a broken image on the page"
    return state


# --------------------------------------------------------------------------- the test


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_fuzz_target_workshop(voila_server, page, cache, screenshot_dir, lang):
    def shot(name):
        path = screenshot_dir / f"workshop-{lang}-{name}.png"
        page.screenshot(path=str(path))
        print(f"screenshot: {path}")

    page.goto(voila_server.url)  # the _xsrf cookie (kernel shut down on leaving)
    page.goto(
        f"{voila_server.url}voila/render/{NOTEBOOK}?lang={lang}",
        timeout=voila_server.render_ms,
    )
    page.locator(f"{ROOT} .simlib-card").first.wait_for(timeout=voila_server.render_ms)
    app = _twin(cache, lang, voila_server.n_trials)
    title = "第四季度目标研讨会" if lang == "zh-CN" else "Q4 target workshop"
    expect(page.locator(f"{ROOT} .simlib-title")).to_have_text(title)
    assert _check(page, app) == "valid"
    shot("start")

    # scripted: a negative company number, then a cap below the floor, then back
    _apply(page, app, "company_target", -5)
    assert _check(page, app) == "invalid"
    assert re.search(r"-¥?5\.0", app.outputs["err_company_target"].value)  # as typed
    shot("invalid")
    _apply(page, app, "company_target", 1.57e9 / app.unit)
    assert _check(page, app) == "valid"
    _apply(page, app, "cap", -20.0)
    assert _check(page, app) == "invalid"
    _apply(page, app, "cap", 60.0)
    assert _check(page, app) == "valid"

    rng = random.Random(f"workshop-{lang}-20261204")
    seen = set()
    for _ in range(STEPS):
        for key, value in _move(rng, app):
            _apply(page, app, key, value)
        seen.add(_check(page, app))
    assert seen
    page.watch.check()

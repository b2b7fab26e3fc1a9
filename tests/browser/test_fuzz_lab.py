"""A control fuzzer for the commission lab in a real browser (Voilà, Chromium, 1440×900).

For each language the lab is opened as a user opens it (``?lang=``), then a seeded random
sequence of control changes is typed in, valid and invalid (a negative rate, bands out of
order, a pool over 100%, one band: a flat rate, no pay at all, a negative entry bonus,
an accelerator threshold with no accelerator, a band's amount wider than the band...).
The same changes go to a headless twin of the app built in this process on the same
trials; after each step the page must show what simlib computes for that state (cost of
sales and the P50 budget in the page's units) or, for an invalid state, the twin's
message next to the control with every view blanked; and never an internal error, a
traceback, a Python repr, NaN or None, or a broken image.

The lab is served with one more plan beside the shipped ones, ``new_terms`` (a band
stated as an amount, entry bonuses, overage accelerators, an accelerator threshold), so
the fuzzer starts from it too. Screenshots of a valid, an invalid, a flat-rate state and
the plan with the new terms, in both languages, are kept.

The Solve panel (issue 16, SPEC R23) is in the fuzz too: a random thing to solve (every
rate, one band, an accelerator, the gate), a target (cost of sales or a budget; in range,
out of range, unreachable under a cap) and Solve, then sometimes Apply; the page must
say the twin's answer or the twin's message next to the box, and after Apply show the
solved plan's numbers on the cards.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = "commission_whatif.ipynb"
STEPS = 10  # per language, after the scripted opening moves

#: The plan with every new term the lab edits, served beside the shipped plans.
NEW_TERMS_YAML = """\
description: Entry bonuses and accelerators above quota
label_zh: 进档奖励与超额加速提成
currency: CNY
period: quarter
measure: revenue
basis: amount
mode: marginal
tiers:
  - {threshold: 0, amount: 10000}       # 10,000 for the whole first band (1%)
  - {threshold: 1000000, rate: 0.015, entry_bonus: 5000}
  - {threshold: 3000000, rate: 0.02, entry_bonus: 10000}
multipliers:
  - {threshold: 0, factor: 1}
  - {threshold: 1.0, factor: 1.5}
  - {threshold: 1.5, factor: 2}
multiplier_mode: overage
accelerator_gate: {min_attainment: 1.1}
"""

#: Text that must never be on the page.
LEAKS = re.compile(
    r"internal error|Traceback|LabView\(|LabContext\(|PlanSpec\(|\{'|\bNaN\b|\bnan\b|\bNone\b"
    r"|lab\.save\(|from_demo\(|tiers\[\d\]|got -"
)

BROKEN_IMAGES = """() => [...document.querySelectorAll('.simlib-commission-lab img')]
  .filter(i => i.offsetParent !== null && (!i.getAttribute('src') ||
               (i.complete && i.naturalWidth === 0))).length"""


@pytest.fixture(scope="module")
def params_dir(tmp_path_factory):
    """A copy of ``params/`` with the plan of the new terms added."""
    from simlib.config import default_params_dir

    d = tmp_path_factory.mktemp("lab-params") / "params"
    shutil.copytree(default_params_dir(), d)
    (d / "plans" / "new_terms.yaml").write_text(NEW_TERMS_YAML, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def lab_voila(tmp_path_factory, params_dir):
    """Voilà (as ``voila_server``) serving the lab with ``params_dir`` as its params."""
    from simlib.apps.server import voila_command
    from tests.browser.conftest import free_port, small_copy, start_server

    base = tmp_path_factory.mktemp("lab-voila")
    root = small_copy([NOTEBOOK], base / "notebooks")
    env = {**os.environ, "SIMLIB_CACHE_DIR": str(base / "cache"), "SIMLIB_PARAMS": str(params_dir)}
    for name in ("SIMLIB_APP_SOURCE", "SIMLIB_APP_MAPPING"):  # the demo company
        env.pop(name, None)
    port = free_port()
    cmd = voila_command(port, root=root, extra=["--Voila.log_level=INFO"])
    server = start_server("voila (lab)", cmd, port, base / "voila.log", root, env=env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def trials(lab_voila):
    """The lab's trials as the served notebook makes them (demo company, 2026-Q4 as of
    2026-11-20, seed 7), as a plain record."""
    from simlib.apps.commission_lab import trials_record
    from simlib.data import load_demo
    from simlib.simulate import simulate

    data = load_demo()
    sim = simulate(data, "2026-Q4", dt.date(2026, 11, 20), n_trials=lab_voila.n_trials, seed=7)
    return trials_record(sim)


def _twin(rec, lang, params_dir):
    from simlib.apps.commission_lab import CommissionLab, LabContext, shipped_plans

    plans, _ = shipped_plans("CNY", "quarter", params_dir)
    ctx = LabContext.from_record(rec, lang=lang, plans=plans)
    lab = CommissionLab(ctx, lang=lang, charts=False)
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
        "bonus": [0, 0.5, 1, 3, -2],  # the page's unit (万 / k)
        "amount": [0, 0.5, 1, 2, 500, -1],
        "acc_gate": [0, 100, 110, 130, -10],
    }
    kind = rng.choice(
        ["rate", "rate", "threshold", "n_bands", "mode", "cap", "gate", "pool", "n_multipliers",
         "plan", "curve_rep", "bonus", "bonus", "amount", "acc_gate", "multiplier_mode",
         "solve", "solve", "solve"]
    )  # fmt: skip
    if kind == "solve":
        what = rng.choice([v for _, v in lab.solve_controls["solve_what"].options])
        aim = rng.choice(["cost_of_sales", "cost_of_sales", "budget"])
        if what == "gate":
            value = rng.choice([50, 80, 95, 120, -5])
        elif aim == "budget":
            value = rng.choice([50, 300, 2000, -3])  # the page's unit (万 / k)
        else:
            value = rng.choice([0.8, 1.2, 1.2, 2.5, 20, 60, -1])
        moves = [("@solve", (what, aim, value))]
        if rng.random() < 0.6:
            moves.append(("@apply", None))
        return moves
    amount_rows = [i for i in range(nb) if lab._amount_rows[i]]
    if kind == "rate":
        rows = [i for i in range(nb) if not lab._amount_rows[i]]
        if rows:
            return [(f"rate_{rng.choice(rows)}", rng.choice(typed["rate"]))]
        kind = "amount"
    if kind == "threshold" and nb > 1:
        return [(f"threshold_{rng.randrange(1, nb)}", rng.choice(typed["threshold"]))]
    if kind == "bonus" and nb > 1:  # band 1 has no entry bonus
        return [(f"bonus_{rng.randrange(1, nb)}", rng.choice(typed["bonus"]))]
    if kind == "amount" and amount_rows:
        return [(f"amount_{rng.choice(amount_rows)}", rng.choice(typed["amount"]))]
    if kind in ("cap", "gate", "pool", "acc_gate"):
        return [(kind, rng.choice(typed[kind]))]
    if kind == "n_bands":
        return [("n_bands", rng.choice([1, 2, 3, 4]))]
    if kind == "n_multipliers":
        return [("n_multipliers", rng.choice([0, 1, 2, 3]))]
    if kind == "mode":
        return [("mode", "retroactive" if c["mode"].value == "marginal" else "marginal")]
    if kind == "multiplier_mode":
        others = [v for _, v in c["multiplier_mode"].options if v != c["multiplier_mode"].value]
        return [("multiplier_mode", rng.choice(others))]
    if kind == "plan":
        return [("plan", rng.choice([v for _, v in c["plan"].options]))]
    if kind == "curve_rep":
        return [("curve_rep", rng.choice([v for _, v in c["curve_rep"].options][:8]))]
    return [("rate_0", rng.choice(typed["rate"]))]


def _js_number(x) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _solve(page, lab, what: str, aim: str, value) -> None:
    """The Solve panel used in the page and on the twin: what, aim, target, Solve."""
    s = lab.solve_controls
    panel = ".simlib-commission-lab .simlib-solve-panel"
    if s["solve_what"].value != what:
        label = next(lab_ for lab_, v in s["solve_what"].options if v == what)
        page.locator(f"{panel} .simlib-solve-what select").select_option(label=label)
        s["solve_what"].value = what
    if what != "gate" and s["solve_aim"].value != aim:
        label = next(lab_ for lab_, v in s["solve_aim"].options if v == aim)
        page.locator(f"{panel} .simlib-solve-aim button", has_text=label).click()
        s["solve_aim"].value = aim
    # the kernel sets a default target on a new choice: wait for it before typing
    box = page.locator(f"{panel} .simlib-solve-value input")
    expect(box).to_have_value(_js_number(s["solve_value"].value))
    box.fill(_js_number(value))
    box.press("Enter")
    s["solve_value"].value = value
    page.locator(f"{panel} button.simlib-solve").click()
    s["solve"].click()


def _apply(page, lab, key: str, value) -> None:
    """The change typed in the page and set on the twin."""
    from simlib.apps.commission_lab import css_class

    if key == "@solve":
        return _solve(page, lab, *value)
    if key == "@apply":
        if lab.solve_controls["solve_apply"].layout.display != "none":
            page.locator(".simlib-commission-lab button.simlib-solve-apply").click()
            lab.solve_controls["solve_apply"].click()
        return
    ctl = lab.controls[key]
    sel = f".simlib-commission-lab .{css_class(key)}"
    if key in ("plan", "curve_rep"):
        label = next(lab_ for lab_, v in ctl.options if v == value)
        page.locator(f"{sel} select").select_option(label=label)
    elif key in ("mode", "multiplier_mode"):
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
    # the Solve panel says what the twin's says (or nothing, when the twin's is cleared)
    answer = page.locator(".simlib-commission-lab .simlib-solve-answer")
    said = re.sub(r"<[^>]+>", "", lab.solve_outputs["solve_answer"].value)
    said = said.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    if lab.solved is not None:
        expect(answer).to_contain_text(lab.solved.text)
    elif not said:
        expect(answer).to_be_empty()
    error = page.locator(".simlib-commission-lab .simlib-solve-error")
    msg = re.sub(r"<[^>]+>", "", lab.solve_outputs["solve_error"].value)
    if msg:
        expect(error).to_have_text(msg)
    else:
        expect(error).to_be_empty()
    expect(page.locator(".simlib-commission-lab button.simlib-solve-apply")).to_be_visible(
        visible=lab.solve_controls["solve_apply"].layout.display != "none"
    )
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
def test_fuzz_commission_lab(lab_voila, params_dir, page, trials, screenshot_dir, lang):
    def shot(name):
        path = screenshot_dir / f"lab-{lang}-{name}.png"
        page.screenshot(path=str(path))
        print(f"screenshot: {path}")

    page.goto(lab_voila.url)  # the _xsrf cookie (kernel shut down on leaving)
    page.goto(
        f"{lab_voila.url}voila/render/{NOTEBOOK}?lang={lang}",
        timeout=lab_voila.render_ms,
    )
    page.locator(".simlib-commission-lab .simlib-chart-cost img, "
                 ".simlib-commission-lab img.simlib-chart-cost").first.wait_for(
        timeout=lab_voila.render_ms
    )  # fmt: skip
    lab = _twin(trials, lang, params_dir)
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

    # scripted: the plan with every new term, then a bad entry bonus and a bad threshold
    page.locator(".simlib-lab-title").scroll_into_view_if_needed()
    _apply(page, lab, "plan", "new_terms")
    assert _check(page, lab) == "valid"
    expect(page.locator(".simlib-commission-lab .simlib-amount-0 input")).to_be_visible()
    expect(page.locator(".simlib-commission-lab .simlib-rate-0 input")).to_be_hidden()
    note = "整档金额" if lang == "zh-CN" else "amount for the band"
    expect(page.locator(".simlib-commission-lab .simlib-note-0")).to_contain_text(note)
    overage = "仅超额部分" if lang == "zh-CN" else "Above quota only"
    expect(
        page.locator(".simlib-commission-lab .simlib-multiplier-mode button", has_text=overage)
    ).to_have_class(re.compile(r"mod-active"))
    page.wait_for_timeout(300)
    shot("new-terms")
    page.locator(".simlib-commission-lab .simlib-flags").scroll_into_view_if_needed()
    shot("new-terms-curve")
    page.locator(".simlib-commission-lab .simlib-compare-table").scroll_into_view_if_needed()
    shot("new-terms-compare")
    page.locator(".simlib-lab-title").scroll_into_view_if_needed()
    _apply(page, lab, "bonus_1", -2)
    assert _check(page, lab) == "invalid"
    assert "−" in lab.errors["band_1"]
    shot("new-terms-invalid")
    _apply(page, lab, "bonus_1", 1)
    _apply(page, lab, "acc_gate", -10)
    assert _check(page, lab) == "invalid"
    _apply(page, lab, "acc_gate", 120)
    assert _check(page, lab) == "valid"

    # scripted: "what rate keeps cost of sales at 1.2%?" on the new terms, applied
    _apply(page, lab, "@solve", ("rates", "cost_of_sales", 1.2))
    assert lab.solved is not None and lab.solved.ok, lab.solve_outputs["solve_answer"].value
    assert _check(page, lab) == "valid"
    _apply(page, lab, "@apply", None)
    assert _check(page, lab) == "valid"
    expect(page.locator(".simlib-commission-lab .simlib-cost-of-sales b")).to_have_text("1.20%")
    page.wait_for_timeout(300)
    shot("solved")

    rng = random.Random(f"lab-{lang}-20261120")
    seen = set()
    solves = []
    for _ in range(STEPS):
        for key, value in _moves(rng, lab):
            _apply(page, lab, key, value)
            if key.startswith("@"):
                solves.append((key, value))
        seen.add(_check(page, lab))
    assert seen, "no step was checked"
    print(f"{lang}: solver moves {solves}")
    assert any(k == "@solve" for k, _ in solves), "the fuzz never used the Solve panel"
    page.watch.check()

"""The three widget apps in a real browser, served by ``simlib.apps.server`` (Voilà).

Each test opens one notebook as the app, changes its main controls the way a person
does (a number box, a slider by keyboard and by typing in its readout, a toggle, a
dropdown, a checkbox), and checks that the numbers shown are the ones the app's pure
``compute`` gives in this process for the same controls on the same trials, formatted
by the app's own formatting. No console error and no request off 127.0.0.1 is allowed
(see ``conftest.STUBBED_EXTERNAL`` for the one stubbed stylesheet).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


def open_app(page, server, notebook: str, root_class: str) -> None:
    """Render ``notebook`` (a fresh kernel runs it) and wait for the app's root widget.

    The notebook list is visited first, as a person does: it sets the _xsrf cookie
    without which Voilà cannot shut the page's kernel down when the page is left."""
    page.goto(server.url)
    page.goto(f"{server.url}voila/render/{notebook}", timeout=server.render_ms)
    page.locator(f".{root_class}").wait_for(timeout=server.render_ms)
    # Voilà shows the outputs of code cells, never their source
    assert page.locator(".jp-CodeCell").count() > 0
    assert (
        page.locator(".jp-CodeCell:not(.jp-mod-noInput), .jp-CodeCell .jp-InputArea").count() == 0
    )
    assert "from_demo(" not in page.content()


def shot(page, screenshot_dir, name: str) -> None:
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def js_number(x: float) -> str:
    """A float as an ``<input type=number>`` shows it."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# --------------------------------------------------------------------------- expected values


def _lab_context(demo, n_trials):
    """The commission lab's trials as ``CommissionLab.open`` makes them in the served
    notebook (the demo company's 2026-Q4 as of 2026-11-20, seed 7), names in English."""
    from simlib.apps.commission_lab import LabContext
    from simlib.simulate import simulate

    sim = simulate(demo, "2026-Q4", dt.date(2026, 11, 20), n_trials=n_trials, seed=7)
    return LabContext.from_simulation(sim, lang="en")


def _workshop(demo, n_trials):
    """The workshop as the notebook builds it (baseline_2027, seed 0, zh-CN), headless."""
    from simlib.apps.target_workshop import TargetWorkshop
    from simlib.targets import TargetCache
    from simlib.targets.scenario import load_scenario

    return TargetWorkshop(
        TargetCache(demo),
        load_scenario("baseline_2027"),
        n_trials=n_trials,
        seed=0,
        lang="zh-CN",
        charts=False,
    )


def _dashboard_context(demo):
    from simlib.apps.tracking_dashboard import DashboardContext

    ctx = DashboardContext.from_facts(demo)
    _ = ctx.alerts  # checked once, here rather than in the test
    return ctx


@pytest.fixture(scope="module", autouse=True)
def expected(browser, voila_server) -> dict[str, Future]:
    """The apps' contexts, built in this process on a background thread while the browser
    waits for Voilà's kernels (they take as long again; the machine has two cores)."""
    from simlib.data import load_demo

    n = voila_server.n_trials
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="expected")
    demo = pool.submit(load_demo)
    jobs = {
        "lab": pool.submit(lambda: _lab_context(demo.result(), n)),
        "workshop": pool.submit(lambda: _workshop(demo.result(), n)),
        "dashboard": pool.submit(lambda: _dashboard_context(demo.result())),
    }
    yield jobs
    pool.shutdown(cancel_futures=True)


# --------------------------------------------------------------------------- the tree page


def test_front_page_lists_the_apps_by_title(voila_server, page):
    from simlib.apps.landing import app_titles
    from simlib.apps.server import NOTEBOOKS
    from simlib.company import default_language

    page.goto(voila_server.url)
    for name, title in zip(NOTEBOOKS, app_titles(default_language())):
        link = page.locator(f"a[href^='/voila/render/{name}']")
        expect(link).to_have_count(1)
        expect(link).to_contain_text(title)
    page.watch.check()


# --------------------------------------------------------------------------- commission lab


def test_commission_lab(voila_server, page, expected, screenshot_dir):
    import re

    from simlib.apps.commission_lab import (
        CommissionLab,
        LabState,
        check_values,
        compute,
        page_units,
        state_from_values,
        values_from_state,
    )
    from simlib.present import MISSING, count, number, pct

    # the page's language asked for in its address, as a user's link does
    open_app(page, voila_server, "commission_whatif.ipynb?lang=en", "simlib-commission-lab")
    ctx = expected["lab"].result()
    units = page_units("en", ctx)  # the page's one unit system: ¥k
    labels = CommissionLab(ctx, lang="en", charts=False).labels  # plan names people read
    lab = page.locator(".simlib-commission-lab")
    cost = lab.locator(".simlib-cost-of-sales b")
    p50 = lab.locator(".simlib-budget-p50 b")
    p90 = lab.locator(".simlib-budget-p90 b")
    gini = lab.locator(".simlib-gini b")
    results = lab.locator(".simlib-lab-results")
    charts = [lab.locator(f".simlib-{k}") for k in ("chart-curve", "chart-cost", "chart-reps")]

    expect(lab.locator(".simlib-lab-title h2")).to_have_text("Commission what-if lab")
    expect(lab.locator(".simlib-lab-data")).to_contain_text(
        f"{count(voila_server.n_trials)} simulated quarters"
    )
    # plans are offered by name, never by id
    plan_select = lab.locator(".simlib-plan select")
    expect(plan_select.locator("option")).to_have_text([labels[n] for n in ctx.plans])

    def shows(state):
        """The cards show simlib's own numbers for ``state``, in the page's formatting."""
        v = compute(state, ctx)
        assert v.ok, v.error
        expect(cost).to_have_text(pct(v.cost_of_sales, 2))
        expect(p50).to_have_text(units.amount(v.budget_p50, unit=True))
        expect(p90).to_have_text(units.amount(v.budget_p90, unit=True))
        expect(gini).to_have_text(number(v.gini, 2))
        expect(lab.locator(".simlib-message")).to_be_empty()
        expect(results).to_be_visible()
        for chart in charts:
            expect(chart).to_be_visible()
        return v

    start = LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn")
    v0 = shows(start)
    basis = ctx.plans["tiered_cn"].basis
    values = values_from_state(start, basis, units.divisor)

    # a number box: band 2's rate, 1.5% -> 2.5%
    rate = lab.locator(".simlib-rate-1 input")
    expect(rate).to_have_value(js_number(values["rate_1"]))
    rate.fill("2.5")
    rate.press("Enter")
    values["rate_1"] = 2.5
    v1 = shows(state_from_values(values, basis, units.divisor))
    assert v1.budget_p50 > v0.budget_p50

    # an amount is typed in the page's unit: a cap of 150 means ¥150k
    expect(lab.locator(".simlib-cap")).to_contain_text(units.label())
    cap = lab.locator(".simlib-cap input")
    cap.fill("150")
    cap.press("Enter")
    values["cap"] = 150.0
    capped = state_from_values(values, basis, units.divisor)
    assert capped.cap == 150_000
    v_cap = shows(capped)
    assert v_cap.budget_p90 < v1.budget_p90
    cap.fill("0")  # 0 = no cap
    cap.press("Enter")
    values["cap"] = 0.0
    shows(state_from_values(values, basis, units.divisor))

    # a toggle: retroactive tiers (everything at the rate reached)
    lab.locator(".simlib-mode").get_by_role("button", name="Retroactive", exact=True).click()
    values["mode"] = "retroactive"
    v2 = shows(state_from_values(values, basis, units.divisor))
    assert v2.budget_p50 > v1.budget_p50

    # a dropdown: start again from another shipped plan, chosen by its name
    plan_select.select_option(label=labels["tiered_cn_retro"])
    s3 = LabState.from_plan(
        ctx.plans["tiered_cn_retro"], "tiered_cn_retro", pool_rate=0.0, compare=(), curve_rep=None
    )
    shows(s3)
    basis3 = ctx.plans["tiered_cn_retro"].basis
    values3 = values_from_state(s3, basis3, units.divisor)
    expect(rate).to_have_value(js_number(values3["rate_1"]))
    shot(page, screenshot_dir, "commission_lab")

    # a bad edit is said under its row as typed, in English, and nothing stale is shown
    rate.fill("-1")
    rate.press("Enter")
    errors = check_values({**values3, "rate_1": -1.0}, ctx.plans["tiered_cn_retro"], units, "en")
    assert list(errors) == ["band_1"] and "−1%" in errors["band_1"], errors
    expect(lab.locator(".simlib-error-band-1")).to_have_text(errors["band_1"])
    expect(lab.locator(".simlib-message")).to_contain_text("Fix the settings marked in red")
    for card in (cost, p50, p90, gini):
        expect(card).to_have_text(MISSING)
    expect(results).to_be_hidden()
    for chart in charts:
        expect(chart).to_be_hidden()
    shot(page, screenshot_dir, "commission_lab_bad_edit")

    # a valid value brings every view back, with the numbers of the new state
    rate.fill("2.5")
    rate.press("Enter")
    values3["rate_1"] = 2.5
    expect(lab.locator(".simlib-error-band-1")).to_be_empty()
    shows(state_from_values(values3, basis3, units.divisor))

    # no ids, reprs or missing values on the page
    text = page.locator("body").inner_text()
    leak = re.search(
        r"Traceback|internal error|LabView\(|LabContext\(|\{'|\bNaN\b|\bNone\b|got -|"
        + "|".join(rf"\b{re.escape(n)}\b" for n in ctx.plans),
        text,
    )
    assert leak is None, f"{leak.group(0)!r} on the page"
    page.watch.check()


# --------------------------------------------------------------------------- target workshop


def test_target_workshop(voila_server, page, expected, screenshot_dir):
    from simlib.apps.target_workshop import controls_from_values, evaluate, values_from_controls
    from simlib.present import Units
    from simlib.views.workshop import LEVELS, _display_name, allocation_table, headline_items

    open_app(page, voila_server, "q4_target_workshop.ipynb", "simlib-target-workshop")
    app = expected["workshop"].result()
    L, unit = app.lang, app.unit
    cards = {
        k: page.locator(f".simlib-card-{k.replace('_', '-')} .v")
        for k in ("company_target", "probability", "probability_quota", "over_assignment")
    }

    def shows(values):
        view = evaluate(controls_from_values(values, unit), app.cache, app.run_base, L)
        assert view.ok, view.message
        want = {k: v for k, _label, v, _s in headline_items(view.allocation, L)}
        for k, loc in cards.items():
            expect(loc).to_have_text(want[k])
        return view

    values = values_from_controls(app.controls, unit)
    v0 = shows(values)

    # a slider by keyboard: rep uplift +0.5 point
    handle = page.locator(".simlib-uplift-rep .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    values["uplift_rep"] = round(values["uplift_rep"] + 0.5, 6)
    readout = page.locator(".simlib-uplift-rep .widget-readout")
    expect(readout).to_have_text(f"{values['uplift_rep']:.1f}")
    v1 = shows(values)
    over = [dict((k, v) for k, _l, v, _s in headline_items(v.allocation, L)) for v in (v0, v1)]
    assert over[1]["over_assignment"] != over[0]["over_assignment"]

    # a toggle: give the company number as growth (the app carries the number over) ...
    page.locator(".simlib-target-mode button").nth(1).click()
    from simlib.views.workshop import headline

    h1 = headline(v1.allocation)
    values.update(
        target_mode="growth",
        company_target=round(h1["company_target"] / unit, 6),
        growth=round(100 * h1["growth"], 1),
    )
    readout = page.locator(".simlib-growth .widget-readout")
    expect(readout).to_have_text(f"{values['growth']:.1f}")
    shows(values)
    # ... then type a growth into the slider's readout
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    page.keyboard.press("Enter")
    values["growth"] = 30.0
    v3 = shows(values)
    assert "+30.0%" in cards["company_target"].inner_text()

    # a dropdown: show one region (chosen by its name), down to its reps, by name
    region = "R-EAST"
    nodes = v3.allocation.nodes.set_index("node_id")
    page.locator(".simlib-view select").select_option(label=nodes.at[region, "name_zh"])
    values["view"] = region
    names = page.locator(".simlib-table-out tbody tr td:nth-child(1)")
    table = allocation_table(v3.allocation, LEVELS, region)
    expect(names).to_have_text(_display_name(table, L))

    # a checkbox: fair quotas (equal probability) moves the reps' targets
    targets = page.locator(".simlib-table-out tbody tr td:nth-child(4)")
    before = targets.all_inner_texts()
    page.locator(".simlib-fair-quotas input").check()
    values["fair_quotas"] = True
    v4 = shows(values)
    u = Units(L)
    want = [u.amount(t) for t in allocation_table(v4.allocation, LEVELS, region)["target"]]
    expect(targets).to_have_text(want)
    assert want != before

    # an invalid company number: said under the control, in the page's language and
    # unit, and no number of the previous state stays on screen
    page.locator(".simlib-target-mode button").nth(0).click()
    box = page.locator(".simlib-company-target input")
    box.fill("-5")
    box.press("Enter")
    expect(page.locator(".simlib-err-company-target")).to_contain_text("-5.0万元")
    expect(page.locator(".simlib-results")).to_be_hidden()
    shot(page, screenshot_dir, "target_workshop_invalid")
    box.fill("160000")
    box.press("Enter")
    expect(page.locator(".simlib-results")).to_be_visible()
    expect(page.locator(".simlib-err-company-target")).to_have_text("")

    shot(page, screenshot_dir, "target_workshop")
    page.watch.check()


# --------------------------------------------------------------------------- tracking dashboard


def test_tracking_dashboard(voila_server, page, expected, screenshot_dir):
    from simlib.apps.tracking_dashboard import compute

    open_app(page, voila_server, "tracking_dashboard.ipynb?lang=en", "simlib-tracking-dashboard")
    ctx = expected["dashboard"].result()
    revenue = page.locator(".simlib-kpi-revenue b")
    attainment = page.locator(".simlib-kpi-attainment b")
    status = page.locator(".simlib-kpi-status b")
    alerts = page.locator(".simlib-alerts-out h4")
    wall = page.locator("img.simlib-wall-out")

    def shows(controls):
        v = compute(controls, ctx)
        expect(revenue).to_have_text(v.kpi_text("revenue"))
        expect(attainment).to_have_text(v.kpi_text("attainment"))
        expect(status).to_have_text(v.kpi_text("status"))
        n = len(v.alerts)
        expect(alerts).to_have_text(f"Active alerts ({n})" if n else "Active alerts")
        return v

    c0 = ctx.drill(ctx.default("en"), "CO")  # the notebook's parameters: this month, CO
    shows(c0)
    src0 = wall.get_attribute("src")

    # dropdowns: the period, then the level (down to the first team), then another team
    page.locator(".simlib-period select").select_option("2026-Q3")
    c1 = replace(c0, period="2026-Q3")
    shows(c1)
    page.locator(".simlib-level select").select_option(label="Team")
    c2 = ctx.at_level(c1, "team")
    shows(c2)
    label, node = next((lab, n) for lab, n in ctx.nodes("team", "en") if n != c2.node)
    page.locator(".simlib-node select").select_option(label)
    c3 = replace(c2, node=node)
    v3 = shows(c3)
    expect(page.locator(".simlib-path")).to_contain_text(v3.path[-1][2])
    expect(wall).not_to_have_attribute("src", src0 or "")

    shot(page, screenshot_dir, "tracking_dashboard")
    page.watch.check()

"""A control fuzzer for the tracking dashboard in Chromium at 1440×900 (served by Voilà).

A seeded random sequence of drills, ups, period, level, node and language changes; after
each the page must show the KPI that :func:`simlib.apps.tracking_dashboard.compute` gives
in this process for the same controls, and nothing a person should not read: no internal
error, traceback or Python repr, no NaN/None, no id of a node or person, no broken image,
no ``1e7``. Screenshots in both languages at company and rep level are kept.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

STEPS = 20
SEED = 12
ROOT = ".simlib-tracking-dashboard"
BAD = re.compile(
    r"internal error|Traceback|\{'|\w+\(\w+=|\bNaN\b|\bNone\b|\bnan\b|\de[+-]\d"
    r"|\b(?:S\d{3}|T-[A-Z]{2}|R-[A-Z]+)\b|node_id|name_zh"
)


@pytest.fixture(scope="module")
def ctx():
    from simlib.apps.tracking_dashboard import DashboardContext

    c = DashboardContext.from_demo()
    _ = c.alerts
    return c


def _shot(page, screenshot_dir, name):
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def _check_page(page, ctx, state):
    """The page shows ``state``'s numbers and nothing a person should not read."""
    from simlib.apps.tracking_dashboard import compute

    v = compute(state, ctx)
    expect(page.locator(".simlib-kpi-revenue b")).to_have_text(v.kpi_text("revenue"))
    expect(page.locator(".simlib-kpi-attainment b")).to_have_text(v.kpi_text("attainment"))
    expect(page.locator(".simlib-path b")).to_have_text(v.path[-1][2])
    expect(page.locator(".simlib-message")).to_have_text("")
    text = page.locator(ROOT).inner_text()
    hit = BAD.search(text)
    assert hit is None, f"{state}: {hit.group(0)!r} on the page"
    # every chart shown is a decoded image (no broken-image icon)
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('{ROOT} img')]
              .filter(i => i.offsetParent !== null)
              .every(i => i.complete && i.naturalWidth > 0)""",
        timeout=30_000,
    )
    widths = page.eval_on_selector_all(
        f"{ROOT} img", "els => els.filter(i => i.offsetParent).map(i => i.clientWidth)"
    )
    assert len(widths) == 4 and min(widths) >= 600, widths  # sized for the screen
    return v


def test_fuzz_dashboard(voila_server, page, ctx, screenshot_dir):
    from simlib.apps.tracking_dashboard import Controls, period_options

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(voila_server.url)
    page.goto(
        f"{voila_server.url}voila/render/tracking_dashboard.ipynb?lang=zh-CN",
        timeout=voila_server.render_ms,
    )
    page.locator(ROOT).wait_for(timeout=voila_server.render_ms)
    state = Controls(period_options(ctx.as_of)[0], "company", "CO", "zh-CN")
    _check_page(page, ctx, state)
    _shot(page, screenshot_dir, "dashboard-zh-CN-company")

    rng = random.Random(SEED)
    periods = period_options(ctx.as_of)
    levels = {"company": ("Company", "公司"), "region": ("Region", "大区"),
              "team": ("Team", "团队"), "rep": ("Rep", "销售")}  # fmt: skip
    done = []
    for _ in range(STEPS):
        L = state.lang
        kids = ctx.children(state.node)
        moves = ["period", "level", "node", "lang"] + ["drill"] * 3 * bool(kids)
        moves += ["up"] * bool(ctx.parent_of(state.node))
        move = rng.choice(moves)
        if move == "period":
            p = rng.choice([x for x in periods if x != state.period])
            page.locator(".simlib-period select").select_option(p)
            state = replace(state, period=p)
        elif move == "level":
            lv = rng.choice([x for x in levels if x != state.level])
            page.locator(".simlib-level select").select_option(label=levels[lv][L == "zh-CN"])
            state = ctx.at_level(state, lv)
        elif move == "node":
            opts = [o for o in ctx.nodes(state.level, L) if o[1] != state.node]
            if not opts:
                continue
            label, node = rng.choice(opts)
            page.locator(".simlib-node select").select_option(label=label)
            state = replace(state, node=node)
        elif move == "drill":
            label, node = rng.choice(ctx._labels(kids, L))
            page.locator(".simlib-drill select").select_option(label=label)
            state = ctx.drill(state, node)
        elif move == "up":
            page.locator(".simlib-up").click()
            state = ctx.up(state)
        else:
            new = "en" if L == "zh-CN" else "zh-CN"
            page.locator(
                ".simlib-lang button", has_text="English" if new == "en" else "中文"
            ).click()
            state = replace(state, lang=new)
        done.append((move, state))
        _check_page(page, ctx, state)
    moves_seen = {m for m, _ in done}
    assert {"drill", "period"} <= moves_seen, done

    # the screens a reviewer looks at: a person (a manager's team member) and the company
    L = state.lang
    if L != "zh-CN":
        page.locator(".simlib-lang button", has_text="中文").click()
        state = replace(state, lang="zh-CN")
    page.locator(".simlib-period select").select_option("2026-Q4")
    page.locator(".simlib-level select").select_option(label="销售")
    state = ctx.at_level(replace(state, period="2026-Q4"), "rep")
    _check_page(page, ctx, state)
    label = dict((n, lab) for lab, n in ctx.nodes("rep", "zh-CN"))["S003"]
    page.locator(".simlib-node select").select_option(label=label)
    state = replace(state, node="S003")
    _check_page(page, ctx, state)
    _shot(page, screenshot_dir, "dashboard-zh-CN-rep")
    page.locator(".simlib-lang button", has_text="English").click()
    state = replace(state, lang="en")
    _check_page(page, ctx, state)
    _shot(page, screenshot_dir, "dashboard-en-rep")
    page.locator(".simlib-level select").select_option(label="Company")
    state = ctx.at_level(state, "company")
    _check_page(page, ctx, state)
    _shot(page, screenshot_dir, "dashboard-en-company")
    lower = page.locator(f"{ROOT} .simlib-children-out")  # the tables below the charts
    lower.scroll_into_view_if_needed()
    _shot(page, screenshot_dir, "dashboard-en-company-tables")
    page.locator(".simlib-level select").select_option(label="Team")
    state = ctx.at_level(state, "team")
    _check_page(page, ctx, state)
    _shot(page, screenshot_dir, "dashboard-en-team")
    page.watch.check()

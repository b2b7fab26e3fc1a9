"""The tracking dashboard's appeals tab in Chromium at 1440×900 (served by Voilà), on a
ledger of its own (``SIMLIB_LEDGER`` → a SQLite file in a temp folder).

The ledger is prepared as in ``tests/test_appeals_view.py`` (the demo company's people,
2026-Q3 statements issued by the director, appeals filed by reps of the Shanghai and
Hangzhou teams), but on today's dates, because the served page counts deadlines from
the real today: Zhang Wei's appeal was filed two weeks ago (overdue), the others
yesterday (open, not overdue); Zhou Feng rejected Huang Fang's.

1. As Wei Ping (manager of the Shanghai team), in zh-CN: the tab lists his team's
   appeals only, the overdue one at the top in red; a decision without a reason is
   refused next to the reason box; with a reason it is decided, the table shows it and
   the re-issued version, and the ledger has it; the page switched to English says the
   same in English.
2. As Ren Chao (a rep of the Hangzhou team), in English: only his own appeal; deciding
   it is refused by the ledger, the message next to the button.

Screenshots in both languages (``appeals-*.png`` in the screenshot folder).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = "tracking_dashboard.ipynb"
ROOT = ".simlib-tracking-dashboard"
VIEW = ".simlib-appeals-view"
BAD = re.compile(
    r"internal error|Traceback|\{'|\w+\(\w+=|\bNaN\b|\bNone\b|\bnan\b|\de[+-]\d"
    r"|\b(?:S\d{3}|T-[A-Z]{2}|R-[A-Z]+)\b|node_id|name_zh|rep_id|_cents"
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A ledger file with four appeals on today's dates; returns its URL."""
    from simlib.apps.session import open_data
    from simlib.ledger import open_ledger
    from simlib.plans import load_plan
    from simlib.views.statement import rep_statement
    from tests.test_appeals_view import DIRECTOR, HZ, SH, ZHOU_FENG

    data = open_data()
    plan = load_plan("tiered_cn")
    sts = {r: rep_statement(data, plan, r, "2026-Q3") for r in (*SH, *HZ)}
    url = f"sqlite:///{tmp_path_factory.mktemp('appeals-ledger') / 'ledger.sqlite'}"
    now = dt.datetime.now(dt.UTC)
    at = {"now": now - dt.timedelta(days=14)}
    led = open_ledger(data.reps, data.tables.get("org"), url=url, clock=lambda: at["now"])
    try:
        first = led.issue([sts[SH[0]]], actor=DIRECTOR, plan_hash="p", data_fingerprint="f")
        led.file(SH[0], first.issued[0].id, 1, "这笔订单在九月成交，不是十月")
        at["now"] = now - dt.timedelta(days=1)
        rest = led.issue(
            [sts[r] for r in (SH[1], *HZ)], actor=DIRECTOR, plan_hash="p", data_fingerprint="f"
        )
        sid = {s.rep_id: s.id for s in rest.issued}
        led.file(SH[1], sid[SH[1]], 2, "提成比例应为 1.5%")
        led.file(HZ[0], sid[HZ[0]], 1, "amount differs from the contract")
        led.file(HZ[1], sid[HZ[1]], 3, "double-counted deal")
        led.decide(ZHOU_FENG, 4, "rejected", 0, "the deal was counted once")
    finally:
        led.close()
    return url


@pytest.fixture(scope="module")
def appeals_voila(tmp_path_factory, prepared):
    """Voilà (as ``voila_server``) serving the dashboard with ``SIMLIB_LEDGER`` set."""
    from simlib.apps.server import voila_command
    from tests.browser.conftest import free_port, small_copy, start_server

    base = tmp_path_factory.mktemp("appeals-voila")
    root = small_copy([NOTEBOOK], base / "notebooks")
    env = {**os.environ, "SIMLIB_CACHE_DIR": str(base / "cache"), "SIMLIB_LEDGER": prepared}
    for name in ("SIMLIB_APP_SOURCE", "SIMLIB_APP_MAPPING", "SIMLIB_USER"):
        env.pop(name, None)
    port = free_port()
    cmd = voila_command(port, root=root, extra=["--Voila.log_level=INFO"])
    server = start_server("voila (appeals)", cmd, port, base / "voila.log", root, env=env)
    yield server
    server.stop()


def _open(page, server, lang: str, user: str) -> None:
    page.goto(server.url)  # the _xsrf cookie, so that leaving the page ends its kernel
    page.goto(
        f"{server.url}voila/render/{NOTEBOOK}?lang={lang}&user={quote(user)}",
        timeout=server.render_ms,
    )
    page.locator(ROOT).wait_for(timeout=server.render_ms)


def _tab(page, text: str) -> None:
    page.locator(f"{ROOT} .simlib-tabs .lm-TabBar-tab", has_text=text).click()
    page.locator(VIEW).wait_for(state="visible")


def _clean(page) -> str:
    text = page.locator(VIEW).inner_text()
    hit = BAD.search(text)
    assert hit is None, f"{hit.group(0)!r} on the appeals tab"
    return text


def _shot(page, screenshot_dir, name: str) -> None:
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def _ledger(url):
    from simlib.apps.session import open_data
    from simlib.ledger import open_ledger

    data = open_data()
    return open_ledger(data.reps, data.tables.get("org"), url=url)


def test_manager_decides_an_appeal(appeals_voila, prepared, page, screenshot_dir):
    from simlib.present import STATUS_COLORS

    _open(page, appeals_voila, "zh-CN", "Wei Ping")
    expect(page.locator(".simlib-user")).to_have_text("当前用户：魏平（经理）")
    _tab(page, "申诉（2 件待裁决）")
    table = page.locator(".simlib-appeals-out table")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    # his team's appeals only, the overdue one first, in red
    expect(rows.nth(0)).to_contain_text("张伟")
    expect(rows.nth(0)).to_contain_text("已逾期")
    expect(rows.nth(1)).to_contain_text("蒋军")
    red = rows.nth(0).locator("span", has_text="已逾期")
    assert red.evaluate("e => getComputedStyle(e).color") == _rgb(STATUS_COLORS["red"])
    text = _clean(page)
    assert "任超" not in text and "黄芳" not in text
    assert "行金额（元）" in text
    _shot(page, screenshot_dir, "appeals-zh-CN-manager")

    # Jiang Jun's appeal, partly accepted, first without a reason
    label = page.locator(".simlib-appeal select option", has_text="蒋军").inner_text()
    page.locator(".simlib-appeal select").select_option(label=label)
    page.locator(".simlib-outcome button", has_text="部分接受").click()
    page.locator(".simlib-amount input").fill("800")
    page.locator(".simlib-decide").click()
    expect(page.locator(".simlib-reason-error")).to_contain_text("裁决需要写明理由")
    expect(page.locator(".simlib-decide-status")).to_have_text("")
    page.locator(".simlib-reason textarea").fill("核实后差额的一部分应补发")
    page.locator(".simlib-decide").click()
    status = page.locator(".simlib-decide-status")
    expect(status).to_contain_text("已重新发布为第 2 版")
    expect(status).to_contain_text("+800.00元")
    expect(page.locator(".simlib-reason-error")).to_have_text("")
    decided = rows.filter(has_text="蒋军")
    expect(decided).to_contain_text("部分接受")
    expect(decided).to_contain_text("已重新发布为第 2 版")
    expect(decided).to_contain_text("魏平")
    # the decided one goes below the open one
    expect(rows.nth(0)).to_contain_text("张伟")
    led = _ledger(prepared)
    try:
        a = [x for x in led.appeals() if x.rep_id == "S004"][0]
        assert (a.state, a.decided_by, a.cents) == ("partly_accepted", "S002", 80_000)
        assert a.outcome_reason == "核实后差额的一部分应补发"
        assert led.statement(a.reissued_statement_id).version == 2
        assert led.verify().ok
    finally:
        led.close()
    _clean(page)
    _shot(page, screenshot_dir, "appeals-zh-CN-manager-decided")

    # the same page in English
    page.locator(".simlib-lang button", has_text="English").click()
    expect(page.locator(".simlib-user")).to_have_text("Signed in as Wei Ping (manager)")
    expect(rows.filter(has_text="Jiang Jun")).to_contain_text("partly accepted")
    expect(rows.filter(has_text="Zhang Wei")).to_contain_text("overdue by")
    expect(page.locator(f"{ROOT} .simlib-tabs .lm-TabBar-tab").nth(1)).to_have_text(
        "Appeals (1 open)"
    )
    text = _clean(page)
    assert "Line amount (¥)" in text and "re-issued as version 2" in text
    _shot(page, screenshot_dir, "appeals-en-manager-decided")
    page.watch.check()


def test_rep_of_another_team_is_refused(appeals_voila, page, screenshot_dir):
    _open(page, appeals_voila, "en", "Ren Chao")
    expect(page.locator(".simlib-user")).to_have_text("Signed in as Ren Chao (sales rep)")
    _tab(page, "Appeals (1 open)")
    rows = page.locator(".simlib-appeals-out table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Ren Chao")
    text = _clean(page)
    for other in ("Zhang Wei", "Jiang Jun", "Huang Fang"):
        assert other not in text
    page.locator(".simlib-outcome button", has_text="rejected").click()
    expect(page.locator(".simlib-amount input")).to_be_disabled()
    page.locator(".simlib-reason textarea").fill("I would like to close it")
    page.locator(".simlib-decide").click()
    expect(page.locator(".simlib-decide-status .simlib-field-error")).to_contain_text(
        "nobody decides an appeal on their own statement"
    )
    _clean(page)
    _shot(page, screenshot_dir, "appeals-en-rep-refused")
    page.locator(".simlib-lang button", has_text="中文").click()
    _tab(page, "申诉")
    page.locator(".simlib-reason textarea").fill("我想结案")
    page.locator(".simlib-decide").click()
    expect(page.locator(".simlib-decide-status .simlib-field-error")).to_contain_text(
        "不能裁决自己对账单的申诉"
    )
    _clean(page)
    _shot(page, screenshot_dir, "appeals-zh-CN-rep-refused")
    page.watch.check()


def _rgb(hex_color: str) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"

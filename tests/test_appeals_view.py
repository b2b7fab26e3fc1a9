"""The appeals view (issue 15): which appeals a person sees, in what order, with which
deadline, in whose words; and the dashboard's appeals tab, headless.

A ledger in tmp_path with the demo company's people: the director issues four 2026-Q3
statements on Friday 2026-10-09; reps of the Shanghai team (manager Wei Ping) and the
Hangzhou team (manager Zhou Feng) appeal; some are decided. Deadlines are worked by hand
on the China calendar (Saturday 2026-10-10 is a working day; decisions are due 5 working
days after filing). Times are Beijing time.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from simlib.calendar import load_calendar
from simlib.ledger import Forbidden, open_ledger
from simlib.present import STATUS_COLORS, Units
from simlib.views import appeals as av

BJ = dt.timezone(dt.timedelta(hours=8))
ID = re.compile(r"\b(?:S\d{3}|T-[A-Z]{2}|R-[A-Z]+|CO)\b")
DEV = re.compile(r"\bnan\b|\bNone\b|NaN|rep_id|_cents|\{'|Traceback|\de[+-]?\d", re.I)

#: The people of the scenario (demo company ids).
DIRECTOR, WEI_PING, ZHOU_FENG = "S001", "S002", "S011"
SH = ("S003", "S004")  # Zhang Wei, Jiang Jun: Shanghai team (Wei Ping)
HZ = ("S012", "S013")  # Ren Chao, Huang Fang: Hangzhou team (Zhou Feng)
TODAY = dt.date(2026, 10, 16)


class Clock:
    def __init__(self, when: str):
        self.set(when)

    def set(self, when: str) -> None:
        self.now = dt.datetime.fromisoformat(when).replace(tzinfo=BJ)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def data():
    from simlib.apps.session import open_data

    return open_data()


@pytest.fixture(scope="module")
def statements(data):
    from simlib.plans import load_plan
    from simlib.views.statement import rep_statement

    plan = load_plan("tiered_cn")
    return [rep_statement(data, plan, r, "2026-Q3") for r in (*SH, *HZ)]


def prepare(data, statements, url: str, clock: Clock):
    """Issue, file four appeals, decide two: appeal ids 1-4 in filing order.

    1. Zhang Wei, line 1, filed Fri 10-09: due Thu 10-15 (10-10, 12, 13, 14, 15) — open,
       overdue on 10-16.
    2. Jiang Jun, line 2, filed Mon 10-12: due Mon 10-19 — partly accepted by Wei Ping
       on 10-13 (+500.00): the statement is re-issued as version 2.
    3. Ren Chao, line 1, filed Mon 10-12: due Mon 10-19 — open, under review by Zhou Feng.
    4. Huang Fang, line 3, filed Tue 10-13: due Tue 10-20 — rejected by Zhou Feng on 10-14.
    """
    led = open_ledger(data.reps, data.tables.get("org"), url=url, clock=clock)
    clock.set("2026-10-09T10:00")
    res = led.issue(statements, actor=DIRECTOR, plan_hash="p", data_fingerprint="f")
    sid = {s.rep_id: s.id for s in res.issued}
    clock.set("2026-10-09T11:00")
    led.file(SH[0], sid[SH[0]], 1, "this deal closed in September, not October")
    clock.set("2026-10-12T09:00")
    led.file(SH[1], sid[SH[1]], 2, "the rate should be 1.5%")
    led.file(HZ[0], sid[HZ[0]], 1, "amount differs from the contract")
    clock.set("2026-10-13T09:30")
    led.file(HZ[1], sid[HZ[1]], 3, "double-counted deal")
    led.decide(WEI_PING, 2, "partly_accepted", 50_000, "half of the difference is due")
    clock.set("2026-10-14T15:00")
    led.start_review(ZHOU_FENG, 3)
    led.decide(ZHOU_FENG, 4, "rejected", 0, "the deal was counted once")
    clock.set("2026-10-16T09:00")
    return led


@pytest.fixture(scope="module")
def ledger(data, statements, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('appeals') / 'ledger.sqlite'}"
    led = prepare(data, statements, url, Clock("2026-10-09T10:00"))
    yield led
    led.close()


def _ids(frame) -> list[int]:
    return frame["appeal_id"].tolist()


def test_rows_and_order_for_a_director(ledger):
    f = av.appeal_frame(ledger, today=TODAY, viewer=DIRECTOR, lang="en")
    # open first, overdue at the top; then closed, the latest decision first
    assert _ids(f) == [1, 3, 4, 2]
    assert f["is_open"].tolist() == [True, True, False, False]
    assert f["overdue"].tolist() == [True, False, False, False]
    assert f["state"].tolist() == ["filed", "under_review", "rejected", "partly_accepted"]
    assert f["state_label"].tolist() == ["filed", "under review", "rejected", "partly accepted"]
    assert f["rep"].tolist() == ["Zhang Wei", "Ren Chao", "Huang Fang", "Jiang Jun"]
    r = f.set_index("appeal_id")
    assert r.at[1, "decision_due"] == dt.date(2026, 10, 15)
    assert r.at[3, "decision_due"] == dt.date(2026, 10, 19)
    assert r.at[2, "decider"] == "Wei Ping" and r.at[4, "decider"] == "Zhou Feng"
    assert r.at[2, "outcome_cents"] == 50_000 and r.at[2, "reissued_version"] == 2
    assert r.at[1, "filed"] == "2026-10-09 11:00"  # Beijing time
    # the statement line: its kind and arithmetic, its amount in cents as issued
    st = ledger.statement(int(r.at[1, "statement_id"]))
    assert r.at[1, "line_cents"] == st.line(1).cents
    assert r.at[1, "line_label"] == "line 1 · Commission"
    assert r.at[1, "line_text"] == st.line(1).text
    # no viewer: what a director sees
    assert _ids(av.appeal_frame(ledger, today=TODAY, lang="en")) == _ids(f)


def test_deadlines_on_a_fixed_day(ledger):
    f = av.appeal_frame(ledger, today=TODAY, lang="en").set_index("appeal_id")
    # 1 due Thu 10-15: on Fri 10-16 overdue by one working day
    assert f.at[1, "working_days_left"] == -1 and f.at[1, "overdue"]
    assert f.at[1, "due_text"] == "2026-10-15 · overdue by 1 working day"
    # 3 due Mon 10-19: Sat and Sun are off, so one working day left
    assert f.at[3, "working_days_left"] == 1 and not f.at[3, "overdue"]
    assert f.at[3, "due_text"] == "2026-10-19 · 1 working day left"
    # a week earlier nothing is overdue, and the order is by deadline
    early = av.appeal_frame(ledger, today=dt.date(2026, 10, 13), lang="zh-CN")
    assert not early["overdue"].any()
    assert _ids(early)[:2] == [1, 3]
    assert early.set_index("appeal_id").at[1, "due_text"] == "2026-10-15 · 还剩 2 个工作日"
    # the ledger agrees on what is overdue
    assert [a.id for a in ledger.overdue(TODAY)] == [1]


def test_decision_due_by_hand():
    cal = load_calendar("calendar_cn.yaml")
    d = av.decision_due(dt.date(2026, 10, 15), dt.date(2026, 10, 15), cal)
    assert (d.working_days_left, d.overdue, d.light) == (0, False, "amber")
    assert av.due_text(d, "en") == "2026-10-15 · due today"
    d = av.decision_due(dt.date(2026, 10, 16), dt.date(2026, 10, 17), cal)  # Saturday
    assert (d.working_days_left, d.overdue, d.light) == (0, True, "red")
    assert av.due_text(d, "zh-CN") == "2026-10-16 · 已逾期"
    d = av.decision_due(dt.date(2026, 10, 8), dt.date(2026, 9, 30), cal)  # over National Day
    assert d.working_days_left == 1 and av.due_text(d, "en").endswith("1 working day left")
    d = av.decision_due(dt.date(2026, 10, 12), dt.date(2026, 10, 16), cal)
    assert d.working_days_left == -4 and av.due_text(d, "en").endswith("overdue by 4 working days")


def test_visibility_follows_the_ledger(ledger):
    # a manager sees their own team only; the node filter narrows further
    assert _ids(av.appeal_frame(ledger, today=TODAY, viewer=WEI_PING)) == [1, 2]
    assert _ids(av.appeal_frame(ledger, today=TODAY, viewer=ZHOU_FENG)) == [3, 4]
    assert _ids(av.appeal_frame(ledger, today=TODAY, viewer="Wei Ping", reps=["S003"])) == [1]
    # a rep sees their own and nothing of anyone else's, whatever node is asked for
    assert _ids(av.appeal_frame(ledger, today=TODAY, viewer=SH[0])) == [1]
    assert _ids(av.appeal_frame(ledger, today=TODAY, viewer=HZ[0], reps=SH)) == []
    assert _ids(av.appeal_frame(ledger, today=TODAY, viewer=HZ[0])) == [3]
    # a manager of another team: nothing of the Shanghai team
    assert av.appeal_frame(ledger, today=TODAY, viewer=ZHOU_FENG, reps=SH).empty
    # the frame uses the ledger's check: same answer as the ledger itself
    for who in (DIRECTOR, WEI_PING, ZHOU_FENG, *SH, *HZ):
        mine = {a.id for a in ledger.appeals(viewer=who)}
        assert set(_ids(av.appeal_frame(ledger, today=TODAY, viewer=who))) == mine
    with pytest.raises(Forbidden):
        ledger.appeal(1, viewer=ZHOU_FENG)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_table_in_words_names_not_ids(ledger, lang):
    f = av.appeal_frame(ledger, today=TODAY, lang=lang)
    units = Units(lang, scale="yuan")
    html = av.appeals_html(f, units, ledger.roster)
    text = re.sub(r"<[^>]+>", " ", html)
    assert not ID.search(text), ID.search(text)
    assert not DEV.search(text), DEV.search(text)
    zh = lang == "zh-CN"
    for name in ["张伟", "任超", "黄芳", "蒋军"] if zh else ["Zhang Wei", "Ren Chao", "Jiang Jun"]:
        assert name in text
    assert ("行金额（元）" if zh else "Line amount (¥)") in text
    assert ("已重新发布为第 2 版" if zh else "re-issued as version 2") in text
    assert "+500.00" in text
    assert ("审核中" if zh else "under review") in text
    # the overdue deadline, and only it, in the status red
    red = STATUS_COLORS["red"]
    assert html.count(red) == 1
    overdue = "2026-10-15 · " + ("已逾期 1 个工作日" if zh else "overdue by 1 working day")
    assert re.search(f"{red}[^>]*>{re.escape(overdue)}<", html)
    # the line amount of appeal 1 in yuan, to the cent
    cents = int(f.set_index("appeal_id").at[1, "line_cents"])
    assert units.amount(cents / 100) in text
    assert av.summary_text(f, lang) == (
        "待裁决 2 件（逾期 1 件），已结案 2 件" if zh else "2 open (1 overdue), 2 closed"
    )


def test_choices_are_the_open_appeals(ledger):
    f = av.appeal_frame(ledger, today=TODAY, lang="en")
    ch = av.appeal_choices(f, "en")
    assert [i for _, i in ch] == [1, 3]
    assert ch[0][0] == "#1 · Zhang Wei · 2026-Q3 · line 1 · overdue since 2026-10-15"
    assert ch[1][0] == "#3 · Ren Chao · 2026-Q3 · line 1 · due 2026-10-19"
    assert av.appeal_choices(f.iloc[0:0], "en") == []
    zh = av.appeal_choices(av.appeal_frame(ledger, today=TODAY, lang="zh-CN"), "zh-CN")
    assert zh[1][0] == "#3 · 任超 · 2026-Q3 · 第 1 行 · 2026-10-19 截止"


def test_sort_is_stable_on_ties():
    due = dt.date(2026, 10, 19)
    at = pd.Timestamp("2026-10-14T07:00Z")
    f = pd.DataFrame(
        {
            "appeal_id": [5, 2, 9, 7],
            "is_open": [True, True, False, False],
            "overdue": [False, False, False, False],
            "decision_due": [due, due, due, due],
            "decided_at": [None, None, at, at],
        }
    )
    assert av.sort_appeals(f)["appeal_id"].tolist() == [2, 5, 7, 9]


@pytest.mark.parametrize(
    "typed,lang,scale,cents",
    [
        ("1,200", "en", "yuan", 120_000),
        ("¥1,200.50", "en", "yuan", 120_050),
        ("-300", "zh-CN", "yuan", -30_000),
        ("１２００元", "zh-CN", "yuan", 120_000),
        ("0.12", "zh-CN", "wan", 120_000),  # 0.12 万元
        ("1.5", "en", "k", 150_000),
    ],
)
def test_parse_amount_in_the_pages_unit(typed, lang, scale, cents):
    assert av.parse_amount(typed, Units(lang, scale=scale)) == (cents, "")


def test_check_decision_says_what_is_wrong_by_control():
    en, zh = Units("en", scale="yuan"), Units("zh-CN", scale="yuan")
    assert av.check_decision("partly_accepted", "500", "half is due", en) == (50_000, {})
    assert av.check_decision("rejected", "not read", "counted once", en) == (0, {})
    _, p = av.check_decision("partly_accepted", "", "", en)
    assert set(p) == {"amount", "reason"}
    assert p["reason"] == "A decision needs a reason the rep can read."
    assert "in ¥" in p["amount"]
    _, p = av.check_decision("accepted", "abc", "x", zh)
    assert p == {"amount": "“abc”不是金额：请填写以元为单位的数字，如 1,200.00。"}
    _, p = av.check_decision("accepted", "0", "x", en)
    assert "cannot be 0" in p["amount"]
    _, p = av.check_decision("partly_accepted", "12.345", "x", en)
    assert "to the cent" in p["amount"] and "12.345" in p["amount"]
    _, p = av.check_decision("partly_accepted", "1e12", "x", en)
    assert "check the amount" in p["amount"]
    _, p = av.check_decision(None, "", "x", zh)
    assert p == {"outcome": "请选择裁决结果：接受、部分接受或驳回。"}


def test_signed_in_text(ledger):
    p = ledger.roster.resolve("Wei Ping")
    assert av.signed_in_text(p, "en") == "Signed in as Wei Ping (manager)"
    assert av.signed_in_text(p, "zh-CN") == "当前用户：魏平（经理）"


# --------------------------------------------------------------------------- the app


@pytest.fixture(scope="module")
def ctx():
    from simlib.apps.tracking_dashboard import DashboardContext

    return DashboardContext.from_demo()


@pytest.fixture
def fresh(data, statements, tmp_path):
    """A ledger of its own (the app decides in it)."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    led = prepare(data, statements, url, Clock("2026-10-09T10:00"))
    led.close()
    return url


def _app(ctx, url, user="", node="T-SH", lang="en"):
    from simlib.apps.tracking_dashboard import Controls, TrackingDashboard

    level = ctx.level_of(node)
    app = TrackingDashboard(
        ctx,
        Controls("2026-10", level, node, lang),
        draw=False,
        user=user,
        ledger_url=url,
        clock=lambda: dt.datetime(2026, 10, 16, 9, tzinfo=BJ),
    )
    app.build()
    return app


def _text(app) -> str:
    return re.sub(
        r"<[^>]+>", " ", "".join(o.value for o in app.outputs.values() if isinstance(o.value, str))
    )


def test_app_without_a_ledger_says_so_and_creates_nothing(ctx, tmp_path):
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    for lang, said in (
        ("en", "No statements have been issued yet"),
        ("zh-CN", "尚未发布任何对账单"),
    ):
        app = _app(ctx, url, user="Wei Ping", lang=lang)
        assert said in app.outputs["appeals_head"].value
        assert "simlib ledger issue --period" in app.outputs["appeals_head"].value
        assert app._form.layout.display == "none"
    assert not (tmp_path / "none.sqlite").exists()


def test_app_signed_in_manager_decides(ctx, fresh):
    from simlib.ledger import open_ledger

    app = _app(ctx, fresh, user="Wei Ping", lang="zh-CN")
    o, c = app.outputs, app.controls
    assert "当前用户：魏平（经理）" in o["user"].value
    assert app._tabs.titles == ("概览", "申诉（1 件待裁决）")
    assert "张伟" in o["appeals"].value and "任超" not in o["appeals"].value
    assert [v for _, v in c["appeal"].options] == [1]
    # no reason: said next to the reason box, nothing decided
    c["outcome"].value = "partly_accepted"
    c["amount"].value = "800"
    c["decide"].click()
    assert "裁决需要写明理由" in o["reason_error"].value and o["amount_error"].value == ""
    # a bad amount: next to the amount
    c["amount"].value = "八百"
    c["reason"].value = "部分属实"
    c["decide"].click()
    assert "不是金额" in o["amount_error"].value
    c["amount"].value = "800"
    c["reason"].value = "部分属实"
    c["decide"].click()
    assert "已重新发布为第 2 版" in o["decide_status"].value, o["decide_status"].value
    assert "+800.00元" in o["decide_status"].value
    assert "部分接受" in o["appeals"].value and app._tabs.titles[1] == "申诉"
    assert c["decide"].disabled and c["appeal"].options[0][1] is None
    # the ledger has the decision
    led = open_ledger(ctx.data.reps, ctx.data.tables.get("org"), url=fresh)
    a = led.appeal(1)
    assert (a.state, a.decided_by, a.cents, a.outcome_reason) == (
        "partly_accepted",
        WEI_PING,
        80_000,
        "部分属实",
    )
    led.close()
    assert not ID.search(_text(app)) and not DEV.search(_text(app))
    app.close()


def test_app_race_second_manager_told_who_decided(ctx, fresh):
    first = _app(ctx, fresh, user="Wei Ping", node="S003")
    second = _app(ctx, fresh, user="Peng Zihan", node="S003")  # the director
    for app, why in ((first, "the deal closed in September"), (second, "no")):
        app.controls["outcome"].value = "rejected"
        app.controls["reason"].value = why
    first.controls["decide"].click()
    assert "Appeal #1: rejected." in first.outputs["decide_status"].value
    second.controls["decide"].click()
    msg = second.outputs["decide_status"].value
    assert "simlib-field-error" in msg and "already decided by Wei Ping at" in msg
    assert "rejected" in second.outputs["appeals"].value  # the table read again
    first.close()
    second.close()


def test_app_a_rep_is_refused_and_sees_only_their_own(ctx, fresh):
    app = _app(ctx, fresh, user="Ren Chao", node="CO", lang="en")
    assert "Signed in as Ren Chao (sales rep)" in app.outputs["user"].value
    shown = app.appeals
    assert _ids(shown) == [3]
    app.controls["outcome"].value = "rejected"
    app.controls["reason"].value = "no"
    app.controls["decide"].click()
    msg = app.outputs["decide_status"].value
    assert "simlib-field-error" in msg and "nobody decides an appeal on their own statement" in msg
    app.controls["lang"].value = "zh-CN"
    app.controls["review"].click()
    assert "不能裁决自己对账单的申诉" in app.outputs["decide_status"].value
    app.close()


def test_app_without_user_is_read_only_director_view(ctx, fresh):
    app = _app(ctx, fresh, user="", node="CO")
    assert _ids(app.appeals) == [1, 3, 4, 2]
    assert "Read-only" in app.outputs["appeals_head"].value and "?user=" in (
        app.outputs["appeals_head"].value
    )
    assert app._form.layout.display == "none"
    assert app.outputs["user"].value == ""
    # the view follows the drilled node
    app.controls["drill"].value = "R-EAST"
    app.controls["drill"].value = "T-HZ"
    assert _ids(app.appeals) == [3, 4]
    assert "Appeals · Hangzhou Team" in app.outputs["appeals_head"].value
    app.close()


def test_app_unknown_user_said_in_their_language(ctx, fresh):
    app = _app(ctx, fresh, user="Nobody Here", lang="zh-CN")
    assert "simlib-field-error" in app.outputs["user"].value
    assert "组织数据中没有“Nobody Here”" in app.outputs["user"].value
    assert app._form.layout.display == "none"
    app.close()


def test_app_ledger_failure_apologises_in_the_appeals_view(ctx, fresh, monkeypatch, caplog):
    from simlib.apps import tracking_dashboard as td

    app = _app(ctx, fresh, user="Wei Ping")

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(td._appeals, "appeal_frame", boom)
    with caplog.at_level("ERROR", logger=td.__name__):
        app.controls["lang"].value = "zh-CN"
    assert "simlib-apology" in app.outputs["appeals_head"].value
    assert "disk on fire" in caplog.text and "disk on fire" not in _text(app)
    assert app.outputs["kpi_revenue"].value  # the overview still shows
    app.close()

"""What the reports show from the governance ledger (simlib.views.governance, issue 15).

A ledger in a temp folder holds the demo company's people and a small history worked by
hand on the China calendar (params/calendar_cn.yaml; Beijing times):

* 2026-09-01 the director issues the 2026-08 statements; 09-02 Yao Jing appeals (#1,
  decision due 09-09) and nobody decides it.
* 2026-10-09 the 2026-09 statements; on Mon 10-12 Zhang Wei (#2), Jiang Jun (#3),
  Ren Chao of Hangzhou (#4), Yao Jing (#5) and Wei Hui (#6) appeal, decisions due 10-19
  (13, 14, 15, 16, 19 October). The manager Wei Ping takes #2 up on 10-13 and accepts
  ¥500 on 10-14; Yao Jing withdraws #5 on 10-14; the director rejects #6 on 10-15; #3 and
  #4 stay open.
* 2026-11-02 the 2026-10 statements; Zhang Wei appeals (#7) on 11-03, partly accepted
  ¥200 on 11-04.
* Plan tiered_cn: version 1 approved 09-29 (acknowledged by Zhang Wei and Jiang Jun on
  09-30), version 2 approved 11-06 (acknowledged by Jiang Jun on 11-09).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from simlib.data import load_demo
from simlib.ledger.params import open_ledger
from simlib.plans import Line, Statement, StatementSet
from simlib.present import Units
from simlib.views import governance as gov
from tests.textlint import lint_text

BJ = dt.timezone(dt.timedelta(hours=8))
ROOT = Path(__file__).resolve().parents[1]
PLAN_V1 = (ROOT / "params" / "plans" / "tiered_cn.yaml").read_text(encoding="utf-8")
PLAN_V2 = PLAN_V1 + "\n# version 2: the same terms, reworded\n"
TEAM_SH = ("S003", "S004", "S005", "S006")


class Clock:
    def __init__(self, when: str = "2026-09-01T10:00"):
        self.set(when)

    def set(self, when: str) -> None:
        self.now = dt.datetime.fromisoformat(when).replace(tzinfo=BJ)

    def __call__(self) -> dt.datetime:
        return self.now


def _statement(rep: str, period: str, k: int) -> Statement:
    amounts = [250_000 + 1_000 * k, 180_000, 96_300]  # in cents
    lines = tuple(
        Line("commission", f"OPP0{k}{i}100: {c:,.0f} × 1% = {c / 100:,.0f}", c)
        for i, c in enumerate(amounts)
    )
    return Statement(
        plan="tiered_cn",
        rep_id=rep,
        period=period,
        window=period,
        currency="CNY",
        measure="revenue",
        result=1.0,
        quota=None,
        attainment=None,
        band=None,
        gate_met=True,
        lines=lines,
        earned_cents=sum(amounts),
        payable_cents=sum(amounts),
    )


def _issue(led, period: str) -> dict[str, int]:
    reps = (*TEAM_SH, "S012")
    sts = StatementSet("tiered_cn", tuple(_statement(r, period, k) for k, r in enumerate(reps)))
    res = led.issue(sts, actor="S001", plan_hash="ph", data_fingerprint="fp")
    return {s.rep_id: s.id for s in res.issued}


def build_ledger(url: str, data=None) -> None:
    """Write the history of the module's docstring into the ledger at ``url``."""
    data = data if data is not None else load_demo()
    clock = Clock()
    led = open_ledger(data.reps, data.tables["org"], url=url, clock=clock)
    try:
        at = clock.set
        at("2026-09-01T10:00")
        aug = _issue(led, "2026-08")
        at("2026-09-02T10:00")
        led.file("S005", aug["S005"], 1, "a deal closed on 31 August is missing")  # 1
        at("2026-09-28T10:00")
        v = led.record_version("S002", "plan", "tiered_cn", PLAN_V1, "the 2026 plan")
        led.submit("S002", "plan", "tiered_cn", v.version)
        at("2026-09-29T10:00")
        led.approve("S001", "plan", "tiered_cn", v.version, "agreed in the workshop")
        at("2026-09-30T10:00")
        led.acknowledge("S003", "tiered_cn", 1)
        led.acknowledge("S004", "tiered_cn", 1)
        at("2026-10-09T10:00")
        sep = _issue(led, "2026-09")
        at("2026-10-12T10:00")
        led.file("S003", sep["S003"], 2, "the rate should be 1.5% above one million")  # 2
        led.file("S004", sep["S004"], 1, "the amount <b>includes</b> tax")  # 3
        led.file("S012", sep["S012"], 1, "wrong customer")  # 4
        led.file("S005", sep["S005"], 1, "duplicate line")  # 5
        led.file("S006", sep["S006"], 3, "deal belongs to me, not split")  # 6
        at("2026-10-13T09:00")
        led.start_review("S002", 2)
        at("2026-10-14T10:00")
        led.decide("S002", 2, "accepted", 50_000, "the band was read wrongly")
        at("2026-10-14T11:00")
        led.withdraw("S005", 5, "my mistake")
        at("2026-10-15T10:00")
        led.decide("S001", 6, "rejected", 0, "the split follows the CRM record")
        at("2026-11-02T10:00")
        octo = _issue(led, "2026-10")
        at("2026-11-03T10:00")
        led.file("S003", octo["S003"], 1, "the deal amount changed after signing")  # 7
        at("2026-11-04T10:00")
        led.decide("S002", 7, "partly_accepted", 20_000, "half of the change is in October")
        at("2026-11-05T10:00")
        v = led.record_version("S002", "plan", "tiered_cn", PLAN_V2, "reworded")
        led.submit("S002", "plan", "tiered_cn", v.version)
        at("2026-11-06T10:00")
        led.approve("S001", "plan", "tiered_cn", v.version, "same terms")
        at("2026-11-09T10:00")
        led.acknowledge("S004", "tiered_cn", 2)
    finally:
        led.close()


@pytest.fixture(scope="module")
def data():
    return load_demo()


@pytest.fixture(scope="module")
def url(tmp_path_factory, data):
    u = f"sqlite:///{tmp_path_factory.mktemp('gov')}/ledger.sqlite"
    build_ledger(u, data)
    return u


@pytest.fixture
def ledger(url, data):
    led = gov.open_report_ledger(data, url)
    yield led
    led.close()


def _ids(frame) -> list[str]:
    return list(frame["appeal"])


# ---------------------------------------------------------------------- the team


def test_team_month_lists_filed_decided_and_still_open_appeals(ledger):
    t = gov.team_appeals(ledger, "T-SH", "2026-10", on=dt.date(2026, 10, 31), lang="en")
    assert t.present
    # #1 open from September, #2..#6 filed in October; #4 is Hangzhou's
    assert _ids(t.rows) == ["#1", "#2", "#3", "#5", "#6"]
    r = t.rows.set_index("appeal")
    assert list(r["rep"]) == ["Yao Jing", "Zhang Wei", "Jiang Jun", "Yao Jing", "Wei Hui"]
    assert list(r["state"]) == ["filed", "accepted", "filed", "withdrawn", "rejected"]
    assert list(r["overdue"]) == [True, False, True, False, False]
    assert r.at["#2", "cents"] == 50_000 and pd.isna(r.at["#6", "cents"])
    assert r.at["#2", "decided_by"] == "Wei Ping" and r.at["#6", "decided_by"] == "Peng Zihan"
    assert r.at["#2", "decided_on"] == dt.date(2026, 10, 14)
    assert r.at["#2", "decision"] == "Wei Ping · 2026-10-14: the band was read wrongly"
    assert r.at["#3", "decision_due"] == dt.date(2026, 10, 19)
    assert r.at["#1", "decision_due"] == dt.date(2026, 9, 9)
    assert r.at["#2", "line"] == "line 2: OPP001100: 180,000 × 1% = 1,800"
    assert r.at["#2", "line_cents"] == 180_000
    assert r.at["#2", "period_text"] == "2026-09" and r.at["#1", "period"] == "2026-08"
    assert t.counts == {
        "filed": 4,
        "decided": 2,
        "withdrawn": 1,
        "accepted_cents": 50_000,
        "open": 2,
        "overdue": 2,
    }


def test_team_summary_line_in_both_languages(ledger):
    t = gov.team_appeals(ledger, "T-SH", "2026-10", on=dt.date(2026, 10, 31), lang="en")
    assert t.summary("en", Units("en")) == (
        "2026-10: 4 filed, 2 decided (adjustments accepted +¥500.00), 2 open, 2 overdue."
        " 1 withdrawn."
    )
    tz = gov.team_appeals(ledger, "T-SH", "2026-10", on=dt.date(2026, 10, 31), lang="zh-CN")
    assert tz.summary("zh-CN", Units("zh-CN")) == (
        "2026年10月：提交 4 件，裁决 2 件（接受的调整合计 +500.00元），未结 2 件，逾期 2 件。"
        "另有 1 件撤回。"
    )
    r = tz.rows.set_index("appeal")
    assert list(r["state_text"]) == ["已提交", "接受", "已提交", "已撤回", "驳回"]
    assert list(r["rep"]) == ["姚静", "张伟", "蒋军", "姚静", "魏慧"]
    assert r.at["#2", "line"] == "第 2 行：OPP001100: 180,000 × 1% = 1,800"
    assert r.at["#2", "period_text"] == "2026年9月"


def test_overdue_is_judged_on_the_day_given_not_the_clock(ledger):
    early = gov.team_appeals(ledger, "T-SH", "2026-10", on=dt.date(2026, 10, 19))
    assert list(early.rows["overdue"]) == [True, False, False, False, False]  # #3 due that day
    # by default: the day of the ledger's last event (2026-11-09)
    assert gov.team_appeals(ledger, "T-SH", "2026-10").counts["overdue"] == 2
    assert gov.ledger_head(ledger).local_date(ledger) == dt.date(2026, 11, 9)
    assert gov.judged_on(ledger, pd.Timestamp("2026-11-20")) == dt.date(2026, 11, 20)
    assert gov.judged_on(ledger, pd.Timestamp("2026-10-01")) == dt.date(2026, 11, 9)


def test_other_months_and_teams(ledger):
    nov = gov.team_appeals(ledger, "T-SH", "2026-11", on=dt.date(2026, 11, 20))
    assert _ids(nov.rows) == ["#1", "#3", "#7"]
    assert nov.counts == {
        "filed": 1,
        "decided": 1,
        "withdrawn": 0,
        "accepted_cents": 20_000,
        "open": 2,
        "overdue": 2,
    }
    assert nov.rows.set_index("appeal").at["#7", "state"] == "partly_accepted"
    sep = gov.team_appeals(ledger, "T-SH", "2026-09", on=dt.date(2026, 9, 30))
    assert _ids(sep.rows) == ["#1"] and sep.counts["filed"] == 1 and sep.counts["overdue"] == 1
    hz = gov.team_appeals(ledger, "T-HZ", "2026-10")
    assert _ids(hz.rows) == ["#4"] and list(hz.rows["rep"]) == ["Ren Chao"]
    east = gov.team_appeals(ledger, "R-EAST", "2026-10")  # a region: every team under it
    assert _ids(east.rows) == ["#1", "#2", "#3", "#4", "#5", "#6"]
    quiet = gov.team_appeals(ledger, "T-BJ", "2026-10", lang="en")
    assert quiet.present and quiet.rows.empty
    assert quiet.summary("en", Units("en")) == (
        "No appeals from the team were filed or decided in 2026-10, and none is open."
    )
    html = quiet.html(Units("en"))
    assert "<table" not in html and "No appeals from the team" in html
    with pytest.raises(ValueError, match="month must look like"):
        gov.team_appeals(ledger, "T-SH", "2026-Q4")


def test_the_team_rows_are_those_the_team_manager_sees(ledger):
    """Read as the system, kept to the team: the manager's own view of the team."""
    t = gov.team_appeals(ledger, "T-SH", "2026-10")
    seen = {f"#{a.id}" for a in ledger.appeals(viewer="S002")}
    assert set(_ids(t.rows)) <= seen
    assert seen - set(_ids(t.rows)) == {"#7"}  # filed in November


def test_team_section_html_escapes_flags_and_reads_as_a_page(ledger):
    for lang in ("en", "zh-CN"):
        t = gov.team_appeals(ledger, "T-SH", "2026-10", on=dt.date(2026, 10, 31), lang=lang)
        html = t.html(Units(lang))
        assert ("<h2>Appeals</h2>" if lang == "en" else "<h2>申诉</h2>") in html
        assert "&lt;b&gt;includes&lt;/b&gt;" in html and "<b>includes" not in html
        assert html.count("#c62828") == 4  # two overdue states, two overdue due dates
        text = repr(html)
        assert "<" not in text.replace("<b>includes</b>", "")
        assert not lint_text(text, lang), lint_text(text, lang)
        for rep_id in ("S003", "S004", "S005", "S006", "T-SH"):
            assert rep_id not in text
    # an appeal's amounts in the statement's own unit, stated in the headers
    assert "Adjustment (¥)" in t.html(Units("en")) and "+500.00" in t.html(Units("en"))
    assert "调整（元）" in t.html(Units("zh-CN")) and "行金额（元）" in t.html(Units("zh-CN"))


def test_a_line_in_words_without_ids():
    from types import SimpleNamespace as NS

    adj = NS(line_no=4, kind="adjustment", text="appeal #2 partly accepted: half", cents=1)
    assert gov._line_label(adj, "en", {}) == "line 4: appeal #2 partly accepted: half"
    assert gov._line_label(adj, "zh-CN", {}) == "第 4 行：申诉 #2 部分接受：half"
    team = NS(line_no=1, kind="commission", text="OPP1 (S006): 1,000 × 1% = 10", cents=1000)
    assert gov._line_label(team, "en", {"S006": None}) == "line 1: OPP1: 1,000 × 1% = 10"
    assert gov._line_label(None, "en", {}) == "—"


# ---------------------------------------------------------------------- the rep


def test_rep_open_and_recently_decided_appeals(ledger):
    s3 = gov.rep_appeals(ledger, "S003", dt.date(2026, 10, 1), lang="en")
    assert s3.open.empty and _ids(s3.decided) == ["#7", "#2"]
    d = s3.decided.set_index("appeal")
    assert list(d["state"]) == ["partly_accepted", "accepted"]
    assert list(d["cents"]) == [20_000, 50_000]
    assert list(d["decided_by"]) == ["Wei Ping", "Wei Ping"]
    s4 = gov.rep_appeals(ledger, "S004", dt.date(2026, 10, 1), on=dt.date(2026, 10, 31))
    assert _ids(s4.open) == ["#3"] and bool(s4.open["overdue"].iloc[0]) and s4.decided.empty
    assert s4.summary("en") == "1 open (1 overdue), 0 decided since 2026-10-01."
    assert s4.summary("zh-CN") == "未结 1 件（逾期 1 件），2026-10-01 以来已结 0 件。"
    s3 = gov.rep_appeals(ledger, "S003", dt.date(2026, 10, 1))
    assert s3.summary("en") == "0 open, 2 decided since 2026-10-01."
    assert "Overdue: not decided by the decision due date (judged on 2026-10-31)." in s4.html(
        Units("en", scale="yuan")
    )
    s5 = gov.rep_appeals(ledger, "S005", dt.date(2026, 10, 1))
    assert _ids(s5.open) == ["#1"] and _ids(s5.decided) == ["#5"]
    assert s5.decided["state"].iloc[0] == "withdrawn"
    later = gov.rep_appeals(ledger, "S003", dt.date(2026, 11, 1))
    assert _ids(later.decided) == ["#7"]


def test_rep_section_shows_only_the_reps_own(ledger):
    for lang in ("en", "zh-CN"):
        s = gov.rep_appeals(ledger, "S004", dt.date(2026, 10, 1), lang=lang)
        html = s.html(Units(lang, scale="yuan"))
        assert ("My open appeals" if lang == "en" else "我的申诉") in html
        assert "1,800.00" not in html  # Zhang Wei's line
        assert "2,510.00" in html  # the own line's amount, to the cent
        text = repr(html)
        assert not lint_text(text, lang), lint_text(text, lang)
        for other in ("Zhang Wei", "张伟", "Yao Jing", "姚静", "Ren Chao", "S003"):
            assert other not in text
    s3 = gov.rep_appeals(ledger, "S003", dt.date(2026, 10, 1), lang="zh-CN")
    html = s3.html(Units("zh-CN", scale="yuan"))
    assert "你没有未结的申诉。" in html and "+500.00" in html and "+200.00" in html
    assert "魏平" in html and "部分接受" in html


# ---------------------------------------------------------------------- the plan


def test_plan_acknowledgement_against_the_approved_version(ledger):
    (s3,) = gov.plan_acknowledgement(ledger, "S003", ["tiered_cn"])
    assert (s3.acknowledged, s3.acknowledged_on, s3.approved, s3.approved_on) == (
        1,
        dt.date(2026, 9, 30),
        2,
        dt.date(2026, 11, 6),
    )
    assert not s3.up_to_date
    assert s3.sentence("en", "Tiered commission", "Zhang Wei") == (
        "You acknowledged version 1 of Tiered commission on 2026-09-30; version 2, approved "
        "on 2026-11-06, is not yet acknowledged — run simlib plans accept --plan tiered_cn "
        "--as 'Zhang Wei'"
    )
    assert s3.sentence("zh-CN", "阶梯提成", "张伟") == (
        "你已于 2026-09-30 确认阶梯提成第 1 版；2026-11-06 批准的第 2 版尚未确认——请运行 "
        "simlib plans accept --plan tiered_cn --as 张伟"
    )
    (s4,) = gov.plan_acknowledgement(ledger, "S004", ["tiered_cn"])
    assert s4.up_to_date and s4.sentence("en", "Tiered commission") == (
        "You acknowledged version 2 of Tiered commission on 2026-11-09: the approved version."
    )
    (s5,) = gov.plan_acknowledgement(ledger, "S005", ["tiered_cn"])
    assert s5.acknowledged is None and s5.sentence("en", "Tiered commission") == (
        "Version 2 of Tiered commission, approved on 2026-11-06, is not yet acknowledged — "
        "run simlib plans accept --plan tiered_cn"
    )
    (other,) = gov.plan_acknowledgement(ledger, "S005", ["saas_quota"])
    assert other.approved is None and other.sentence("en", "SaaS") == (
        "SaaS has no approved version in the ledger yet: there is nothing to acknowledge."
    )
    # a plan acknowledged but not asked about is listed too
    both = gov.plan_acknowledgement(ledger, "S003", ["saas_quota"])
    assert [p.plan for p in both] == ["saas_quota", "tiered_cn"]


def test_plan_section_html(ledger):
    items = gov.plan_acknowledgement(ledger, "S003", ["tiered_cn"])
    html = gov.plan_acknowledgement_html(items, "zh-CN", who="张伟")
    assert "<h2>方案确认</h2>" in html and "<code>simlib plans accept" in html
    assert "阶梯提成第 1 版" in html  # the plan by its label, not its file name
    en = gov.plan_acknowledgement_html(items, "en", who="Zhang Wei")
    assert "Plan acknowledged" in en and "Tiered commission" in en
    assert not lint_text(repr(en), "en")
    assert gov.plan_title("no_such_plan", "en") == "no_such_plan"


# ---------------------------------------------------------------------- no ledger


def test_an_absent_ledger_is_not_created_and_says_so(tmp_path, data):
    path = tmp_path / "sub" / "never.sqlite"
    url = f"sqlite:///{path}"
    assert gov.open_report_ledger(data, url) is None
    assert not path.exists() and not path.parent.exists()
    t = gov.team_appeals(None, "T-SH", "2026-10")
    assert not t.present and t.rows.empty
    for lang, words in (
        ("en", "No statements have been issued to the ledger yet, so there are no appeals."),
        ("zh-CN", "账本中尚未发布对账单，因此没有申诉。"),
    ):
        html = t.html(Units(lang))
        assert words in html and "<table" not in html
        assert repr(html).count("\n") == 1  # a title and one line
        r = gov.rep_appeals(None, "S003", "2026-10-01").html(Units(lang, scale="yuan"))
        assert words in r and "<table" not in r
        p = gov.plan_acknowledgement_html(gov.plan_acknowledgement(None, "S003"), lang)
        assert ("No plan has been approved" if lang == "en" else "账本中尚无批准的方案") in p


def test_an_empty_ledger_reads_as_no_statements(tmp_path, data):
    url = f"sqlite:///{tmp_path}/empty.sqlite"
    open_ledger(data.reps, data.tables["org"], url=url).close()  # created, no event
    led = gov.open_report_ledger(data, url)
    try:
        assert gov.ledger_head(led).events == 0
        t = gov.team_appeals(led, "T-SH", "2026-10")
        assert not t.present
        assert "No statements have been issued" in t.html(Units("en"))
        assert not gov.rep_appeals(led, "S003", "2026-10-01").present
        (p,) = gov.plan_acknowledgement(led, "S003", ["tiered_cn"])
        assert p.approved is None
    finally:
        led.close()


def test_a_ledger_url_that_is_no_url_says_what_it_should_be(data):
    with pytest.raises(ValueError, match="the ledger must be a database URL like sqlite:///"):
        gov.open_report_ledger(data, "not a url")


def test_the_ledger_url_comes_from_the_environment(tmp_path, data, url, monkeypatch):
    monkeypatch.setenv("SIMLIB_LEDGER", url)
    led = gov.open_report_ledger(data)
    try:
        assert led is not None and gov.ledger_head(led).events > 0
    finally:
        led.close()
    monkeypatch.setenv("SIMLIB_LEDGER", f"sqlite:///{tmp_path}/absent.sqlite")
    assert gov.open_report_ledger(data) is None
    assert not (tmp_path / "absent.sqlite").exists()


# ---------------------------------------------------------------------- the views


@pytest.fixture(scope="module")
def facts():
    from simlib.views.team_review import load_facts

    return load_facts()


def test_monthly_review_and_rep_pack_read_the_ledger(facts, url):
    from simlib.views.team_review import monthly_review, rep_pack

    r = monthly_review(facts, "T-SH", "2026-10", "en", ledger=url)
    text = repr(r.appeals())
    # overdue judged on the data's last day (2026-11-20), later than the last event
    assert "2026-10: 4 filed, 2 decided" in text and "2 open, 2 overdue" in text
    assert r.team_appeals.judged_on == dt.date(2026, 11, 20)
    p = rep_pack(facts, "S003", "2026-10", "zh-CN", ledger=url)
    assert "我的申诉" in repr(p.my_appeals()) and "+500.00" in repr(p.my_appeals())
    ack = repr(p.plan_acknowledged())
    assert "方案确认" in ack and "尚未确认" in ack and "--as 张伟" in ack
    none = monthly_review(facts, "T-SH", "2026-10", "zh-CN", ledger=None)
    assert "账本中尚未发布对账单" in repr(none.appeals())

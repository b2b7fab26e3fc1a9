"""The governance ledger (issue 15): issued statements, appeals, roles, the trail.

Deadlines are worked by hand on the China calendar (params/calendar_cn.yaml):
National Day 2026-10-01..07 off, Saturday 2026-10-10 worked; Spring Festival
2026-02-15..23 off, Saturday 2026-02-14 worked. Times are given in Beijing time
(UTC+8), the ledger's default zone.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from simlib.calendar import load_calendar
from simlib.ledger import (
    AlreadyDecided,
    DeadlinePassed,
    Forbidden,
    InvalidRequest,
    Ledger,
    LedgerError,
    NotFound,
    Roster,
)
from simlib.plans import Line, Statement, StatementSet
from tests.ledger_backends import BACKENDS, ledger_url, pg_socket_dir  # noqa: F401

BJ = dt.timezone(dt.timedelta(hours=8))

#: A small company: director D, a regional manager MR above two teams, managers M1 (T1)
#: and M2 (T2), reps R1, R2 (T1) and R3 (T2), an admin from appeals.yaml.
REPS = pd.DataFrame(
    {
        "rep_id": ["D", "MR", "M1", "M2", "R1", "R2", "R3"],
        "name": ["Di Rector", "Reg Ional", "Ma Nager", "Mo Nager", "Rui Ep", "Ren Two", "Ru Three"],
        "name_zh": ["总监", "区域", "经理一", "经理二", "销售一", "销售二", "销售三"],
        "team_id": ["CO", "R-E", "T1", "T2", "T1", "T1", "T2"],
        "role": ["director", "manager", "manager", "manager", "rep", "rep", "rep"],
    }
)
ORG = pd.DataFrame(
    {
        "node_id": ["CO", "R-E", "T1", "T2"],
        "parent_id": [None, "CO", "R-E", "CO"],
        "level": ["company", "region", "team", "team"],
        "name": ["Co", "East", "Team 1", "Team 2"],
    }
)


class Clock:
    """A settable clock (Beijing wall time in, aware UTC out)."""

    def __init__(self, when: str):
        self.set(when)

    def set(self, when: str) -> None:
        self.now = dt.datetime.fromisoformat(when).replace(tzinfo=BJ)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def roster():
    return Roster.from_tables(REPS, ORG, admins=["ops"])


@pytest.fixture(scope="module")
def calendar():
    return load_calendar("calendar_cn.yaml")


@pytest.fixture
def clock():
    return Clock("2026-09-29T10:00")


@pytest.fixture(params=BACKENDS)
def ledger(tmp_path, roster, calendar, clock, request):
    led = Ledger(
        ledger_url(request.param, tmp_path, request),
        roster=roster,
        calendar=calendar,
        window_working_days=3,
        decision_working_days=5,
        clock=clock,
    )
    yield led
    led.close()


def statement(rep: str, period: str, cents: list[int], plan: str = "p") -> Statement:
    lines = tuple(
        Line("commission", f"line {i + 1}: {c / 100:.2f}", c) for i, c in enumerate(cents)
    )
    return Statement(
        plan=plan,
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
        earned_cents=sum(cents),
        payable_cents=sum(cents),
    )


def issue(led, rows, actor="ops", period="2026-09"):
    sts = StatementSet("p", tuple(statement(r, period, c) for r, c in rows.items()))
    return led.issue(sts, actor=actor, plan_hash="ph", data_fingerprint="fp")


BASE = {"R1": [100_000, 25_050], "R2": [50_000], "R3": [70_000, 1_000, 2_000], "M1": [9_900]}


# ---------------------------------------------------------------------- issuing


def test_issue_stores_one_version_per_statement_and_same_content_is_a_no_op(ledger):
    res = issue(ledger, BASE)
    assert len(res.issued) == 4 and res.unchanged == ()
    r1 = ledger.latest("p", "R1", "2026-09")
    assert r1.version == 1 and r1.payable_cents == 125_050
    assert [(ln.line_no, ln.kind, ln.cents) for ln in r1.lines] == [
        (1, "commission", 100_000),
        (2, "commission", 25_050),
    ]
    assert r1.issued_at.tzinfo is not None and r1.issued_at.utcoffset() == dt.timedelta(0)
    n = len(ledger.log())
    assert n == 5  # four statements and the batch
    again = issue(ledger, BASE)
    assert again.issued == () and len(again.unchanged) == 4 and again.batch is None
    assert len(ledger.log()) == n
    assert ledger.verify()


def test_reissue_with_changed_content_is_version_two_with_the_line_difference(ledger, clock):
    issue(ledger, BASE)
    clock.set("2026-09-30T09:00")
    res = issue(ledger, dict(BASE, R1=[100_000, 30_000, 500]))
    assert [s.rep_id for s in res.issued] == ["R1"] and len(res.unchanged) == 3
    v2 = ledger.latest("p", "R1", "2026-09")
    assert v2.version == 2 and v2.payable_cents == 130_500
    ev = ledger.log(object=f"statement:{v2.id}")[0]
    assert ev.kind == "statement.reissued"
    diff = ev.after["diff"]
    assert [(d["line_no"], d["change"], d["delta_cents"]) for d in diff] == [
        (2, "changed", 4_950),
        (3, "added", 500),
    ]
    assert sum(d["delta_cents"] for d in diff) == v2.payable_cents - 125_050
    assert [ln["cents"] for ln in ev.before["lines"]] == [100_000, 25_050]
    # The first version is still there, unchanged.
    v1 = ledger.statement(v2.id - 4)
    assert (v1.version, v1.payable_cents) == (1, 125_050)
    assert ledger.verify()


def test_issue_is_all_or_nothing(ledger):
    bad = statement("R2", "2026-09", [1])
    bad = Statement(**{**bad.__dict__, "lines": (Line("commission", "x", "not cents"),)})
    sts = StatementSet("p", (statement("R1", "2026-09", [5]), bad))
    with pytest.raises(ValueError):
        ledger.issue(sts, actor="ops", plan_hash="ph", data_fingerprint="fp")
    assert ledger.statements() == [] and ledger.log() == []
    assert ledger.verify()


def test_issue_refuses_an_empty_batch_and_duplicates(ledger):
    with pytest.raises(InvalidRequest, match="no statements"):
        ledger.issue(StatementSet("p", ()), actor="ops", plan_hash="", data_fingerprint="")
    dup = StatementSet("p", (statement("R1", "2026-09", [1]), statement("R1", "2026-09", [2])))
    with pytest.raises(InvalidRequest, match="two statements for R1 2026-09"):
        ledger.issue(dup, actor="ops", plan_hash="", data_fingerprint="")


# ---------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    "issued, last_ok, first_late, window_end",
    [
        # Tue 09-29: Wed 09-30 (1), National Day 10-01..07, Thu 10-08 (2), Fri 10-09 (3).
        ("2026-09-29T10:00", "2026-10-09T23:59", "2026-10-10T00:01", "2026-10-09"),
        # Thu 10-08: Fri 10-09 (1), Sat 10-10 worked (2), Mon 10-12 (3).
        ("2026-10-08T10:00", "2026-10-12T18:00", "2026-10-13T08:00", "2026-10-12"),
        # Thu 02-12: Fri 02-13 (1), Sat 02-14 worked (2), Spring Festival 02-15..23, Tue 02-24 (3).
        ("2026-02-12T16:00", "2026-02-24T20:00", "2026-02-25T09:00", "2026-02-24"),
        # Issued late on Tue 09-29 Beijing time (15:30 UTC): the window counts from 09-29.
        ("2026-09-29T23:30", "2026-10-09T23:59", "2026-10-10T00:01", "2026-10-09"),
    ],
)
def test_appeal_window_counts_working_days_on_the_china_calendar(
    ledger, clock, issued, last_ok, first_late, window_end
):
    clock.set(issued)
    r1 = issue(ledger, BASE).issued[0]
    clock.set(last_ok)
    a = ledger.file("R1", r1.id, 1, "deal D-17 is missing")
    assert a.window_ends == dt.date.fromisoformat(window_end)
    ledger.withdraw("R1", a.id)
    clock.set(first_late)
    with pytest.raises(DeadlinePassed) as e:
        ledger.file("R1", r1.id, 1, "deal D-17 is missing")
    assert f"closed at the end of {window_end}" in str(e.value)
    assert window_end in e.value.message("zh-CN") and "申诉期" in e.value.message("zh-CN")


def test_decision_deadline_and_overdue(ledger, clock):
    r1 = issue(ledger, BASE).issued[0]
    clock.set("2026-09-30T11:00")
    a = ledger.file("R1", r1.id, 2, "rate should be 5%")
    # Filed Wed 09-30: Thu 10-08 (1), Fri 10-09 (2), Sat 10-10 worked (3), Mon 10-12 (4),
    # Tue 10-13 (5).
    assert a.decision_due == dt.date(2026, 10, 13)
    assert ledger.overdue(dt.date(2026, 10, 13)) == []
    assert [x.id for x in ledger.overdue(dt.date(2026, 10, 14))] == [a.id]
    assert ledger.overdue(dt.date(2026, 10, 14), viewer="M2") == []  # not M2's team
    ledger.decide("M1", a.id, "rejected", 0, "5% applies from October")
    assert ledger.overdue(dt.date(2026, 10, 14)) == []


def test_appeals_waiting_for_a_decision_are_in_the_reminders(ledger, clock):
    from simlib.tracking import appeal_reminders

    r1 = issue(ledger, BASE).issued[0]
    clock.set("2026-09-30T11:00")
    a = ledger.file("R1", r1.id, 2, "rate should be 5%")  # decision due Tue 10-13
    # Two working days before (Sat 10-10 is worked): nothing yet.
    assert appeal_reminders(ledger, "2026-10-10").empty
    # The working day before, the day itself, then overdue counted in working days.
    for day, status, days in (
        ("2026-10-12", "due", -1),
        ("2026-10-13", "due", 0),
        ("2026-10-14", "overdue", 1),
        ("2026-10-16", "overdue", 3),
    ):
        (r,) = appeal_reminders(ledger, day).itertuples()
        assert (r.kind, r.status, r.days, r.rep_id, r.team_id) == (
            "appeal",
            status,
            days,
            "R1",
            "T1",
        )
        assert r.value == pytest.approx(250.50) and r.subject_id == f"#{a.id}"
    (r,) = appeal_reminders(ledger, "2026-10-16").itertuples()
    assert r.message == (
        f"Appeal #{a.id} by Rui Ep on line 2 of the 2026-09 statement: 3 working day(s) past "
        "its decision deadline (2026-10-13)"
    )
    assert (
        r.message_zh
        == f"销售一对2026-09对账单第2行的申诉（#{a.id}）：已超过裁决期限3个工作日（2026-10-13）"
    )
    # by the ledger's own clock; only what the viewer may see; gone once decided
    clock.set("2026-10-14T09:00")
    assert list(appeal_reminders(ledger)["status"]) == ["overdue"]
    assert appeal_reminders(ledger, viewer="M2").empty
    ledger.decide("M1", a.id, "rejected", 0, "5% applies from October")
    assert appeal_reminders(ledger, "2026-10-16").empty


# ---------------------------------------------------------------------- the appeal flow


def test_accepted_appeal_reissues_with_one_adjustment_line_equal_to_the_decision(ledger, clock):
    r1 = issue(ledger, BASE).issued[0]
    clock.set("2026-09-30T09:00")
    a = ledger.file("销售一", r1.id, 2, "the December deal was booked in my name")
    assert a.state == "filed" and a.rep_id == "R1"
    a = ledger.start_review("M1", a.id)
    assert a.state == "under_review" and a.reviewer == "M1"
    clock.set("2026-10-08T15:00")
    a = ledger.decide("Ma Nager", a.id, "partly_accepted", 12_345, "half of the deal was yours")
    assert a.state == "partly_accepted" and a.decided_by == "M1" and a.cents == 12_345
    v2 = ledger.statement(a.reissued_statement_id)
    assert v2.version == 2 and v2.payable_cents == r1.payable_cents + 12_345
    assert v2.lines[:-1] == r1.lines
    assert (v2.lines[-1].kind, v2.lines[-1].cents) == ("adjustment", 12_345)
    diff = ledger.log(object=f"statement:{v2.id}")[0].after["diff"]
    assert [(d["change"], d["delta_cents"]) for d in diff] == [("added", 12_345)]
    # Issuing the period again from the plan keeps the adjustment: nothing changes.
    assert issue(ledger, BASE).issued == ()
    # A later correction keeps it too, and the rep can appeal the new version.
    res = issue(ledger, dict(BASE, R1=[100_000, 25_050, 700]))
    v3 = res.issued[0]
    assert [ln.kind for ln in v3.lines] == ["commission"] * 3 + ["adjustment"]
    assert v3.payable_cents == 125_750 + 12_345
    kinds = [e.kind for e in ledger.log(rep="R1")]
    assert kinds == [
        "statement.issued",
        "appeal.filed",
        "appeal.review_started",
        "statement.reissued",
        "appeal.decided",
        "statement.reissued",
    ]
    assert ledger.verify()


def test_rejected_appeal_changes_no_statement(ledger):
    r3 = issue(ledger, BASE).issued[2]
    a = ledger.file("R3", r3.id, 3, "wrong")
    a = ledger.decide("D", a.id, "rejected", 0, "the rate is right")
    assert a.state == "rejected" and a.reissued_statement_id is None
    assert ledger.latest("p", "R3", "2026-09").version == 1


def test_second_decision_is_refused_with_who_and_when(ledger, clock):
    r1 = issue(ledger, BASE).issued[0]
    a = ledger.file("R1", r1.id, 1, "wrong")
    clock.set("2026-09-29T16:05")
    ledger.decide("M1", a.id, "accepted", 500, "agreed")
    with pytest.raises(AlreadyDecided) as e:
        ledger.decide("D", a.id, "rejected", 0, "no")
    assert str(e.value) == (
        f"appeal #{a.id} was already decided by Ma Nager at 2026-09-29 16:05 (accepted)"
    )
    assert "经理一" in e.value.message("zh-CN")
    with pytest.raises(AlreadyDecided, match="already decided by Ma Nager"):
        ledger.withdraw("R1", a.id)
    with pytest.raises(AlreadyDecided, match="already decided"):
        ledger.start_review("M1", a.id)


def test_withdrawn_appeal_cannot_be_decided(ledger):
    r1 = issue(ledger, BASE).issued[0]
    a = ledger.withdraw("R1", ledger.file("R1", r1.id, 1, "wrong").id, "found it")
    assert a.state == "withdrawn"
    with pytest.raises(AlreadyDecided, match=f"appeal #{a.id} was withdrawn by Rui Ep"):
        ledger.decide("M1", a.id, "accepted", 1, "x")


def test_bad_requests_say_what_is_wrong(ledger, clock):
    res = issue(ledger, BASE)
    r1 = res.issued[0]
    with pytest.raises(InvalidRequest, match="needs a reason"):
        ledger.file("R1", r1.id, 1, "   ")
    with pytest.raises(NotFound, match=f"statement #{r1.id} has lines 1 to 2; there is no line 3"):
        ledger.file("R1", r1.id, 3, "x")
    with pytest.raises(NotFound, match="no issued statement #999"):
        ledger.file("R1", 999, 1, "x")
    with pytest.raises(NotFound, match="nobody called 'Nobody'"):
        ledger.file("Nobody", r1.id, 1, "x")
    a = ledger.file("R1", r1.id, 1, "x")
    with pytest.raises(InvalidRequest, match=f"appeal #{a.id} on line 1 .* still open"):
        ledger.file("R1", r1.id, 1, "again")
    for outcome, cents, msg in [
        ("maybe", 0, "not one of accepted, partly_accepted, rejected"),
        ("rejected", 100, "rejected appeal changes nothing"),
        ("accepted", 0, "give the amount"),
        ("accepted", 1.5, "cents must be whole"),
    ]:
        with pytest.raises(InvalidRequest, match=msg):
            ledger.decide("M1", a.id, outcome, cents, "because")
    with pytest.raises(InvalidRequest, match="needs a reason"):
        ledger.decide("M1", a.id, "accepted", 100, "")
    with pytest.raises(NotFound, match="no appeal #77"):
        ledger.decide("M1", 77, "accepted", 100, "x")
    ledger.decide("M1", a.id, "accepted", 100, "ok")  # re-issues R1 as version 2
    with pytest.raises(InvalidRequest, match=r"replaced by version 2 .*appeal a line of"):
        ledger.file("R1", r1.id, 2, "x")


# ---------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    "who, why",
    [
        ("R2", "may appeal only their own"),  # a rep on another rep's statement
        ("M1", "may appeal only their own"),  # their manager
        ("D", "may appeal only their own"),  # a director
        ("ops", "may appeal only their own"),  # an admin
    ],
)
def test_only_the_rep_files_on_their_statement(ledger, who, why):
    r1 = issue(ledger, BASE).issued[0]
    with pytest.raises(Forbidden, match=why) as e:
        ledger.file(who, r1.id, 1, "wrong")
    assert isinstance(e.value, PermissionError)
    assert "只能对自己的对账单申诉" in e.value.message("zh-CN")


@pytest.mark.parametrize(
    "who, allowed, why",
    [
        ("R1", False, "nobody decides an appeal on their own statement"),
        ("R2", False, "Ren Two's role is rep"),
        ("R3", False, "Ru Three's role is rep"),
        ("M2", False, "Mo Nager manages Team 2, not Rui Ep's team Team 1"),
        ("ops", False, "ops's role is admin"),
        ("M1", True, ""),
        ("MR", True, ""),  # manager of the region above T1
        ("D", True, ""),
    ],
)
@pytest.mark.parametrize("action", ["start_review", "decide"])
def test_who_may_review_and_decide(ledger, who, allowed, why, action):
    r1 = issue(ledger, BASE).issued[0]
    a = ledger.file("R1", r1.id, 1, "wrong")
    call = {
        "start_review": lambda: ledger.start_review(who, a.id),
        "decide": lambda: ledger.decide(who, a.id, "accepted", 100, "fine"),
    }[action]
    if allowed:
        assert call().state in ("under_review", "accepted")
    else:
        with pytest.raises(Forbidden, match=re.escape(why)):
            call()
        assert ledger.appeal(a.id).state == "filed"


def test_a_manager_appeals_their_own_statement_and_someone_above_decides(ledger):
    m1 = issue(ledger, BASE).issued[3]
    assert m1.rep_id == "M1"
    a = ledger.file("M1", m1.id, 1, "my override is missing")
    with pytest.raises(Forbidden, match="own statement"):
        ledger.decide("M1", a.id, "accepted", 100, "self")
    assert ledger.decide("MR", a.id, "accepted", 100, "agreed").state == "accepted"


@pytest.mark.parametrize("who", ["R2", "M2", "MR"])
def test_only_the_filer_withdraws(ledger, who):
    r1 = issue(ledger, BASE).issued[0]
    a = ledger.file("R1", r1.id, 1, "wrong")
    with pytest.raises(Forbidden, match="only they may withdraw"):
        ledger.withdraw(who, a.id)


@pytest.mark.parametrize("who, ok", [("R1", False), ("M1", False), ("D", True), ("ops", True)])
def test_who_issues(ledger, who, ok):
    if ok:
        assert len(issue(ledger, BASE, actor=who).issued) == 4
    else:
        with pytest.raises(Forbidden, match="only a director or an admin issues"):
            issue(ledger, BASE, actor=who)


def test_who_sees_what(ledger):
    res = issue(ledger, BASE)
    r1 = res.issued[0]
    ledger.file("R1", r1.id, 1, "wrong")
    r3 = res.issued[2]
    ledger.file("R3", r3.id, 1, "wrong too")
    for viewer in ("R2", "M2", "R3"):
        with pytest.raises(Forbidden, match="may not see Rui Ep's records"):
            ledger.statement(r1.id, viewer=viewer)
        with pytest.raises(Forbidden):
            ledger.history("R1", viewer=viewer)
    assert ledger.statement(r1.id, viewer="M1").id == r1.id
    seen = {
        v: sorted({a.rep_id for a in ledger.appeals(viewer=v)})
        for v in ("R1", "R2", "M1", "M2", "MR", "D", "ops")
    }
    assert seen == {
        "R1": ["R1"],
        "R2": [],
        "M1": ["R1"],
        "M2": ["R3"],
        "MR": ["R1"],
        "D": ["R1", "R3"],
        "ops": ["R1", "R3"],
    }
    assert {s.rep_id for s in ledger.statements(viewer="M1")} == {"M1", "R1", "R2"}
    assert {e.rep_id for e in ledger.log(viewer="R3")} == {"R3"}
    assert any(e.kind == "batch.issued" for e in ledger.log(viewer="ops"))


def test_roster_resolves_ids_and_names(roster):
    assert roster.resolve("R1").id == "R1"
    assert roster.resolve("rui ep").id == "R1"
    assert roster.resolve("销售二").id == "R2"
    assert roster.resolve("ops").role == "admin"
    with pytest.raises(NotFound, match="did you mean 'R1'"):
        roster.resolve("R11")
    dup = Roster.from_tables(
        pd.DataFrame({"rep_id": ["A", "B"], "name": ["Zhang Wei", "Zhang Wei"]})
    )
    with pytest.raises(NotFound, match=r"names several people \(A, B\)"):
        dup.resolve("Zhang Wei")


# ---------------------------------------------------------------------- the trail


def _sql(led, statement, *args, no_fk=False):
    """Edit the database behind the ledger's back: the SQLite file directly, or PostgreSQL."""
    if led.engine.dialect.name == "sqlite":
        con = sqlite3.connect(led.engine.url.database)
        with con:
            if no_fk:
                con.execute("PRAGMA foreign_keys = OFF")
            con.execute(statement, args)
        con.close()
        return
    with led.engine.connect() as c, c.begin():
        if no_fk:
            c.exec_driver_sql("SET session_replication_role = replica")
        c.exec_driver_sql(statement.replace("?", "%s"), tuple(args))


def test_verify_names_the_first_edited_event(ledger):
    r1 = issue(ledger, BASE).issued[0]
    ledger.decide("M1", ledger.file("R1", r1.id, 1, "x").id, "accepted", 100, "ok")
    good = ledger.verify()
    assert good.ok and good.events == 8
    _sql(ledger, "UPDATE ledger_events SET reason = 'nothing to see' WHERE seq = 6")
    v = ledger.verify()
    assert not v and v.first_broken == 6 and "does not match its hash" in v.problem


def test_verify_catches_a_row_edited_behind_the_trail(ledger):
    r1 = issue(ledger, BASE).issued[0]
    _sql(
        ledger,
        "UPDATE ledger_statement_lines SET cents = 999999 WHERE statement_id = ? AND line_no = 2",
        r1.id,
    )
    v = ledger.verify()
    assert not v and v.first_broken == 1
    assert f"statement lines row {r1.id} differs" in v.problem


def test_verify_catches_a_deleted_event_and_an_inserted_row(ledger):
    r1 = issue(ledger, BASE).issued[0]
    a = ledger.file("R1", r1.id, 1, "x")
    ledger.withdraw("R1", a.id)
    _sql(
        ledger,
        "INSERT INTO ledger_appeal_outcomes VALUES (?, 'accepted', 1, 'M1', "
        "'2026-09-29 02:00:00.000000', 'x', NULL, 7)",
        a.id + 1,
        no_fk=True,
    )
    v = ledger.verify()
    assert not v and "has no event (inserted off the trail)" in v.problem
    _sql(ledger, "DELETE FROM ledger_events WHERE seq = 3", no_fk=True)
    v = ledger.verify()
    assert not v and v.first_broken == 3 and "event 3 is missing" in v.problem


def test_history_rebuilds_one_rep(ledger, clock):
    r1 = issue(ledger, BASE).issued[0]
    ledger.decide("D", ledger.file("R1", r1.id, 2, "x").id, "accepted", 1_000, "ok")
    h = ledger.history("R1", viewer="R1")
    assert [s.version for s in h.statements] == [1, 2]
    assert [a.state for a in h.appeals] == ["accepted"]
    assert [e.kind for e in h.events] == [
        "statement.issued",
        "appeal.filed",
        "statement.reissued",
        "appeal.decided",
    ]


def test_log_filters(ledger):
    res = issue(ledger, BASE)
    a = ledger.file("R1", res.issued[0].id, 1, "x")
    assert [e.kind for e in ledger.log(object=f"appeal:{a.id}")] == ["appeal.filed"]
    assert {e.object_type for e in ledger.log(object="statement")} == {"statement"}
    assert ledger.log(period="2026-10") == []
    assert len(ledger.log(period="2026-09", rep="R2")) == 1


def test_the_package_never_updates_or_deletes():
    src = Path(__file__).resolve().parents[1] / "simlib" / "ledger"
    pattern = re.compile(
        r"\b(update|delete|upsert|truncate|on_conflict\w*)\b|"
        r"\b(insert\s+or\s+replace|replace\s+into|drop\s+table)\b",
        re.IGNORECASE,
    )
    for sql in ("conn.execute(update(t))", "DELETE FROM x", "insert or replace into"):
        assert pattern.search(sql)  # the check can fail
    hits = [
        f"{p.name}:{i}: {line.strip()}"
        for p in sorted(src.glob("*.py"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


def test_ledger_error_speaks_both_languages():
    e = LedgerError("english", "中文")
    assert str(e) == "english" and e.message("zh-CN") == "中文" and e.message("en") == "english"


# ---------------------------------------------------------------------- the command line


def test_cli_issue_appeal_decide_log_verify(tmp_path, monkeypatch, capsys, demo):
    import json

    import simlib.cli.ledger as cli_ledger
    from simlib.cli import main

    monkeypatch.setattr(cli_ledger, "load_dataset", lambda args: demo)
    monkeypatch.setenv("SIMLIB_LEDGER", f"sqlite:///{tmp_path / 'cli.sqlite'}")

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and "internal error" not in err
        return code, out, err

    code, _, err = run("ledger", "issue", "--period", "2026-Q3", "--as", "S003", "--lang", "zh-CN")
    assert code == 2 and "张伟的角色是销售；只有总监或管理员可以发布对账单" in err
    code, out, _ = run(
        "ledger", "issue", "--period", "2026-Q3", "--as", "Peng Zihan", "--lang", "en"
    )
    first = r"issued (\d+) statement\(s\) \(\1 first issue\(s\), 0 corrected"
    assert code == 0 and re.search(first, out)
    # the issue's spelling, `statements issue`, is the same command
    code, out, _ = run("statements", "issue", "--period", "2026-Q3", "--as", "S001", "--lang", "en")
    assert code == 0 and re.search(r"issued 0 statement\(s\) .* \d+ unchanged", out)
    code, _, err = run("statements", "issue", "--period", "2026-Q3", "--lang", "en")
    assert code == 2 and "statements issue needs --as WHO" in err
    code, out, _ = run(
        "appeals", "file", "--as", "S003", "--period", "2026-Q3", "--line", "1",
        "--reason", "a deal is missing", "--lang", "en",
    )  # fmt: skip
    assert code == 0 and "appeal #1 filed on line 1 of the 2026-Q3 statement" in out
    code, _, err = run(
        "appeals", "decide", "1", "--as", "S011", "--outcome", "accepted", "--amount", "500",
        "--reason", "ok", "--lang", "en",
    )  # fmt: skip
    assert (
        code == 2 and "Zhou Feng manages Hangzhou Team, not Zhang Wei's team Shanghai Team" in err
    )
    code, out, _ = run(
        "appeals", "decide", "1", "--as", "魏平", "--outcome", "partly_accepted", "--amount",
        "1,200.50", "--reason", "half the deal", "--lang", "zh-CN",
    )  # fmt: skip
    assert code == 0 and "申诉 #1：部分接受" in out and "调整 +1,200.50 元" in out
    code, _, err = run(
        "appeals", "decide", "1", "--as", "S001", "--outcome", "rejected", "--reason", "no",
        "--lang", "en",
    )  # fmt: skip
    assert code == 2 and "appeal #1 was already decided by Wei Ping at " in err
    code, out, _ = run("appeals", "show", "1", "--as", "S003", "--lang", "en")
    assert code == 0 and "partly accepted by Wei Ping" in out and "version 2" in out
    code, _, err = run("ledger", "log", "--as", "S004", "--rep", "S003", "--lang", "en")
    assert code == 2 and "Jiang Jun may not see Zhang Wei's records" in err
    code, out, _ = run("ledger", "log", "--as", "S003", "--json")
    assert [e["kind"] for e in json.loads(out)] == [
        "statement.issued",
        "appeal.filed",
        "statement.reissued",
        "appeal.decided",
    ]
    code, out, _ = run("appeals", "list", "--as", "S002", "--lang", "zh-CN")
    assert code == 0 and "张伟" in out and "部分接受" in out and "S003" not in out
    code, out, _ = run("ledger", "verify", "--lang", "en")
    assert code == 0 and "ledger intact" in out

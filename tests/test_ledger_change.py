"""Plans and scenarios under change control in the ledger (issue 15), on SQLite and PostgreSQL.

Every forbidden role combination is refused in the API; approving your own version is
refused; a hand edit after approval is detected by hash; versions carry a unified diff;
the trail still verifies after these events.
"""

from __future__ import annotations

import itertools

import pytest

from simlib.ledger import Forbidden, InvalidRequest, Ledger, LedgerError, NotFound
from tests.ledger_backends import BACKENDS, ledger_url, pg_socket_dir  # noqa: F401
from tests.test_ledger import REPS, Clock, calendar, roster  # noqa: F401

V1 = "plan: tiered\nrate: 0.05\ncap: 2.0\n"
V2 = "plan: tiered\nrate: 0.06\ncap: 2.0\n"

#: Who holds which role in tests/test_ledger.py's company (ops is an admin).
BY_ROLE = {"rep": "R1", "manager": "M1", "director": "D", "admin": "ops"}


@pytest.fixture(params=BACKENDS)
def ledger(tmp_path, roster, calendar, request):  # noqa: F811
    led = Ledger(
        ledger_url(request.param, tmp_path, request),
        roster=roster,
        calendar=calendar,
        clock=Clock("2026-11-02T10:00"),
    )
    yield led
    led.close()


def _approved(led, name="tiered", text=V1, kind="plan"):
    v = led.record_version("M1", kind, name, text, "first draft")
    led.submit("M1", kind, name, v.version)
    return led.approve("D", kind, name, v.version, "agreed in the workshop")


def test_draft_submit_approve_and_the_locked_version(ledger):
    v = ledger.record_version("M1", "plan", "tiered-2027", V1, "workshop")
    assert (v.version, v.state, v.author) == (1, "draft", "M1")
    assert ledger.approved("plan", "tiered-2027") is None
    s = ledger.submit("M1", "plan", "tiered-2027", 1)
    assert (s.state, s.submitted_by) == ("submitted", "M1")
    a = ledger.approve("D", "plan", "tiered-2027", 1)
    assert (a.state, a.decided_by) == ("approved", "D")
    assert ledger.approved("plan", "tiered-2027").version == 1

    # A new version of an approved one is a draft; the approved one stays locked.
    v2 = ledger.record_version("M1", "plan", "tiered-2027", V2, "raise the rate")
    assert (v2.version, v2.state) == (2, "draft")
    assert ledger.approved("plan", "tiered-2027").version == 1
    ledger.submit("M1", "plan", "tiered-2027", 2)
    assert ledger.approved("plan", "tiered-2027").version == 1
    ledger.approve("ops", "plan", "tiered-2027", 2)
    assert ledger.approved("plan", "tiered-2027").version == 2
    # The older one cannot be re-approved over it, and states never go back.
    with pytest.raises(InvalidRequest):
        ledger.approve("D", "plan", "tiered-2027", 1)
    with pytest.raises(InvalidRequest):
        ledger.submit("M1", "plan", "tiered-2027", 2)
    assert [v.state for v in ledger.versions("plan", "tiered-2027")] == [
        "approved",
        "approved",
    ]
    assert ledger.verify().ok


SCENARIO = """\
name: targets-2027
description: the workshop's start
year: 2027
company_target: 100000000
locked: {T1: 30000000}
mix: {R3: {deal_type: {new_customer: 0.3}}}
"""


def _scenario(**changes) -> str:
    """SCENARIO with some lines replaced: ``key=new line``."""
    lines = SCENARIO.splitlines()
    for key, line in changes.items():
        lines = [line if x.startswith(f"{key}:") else x for x in lines]
    return "\n".join(lines) + "\n"


def test_a_manager_changes_only_their_own_teams_targets(ledger):
    # The first version is a director's: a manager cannot set a whole company's targets.
    with pytest.raises(Forbidden) as e:
        ledger.record_version("M1", "scenario", "targets-2027", SCENARIO)
    assert "the first version of scenario targets-2027" in str(e.value)
    assert "第一版须由总监或管理员登记" in e.value.message("zh-CN")
    v1 = ledger.record_version("D", "scenario", "targets-2027", SCENARIO, "workshop start")
    ledger.submit("D", "scenario", "targets-2027", v1.version)
    ledger.approve("ops", "scenario", "targets-2027", v1.version)

    # Their own team's locked target, and free text: allowed, submitted by them.
    mine = _scenario(locked="locked: {T1: 32000000}", description="description: T1 +2M")
    v2 = ledger.record_version("M1", "scenario", "targets-2027", mine, "T1 signs up for more")
    assert ledger.submit("M1", "scenario", "targets-2027", v2.version).state == "submitted"
    # The regional manager above T1 may change it too.
    up = _scenario(locked="locked: {T1: 31000000}")
    assert ledger.record_version("MR", "scenario", "targets-2027", up).state == "draft"

    # Another team's lock, another team's rep, the company target: refused, naming each.
    n = len(ledger.log())
    for text, en, zh in (
        (_scenario(locked="locked: {T1: 30000000, T2: 9000000}"), "the locked target of Team 2",
         "Team 2的锁定目标"),
        (_scenario(mix="mix: {R3: {deal_type: {new_customer: 0.5}}}"), "the mix of Ru Three",
         "销售三的业务结构"),
        (_scenario(company_target="company_target: 120000000"), "company_target",
         "company_target"),
    ):  # fmt: skip
        with pytest.raises(Forbidden) as e:
            ledger.record_version("M1", "scenario", "targets-2027", text)
        assert f"also changes {en} against version" in str(e.value)
        assert zh in e.value.message("zh-CN") and "只能修改本团队的目标" in e.value.message("zh-CN")
    assert len(ledger.log()) == n  # nothing written

    # A director's draft changing the company target cannot be submitted by a manager.
    v4 = ledger.record_version(
        "D", "scenario", "targets-2027", _scenario(company_target="company_target: 1")
    )
    with pytest.raises(Forbidden) as e:
        ledger.submit("M1", "scenario", "targets-2027", v4.version)
    assert "company_target against version 1" in str(e.value)
    assert ledger.submit("D", "scenario", "targets-2027", v4.version).state == "submitted"
    # Plans are not a team's: a manager proposes them, a director approves (unchanged).
    assert ledger.record_version("M1", "plan", "tiered", V1).state == "draft"
    assert ledger.verify().ok


def test_the_diff_between_versions(ledger):
    v1 = ledger.record_version("M1", "plan", "tiered", V1.encode(), "first")
    assert v1.diff.startswith("--- /dev/null\n+++ tiered v1\n")
    v2 = ledger.record_version("M1", "plan", "tiered", V2, "rate 5% to 6%")
    assert "--- tiered v1\n+++ tiered v2\n" in v2.diff
    assert "-rate: 0.05\n+rate: 0.06\n" in v2.diff
    assert " cap: 2.0\n" in v2.diff
    assert v2.text == V2 and v2.reason == "rate 5% to 6%" and v2.content_hash != v1.content_hash
    # The same content again records nothing.
    assert ledger.record_version("M1", "plan", "tiered", V2).version == 2
    assert len(ledger.versions("plan", "tiered")) == 2


def test_approving_your_own_is_refused(ledger):
    v = ledger.record_version("D", "plan", "tiered", V1)
    ledger.submit("D", "plan", "tiered", v.version)
    with pytest.raises(Forbidden) as e:
        ledger.approve("D", "plan", "tiered", v.version)
    assert "may not approve it" in str(e.value)
    assert "不能自己批准" in e.value.message("zh-CN")
    # Written by one, submitted by another: neither may approve.
    w = ledger.record_version("ops", "plan", "other", V1)
    ledger.submit("D", "plan", "other", w.version)
    for who in ("ops", "D"):
        with pytest.raises(Forbidden):
            ledger.approve(who, "plan", "other", w.version)
    assert ledger.approved("plan", "tiered") is None
    assert ledger.approved("plan", "other") is None


# Each action and the roles that may NOT do it.
FORBIDDEN = {
    "record": ("rep",),
    "submit": ("rep",),
    "approve": ("rep", "manager"),
    "reject": ("rep", "manager"),
}


@pytest.mark.parametrize(
    "action,role",
    [(a, r) for a, roles in FORBIDDEN.items() for r in roles],
)
def test_each_forbidden_role_combination_is_refused(ledger, action, role):
    who = BY_ROLE[role]
    v = ledger.record_version("M2", "plan", "tiered", V1)
    if action in ("approve", "reject"):
        ledger.submit("M2", "plan", "tiered", v.version)
    call = {
        "record": lambda: ledger.record_version(who, "plan", "tiered", V2, "x"),
        "submit": lambda: ledger.submit(who, "plan", "tiered", v.version),
        "approve": lambda: ledger.approve(who, "plan", "tiered", v.version),
        "reject": lambda: ledger.reject(who, "plan", "tiered", v.version, "no"),
    }[action]
    n = len(ledger.log())
    with pytest.raises(Forbidden) as e:
        call()
    assert e.value.message("zh-CN") != str(e.value)
    assert len(ledger.log()) == n  # nothing written
    assert ledger.verify().ok


def test_the_allowed_roles_may(ledger):
    for i, (rec, app) in enumerate(itertools.product(("M1", "D", "ops"), ("D", "ops"))):
        if rec == app:
            continue
        name = f"p{i}"
        v = ledger.record_version(rec, "plan", name, V1)
        ledger.submit(rec, "plan", name, v.version)
        assert ledger.approve(app, "plan", name, v.version).state == "approved"


def test_reject_needs_a_reason_and_a_submitted_version(ledger):
    v = ledger.record_version("M1", "plan", "tiered", V1)
    with pytest.raises(InvalidRequest):
        ledger.reject("D", "plan", "tiered", v.version, "too generous")  # still a draft
    with pytest.raises(InvalidRequest):
        ledger.approve("D", "plan", "tiered", v.version)  # still a draft
    ledger.submit("M1", "plan", "tiered", v.version)
    with pytest.raises(InvalidRequest) as e:
        ledger.reject("D", "plan", "tiered", v.version, "  ")
    assert "驳回需要理由" in e.value.message("zh-CN")
    r = ledger.reject("D", "plan", "tiered", v.version, "too generous")
    assert (r.state, r.decision_reason) == ("rejected", "too generous")
    with pytest.raises(InvalidRequest):
        ledger.approve("ops", "plan", "tiered", v.version)
    with pytest.raises(NotFound):
        ledger.submit("M1", "plan", "tiered", 7)
    with pytest.raises(InvalidRequest):
        ledger.record_version("M1", "budget", "tiered", V1)
    with pytest.raises(InvalidRequest):
        ledger.record_version("M1", "plan", "tiered", b"\xff\xfe not utf-8")


def test_a_hand_edit_after_approval_is_detected(ledger, tmp_path):
    f = tmp_path / "tiered.yaml"
    f.write_text(V1, encoding="utf-8")
    assert not ledger.check_file("plan", "tiered", f).matches  # nothing approved yet
    _approved(ledger)
    c = ledger.check_file("plan", "tiered", f)
    assert c.matches and c.approved.version == 1
    assert "matches the approved version 1" in c.message()
    f.write_text(V1.replace("0.05", "0.08"), encoding="utf-8")  # edited by hand
    c = ledger.check_file("plan", "tiered", f)
    assert not c.matches and c.recorded_as is None
    assert "edited after approval" in c.message()
    assert "批准后被改动" in c.message("zh-CN")
    # Recorded as a new draft: still not the approved content, but it is known.
    ledger.record_version("M1", "plan", "tiered", f.read_bytes(), "raise")
    c = ledger.check_file("plan", "tiered", f)
    assert not c.matches and c.recorded_as == 2
    with pytest.raises(NotFound):
        ledger.check_file("plan", "tiered", tmp_path / "missing.yaml")


def test_reps_acknowledge_their_approved_plan(ledger):
    ledger.record_version("M1", "plan", "tiered", V1)
    with pytest.raises(NotFound):
        ledger.acknowledge("R1", "tiered", 3)
    with pytest.raises(InvalidRequest):  # not approved yet
        ledger.acknowledge("R1", "tiered", 1)
    ledger.submit("M1", "plan", "tiered", 1)
    ledger.approve("D", "plan", "tiered", 1)
    a = ledger.acknowledge("R1", "tiered", 1)
    assert (a.rep_id, a.name, a.version) == ("R1", "tiered", 1)
    with pytest.raises(InvalidRequest) as e:
        ledger.acknowledge("R1", "tiered", 1)
    assert "已确认过" in e.value.message("zh-CN")
    assert [x.version for x in ledger.acknowledgements("R1")] == [1]
    assert ledger.acknowledgements("R2") == []
    # A rep sees only their own; their manager sees the team's.
    with pytest.raises(Forbidden):
        ledger.acknowledgements("R1", viewer="R2")
    assert len(ledger.acknowledgements("R1", viewer="M1")) == 1
    # After a new approved version, only that one can be signed.
    v2 = ledger.record_version("M1", "plan", "tiered", V2)
    ledger.submit("M1", "plan", "tiered", v2.version)
    ledger.approve("ops", "plan", "tiered", v2.version)
    with pytest.raises(InvalidRequest):
        ledger.acknowledge("R2", "tiered", 1)
    ledger.acknowledge("R1", "tiered", 2)
    assert [x.version for x in ledger.acknowledgements("R1")] == [1, 2]
    kinds = [e.kind for e in ledger.log(object="plan:tiered")]
    assert kinds.count("plan.acknowledged") == 2
    assert ledger.verify().ok


def test_verify_catches_an_edited_version_event(ledger):
    from sqlalchemy import text

    _approved(ledger)
    assert ledger.verify().ok
    with ledger.engine.connect() as conn, conn.begin():
        conn.execute(
            text("UPDATE ledger_events SET after = REPLACE(after, '0.05', '0.09') WHERE seq = 1")
        )
    v = ledger.verify()
    assert not v.ok and v.first_broken == 1


def test_errors_are_ledger_errors_in_both_languages(ledger):
    with pytest.raises(LedgerError) as e:
        ledger.record_version("R1", "plan", "tiered", V1)
    assert "only a manager or director or admin" in str(e.value)
    assert "只有经理或总监或管理员" in e.value.message("zh-CN")


# ---------------------------------------------------------------------- the command line


def test_cli_plans_submit_approve_accept_status(tmp_path, monkeypatch, capsys, demo):
    import simlib.cli.ledger as cli_ledger
    from simlib.cli import main

    monkeypatch.setattr(cli_ledger, "load_dataset", lambda args: demo)
    monkeypatch.setenv("SIMLIB_LEDGER", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    f = tmp_path / "tiered_2027.yaml"
    f.write_text(V1, encoding="utf-8")

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and "internal error" not in err
        return code, out, err

    code, _, err = run("plans", "submit", "--plan", str(f), "--as", "S003", "--lang", "zh-CN")
    assert code == 2 and "张伟的角色是销售；只有经理或总监或管理员可以登记方案版本" in err
    code, out, _ = run(
        "plans", "submit", "--plan", str(f), "--as", "Wei Ping", "--reason", "workshop",
        "--lang", "en",
    )  # fmt: skip
    assert code == 0 and "tiered_2027 version 1: submitted (Wei Ping)" in out
    code, _, err = run("plans", "accept", "--plan", "tiered_2027", "--as", "S003", "--lang", "en")
    assert code == 2 and "no approved version to acknowledge yet" in err
    code, _, err = run("plans", "approve", "--plan", "tiered_2027", "--as", "S002", "--lang", "en")
    assert code == 2 and "only a director or admin may approve a plan" in err
    code, out, _ = run(
        "plans", "approve", "--plan", "tiered_2027", "--as", "彭梓涵", "--lang", "zh-CN"
    )
    assert code == 0 and "tiered_2027 第 1 版：已批准（彭梓涵）" in out
    code, out, _ = run(
        "plans", "accept", "--plan", "tiered_2027", "--as", "S003", "--lang", "zh-CN"
    )
    assert code == 0 and "张伟 已确认方案 tiered_2027 第 1 版" in out
    code, out, _ = run("plans", "status", "--plan", str(f), "--as", "S001", "--lang", "en")
    assert code == 0 and "approved" in out and "matches the approved version 1" in out
    assert cli_ledger.approval_line("plan", "tiered_2027", f, "en") == (
        "plan tiered_2027: matches the approved version 1"
    )
    assert cli_ledger.approval_line("plan", "never_recorded", f, "en") is None
    f.write_text(V2, encoding="utf-8")  # a hand edit
    code, out, _ = run("plans", "status", "--plan", str(f), "--as", "S001", "--lang", "zh-CN")
    assert code == 0 and "已批准" in out and "批准后被改动" in out
    assert "批准后被改动" in cli_ledger.approval_line("plan", "tiered_2027", f, "zh-CN")
    # no ledger yet: nothing to say, and no file created by asking
    absent = tmp_path / "absent.sqlite"
    assert cli_ledger.approval_line("plan", "x", f, "en", url=f"sqlite:///{absent}") is None
    assert not absent.exists()
    code, _, err = run("plans", "submit", "--plan", "no_such_plan", "--as", "S002", "--lang", "en")
    assert code == 2 and "no plan called 'no_such_plan'" in err
    code, out, _ = run("ledger", "log", "--as", "S001", "--object", "plan", "--lang", "en")
    assert code == 0 and "plan approved" in out and "plan tiered_2027" in out
    code, out, _ = run("ledger", "verify", "--lang", "en")
    assert code == 0 and "ledger intact" in out

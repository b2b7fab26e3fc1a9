"""The ledger under concurrent writers and a killed process (issue 15), on SQLite and
PostgreSQL.

Small tests first (a few processes, tens of operations); then the full size the issue
asks for, 8 processes x 500 operations (``test_8_processes_x_500_operations_lose_nothing``,
marked slow; its workers are in tests/ledger_workload.py), and a test that its check
fails on logs claiming what the ledger does not have. bench/ledger.py prints the rates.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simlib.ledger import AlreadyDecided, InvalidRequest, Ledger, Roster
from tests.ledger_backends import BACKENDS, ledger_url, pg_socket_dir  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

#: A director, a manager of T1 and four reps in T1.
REPS = pd.DataFrame(
    {
        "rep_id": ["D", "M1", "R1", "R2", "R3", "R4"],
        "name": ["Di", "Ma", "Rone", "Rtwo", "Rthree", "Rfour"],
        "team_id": ["CO", "T1", "T1", "T1", "T1", "T1"],
        "role": ["director", "manager", "rep", "rep", "rep", "rep"],
    }
)
N_LINES = 12


def open_ledger(url: str) -> Ledger:
    from simlib.calendar import load_calendar

    return Ledger(
        url,
        roster=Roster.from_tables(REPS, admins=["ops"]),
        calendar=load_calendar("calendar_cn.yaml"),
    )


def statements(reps, period="2026-09", n_lines=N_LINES, plan="p"):
    from simlib.plans import Line, Statement, StatementSet

    out = []
    for rep in reps:
        lines = tuple(Line("commission", f"deal {k}", 1_000 * (k + 1)) for k in range(n_lines))
        out.append(
            Statement(
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
                earned_cents=sum(ln.cents for ln in lines),
                payable_cents=sum(ln.cents for ln in lines),
            )
        )
    return StatementSet(plan, tuple(out))


def _file_latest(led: Ledger, rep: str, line: int) -> int:
    """File on the latest version; a decision elsewhere may re-issue it in between."""
    while True:
        sid = led.latest("p", rep, "2026-09").id
        try:
            return led.file(rep, sid, line, f"line {line} is wrong").id
        except InvalidRequest as e:
            assert "was replaced by version" in str(e)


def _file_and_decide(url: str, rep: str, decider: str) -> dict:
    """Worker: file an appeal on each line of ``rep``'s statement; after each, try to
    decide the two oldest open appeals of anyone (other workers race for the same ones)."""
    led = open_ledger(url)
    filed, won, lost = [], [], 0
    for line in range(1, N_LINES + 1):
        filed.append(_file_latest(led, rep, line))
        for a in led.appeals(open_only=True)[:2]:
            try:
                led.decide(decider, a.id, "accepted", 1, f"ok from {decider}")
                won.append(a.id)
            except AlreadyDecided:
                lost += 1
    led.close()
    return {"filed": filed, "won": won, "lost": lost}


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_filing_and_deciding_lose_nothing(tmp_path, backend, request):
    url = ledger_url(backend, tmp_path, request)
    led = open_ledger(url)
    reps = ["R1", "R2", "R3", "R4"]
    led.issue(statements(reps), actor="ops", plan_hash="h", data_fingerprint="f")
    ctx = mp.get_context("spawn")
    args = [(url, r, ("M1", "D")[k % 2]) for k, r in enumerate(reps)]
    with ctx.Pool(len(reps)) as pool:
        results = pool.starmap(_file_and_decide, args)
    filed = [i for r in results for i in r["filed"]]
    won = [i for r in results for i in r["won"]]
    assert len(filed) == len(set(filed)) == len(reps) * N_LINES  # no duplicate id
    assert len(won) == len(set(won))  # exactly one decision per appeal
    appeals = led.appeals()
    assert sorted(a.id for a in appeals) == sorted(filed)  # no lost appeal
    decided = [a for a in appeals if a.outcome]
    assert sorted(a.id for a in decided) == sorted(won)
    # Every event present: issue (4 statements + the batch), each filing, each decision
    # and the re-issue it made.
    assert len(led.log()) == len(reps) + 1 + len(filed) + 2 * len(won)
    # Statement versions are consistent: each accepted appeal added one version and one
    # adjustment line of 1 cent, in order, on top of everything before it.
    for rep in reps:
        versions = [s for s in led.history(rep).statements]
        n_won = sum(a.rep_id == rep for a in decided)
        assert [s.version for s in versions] == list(range(1, n_won + 2))
        last = versions[-1]
        assert len(last.lines) == N_LINES + n_won
        assert last.payable_cents == versions[0].payable_cents + n_won
    v = led.verify()
    assert v.ok, v
    led.close()


def _race(url: str, decider: str, appeal_ids: list[int], barrier, out) -> None:
    led = open_ledger(url)
    for aid in appeal_ids:
        barrier.wait()
        try:
            led.decide(decider, aid, "partly_accepted", 50, f"{decider} decides")
            out.put((aid, decider, "won"))
        except AlreadyDecided as e:
            out.put((aid, decider, str(e)))
    led.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_managers_deciding_one_appeal_at_once_exactly_one_wins(tmp_path, backend, request):
    url = ledger_url(backend, tmp_path, request)
    led = open_ledger(url)
    st = led.issue(statements(["R1"]), actor="ops", plan_hash="h", data_fingerprint="f")
    sid = st.issued[0].id
    aids = [led.file("R1", sid, k, "wrong").id for k in range(1, 6)]
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(url, who, aids, barrier, out)) for who in ("M1", "D")]
    for p in procs:
        p.start()
    got = [out.get(timeout=120) for _ in range(2 * len(aids))]
    for p in procs:
        p.join(timeout=60)
    names = {"M1": "Ma", "D": "Di"}
    for aid in aids:
        mine = sorted((r for r in got if r[0] == aid), key=lambda r: r[2] != "won")
        assert len(mine) == 2 and mine[0][2] == "won" and mine[1][2] != "won"
        winner = mine[0][1]
        assert mine[1][2].startswith(f"appeal #{aid} was already decided by {names[winner]} at ")
        assert led.appeal(aid).decided_by == winner
    assert led.verify()
    led.close()


BIG = 2000  # statements in the killed batch (about 2-3 s to write)


def _issue_big(url: str, n: int, period: str) -> None:
    """Run in a subprocess: issue a large batch (to be killed in the middle)."""
    led = open_ledger(url)
    sts = statements([f"X{k:05d}" for k in range(n)], period=period, n_lines=6)
    print("issuing", flush=True)
    led.issue(sts, actor="ops", plan_hash="h", data_fingerprint="f")
    print("done", flush=True)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_in_the_middle_of_issue_leaves_all_or_none(tmp_path, backend, request):
    url = ledger_url(backend, tmp_path, request)
    led = open_ledger(url)
    led.issue(statements(["R1", "R2"]), actor="ops", plan_hash="h", data_fingerprint="f")
    before = (len(led.statements(latest=False)), len(led.log()))
    code = (
        "import sys; from tests.test_ledger_concurrency import _issue_big; "
        f"_issue_big({url!r}, {BIG}, '2026-10')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "issuing"
    time.sleep(0.8)  # inside the transaction: the batch takes seconds
    still_running = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert still_running, "the batch finished before the kill; make BIG larger"
    led.close()
    again = open_ledger(url)  # opens without repair
    after = (len(again.statements(latest=False)), len(again.log()))
    assert after in (before, (before[0] + BIG, before[1] + BIG + 1))
    v = again.verify()
    assert v.ok, v
    # And it takes writes again at once (no lock left behind).
    res = again.issue(statements(["R3"]), actor="ops", plan_hash="h", data_fingerprint="f")
    assert len(res.issued) == 1 and again.verify()
    again.close()


# --------------------------------------------------------------------------- full size

#: Refusals that are right answers under concurrency: (operation, refusal class, words
#: its English message contains). Anything else a worker got fails the test.
EXPECTED_REFUSALS = [
    # the rep's statement was re-issued (by a decision or an issue) after they read it
    ("file", "InvalidRequest", "was replaced by version"),
    # the other decider, or the rep withdrawing, was first
    ("decide", "AlreadyDecided", "was already decided by"),
    ("decide", "AlreadyDecided", "was withdrawn by"),
    ("withdraw", "AlreadyDecided", "was already decided by"),
    # another director approved that version first, or approved a newer one
    ("approve", "InvalidRequest", "is approved; only submitted can be approved"),
    ("approve", "InvalidRequest", "is older than the approved version"),
]


def _expected(entry: dict) -> bool:
    r = entry["refused"]
    return any(
        entry["op"] == op and r["type"] == cls and words in r["en"]
        for op, cls, words in EXPECTED_REFUSALS
    )


def _lines(st) -> list[dict]:
    return [
        {"line_no": ln.line_no, "kind": ln.kind, "text": ln.text, "cents": ln.cents}
        for ln in st.lines
    ]


def _run_workload(url: str, log_dir: Path, procs: int, ops: int, seed: int) -> float:
    """Start ``procs`` workers, let them go at once; the seconds until the last finished."""
    from tests import ledger_workload as W

    ctx = mp.get_context("spawn")
    ready, start = ctx.Queue(), ctx.Event()
    workers = [
        ctx.Process(
            target=W.run_worker,
            args=(url, k, ops, seed, str(log_dir / f"proc-{k}.jsonl"), ready, start),
        )
        for k in range(procs)
    ]
    for p in workers:
        p.start()
    try:
        for _ in workers:  # every process imported simlib and opened the ledger
            ready.get(timeout=300)
        t0 = time.perf_counter()
        start.set()
        for p in workers:
            p.join(timeout=900)
        seconds = time.perf_counter() - t0
        assert [p.exitcode for p in workers] == [0] * procs, "a worker died"
    finally:
        for p in workers:
            if p.is_alive():
                p.kill()
                p.join()
    return seconds


def _read_logs(log_dir: Path, procs: int, ops: int) -> list[dict]:
    from tests import ledger_workload as W

    entries: list[dict] = []
    for k in range(procs):
        got, took = W.read_log(log_dir / f"proc-{k}.jsonl")
        assert took is not None and len(got) == ops, f"process {k} logged {len(got)} operations"
        entries += got
    return entries


def check_workload(led, entries: list[dict], setup: dict, n_setup_events: int) -> dict:
    """Check the ledger against what the workers logged (raises AssertionError); returns
    counts: events written after the setup, contested appeals, expected refusals."""
    from simlib.ledger.records import line_diff
    from tests import ledger_workload as W

    errors = [e for e in entries if "error" in e]
    assert not errors, "unexpected exceptions:\n" + "\n".join(e["error"]["trace"] for e in errors)
    wrong = [e for e in entries if "refused" in e and not _expected(e)]
    assert not wrong, f"unexpected refusals: {wrong[:5]}"
    ok = {op: [e for e in entries if e["op"] == op and "ok" in e] for op in W.WEIGHTS}

    # -------------------------------------------------- the trail: dense, verified
    events = led.log()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len({e.hash for e in events}) == len(events)
    v = led.verify()
    assert v.ok, v
    by_kind: dict[str, int] = {}
    for e in events[n_setup_events:]:
        by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
    accepted = [e for e in ok["decide"] if e["ok"]["outcome"] != "rejected"]
    issued = [s for e in ok["issue"] for s in e["ok"]["issued"]]
    told = {
        "appeal.filed": len(ok["file"]),
        "appeal.decided": len(ok["decide"]),
        "appeal.withdrawn": len(ok["withdraw"]),
        "statement.reissued": len(issued) + len(accepted),
        "batch.issued": sum(e["ok"]["batch"] is not None for e in ok["issue"]),
    }
    for kind in ("plan", "scenario"):
        for op, word in (("record", "version_recorded"), ("submit", "submitted"),
                         ("approve", "approved")):  # fmt: skip
            told[f"{kind}.{word}"] = sum(e["args"]["kind"] == kind for e in ok[op])
    assert by_kind == {k: n for k, n in told.items() if n}

    # -------------------------------------------------- appeals: none lost, one outcome each
    appeals = {a.id: a for a in led.appeals()}
    filed = [e["ok"]["appeal"] for e in ok["file"]]
    assert len(filed) == len(set(filed))
    assert sorted(appeals) == sorted(filed) == list(range(1, len(filed) + 1))
    for e in ok["file"]:
        a = appeals[e["ok"]["appeal"]]
        assert (a.rep_id, a.statement_id, a.line_no) == (
            W.REP_IDS[e["proc"]],
            e["args"]["statement"],
            e["args"]["line"],
        )
    tries: dict[int, list[dict]] = {}
    for e in entries:
        if e["op"] in ("decide", "withdraw") and "args" in e:
            tries.setdefault(e["args"]["appeal"], []).append(e)
    contested = 0
    names = {r["rep_id"]: r["name"] for r in W.REPS.to_dict("records")}
    for aid, a in appeals.items():
        mine = tries.get(aid, [])
        won = [e for e in mine if "ok" in e]
        if not won:
            assert a.is_open and not mine, (a, mine)
            continue
        assert len(won) == 1, (a, won)  # exactly one decision or withdrawal
        w = won[0]
        outcome = "withdrawn" if w["op"] == "withdraw" else w["args"]["outcome"]
        assert (a.outcome, a.decided_by) == (outcome, w["actor"])
        assert a.cents == w["args"].get("cents", 0)
        assert a.reissued_statement_id == w["ok"].get("reissued")
        assert (a.reissued_statement_id is None) == (outcome in ("rejected", "withdrawn"))
        lost = [e for e in mine if e is not w]
        contested += bool(lost)
        for e in lost:  # the loser was told who won
            assert e["refused"]["en"].startswith(f"appeal #{aid} was ")
            assert f" by {names[w['actor']]} at " in e["refused"]["en"]

    # -------------------------------------------------- statements: versions 1..n, diffs
    sts = led.statements(latest=False)
    ids = [s.id for s in sts]
    assert sorted(ids) == list(range(1, len(ids) + 1))  # no duplicate, no gap
    by_id = {s.id: s for s in sts}
    sent = {}  # statement id -> the base lines the issuer sent
    for e in ok["issue"]:
        for s in e["ok"]["issued"]:
            sent[s["id"]] = e["args"]["lines"]
            got = by_id[s["id"]]
            assert (got.rep_id, got.version, got.content_hash) == (
                s["rep"],
                s["version"],
                s["hash"],
            )
    from_decision = {e["ok"]["reissued"]: e for e in accepted}
    assert set(by_id) == set(setup["statements"]) | set(sent) | set(from_decision)
    stmt_events = {int(e.object_id): e for e in events if e.object_type == "statement"}
    decided_seq = {
        int(e.object_id): e.seq for e in events if e.kind in ("appeal.decided", "appeal.withdrawn")
    }
    chains: dict[tuple, list] = {}
    for s in sts:
        chains.setdefault((s.plan, s.rep_id, s.period), []).append(s)
    for chain in chains.values():
        chain.sort(key=lambda s: s.version)
        assert [s.version for s in chain] == list(range(1, len(chain) + 1))
        assert [s.id for s in chain] == sorted(s.id for s in chain)
        prev = None
        for s in chain:
            lines = _lines(s)
            assert s.payable_cents == sum(ln["cents"] for ln in lines)
            ev = stmt_events[s.id]
            base = [[ln["kind"], ln["text"], ln["cents"]] for ln in lines
                    if ln["kind"] != "adjustment"]  # fmt: skip
            adj = [ln for ln in lines if ln["kind"] == "adjustment"]
            # The adjustments: every accepted appeal of this rep decided by now, in order.
            want = sorted(
                (a for a in appeals.values() if a.rep_id == s.rep_id
                 and a.reissued_statement_id is not None
                 and by_id[a.reissued_statement_id].version <= s.version),
                key=lambda a: decided_seq[a.id],
            )  # fmt: skip
            assert [(ln["text"].split(":")[0], ln["cents"]) for ln in adj] == [
                (f"appeal #{a.id} {a.outcome.replace('_', ' ')}", a.cents) for a in want
            ]
            if prev is None:
                assert ev.kind == "statement.issued" and s.id in setup["statements"]
                assert base == W.base_lines(10_000)
            else:
                old = _lines(prev)
                assert ev.kind == "statement.reissued"
                assert ev.before["lines"] == old
                assert ev.after["diff"] == line_diff(old, lines)
                if s.id in sent:  # an issue: the lines sent, adjustments carried over
                    assert base == sent[s.id]
                else:  # a decision: one adjustment line of the decided amount added
                    d = from_decision[s.id]
                    assert base == [[ln["kind"], ln["text"], ln["cents"]] for ln in old
                                    if ln["kind"] != "adjustment"]  # fmt: skip
                    assert [(x["change"], x["delta_cents"]) for x in ev.after["diff"]] == [
                        ("added", d["args"]["cents"])
                    ]
            prev = s

    # -------------------------------------------------- plans and scenarios
    for team in W.TEAMS:
        for kind, name in W.docs(team):
            vs = {x.version: x for x in led.versions(kind, name)}
            assert sorted(vs) == list(range(1, len(vs) + 1))
            recorded = [e for e in ok["record"] if e["args"]["name"] == name]
            assert sorted(e["ok"]["version"] for e in recorded) == list(range(2, len(vs) + 1))
            for e in recorded:
                x = vs[e["ok"]["version"]]
                assert (x.author, x.content_hash) == (e["actor"], e["ok"]["hash"])
            submitted = {e["args"]["version"]: e for e in ok["submit"]
                         if e["args"]["name"] == name}  # fmt: skip
            approved = {e["args"]["version"]: e for e in ok["approve"]
                        if e["args"]["name"] == name}  # fmt: skip
            assert len(approved) == sum(e["args"]["name"] == name for e in ok["approve"])
            for n, x in vs.items():
                if n == 1:
                    assert x.state == "approved"
                elif n in approved:
                    assert (x.state, x.decided_by) == ("approved", approved[n]["actor"])
                    assert x.submitted_by == submitted[n]["actor"]
                elif n in submitted:
                    assert (x.state, x.submitted_by) == ("submitted", submitted[n]["actor"])
                else:
                    assert x.state == "draft"
            last = max(approved, default=1)
            assert led.approved(kind, name).version == last
            for e in entries:  # a refused approval: someone else's approval was first
                if e["op"] == "approve" and "refused" in e and e["args"]["name"] == name:
                    n = e["args"]["version"]
                    assert n in approved or n < last, e

    return {
        "events": len(events) - n_setup_events,
        "contested": contested,
        "refused": sum("refused" in e for e in entries),
    }


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_8_processes_x_500_operations_lose_nothing(tmp_path, backend, request):
    """Issue 15's reliability test at full size: 8 processes x 500 operations (file,
    decide with races, withdraw, issue, record + submit + approve plans and scenarios);
    then every acknowledged result is in the ledger, ids and event seqs are unique and
    dense, the events by kind are what the workers were told, statement versions are
    1..n with each stored difference equal to old vs new lines, and every race had
    exactly one winner (:func:`check_workload`; the workers: tests/ledger_workload.py).

    Measured on 2 shared cores, depending on the other load: SQLite 17-23 s of
    operations (25-30 s in all); PostgreSQL 31-120 s (40-130 s in all). Every operation
    is a write transaction under the ledger's one write lock, so they run one at a time.
    """
    from tests import ledger_workload as W

    procs, ops = W.N_PROCS, 500
    t_all = time.perf_counter()
    url = ledger_url(backend, tmp_path, request)
    led = W.open_ledger(url)
    setup = W.setup(led)
    n_setup_events = len(led.log())
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    seconds = _run_workload(url, log_dir, procs, ops, seed=15)
    entries = _read_logs(log_dir, procs, ops)
    got = check_workload(led, entries, setup, n_setup_events)
    led.close()
    assert got["contested"] > 0, "no two deciders ever raced for one appeal"
    print(
        f"\n{backend}: {procs} x {ops} operations, {got['events']} events in {seconds:.1f} s "
        f"({got['events'] / seconds:.0f} events/s); {got['contested']} contested appeals; "
        f"{got['refused']} expected refusals; whole test {time.perf_counter() - t_all:.1f} s"
    )


def _first(entries, op, outcome="ok"):
    return next(e for e in entries if e["op"] == op and outcome in e)


def _claim_unknown_appeal(entries):  # told "filed" but the ledger lacks it
    e = copy.deepcopy(_first(entries, "file"))
    e["ok"]["appeal"] = 10**6
    entries.append(e)


def _other_outcome(entries):  # told one outcome, the ledger has another
    e = next(e for e in entries if e["op"] == "decide" and "ok" in e)
    e["args"]["outcome"] = "rejected" if e["args"]["outcome"] != "rejected" else "accepted"


def _second_winner(entries):  # two deciders both told they won
    e = copy.deepcopy(_first(entries, "decide"))
    e["proc"] = (e["proc"] + 1) % 4
    entries.append(e)


def _unexpected_refusal(entries):
    _first(entries, "decide", "ok")["refused"] = {"type": "Forbidden", "en": "not your team"}


def _other_lines(entries):  # an issue stored other lines than were sent
    _first(entries, "issue")["args"]["lines"][0][2] += 1


def _approval_not_kept(entries):  # told "approved", the version is still a draft
    drafts = {(e["args"]["name"], e["ok"]["version"]) for e in entries if e["op"] == "record"}
    drafts -= {(e["args"]["name"], e["args"]["version"]) for e in entries if e["op"] == "submit"}
    name, version = min(drafts)
    e = copy.deepcopy(_first(entries, "approve"))
    kind = "scenario" if name.startswith("targets") else "plan"
    e["args"] |= {"kind": kind, "name": name, "version": version}
    entries.append(e)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """4 processes x 60 operations on SQLite: the ledger, the logs, the setup."""
    from tests import ledger_workload as W

    d = tmp_path_factory.mktemp("small")
    led = W.open_ledger(f"sqlite:///{d / 'ledger.sqlite'}")
    setup = W.setup(led)
    n_setup = len(led.log())
    (d / "logs").mkdir()
    _run_workload(led.url, d / "logs", 4, 60, seed=1)
    yield led, _read_logs(d / "logs", 4, 60), setup, n_setup
    led.close()


@pytest.mark.parametrize(
    "tamper",
    [
        None,
        _claim_unknown_appeal,
        _other_outcome,
        _second_winner,
        _unexpected_refusal,
        _other_lines,
        _approval_not_kept,
    ],
)
def test_the_check_finds_what_the_ledger_lost(small_run, tamper):
    """check_workload passes on a real (small) run, and fails when the logs claim an
    acknowledged result the ledger does not have (as if it had lost an update)."""
    led, entries, setup, n_setup = small_run
    entries = copy.deepcopy(entries)
    if tamper is None:
        check_workload(led, entries, setup, n_setup)
        return
    tamper(entries)
    with pytest.raises(AssertionError):
        check_workload(led, entries, setup, n_setup)

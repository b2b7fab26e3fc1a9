"""The ledger under concurrent writers and a killed process (issue 15), on one SQLite file.

Small sizes here (a few processes, tens of operations); bench/ledger.py runs the full
8 processes x 500 operations and prints the rates.
"""

from __future__ import annotations

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

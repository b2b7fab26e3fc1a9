"""Benchmark: the governance ledger under 8 writing processes, and one rep's history.

Each of ``--procs`` processes (spawned) acts for its own rep and does ``--ops``
operations on one ledger, in a cycle of five: file an appeal, decide it (accepted, which
re-issues the statement), file another, reject it, re-issue the rep's statement with a
changed line (as the admin). Every operation is one write transaction holding the
ledger's write lock. Prints events per second and operations per second over the whole
run, then the time to rebuild the busiest rep's history and to verify the chain.

Run: ``.venv/bin/python bench/ledger.py`` (SQLite in a temp folder), or
``--url postgresql+psycopg://...`` for PostgreSQL (the database should be empty).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import pandas as pd

N_LINES = 8
PERIOD = "2026-09"


def _roster(n_reps: int):
    from simlib.ledger import Roster

    reps = pd.DataFrame(
        {
            "rep_id": ["D", "M"] + [f"R{k}" for k in range(n_reps)],
            "name": ["Director", "Manager"] + [f"Rep {k}" for k in range(n_reps)],
            "team_id": ["CO"] + ["T"] * (n_reps + 1),
            "role": ["director", "manager"] + ["rep"] * n_reps,
        }
    )
    return Roster.from_tables(reps, admins=["ops"])


def _open(url: str, n_reps: int):
    from simlib.calendar import load_calendar
    from simlib.ledger import Ledger

    return Ledger(url, roster=_roster(n_reps), calendar=load_calendar("calendar_cn.yaml"))


def _statements(reps, bump: int = 0):
    from simlib.plans import Line, Statement, StatementSet

    out = []
    for rep in reps:
        lines = tuple(
            Line("commission", f"deal {k}", 10_000 * (k + 1) + (bump if k == 0 else 0))
            for k in range(N_LINES)
        )
        total = sum(ln.cents for ln in lines)
        out.append(
            Statement(
                plan="bench",
                rep_id=rep,
                period=PERIOD,
                window=PERIOD,
                currency="CNY",
                measure="revenue",
                result=1.0,
                quota=None,
                attainment=None,
                band=None,
                gate_met=True,
                lines=lines,
                earned_cents=total,
                payable_cents=total,
            )
        )
    return StatementSet("bench", tuple(out))


def _worker(url: str, n_reps: int, k: int, ops: int, start) -> tuple[int, float]:
    led = _open(url, n_reps)
    rep = f"R{k}"
    start.wait()
    t0 = time.perf_counter()
    done = 0
    appeal = None
    while done < ops:
        step = done % 5
        if step in (0, 2):
            sid = led.latest("bench", rep, PERIOD).id
            appeal = led.file(rep, sid, 1 + done % N_LINES, f"op {done}").id
        elif step == 1:
            led.decide("M", appeal, "accepted", 100, "agreed")
        elif step == 3:
            led.decide("D", appeal, "rejected", 0, "the rate is right")
        else:
            led.issue(
                _statements([rep], bump=done), actor="ops", plan_hash="h", data_fingerprint="f"
            )
        done += 1
    led.close()
    return done, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=None, help="ledger URL (default: SQLite in a temp dir)")
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--ops", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        led = _open(url, args.procs)
        reps = [f"R{k}" for k in range(args.procs)]
        led.issue(_statements(reps), actor="ops", plan_hash="h", data_fingerprint="f")
        n0 = len(led.log())
        ctx = mp.get_context("spawn")
        with ctx.Manager() as manager, ctx.Pool(args.procs) as pool:
            start = manager.Event()
            jobs = [
                pool.apply_async(_worker, (url, args.procs, k, args.ops, start))
                for k in range(args.procs)
            ]
            time.sleep(5.0)  # let every process import and open the ledger
            t0 = time.perf_counter()
            start.set()
            results = [j.get() for j in jobs]
            wall = time.perf_counter() - t0
        n_ops = sum(r[0] for r in results)
        n_events = len(led.log()) - n0
        print(f"backend           {led.engine.dialect.name}")
        print(f"processes x ops   {args.procs} x {args.ops} = {n_ops} operations")
        print(f"events written    {n_events} in {wall:.2f} s")
        print(f"events per second {n_events / wall:,.0f}")
        print(f"ops per second    {n_ops / wall:,.0f}")
        t = time.perf_counter()
        h = led.history("R0")
        dt_hist = time.perf_counter() - t
        print(
            f"rebuild one rep   {dt_hist * 1000:.0f} ms ({len(h.statements)} statement versions, "
            f"{len(h.appeals)} appeals, {len(h.events)} events)"
        )
        t = time.perf_counter()
        v = led.verify()
        print(f"verify            {time.perf_counter() - t:.2f} s ({v!r})")
        led.close()


if __name__ == "__main__":
    main()

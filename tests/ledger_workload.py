"""The process side of the ledger's full concurrency test (issue 15): one worker of
``8 processes x 500 operations``.

Each worker opens the ledger (:func:`simlib.ledger.open_ledger`, as the apps and the
command line do) and does ``n_ops`` write operations, chosen at random (seeded), each
one call to the ledger API as the person the roster allows:

==========  ===================================================================
operation   as whom, on what
==========  ===================================================================
file        its own rep, on a line of their latest statement with no open appeal
decide      a manager of the rep's team or a director, on the *oldest* open appeal
            of one of two neighbouring reps: two workers target every rep, so they
            race for the same appeal
withdraw    its own rep, on one of their open appeals (races the deciders)
issue       a director re-issues the statements of its rep and the next one with
            a new amount on line 1 (two workers issue every rep's statement)
record      a manager of the team or a director records a new version of the
            team's scenario (only the team's locked target changes) or plan
submit      the author submits one of the worker's own drafts
approve     a director other than the author approves the newest submitted
            version of the team's scenario or plan (four workers share a team, so
            approvers race, and a newer approval makes an older one refused)
==========  ===================================================================

Every operation is logged, one JSON line per operation in the worker's own file: what
was asked, and what came back (ids, versions), or the refusal (its class and English
message), or an unexpected error with its traceback; and how long it took (``ms``, the
reads that chose it included). The test reads the logs and
checks them against the ledger.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from pathlib import Path

import pandas as pd

PLAN = "conc"
PERIOD = "2026-09"
#: Lines of a statement as issued (accepted appeals add adjustment lines).
N_LINES = 4
N_PROCS = 8

TEAMS = {"T1": ["R0", "R1", "R2", "R3"], "T2": ["R4", "R5", "R6", "R7"]}
MANAGERS = {"T1": ["M1", "M2"], "T2": ["M3", "M4"]}
DIRECTORS = ["D1", "D2"]
REP_IDS = [r for reps in TEAMS.values() for r in reps]
TEAM_OF = {r: t for t, reps in TEAMS.items() for r in reps}

#: Two directors, two managers per team, four reps per team.
REPS = pd.DataFrame(
    {
        "rep_id": DIRECTORS + MANAGERS["T1"] + MANAGERS["T2"] + REP_IDS,
        "name": ["Dana", "Dong", "Mia", "Max", "Mei", "Mo"] + [f"Rep {r}" for r in REP_IDS],
        "team_id": ["CO", "CO", "T1", "T1", "T2", "T2"] + [TEAM_OF[r] for r in REP_IDS],
        "role": ["director"] * 2 + ["manager"] * 4 + ["rep"] * len(REP_IDS),
    }
)

#: Operation weights; an operation that has nothing to act on falls back (see ``_run``).
WEIGHTS = {
    "file": 28,
    "decide": 28,
    "withdraw": 4,
    "issue": 12,
    "record": 10,
    "submit": 9,
    "approve": 9,
}
OUTCOME_WEIGHTS = {"accepted": 4, "partly_accepted": 2, "rejected": 4}


def open_ledger(url: str):
    from simlib.ledger import open_ledger as _open

    return _open(REPS, url=url)


def base_lines(amount: int) -> list[list]:
    """The lines of an issued statement: line 1 carries ``amount``, the rest are fixed."""
    return [["commission", "deal 1", amount]] + [
        ["commission", f"deal {k}", 1_000 * k] for k in range(2, N_LINES + 1)
    ]


def statements(reps, amount: int):
    from simlib.plans import Line, Statement, StatementSet

    out = []
    for rep in reps:
        lines = tuple(Line(kind, text, cents) for kind, text, cents in base_lines(amount))
        total = sum(ln.cents for ln in lines)
        out.append(
            Statement(
                plan=PLAN,
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
    return StatementSet(PLAN, tuple(out))


def docs(team: str) -> list[tuple[str, str]]:
    """The scenario and the plan a team's workers record, submit and approve."""
    return [("scenario", f"targets-{team}"), ("plan", f"plan-{team}")]


def doc_text(kind: str, team: str, value: int) -> str:
    """A small version: a scenario changes only the team's locked target (which a manager
    of the team may change), a plan only its rate."""
    if kind == "scenario":
        return f"description: targets of {team}\nlocked:\n  {team}: {value}\n"
    return f"plan: {team}\nrate_basis_points: {value}\n"


def setup(led) -> dict:
    """Version 1 of every statement, scenario and plan (approved), before the workers."""
    res = led.issue(
        statements(REP_IDS, 10_000), actor="D1", plan_hash="h", data_fingerprint="setup"
    )
    for team in TEAMS:
        for kind, name in docs(team):
            v = led.record_version("D1", kind, name, doc_text(kind, team, 1), "first version")
            led.submit("D1", kind, name, v.version)
            led.approve("D2", kind, name, v.version, "agreed")
    return {"statements": [s.id for s in res.issued], "batches": 1, "docs": 2 * len(TEAMS)}


class _Worker:
    def __init__(self, led, k: int, rng: random.Random):
        self.led, self.k, self.rng = led, k, rng
        self.rep = REP_IDS[k]
        self.team = TEAM_OF[self.rep]
        #: The reps whose appeals this worker decides: each rep is targeted by two workers.
        self.targets = [REP_IDS[(k + 1) % N_PROCS], REP_IDS[(k + 2) % N_PROCS]]
        self.drafts: list[tuple[str, str, int, str]] = []
        self.i = 0

    def unique(self) -> int:
        """An amount no other operation of any worker uses."""
        return 1_000_000 + 1_000 * self.k + self.i

    # Each operation returns (actor, args, call) or None when there is nothing to act on.

    def file(self):
        st = self.led.latest(PLAN, self.rep, PERIOD)
        busy = {a.line_no for a in self.led.appeals(rep=self.rep, open_only=True)
                if a.statement_id == st.id}  # fmt: skip
        free = [ln.line_no for ln in st.lines if ln.line_no not in busy]
        if not free:
            return None
        line = self.rng.choice(free)
        args = {"statement": st.id, "version": st.version, "line": line}

        def call():
            a = self.led.file(self.rep, st.id, line, f"p{self.k} op {self.i}: line {line}")
            return {"appeal": a.id, "rep": a.rep_id, "statement": a.statement_id}

        return self.rep, args, call

    def decide(self):
        for rep in self.rng.sample(self.targets, 2):
            waiting = self.led.appeals(rep=rep, open_only=True)
            if waiting:
                break
        else:
            return None
        a = waiting[0]  # the oldest: the other worker on this rep picks it too
        who = self.rng.choice(MANAGERS[TEAM_OF[rep]] + DIRECTORS)
        outcome = self.rng.choices(list(OUTCOME_WEIGHTS), list(OUTCOME_WEIGHTS.values()))[0]
        cents = 0 if outcome == "rejected" else self.rng.randint(1, 5_000)
        args = {"appeal": a.id, "outcome": outcome, "cents": cents}

        def call():
            d = self.led.decide(who, a.id, outcome, cents, f"p{self.k} op {self.i}")
            return {"appeal": d.id, "outcome": d.outcome, "reissued": d.reissued_statement_id}

        return who, args, call

    def withdraw(self):
        waiting = self.led.appeals(rep=self.rep, open_only=True)
        if not waiting:
            return None
        a = self.rng.choice(waiting)

        def call():
            w = self.led.withdraw(self.rep, a.id, f"p{self.k} op {self.i}")
            return {"appeal": w.id, "outcome": w.outcome}

        return self.rep, {"appeal": a.id}, call

    def issue(self):
        who = self.rng.choice(DIRECTORS)
        reps = [self.rep, self.targets[0]]
        amount = self.unique()
        args = {"reps": reps, "lines": base_lines(amount)}

        def call():
            r = self.led.issue(
                statements(reps, amount), actor=who, plan_hash="h", data_fingerprint=f"p{self.k}"
            )
            return {
                "batch": r.batch,
                "issued": [
                    {"id": s.id, "rep": s.rep_id, "version": s.version, "hash": s.content_hash}
                    for s in r.issued
                ],
                "unchanged": list(r.unchanged),
            }

        return who, args, call

    def record(self):
        kind, name = self.rng.choice(docs(self.team))
        who = self.rng.choice(MANAGERS[self.team] + DIRECTORS)
        text = doc_text(kind, self.team, self.unique())
        args = {"kind": kind, "name": name}

        def call():
            v = self.led.record_version(who, kind, name, text, f"p{self.k} op {self.i}")
            self.drafts.append((kind, name, v.version, who))
            return {"version": v.version, "hash": v.content_hash, "author": v.author}

        return who, args, call

    def submit(self):
        if not self.drafts:
            return None
        kind, name, version, who = self.drafts.pop(0)
        args = {"kind": kind, "name": name, "version": version}

        def call():
            v = self.led.submit(who, kind, name, version, f"p{self.k} op {self.i}")
            return {"version": v.version, "state": v.state}

        return who, args, call

    def approve(self):
        kind, name = self.rng.choice(docs(self.team))
        waiting = [v for v in self.led.versions(kind, name) if v.state == "submitted"]
        if not waiting:
            return None
        v = max(waiting, key=lambda v: v.version)
        who = self.rng.choice([d for d in DIRECTORS if d not in (v.author, v.submitted_by)])
        args = {"kind": kind, "name": name, "version": v.version}

        def call():
            a = self.led.approve(who, kind, name, v.version, f"p{self.k} op {self.i}")
            return {"version": a.version, "state": a.state}

        return who, args, call


#: What to do instead when an operation has nothing to act on.
_FALLBACK = {
    "decide": "file",
    "withdraw": "file",
    "submit": "record",
    "approve": "record",
    "file": "issue",
}


def run_worker(url: str, k: int, n_ops: int, seed: int, log_path: str, ready, start) -> None:
    """One process of the workload: ``n_ops`` operations, each logged as a JSON line."""
    from simlib.ledger import LedgerError

    led = open_ledger(url)
    w = _Worker(led, k, random.Random(1_000 * seed + k))
    ops = list(WEIGHTS)
    with Path(log_path).open("w", encoding="utf-8", buffering=1) as log:
        ready.put(k)
        start.wait()
        t0 = time.perf_counter()
        errors = 0
        for i in range(n_ops):
            w.i = i
            op = w.rng.choices(ops, list(WEIGHTS.values()))[0]
            entry: dict = {"i": i, "proc": k}
            t = time.perf_counter()
            try:
                planned = getattr(w, op)()
                while planned is None:
                    op = _FALLBACK[op]
                    planned = getattr(w, op)()
                actor, args, call = planned
                entry |= {"op": op, "actor": actor, "args": args}
                entry["ok"] = call()
            except LedgerError as e:
                entry["refused"] = {"type": type(e).__name__, "en": str(e)}
            except Exception as e:  # noqa: BLE001 - logged; the test fails on it
                errors += 1
                entry["error"] = {"type": type(e).__name__, "trace": traceback.format_exc()}
            entry.setdefault("op", op)
            entry["ms"] = round(1_000 * (time.perf_counter() - t), 1)
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            if errors >= 5:
                break
        log.write(json.dumps({"done": k, "seconds": time.perf_counter() - t0}) + "\n")
    led.close()


def read_log(path: Path) -> tuple[list[dict], float | None]:
    """The operations a worker logged, and its run time (None if it did not finish)."""
    entries, seconds = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "done" in rec:
            seconds = rec["seconds"]
        else:
            entries.append(rec)
    return entries, seconds

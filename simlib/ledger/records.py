"""What the ledger hands back: frozen records read from its append-only rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APPEAL_STATES",
    "GENESIS",
    "OUTCOMES",
    "Appeal",
    "Event",
    "IssueResult",
    "IssuedLine",
    "IssuedStatement",
    "RepHistory",
    "Verification",
    "appeal_state_label",
    "canonical",
    "content_hash",
    "event_hash",
    "jsonable",
    "line_diff",
    "yuan",
]

#: The ``prev_hash`` of the first event.
GENESIS = "0" * 64

#: What a decider may decide.
OUTCOMES = ("accepted", "partly_accepted", "rejected")


def canonical(obj: Any) -> str:
    """The one JSON text of ``obj`` that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jsonable(value: Any) -> Any:
    """A column value as it appears in an event's JSON (times as ISO UTC)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def event_hash(prev_hash: str, fields: dict) -> str:
    """sha256 over the previous hash and the event's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical(fields)).encode("utf-8")).hexdigest()


def content_hash(
    plan: str, rep_id: str, period: str, currency: str, lines: list[dict], payable_cents: int
) -> str:
    """The hash of what a statement says (lines and payable), not of when it was issued."""
    body = {
        "plan": plan,
        "rep_id": rep_id,
        "period": period,
        "currency": currency,
        "lines": [[ln["kind"], ln["text"], int(ln["cents"])] for ln in lines],
        "payable_cents": int(payable_cents),
    }
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def line_diff(old: list[dict], new: list[dict]) -> list[dict]:
    """Line by line: what was added, removed or changed between two versions."""
    out = []
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a == b:
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        out.append(
            {
                "line_no": i + 1,
                "change": change,
                "before": a,
                "after": b,
                "delta_cents": (b["cents"] if b else 0) - (a["cents"] if a else 0),
            }
        )
    return out


def yuan(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, c = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{c:02d}"


@dataclass(frozen=True)
class IssuedLine:
    line_no: int
    kind: str
    text: str
    cents: int

    def __repr__(self) -> str:
        return f"{self.line_no}. {self.text} [{yuan(self.cents)}]"


@dataclass(frozen=True)
class IssuedStatement:
    """One issued version of a rep's statement for a period under a plan."""

    id: int
    plan: str
    rep_id: str
    period: str
    version: int
    currency: str
    payable_cents: int
    content_hash: str
    plan_hash: str
    data_fingerprint: str
    batch: str
    issued_at: dt.datetime
    issued_by: str
    lines: tuple[IssuedLine, ...] = ()

    def line(self, line_no: int) -> IssuedLine | None:
        return next((ln for ln in self.lines if ln.line_no == line_no), None)

    def __repr__(self) -> str:
        return (
            f"IssuedStatement(#{self.id} {self.plan} {self.rep_id} {self.period} "
            f"v{self.version}: {len(self.lines)} lines, payable {yuan(self.payable_cents)} "
            f"{self.currency})"
        )


@dataclass(frozen=True)
class IssueResult:
    """What one :meth:`~simlib.ledger.Ledger.issue` stored: new versions and unchanged ones."""

    batch: str | None
    issued: tuple[IssuedStatement, ...]
    unchanged: tuple[int, ...]

    def __repr__(self) -> str:
        return (
            f"IssueResult({len(self.issued)} issued, {len(self.unchanged)} unchanged"
            + (f", batch {self.batch}" if self.batch else "")
            + ")"
        )


#: An appeal's states as people read them, in English and Chinese (the command line, the
#: dashboard and the reports all say them with these words).
APPEAL_STATES: dict[str, tuple[str, str]] = {
    "filed": ("filed", "已提交"),
    "under_review": ("under review", "审核中"),
    "accepted": ("accepted", "接受"),
    "partly_accepted": ("partly accepted", "部分接受"),
    "rejected": ("rejected", "驳回"),
    "withdrawn": ("withdrawn", "已撤回"),
}


def appeal_state_label(state: str, lang: str = "en") -> str:
    """An appeal's state in ``lang`` (``partly accepted`` / ``部分接受``)."""
    en, zh = APPEAL_STATES.get(state, (state, state))
    return zh if lang == "zh-CN" else en


@dataclass(frozen=True)
class Appeal:
    """An appeal of one statement line, with its state read from the trail."""

    id: int
    statement_id: int
    plan: str
    rep_id: str
    period: str
    line_no: int
    reason: str
    filed_by: str
    filed_at: dt.datetime
    window_ends: dt.date
    decision_due: dt.date
    reviewer: str | None = None
    review_started_at: dt.datetime | None = None
    outcome: str | None = None
    cents: int = 0
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    outcome_reason: str | None = None
    reissued_statement_id: int | None = None

    @property
    def state(self) -> str:
        """filed, under_review, accepted, partly_accepted, rejected or withdrawn."""
        if self.outcome:
            return self.outcome
        return "under_review" if self.reviewer else "filed"

    @property
    def is_open(self) -> bool:
        return self.outcome is None

    def __repr__(self) -> str:
        return (
            f"Appeal(#{self.id} {self.rep_id} {self.period} statement #{self.statement_id} "
            f"line {self.line_no}: {self.state})"
        )


@dataclass(frozen=True)
class Event:
    """One row of the trail, with its before/after JSON parsed."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    kind: str
    object_type: str
    object_id: str
    rep_id: str | None
    period: str | None
    reason: str
    before: dict
    after: dict
    hash: str

    def __repr__(self) -> str:
        return (
            f"Event({self.seq} {self.at:%Y-%m-%d %H:%M} {self.actor} {self.kind} "
            f"{self.object_type} {self.object_id})"
        )


@dataclass(frozen=True)
class RepHistory:
    """Everything the ledger holds for one rep: statement versions, appeals, events."""

    rep_id: str
    statements: tuple[IssuedStatement, ...]
    appeals: tuple[Appeal, ...]
    events: tuple[Event, ...]

    def __repr__(self) -> str:
        return (
            f"RepHistory({self.rep_id}: {len(self.statements)} statement versions, "
            f"{len(self.appeals)} appeals, {len(self.events)} events)"
        )


@dataclass(frozen=True)
class Verification:
    """The result of walking the trail: ``ok``, or the first broken event and why."""

    ok: bool
    events: int
    first_broken: int | None = None
    problem: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        if self.ok:
            return f"Verification(ok: {self.events} events, chain intact)"
        return f"Verification(broken at event {self.first_broken}: {self.problem})"

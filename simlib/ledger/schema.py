"""The ledger's tables (SQLAlchemy Core), all append-only.

``events`` is the trail: one row per change, chained by hash. The other tables hold the
same facts in a shape that can be queried and constrained (a statement's lines, one
outcome per appeal); every row of them is written in the same transaction as the event
that carries it in its ``after`` JSON, so :meth:`simlib.ledger.Ledger.verify` can check
each against the chain.

Money is integer cents (``BigInteger``); times are timezone-aware UTC
(:class:`UTCDateTime`); dates (deadlines) are ISO ``YYYY-MM-DD`` text, the local
working day they name.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "INDEXES",
    "UTCDateTime",
    "appeal_outcomes",
    "appeal_reviews",
    "appeals",
    "events",
    "metadata",
    "statement_lines",
    "statements",
]


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone: UTC is implied)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"the ledger stores timezone-aware times; got naive {value}")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


metadata = MetaData()

#: The trail. ``seq`` is gap-free (assigned under the write lock); ``hash`` is the
#: sha256 of ``prev_hash`` + the event's canonical JSON; ``prev_hash`` is unique, so the
#: chain cannot fork even if two writers raced.
events = Table(
    "ledger_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("object_type", String(20), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("rep_id", String(64)),
    Column("period", String(20)),
    Column("reason", Text, nullable=False, default=""),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)

#: One row per issued statement version.
statements = Table(
    "ledger_statements",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("plan", String(80), nullable=False),
    Column("rep_id", String(64), nullable=False),
    Column("period", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("payable_cents", BigInteger, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("plan_hash", String(64), nullable=False),
    Column("data_fingerprint", String(64), nullable=False),
    Column("batch", String(32), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("issued_by", String(64), nullable=False),
    Column("event_seq", BigInteger, ForeignKey("ledger_events.seq"), nullable=False),
    UniqueConstraint("plan", "rep_id", "period", "version", name="uq_statement_version"),
)

statement_lines = Table(
    "ledger_statement_lines",
    metadata,
    Column("statement_id", BigInteger, ForeignKey("ledger_statements.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("cents", BigInteger, nullable=False),
    PrimaryKeyConstraint("statement_id", "line_no"),
)

appeals = Table(
    "ledger_appeals",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("statement_id", BigInteger, ForeignKey("ledger_statements.id"), nullable=False),
    Column("plan", String(80), nullable=False),
    Column("rep_id", String(64), nullable=False),
    Column("period", String(20), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("filed_by", String(64), nullable=False),
    Column("filed_at", UTCDateTime, nullable=False),
    Column("window_ends", String(10), nullable=False),
    Column("decision_due", String(10), nullable=False),
    Column("event_seq", BigInteger, ForeignKey("ledger_events.seq"), nullable=False),
)

appeal_reviews = Table(
    "ledger_appeal_reviews",
    metadata,
    Column("appeal_id", BigInteger, ForeignKey("ledger_appeals.id"), primary_key=True),
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("event_seq", BigInteger, ForeignKey("ledger_events.seq"), nullable=False),
)

#: The end of an appeal: a decision or a withdrawal. The primary key on ``appeal_id``
#: is what makes "exactly one decision" true when two deciders race.
appeal_outcomes = Table(
    "ledger_appeal_outcomes",
    metadata,
    Column("appeal_id", BigInteger, ForeignKey("ledger_appeals.id"), primary_key=True),
    Column("outcome", String(20), nullable=False),
    Column("cents", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reissued_statement_id", BigInteger, ForeignKey("ledger_statements.id")),
    Column("event_seq", BigInteger, ForeignKey("ledger_events.seq"), nullable=False),
)

#: The lookups the ledger makes (a rep's trail, a document's versions, a period's
#: statements, a statement's appeals), indexed since revision 0002: without them every
#: read scans the trail, which grows by every statement, appeal and version for years.
INDEXES = (
    Index("ix_ledger_events_object", events.c.object_type, events.c.object_id),
    Index("ix_ledger_events_rep", events.c.rep_id),
    Index("ix_ledger_events_kind", events.c.kind),
    Index("ix_ledger_statements_rep_period", statements.c.rep_id, statements.c.period),
    Index("ix_ledger_statements_period", statements.c.period),
    Index("ix_ledger_appeals_rep", appeals.c.rep_id),
    Index("ix_ledger_appeals_statement", appeals.c.statement_id),
)

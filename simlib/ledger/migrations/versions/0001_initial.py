"""The ledger's first schema: the six tables of simlib.ledger.schema (issue 15).

The same tables, columns, keys and constraints that ``metadata.create_all`` made before
the migrations existed, so a ledger made that way is stamped at this revision. Times are
plain ``DateTime(timezone=True)`` here (the DDL of schema.UTCDateTime); the revision
imports nothing from simlib, so it stays what it is when schema.py changes.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("rep_id", sa.String(length=64), nullable=True),
        sa.Column("period", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("prev_hash"),
    )
    op.create_table(
        "ledger_statements",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("plan", sa.String(length=80), nullable=False),
        sa.Column("rep_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("payable_cents", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("plan_hash", sa.String(length=64), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.String(length=32), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["ledger_events.seq"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan", "rep_id", "period", "version", name="uq_statement_version"),
    )
    op.create_table(
        "ledger_appeals",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("plan", sa.String(length=80), nullable=False),
        sa.Column("rep_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_ends", sa.String(length=10), nullable=False),
        sa.Column("decision_due", sa.String(length=10), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["ledger_events.seq"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["ledger_statements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_statement_lines",
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["ledger_statements.id"],
        ),
        sa.PrimaryKeyConstraint("statement_id", "line_no"),
    )
    op.create_table(
        "ledger_appeal_outcomes",
        sa.Column("appeal_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reissued_statement_id", sa.BigInteger(), nullable=True),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["ledger_appeals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["ledger_events.seq"],
        ),
        sa.ForeignKeyConstraint(
            ["reissued_statement_id"],
            ["ledger_statements.id"],
        ),
        sa.PrimaryKeyConstraint("appeal_id"),
    )
    op.create_table(
        "ledger_appeal_reviews",
        sa.Column("appeal_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["ledger_appeals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["ledger_events.seq"],
        ),
        sa.PrimaryKeyConstraint("appeal_id"),
    )


def downgrade() -> None:
    op.drop_table("ledger_appeal_reviews")
    op.drop_table("ledger_appeal_outcomes")
    op.drop_table("ledger_statement_lines")
    op.drop_table("ledger_appeals")
    op.drop_table("ledger_statements")
    op.drop_table("ledger_events")

"""Indexes for the ledger's lookups (issue 15): a rep's trail, a document's versions,
a period's statements, a statement's appeals.

Without them every read scans the trail, which grows with every statement, appeal and
version a company records over the years. Adding an index changes no row, so the hash
chain and every stored hash are untouched.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: name → (table, columns); the same as simlib.ledger.schema.INDEXES on this date.
INDEXES = {
    "ix_ledger_events_object": ("ledger_events", ["object_type", "object_id"]),
    "ix_ledger_events_rep": ("ledger_events", ["rep_id"]),
    "ix_ledger_events_kind": ("ledger_events", ["kind"]),
    "ix_ledger_statements_rep_period": ("ledger_statements", ["rep_id", "period"]),
    "ix_ledger_statements_period": ("ledger_statements", ["period"]),
    "ix_ledger_appeals_rep": ("ledger_appeals", ["rep_id"]),
    "ix_ledger_appeals_statement": ("ledger_appeals", ["statement_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in reversed(INDEXES.items()):
        op.drop_index(name, table_name=table)

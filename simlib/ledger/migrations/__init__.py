"""The ledger's schema under Alembic migrations (issue 15).

The environment (``env.py``) and the revisions (``versions/``) ship inside the package;
nothing reads an ``alembic.ini``: :func:`alembic_config` builds the configuration in
code. :class:`simlib.ledger.Ledger` calls :func:`upgrade` when it opens a database that
is not at :func:`head`, inside its write transaction (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL), so two processes opening a new ledger at
once create it once. A ledger made by ``create_all`` before the migrations existed (its
tables, no version table) is stamped at :data:`INITIAL` rather than created again; a
ledger at a revision this simlib does not know is refused with :class:`SchemaTooNew`.

The version is kept in its own table, :data:`VERSION_TABLE`, so a team's PostgreSQL
database that holds other applications' ``alembic_version`` is left alone.

A new revision, after a change to :mod:`simlib.ledger.schema`::

    from alembic import command
    from simlib.ledger.migrations import alembic_config
    command.revision(alembic_config(url="sqlite:///scratch.sqlite"), "what changed",
                     autogenerate=True)   # against a ledger at head; then review the file
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from simlib.ledger.errors import LedgerError

__all__ = [
    "INITIAL",
    "INITIAL_TABLES",
    "VERSION_TABLE",
    "SchemaTooNew",
    "alembic_config",
    "current",
    "head",
    "needs_upgrade",
    "upgrade",
]

#: The folder of env.py and versions/ (Alembic's script_location).
HERE = Path(__file__).resolve().parent

#: The table Alembic keeps the ledger's revision in.
VERSION_TABLE = "ledger_alembic_version"

#: The first revision: the schema ``create_all`` made before the migrations existed.
INITIAL = "0001"

#: The tables of :data:`INITIAL`; a database with all of them and no version is stamped.
INITIAL_TABLES = frozenset(
    {
        "ledger_events",
        "ledger_statements",
        "ledger_statement_lines",
        "ledger_appeals",
        "ledger_appeal_reviews",
        "ledger_appeal_outcomes",
    }
)


class SchemaTooNew(LedgerError):
    """The ledger was migrated by a newer simlib: this one does not know its revision."""


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for the ledger, built in code.

    Pass an open ``connection`` (the migrations run on it, in its transaction) or a
    ``url`` (env.py opens its own engine).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", str(url).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this simlib knows."""
    return _script().get_current_head()


def current(conn: Connection) -> tuple[str, ...]:
    """The revision(s) the database on ``conn`` is at; ``()`` when it has none."""
    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return tuple(ctx.get_current_heads())


def _check_known(revs: tuple[str, ...]) -> None:
    known = {s.revision for s in _script().walk_revisions()}
    unknown = [r for r in revs if r not in known]
    if unknown:
        have = ", ".join(unknown)
        raise SchemaTooNew(
            f"this ledger's schema is at revision {have}, newer than this simlib knows "
            f"(up to {head()}): simlib is too old for this ledger. Upgrade simlib "
            "(pip install -U simlib) and open it again; nothing was changed.",
            f"这个台账的结构版本是 {have}，比当前 simlib 认识的版本（最高 {head()}）更新："
            "simlib 版本过旧，无法打开这个台账。请先升级 simlib（pip install -U simlib）"
            "再打开；台账未作任何改动。",
        )


def needs_upgrade(conn: Connection) -> bool:
    """True when the database on ``conn`` is not at :func:`head` (new, old or unversioned).

    Raises :class:`SchemaTooNew` when it is at a revision this simlib does not know.
    """
    revs = current(conn)
    _check_known(revs)
    return revs != (head(),)


def upgrade(conn: Connection) -> tuple[str, ...]:
    """Bring the database on ``conn`` to :func:`head`; returns the revisions it was at.

    ``conn`` must be inside a transaction that holds the ledger's write lock: the check
    and the migration then happen once, whoever else opens the ledger at the same time.
    An unversioned database with the tables of :data:`INITIAL` is stamped at it first;
    one with only some of them is refused (it is not a ledger this code made).
    """
    was = current(conn)
    _check_known(was)
    cfg = alembic_config(conn)
    if not was:
        present = INITIAL_TABLES & set(inspect(conn).get_table_names())
        if present == INITIAL_TABLES:
            command.stamp(cfg, INITIAL)
        elif present:
            missing = ", ".join(sorted(INITIAL_TABLES - present))
            raise LedgerError(
                f"this database holds some of the ledger's tables but not {missing}: it is "
                "not a ledger simlib made; nothing was changed. Point --ledger at the "
                "right database, or at an empty one for a new ledger.",
                f"这个数据库只有台账的部分数据表（缺少 {missing}），不是 simlib 建立的台账；"
                "未作任何改动。请让 --ledger 指向正确的数据库，或指向一个空数据库以新建台账。",
            )
    command.upgrade(cfg, "head")
    return was

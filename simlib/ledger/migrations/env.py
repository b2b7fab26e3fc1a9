"""The Alembic environment of the ledger's schema (run by :mod:`simlib.ledger.migrations`).

Online only: the caller hands over a connection (``config.attributes["connection"]``),
already inside a transaction that holds the ledger's write lock, or else a URL
(``sqlalchemy.url``). Nothing here configures logging or reads an ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from simlib.ledger.migrations import VERSION_TABLE
from simlib.ledger.schema import metadata


def _run(config) -> None:
    if context.is_offline_mode():
        raise RuntimeError("the ledger's migrations run online only (no --sql)")
    conn = config.attributes.get("connection")
    if conn is not None:
        _migrate(conn)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


def _migrate(conn) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic sets context.config before it runs this file; an import from anywhere else
# (pytest's doctest collection, say) finds none and runs nothing.
_config = getattr(context, "config", None)
if _config is not None:
    _run(_config)

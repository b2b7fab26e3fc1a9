"""The ledger's schema under Alembic (issue 15, "Storage"), on SQLite and PostgreSQL.

A new ledger ends at head with exactly the tables of simlib.ledger.schema; a ledger made
by create_all before the migrations is stamped, not re-created; processes opening a new
ledger at once all succeed; a ledger from a newer simlib is refused; a non-editable
install carries the migrations.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from simlib.ledger import LedgerError, ledger_engine
from simlib.ledger import schema as S
from simlib.ledger.migrations import (
    INITIAL,
    INITIAL_TABLES,
    VERSION_TABLE,
    SchemaTooNew,
    current,
    head,
)
from tests.ledger_backends import BACKENDS, ledger_url, pg_socket_dir  # noqa: F401
from tests.test_ledger_concurrency import open_ledger, statements

ROOT = Path(__file__).resolve().parents[1]


def _url(backend, tmp_path: Path, request, name: str) -> str:
    folder = tmp_path / name
    folder.mkdir()
    return ledger_url(backend, folder, request)


def _engine(url: str):
    return create_engine(url)


def _revision(url: str) -> tuple[str, ...]:
    eng = _engine(url)
    try:
        with eng.connect() as conn:
            return current(conn)
    finally:
        eng.dispose()


def _as_before_the_migrations(url: str, rows: bool = False) -> None:
    """Make the database at ``url`` look like a ledger from before the migrations: the
    tables of revision 0001 (``create_all`` without the indexes of 0002), no version
    table. ``rows``: the ledger already has tables and rows (made by open_ledger)."""
    eng = ledger_engine(url)
    if not rows:
        S.metadata.create_all(eng)
    for ix in S.INDEXES:
        ix.drop(eng)
    with eng.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    eng.dispose()


def _shape(url: str) -> dict:
    """Every table but the version table: columns, keys, constraints and indexes."""
    eng = _engine(url)
    try:
        with eng.connect() as conn:
            insp = inspect(conn)
            out = {}
            for t in sorted(set(insp.get_table_names()) - {VERSION_TABLE}):
                out[t] = {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in insp.get_columns(t)
                    ],
                    "pk": insp.get_pk_constraint(t)["constrained_columns"],
                    "fks": sorted(
                        (
                            tuple(f["constrained_columns"]),
                            f["referred_table"],
                            tuple(f["referred_columns"]),
                        )
                        for f in insp.get_foreign_keys(t)
                    ),  # fmt: skip
                    "uniques": sorted(
                        (u["name"] or "", tuple(u["column_names"]))
                        for u in insp.get_unique_constraints(t)
                    ),
                    "indexes": sorted(
                        (i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                        for i in insp.get_indexes(t)
                    ),
                }
            return out
    finally:
        eng.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_new_ledger_is_at_head_with_the_tables_of_schema_py(tmp_path, backend, request):
    url = _url(backend, tmp_path, request, "new")
    open_ledger(url).close()
    assert _revision(url) == (head(),)

    ref = _url(backend, tmp_path, request, "ref")
    eng = ledger_engine(ref)
    S.metadata.create_all(eng)
    eng.dispose()
    got, want = _shape(url), _shape(ref)
    assert set(got) == set(S.metadata.tables) == INITIAL_TABLES
    assert got == want

    # Alembic's own comparison finds nothing to migrate either.
    eng = _engine(url)
    with eng.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(ctx, S.metadata) == []
    eng.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_ledger_made_by_create_all_is_stamped_not_recreated(tmp_path, backend, request):
    # An empty one, as create_all left it.
    url = _url(backend, tmp_path, request, "empty")
    _as_before_the_migrations(url)
    assert _revision(url) == ()
    open_ledger(url).close()
    assert _revision(url) == (head(),)

    # One with statements in it: drop the version table, as before the migrations.
    url = _url(backend, tmp_path, request, "full")
    led = open_ledger(url)
    led.issue(statements(["R1", "R2"]), actor="ops", plan_hash="h", data_fingerprint="f")
    n_events = len(led.log())
    led.close()
    _as_before_the_migrations(url, rows=True)
    assert _revision(url) == ()
    led = open_ledger(url)
    assert _revision(url) == (head(),)
    indexes = {i["name"] for i in inspect(led.engine).get_indexes("ledger_events")}
    assert {"ix_ledger_events_object", "ix_ledger_events_rep"} <= indexes
    assert len(led.log()) == n_events
    assert [s.rep_id for s in led.statements()] == ["R1", "R2"]
    assert led.verify().ok
    led.close()


def test_a_database_with_some_ledger_tables_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'partial.sqlite'}"
    eng = ledger_engine(url)
    S.events.create(eng)
    eng.dispose()
    with pytest.raises(LedgerError, match="not a ledger simlib made") as e:
        open_ledger(url)
    assert "ledger_statements" in str(e.value) and "不是 simlib 建立的台账" in e.value.message(
        "zh-CN"
    )
    assert _revision(url) == () and set(inspect(_engine(url)).get_table_names()) == {
        "ledger_events"
    }


def _open_at_once(url: str, barrier, out) -> None:
    barrier.wait()
    try:
        led = open_ledger(url)
        out.put(("ok", led.verify().ok))
        led.close()
    except Exception as e:  # reported to the test, which fails with it
        out.put(("error", repr(e)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_opening_a_new_ledger_at_once_all_succeed(tmp_path, backend, request):
    url = _url(backend, tmp_path, request, "race")
    n = 3
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_open_at_once, args=(url, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    got = [out.get(timeout=120) for _ in range(n)]
    for p in procs:
        p.join(timeout=60)
    assert got == [("ok", True)] * n
    assert _revision(url) == (head(),)
    eng = _engine(url)
    with eng.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
    eng.dispose()
    assert set(_shape(url)) == INITIAL_TABLES


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_ledger_from_a_newer_simlib_is_refused(tmp_path, backend, request):
    url = _url(backend, tmp_path, request, "future")
    open_ledger(url).close()
    eng = _engine(url)
    with eng.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00d_from_the_future'"))
    eng.dispose()
    with pytest.raises(SchemaTooNew) as e:
        open_ledger(url)
    assert isinstance(e.value, LedgerError)
    msg = str(e.value)
    assert "f00d_from_the_future" in msg and "simlib is too old for this ledger" in msg
    assert f"up to {head()}" in msg
    assert "simlib 版本过旧" in e.value.message("zh-CN")
    assert _revision(url) == ("f00d_from_the_future",)  # left as it was


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_ledger_at_0001_with_records_upgrades_to_the_indexes_of_0002(tmp_path, backend, request):
    url = _url(backend, tmp_path, request, "old")
    led = open_ledger(url)
    led.issue(statements(["R1", "R2", "R3"]), actor="ops", plan_hash="h", data_fingerprint="f")
    aid = led.file("R1", led.latest("p", "R1", "2026-09").id, 1, "a deal is missing").id
    before = [(e.seq, e.hash) for e in led.log()]
    led.close()
    # back to revision 0001: its tables and rows, without 0002's indexes
    eng = _engine(url)
    with eng.begin() as conn:
        for ix in S.INDEXES:
            ix.drop(conn)
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0001'"))
    eng.dispose()
    assert _revision(url) == ("0001",)

    led = open_ledger(url)
    assert _revision(url) == (head(),) == ("0002",)
    assert [(e.seq, e.hash) for e in led.log()] == before  # no row touched
    assert led.appeal(aid).reason == "a deal is missing" and led.verify().ok
    insp = inspect(led.engine)
    have = {i["name"] for t in insp.get_table_names() for i in insp.get_indexes(t)}
    assert {ix.name for ix in S.INDEXES} <= have
    led.close()


def test_the_revisions_run_from_the_initial_tables_to_the_indexes():
    assert INITIAL == "0001" and head() == "0002"


def test_a_non_editable_install_carries_the_migrations(tmp_path):
    """setuptools (with pyproject's package discovery and package-data) copies env.py,
    the revisions and the revision template into the build."""
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "simlib", src / "simlib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
         "-d", str(tmp_path / "out")],
        cwd=src, check=True, capture_output=True, text=True,
    )  # fmt: skip
    mig = tmp_path / "out" / "simlib" / "ledger" / "migrations"
    for rel in (
        "__init__.py",
        "env.py",
        "script.py.mako",
        "versions/0001_initial.py",
        "versions/0002_indexes.py",
    ):
        assert (mig / rel).is_file(), rel

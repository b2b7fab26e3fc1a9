"""The ledger tests' two backends: SQLite files, and a throw-away PostgreSQL cluster.

The cluster is started once per test process (per xdist worker) by initdb/pg_ctl from
Debian's ``postgresql`` package, in a temp folder, listening only on a Unix socket there
(no TCP port, so parallel runs never collide); as root it runs as the ``postgres`` user
(``runuser -u postgres --``). Each test gets a database of its own. When the binaries or
the psycopg driver are missing, the PostgreSQL cases are skipped and say why.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgresql"]


def _bindir() -> str | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            return d
    return None


@pytest.fixture(scope="session")
def pg_socket_dir():
    """A running throw-away PostgreSQL cluster; yields its socket folder."""
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found (apt-get install -y postgresql): SQLite only")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("the psycopg driver is not installed (pip install 'psycopg[binary]')")
    runas: list[str] = []
    d = Path(tempfile.mkdtemp(prefix="simlib-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        try:
            shutil.chown(d, user="postgres")
        except (LookupError, PermissionError):
            pytest.skip("running as root and there is no postgres user to run PostgreSQL")
        runas = ["runuser", "-u", "postgres", "--"]
    data = d / "data"
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run(
        [*runas, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres",
         "-E", "UTF8", "--no-sync"],
        **run,
    )  # fmt: skip
    opts = f"-k {d} -c listen_addresses='' -c fsync=off"
    subprocess.run(
        [*runas, f"{bindir}/pg_ctl", "-D", str(data), "-o", opts, "-l", str(d / "log"),
         "-w", "start"],
        **run,
    )  # fmt: skip
    try:
        yield d
    finally:
        subprocess.run(
            [*runas, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(d, ignore_errors=True)


def new_pg_url(socket_dir: Path) -> str:
    """A fresh, empty database in the cluster; its SQLAlchemy URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres",
                         autocommit=True) as con:  # fmt: skip
        con.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@/{name}?host={socket_dir}"


def ledger_url(backend: str, tmp_path: Path, request) -> str:
    """A new ledger URL on ``backend`` (a SQLite file in ``tmp_path``, or a new database)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return new_pg_url(request.getfixturevalue("pg_socket_dir"))

"""The house rules, checked: layers (import-linter), no import circle, lint and format
(ruff), and a command line that starts without the heavy libraries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HEAVY = ("numpy", "pandas", "scipy", "numba", "matplotlib")


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; scripts/setup.sh installs the test extras")
    return found


def _run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


def test_layers_only_import_downward():
    r = _run(_tool("lint-imports"), "--no-cache")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_no_import_circle():
    import grimp

    graph = grimp.build_graph("simlib")
    circles = []
    for mod in sorted(graph.modules):
        for dep in sorted(graph.find_modules_directly_imported_by(mod)):
            back = graph.find_shortest_chain(importer=dep, imported=mod)
            if back:
                circles.append(" → ".join((mod, *back)))
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_ruff_lint_and_format():
    lint = _run(_tool("ruff"), "check", "simlib", "tests", "bench", "scripts")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run(_tool("ruff"), "format", "--check", "simlib", "tests", "bench", "scripts")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def _imported(*args: str) -> set[str]:
    """Top-level packages a ``simlib`` command imports (``python -X importtime``)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    r = _run(
        sys.executable,
        "-c",
        "import sys; from simlib.cli import main; sys.exit(main())",
        *args,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    names = set()
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_help_imports_no_heavy_library():
    loaded = _imported("--help")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_payout_imports_no_numba_matplotlib_or_papermill():
    loaded = _imported("payout", "--plan", "tiered_cn", "--sales", "1500000")
    assert not loaded & {"numba", "matplotlib", "papermill", "nbconvert"}, sorted(loaded)

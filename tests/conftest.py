"""Shared fixtures (the demo company is generated once per test session, per xdist
worker) and the ``slow`` marker for whole folders.

``python -m pytest`` runs everything on two xdist workers (see ``addopts`` in
pyproject.toml); ``python -m pytest -m "not slow"`` is the fast set: no real browser,
no executed notebooks, no Dask cluster, no multi-kernel report batch.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# The apps and notebooks keep slow results in a disk cache: the tests (and the kernels
# and servers they start, which inherit the environment) use a folder of their own,
# never the user's ~/.cache/simlib.
os.environ["SIMLIB_CACHE_DIR"] = _CACHE = tempfile.mkdtemp(prefix="simlib-test-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
#: Every test below these folders is marked ``slow``: each one starts Voilà, JupyterLab
#: and Chromium, or executes notebooks in fresh kernels (tens of seconds to minutes).
SLOW_FOLDERS = (TESTS / "browser", TESTS / "notebooks")


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(item.path).resolve()
        if any(path.is_relative_to(folder) for folder in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def demo():
    from simlib.data import load_demo

    return load_demo()

"""Shared fixtures (the demo company is generated once per test session, per xdist
worker) and the ``slow`` marker for whole folders.

``python -m pytest`` runs everything on two xdist workers (see ``addopts`` in
pyproject.toml); ``python -m pytest -m "not slow"`` is the fast set: no real browser,
no executed notebooks, no Dask cluster, no report batch of a dozen kernels.
"""

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
#: Every test below these folders is marked ``slow``: each one starts Voilà, JupyterLab
#: and Chromium, or executes notebooks in fresh kernels (tens of seconds to minutes).
SLOW_FOLDERS = (TESTS / "browser", TESTS / "notebooks")


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(item.path).resolve()
        if any(path.is_relative_to(folder) for folder in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path, config):
    """Not conftest.py files as modules: --doctest-modules would import this one and
    tests/browser/conftest.py both as ``conftest`` (the folders are not packages), and
    the second fails with "import file mismatch". pytest still loads them as conftests;
    they have no doctests."""
    if collection_path.name == "conftest.py":
        return True
    return None


@pytest.fixture(scope="session")
def demo():
    from simlib.data import load_demo

    return load_demo()

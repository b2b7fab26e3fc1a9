"""Shared fixtures: the demo company is generated once per test session."""

import pytest


@pytest.fixture(scope="session")
def demo():
    from simlib.data import load_demo

    return load_demo()

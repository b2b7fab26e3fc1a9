#!/usr/bin/env bash
# The fast test set: every test not marked slow (no real browser, no executed
# notebooks, no Dask cluster, no multi-kernel report batch), on the two xdist workers of
# pyproject's addopts. About a minute on a 2-core machine. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -m "not slow" "$@"

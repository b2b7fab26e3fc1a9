"""Same seed, same bytes: the simulation's output does not depend on threads, chunking,
a Dask cluster, the hash seed or the order of the org table's rows.

The per-node sums used to be added in an order that came from iterating a ``set`` of
node ids, so PYTHONHASHSEED changed the last digits of a region's or the company's
P10/P50/P90 (e.g. ``401547593.419956`` vs ``401547593.4199561``).
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simlib.simulate import rollup, simulate

ROOT = Path(__file__).resolve().parents[1]
RUN_CLI = "import sys; from simlib.cli import main; sys.exit(main(sys.argv[1:]))"
ARGS = ["simulate", "--period", "2026-Q4", "--trials", "2000", "--seed", "7", "--level", "all"]


@pytest.mark.slow  # fresh CLI processes, ~25 s
def test_cli_json_is_byte_identical_across_threads_and_hash_seeds():
    runs = {}
    for threads, hash_seed in [(1, "0"), (2, "0"), (1, "4242"), (2, "4242")]:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "NUMBA_NUM_THREADS": "2"}
        cmd = [sys.executable, "-c", RUN_CLI, *ARGS, "--json", "--threads", str(threads)]
        runs[threads, hash_seed] = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    out = {}
    for key, proc in runs.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr.decode(errors="replace")[-2000:]
        out[key] = stdout
    first = out[1, "0"]
    assert b'"node_id": "CO"' in first
    for key, stdout in out.items():
        assert stdout == first, f"--threads {key[0]} PYTHONHASHSEED={key[1]} differs"


@pytest.fixture(scope="module")
def reference(demo):
    return simulate(demo, "2026-Q4", n_trials=2_000, seed=7)


@pytest.mark.parametrize("threads, chunk", [(1, 2_000), (2, 2_000), (1, 333), (2, 64)])
def test_summary_does_not_depend_on_threads_or_chunks(demo, reference, threads, chunk):
    res = simulate(
        demo,
        calibration=reference.calibration,
        n_trials=2_000,
        seed=7,
        threads=threads,
        chunk_trials=chunk,
    )
    assert np.array_equal(res.trials, reference.trials)
    assert res.summary.to_json() == reference.summary.to_json()


def test_summary_does_not_depend_on_the_order_of_org_and_rep_rows(demo, reference):
    tables = dict(demo.tables)
    tables["org"] = demo.org.iloc[::-1].reset_index(drop=True)
    tables["reps"] = demo.reps.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled = dataclasses.replace(demo, tables=tables)
    res = simulate(shuffled, calibration=reference.calibration, n_trials=2_000, seed=7)
    assert res.summary.to_json() == reference.summary.to_json()
    assert res.nodes.to_json() == reference.nodes.to_json()


def test_rollup_does_not_depend_on_the_order_of_node_rows(reference):
    nodes = reference.nodes
    base = rollup(reference.trials, nodes, reference.rep_ids)
    perm = np.random.default_rng(0).permutation(len(nodes))
    again = rollup(reference.trials, nodes.iloc[perm], reference.rep_ids)
    assert np.array_equal(again, base[:, perm])


@pytest.mark.slow
def test_dask_cluster_gives_the_same_summary_bytes(demo, reference):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = simulate(
            demo,
            calibration=reference.calibration,
            n_trials=2_000,
            seed=7,
            chunk_trials=500,
            client=client,
        )
    assert np.array_equal(remote.trials, reference.trials)
    assert remote.summary.to_json() == reference.summary.to_json()

"""Benchmark: recompute a target scenario for the demo company, as a workshop slider does.

Prints the median wall time of :func:`simlib.targets.run_scenario` with the history and
the 10,000-trial simulation already cached (the cascade over every level, the year →
quarter → month split, the attainability of every annual target on the cached trials
and the risk summary), for the baseline scenario and three variants; then the one-off
cost of the first call (history + calibration + simulation) and of the tables derived
on first access (SMART check, mix, reverse funnel). Last, the commission lab's
recompute after a rate slider moves, on 10,000 synthetic trials × 60 reps (best of
five; the figure the test suite used to assert below 100 ms).

Run: ``.venv/bin/python bench/targets.py``
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from simlib.data import load_demo
from simlib.targets import TargetCache, run_scenario
from simlib.targets.scenario import load_scenario

REPEAT = 25


def timings_ms(fn, repeat: int = REPEAT) -> list[float]:
    """Wall times of ``repeat`` runs of ``fn()``, in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return times


def median_ms(fn, repeat: int = REPEAT) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, in milliseconds."""
    return statistics.median(timings_ms(fn, repeat))


def main() -> None:
    data = load_demo()
    base = load_scenario("baseline_2027")
    cache = TargetCache(data)
    t0 = time.perf_counter()
    alloc = run_scenario(base, data, cache=cache)
    cold = time.perf_counter() - t0
    n_nodes, n_targets = len(alloc.nodes), len(alloc.targets)
    print(
        f"demo company: {n_nodes} nodes, {n_targets} targets (year, 4 quarters, 12 months each); "
        f"{base.simulation.n_trials:,} trials cached"
    )
    print(f"first call (history + calibration + simulation): {cold:6.2f} s")
    print(
        f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(other work on the machine slows every figure below)"
    )
    variants = {
        "baseline_2027": base,
        "+ locked T-SH and S003": base.model_copy(
            update={"locked": {"T-SH": 200_000_000, "S003": 40_000_000}}
        ),
        "+ fair quotas": base.model_copy(update={"fair_quotas": True}),
        "+ uplift from 80% confidence": base.model_copy(update={"uplift_from_confidence": True}),
    }
    for name, scenario in variants.items():
        run_scenario(scenario, data, cache=cache)  # warm
        t = timings_ms(lambda s=scenario: run_scenario(s, data, cache=cache))
        print(
            f"recompute {name:<32} median {statistics.median(t):7.1f} ms   (fastest {min(t):6.1f})"
        )
    alloc = run_scenario(base, data, cache=cache)
    for name, prop in (("SMART check", "smart"), ("mix", "mix"), ("reverse funnel", "_funnel")):
        compute = getattr(type(alloc), prop).func  # the cached property's own computation
        ms = median_ms(lambda c=compute: c(alloc), 7)
        print(f"derived on first access: {name:<15} median {ms:7.1f} ms")
    lab_recompute()


def lab_recompute(T: int = 10_000, R: int = 60, repeat: int = 5) -> float:
    """Best of ``repeat`` commission-lab recomputes (one edited rate, one compared plan)
    on ``T`` lognormal trials × ``R`` reps, in milliseconds; printed."""
    from simlib.apps.commission_lab import LabContext, LabState, compute

    rng = np.random.default_rng(1)
    quotas = np.round(rng.uniform(2e6, 6e6, R), -3)
    trials = quotas * rng.lognormal(-0.05, 0.35, (T, R))
    ctx = LabContext.from_arrays(
        trials,
        quotas,
        [f"R{i:02d}" for i in range(R)],
        [f"Rep {i}" for i in range(R)],
        [f"T{i % 3}" for i in range(R)],
        period="2026-Q4",
    )
    st = LabState.from_plan(ctx.plans["tiered_cn"], "tiered_cn").replace(
        compare=("tiered_cn_retro",)
    )
    compute(st, ctx)  # warm the cache of unedited plans
    times = []
    for k in range(repeat):
        t0 = time.perf_counter()
        view = compute(st.with_rate(2, 0.02 + k / 1000), ctx)
        times.append(1000 * (time.perf_counter() - t0))
        assert view.ok, view.error
    print(
        f"commission lab recompute ({T:,} trials × {R} reps, one rate edited, one plan "
        f"compared): best of {repeat} {min(times):7.1f} ms   "
        f"(median {statistics.median(times):6.1f}; target < 100 ms)"
    )
    return min(times)


if __name__ == "__main__":
    main()

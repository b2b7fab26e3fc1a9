"""Benchmark: recompute a target scenario for the demo company, as a workshop slider does.

Prints the median wall time of :func:`simlib.targets.run_scenario` with the history and
the 10,000-trial simulation already cached (the cascade over every level, the year →
quarter → month split, the attainability of every annual target on the cached trials
and the risk summary), for the baseline scenario and three variants; then the one-off
cost of the first call (history + calibration + simulation) and of the tables derived
on first access (SMART check, mix, reverse funnel).

Run: ``.venv/bin/python bench/targets.py``
"""

from __future__ import annotations

import os
import statistics
import time

from simlib.data import load_demo
from simlib.scenario import load_scenario
from simlib.targets import TargetCache, run_scenario

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


if __name__ == "__main__":
    main()

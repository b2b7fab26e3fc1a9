"""Benchmark of the Monte Carlo bookings kernel (:mod:`simlib.engine`).

Prints figures, not pass/fail. Run::

    .venv/bin/python bench/simulate.py            # both sizes (about a minute)
    .venv/bin/python bench/simulate.py --quick    # the small size only

Reported, per size and thread count (medians of repeats, after warm-up, with the output
buffer reused because this VM returns idle memory to the host and re-touching it is slow):

* deal-trials per second for the open deals alone and for the full model (open deals
  plus a new pipeline: Poisson(5) deals created per rep and trial, each won with the
  rep's probability, drawn once from U(0.2, 0.6), sizes bootstrapped from 40 amounts);
* the yardstick: NumPy ``Generator(SFC64).random(n, dtype=float32, out=buf)`` uniforms per
  second on one thread, measured in the same run, and the kernel's rate per thread over it;
* the 2-thread speedup; peak resident memory; compile time (cold, in a fresh process with
  an empty numba cache, and warm, loading that cache);
* the same rates per CPU-second (all threads): on a shared machine, where other processes
  take the cores away, wall time overstates the kernel's cost and CPU time does not
  (with 2 threads it includes OpenMP's spin-waiting at the end of the loop);
* a machine check: the load average and the 2-thread speedup of a trivially parallel
  loop, which caps every 2-thread figure when the machine is busy;
* the "interactive update": 50 reps x 1,000 deals x 10,000 trials, simulation plus
  :func:`simlib.engine.summarise`, in milliseconds, on 1 and 2 threads and with the
  threads chosen by size (``threads=None``);
* memory at the large size, each in a fresh process (peak RSS): the trials kept in float64
  and summarised, kept in float32, and the summary streamed chunk by chunk
  (:class:`simlib.engine.SummaryStream`, the trials drawn twice), with their times.

Targets on a 2-core machine (issue 17): at both sizes open deals >= 8x the NumPy uniform
rate per thread, full model >= 5x, 2 threads >= 1.8x one thread; the interactive update
no slower on 2 threads than on 1.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simlib import engine  # noqa: E402  (after the path set-up, for running from a checkout)

SIZES = [(1_000, 50, 10_000), (10_000, 500, 100_000)]
QUICK_SIZES = SIZES[:1]
SEED = 20261126


def make_book(
    n_deals: int, n_reps: int, seed: int = 1
) -> tuple[engine.DealBook, engine.NewPipeline]:
    """A realistic synthetic pipeline: lognormal amounts, Beta(2, 5) win probabilities."""
    rng = np.random.default_rng(seed)
    deals = engine.DealBook(
        amount=rng.lognormal(10.0, 1.0, n_deals),
        p=rng.beta(2.0, 5.0, n_deals),
        rep=rng.integers(0, n_reps, n_deals),
        key=rng.permutation(10 * n_deals)[:n_deals],
        n_reps=n_reps,
    )
    new = engine.NewPipeline.poisson(
        rate=np.full(n_reps, 5.0),
        new_p=rng.uniform(0.2, 0.6, n_reps),
        size_pools=[rng.lognormal(9.5, 0.8, 40) for _ in range(n_reps)],
    )
    return deals, new


def median_time(func, repeats: int) -> float:
    """Median wall-clock seconds of ``func()``."""
    return median_times(func, repeats)[0]


def median_times(func, repeats: int) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds (all threads) of ``func()``.

    CPU time is not inflated when other processes take the cores from this one, so on a
    shared machine it tells the kernel's own speed; wall time is what a user waits.
    """
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu))


def numpy_uniform_rate(repeats: int = 101, n: int = 1 << 16) -> tuple[float, float]:
    """NumPy SFC64 float32 uniforms per second, one thread, reused buffer.

    The 256 KiB buffer stays in L2: the fastest case for NumPy (a 4 MiB buffer measured
    the same or slower), so the ratios below are not flattered by a slow yardstick.
    """
    rng = np.random.Generator(np.random.SFC64(SEED))
    buf = np.empty(n, dtype=np.float32)
    rng.random(n, dtype=np.float32, out=buf)
    wall, cpu = median_times(lambda: rng.random(n, dtype=np.float32, out=buf), repeats)
    return n / wall, n / cpu


def machine_check() -> tuple[float, float]:
    """(1-minute load average, 2-thread speedup of a trivially parallel integer loop).

    Tells whether two cores were really free: other processes on the machine (or on
    its host) take a share that no code can win back. A speedup well under 2 here
    caps every 2-thread figure below.
    """
    import numba

    @numba.njit(parallel=True, cache=False)
    def spin(n_tasks, n):
        out = np.zeros(n_tasks, np.int64)
        for task in numba.prange(n_tasks):
            s = np.int64(task)
            for i in range(n):
                s = (s * 3 + i) ^ (s >> 7)
            out[task] = s
        return out

    spin(2, 10)
    times = {}
    for threads in (1, 2):
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            times[threads] = median_time(lambda: spin(8, 5_000_000), 5)
        finally:
            numba.set_num_threads(previous)
    return os.getloadavg()[0], times[1] / times[2]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
from simlib import engine
t1 = time.perf_counter()
deals = engine.DealBook([1.0, 2.0], [0.5, 0.5], [0, 1], None, 2)
new = engine.NewPipeline.poisson([1.0, 1.0], [0.5, 0.5], [[1.0], [2.0]])
b = engine.simulate_bookings(deals, new, 10, 1)
t2 = time.perf_counter()
engine.summarise(b, quota=1.0)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
"""


def compile_times() -> list[tuple[str, float, float, float]]:
    """(label, import s, first simulate s, first summarise s) cold then warm."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        for label in ("cold (empty cache)", "warm (cache on disk)"):
            done = subprocess.run(
                [sys.executable, "-c", COMPILE_SNIPPET],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append((label, *map(float, done.stdout.split())))
    return rows


def bench_size(
    n_deals: int, n_reps: int, n_trials: int, yardstick: tuple[float, float], repeats: int
) -> list[dict]:
    deals, new = make_book(n_deals, n_reps)
    out = np.empty((n_trials, n_reps))
    rows = []
    for threads in (1, 2):
        for part, pipeline in (("open deals", None), ("full model", new)):

            def run(pipeline=pipeline, threads=threads):
                engine.simulate_bookings(deals, pipeline, n_trials, SEED, threads=threads, out=out)

            run()  # warm-up (and compile when not cached)
            seconds, cpu_seconds = median_times(run, repeats)
            rate = n_deals * n_trials / seconds
            cpu_rate = n_deals * n_trials / cpu_seconds
            rows.append(
                dict(
                    size=f"D={n_deals:,} R={n_reps} N={n_trials:,}",
                    part=part,
                    threads=threads,
                    ms=seconds * 1e3,
                    rate=rate,
                    per_thread=rate / threads,
                    ratio=rate / threads / yardstick[0],
                    cpu_rate=cpu_rate,
                    cpu_ratio=cpu_rate / yardstick[1],
                )
            )
    for row in rows:
        if row["threads"] == 2:
            one = next(r for r in rows if r["threads"] == 1 and r["part"] == row["part"])
            row["speedup"] = row["rate"] / one["rate"]
    return rows


def interactive(repeats: int) -> list[tuple[int, float, float, float, float]]:
    """50 reps x 1,000 deals x 10,000 trials, full model, plus summary: ms.

    Rows: threads, simulate, summarise, both (wall), both (CPU, all threads).
    """
    deals, new = make_book(1_000, 50, seed=7)
    quota = engine.bookings_moments(deals, new)[0]
    out = np.empty((10_000, 50))
    rows = []
    for threads in (1, 2, None):

        def sim(threads=threads):
            engine.simulate_bookings(deals, new, 10_000, SEED, threads=threads, out=out)

        def summ(threads=threads):
            engine.summarise(out, quota=quota, threads=threads)

        sim()
        summ()
        t_sim = median_time(sim, repeats * 4)
        t_sum = median_time(summ, repeats * 4)
        t_all, cpu_all = median_times(lambda: (sim(), summ()), repeats * 4)
        rows.append((threads, t_sim * 1e3, t_sum * 1e3, t_all * 1e3, cpu_all * 1e3))
    return rows


MEMORY_SNIPPET = """
import sys, time
import numpy as np
sys.path.insert(0, {bench!r})
from simulate import make_book, SEED
from simlib import engine
mode, n_deals, n_reps, n_trials, chunk = sys.argv[1], *map(int, sys.argv[2:])
deals, new = make_book(n_deals, n_reps)
quota = engine.bookings_moments(deals, new)[0]


def run(n_trials, chunk):
    if mode == "streamed":
        stream = engine.SummaryStream(n_trials, n_reps, quota=quota)
        for step in (stream.scan, stream.collect):
            for s in range(0, n_trials, chunk):
                n = min(chunk, n_trials - s)
                step(engine.simulate_bookings(deals, new, n, SEED, trial_start=s), s)
        return stream.result()
    dtype = np.float32 if mode == "kept float32" else np.float64
    trials = engine.simulate_bookings(deals, new, n_trials, SEED, dtype=dtype)
    return engine.summarise(trials, quota=quota)


run(1000, 300)  # compile or load every kernel this mode uses
start = time.perf_counter()
summary = run(n_trials, chunk)
seconds = time.perf_counter() - start
# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (kept across fork + exec)
with open("/proc/self/status") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
print(seconds, rss, float(summary["p50"].sum()))
"""


def memory(n_deals: int, n_reps: int, n_trials: int, chunk: int = 10_000) -> list[tuple]:
    """(mode, seconds, peak RSS MiB, sum of medians) per mode, each in a fresh process."""
    rows = []
    snippet = MEMORY_SNIPPET.format(bench=str(ROOT / "bench"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for mode in ("kept float64", "kept float32", "streamed"):
        args = [mode, str(n_deals), str(n_reps), str(n_trials), str(chunk)]
        done = subprocess.run(
            [sys.executable, "-c", snippet, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, rss, p50 = map(float, done.stdout.split())
        rows.append((mode, seconds, rss, p50))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run only the small size")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure")
    args = parser.parse_args(argv)

    import numba

    print(
        f"simlib.engine benchmark  python {sys.version.split()[0]}  numpy {np.__version__}  "
        f"numba {numba.__version__}  threading layer: ",
        end="",
    )
    engine.simulate_bookings(*make_book(10, 2), 1, 0)
    print(numba.threading_layer(), f" cores: {os.cpu_count()}")

    print("\nCompile (fresh process; seconds)")
    print(f"  {'':22s} {'import':>8s} {'simulate':>9s} {'summarise':>10s}")
    for label, t_import, t_sim, t_sum in compile_times():
        print(f"  {label:22s} {t_import:8.2f} {t_sim:9.2f} {t_sum:10.2f}")

    load, speedup = machine_check()
    print(
        f"\nMachine check: load average {load:.2f} (1 min); a trivially parallel integer loop "
        f"runs {speedup:.2f}x faster on 2 threads than on 1"
    )

    yardstick = numpy_uniform_rate()
    print(
        f"\nYardstick: NumPy Generator(SFC64) float32 uniforms, 1 thread: "
        f"{yardstick[0] / 1e9:.3f} G/s wall, {yardstick[1] / 1e9:.3f} G per CPU-second"
    )

    sizes = QUICK_SIZES if args.quick else SIZES
    header = (
        f"  {'size':28s} {'part':10s} {'thr':>3s} {'time ms':>9s} {'G deal-trials/s':>15s} "
        f"{'per thread':>10s} {'x numpy':>8s} {'2-thr speedup':>13s} {'G/CPU-s':>8s} "
        f"{'x numpy':>8s}"
    )
    print(
        "\nThroughput (median of",
        args.repeats,
        "repeats; deal-trials = deals x trials; the last "
        "two columns count CPU-seconds of all threads instead of wall seconds)",
    )
    print(header)
    for n_deals, n_reps, n_trials in sizes:
        rss_before = peak_rss_mib()
        rows = bench_size(n_deals, n_reps, n_trials, yardstick, args.repeats)
        for row in sorted(rows, key=lambda r: (r["part"] != "open deals", r["threads"])):
            speedup = f"{row['speedup']:.2f}x" if "speedup" in row else ""
            print(
                f"  {row['size']:28s} {row['part']:10s} {row['threads']:3d} {row['ms']:9.1f} "
                f"{row['rate'] / 1e9:15.2f} {row['per_thread'] / 1e9:10.2f} "
                f"{row['ratio']:7.1f}x {speedup:>13s} {row['cpu_rate'] / 1e9:8.2f} "
                f"{row['cpu_ratio']:7.1f}x"
            )
        out_mib = n_trials * n_reps * 8 / 2**20
        print(
            f"  {'':28s} peak RSS {peak_rss_mib():,.0f} MiB "
            f"(before this size {rss_before:,.0f} MiB; output array {out_mib:,.0f} MiB)"
        )

    print("\nInteractive update: 50 reps x 1,000 deals x 10,000 trials, full model + summary")
    print(
        f"  {'thr':>4s} {'simulate ms':>12s} {'summarise ms':>13s} {'total ms':>9s} "
        f"{'total CPU ms':>13s}"
    )
    for threads, t_sim, t_sum, t_all, cpu_all in interactive(args.repeats):
        shown = "auto" if threads is None else str(threads)
        print(f"  {shown:>4s} {t_sim:12.2f} {t_sum:13.2f} {t_all:9.2f} {cpu_all:13.2f}")

    if not args.quick:
        n_deals, n_reps, n_trials = SIZES[-1]
        print(
            f"\nMemory: D={n_deals:,} R={n_reps} N={n_trials:,}, full model + summary, "
            "each in a fresh process (trials as an array: "
            f"{n_trials * n_reps * 8 / 2**20:,.0f} MiB in float64)"
        )
        print(f"  {'mode':14s} {'seconds':>8s} {'peak RSS MiB':>13s} {'sum of P50s':>16s}")
        for mode, seconds, rss, p50 in memory(n_deals, n_reps, n_trials):
            print(f"  {mode:14s} {seconds:8.2f} {rss:13,.0f} {p50:16,.2f}")
        print(
            "  (streamed: 10,000-trial chunks, drawn twice; its summary is bit-identical to "
            "the kept float64 one)"
        )
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()

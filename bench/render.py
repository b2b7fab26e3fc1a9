"""Benchmark: amortised seconds per report for every demo rep's review pack.

Three ways, measured in the same run on the same machine:

1. naive — the command lines in a loop, one report at a time:
   ``papermill rep_review_pack.ipynb out.ipynb -p rep_id ...`` then
   ``jupyter nbconvert --to html --no-input out.ipynb`` (timed on a sample of reps;
   every report costs the same start-up, so the sample's mean is the per-report cost);
2. pool, fresh kernels — ``render_batch(..., fresh=True)``: papermill and nbconvert
   imported once per worker, a new kernel per report (sampled too);
3. simlib batch — ``render_batch``: warm kernels that keep imports and the company's
   data between reports (all reps).

    .venv/bin/python bench/render.py [--workers 2] [--sample 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEMPLATE = ROOT / "notebooks" / "reports" / "rep_review_pack.ipynb"
PERIOD = "2026-10"


def naive(reps: list[str], out: Path) -> list[float]:
    bindir = Path(sys.executable).parent
    out.mkdir(parents=True, exist_ok=True)
    times = []
    for rep in reps:
        t0 = time.perf_counter()
        nb = out / f"{rep}.ipynb"
        subprocess.run(
            [
                str(bindir / "papermill"),
                str(TEMPLATE),
                str(nb),
                "-p",
                "rep_id",
                rep,
                "-p",
                "period",
                PERIOD,
                "--cwd",
                str(ROOT),
                "--no-progress-bar",
                "-k",
                "python3",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(bindir / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb)],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--sample", type=int, default=4, help="reps timed the naive ways")
    args = ap.parse_args()

    from simlib.reports.batch import org_ids, render_batch

    reps = org_ids("reps")
    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load:.2f} at start "
        "(other work on the machine inflates every figure below)"
    )
    print(
        f"report: rep_review_pack for period {PERIOD}; {len(reps)} active reps; "
        f"{args.workers} workers\n"
    )
    tmp = Path(tempfile.mkdtemp(prefix="simlib-bench-render-"))
    try:
        sample = reps[: args.sample]
        t_naive = naive(sample, tmp / "naive")
        per_naive = statistics.mean(t_naive)
        print(
            f"naive command-line loop   : {per_naive:6.2f} s per report "
            f"(mean of {len(sample)}: {', '.join(f'{t:.1f}' for t in t_naive)})"
        )

        t0 = time.perf_counter()
        b = render_batch(
            TEMPLATE,
            {"rep_id": sample, "period": PERIOD},
            tmp / "fresh",
            workers=args.workers,
            fresh=True,
            progress=False,
        )
        per_fresh = (time.perf_counter() - t0) / len(sample)
        assert b.ok, b.summary()
        print(
            f"pool, fresh kernel each   : {per_fresh:6.2f} s per report "
            f"({len(sample)} reports on {args.workers} workers)"
        )

        t0 = time.perf_counter()
        b = render_batch(
            TEMPLATE,
            {"rep_id": "all", "period": PERIOD},
            tmp / "warm",
            workers=args.workers,
            progress=False,
        )
        wall = time.perf_counter() - t0
        assert b.ok, b.summary()
        per_warm = wall / len(reps)
        item = statistics.median(r.duration_s for r in b.results)
        print(
            f"simlib batch (warm)       : {per_warm:6.2f} s per report "
            f"({len(reps)} reports in {wall:.1f} s; median item {item:.2f} s in its worker)"
        )
        print(f"\nspeed-up vs naive loop    : {per_naive / per_warm:5.1f}x  (aim >= 4x on 2 cores)")
        print(f"speed-up vs fresh kernels : {per_fresh / per_warm:5.1f}x")
        print(
            f"all {len(reps)} packs, naive (projected): {per_naive * len(reps) / 60:.1f} min; "
            f"simlib batch: {wall / 60:.1f} min"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

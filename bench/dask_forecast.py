"""The forecast of a million-opportunity company on a Dask cluster: same bytes as a local run.

Run::

    .venv/bin/python bench/dask_forecast.py                  # 1,000,000 opportunities
    .venv/bin/python bench/dask_forecast.py --rows 100000    # quicker

It writes a Salesforce-shaped export with stage history (:func:`simlib.data.synthetic.
write_export`, cached between runs), loads it through ``params/mappings/salesforce_history.
yaml``, calibrates once, and simulates the period locally and on a 2-worker
``LocalCluster`` (one thread each, separate processes), keeping the trials and streaming
the summary. Printed: each step's time, the open deals and reps the kernel sees, and the
SHA-256 of the trials' bytes and of the summary's JSON for every run -- they must agree.

Pointing the same code at a real cluster is one line: ``Client("tcp://scheduler:8786")``
instead of ``Client(LocalCluster(...))`` (or ``simlib simulate --dask tcp://scheduler:8786``).
The model is scattered to every worker once; each chunk of ``chunk_trials`` trials is one
task, a pure function of (model, seed, first trial, count), so where and in what order
the tasks run changes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="opportunities")
    parser.add_argument("--owners", type=int, default=62)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=2_500, help="trials per task")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "simlib-bench"))
    args = parser.parse_args(argv)

    import numpy as np
    from distributed import Client, LocalCluster
    from ingest import export

    from simlib.data.io import load_data
    from simlib.pipeline import calibrate
    from simlib.simulate import build_model, simulate

    folder, seconds = export(Path(args.cache), args.rows, args.owners)  # shared with ingest.py
    made = "cached" if seconds is None else f"written in {seconds:.1f} s"
    print(f"export ({made}): {folder}")

    t0 = time.perf_counter()
    data = load_data(str(folder), "salesforce_history", strict=False)
    t_load = time.perf_counter() - t0
    last = max(data.opportunities["created_date"].max(), data.opportunities["close_date"].max())
    as_of = last.normalize()
    quarter = as_of.to_period("Q")  # the quarter under way on the export's last day
    period = f"{quarter.year}-Q{quarter.quarter}"
    t0 = time.perf_counter()
    cal = calibrate(data, period, as_of)
    t_cal = time.perf_counter() - t0
    model = build_model(cal)
    print(
        f"loaded {len(data.opportunities):,} opportunities in {t_load:.1f} s; calibrated "
        f"{period} as of {as_of.date()} in {t_cal:.1f} s: {model.deals.n_deals:,} open deals, "
        f"{len(model.rep_ids)} reps, {args.trials:,} trials in chunks of {args.chunk:,}"
    )

    runs = []

    def run(label, **kwargs):
        start = time.perf_counter()
        res = simulate(
            data,
            calibration=cal,
            n_trials=args.trials,
            seed=17,
            chunk_trials=args.chunk,
            **kwargs,
        )
        seconds = time.perf_counter() - start
        trials = "-" if res.trials is None else digest(np.ascontiguousarray(res.trials).tobytes())
        summary = digest(res.summary.to_json().encode())
        runs.append((label, seconds, trials, summary))

    run("local, kept")
    run("local, streamed", keep_trials=False)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        run("2 workers, kept", client=client)
        run("2 workers, streamed", client=client, keep_trials=False)

    print(f"\n  {'run':22s} {'seconds':>8s} {'trials sha256':>17s} {'summary sha256':>17s}")
    for label, seconds, trials, summary in runs:
        print(f"  {label:22s} {seconds:8.2f} {trials:>17s} {summary:>17s}")
    same_summary = len({r[3] for r in runs}) == 1
    same_trials = len({r[2] for r in runs if r[2] != "-"}) == 1
    print(
        f"\nsummary bytes identical across all runs: {same_summary}; "
        f"trials bytes identical (kept runs): {same_trials}"
    )


if __name__ == "__main__":
    main()

"""Benchmark: a million-opportunity Salesforce export through ``simlib data check``.

Prints figures, not pass/fail. Run::

    .venv/bin/python bench/ingest.py              # 1,000,000 opportunities, 62 owners
    .venv/bin/python bench/ingest.py --quick      # 100,000 opportunities
    .venv/bin/python bench/ingest.py --rows 250000 --owners 20 --cache /data/bench

The export (:func:`simlib.data.synthetic.write_export`: the opportunities report and its
stage history report, about four history rows a deal) is generated once into a cache
folder (default under the system temp dir; reused while its planted.json matches) and
read through ``params/mappings/salesforce_history.yaml``. In the same run it measures:

(a) the baseline: ``pyarrow.csv.read_csv`` of the same two files, in a fresh process
    (wall seconds, CPU seconds, peak RSS);
(b) ``simlib data check`` run as a subprocess exactly as a user would (wall, CPU = user +
    system of the child, peak RSS of the child from ``getrusage(RUSAGE_CHILDREN)``), and
    its ratio to (a);
(c) ``simlib calibrate`` and ``simlib simulate --trials 10000`` the same way, for the month
    after the export's last day.

pyarrow's default memory pool here is mimalloc; on this VM it can spend many seconds in
the kernel (freed memory goes back to the host and is faulted in again), so (a) is run
three times with mimalloc and three with jemalloc (``ARROW_DEFAULT_MEMORY_POOL``) and the
faster median is the baseline. ``simlib data check`` uses jemalloc unless that variable
is set. Wall much larger than CPU means the process waited: for the disk, for memory the VM had
returned to the host (re-touching it is slow here), or for a core another process held;
the load average is printed first so a busy machine shows. Targets (issue 17): data
check <= 15 s and <= 2 GB; calibrate + simulate <= 30 s (``simlib simulate`` does both,
after loading the export).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

_ARROW_READ = """
import sys, pyarrow.csv as pc
for f in sys.argv[1:]:
    t = pc.read_csv(f)
    print(f, t.num_rows, t.num_columns)
"""


def run_child(cmd: list[str]) -> dict:
    """Run ``cmd``; its wall and CPU seconds, peak RSS (MB), exit status and output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dict(
        wall=wall,
        cpu=cpu,
        user=after.ru_utime - before.ru_utime,
        sys=after.ru_stime - before.ru_stime,
        # the largest child so far: measure() runs each command from a fresh process
        rss_mb=after.ru_maxrss / 1024,
        rc=proc.returncode,
        out=proc.stdout,
        err=proc.stderr,
    )


def export(cache: Path, rows: int, owners: int) -> tuple[Path, float | None]:
    """The export for ``rows`` and ``owners`` in ``cache`` (generated when missing)."""
    from simlib.data.synthetic import write_export

    folder = cache / f"salesforce_{rows}_{owners}"
    meta = folder / "planted.json"
    if meta.exists():
        m = json.loads(meta.read_text(encoding="utf-8"))
        if m.get("n_opportunities") == rows and m.get("n_owners") == owners:
            return folder, None
    t0 = time.perf_counter()
    write_export(folder, n_opportunities=rows, n_owners=owners, seed=0)
    return folder, time.perf_counter() - t0


def line(name: str, r: dict, base: dict | None = None) -> str:
    ratio = ""
    if base:
        ratio = f"   {r['wall'] / base['wall']:6.1f}x wall, {r['cpu'] / base['cpu']:5.1f}x CPU"
    status = "" if r["rc"] == 0 else f"   (exit {r['rc']})"
    return (
        f"  {name:<34} wall {r['wall']:7.2f} s   CPU {r['cpu']:7.2f} s "
        f"(user {r['user']:.2f}, sys {r['sys']:.2f})   peak RSS {r['rss_mb']:7.0f} MB"
        f"{ratio}{status}"
    )


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """``cmd`` in a fresh child of a fresh process, so RUSAGE_CHILDREN's peak is its own."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        f"from bench.ingest import run_child; r = run_child({cmd!r}); print(json.dumps(r))"
    )
    proc = subprocess.run(
        [PYTHON, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise SystemExit(f"measuring {' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="opportunities")
    parser.add_argument("--owners", type=int, default=62)
    parser.add_argument("--quick", action="store_true", help="100,000 opportunities")
    parser.add_argument("--cache", default=None, help="folder for the generated export")
    parser.add_argument("--trials", type=int, default=10_000, help="simulate --trials")
    parser.add_argument("--skip-forecast", action="store_true", help="data check only")
    args = parser.parse_args(argv)
    rows = 100_000 if args.quick else args.rows
    cache = Path(args.cache) if args.cache else Path(tempfile.gettempdir()) / "simlib-bench"
    cache.mkdir(parents=True, exist_ok=True)

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    folder, gen = export(cache, rows, args.owners)
    files = [folder / "opportunities.csv", folder / "opportunity_history.csv"]
    meta = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    size = sum(f.stat().st_size for f in files) / 1e6
    print(
        f"export: {folder} — {rows:,} opportunities, {meta['history_rows']:,} history rows, "
        f"{args.owners} owners, {size:,.0f} MB of CSV"
        + (f" (generated in {gen:.1f} s)" if gen is not None else " (cached)")
    )
    simlib = [PYTHON, "-m", "simlib.cli"]
    data = ["--data", str(folder), "--mapping", "salesforce_history"]
    as_of = meta["as_of"]
    period = f"{int(as_of[:4]) + (as_of[5:7] == '12')}-{int(as_of[5:7]) % 12 + 1:02d}"

    print("\n(a) baseline: pyarrow.csv.read_csv of both files, fresh process, 3 runs each")
    read = [PYTHON, "-c", _ARROW_READ, *map(str, files)]
    runs = {}
    for pool in ("mimalloc", "jemalloc"):
        runs[pool] = sorted(
            (measure(read, {"ARROW_DEFAULT_MEMORY_POOL": pool}) for _ in range(3)),
            key=lambda r: r["wall"],
        )
        for r in runs[pool]:
            print(line(f"pyarrow read_csv ({pool} pool)", r))
    # the fastest median of the two pools: the ratios below are against the best read
    base = min((rs[1] for rs in runs.values()), key=lambda r: r["wall"])
    print(f"  baseline: {base['wall']:.2f} s wall, {base['cpu']:.2f} s CPU (the faster median)")
    startup = measure([*simlib, "--help"])
    print(line("simlib --help (start-up)", startup))

    print("\n(b) simlib data check, as a user runs it")
    check = measure([*simlib, "data", "check", *data])
    print(line("data check", check, base))
    print(f"      last line of its report: {check['out'].strip().splitlines()[-1]!r}")

    if not args.skip_forecast:
        print(f"\n(c) forecast for {period} as of {as_of}")
        cal = measure([*simlib, "calibrate", "--period", period, "--as-of", as_of, *data])
        print(line("calibrate (load + calibrate)", cal, base))
        sim = measure(
            [*simlib, "simulate", "--period", period, "--as-of", as_of, *data,
             "--trials", str(args.trials), "--level", "company"]
        )  # fmt: skip
        print(line(f"simulate --trials {args.trials:,}", sim, base))
        print("      (simulate loads, calibrates and simulates: the whole forecast in one command)")
        for name, r in (("calibrate", cal), ("simulate", sim)):
            if r["rc"] != 0:
                print(f"      {name} said: {(r['err'] or r['out']).strip()[-400:]}")


if __name__ == "__main__":
    main()

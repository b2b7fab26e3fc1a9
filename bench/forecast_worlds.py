"""Benchmark: backtest the quarter-ahead forecast across a family of independent worlds.

Each world (:mod:`simlib.data.worlds`, seeds 0..N-1) is a company built on mechanisms
the model does not assume — a rotting pipeline, a CRM loaded over its first months, a
±30% market shock in one quarter, reps leaving mid-quarter, won values off the list
price — exported as a snapshot in the shape of a public CRM export. The export (without
its ``truth/``) is loaded through ``params/mappings/crm_export.yaml`` in lenient mode
and backtested from every quarter end between one year after the start and the last
quarter end whose next quarter ends by the export date (8 as-of dates for the default
three-year world).

Prints, per level (company, region, team, rep) over all worlds: rows, P10–P90 coverage,
bias, the pinball ratio against the CRM's stage-weighted number, WAPE of the model's
median and of the CRM number (from :func:`simlib.backtest.summarise_backtest`), and
how many quarters the company's actual fell inside its band; the issue's targets
beside them (coverage 0.72–0.88, |bias| ≤ 10%, pinball ≤ 0.8×). Figures, not
pass/fail. Run::

    .venv/bin/python bench/forecast_worlds.py                  # 6 worlds, 1,000 trials
    .venv/bin/python bench/forecast_worlds.py --seeds 2 --trials 500 --markdown
    .venv/bin/python bench/forecast_worlds.py --rows /tmp/worlds_rows.csv
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simlib.backtest import backtest, summarise_backtest  # noqa: E402
from simlib.data.io import load_data  # noqa: E402
from simlib.data.worlds import WorldSpec, generate_world, write_export  # noqa: E402

MAPPING = ROOT / "params" / "mappings" / "crm_export.yaml"
LEVELS = ("company", "region", "team", "rep")
COVERAGE = (0.72, 0.88)
MAX_BIAS = 0.10
MAX_PINBALL = 0.8


def as_of_dates(spec: WorldSpec, data_as_of=None) -> list[pd.Timestamp]:
    """Quarter ends from one year after the start to the last one whose next quarter
    ends by the export date (and by the data's own end, when the loader says it)."""
    end = pd.Timestamp(spec.export_date)
    if data_as_of is not None:
        end = min(end, pd.Timestamp(data_as_of))
    first = pd.Timestamp(spec.start) + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    ends = pd.date_range(first, end, freq="QE")
    return [T for T in ends if T + pd.offsets.QuarterEnd(1) <= end]


def load(folder: Path, mapping: Path, export_date):
    """The export loaded as the brief says; with the export date as the data's end
    when the loader takes one (the day the export was taken, not its last event)."""
    kw = {}
    if "as_of" in inspect.signature(load_data).parameters:
        kw["as_of"] = export_date
    return load_data(folder, str(mapping), strict=False, **kw)


def run_world(seed: int, trials: int, mapping: Path) -> tuple[pd.DataFrame, dict]:
    """Backtest one world; its rows (with ``seed``) and a line of facts about it."""
    t0 = time.perf_counter()
    world = generate_world(WorldSpec(seed=seed))
    with tempfile.TemporaryDirectory(prefix=f"simlib-world{seed}-") as tmp:
        folder = write_export(world, Path(tmp) / "export", truth=False)
        data = load(folder, mapping, world.spec.export_date)
    t1 = time.perf_counter()
    dates = as_of_dates(world.spec, getattr(data, "as_of", None))
    rows = backtest(data, dates, "quarter", n_trials=trials, seed=seed)
    t2 = time.perf_counter()
    rows.insert(0, "seed", seed)
    report = getattr(data, "report", None)
    company = rows[rows["level"] == "company"]
    facts = dict(
        seed=seed,
        export_rows=len(world.export["sales_pipeline"]),
        loaded=len(data.opportunities),
        errors=len(report.errors) if report is not None else 0,
        warnings=len(report.warnings) if report is not None else 0,
        shock=f"{world.params['shock_quarter']} {world.params['shock_size']:+.0%}",
        load_in=world.params["load_in_months"],
        rot=world.params["rot_share"],
        as_of=len(dates),
        company_in_band=f"{int(company['covered'].sum())}/{len(company)}",
        load_s=t1 - t0,
        backtest_s=t2 - t1,
    )
    return rows, facts


def level_table(rows: pd.DataFrame) -> pd.DataFrame:
    """summarise_backtest's figures per level, with the company's quarters in band."""
    s = summarise_backtest(rows).set_index("level")
    company = rows[rows["level"] == "company"]
    out = pd.DataFrame(
        {
            "rows": s["rows"],
            "coverage": s["coverage_p10_p90"],
            "bias": s["bias"],
            "crm_bias": s["crm_bias"],
            "pinball_ratio": s["pinball_ratio"],
            "wape": s["wape"],
            "crm_wape": s["crm_wape"],
        }
    )
    out["meets"] = [
        _meets(out.loc[lv]) if lv in ("rep", "team", "region", "company") else ""
        for lv in out.index
    ]
    out.attrs["company_in_band"] = (int(company["covered"].sum()), len(company))
    out.attrs["crm_zero_share"] = float((rows["crm_baseline"] == 0).mean())
    return out.reindex([lv for lv in LEVELS if lv in out.index])


def _meets(r) -> str:
    miss = []
    if not COVERAGE[0] <= r["coverage"] <= COVERAGE[1]:
        miss.append("coverage")
    if abs(r["bias"]) > MAX_BIAS:
        miss.append("bias")
    if not r["pinball_ratio"] <= MAX_PINBALL:
        miss.append("pinball")
    return "yes" if not miss else "no: " + ", ".join(miss)


def _pct(x: float, sign: bool = False) -> str:
    return "—" if pd.isna(x) else (f"{x:+.1%}" if sign else f"{x:.1%}")


def _ratio(x: float) -> str:
    return "—" if pd.isna(x) else f"{x:.2f}×"


def print_text(table: pd.DataFrame) -> None:
    head = (
        f"{'level':<8} {'rows':>6} {'P10–P90':>8} {'bias':>8} {'CRM bias':>9} {'pinball':>8} "
        f"{'WAPE':>7} {'CRM WAPE':>9}  meets targets"
    )
    print(head)
    print("-" * len(head))
    for lv, r in table.iterrows():
        print(
            f"{lv:<8} {int(r['rows']):>6} {_pct(r['coverage']):>8} {_pct(r['bias'], True):>8} "
            f"{_pct(r['crm_bias'], True):>9} {_ratio(r['pinball_ratio']):>8} "
            f"{_pct(r['wape']):>7} {_pct(r['crm_wape']):>9}  "
            f"{r['meets']}"
        )
    k, m = table.attrs["company_in_band"]
    print(f"company inside its P10–P90 band in {k} of {m} quarters")
    if _zero_note(table):
        print("note: " + _zero_note(table))


def _zero_note(table: pd.DataFrame) -> str:
    """Say so when the CRM number is zero in most rows: a pinball ratio against nothing."""
    z = table.attrs.get("crm_zero_share", 0.0)
    if z < 0.5:
        return ""
    return (
        f"The CRM's stage-weighted number is 0 in {z:.0%} of the rows (the export has "
        "no expected close dates, so no open deal is expected in the window): the pinball "
        "ratio and CRM WAPE are against a forecast of nothing."
    )


def print_markdown(table: pd.DataFrame, n_worlds: int, n_dates: int, trials: int) -> None:
    k, m = table.attrs["company_in_band"]
    print(
        f"Backtest on {n_worlds} independent world{'s' if n_worlds != 1 else ''} "
        "(`bench/forecast_worlds.py`), "
        f"{n_dates} quarter-ahead as-of dates in all, {trials:,} trials:"
    )
    print()
    print(
        "| level | rows | P10–P90 coverage | bias | CRM bias | pinball vs CRM | WAPE | "
        "CRM WAPE | meets targets |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for lv, r in table.iterrows():
        print(
            f"| {lv} | {int(r['rows']):,} | {_pct(r['coverage'])} | {_pct(r['bias'], True)} | "
            f"{_pct(r['crm_bias'], True)} | {_ratio(r['pinball_ratio'])} | {_pct(r['wape'])} | "
            f"{_pct(r['crm_wape'])} | "
            f"{r['meets']} |"
        )
    print()
    print(
        f"The company's actual fell inside its P10–P90 band in {k} of {m} quarters. "
        f"Targets: coverage {COVERAGE[0]:.2f}–{COVERAGE[1]:.2f}, |bias| ≤ {MAX_BIAS:.0%}, "
        f"pinball ≤ {MAX_PINBALL}× the stage-weighted CRM number."
    )
    note = _zero_note(table)
    if note:
        print()
        print(note)


def wait_for(mapping: Path, seconds: float) -> bool:
    """Poll for the mapping (the lead engineer writes it); True once it exists."""
    deadline = time.monotonic() + seconds
    while not mapping.exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(10)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=6, help="worlds 0..N-1 (default 6)")
    ap.add_argument("--first-seed", type=int, default=0, help="first world's seed (default 0)")
    ap.add_argument("--trials", type=int, default=1000, help="Monte Carlo trials per as-of")
    ap.add_argument("--markdown", action="store_true", help="print a README-ready table")
    ap.add_argument("--rows", metavar="FILE", help="write every backtest row as CSV")
    ap.add_argument("--mapping", default=str(MAPPING), help="mapping of the export")
    ap.add_argument(
        "--wait", type=float, default=0, help="seconds to wait for the mapping to appear"
    )
    args = ap.parse_args(argv)
    mapping = Path(args.mapping)
    if not wait_for(mapping, args.wait):
        print(f"no mapping at {mapping}: nothing to load the exports with", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    all_rows, facts = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rows, f = run_world(seed, args.trials, mapping)
        all_rows.append(rows)
        facts.append(f)
        print(
            f"world {seed}: {f['export_rows']:,} export rows, {f['loaded']:,} deals loaded "
            f"({f['errors']} errors, {f['warnings']} warnings); shock {f['shock']}, "
            f"load-in {f['load_in']} months, rot {f['rot']:.0%}; {f['as_of']} as-of dates; "
            f"company in band {f['company_in_band']}; load {f['load_s']:.1f} s, "
            f"backtest {f['backtest_s']:.1f} s",
            flush=True,
        )
    rows = pd.concat(all_rows, ignore_index=True)
    if args.rows:
        rows.to_csv(args.rows, index=False)
        print(f"{len(rows):,} backtest rows written to {args.rows}")
    table = level_table(rows)
    n_dates = sum(f["as_of"] for f in facts)
    print()
    if args.markdown:
        print_markdown(table, args.seeds, n_dates, args.trials)
    else:
        print(
            f"{args.seeds} worlds, {n_dates} as-of dates, {args.trials:,} trials "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        print_text(table)
    print(f"\nwall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

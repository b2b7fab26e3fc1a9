"""Timings of the tracking engine on the demo company (prints figures; not a pass/fail test).

.venv/bin/python bench/tracking.py
"""

from __future__ import annotations

import statistics
import time


def _time(label, fn, repeat=3):
    runs = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t)
    print(f"{label:<48} median {statistics.median(runs):7.3f} s  (min {min(runs):.3f})")
    return out


def main() -> None:
    from simlib import scorecard as sc
    from simlib import tracking as tr
    from simlib.data import load_demo

    data = _time("load_demo()", load_demo, repeat=1)
    f = _time("prepare(data)", lambda: tr.prepare(data))
    _time("metrics(month, level=rep)", lambda: tr.metrics(f, "2026-11", level="rep"))
    _time(
        "metrics(quarter, level=team, by=week)",
        lambda: tr.metrics(f, "2026-Q4", level="team", by="week"),
    )
    _time("target_wall(quarter)", lambda: tr.target_wall(f, "2026-Q4"))
    _time("alerts() (active at as_of)", lambda: tr.alerts(f), repeat=1)
    _time(
        "alert_history(2026-07-01..as_of)",
        lambda: tr.alert_history(f, "2026-07-01", f.as_of),
        repeat=1,
    )
    _time("deviation(team, month)", lambda: tr.deviation(f, "T-SH", "2026-10"))
    _time("fit_lead_model()", lambda: tr.fit_lead_model(f), repeat=1)
    _time("scorecard(month)", lambda: sc.scorecard(f, "2026-10"), repeat=1)


if __name__ == "__main__":
    main()

"""Benchmark: evaluate commission plans over 10,000 trials × 60 reps.

Prints the time to push one trial set through a plan (what a what-if slider waits
for), the time for the full cost summary, and a same-run baseline: a plain Python
loop over the same plan for 100 trials, scaled to 10,000.

Run: ``.venv/bin/python bench/plans.py``
"""

from __future__ import annotations

import time

import numpy as np

from simlib.plans import cost_of_sales, evaluate, load_plan, load_pool

T, R = 10_000, 60


def best_of(fn, repeat: int = 7) -> float:
    """Fastest wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def python_payout(
    plan, x: float, q: float, collection_rate: float = 0.9, kpi: float = 70.0
) -> float:
    """The same plan, one rep and trial at a time, the obvious way (the baseline)."""
    below = plan.at_threshold == "band_below"
    tiers = [(b.threshold * (q if plan.basis == "attainment" else 1.0), b.rate) for b in plan.tiers]
    mults = [(m.threshold * q, m.factor) for m in plan.multipliers] or [(0.0, 1.0)]

    def reached(bands):
        value = bands[0][1]
        for edge, v in bands[1:]:
            if x > edge or (x == edge and not below):
                value = v
        return value

    def inside(bands, at):
        return [v for edge, v in bands if edge <= at][-1]

    edges = sorted({e for e, _ in tiers} if plan.mode == "marginal" else {0.0})
    if plan.multiplier_mode == "marginal":
        edges = sorted(set(edges) | {e for e, _ in mults})
    pay = 0.0
    for k, lo in enumerate(edges):
        hi = edges[k + 1] if k + 1 < len(edges) else float("inf")
        if x <= lo:
            break
        rate = inside(tiers, lo) if plan.mode == "marginal" else reached(tiers)
        factor = inside(mults, lo) if plan.multiplier_mode == "marginal" else reached(mults)
        pay += (min(x, hi) - lo) * rate * factor
    g = plan.gate
    if g is not None:
        ok = (
            (g.min_attainment is None or x >= g.min_attainment * q)
            and (g.min_collection_rate is None or collection_rate >= g.min_collection_rate)
            and (g.min_kpi_score is None or kpi >= g.min_kpi_score)
        )
        if not ok:
            return 0.0
    if plan.cap is not None and plan.cap.per_period is not None:
        pay = min(pay, plan.cap.per_period)
    if plan.floor is not None:
        pay = max(pay, plan.floor)
    return pay


def main() -> None:
    rng = np.random.default_rng(20261120)
    quota = np.round(rng.uniform(0.6e6, 1.4e6, R), 2)  # quotas in whole cents
    bookings = quota * rng.lognormal(-0.05, 0.35, (T, R))
    print(f"simlib.plans benchmark: {T:,} trials × {R} reps (float64)")
    for name in ("tiered_cn", "tiered_cn_retro", "saas_quota", "gated_collections"):
        plan = load_plan(name)
        kw = {"collection_rate": 0.9, "kpi_score": 70.0} if plan.gate is not None else {}
        t_vec = best_of(lambda plan=plan, kw=kw: evaluate(plan, bookings, quota, **kw))
        n = 100
        t_loop = best_of(
            lambda plan=plan, n=n: [
                [python_payout(plan, bookings[t, r], quota[r]) for r in range(R)] for t in range(n)
            ],
            repeat=3,
        ) * (T / n)
        fast = evaluate(plan, bookings[:n], quota, **kw)
        slow = np.array(
            [[python_payout(plan, bookings[t, r], quota[r]) for r in range(R)] for t in range(n)]
        )
        agree = np.abs(fast - slow).max()
        print(
            f"  {name:<18} vectorised {t_vec * 1e3:7.1f} ms   python loop (100 trials, ×{T // n}) "
            f"{t_loop * 1e3:8.0f} ms   speed-up ×{t_loop / t_vec:,.0f}   max diff {agree:.1e}"
        )
    # the plan terms added for published plans (issue 14), against the exact statement
    # path on a sample (its Fractions are the reference, not a speed baseline to beat)
    from simlib.plans import PlanSpec, statement_for

    newer = PlanSpec.model_validate(
        {
            "name": "published_terms",
            "description": "overage accelerators, an accelerator gate, entry bonuses",
            "basis": "attainment",
            "tiers": [
                {"threshold": 0, "rate": 0.06},
                {"threshold": 0.8, "rate": 0.08, "entry_bonus": 2000},
                {"threshold": 1.2, "rate": 0.10, "entry_bonus": 5000},
            ],
            "multipliers": [
                {"threshold": 0, "factor": 1},
                {"threshold": 1.0, "factor": 1.5},
                {"threshold": 1.5, "factor": 2.5},
            ],
            "multiplier_mode": "overage",
            "accelerator_gate": {"min_attainment": 1.1},
        }
    )
    t_vec = best_of(lambda: evaluate(newer, bookings, quota))
    n = 20
    t_exact = best_of(
        lambda: [
            [statement_for(newer, round(bookings[t, r], 2), quota[r]) for r in range(R)]
            for t in range(n)
        ],
        repeat=1,
    ) * (T / n)
    fast = evaluate(newer, np.round(bookings[:n], 2), quota)
    exact = np.array(
        [
            [
                float(statement_for(newer, round(bookings[t, r], 2), quota[r]).payable)
                for r in range(R)
            ]
            for t in range(n)
        ]
    )
    print(
        f"  {'published_terms':<18} vectorised {t_vec * 1e3:7.1f} ms   exact statements "
        f"({n} trials, ×{T // n}) {t_exact * 1e3:8.0f} ms   speed-up ×{t_exact / t_vec:,.0f}   "
        f"max diff {np.abs(fast - exact).max():.1e} (cents rounding)"
    )
    # a rep plan, the managers' override (10 teams of 6) and the bonus pool, same trials
    plans = [
        load_plan("tiered_cn"),
        load_plan("manager_override"),
        load_pool("params/bonus_pool.yaml"),
    ]
    teams = np.repeat([f"T{k}" for k in range(R // 6)], 6)
    t_cost = best_of(lambda: cost_of_sales(plans, bookings, quota, teams=teams).summary(), repeat=5)
    res = cost_of_sales(plans, bookings, quota, teams=teams)
    print(
        "  cost_of_sales (rep plan + manager override + bonus pool, with summary) "
        f"{t_cost * 1e3:.1f} ms"
    )
    print(f"  {res!r}")


if __name__ == "__main__":
    main()

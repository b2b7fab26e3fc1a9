"""Commission plans and the bonus pool: specs, exact statements, and cost over trials.

One module per concept:

- :mod:`simlib.plans.spec`: :class:`PlanSpec` / :class:`PoolSpec`, the validated
  contents of ``params/plans/*.yaml`` and ``params/bonus_pool.yaml``;
- :mod:`simlib.plans.statements`: exact per-rep, per-period statements in cents, with
  the arithmetic of every line in words (:mod:`simlib.plans.inputs` reads and checks
  their input tables);
- :mod:`simlib.plans.vector`: the same plans over a ``(trials, reps)`` array of
  results: payout distribution, cost of sales, budget and reserve, payout curve,
  gaming risk, fairness, and solvers for a rate or a gate;
- :mod:`simlib.plans.pool`: the bonus pool, exact and over trials.

Examples
--------
>>> from simlib.plans import load_plan, statement_for
>>> plan = load_plan("tiered_cn")
>>> st = statement_for(plan, 1_500_000)
>>> [ln.text for ln in st.lines]
['D1: 1,000,000 × 1% = 10,000', 'D1: 500,000 × 1.5% = 7,500']
>>> str(st.payable)
'17500.00'
"""

from simlib.plans.pool import PoolResult, PoolShare, allocate_pool, pool_payouts
from simlib.plans.spec import (
    MEASURES,
    RATIO_MEASURES,
    Band,
    Cap,
    Clawback,
    Draw,
    Gate,
    Multiplier,
    PlanSpec,
    PoolSpec,
    Spif,
    load_plan,
    load_pool,
)
from simlib.plans.statements import (
    LINE_KINDS,
    Line,
    Statement,
    StatementSet,
    compute_statements,
    statement_for,
    teams_from_reps,
)
from simlib.plans.vector import (
    RULE_OF_THUMB,
    CostResult,
    GamingRisk,
    Solution,
    attainment_shares,
    compare_plans,
    cost_of_sales,
    evaluate,
    fairness,
    gaming_risk,
    gini,
    not_modelled,
    payout_curve,
    plan_levels,
    solve_gate,
    solve_rate,
)

__all__ = [
    "MEASURES",
    "RATIO_MEASURES",
    "Band",
    "Multiplier",
    "Gate",
    "Cap",
    "Draw",
    "Spif",
    "Clawback",
    "PlanSpec",
    "PoolSpec",
    "load_plan",
    "load_pool",
    "LINE_KINDS",
    "Line",
    "Statement",
    "StatementSet",
    "compute_statements",
    "statement_for",
    "teams_from_reps",
    "PoolShare",
    "PoolResult",
    "allocate_pool",
    "pool_payouts",
    "evaluate",
    "not_modelled",
    "CostResult",
    "cost_of_sales",
    "compare_plans",
    "payout_curve",
    "GamingRisk",
    "gaming_risk",
    "gini",
    "fairness",
    "plan_levels",
    "attainment_shares",
    "RULE_OF_THUMB",
    "Solution",
    "solve_rate",
    "solve_gate",
]

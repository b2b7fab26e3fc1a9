"""Targets (SPEC R1-R5, R23): cascade next year's number to regions, teams and reps.

Modules, one concept each:

- :mod:`~simlib.data.org`: the organisation (company → region → team → rep);
- :mod:`~simlib.targets.history`: each node's inputs (last year, potential, capacity,
  seasonality, mix, funnel rates) from the data;
- :mod:`~simlib.targets.allocate`: the exact split of one parent (methods, blend,
  over-assignment, growth floor/cap, locks), the cascade, the year → quarter → month
  split;
- :mod:`~simlib.targets.risk`: attainability on cached trials, over-assignment for a
  confidence, fair quotas;
- :mod:`~simlib.targets.reconcile`: commits, gaps and the consensus;
- :mod:`~simlib.targets.smart`: the SMART check;
- :mod:`~simlib.targets.funnel`: the reverse funnel;
- :mod:`~simlib.targets.mix`: product line / customer type / new-customer splits;
- :mod:`~simlib.targets.run`: :func:`run_scenario`, exports, the ``simlib targets``
  command.

Examples
--------
>>> from simlib.data import load_demo                             # doctest: +SKIP
>>> from simlib.targets.scenario import load_scenario                     # doctest: +SKIP
>>> data = load_demo(); cache = TargetCache(data)                 # doctest: +SKIP
>>> alloc = run_scenario(load_scenario("baseline_2027"), data, cache=cache)  # doctest: +SKIP
>>> alloc.to_frame().head()                                       # doctest: +SKIP
"""

from simlib.data.org import OrgTree
from simlib.targets.allocate import (
    METHODS,
    AllocationError,
    Cascade,
    Split,
    blend_shares,
    cascade,
    fair_split_cents,
    growth_bounds_cents,
    method_shares,
    over_assigned,
    split,
    split_cents,
    time_split,
)
from simlib.targets.funnel import reverse_funnel
from simlib.targets.history import History, build_history, monthly_fte
from simlib.targets.mix import mix_shares, mix_targets
from simlib.targets.reconcile import (
    annual_commits,
    commit_gaps,
    consensus,
    load_commits,
    validate_commits,
)
from simlib.targets.risk import (
    NodeTrials,
    TargetCache,
    fair_quotas,
    node_trials,
    simulate_for_targets,
    uplift_for_confidence,
)
from simlib.targets.run import (
    Allocation,
    check_scenario,
    export_csv,
    export_xlsx,
    neutralise,
    run_scenario,
)
from simlib.targets.smart import smart_check

__all__ = [
    "METHODS",
    "AllocationError",
    "Cascade",
    "Split",
    "blend_shares",
    "cascade",
    "fair_split_cents",
    "growth_bounds_cents",
    "method_shares",
    "over_assigned",
    "split",
    "split_cents",
    "time_split",
    "reverse_funnel",
    "History",
    "build_history",
    "monthly_fte",
    "mix_shares",
    "mix_targets",
    "annual_commits",
    "commit_gaps",
    "consensus",
    "load_commits",
    "validate_commits",
    "NodeTrials",
    "TargetCache",
    "fair_quotas",
    "node_trials",
    "simulate_for_targets",
    "uplift_for_confidence",
    "Allocation",
    "check_scenario",
    "export_csv",
    "export_xlsx",
    "neutralise",
    "run_scenario",
    "smart_check",
    "OrgTree",
]

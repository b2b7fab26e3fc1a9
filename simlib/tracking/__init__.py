"""Tracking (SPEC R6-R10, R18): metrics with pace, early warning, reviews, analysis, reminders.

Every function takes the company's data (a :class:`simlib.data.Dataset`, or the
:class:`Facts` that :func:`prepare` builds from it once) and returns a tidy DataFrame
or a small frozen dataclass; a notebook calls each in one line:

>>> from simlib.data import load_demo                                  # doctest: +SKIP
>>> from simlib import tracking                                        # doctest: +SKIP
>>> data = tracking.prepare(load_demo())                               # doctest: +SKIP
>>> tracking.metrics(data, "2026-11", level="rep", within="T-SH")      # doctest: +SKIP
>>> tracking.target_wall(data, "2026-Q4")                              # doctest: +SKIP
>>> tracking.alerts(data)                                              # doctest: +SKIP
>>> tracking.funnel(data, "2026-Q3", level="rep", within="T-SH")       # doctest: +SKIP
>>> tracking.alert_history(data, "2026-07-01", "2026-11-20")           # doctest: +SKIP
>>> tracking.deviation(data, "T-TJ", "2026-10")                        # doctest: +SKIP
>>> tracking.pareto_customers(data, "2026")                            # doctest: +SKIP
>>> tracking.rank_open_leads(data)                                     # doctest: +SKIP
>>> tracking.reminders(data)                                           # doctest: +SKIP

Modules: :mod:`~simlib.tracking.facts` (tables joined once, targets spread over working
days), :mod:`~simlib.tracking.dashboard` (metrics, pace, target wall, trend, key
accounts, alert ranking), :mod:`~simlib.tracking.funnel` (the cohort funnel),
:mod:`~simlib.tracking.early_warning` (rules, alert history, diagnosis),
:mod:`~simlib.tracking.reviews` (deviation analysis), :mod:`~simlib.tracking.analysis`
(Pareto, lead sources, lead model), :mod:`~simlib.tracking.followups` (reminders).
The command line (``simlib alerts``) lives in :mod:`simlib.cli.tracking`.
"""

from simlib.periods import as_window
from simlib.tracking.analysis import (
    LeadModel,
    Pareto,
    auc,
    fit_lead_model,
    lead_source_conversion,
    pareto_customers,
    rank_open_leads,
)
from simlib.tracking.dashboard import (
    COUNTS,
    DIMENSIONS,
    RATIOS,
    SEVERITIES,
    key_account_followup,
    key_account_status,
    metrics,
    pace_status,
    rank_alerts,
    target_wall,
    trend,
)
from simlib.tracking.early_warning import (
    CLASSES,
    RULE_METRICS,
    alert_history,
    alerts,
    check_rules,
    diagnose,
    struggling_reps,
)
from simlib.tracking.facts import Facts, prepare, spread_targets
from simlib.tracking.followups import (
    appeal_reminders,
    followup_reminders,
    reminders,
    renewal_reminders,
)
from simlib.tracking.funnel import FUNNEL_STAGES, funnel, funnel_steps
from simlib.tracking.reviews import Deviation, deviation

__all__ = [
    "Facts",
    "prepare",
    "as_window",
    "spread_targets",
    "COUNTS",
    "RATIOS",
    "DIMENSIONS",
    "metrics",
    "target_wall",
    "trend",
    "pace_status",
    "rank_alerts",
    "SEVERITIES",
    "FUNNEL_STAGES",
    "funnel",
    "funnel_steps",
    "key_account_status",
    "key_account_followup",
    "CLASSES",
    "RULE_METRICS",
    "diagnose",
    "check_rules",
    "alert_history",
    "alerts",
    "struggling_reps",
    "Deviation",
    "deviation",
    "Pareto",
    "pareto_customers",
    "lead_source_conversion",
    "LeadModel",
    "fit_lead_model",
    "rank_open_leads",
    "auc",
    "appeal_reminders",
    "followup_reminders",
    "renewal_reminders",
    "reminders",
]

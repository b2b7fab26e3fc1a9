"""The parameter registry: which file under ``params/`` is validated by which model.

Each model lives beside the code that uses it; this module only maps files to them,
so it sits above them all (it imports downward, nothing imports it but the command
line and code that validates a whole ``params/`` folder).

>>> sorted(FILE_MODELS)[:3]
['alerts.yaml', 'appeals.yaml', 'bonus_pool.yaml']
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from simlib.calendar import CalendarParams
from simlib.company import CompanyParams
from simlib.config import (
    NO_VALUE,
    ParamError,
    Problem,
    StrictModel,
    default_params_dir,
    load_model,
)
from simlib.data.mapping import MappingSpec
from simlib.delivery.params import DeliveryParams, RecipientParams
from simlib.ledger.params import AppealParams
from simlib.plans import PlanSpec, PoolSpec
from simlib.proposals.pricing import PricingParams
from simlib.reports.schedule import ScheduleParams
from simlib.scorecard import ScorecardParams
from simlib.targets.params import TargetParams
from simlib.targets.scenario import Scenario
from simlib.tracking.milestones import MilestoneParams
from simlib.tracking.params import AlertParams

__all__ = ["FILE_MODELS", "AppealParams", "load_params", "model_for", "validate_params"]


#: file pattern (relative to the params folder) → model.
FILE_MODELS: dict[str, type[StrictModel]] = {
    "company.yaml": CompanyParams,
    "targets.yaml": TargetParams,
    "scorecard.yaml": ScorecardParams,
    "alerts.yaml": AlertParams,
    "appeals.yaml": AppealParams,
    "calendar_*.yaml": CalendarParams,
    "bonus_pool.yaml": PoolSpec,
    "plans/*.yaml": PlanSpec,
    "mappings/*.yaml": MappingSpec,
    "scenarios/*.yaml": Scenario,
    "schedule.yaml": ScheduleParams,
    "milestones.yaml": MilestoneParams,
    "recipients.yaml": RecipientParams,
    "delivery.yaml": DeliveryParams,
    "pricing.yaml": PricingParams,
}


def model_for(rel: str) -> type[StrictModel] | None:
    """The model of a file at ``rel`` (relative to ``params/``), or ``None``."""
    for pattern, model in FILE_MODELS.items():
        if fnmatch.fnmatch(rel, pattern):
            return model
    return None


def _prefix(rel: str) -> str:
    stem = rel[:-5] if rel.endswith(".yaml") else rel
    return stem.replace("/", ".")


def load_params(path: str | Path, params_dir: str | Path | None = None):
    """Load a parameter file, choosing its model by its place under ``params/``.

    Parameters
    ----------
    path : path-like
        ``params/plans/tiered_cn.yaml``, or a name relative to ``params_dir``.
    params_dir : path-like, optional
        The params folder; defaults to :func:`default_params_dir`.
    """
    params_dir = Path(params_dir) if params_dir is not None else default_params_dir()
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = params_dir / path
    try:
        rel = path.resolve().relative_to(params_dir.resolve()).as_posix()
    except ValueError:
        # A file outside params/: guess the kind from its parent folder name.
        rel = (
            f"{path.parent.name}/{path.name}"
            if path.parent.name in ("plans", "mappings", "scenarios")
            else path.name
        )
    model = model_for(rel)
    if model is None:
        patterns = ", ".join(FILE_MODELS)
        raise ParamError(
            [
                Problem(
                    str(path),
                    "",
                    NO_VALUE,
                    f"no parameter model for this file (known: {patterns})",
                )
            ]
        )
    return load_model(path, model, _prefix(rel))


def validate_params(params_dir: str | Path | None = None) -> dict[str, Any]:
    """Load every known file under ``params_dir``; raise one :class:`ParamError` for all."""
    params_dir = Path(params_dir) if params_dir is not None else default_params_dir()
    loaded: dict[str, Any] = {}
    problems: list[Problem] = []
    for path in sorted(params_dir.rglob("*.yaml")):
        rel = path.relative_to(params_dir).as_posix()
        if model_for(rel) is None:
            continue
        try:
            loaded[rel] = load_params(path, params_dir)
        except ParamError as e:
            problems += e.problems
    if problems:
        raise ParamError(problems)
    return loaded

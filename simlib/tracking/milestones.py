"""``params/milestones.yaml``: milestone goals for new markets (SPEC R12).

Each milestone is ``target`` of ``metric`` within ``months`` of ``start`` for an org
node (a region, a team or a rep, by id or by name), e.g. "10 seed customers signed
within 3 months". :func:`simlib.scorecard.milestone_progress` measures them;
:func:`resolve_milestones` checks each node against the organisation (an unknown node
is named with the closest one) and returns plain keyword sets for
:class:`simlib.scorecard.Milestone`.
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import Field

from simlib.config import (
    NO_VALUE,
    ParamDate,
    ParamError,
    Problem,
    StrictModel,
    default_params_dir,
    load_model,
)

__all__ = ["MilestoneItem", "MilestoneParams", "load_milestones", "resolve_milestones"]


class MilestoneItem(StrictModel):
    """One milestone: ``target`` of ``metric`` for ``node`` within ``months`` of ``start``."""

    node: str = Field(min_length=1, description="an org node: region, team or rep (id or name)")
    target: float = Field(gt=0, description="how much of the metric counts as reached")
    metric: Literal["new_customers", "revenue", "deals_won", "qualified_visits"] = "new_customers"
    start: ParamDate = Field(description="the first day counted")
    months: int = Field(3, ge=1, le=36, description="the milestone's length in months")
    name: str = Field("", description="what people call it (English)")
    name_zh: str = Field("", description="what people call it (Chinese)")


class MilestoneParams(StrictModel):
    """``params/milestones.yaml``: a list of milestones."""

    milestones: tuple[MilestoneItem, ...] = ()


def load_milestones(path=None) -> tuple[MilestoneParams, str]:
    """The milestones file (default ``params/milestones.yaml``), validated; and its path."""
    from pathlib import Path

    p = Path(path) if path is not None else default_params_dir() / "milestones.yaml"
    if not p.is_file():
        raise ParamError([Problem(str(p), "", NO_VALUE, "file not found")])
    return load_model(p, MilestoneParams, "milestones"), str(p)


def resolve_milestones(params: MilestoneParams, nodes, source: str = "milestones.yaml") -> list:
    """Keyword sets for :class:`simlib.scorecard.Milestone`, each node an id of ``nodes``
    (a frame of ``node_id, name, name_zh``); one :class:`ParamError` for every node the
    organisation does not have, naming the closest."""
    ids = [str(x) for x in nodes["node_id"]]
    by_name: dict[str, str] = {}
    shown: dict[str, str] = {}  # casefolded → as the data spells it
    for nid, en, zh in zip(ids, nodes["name"], nodes["name_zh"]):
        by_name[nid.casefold()] = nid
        shown[nid.casefold()] = nid
        for s in (en, zh):
            if isinstance(s, str) and s:
                by_name.setdefault(s.casefold(), nid)
                shown.setdefault(s.casefold(), s)
    problems, out = [], []
    for i, m in enumerate(params.milestones):
        nid = by_name.get(m.node.strip().casefold())
        if nid is None:
            labels = [s for s in by_name]
            close = difflib.get_close_matches(m.node.casefold(), labels, n=1, cutoff=0.4)
            hint = f"; did you mean {shown[close[0]]!r}?" if close else ""
            problems.append(
                Problem(
                    source,
                    f"milestones.milestones[{i}].node",
                    m.node,
                    f"not a region, team or rep of the organisation{hint}",
                )
            )
            continue
        out.append(
            dict(
                node_id=nid,
                target=m.target,
                start=m.start,
                months=m.months,
                metric=m.metric,
                name=m.name,
                name_zh=m.name_zh,
            )
        )
    if problems:
        raise ParamError(problems)
    return out

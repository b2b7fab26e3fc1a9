"""The Q4 target workshop: move the company number and the cascade rules, see the
allocation, its risk and its SMART flags at once (SPEC R1-R5, R23).

Three layers, each usable on its own:

1. :class:`WorkshopControls`, a frozen record of every control value in the
   scenario's own units (fractions: ``0.22`` = +22%; amounts in currency units);
   :func:`scenario_from_controls` ``(base, controls) -> Scenario`` is pure and turns a
   bad edit (cap below floor, every method weight 0) into a :class:`ControlError`
   whose problems name the control.
2. :func:`compute` ``(controls, cache, base) -> Allocation``: a pure function of the
   controls, a :class:`~simlib.targets.TargetCache` (history and trials reused, so a
   recompute costs tens of milliseconds) and the base scenario. :func:`evaluate` wraps
   it into a :class:`WorkshopView` that carries either the allocation or the problems.
   The tables and figures the app shows are plain functions of an allocation
   (:func:`allocation_table`, :func:`headline`, :func:`gap_table`,
   :func:`smart_failures`, :func:`quarter_split`, :func:`funnel_check`,
   :func:`wall_data`, :func:`wall_figure`, :func:`compare_allocations`); the report
   template ``notebooks/reports/target_workshop_summary.ipynb`` uses the same ones.
3. :class:`TargetWorkshop`, the ipywidgets app: controls (each with a stable CSS class
   ``simlib-...``, see :func:`css_class`), save / load / compare scenarios
   (``params/scenarios/NAME.yaml``), export to Excel and CSV through
   :func:`simlib.targets.export_xlsx` / :func:`~simlib.targets.export_csv` (formula-like
   text neutralised). ipywidgets and matplotlib are imported only when needed.

Examples
--------
>>> from simlib.apps.target_workshop import TargetWorkshop        # doctest: +SKIP
>>> app = TargetWorkshop.from_demo("baseline_2027", n_trials=10_000)  # doctest: +SKIP
>>> app.set_controls(app.controls.replace(growth=0.25, target_mode="growth"))  # doctest: +SKIP
>>> app.show()                                                        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simlib import present
from simlib.config import At, ParamError, default_params_dir
from simlib.data import load_demo
from simlib.i18n import escape as _esc
from simlib.targets import (
    Allocation,
    AllocationError,
    TargetCache,
    export_csv,
    export_xlsx,
    run_scenario,
)
from simlib.targets.scenario import Scenario, load_scenario, save_scenario
from simlib.views.workshop import (
    LEVELS,
    WALL_METRICS,
    _display_name,
    allocation_html,
    allocation_table,
    compare_allocations,
    compare_html,
    funnel_check,
    funnel_html,
    gap_html,
    gap_table,
    headline,
    headline_cards,
    notes_html,
    quarter_split,
    ramp_html,
    risk_html,
    smart_failures,
    smart_html,
    wall_data,
    wall_figure,
)

if TYPE_CHECKING:
    from simlib.ledger import DocVersion, FileCheck

__all__ = [
    "WorkshopControls",
    "WorkshopView",
    "ControlError",
    "scenario_from_controls",
    "compute",
    "evaluate",
    "allocation_table",
    "headline",
    "gap_table",
    "smart_failures",
    "quarter_split",
    "funnel_check",
    "wall_data",
    "wall_figure",
    "compare_allocations",
    "values_from_controls",
    "controls_from_values",
    "css_class",
    "shipped_scenarios",
    "TargetWorkshop",
]

_NAME = re.compile(r"^[\w\-]+$")  # \w includes CJK letters
_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class WorkshopControls:
    """Every control of the workshop, in the scenario's units.

    Attributes
    ----------
    target_mode : {"amount", "growth"}
        The company number is ``company_target`` (an amount) or ``growth`` over the
        base year's bookings.
    company_target : float
        Currency units (``1_570_000_000``).
    growth : float
        ``0.22`` = +22% on the base year.
    uplift_region, uplift_team, uplift_rep : float
        Over-assignment per level (children sum to parent × (1 + uplift)).
    weight_historical, weight_potential, weight_equal, weight_capacity : float
        Method weights (normalised by the engine; at least one > 0).
    floor, cap : float
        Growth floor and cap of every node against its base year.
    focus_region : str or None
        The region the focus weight tilts towards.
    focus_weight : float
    seasonality, fair_quotas : bool
    view : str
        Display only: "" (whole company), a region id or a team id.
    wall : {"last_year", "probability", "forecast"}
        Display only: what the target wall's bars show.
    """

    target_mode: str = "amount"
    company_target: float = 1_570_000_000.0
    growth: float = 0.2
    uplift_region: float = 0.0
    uplift_team: float = 0.02
    uplift_rep: float = 0.03
    weight_historical: float = 0.5
    weight_potential: float = 0.2
    weight_equal: float = 0.0
    weight_capacity: float = 0.3
    floor: float = -0.10
    cap: float = 0.60
    focus_region: str | None = None
    focus_weight: float = 0.0
    seasonality: bool = True
    fair_quotas: bool = False
    view: str = ""
    wall: str = "last_year"

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, base_last_year: float | None = None, **changes
    ) -> WorkshopControls:
        """The controls showing ``scenario``; ``base_last_year`` (the company's base-year
        bookings) fills the field of the mode not in use."""
        if scenario.company_target is not None:
            mode, amount = "amount", float(scenario.company_target)
            growth = round(amount / base_last_year - 1, 4) if base_last_year else 0.0
        else:
            mode, growth = "growth", float(scenario.company_growth)
            amount = round(base_last_year * (1 + growth), 2) if base_last_year else 0.0
        m, u = scenario.methods, scenario.uplift
        c = cls(
            target_mode=mode,
            company_target=amount,
            growth=growth,
            uplift_region=u.region,
            uplift_team=u.team,
            uplift_rep=u.rep,
            weight_historical=m.historical,
            weight_potential=m.potential,
            weight_equal=m.equal,
            weight_capacity=m.capacity,
            floor=scenario.growth.floor,
            cap=scenario.growth.cap,
            focus_region=scenario.focus_region,
            focus_weight=scenario.focus_weight,
            seasonality=scenario.seasonality,
            fair_quotas=scenario.fair_quotas,
        )
        return c.replace(**changes) if changes else c

    def replace(self, **changes) -> WorkshopControls:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)


class ControlError(ValueError):
    """Controls that do not make a valid scenario; ``problems`` is a list of
    ``(control key, message)``."""

    def __init__(self, problems: Sequence[tuple[str, str]]):
        self.problems = [(str(k), str(m)) for k, m in problems]
        super().__init__("; ".join(f"{k}: {m}" for k, m in self.problems))


#: scenario path → control key
_LOC_CONTROL = {
    ("company_target",): "company_target",
    ("company_growth",): "growth",
    ("growth", "floor"): "floor",
    ("growth", "cap"): "cap",
    ("growth",): "cap",
    ("methods",): "weights",
    ("methods", "historical"): "weight_historical",
    ("methods", "potential"): "weight_potential",
    ("methods", "equal"): "weight_equal",
    ("methods", "capacity"): "weight_capacity",
    ("uplift", "region"): "uplift_region",
    ("uplift", "team"): "uplift_team",
    ("uplift", "rep"): "uplift_rep",
    ("focus_region",): "focus_region",
    ("focus_weight",): "focus_weight",
}


def _control_of(loc: tuple) -> str:
    loc = tuple(x for x in loc if isinstance(x, str))
    while loc:
        if loc in _LOC_CONTROL:
            return _LOC_CONTROL[loc]
        loc = loc[:-1]
    return "scenario"


def _control_of_path(path: str) -> str:
    parts = tuple(path.split("."))
    if parts[:1] == ("scenarios",):
        parts = parts[2:]
    return _control_of(parts)


def scenario_from_controls(
    base: Scenario, controls: WorkshopControls, lang: str = "en"
) -> Scenario:
    """The scenario ``base`` with the workshop's controls applied (pure).

    Everything the controls do not cover (locked overrides, potential, mix, commits,
    consensus rule, simulation settings, attainability) is kept from ``base``.

    Raises
    ------
    ControlError
        Naming the control: cap below floor, every method weight 0, a value out of
        range; each message in ``lang``, with values in the user's units (% for rates,
        万 or millions for the company target), never the model's fractions.
    """
    from pydantic import ValidationError

    c = controls
    problems = []
    for k in (
        "company_target",
        "growth",
        "uplift_region",
        "uplift_team",
        "uplift_rep",
        "weight_historical",
        "weight_potential",
        "weight_equal",
        "weight_capacity",
        "floor",
        "cap",
        "focus_weight",
    ):
        v = getattr(c, k)
        if v is None or not np.isfinite(float(v)):
            problems.append((k, _msg("not_number", lang, label=_t(k, lang))))
    if c.target_mode not in ("amount", "growth"):
        problems.append(("target_mode", _msg("bad_choice", lang, label=_t("target_mode", lang))))
    if c.target_mode == "amount" and c.company_target is not None and c.company_target <= 0:
        problems.append(
            (
                "company_target",
                _msg("target_positive", lang, v=_shown("company_target", c.company_target, lang)),
            )
        )
    if problems:
        raise ControlError(problems)
    data = base.model_dump()
    data.update(
        company_target=float(c.company_target) if c.target_mode == "amount" else None,
        company_growth=float(c.growth) if c.target_mode == "growth" else None,
        uplift={"region": c.uplift_region, "team": c.uplift_team, "rep": c.uplift_rep},
        methods={
            "historical": c.weight_historical,
            "potential": c.weight_potential,
            "equal": c.weight_equal,
            "capacity": c.weight_capacity,
        },
        growth={"floor": c.floor, "cap": c.cap},
        focus_region=c.focus_region or None,
        focus_weight=c.focus_weight,
        seasonality=bool(c.seasonality),
        fair_quotas=bool(c.fair_quotas),
    )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            problems.append(_validation_problem(err, c, lang))
        raise ControlError(problems) from None
    scenario._source = base.source  # commits paths stay relative to the base file
    return scenario


#: Problem messages for people: key → (en, zh-CN); values already in the user's units.
_MESSAGES = {
    "not_number": ("{label}: enter a number.", "{label}：请输入数字。"),
    "bad_choice": ("{label}: choose one of the options.", "{label}：请选择一个选项。"),
    "target_positive": (
        "The company target must be above 0; you entered {v}.",
        "公司目标必须大于 0；您输入的是 {v}。",
    ),
    "at_least": (
        "{label} must be at least {bound}; you entered {v}.",
        "{label}不能低于 {bound}；您输入的是 {v}。",
    ),
    "at_most": (
        "{label} must be at most {bound}; you entered {v}.",
        "{label}不能高于 {bound}；您输入的是 {v}。",
    ),
    "cap_below_floor": (
        "The growth cap ({cap}) is below the growth floor ({floor}): "
        "raise the cap or lower the floor.",
        "增长上限（{cap}）低于增长下限（{floor}）：请提高上限或降低下限。",
    ),
    "weights_zero": (
        "Every allocation method has weight 0: give at least one method a weight above 0.",
        "所有分配方法的权重都是 0：请至少给一种方法大于 0 的权重。",
    ),
    "not_allowed": ("{label}: {v} is not allowed here.", "{label}：此处不能使用 {v}。"),
    "too_low_for_floor": (
        "The company number is too low for the growth floor: even with every unit under {parent} "
        "growing by only {floor}, their targets add up to more than the {total} they share. "
        "Lower the growth floor or raise the company number.",
        "公司目标低于增长下限的要求：即使{parent}下的每个单位只按下限 {floor} 增长，目标合计"
        "也超过可分配的 {total}。请降低增长下限或提高公司目标。",
    ),
    "too_high_for_cap": (
        "The company number is too high for the growth cap: even with every unit under {parent} "
        "growing by the full {cap}, their targets add up to less than the {total} they share. "
        "Raise the growth cap or lower the company number.",
        "公司目标超出增长上限的范围：即使{parent}下的每个单位都按上限 {cap} 增长，目标合计"
        "也不足可分配的 {total}。请提高增长上限或降低公司目标。",
    ),
    "locked_misfit": (
        "The locked targets under {parent} do not fit the {total} it has to share: change the "
        "locked targets in the scenario file.",
        "{parent}下锁定的目标与其可分配的 {total} 不符：请修改情景文件中的锁定目标。",
    ),
    "scenario_file": ("The scenario file has a problem: {what}", "情景文件有问题：{what}"),
}


def _msg(key: str, lang: str, **values) -> str:
    en, zh = _MESSAGES[key]
    return (zh if lang == "zh-CN" else en).format(**values)


def _trim(x: float, decimals: int = 2) -> str:
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _shown(key: str, value: Any, lang: str) -> str:
    """A control's value as the user typed it: rates in %, the company target in 万 (zh-CN)
    or millions (English), weights as plain numbers."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if key in _PCT or key == "growth":
        return f"{_trim(100 * v)}%"
    if key == "company_target":
        return present.Units(lang).amount(v, unit=True)
    return _trim(v)


def _validation_problem(err: dict, c: WorkshopControls, lang: str) -> tuple[str, str]:
    """One pydantic error of the scenario model as (control, message for people)."""
    loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    if isinstance(ctx.get("error"), At):
        loc = loc + ctx["error"].loc
    key = _control_of(loc)
    if key == "cap" and c.cap < c.floor:
        return key, _msg(
            "cap_below_floor",
            lang,
            cap=_shown("cap", c.cap, lang),
            floor=_shown("floor", c.floor, lang),
        )
    if key == "weights":
        return key, _msg("weights_zero", lang)
    label, v = _t(key, lang), _shown(key, err.get("input"), lang)
    for kind, word in (
        ("ge", "at_least"),
        ("gt", "at_least"),
        ("le", "at_most"),
        ("lt", "at_most"),
    ):
        if kind in ctx:
            return key, _msg(word, lang, label=label, bound=_shown(key, ctx[kind], lang), v=v)
    return key, _msg("not_allowed", lang, label=label, v=v)


def _allocation_problem(
    e: AllocationError, c: WorkshopControls, cache: TargetCache, base: Scenario, lang: str
) -> tuple[str, str]:
    """The engine's "cannot split" as (control that can fix it, message for people)."""
    parent = e.parent or ""
    try:
        tree = cache.history(
            base.year, base.as_of or cache.data.as_of, base.base_year, base.ramp_months
        ).tree
        names = dict(zip(tree.nodes["node_id"], _display_name(tree.nodes, lang)))
    except Exception:  # noqa: BLE001 - the name is a nicety; the id still says where
        names = {}
    name = names.get(parent, parent)
    total = present.Units(lang).amount(e.total, unit=True) if e.total is not None else ""
    if e.reason == "floor":
        return "floor", _msg(
            "too_low_for_floor",
            lang,
            parent=name,
            floor=_shown("floor", c.floor, lang),
            total=total,
        )
    if e.reason == "cap":
        return "cap", _msg(
            "too_high_for_cap", lang, parent=name, cap=_shown("cap", c.cap, lang), total=total
        )
    return "scenario", _msg("locked_misfit", lang, parent=name, total=total)


def compute(
    controls: WorkshopControls, cache: TargetCache, base: Scenario, lang: str = "en"
) -> Allocation:
    """The allocation for ``controls`` applied to ``base`` (pure; no widgets).

    Raises
    ------
    ControlError
        Bad controls, or a scenario the organisation cannot meet (said in ``lang`` and
        blamed on the control that can fix it: the growth floor or cap).
    """
    scenario = scenario_from_controls(base, controls, lang)
    try:
        return run_scenario(scenario, cache.data, cache=cache)
    except ParamError as e:
        if isinstance(e.__cause__, AllocationError):  # the bounds or locks cannot hold
            raise ControlError(
                [_allocation_problem(e.__cause__, controls, cache, base, lang)]
            ) from None
        raise ControlError(
            [
                (_control_of_path(p.path), _msg("scenario_file", lang, what=p.message))
                for p in e.problems
            ]
        ) from None
    except AllocationError as e:
        raise ControlError([_allocation_problem(e, controls, cache, base, lang)]) from None


@dataclass(frozen=True)
class WorkshopView:
    """One recompute: the controls and either the allocation or the problems."""

    controls: WorkshopControls
    allocation: Allocation | None
    problems: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.allocation is not None

    @property
    def message(self) -> str:
        """The problems as one line per control ("" when ok)."""
        return "\n".join(f"{k}: {m}" for k, m in self.problems)


def evaluate(
    controls: WorkshopControls, cache: TargetCache, base: Scenario, lang: str = "en"
) -> WorkshopView:
    """:func:`compute`, never raising for bad controls: the problems go in the view."""
    t0 = time.perf_counter()
    try:
        alloc = compute(controls, cache, base, lang)
    except ControlError as e:
        return WorkshopView(controls, None, tuple(e.problems), time.perf_counter() - t0)
    return WorkshopView(controls, alloc, (), time.perf_counter() - t0)


# --------------------------------------------------------------------------- views of an allocation


def shipped_scenarios(directory: str | Path | None = None) -> list[str]:
    """Scenario names in ``directory`` (default ``params/scenarios``)."""
    d = Path(directory) if directory is not None else default_params_dir() / "scenarios"
    return sorted(p.stem for p in d.glob("*.yaml"))


# --------------------------------------------------------------------------- widget values

#: control key → (en label, zh label)
_LABELS = {
    "title": ("Q4 target workshop", "第四季度目标研讨会"),
    "target_mode": ("Company number", "公司目标"),
    "amount": ("amount", "金额"),
    "growth_mode": ("growth %", "增长率"),
    "company_target": ("Company target", "公司目标"),
    "growth": ("Growth %", "增长 %"),
    "uplift_region": ("Uplift region %", "区域超配 %"),
    "uplift_team": ("Uplift team %", "团队超配 %"),
    "uplift_rep": ("Uplift rep %", "个人超配 %"),
    "weights": ("Method weights", "方法权重"),
    "weight_historical": ("Historical", "历史"),
    "weight_potential": ("Potential", "潜力"),
    "weight_equal": ("Equal", "平均"),
    "weight_capacity": ("Capacity", "产能"),
    "floor": ("Growth floor %", "增长下限 %"),
    "cap": ("Growth cap %", "增长上限 %"),
    "focus_region": ("Focus region", "重点区域"),
    "focus_weight": ("Focus weight", "重点权重"),
    "seasonality": ("Seasonality", "季节性"),
    "fair_quotas": ("Fair quotas (equal probability)", "公平配额（同等达成概率）"),
    "view": ("Show", "显示"),
    "wall": ("Wall", "目标墙"),
    "all": ("whole company", "全公司"),
    "none": ("none", "无"),
    "last_year": ("vs last year", "对比去年"),
    "probability": ("probability", "达成概率"),
    "forecast": ("vs forecast", "对比预测"),
    "scenario": ("Scenario", "情景"),
    "save_name": ("Save as", "另存为"),
    "save": ("Save", "保存"),
    "overwrite": ("overwrite", "覆盖"),
    "load_name": ("Scenario", "情景"),
    "load": ("Load", "载入"),
    "compare_with": ("Compare with", "对比"),
    "compare": ("Compare", "对比"),
    "export_xlsx": ("Excel", "导出 Excel"),
    "export_csv": ("CSV", "导出 CSV"),
    "p_forecast": ("P(company ≥ number), pipeline", "公司达成概率（按管道预测）"),
    "p_on_quota": ("P(company ≥ number), reps on quota", "公司达成概率（销售均达配额）"),
    "over": ("Over-assignment", "超配"),
    "smart": ("Targets failing the SMART checks", "未通过 SMART 检查的目标"),
    "gap": ("Top-down targets against the pipeline forecast", "自上而下目标与管道预测对比"),
    "problem": (
        "These settings do not make a scenario: see the message under the control in red.",
        "这些设置无法构成情景：请查看标红控件下方的说明。",
    ),
    "saved": ("Saved", "已保存"),
    "loaded": ("loaded", "已载入"),
    "wrote": ("wrote", "已写入"),
    "recomputed": ("recomputed in", "重算耗时"),
    "no_fails": ("no SMART failures", "全部通过 SMART 检查"),
    "intro": (
        "Set next year's company number and the cascade rules; the targets of every region, "
        "team and rep, their chance of being met and the SMART checks follow at once.",
        "设定明年的公司目标和分解规则，各区域、团队和销售的目标、"
        "达成概率及 SMART 检查随之即时更新。",
    ),
    "scenarios": ("Scenarios", "情景"),
    "wall_title": ("Target wall", "目标墙"),
    "allocation": ("Targets by region and team", "按区域和团队分解的目标"),
    "funnel": ("What the targets take", "完成目标所需的过程量"),
    "notes": ("Notes", "说明"),
    "ramp": ("Reps still ramping", "仍在爬坡的新销售"),
    "compare_title": ("This scenario beside {other}", "当前情景与 {other} 对比"),
    "bad_name": (
        "A scenario name may use letters, digits, _ and - only.",
        "情景名称只能包含字母、数字、_ 和 -。",
    ),
    "fix_first": (
        "Fix the settings marked in red first.",
        "请先修正标红的设置。",
    ),
    "exists": (
        "A scenario called {name} exists already: tick overwrite, or choose another name.",
        "已有名为 {name} 的情景：勾选“覆盖”，或换一个名称。",
    ),
    "not_saved": ("Not saved", "未保存"),
    "save_reason": ("Reason", "理由"),
    "reason_hint": ("why this version (kept in the ledger)", "为什么改（记入台账）"),
    "submit": ("Submit", "提交审批"),
    "recorded": ("recorded as version {n} ({state})", "已登记为第 {n} 版（{state}）"),
    "submitted": ("version {n} submitted for approval", "第 {n} 版已提交审批"),
    "not_recorded": ("not recorded in the ledger", "未登记到台账"),
    "no_user": (
        "not recorded in the ledger: open the workshop as yourself (add ?user= and your name "
        "to the address) to keep versions and submit them for approval",
        "未登记到台账：以本人身份打开工作坊（在地址后加 ?user= 和您的名字），"
        "才能登记版本并提交审批",
    ),
    "signed_in": ("Signed in as {who}", "当前用户：{who}"),
    "nothing_to_submit": (
        "Save the scenario first: only a recorded version can be submitted.",
        "请先保存情景：只有已登记的版本才能提交审批。",
    ),
    "ledger_down": ("the ledger could not be reached", "无法连接台账"),
    "not_loaded": ("Could not open it", "无法打开"),
}


def _t(key: str, lang: str) -> str:
    en, zh = _LABELS.get(key, (key, key))
    return zh if lang == "zh-CN" else en


def css_class(key: str) -> str:
    """Control or output key → CSS class: ``uplift_rep → simlib-uplift-rep``."""
    return "simlib-" + key.replace("_", "-")


_PCT = ("growth", "uplift_region", "uplift_team", "uplift_rep", "floor", "cap")
_PLAIN = (
    "weight_historical",
    "weight_potential",
    "weight_equal",
    "weight_capacity",
    "focus_weight",
)


def values_from_controls(c: WorkshopControls, unit: float = 1e4) -> dict[str, Any]:
    """Widget values of ``c``: percentages for rates, ``company_target`` in ``unit``
    (10,000 = 万), "" for no focus region."""
    v: dict[str, Any] = {k: round(100 * getattr(c, k), 6) for k in _PCT}
    v.update({k: float(getattr(c, k)) for k in _PLAIN})
    v["company_target"] = round(c.company_target / unit, 6)
    v["target_mode"] = c.target_mode
    v["focus_region"] = c.focus_region or ""
    v["seasonality"] = bool(c.seasonality)
    v["fair_quotas"] = bool(c.fair_quotas)
    v["view"] = c.view
    v["wall"] = c.wall
    return v


def controls_from_values(values: Mapping[str, Any], unit: float = 1e4) -> WorkshopControls:
    """Inverse of :func:`values_from_controls` (amounts rounded to the cent)."""
    kw: dict[str, Any] = {k: float(values[k]) / 100 for k in _PCT}
    kw.update({k: float(values[k]) for k in _PLAIN})
    kw["company_target"] = round(float(values["company_target"]) * unit, 2)
    kw["target_mode"] = values["target_mode"]
    kw["focus_region"] = values["focus_region"] or None
    kw["seasonality"] = bool(values["seasonality"])
    kw["fair_quotas"] = bool(values["fair_quotas"])
    kw["view"] = values.get("view", "") or ""
    kw["wall"] = values.get("wall", "last_year")
    return WorkshopControls(**kw)


# --------------------------------------------------------------------------- formatting


def _png(fig, dpi: int = 200) -> tuple[bytes, int]:
    """``fig`` as a crisp PNG (``dpi``) and the width in CSS pixels to show it at (its
    size at 100 dpi), so that a small figure is not stretched and a large one is sharp."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    width = int.from_bytes(data[16:20], "big")  # the PNG header's IHDR width
    return data, max(1, round(width * 100 / dpi))


_APP_CSS = """
.simlib-target-workshop { font-size: 14px; }
.simlib-target-workshop .simlib-title { margin: 4px 0 2px; }
.simlib-target-workshop .simlib-intro { color: #555; margin: 0 0 10px; max-width: 70em; }
.simlib-target-workshop .simlib-h { font-size: 15px; margin: 14px 0 4px; }
.simlib-target-workshop .simlib-problem { color: #b71c1c; font-weight: 600; margin: 4px 0; }
.simlib-target-workshop .simlib-field-error { color: #b71c1c; font-size: 12px;
  margin: 0 0 6px 8px; max-width: 420px; white-space: normal; }
.simlib-target-workshop .simlib-muted { color: #777; }
.simlib-target-workshop .simlib-results { overflow-x: auto; }
.simlib-target-workshop .simlib-table td, .simlib-target-workshop .simlib-table th {
  white-space: nowrap; }
"""


# --------------------------------------------------------------------------- the app


class TargetWorkshop:
    """The workshop app: controls → :func:`evaluate` → numbers, tables, target wall.

    Parameters
    ----------
    cache : TargetCache
        History and simulated trials of one dataset (made once, reused).
    base : Scenario
        The scenario the controls start from; what they do not cover is kept.
    lang : {"en", "zh-CN"}
    charts : bool
        Draw the target wall on every change (turn off for headless number tests).
    scenario_dir : path, optional
        Where scenarios are saved and loaded (default ``params/scenarios``).
    export_dir : path, optional
        Where exports go (default ``./exports``).
    n_trials, seed : int, optional
        Session override of the scenario's simulation settings (not saved).
    """

    def __init__(
        self,
        cache: TargetCache,
        base: Scenario,
        *,
        lang: str = "zh-CN",
        charts: bool = True,
        scenario_dir: str | Path | None = None,
        export_dir: str | Path | None = None,
        n_trials: int | None = None,
        seed: int | None = None,
        controls: WorkshopControls | None = None,
        user: str = "",
        ledger_url: str | None = None,
    ):
        if lang not in ("en", "zh-CN"):
            raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
        self.cache = cache
        self.lang = lang
        self.charts = charts
        self.unit = 1e4 if lang == "zh-CN" else 1e6
        self.scenario_dir = (
            Path(scenario_dir) if scenario_dir is not None else default_params_dir() / "scenarios"
        )
        self.export_dir = Path(export_dir) if export_dir is not None else Path.cwd() / "exports"
        self._sim = {k: v for k, v in (("n_trials", n_trials), ("seed", seed)) if v is not None}
        self.user = (user or "").strip()
        self.ledger_url = ledger_url
        self.base = base
        self.baseline = None
        self.controls_: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self._widget = None
        self._quiet = False
        self._controls = controls if controls is not None else self._controls_of(base)
        self.view: WorkshopView = evaluate(self._controls, cache, self.run_base, lang)
        self.baseline = self.view.allocation

    @classmethod
    def from_demo(
        cls,
        scenario: str | Path = "baseline_2027",
        *,
        n_trials: int | None = None,
        seed: int | None = None,
        demo_seed: int | None = None,
        **kwargs,
    ) -> TargetWorkshop:
        """The workshop on the demo company, starting from a scenario name or file."""
        data = load_demo(seed=demo_seed)
        return cls(
            TargetCache(data), load_scenario(scenario), n_trials=n_trials, seed=seed, **kwargs
        )

    @classmethod
    def open(
        cls,
        scenario: str | Path = "baseline_2027",
        *,
        n_trials: int | None = None,
        seed: int | None = None,
        lang: str = "",
        source: str = "",
        mapping: str = "",
        demo_seed: int | None = None,
        **kwargs,
    ) -> TargetWorkshop:
        """The workshop as the app opens it: on the user's export (``source`` and
        ``mapping``, else ``simlib app --data``, else the demo company), in the page's
        language (:func:`simlib.apps.session.app_lang`), with the history and the trials
        read from the disk cache when this data was opened before."""
        from simlib.apps.session import app_lang, app_user, cached_for, open_data

        data = open_data(source, mapping, demo_seed)
        base = load_scenario(scenario)
        cache = TargetCache(data)
        sim = {k: v for k, v in (("n_trials", n_trials), ("seed", seed)) if v is not None}
        run = base.model_copy(update={"simulation": base.simulation.model_copy(update=sim)})
        run._source = base.source

        def warm():
            run_scenario(run, data, cache=cache)
            return cache.state()

        key = {"scenario": run.model_dump_json(), "as_of": str(data.as_of)}
        try:
            cache.restore(cached_for(data, "workshop-cache", key, warm))
        except (ParamError, AllocationError):
            pass  # a scenario that does not allocate: the app says why, under its control
        kwargs["user"] = app_user(kwargs.get("user", ""))
        return cls(cache, base, n_trials=n_trials, seed=seed, lang=app_lang(lang), **kwargs)

    @classmethod
    def app(cls, scenario: str | Path = "baseline_2027", *, lang: str = "", **kwargs):
        """Show the workshop in a notebook or Voilà page: a progress line while the data,
        history and trials load, then the app (see :meth:`open`); a message in the
        user's language when the data cannot be opened. Returns the app or None."""
        from simlib.apps.session import app_lang, show_when_ready

        lang = app_lang(lang)
        return show_when_ready(
            lambda: cls.open(scenario, lang=lang, **kwargs), lang, "target_workshop"
        )

    # -- state ---------------------------------------------------------------------

    @property
    def run_base(self) -> Scenario:
        """The base scenario with the session's simulation override."""
        return self._with_sim(self.base)

    def _with_sim(self, s: Scenario) -> Scenario:
        if not self._sim:
            return s
        out = s.model_copy(update={"simulation": s.simulation.model_copy(update=self._sim)})
        out._source = s.source
        return out

    def _controls_of(self, scenario: Scenario) -> WorkshopControls:
        h = self.cache.history(
            scenario.year,
            scenario.as_of or self.cache.data.as_of,
            scenario.base_year,
            scenario.ramp_months,
        )
        return WorkshopControls.from_scenario(scenario, float(h.last_year[h.tree.root]))

    @property
    def controls(self) -> WorkshopControls:
        """The current control values."""
        return self._controls

    @property
    def allocation(self) -> Allocation | None:
        """The current allocation (None while the controls are invalid)."""
        return self.view.allocation

    @property
    def scenario(self) -> Scenario:
        """The current controls as a scenario (raises :class:`ControlError` if invalid)."""
        return scenario_from_controls(self.base, self._controls)

    def set_controls(self, controls: WorkshopControls) -> WorkshopView:
        """Show ``controls`` and recompute."""
        self._controls = controls
        if self._widget is not None:
            self._push(controls)
        return self._refresh()

    def _refresh(self) -> WorkshopView:
        self.view = evaluate(self._controls, self.cache, self.run_base, self.lang)
        if self._widget is not None:
            self._render()
        return self.view

    # -- scenarios and exports -----------------------------------------------------------

    def save(self, name: str, *, overwrite: bool = False) -> Path:
        """Save the current controls as ``scenario_dir/NAME.yaml``."""
        name = (name or "").strip()
        if not _NAME.match(name):
            raise ValueError(f"scenario name must be letters, digits, _ or -; got {name!r}")
        path = self.scenario_dir / f"{name}.yaml"
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; tick overwrite or choose another name")
        s = self.scenario
        update: dict[str, Any] = {
            "name": name,
            "description": (
                f"Saved from the target workshop, starting from {self.base.name or 'a scenario'}."
            ),
        }
        cp = s.commits_path()
        if cp is not None and cp.resolve().parent != self.scenario_dir.resolve():
            update["commits"] = str(cp.resolve())
        return save_scenario(s.model_copy(update=update), path)

    def _observed_ramp(self, alloc):
        """The ramp the data show (computed once per as-of date: it reads only the data)."""
        from simlib.targets.ramp import observed_ramp

        key = alloc.history.as_of
        if getattr(self, "_ramp", (None, None))[0] != key:
            self._ramp = (key, observed_ramp(self.cache.data, key))
        return self._ramp[1]

    def _ledger(self):
        from simlib.ledger import open_ledger

        data = self.cache.data
        return open_ledger(data.reps, data.tables.get("org"), url=self.ledger_url)

    def record(self, name: str, path: str | Path, reason: str = "") -> tuple[DocVersion, FileCheck]:
        """Record the saved scenario file ``path`` as the user's next version of ``name`` in
        the ledger (draft; the same content records nothing), and how the file stands
        against the approved version. Raises :class:`simlib.ledger.LedgerError` when the
        user may not (a rep; a manager changing more than their team)."""
        led = self._ledger()
        try:
            v = led.record_version(self.user, "scenario", name, Path(path).read_bytes(), reason)
            return v, led.check_file("scenario", name, path)
        finally:
            led.close()

    def submit(self, name: str, reason: str = "") -> DocVersion:
        """Submit the latest recorded version of scenario ``name`` for approval."""
        led = self._ledger()
        try:
            versions = led.versions("scenario", name)
            if not versions:
                raise ValueError(_t("nothing_to_submit", self.lang))
            return led.submit(self.user, "scenario", name, versions[-1].version, reason)
        finally:
            led.close()

    def _resolve(self, name: str | Path) -> Path | str:
        p = Path(name)
        if p.suffix:
            return p
        local = self.scenario_dir / f"{name}.yaml"
        return local if local.exists() else str(name)

    def load(self, name: str | Path) -> WorkshopView:
        """Load a scenario (a name in ``scenario_dir`` or a file) into the controls."""
        s = load_scenario(self._resolve(name))
        self.base = s
        return self.set_controls(
            self._controls_of(s).replace(view=self._controls.view, wall=self._controls.wall)
        )

    def compare(
        self, other: str | Path | Scenario, levels: Sequence[str] = ("company", "region", "team")
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The current allocation (a) beside another scenario's (b): per node, and the
        parameters that differ (see :func:`compare_allocations`)."""
        if self.allocation is None:
            raise ValueError(f"the controls do not make a valid scenario: {self.view.message}")
        s = other if isinstance(other, Scenario) else load_scenario(self._resolve(other))
        b = run_scenario(self._with_sim(s), self.cache.data, cache=self.cache)
        return compare_allocations(self.allocation, b, levels)

    def _export_path(self, path, suffix: str) -> Path:
        if path is not None:
            return Path(path)
        name = self.base.name or "scenario"
        return self.export_dir / f"{name}_workshop{suffix}"

    def export_xlsx(self, path: str | Path | None = None) -> Path:
        """Every table of the current allocation to one workbook (formula text neutralised)."""
        if self.allocation is None:
            raise ValueError(f"the controls do not make a valid scenario: {self.view.message}")
        return export_xlsx(self.allocation, self._export_path(path, ".xlsx"))

    def export_csv(self, path: str | Path | None = None, table: str = "allocation") -> Path:
        """One table of the current allocation as UTF-8 CSV (formula text neutralised)."""
        if self.allocation is None:
            raise ValueError(f"the controls do not make a valid scenario: {self.view.message}")
        return export_csv(self.allocation, self._export_path(path, ".csv"), table=table)

    # -- static outputs (useful headless) -------------------------------------------------

    def table(
        self, levels: Sequence[str] = ("company", "region", "team"), under: str | None = None
    ) -> pd.DataFrame:
        """The current allocation table (see :func:`allocation_table`)."""
        if self.allocation is None:
            raise ValueError(self.view.message)
        return allocation_table(self.allocation, levels, under)

    def wall(self, metric: str | None = None, under: str | None = None):
        """The current target wall as a matplotlib figure."""
        if self.allocation is None:
            raise ValueError(self.view.message)
        return wall_figure(
            self.allocation,
            metric or self._controls.wall,
            under if under is not None else self._controls.view,
            self.lang,
        )

    def summary(self) -> dict[str, float]:
        """:func:`headline` of the current allocation."""
        if self.allocation is None:
            raise ValueError(self.view.message)
        return headline(self.allocation)

    # -- widgets ---------------------------------------------------------------------------

    def show(self):
        """The app's root widget (display it, or leave it last in a cell)."""
        if self._widget is None:
            self._build()
        return self._widget

    @property
    def widget(self):
        return self.show()

    def _build(self) -> None:
        import ipywidgets as w

        L = self.lang
        wide = {"description_width": "initial"}
        unit = "万元" if L == "zh-CN" else "¥M"
        slider = dict(
            continuous_update=False,
            style=wide,
            layout=w.Layout(width="380px"),
            readout_format=".1f",
        )
        c: dict[str, Any] = {}
        c["target_mode"] = w.ToggleButtons(
            options=[(_t("amount", L), "amount"), (_t("growth_mode", L), "growth")],
            description=_t("target_mode", L),
            style=wide,
        )
        c["company_target"] = w.FloatText(  # not bounded: −5 is said, never turned into 0
            step=1000 if L == "zh-CN" else 10,
            description=f"{_t('company_target', L)} ({unit})",
            style=wide,
        )
        c["growth"] = w.FloatSlider(
            min=-30, max=100, step=0.5, description=_t("growth", L), **slider
        )
        for lv in ("region", "team", "rep"):
            c[f"uplift_{lv}"] = w.FloatSlider(
                min=0, max=30, step=0.5, description=_t(f"uplift_{lv}", L), **slider
            )
        for m in ("historical", "potential", "equal", "capacity"):
            c[f"weight_{m}"] = w.FloatSlider(
                min=0,
                max=1,
                step=0.05,
                description=_t(f"weight_{m}", L),
                **{**slider, "readout_format": ".2f"},
            )
        c["floor"] = w.FloatSlider(min=-60, max=60, step=1, description=_t("floor", L), **slider)
        c["cap"] = w.FloatSlider(min=-30, max=200, step=1, description=_t("cap", L), **slider)
        tree = self.cache.history(
            self.base.year,
            self.base.as_of or self.cache.data.as_of,
            self.base.base_year,
            self.base.ramp_months,
        ).tree
        regions, teams = tree.of_level("region"), tree.of_level("team")
        name = self._node_names()
        c["focus_region"] = w.Dropdown(
            options=[(_t("none", L), "")] + [(name.get(r, r), r) for r in regions],
            description=_t("focus_region", L),
            style=wide,
        )
        c["focus_weight"] = w.FloatSlider(
            min=0,
            max=0.3,
            step=0.01,
            description=_t("focus_weight", L),
            **{**slider, "readout_format": ".2f"},
        )
        c["seasonality"] = w.Checkbox(description=_t("seasonality", L), indent=False)
        c["fair_quotas"] = w.Checkbox(description=_t("fair_quotas", L), indent=False)
        c["view"] = w.Dropdown(
            options=[(_t("all", L), "")] + [(name.get(n, n), n) for n in regions + teams],
            description=_t("view", L),
            style=wide,
        )
        c["wall"] = w.ToggleButtons(
            options=[(_t(m, L), m) for m in WALL_METRICS], description=_t("wall", L), style=wide
        )
        c["save_name"] = w.Text(
            description=_t("save_name", L), placeholder="q4_variant", style=wide
        )
        c["save_overwrite"] = w.Checkbox(description=_t("overwrite", L), indent=False, value=False)
        c["save"] = w.Button(description=_t("save", L), icon="save")
        c["save_reason"] = w.Text(
            description=_t("save_reason", L), placeholder=_t("reason_hint", L), style=wide
        )
        c["submit"] = w.Button(description=_t("submit", L), icon="check", disabled=not self.user)
        c["load_name"] = w.Dropdown(
            options=shipped_scenarios(self.scenario_dir), description=_t("load_name", L), style=wide
        )
        c["load"] = w.Button(description=_t("load", L), icon="folder-open")
        c["compare_with"] = w.Dropdown(
            options=shipped_scenarios(self.scenario_dir),
            description=_t("compare_with", L),
            style=wide,
        )
        c["compare"] = w.Button(description=_t("compare", L), icon="columns")
        c["export_xlsx"] = w.Button(description=_t("export_xlsx", L), icon="file-excel-o")
        c["export_csv"] = w.Button(description=_t("export_csv", L), icon="file-text-o")
        for k, ctl in c.items():
            ctl.add_class(css_class(k))
        self.controls_ = c

        o: dict[str, Any] = {}
        for k in (
            "message",
            "cards",
            "risk_out",
            "table_out",
            "gap_out",
            "smart_out",
            "funnel_out",
            "ramp_out",
            "compare_out",
            "save_status",
            "signed_in",
            "load_status",
            "export_status",
            "timing_out",
            "notes_out",
        ):
            o[k] = w.HTML()
        o["wall_out"] = w.Image(format="png")
        for k in values_from_controls(self._controls):
            o[f"err_{k}"] = w.HTML()  # the control's own message, right below it
        o["err_weights"] = w.HTML()
        o["err_scenario"] = w.HTML()
        for k, out in o.items():
            out.add_class(css_class(k))
        self.outputs = o

        def field(k):
            return w.VBox([c[k], o[f"err_{k}"]], layout=w.Layout(margin="0"))

        def box(title, items):
            return w.VBox([w.HTML(f"<b>{_esc(title)}</b>")] + items)

        def section(key, *items):
            return w.VBox(
                [w.HTML(f"<h3 class='simlib-h'>{_esc(_t(key, L))}</h3>"), *items],
                layout=w.Layout(margin="0 0 8px 0"),
            )

        left = w.VBox(
            [
                field("target_mode"),
                field("company_target"),
                field("growth"),
                field("uplift_region"),
                field("uplift_team"),
                field("uplift_rep"),
                box(
                    _t("weights", L),
                    [
                        field("weight_historical"),
                        field("weight_potential"),
                        field("weight_equal"),
                        field("weight_capacity"),
                        o["err_weights"],
                    ],
                ),
                field("floor"),
                field("cap"),
                field("focus_region"),
                field("focus_weight"),
                w.HBox([c["seasonality"], c["fair_quotas"]]),
                field("view"),
                field("wall"),
                w.HTML(f"<h3 class='simlib-h'>{_esc(_t('scenarios', L))}</h3>"),
                w.HBox([c["save_name"], c["save_overwrite"], c["save"]]),
                w.HBox([c["save_reason"], c["submit"]]),
                o["signed_in"],
                o["save_status"],
                w.HBox([c["load_name"], c["load"]]),
                o["load_status"],
                w.HBox([c["compare_with"], c["compare"]]),
                w.HBox([c["export_xlsx"], c["export_csv"]]),
                o["export_status"],
            ],
            layout=w.Layout(width="440px", min_width="440px"),
        )
        results = w.VBox(
            [
                o["cards"],
                o["risk_out"],
                section("wall_title", o["wall_out"]),
                section("allocation", o["table_out"]),
                section("gap", o["gap_out"]),
                section("smart", o["smart_out"]),
                section("funnel", o["funnel_out"]),
                section("ramp", o["ramp_out"]),
                o["compare_out"],
                section("notes", o["notes_out"]),
                o["timing_out"],
            ]
        )
        results.add_class("simlib-results")
        self._results = results
        right = w.VBox(
            [o["message"], o["err_scenario"], results],
            layout=w.Layout(flex="1", min_width="0", padding="0 0 0 16px"),
        )
        intro = _t("intro", L)
        root = w.VBox(
            [
                w.HTML(f"<style>{present.PAGE_CSS}{_APP_CSS}</style>"),
                w.HTML(
                    f"<h2 class='simlib-title'>{_esc(_t('title', L))}</h2>"
                    f"<p class='simlib-intro'>{_esc(intro)}</p>"
                ),
                w.HBox([left, right]),
            ]
        )
        root.add_class("simlib-target-workshop")
        self._widget = root

        self._push(self._controls)
        for k in values_from_controls(self._controls):
            c[k].observe(self._on_change, names="value")
        c["save"].on_click(self._on_save)
        c["submit"].on_click(self._on_submit)
        o["signed_in"].value = self._signed_in_html()
        c["load"].on_click(self._on_load)
        c["compare"].on_click(self._on_compare)
        c["export_xlsx"].on_click(lambda _b: self._on_export("xlsx"))
        c["export_csv"].on_click(lambda _b: self._on_export("csv"))
        self._safe_render()

    def _node_names(self) -> dict[str, str]:
        a = self.allocation if self.allocation is not None else self.baseline
        if a is None:
            return {}
        return dict(zip(a.nodes["node_id"], _display_name(a.nodes, self.lang)))

    def _values(self) -> dict[str, Any]:
        return {k: self.controls_[k].value for k in values_from_controls(self._controls)}

    def _push(self, controls: WorkshopControls) -> None:
        """Show ``controls`` in the widgets without triggering recomputes."""
        self._quiet = True
        try:
            for k, v in values_from_controls(controls, self.unit).items():
                ctl = self.controls_[k]
                if ctl.value != v:
                    ctl.value = v
            if not self.controls_["save_name"].value:
                self.controls_["save_name"].value = f"{self.base.name or 'scenario'}_workshop"
        finally:
            self._quiet = False
        self._enable()

    def _enable(self) -> None:
        amount = self.controls_["target_mode"].value == "amount"
        self.controls_["company_target"].disabled = not amount
        self.controls_["growth"].disabled = amount

    def _error(self, e: BaseException) -> None:
        """An unexpected failure: logged, a short apology instead of the results."""
        ref = f"{int(time.time()) % 100000:05d}"
        _log.error("target workshop failed (ref %s)", ref, exc_info=e)
        self.outputs["message"].value = present.apology(self.lang, ref)
        self._results.layout.display = "none"

    def _safe_render(self) -> None:
        try:
            self._render()
        except Exception as e:  # noqa: BLE001 - never a traceback on a user's screen
            self._error(e)

    def _on_change(self, change) -> None:
        if self._quiet:
            return
        try:
            owner = change["owner"]
            if owner is self.controls_["target_mode"] and self.allocation is not None:
                # keep the same company number when switching how it is given
                h = headline(self.allocation)
                self._quiet = True
                try:
                    self.controls_["company_target"].value = round(
                        h["company_target"] / self.unit, 6
                    )
                    self.controls_["growth"].value = round(100 * h["growth"], 1)
                finally:
                    self._quiet = False
            self._enable()
            new = controls_from_values(self._values(), self.unit)
            display_only = (
                new.replace(view=self._controls.view, wall=self._controls.wall) == self._controls
            )
            self._controls = new
            if display_only and self.allocation is not None:
                self._render()
            else:
                self._refresh()
        except Exception as e:  # noqa: BLE001 - an observer must never fail silently
            self._error(e)

    def _status(self, key: str, ok: bool, text: str) -> None:
        color = "#1b5e20" if ok else "#b71c1c"
        self.outputs[key].value = f"<span style='color:{color}'>{_esc(text)}</span>"

    def _on_save(self, _b=None) -> None:
        L = self.lang
        name = (self.controls_["save_name"].value or "").strip()
        try:
            if not _NAME.match(name):
                return self._status("save_status", False, _t("bad_name", L))
            if self.allocation is None:
                return self._status("save_status", False, _t("fix_first", L))
            path = self.save(name, overwrite=self.controls_["save_overwrite"].value)
        except FileExistsError:
            return self._status("save_status", False, _t("exists", L).format(name=name))
        except OSError as e:
            return self._status("save_status", False, f"{_t('not_saved', L)}: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001
            return self._error(e)
        names = shipped_scenarios(self.scenario_dir)
        self.controls_["load_name"].options = names
        self.controls_["compare_with"].options = names
        colon, semi, stop = ("：", "；", "。") if L == "zh-CN" else (": ", "; ", ". ")
        saved = f"{_t('saved', L)}{colon}{path.name}"
        if not self.user:
            return self._status("save_status", True, f"{saved}{stop}{_t('no_user', L)}")
        ok, said = self._ledger_call(
            lambda: self.record(name, path, self.controls_["save_reason"].value or "")
        )
        if ok:
            from simlib.ledger.change import state_label

            v, check = said
            said = _t("recorded", L).format(n=v.version, state=state_label(v.state, L))
            said += f"{semi}{check.message(L)}"
        else:
            said = f"{_t('not_recorded', L)}{colon}{said}"
        self._status("save_status", ok, f"{saved}{semi}{said}")

    def _ledger_call(self, call) -> tuple[bool, Any]:
        """``(True, result)``, or ``(False, message)`` in the user's language."""
        from simlib.ledger import LedgerError

        try:
            return True, call()
        except LedgerError as e:
            return False, e.message(self.lang)
        except ValueError as e:
            return False, str(e)
        except Exception:  # noqa: BLE001 - a database down: a message, not a traceback
            logging.getLogger(__name__).exception("the ledger could not be reached")
            return False, _t("ledger_down", self.lang)

    def _signed_in_html(self) -> str:
        if not self.user:
            return ""
        from simlib.ledger import LedgerError
        from simlib.ledger.roles import role_label

        try:
            led = self._ledger()
        except Exception:  # noqa: BLE001 - shown as not reachable when used
            return ""
        try:
            p = led.roster.resolve(self.user)
            role = role_label(p.role, self.lang)
            who = (
                f"{p.display(self.lang)}（{role}）"
                if self.lang == "zh-CN"
                else f"{p.display(self.lang)} ({role})"
            )
        except LedgerError as e:
            return f"<span style='color:#b71c1c'>{_esc(e.message(self.lang))}</span>"
        finally:
            led.close()
        return f"<span style='color:#555'>{_esc(_t('signed_in', self.lang).format(who=who))}</span>"

    def _on_submit(self, _b=None) -> None:
        L = self.lang
        name = (self.controls_["save_name"].value or "").strip()
        if not self.user:
            return self._status("save_status", False, _t("no_user", L))
        if not _NAME.match(name):
            return self._status("save_status", False, _t("bad_name", L))
        ok, said = self._ledger_call(
            lambda: self.submit(name, self.controls_["save_reason"].value or "")
        )
        if ok:
            said = _t("submitted", L).format(n=said.version)
        self._status("save_status", ok, said)

    def _on_load(self, _b=None) -> None:
        name = self.controls_["load_name"].value
        try:
            self.load(name)
        except (ValueError, OSError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            return self._status("load_status", False, f"{_t('not_loaded', self.lang)}: {first}")
        except Exception as e:  # noqa: BLE001
            return self._error(e)
        self._status("load_status", True, f"{_t('loaded', self.lang)}: {name}")

    def _on_compare(self, _b=None) -> None:
        other = self.controls_["compare_with"].value
        L = self.lang
        try:
            if self.allocation is None:
                self.outputs["compare_out"].value = ""
                return
            s = load_scenario(self._resolve(other))
            b = run_scenario(self._with_sim(s), self.cache.data, cache=self.cache)
            self.outputs["compare_out"].value = (
                f"<h3 class='simlib-h'>{_esc(_t('compare_title', L).format(other=other))}</h3>"
                + compare_html(self.allocation, b, L, other)
            )
        except (ValueError, OSError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self._status("compare_out", False, f"{_t('not_loaded', L)}: {first}")
        except Exception as e:  # noqa: BLE001
            self._error(e)

    def _on_export(self, kind: str) -> None:
        L = self.lang
        try:
            if self.allocation is None:
                return self._status("export_status", False, _t("fix_first", L))
            path = self.export_xlsx() if kind == "xlsx" else self.export_csv()
        except OSError as e:
            return self._status("export_status", False, f"{_t('not_saved', L)}: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001
            return self._error(e)
        self._status("export_status", True, f"{_t('wrote', L)}: {path}")

    def _render(self) -> None:
        o, v, L = self.outputs, self.view, self.lang
        for k in o:
            if k.startswith("err_"):
                o[k].value = ""
        if not v.ok:
            # say what is wrong next to each control; show no number from an older state
            for k, m in v.problems:
                key = f"err_{k}" if f"err_{k}" in o else "err_scenario"
                o[key].value = (o[key].value or "") + present.field_error(m)
            o[
                "message"
            ].value = f"<div class='simlib-problem' role='alert'>{_esc(_t('problem', L))}</div>"
            self._results.layout.display = "none"
            o["wall_out"].value = b""
            return
        a = v.allocation
        under = self._controls.view or None
        o["message"].value = ""
        o["cards"].value = headline_cards(a, L)
        o["risk_out"].value = risk_html(a, L)
        levels = ("company", "region", "team") if under is None else LEVELS
        o["table_out"].value = allocation_html(a, levels, under, L)
        o["gap_out"].value = gap_html(a, ("company", "region", "team"), under, L)
        o["smart_out"].value = smart_html(a, L, under=under, top=15)
        o["funnel_out"].value = funnel_html(a, L)
        o["ramp_out"].value = ramp_html(a, self.cache.data, L, self._observed_ramp(a))
        o["notes_out"].value = notes_html(a, L)
        o["compare_out"].value = ""
        o["timing_out"].value = (
            f"<small class='simlib-muted'>{_esc(_t('recomputed', L))} "
            f"{1000 * v.seconds:,.0f} ms</small>"
        )
        if self.charts:
            png, width = _png(wall_figure(a, self._controls.wall, under, L))
            o["wall_out"].value = png
            o["wall_out"].layout.width = f"{width}px"
            o["wall_out"].layout.max_width = "100%"
        self._results.layout.display = ""

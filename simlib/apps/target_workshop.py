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
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
    allocation_table,
    compare_allocations,
    funnel_check,
    gap_table,
    headline,
    quarter_split,
    smart_failures,
    wall_data,
    wall_figure,
)

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


def scenario_from_controls(base: Scenario, controls: WorkshopControls) -> Scenario:
    """The scenario ``base`` with the workshop's controls applied (pure).

    Everything the controls do not cover (locked overrides, potential, mix, commits,
    consensus rule, simulation settings, attainability) is kept from ``base``.

    Raises
    ------
    ControlError
        Naming the control: cap below floor, every method weight 0, a value out of
        range.
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
            problems.append((k, f"expected a number; got {v!r}"))
    if c.target_mode not in ("amount", "growth"):
        problems.append(("target_mode", f"expected 'amount' or 'growth'; got {c.target_mode!r}"))
    if c.target_mode == "amount" and c.company_target is not None and c.company_target <= 0:
        problems.append(("company_target", f"expected an amount > 0; got {c.company_target:,.2f}"))
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
            loc = tuple(err["loc"])
            ctx = err.get("ctx") or {}
            if isinstance(ctx.get("error"), At):
                at = ctx["error"]
                problems.append((_control_of(loc + at.loc), str(at)))
            else:
                msg = err["msg"].removeprefix("Value error, ")
                problems.append((_control_of(loc), f"{msg} (got {err.get('input')!r})"))
        raise ControlError(problems) from None
    scenario._source = base.source  # commits paths stay relative to the base file
    return scenario


def compute(controls: WorkshopControls, cache: TargetCache, base: Scenario) -> Allocation:
    """The allocation for ``controls`` applied to ``base`` (pure; no widgets).

    Raises
    ------
    ControlError
        Bad controls, or a scenario the organisation cannot meet (the engine's
        message, blamed on the control it concerns where it can).
    """
    scenario = scenario_from_controls(base, controls)
    try:
        return run_scenario(scenario, cache.data, cache=cache)
    except ParamError as e:
        raise ControlError([(_control_of_path(p.path), p.message) for p in e.problems]) from None
    except AllocationError as e:
        raise ControlError([("scenario", str(e))]) from None


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


def evaluate(controls: WorkshopControls, cache: TargetCache, base: Scenario) -> WorkshopView:
    """:func:`compute`, never raising for bad controls: the problems go in the view."""
    t0 = time.perf_counter()
    try:
        alloc = compute(controls, cache, base)
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
    "smart": ("SMART flags", "SMART 未通过"),
    "gap": ("Top-down vs bottom-up (P50 forecast)", "自上而下 vs 自下而上（预测中位数）"),
    "problem": ("Cannot compute this scenario", "无法计算此情景"),
    "saved": ("saved", "已保存"),
    "loaded": ("loaded", "已载入"),
    "wrote": ("wrote", "已写入"),
    "recomputed": ("recomputed in", "重算耗时"),
    "no_fails": ("no SMART failures", "全部通过 SMART 检查"),
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


def _money(x: float, lang: str) -> str:
    if x != x:
        return "–"
    if lang == "zh-CN":
        return f"{x / 1e4:,.0f}万"
    return f"{x / 1e6:,.1f}m"


def _pct(x: float, signed: bool = False) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:+.1%}" if signed else f"{x:.1%}"


def _kpi(label: str, value: str, cls: str, color: str = "#212121") -> str:
    return (
        f"<div class='{cls}-box' style='padding:4px 12px'><small>{_esc(label)}</small><br>"
        f"<b style='font-size:1.8em;color:{color}'>{_esc(value)}</b></div>"
    )


def _p_color(p: float, low: float = 0.3, high: float = 0.9) -> str:
    if p != p:
        return "#212121"
    return "#c62828" if p < low else ("#f9a825" if p > high else "#2e7d32")


def table_html(
    alloc: Allocation,
    levels: Sequence[str] = ("company", "region", "team"),
    under: str | None = None,
    lang: str = "en",
) -> str:
    """The allocation table as HTML: target, growth, quarters, probability coloured by
    the SMART "A" band."""
    df = allocation_table(alloc, levels, under)
    att = alloc.scenario.attainability
    zh = lang == "zh-CN"
    head = (
        [
            "层级",
            "编号",
            "名称",
            "基准年",
            "目标",
            "增长",
            "约束",
            "Q1",
            "Q2",
            "Q3",
            "Q4",
            "达成概率",
        ]
        if zh
        else [
            "level",
            "id",
            "name",
            "base year",
            "target",
            "growth",
            "bound",
            "Q1",
            "Q2",
            "Q3",
            "Q4",
            "P(attain)",
        ]
    )
    names = _display_name(df, lang)
    rows = []
    for r, name in zip(df.itertuples(index=False), names):
        pad = {"company": 0, "region": 1, "team": 2, "rep": 3}.get(r.level, 0) * 12
        # every cell is HTML built here around escaped text (never raw text from data)
        cells = [
            _esc(r.level),
            _esc(r.node_id),
            f"<span style='padding-left:{pad}px'>{_esc(name)}</span>",
            _esc(_money(r.last_year, lang)),
            f"<b>{_esc(_money(r.target, lang))}</b>",
            _esc(_pct(r.growth, True)),
            _esc(r.status or ""),
            *(_esc(_money(getattr(r, q), lang)) for q in ("Q1", "Q2", "Q3", "Q4")),
            f"<span style='color:{_p_color(r.p_attain, att.low, att.high)}'>"
            f"{_esc(_pct(r.p_attain))}</span>",
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        "<table class='simlib-table' style='font-size:1.05em'><tr>"
        + "".join(f"<th>{_esc(h)}</th>" for h in head)
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )


def _df_html(
    df: pd.DataFrame, money: Sequence[str] = (), pct: Sequence[str] = (), lang: str = "en"
) -> str:
    view = df.copy()
    for c in money:
        if c in view:
            view[c] = [_money(float(x), lang) for x in view[c]]
    for c in pct:
        if c in view:
            view[c] = [_pct(float(x)) for x in view[c]]
    return view.to_html(index=False, escape=True, na_rep="–", border=0)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


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
        self.base = base
        self.baseline = None
        self.controls_: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self._widget = None
        self._quiet = False
        self._controls = controls if controls is not None else self._controls_of(base)
        self.view: WorkshopView = evaluate(self._controls, cache, self.run_base)
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
        self.view = evaluate(self._controls, self.cache, self.run_base)
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
        unit = "万" if L == "zh-CN" else "m"
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
        c["company_target"] = w.BoundedFloatText(
            min=0,
            max=1e12,
            step=1000 if unit == "万" else 10,
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
            options=[(_t("none", L), "")] + [(f"{r} {name.get(r, '')}", r) for r in regions],
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
            options=[(_t("all", L), "")] + [(f"{n} {name.get(n, '')}", n) for n in regions + teams],
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
            "company_target_out",
            "probability_out",
            "probability_quota_out",
            "over_assignment_out",
            "smart_out",
            "gap_out",
            "table_out",
            "compare_out",
            "save_status",
            "load_status",
            "export_status",
            "timing_out",
            "notes_out",
        ):
            o[k] = w.HTML()
        o["wall_out"] = w.Image(format="png", layout=w.Layout(max_width="100%"))
        for k, out in o.items():
            out.add_class(css_class(k))
        self.outputs = o

        def box(title, items):
            return w.VBox([w.HTML(f"<b>{_esc(title)}</b>")] + items)

        left = w.VBox(
            [
                c["target_mode"],
                c["company_target"],
                c["growth"],
                c["uplift_region"],
                c["uplift_team"],
                c["uplift_rep"],
                box(
                    _t("weights", L),
                    [
                        c["weight_historical"],
                        c["weight_potential"],
                        c["weight_equal"],
                        c["weight_capacity"],
                    ],
                ),
                c["floor"],
                c["cap"],
                c["focus_region"],
                c["focus_weight"],
                w.HBox([c["seasonality"], c["fair_quotas"]]),
                c["view"],
                c["wall"],
                w.HBox([c["save_name"], c["save_overwrite"], c["save"]]),
                o["save_status"],
                w.HBox([c["load_name"], c["load"]]),
                o["load_status"],
                w.HBox([c["compare_with"], c["compare"]]),
                w.HBox([c["export_xlsx"], c["export_csv"]]),
                o["export_status"],
            ],
            layout=w.Layout(width="420px"),
        )
        kpis = w.HBox(
            [
                o["company_target_out"],
                o["probability_out"],
                o["probability_quota_out"],
                o["over_assignment_out"],
                o["smart_out"],
            ],
            layout=w.Layout(flex_flow="row wrap", grid_gap="12px"),
        )
        right = w.VBox(
            [
                o["message"],
                kpis,
                o["timing_out"],
                o["wall_out"],
                o["table_out"],
                o["gap_out"],
                o["compare_out"],
                o["notes_out"],
            ],
            layout=w.Layout(flex="1"),
        )
        root = w.VBox([w.HTML(f"<h2>{_esc(_t('title', L))}</h2>"), w.HBox([left, right])])
        root.add_class("simlib-target-workshop")
        self._widget = root

        self._push(self._controls)
        for k in values_from_controls(self._controls):
            c[k].observe(self._on_change, names="value")
        c["save"].on_click(self._on_save)
        c["load"].on_click(self._on_load)
        c["compare"].on_click(self._on_compare)
        c["export_xlsx"].on_click(lambda _b: self._on_export("xlsx"))
        c["export_csv"].on_click(lambda _b: self._on_export("csv"))
        self._render()

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

    def _error(self, e: Exception) -> None:
        self.outputs[
            "message"
        ].value = (
            f"<div style='color:#b71c1c'>internal error: {_esc(type(e).__name__)}: {_esc(e)}</div>"
        )

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
        except Exception as e:  # an observer must never fail silently: say it in the app
            self._error(e)

    def _on_save(self, _b=None) -> None:
        try:
            path = self.save(
                self.controls_["save_name"].value, overwrite=self.controls_["save_overwrite"].value
            )
        except (ValueError, OSError) as e:
            self.outputs["save_status"].value = f"<span style='color:#b71c1c'>{_esc(e)}</span>"
            return
        names = shipped_scenarios(self.scenario_dir)
        self.controls_["load_name"].options = names
        self.controls_["compare_with"].options = names
        self.outputs[
            "save_status"
        ].value = f"<span style='color:#1b5e20'>{_t('saved', self.lang)}: {_esc(path)}</span>"

    def _on_load(self, _b=None) -> None:
        name = self.controls_["load_name"].value
        try:
            self.load(name)
        except (ValueError, OSError) as e:
            self.outputs["load_status"].value = f"<span style='color:#b71c1c'>{_esc(e)}</span>"
            return
        self.outputs[
            "load_status"
        ].value = f"<span style='color:#1b5e20'>{_t('loaded', self.lang)}: {_esc(name)}</span>"

    def _on_compare(self, _b=None) -> None:
        other = self.controls_["compare_with"].value
        try:
            nodes, params = self.compare(other)
        except (ValueError, OSError) as e:
            self.outputs["compare_out"].value = f"<span style='color:#b71c1c'>{_esc(e)}</span>"
            return
        L = self.lang
        self.outputs["compare_out"].value = (
            f"<b>{_esc(_t('compare', L))}: a = {_esc(_t('scenario', L))} / b = {_esc(other)}</b>"
            + _df_html(
                nodes,
                money=("target_a", "target_b", "difference"),
                pct=("difference_pct", "p_attain_a", "p_attain_b"),
                lang=L,
            )
            + (_df_html(params) if len(params) else "")
        )

    def _on_export(self, kind: str) -> None:
        try:
            path = self.export_xlsx() if kind == "xlsx" else self.export_csv()
        except (ValueError, OSError) as e:
            self.outputs["export_status"].value = f"<span style='color:#b71c1c'>{_esc(e)}</span>"
            return
        self.outputs[
            "export_status"
        ].value = f"<span style='color:#1b5e20'>{_t('wrote', self.lang)}: {_esc(path)}</span>"

    def _render(self) -> None:
        o, v, L = self.outputs, self.view, self.lang
        if not v.ok:
            items = "".join(f"<li><b>{_esc(_t(k, L))}</b>: {_esc(m)}</li>" for k, m in v.problems)
            o["message"].value = (
                f"<div class='simlib-problem' style='color:#b71c1c'><b>{_esc(_t('problem', L))}"
                f"</b><ul>{items}</ul></div>"
            )
            for k in (
                "company_target_out",
                "probability_out",
                "probability_quota_out",
                "over_assignment_out",
                "smart_out",
            ):
                o[k].value = _kpi(_t(k, L), "–", css_class(k))
            return
        a = v.allocation
        h = headline(a)
        att = a.scenario.attainability
        o["message"].value = ""
        o["company_target_out"].value = _kpi(
            _t("company_target", L),
            f"{_money(h['company_target'], L)} ({_pct(h['growth'], True)})",
            "simlib-company-target-out",
        )
        o["probability_out"].value = _kpi(
            _t("p_forecast", L),
            _pct(h["p_company_forecast"]),
            "simlib-probability-out",
            _p_color(h["p_company_forecast"], att.low, att.high),
        )
        o["probability_quota_out"].value = _kpi(
            _t("p_on_quota", L),
            _pct(h["p_company_if_reps_on_quota"]),
            "simlib-probability-quota-out",
            _p_color(h["p_company_if_reps_on_quota"], att.low, att.high),
        )
        o["over_assignment_out"].value = _kpi(
            _t("over", L), _pct(h["over_assignment_total"], True), "simlib-over-assignment-out"
        )
        o["smart_out"].value = _kpi(
            _t("smart", L),
            f"{h['smart_failures']} / {h['smart_targets']}",
            "simlib-smart-out",
            "#c62828" if h["smart_failures"] else "#2e7d32",
        )
        o[
            "timing_out"
        ].value = f"<small>{_esc(_t('recomputed', L))} {1000 * v.seconds:.0f} ms</small>"
        under = self._controls.view or None
        levels = ("company", "region", "team") if under is None else LEVELS
        o["table_out"].value = table_html(a, levels, under, L)
        gaps = gap_table(a, ("company", "region", "team"), under)
        gaps = gaps.assign(name=_display_name(gaps, L)).drop(columns=["name_zh"])
        o["gap_out"].value = f"<b>{_esc(_t('gap', L))}</b>" + _df_html(
            gaps,
            money=("top_down", "target", "bottom_up", "gap"),
            pct=("gap_pct", "p_attain"),
            lang=L,
        )
        fails = smart_failures(a, L, ("company", "region", "team"))
        notes = [
            "<b>SMART</b>: "
            + (
                _esc(_t("no_fails", L))
                if not len(fails)
                else "<br>".join(
                    f"{_esc(r.owner_id)} {_esc(r.period)}: {_esc(r.why)}"
                    for r in fails.itertuples()
                )
            )
        ]
        notes += [_esc(n) for n in a.notes]
        o["notes_out"].value = "<small>" + "<br>".join(notes) + "</small>"
        if self.charts:
            o["wall_out"].value = _png(wall_figure(a, self._controls.wall, under, L))

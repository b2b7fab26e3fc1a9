"""Parameter files: load ``params/*.yaml`` into validated, frozen, typed models.

Every error names the file, the dotted path inside it (prefixed with the file's place
under ``params/``, e.g. ``plans.field_sales.tiers[2].rate``), the bad value and what
is allowed. Unknown keys are rejected with the closest valid key suggested.

Each file's model is chosen by where the file lives (see :data:`FILE_MODELS`); the
commission-plan models live in :mod:`simlib.plans`, beside the code that pays them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "ParamError",
    "Problem",
    "At",
    "StrictModel",
    "load_yaml",
    "load_params",
    "load_model",
    "validate_params",
    "default_params_dir",
    "CompanyParams",
    "TargetParams",
    "ScorecardParams",
    "AlertParams",
    "CalendarParams",
    "AppealParams",
    "MappingSpec",
]


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a parameter file."""

    file: str
    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        if self.value is _NO_VALUE:
            return f"{where}: {self.message}"
        shown = self.value.isoformat() if isinstance(self.value, dt.date) else repr(self.value)
        return f"{where}: got {shown}; {self.message}"


_NO_VALUE = object()


class At(ValueError):
    """Raised by a model validator to blame one key below the model, not the whole model.

    ``loc`` is the key path relative to the model (``("growth", "cap")``,
    ``("working_weekends", 3)``); ``value`` the offending value (omit it when the
    message says it).
    """

    def __init__(self, loc: tuple, message: str, value: Any = _NO_VALUE):
        super().__init__(message)
        self.loc = tuple(loc)
        self.value = value


class ParamError(ValueError):
    """A parameter file is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        head = "invalid parameters" if len(lines) > 1 else "invalid parameter"
        super().__init__(f"{head}:\n  " + "\n  ".join(lines) if len(lines) > 1 else lines[0])


# --------------------------------------------------------------------------- YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader, node, deep=False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file; syntax errors and duplicate keys become a :class:`ParamError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamError([Problem(str(path), "", _NO_VALUE, "file not found")]) from None
    except UnicodeDecodeError as e:
        line = e.object[: e.start].count(b"\n") + 1
        msg = f"not UTF-8 text ({e.reason} on line {line}); save the file as UTF-8"
        raise ParamError([Problem(str(path), "", _NO_VALUE, msg)]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        msg = f"{e.problem or e.context}" + (f" at {where}" if where else "")
        if e.problem and e.context and e.context_mark and e.context_mark is not mark:
            # the place the parser noticed is often a line after the mistake
            msg += f" ({e.context} at line {e.context_mark.line + 1})"
        raise ParamError([Problem(str(path), "", _NO_VALUE, f"invalid YAML: {msg}")]) from None
    except yaml.YAMLError as e:
        raise ParamError([Problem(str(path), "", _NO_VALUE, f"invalid YAML: {e}")]) from None


# --------------------------------------------------------------------------- models


class StrictModel(BaseModel):
    """Frozen model that rejects unknown keys; the base of every parameter model."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


Fraction01 = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveMoney = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class DemoParams(StrictModel):
    seed: int = Field(20261120, ge=0)
    as_of: dt.date = dt.date(2026, 11, 20)


class CompanyParams(StrictModel):
    """``params/company.yaml``: who the company is and how it counts money."""

    name: str
    name_zh: str | None = None
    currency: Literal["CNY", "USD", "EUR"] = "CNY"
    language: Literal["en", "zh-CN"] = "zh-CN"
    amount_unit: Literal["yuan", "wan"] = "wan"
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    calendar: str = "calendar_cn.yaml"
    demo: DemoParams = DemoParams()


class Holiday(StrictModel):
    name: str
    name_zh: str | None = None
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self):
        if self.end < self.start:
            raise At(("end",), f"end is before start {self.start}", self.end)
        return self


class CalendarParams(StrictModel):
    """A working-day calendar: weekends off, public holidays off, adjusted weekends on."""

    name: str
    weekend: tuple[int, ...] = (5, 6)
    holidays: tuple[Holiday, ...] = ()
    working_weekends: tuple[dt.date, ...] = ()

    @model_validator(mode="after")
    def _consistent(self):
        for k, d in enumerate(self.working_weekends):
            if d.weekday() not in self.weekend:
                raise At(
                    ("working_weekends", k),
                    f"{d:%A} is not a weekend day; expected a date on a weekend day "
                    f"{list(self.weekend)} (Monday = 0)",
                    d,
                )
        for h in self.holidays:
            for k, d in enumerate(self.working_weekends):
                if h.start <= d <= h.end:
                    raise At(
                        ("working_weekends", k),
                        f"inside holiday {h.name!r} ({h.start} to {h.end}); a working "
                        "weekend cannot be a holiday",
                        d,
                    )
        return self


class MethodWeights(StrictModel):
    historical: float = Field(0.5, ge=0)
    potential: float = Field(0.2, ge=0)
    equal: float = Field(0.0, ge=0)
    capacity: float = Field(0.3, ge=0)

    @model_validator(mode="after")
    def _some_weight(self):
        if self.historical + self.potential + self.equal + self.capacity <= 0:
            raise ValueError("the method weights sum to 0; give at least one method a weight > 0")
        return self


class GrowthBounds(StrictModel):
    floor: float = Field(-0.10, ge=-1.0)
    cap: float = Field(0.40, ge=-1.0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.cap < self.floor:
            raise At(("cap",), f"cap is below floor {self.floor}; expected cap >= floor", self.cap)
        return self


class Uplift(StrictModel):
    region: float = Field(0.0, ge=0, le=1)
    team: float = Field(0.03, ge=0, le=1)
    rep: float = Field(0.05, ge=0, le=1)


class Attainability(StrictModel):
    low: Fraction01 = 0.30
    high: Fraction01 = 0.90
    company_confidence: Fraction01 = 0.80

    @model_validator(mode="after")
    def _ordered(self):
        if self.high <= self.low:
            raise At(("high",), f"expected high above low {self.low}", self.high)
        return self


class Funnel(StrictModel):
    marketing_lead_floor: int = Field(50, ge=0, description="qualified leads per team per month")


class TargetParams(StrictModel):
    """``params/targets.yaml``: how next year's number is cascaded."""

    year: int = Field(ge=2000, le=2100)
    metric: Literal["revenue"] = "revenue"
    company_target: PositiveMoney | None = None
    company_growth: float | None = Field(None, ge=-0.5, le=2.0)
    uplift: Uplift = Uplift()
    methods: MethodWeights = MethodWeights()
    growth: GrowthBounds = GrowthBounds()
    seasonality: bool = True
    ramp_months: int = Field(6, ge=0, le=24)
    attainability: Attainability = Attainability()
    funnel: Funnel = Funnel()
    focus_region: str | None = None
    focus_weight: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _one_company_number(self):
        if self.company_target is not None and self.company_growth is not None:
            raise At(
                ("company_growth",),
                "give exactly one of company_target or "
                f"company_growth, not both (company_target is {self.company_target:g})",
                self.company_growth,
            )
        if self.company_target is None and self.company_growth is None:
            raise ValueError(
                "give exactly one of company_target or company_growth; neither is given"
            )
        return self


class Kpi(StrictModel):
    name: str
    group: Literal["results", "process"]
    weight: Fraction01
    label: str | None = None
    label_zh: str | None = None
    higher_is_better: bool = True


class WeightSet(StrictModel):
    description: str = ""
    group_weights: dict[Literal["results", "process"], Fraction01]
    kpis: tuple[Kpi, ...]

    @model_validator(mode="after")
    def _weights_add_up(self):
        total = sum(k.weight for k in self.kpis)
        if abs(total - 1.0) > 1e-9:
            raise At(("kpis",), f"KPI weights sum to {total:g}; they must sum to 1")
        for group, gw in self.group_weights.items():
            s = sum(k.weight for k in self.kpis if k.group == group)
            if abs(s - gw) > 1e-9:
                raise At(
                    ("group_weights", group),
                    f"the {group} KPI weights sum to {s:g}; expected them to equal "
                    f"group_weights.{group}",
                    gw,
                )
        names = [k.name for k in self.kpis]
        for k, n in enumerate(names):
            if n in names[:k]:
                raise At(
                    ("kpis", k, "name"),
                    f"KPI names must be unique; first used at kpis[{names.index(n)}]",
                    n,
                )
        return self


class ScorecardParams(StrictModel):
    """``params/scorecard.yaml``: KPI weight sets and normalisation."""

    active: str
    ceiling: float = Field(1.2, ge=1.0, le=3.0, description="cap on KPI attainment")
    visit_rating_bar: float = Field(4.0, ge=0, le=5)
    weight_sets: dict[str, WeightSet]
    kpi_targets: dict[str, float] = Field(
        default_factory=dict,
        description="KPI name → fixed target (e.g. collection_rate: 0.95); "
        "a KPI without one is judged against its team's average (revenue: against quota)",
    )
    newcomer_months: int = Field(12, ge=1, le=60, description="tenure below this is a newcomer")
    promotion_periods: int = Field(
        3,
        ge=1,
        le=12,
        description="top quartile this many evaluation periods running makes a promotion candidate",
    )
    promotion_quantile: Fraction01 = Field(0.75, description="the top-quartile bar of the score")
    min_nps_responses: int = Field(
        3, ge=1, description="fewest survey answers for a reputation award"
    )
    default_cycle: Literal["monthly", "quarterly"] = "monthly"
    team_cycles: dict[str, Literal["monthly", "quarterly"]] = Field(
        default_factory=dict, description="team id → evaluation cycle, where not the default"
    )

    @model_validator(mode="after")
    def _active_exists(self):
        if self.active not in self.weight_sets:
            close = difflib.get_close_matches(self.active, list(self.weight_sets), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise At(
                ("active",),
                "not a weight set defined under weight_sets; expected one "
                f"of {sorted(self.weight_sets)}{hint}",
                self.active,
            )
        return self


class ThresholdRule(StrictModel):
    kind: Literal["threshold"]
    id: str
    metric: str
    window: Literal["week", "month", "quarter"] = "week"
    below: Annotated[float, Field(gt=0)]
    of: Literal["pace", "target"] = "pace"
    description: str = ""


class StreakRule(StrictModel):
    kind: Literal["streak"]
    id: str
    metric: str
    window: Literal["week", "month"] = "week"
    compare: Literal["team_average"] = "team_average"
    periods: int = Field(2, ge=1, le=52)
    description: str = ""


class RelativeRule(StrictModel):
    kind: Literal["relative"]
    id: str
    metric: str
    window: Literal["week", "month", "quarter"] = "month"
    below_team_by: Annotated[float, Field(gt=0, lt=1)]
    description: str = ""


AlertRule = Annotated[ThresholdRule | StreakRule | RelativeRule, Field(discriminator="kind")]


class Reminders(StrictModel):
    high_value_lead: Money = 500_000
    followup_overdue_days: int = Field(0, ge=0)
    renewal_window_days: int = Field(60, ge=1)
    followup_due_within_days: int = Field(
        0, ge=0, le=60, description="also remind of follow-ups falling due within this many days"
    )


class AlertParams(StrictModel):
    """``params/alerts.yaml``: early-warning rules and reminders."""

    rules: tuple[AlertRule, ...]
    reminders: Reminders = Reminders()
    pace_to_date: Literal["window", "month", "quarter", "year"] = Field(
        "quarter",
        description="threshold rules on pace compare results from the start of this "
        "period to the check day with the pace expected by then; 'window' uses the rule's window "
        "alone (one week's revenue against one week's share of target)",
    )
    rate_lookback_weeks: int = Field(
        4,
        ge=1,
        le=26,
        description="weekly rules on a rate (lead conversion, win rate) measure it "
        "over the trailing N working weeks, so a rep with three leads a week is not judged on three",
    )
    min_sample: int = Field(
        5,
        ge=1,
        description="a rate with a smaller denominator is not judged (no alert, no streak break)",
    )
    week_min_working_days: int = Field(
        1,
        ge=1,
        le=7,
        description="a calendar week with fewer working days (a whole-week holiday) "
        "is folded into the next week: it neither breaks nor extends a streak",
    )
    diagnosis_weeks: int = Field(
        8,
        ge=1,
        le=52,
        description="working weeks looked back on to classify an alert as a "
        "capability or a resource gap",
    )
    gap_margin: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="how far below the team (as a fraction) a signal must be to "
        "count as a gap when classifying",
    )

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [r.id for r in self.rules]
        for k, i in enumerate(ids):
            if i in ids[:k]:
                raise At(
                    ("rules", k, "id"),
                    f"rule ids must be unique; first used at rules[{ids.index(i)}]",
                    i,
                )
        return self


class AppealParams(StrictModel):
    """``params/appeals.yaml``: the appeal window and where the ledger lives."""

    window_working_days: int = Field(3, ge=1, le=30)
    ledger_url: str = "sqlite:///appeals.sqlite"


# ---- CRM column mappings (params/mappings/*.yaml) ---------------------------


class TableMapping(StrictModel):
    """How one canonical table is read from a source file or SQL table."""

    source: str = Field(description="file name (relative to the data path) or SQL table")
    sheet: str | int | None = None
    columns: dict[str, str | tuple[str, ...]] = Field(
        default_factory=dict,
        description=(
            "canonical column → source column, or a list of candidates (the first present "
            "in the file is used); '@row' makes an id from the row number"
        ),
    )
    constants: dict[str, str | float | int | bool] = Field(default_factory=dict)
    date_format: str | None = None
    date_formats: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="canonical column → {source value: canonical value}"
    )
    scale: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="multiply a numeric column by this: amount 10000 for 万, probability 0.01 for %",
    )
    skip_rows: int = Field(0, ge=0, description="lines above the header (report titles)")
    footer_pattern: str | None = Field(
        None, description="regex on the first cell: that row and all below are a footer"
    )


#: The name lists ``aliases`` may hold in a mapping (see ``simlib.data.io``).
ALIAS_KINDS: tuple[str, ...] = ("owner", "product", "customer", "stage")


class MappingSpec(StrictModel):
    """``params/mappings/*.yaml``: how a CRM export becomes the canonical tables."""

    name: str
    description: str = ""
    tables: dict[str, TableMapping]
    aliases: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="kind (owner, product, customer, stage) → {alias: canonical name or id}",
    )

    @model_validator(mode="after")
    def _known_tables(self):
        from simlib.data.schema import TABLES

        def hint(name, options):
            close = difflib.get_close_matches(str(name), list(options), n=1)
            return f"; did you mean {close[0]!r}?" if close else ""

        for t, tm in self.tables.items():
            if t not in TABLES:
                raise At(
                    ("tables", t),
                    f"unknown table{hint(t, TABLES)} (tables: {', '.join(TABLES)})",
                    t,
                )
            table = TABLES[t]
            cols = table.column_names
            # Each section may only name columns of a kind it acts on; anything else
            # would be silently ignored when the data loads.
            kinds = {
                "columns": None,
                "constants": None,
                "values": ("id", "text", "enum"),
                "scale": ("money", "number", "int"),
                "date_formats": ("date",),
            }
            for section, ok_kinds in kinds.items():
                for c in getattr(tm, section):
                    if c not in cols:
                        raise At(
                            ("tables", t, section, c),
                            f"not a column of canonical table "
                            f"{t!r}{hint(c, cols)} (columns: {', '.join(cols)})",
                            c,
                        )
                    kind = table.column(c).kind
                    if ok_kinds and kind not in ok_kinds:
                        raise At(
                            ("tables", t, section, c),
                            f"{section} applies to "
                            f"{'/'.join(ok_kinds)} columns; {c!r} is of kind {kind!r}",
                            c,
                        )
            for c, vmap in tm.values.items():
                allowed = table.column(c).allowed
                for src, target in vmap.items() if allowed else ():
                    if target not in allowed:
                        raise At(
                            ("tables", t, "values", c, src),
                            f"not a canonical {c}; "
                            f"expected one of {', '.join(allowed)}{hint(target, allowed)}",
                            target,
                        )
            for c, v in tm.constants.items():
                allowed = table.column(c).allowed
                if allowed and v not in allowed:
                    raise At(
                        ("tables", t, "constants", c),
                        f"expected one of {', '.join(allowed)}{hint(v, allowed)}",
                        v,
                    )
        for kind, amap in self.aliases.items():
            if kind not in ALIAS_KINDS:
                raise At(
                    ("aliases", kind),
                    "unknown alias kind; expected one of "
                    f"{', '.join(ALIAS_KINDS)}{hint(kind, ALIAS_KINDS)}",
                    kind,
                )
            if kind == "stage":
                from simlib.data.schema import STAGES

                for src, target in amap.items():
                    if target not in STAGES:
                        raise At(
                            ("aliases", "stage", src),
                            "not a canonical stage; expected "
                            f"one of {', '.join(STAGES)}{hint(target, STAGES)}",
                            target,
                        )
        return self


# --------------------------------------------------------------------------- loading


def _plan_model():
    from simlib.plans import PlanSpec

    return PlanSpec


def _scenario_model():
    from simlib.scenario import Scenario

    return Scenario


def _pool_model():
    from simlib.plans import PoolSpec

    return PoolSpec


def _schedule_model():
    from simlib.reports.schedule import ScheduleParams

    return ScheduleParams


#: file pattern (relative to the params folder) → model (or a callable giving it).
FILE_MODELS: dict[str, Any] = {
    "company.yaml": CompanyParams,
    "targets.yaml": TargetParams,
    "scorecard.yaml": ScorecardParams,
    "alerts.yaml": AlertParams,
    "appeals.yaml": AppealParams,
    "calendar_*.yaml": CalendarParams,
    "bonus_pool.yaml": _pool_model,
    "plans/*.yaml": _plan_model,
    "mappings/*.yaml": MappingSpec,
    "scenarios/*.yaml": _scenario_model,
    "schedule.yaml": _schedule_model,
}


def default_params_dir() -> Path:
    """The ``params/`` folder of this checkout (or ``$SIMLIB_PARAMS``)."""
    import os

    env = os.environ.get("SIMLIB_PARAMS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "params"


def _model_for(rel: str):
    for pattern, model in FILE_MODELS.items():
        if fnmatch.fnmatch(rel, pattern):
            return model if isinstance(model, type) else model()
    return None


def _prefix(rel: str) -> str:
    stem = rel[:-5] if rel.endswith(".yaml") else rel
    return stem.replace("/", ".")


def _loc_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _unwrap(tp):
    """The model classes an annotation can hold (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            out += _unwrap(a)
        return out
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _step(ann, part) -> list:
    """Annotations one level below ``ann`` at key or index ``part``."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Annotated:
        return _step(args[0], part)
    if origin in (Union, types.UnionType):
        return [x for a in args for x in _step(a, part)]
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        f = ann.model_fields.get(part) if isinstance(part, str) else None
        return [f.annotation] if f is not None else []
    if origin in (list, tuple) and args and isinstance(part, int):
        return [args[0]]
    if origin is dict and len(args) == 2:
        return [args[1]]
    return []


def _fields_at(model: type[BaseModel], loc: tuple, data: Any) -> list[str] | None:
    """Valid keys of the mapping at ``loc`` (for 'did you mean'); None if unknown."""
    anns: list = [model]
    node = data
    for part in loc:
        anns = [x for a in anns for x in _step(a, part)]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    names: list[str] = []
    for cls in (c for a in anns for c in _unwrap(a)):
        kind_field = cls.model_fields.get("kind")
        if kind_field is not None and isinstance(node, dict) and "kind" in node:
            if node["kind"] not in typing.get_args(kind_field.annotation):
                continue  # another member of a discriminated union
        names += [n for n in cls.model_fields if n not in names]
    return names or None


def _tags_at(model, loc: tuple, tag: str) -> str:
    """The allowed values of the discriminator ``tag`` for the union at ``loc``."""
    anns: list = [model]
    for part in loc:
        anns = [x for a in anns for x in _step(a, part)]
    tags = []
    for cls in (c for a in anns for c in _unwrap(a)):
        f = cls.model_fields.get(tag)
        if f is not None:
            tags += [repr(v) for v in typing.get_args(f.annotation)]
    return ", ".join(tags) or "?"


def _drop_union_tags(loc: tuple, data: Any) -> tuple:
    """Remove the tag pydantic inserts after a discriminated-union member's position.

    Only where the data at that spot really is a mapping whose ``kind`` is that tag,
    so a real field that happens to share a tag's name is kept.
    """
    out: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and node.get("kind") == part and part not in node:
            continue
        out.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def _problems_from(e: ValidationError, file: str, prefix: str, model, data) -> list[Problem]:
    problems = []
    for err in e.errors(include_url=False):
        loc = tuple(err["loc"])
        # Discriminated unions add the tag name to the location; a reader wants the
        # path in the file, so drop it.
        loc = _drop_union_tags(loc, data)
        path = _loc_path(loc)
        full = f"{prefix}.{path}" if path else prefix
        kind = err["type"]
        value = err.get("input", _NO_VALUE)
        ctx = err.get("ctx") or {}
        if isinstance(ctx.get("error"), At):
            at = ctx["error"]
            path = _loc_path(loc + at.loc)
            full = f"{prefix}.{path}" if path else prefix
            problems.append(Problem(file, full, at.value, str(at)))
            continue
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            tag = ctx.get("discriminator", "'kind'").strip("'")
            full = f"{full}.{tag}"
            expected = ctx.get("expected_tags") or _tags_at(model, loc, tag)
            if kind == "union_tag_invalid":
                problems.append(Problem(file, full, ctx.get("tag"), f"expected one of {expected}"))
            else:
                problems.append(
                    Problem(
                        file,
                        full,
                        _NO_VALUE,
                        f"required key is missing; expected one of {expected}",
                    )
                )
            continue
        if kind == "extra_forbidden":
            key = loc[-1]
            valid = _fields_at(model, loc[:-1], data) or []
            close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            allowed = f" (allowed: {', '.join(valid)})" if valid else ""
            problems.append(Problem(file, full, _NO_VALUE, f"unknown key {key!r}{hint}{allowed}"))
        elif kind == "missing":
            problems.append(Problem(file, full, _NO_VALUE, "required key is missing"))
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            if isinstance(value, dict):
                value = _NO_VALUE  # a whole mapping: the message says what is wrong
            problems.append(Problem(file, full, value, msg[0].lower() + msg[1:]))
    return problems


def load_model(path: str | Path, model: type[BaseModel], prefix: str | None = None):
    """Load one YAML file into ``model``; raise :class:`ParamError` naming every problem."""
    path = Path(path)
    data = load_yaml(path)
    prefix = prefix if prefix is not None else path.stem
    if data is None:
        raise ParamError(
            [
                Problem(
                    str(path),
                    prefix,
                    _NO_VALUE,
                    "the file is empty; expected a mapping of keys to values",
                )
            ]
        )
    if not isinstance(data, dict):
        raise ParamError(
            [Problem(str(path), prefix, data, "the file must hold a mapping of keys to values")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ParamError(_problems_from(e, str(path), prefix, model, data)) from None


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
    model = _model_for(rel)
    if model is None:
        patterns = ", ".join(FILE_MODELS)
        raise ParamError(
            [
                Problem(
                    str(path),
                    "",
                    _NO_VALUE,
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
        if _model_for(rel) is None:
            continue
        try:
            loaded[rel] = load_params(path, params_dir)
        except ParamError as e:
            problems += e.problems
    if problems:
        raise ParamError(problems)
    return loaded

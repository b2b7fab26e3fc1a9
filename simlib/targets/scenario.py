"""Target-workshop scenarios: everything a Q4 workshop changes, in one YAML file.

A scenario (``params/scenarios/NAME.yaml``) holds the cascade parameters of
``params/targets.yaml`` (year, company number, over-assignment per level, method
weights, growth floor and cap, seasonality, focus region) plus what a workshop adds:
locked manual overrides, potential overrides, mix targets, a bottom-up commits file,
the consensus rule, the fair-quota and risk-based over-assignment switches and the
simulation settings for the attainability check.

**Precedence.** ``params/targets.yaml`` is the company's standing cascade policy; a
scenario states what it changes. A key the scenario file does not write takes its value
from ``params/targets.yaml`` (nested keys one by one: ``growth: {cap: 0.6}`` keeps the
policy's floor), and only a key neither file writes takes the built-in default. A
scenario that gives ``company_target`` or ``company_growth`` replaces the policy's
company number. :func:`policy_overrides` lists what a scenario changes.

It is validated when loaded: an error names the file, the dotted path
(``scenarios.baseline_2027.growth.cap``), the bad value and what is allowed. Checks that
need the organisation (an override naming an unknown node, a locked amount above its
parent) run in :func:`simlib.targets.run_scenario` and are reported the same way.

Examples
--------
>>> s = Scenario(year=2027, company_target=1_600_000_000, locked={"T-SH": 190_000_000})
>>> s.locked["T-SH"]
190000000.0
>>> diff = compare_scenarios(s, s.model_copy(update={"fair_quotas": True}))
>>> diff.query("changed")["path"].tolist()
['fair_quotas']
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import Field, PrivateAttr, model_validator

from simlib.config import (
    NO_VALUE,
    At,
    ParamError,
    Problem,
    StrictModel,
    default_params_dir,
    load_yaml,
    loc_path,
    validate_data,
)
from simlib.money import from_cents, to_cents
from simlib.targets.params import MethodWeights, TargetParams

__all__ = [
    "Scenario",
    "ScenarioMethodWeights",
    "ConsensusRule",
    "SimulationSettings",
    "MIX_DIMENSIONS",
    "load_scenario",
    "policy",
    "policy_overrides",
    "save_scenario",
    "compare_scenarios",
    "scenario_problem",
]

#: The splits a target carries below its amount: product line and customer type for a
#: team ("East China Q3: 50,000,000, product A 60%"), new vs existing customers for a
#: rep ("30% from new customers").
MIX_DIMENSIONS: tuple[str, ...] = ("product_line", "customer_type", "deal_type")

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Amount = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class ScenarioMethodWeights(MethodWeights):
    """Method weights whose "sum to 0" error shows the weights and their sum."""

    @model_validator(mode="after")
    def _some_weight(self):
        total = self.historical + self.potential + self.equal + self.capacity
        if total <= 0:
            raise At(
                (),
                f"the method weights (historical {self.historical:g}, potential "
                f"{self.potential:g}, equal {self.equal:g}, capacity {self.capacity:g}) sum "
                "to 0; give at least one method a weight > 0",
                total,
            )
        return self


class ConsensusRule(StrictModel):
    """How a bottom-up commit and the top-down target are reconciled (SPEC R4).

    The consensus of a node with a commit ``C`` and a top-down target ``T`` is
    ``clip(w·C + (1 − w)·T, (1 − band)·T, (1 + band)·T)``; then the siblings are rescaled
    together (within their growth floor and cap, locked overrides kept) so that their
    parent's number does not move.
    """

    commit_weight: Share = Field(0.5, description="weight w of the commit in the blend")
    band: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.10, description="the consensus stays within ±band of the top-down target"
    )


class SimulationSettings(StrictModel):
    """The attainment engine runs behind the SMART "A" check, fair quotas and risk design."""

    n_trials: int = Field(10_000, ge=100, le=1_000_000)
    seed: int = Field(0, ge=0)
    periods: Literal["year", "quarter", "all"] = Field(
        "year",
        description="which targets get a probability of attainment: the annual ones, "
        "also the quarters, or also the months (one simulation per period, cached)",
    )


class Scenario(TargetParams):
    """One workshop scenario: the cascade parameters and the workshop's changes.

    Inherits every field of :class:`simlib.config.TargetParams` (``year``,
    ``company_target`` or ``company_growth``, ``uplift``, ``methods``, ``growth``,
    ``seasonality``, ``ramp_months``, ``attainability``, ``funnel``, ``focus_region``,
    ``focus_weight``).
    """

    name: str | None = None
    description: str = ""
    methods: ScenarioMethodWeights = ScenarioMethodWeights()
    as_of: dt.date | None = Field(None, description="the data's 'today'; default: the data's own")
    base_year: int | None = Field(
        None,
        ge=2000,
        le=2100,
        description="the 'last year' of growth floors/caps and historical share; default: the "
        "last full calendar year before as_of",
    )
    fair_quotas: bool = Field(
        False,
        description="split every parent so that its children share one probability of "
        "attainment (quantiles of each child's simulated bookings)",
    )
    uplift_from_confidence: bool = Field(
        False,
        description="choose the rep-level over-assignment so that the company reaches "
        "its number with probability attainability.company_confidence",
    )
    locked: dict[str, Amount] = Field(
        default_factory=dict,
        description="node id → annual target kept as given; the siblings share the rest",
    )
    potential: dict[str, Amount] = Field(
        default_factory=dict,
        description="node id → market potential replacing the accounts' annual contract value",
    )
    mix: dict[
        str, dict[Literal["product_line", "customer_type", "deal_type"], dict[str, Share]]
    ] = Field(
        default_factory=dict,
        description="node id → dimension → category → share of the "
        "target; categories not named keep their historical proportions",
    )
    commits: str | None = Field(
        None,
        description="bottom-up commits CSV (owner_id, period, amount), relative to the "
        "scenario file",
    )
    consensus: ConsensusRule = ConsensusRule()
    simulation: SimulationSettings = SimulationSettings()
    currency: Literal["CNY", "USD", "EUR"] = "CNY"

    _source: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _consistent(self):
        if self.base_year is not None and self.base_year >= self.year:
            raise At(
                ("base_year",),
                f"expected a year before the target year {self.year}",
                self.base_year,
            )
        if self.as_of is not None and self.as_of.year > self.year:
            raise At(("as_of",), f"is after the target year {self.year}", self.as_of)
        for node, dims in self.mix.items():
            for dim, shares in dims.items():
                total = sum(shares.values())
                if total > 1.0 + 1e-9:
                    raise At(
                        ("mix", node, dim),
                        f"the shares sum to {total:g}; they must sum "
                        "to at most 1 (categories not named share the rest)",
                        shares,
                    )
        return self

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from (``None`` if built in code)."""
        return self._source

    @property
    def prefix(self) -> str:
        """The dotted prefix of paths in messages: ``scenarios.<file stem or name>``."""
        stem = Path(self._source).stem if self._source else (self.name or "scenario")
        return f"scenarios.{stem}"

    def commits_path(self) -> Path | None:
        """The commits file, resolved against the scenario file's folder."""
        if not self.commits:
            return None
        p = Path(self.commits)
        if not p.is_absolute() and self._source:
            p = Path(self._source).parent / p
        return p

    @classmethod
    def from_params(cls, params: TargetParams, **changes: Any) -> Scenario:
        """A scenario starting from ``params/targets.yaml`` (or any TargetParams)."""
        data = params.model_dump()
        data.update(changes)
        return cls.model_validate(data)

    def __repr__(self) -> str:
        number = (
            f"company_target={self.company_target:,.0f}"
            if self.company_target is not None
            else f"company_growth={self.company_growth:+.1%}"
        )
        extra = []
        if self.locked:
            extra.append(f"locked={len(self.locked)}")
        if self.fair_quotas:
            extra.append("fair_quotas")
        if self.commits:
            extra.append(f"commits={self.commits!r}")
        more = (", " + ", ".join(extra)) if extra else ""
        return (
            f"Scenario({self.name or 'unnamed'}: {self.year}, {number}, uplift "
            f"{self.uplift.region:.0%}/{self.uplift.team:.0%}/{self.uplift.rep:.0%}, growth "
            f"[{self.growth.floor:+.0%}, {self.growth.cap:+.0%}]{more})"
        )

    __str__ = __repr__


def scenario_problem(scenario: Scenario, loc: tuple, value: Any, message: str) -> Problem:
    """A :class:`~simlib.config.Problem` blaming ``loc`` inside ``scenario``'s file."""
    path = loc_path(tuple(loc))
    full = f"{scenario.prefix}.{path}" if path else scenario.prefix
    return Problem(
        scenario.source or "<scenario>", full, NO_VALUE if value is None else value, message
    )


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path : path-like
        A YAML file, or a name in ``params/scenarios/`` (``"baseline_2027"``).

    Raises
    ------
    simlib.config.ParamError
        Naming the file, the dotted path, the bad value and what is allowed.
    """
    p = Path(path)
    if not p.exists() and not p.is_absolute():
        shipped = default_params_dir() / "scenarios" / (p.name if p.suffix else f"{p.name}.yaml")
        if shipped.exists():
            p = shipped
    if not p.exists():
        known = sorted(x.stem for x in (default_params_dir() / "scenarios").glob("*.yaml"))
        raise ParamError(
            [
                Problem(
                    str(p),
                    "",
                    _no_value(),
                    f"scenario file not found; shipped scenarios: {', '.join(known) or 'none'}",
                )
            ]
        )
    raw = load_yaml(p)
    prefix = f"scenarios.{p.stem}"
    if not isinstance(raw, dict):
        what = "the file is empty" if raw is None else "the file must hold a mapping"
        raise ParamError(
            [Problem(str(p), prefix, raw, f"{what}; expected a mapping of keys to values")]
        )
    scenario = validate_data(_over(policy(), raw), Scenario, p, prefix)
    scenario._source = str(p)
    if scenario.name is None:
        scenario = scenario.model_copy(update={"name": p.stem})
        scenario._source = str(p)
    return scenario


def _no_value():
    return NO_VALUE


_NUMBER_KEYS = ("company_target", "company_growth")


def policy() -> dict:
    """``params/targets.yaml`` as written (the standing policy scenarios start from);
    ``{}`` when the project has none."""
    path = default_params_dir() / "targets.yaml"
    data = load_yaml(path) if path.exists() else None
    return data if isinstance(data, dict) else {}


def _over(base: dict, top: dict) -> dict:
    """``top`` over ``base``: nested mappings key by key; the company number as one."""
    out = dict(base)
    if any(k in top for k in _NUMBER_KEYS):
        for k in _NUMBER_KEYS:
            out.pop(k, None)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in _MAPPING_KEYS:
            out[k] = _over(out[k], v)
        else:
            out[k] = v
    return out


#: Scenario keys whose value is a whole mapping of the scenario's own (node → value):
#: never merged with the policy.
_MAPPING_KEYS = ("locked", "potential", "mix")


def policy_overrides(scenario: Scenario) -> list[tuple[str, Any, Any]]:
    """``(dotted path, policy value, scenario value)`` for every value of ``scenario``
    that differs from ``params/targets.yaml`` — what the scenario changes. The company
    number is one entry, ``company_number``, its values ``{key: value}`` mappings."""
    pol = policy()
    if not pol:
        return []
    mine = _flatten(scenario.model_dump(mode="json"))
    fp = _flatten({k: v for k, v in pol.items() if k not in _NUMBER_KEYS})
    out = [(k, v, mine[k]) for k, v in fp.items() if k in mine and mine[k] != v]
    theirs = {k: pol[k] for k in _NUMBER_KEYS if pol.get(k) is not None}
    ours = {k: mine[k] for k in _NUMBER_KEYS if mine.get(k) is not None}
    if theirs and theirs != ours:
        out.insert(0, ("company_number", theirs, ours))
    return out


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario as YAML (atomically); :func:`load_scenario` reads back an equal one.

    Values that differ from the defaults are written, plus the year, the company number
    and every key ``params/targets.yaml`` writes (so reloading, which takes unwritten keys
    from it, gives an equal scenario).
    """
    path = Path(path)
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    full = scenario.model_dump(mode="json")
    for k in policy():  # keys the policy writes: written too, so a reload is exact
        if k in full and k not in _NUMBER_KEYS:
            data[k] = full[k]
    head = {k: data.pop(k) for k in ("name", "description", "year") if k in data}
    head["year"] = scenario.year
    if scenario.company_target is not None:
        head["company_target"] = scenario.company_target
    else:
        head["company_growth"] = scenario.company_growth
    data.pop("company_target", None)
    data.pop("company_growth", None)
    text = yaml.safe_dump({**head, **data}, sort_keys=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(
                f"# Target scenario {scenario.name or path.stem} (simlib.targets.scenario)\n{text}"
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def compare_scenarios(a, b) -> pd.DataFrame:
    """Side-by-side table of two scenarios, or of two allocations.

    Parameters
    ----------
    a, b : Scenario or simlib.targets.Allocation
        Two scenarios: one row per parameter (dotted path) with both values and whether
        it changed. Two allocations: one row per node with both annual targets, the
        difference and both probabilities of attainment.

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(a, Scenario) and isinstance(b, Scenario):
        fa, fb = _flatten(a.model_dump(mode="json")), _flatten(b.model_dump(mode="json"))
        keys = list(fa) + [k for k in fb if k not in fa]
        rows = [
            {"path": k, "a": fa.get(k), "b": fb.get(k), "changed": fa.get(k) != fb.get(k)}
            for k in keys
        ]
        return pd.DataFrame(rows, columns=["path", "a", "b", "changed"])
    if hasattr(a, "nodes") and hasattr(b, "nodes"):
        cols = ["node_id", "level", "name", "target", "p_attain"]
        left = a.nodes[cols].rename(columns={"target": "target_a", "p_attain": "p_attain_a"})
        right = b.nodes[["node_id", "target", "p_attain"]].rename(
            columns={"target": "target_b", "p_attain": "p_attain_b"}
        )
        out = left.merge(right, on="node_id", how="left", sort=False)
        only_b = b.nodes.loc[~b.nodes["node_id"].isin(left["node_id"]), cols].rename(
            columns={"target": "target_b", "p_attain": "p_attain_b"}
        )
        out = pd.concat([out, only_b], ignore_index=True)

        out["difference"] = [
            from_cents(to_cents(y) - to_cents(x)) if x == x and y == y else float("nan")
            for x, y in zip(out["target_a"], out["target_b"])
        ]
        out["difference_pct"] = out["difference"] / out["target_a"]
        return out[
            [
                "node_id",
                "level",
                "name",
                "target_a",
                "target_b",
                "difference",
                "difference_pct",
                "p_attain_a",
                "p_attain_b",
            ]
        ]
    raise TypeError(
        "compare_scenarios needs two Scenario or two Allocation objects; got "
        f"{type(a).__name__} and {type(b).__name__}"
    )

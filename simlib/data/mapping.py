"""``params/mappings/*.yaml``: how a CRM export's columns become the canonical tables."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from simlib.config import At, StrictModel, hint
from simlib.data.schema import STAGES, TABLES

__all__ = [
    "ALIAS_KINDS",
    "MISSING_RULES",
    "Checks",
    "ColumnCheck",
    "MappingSpec",
    "TableMapping",
]

#: What a mapping may do with an empty (or absent) required value, per table and column.
#: ``reject`` (the default) makes the row an error: in lenient mode it is set aside with
#: its reason. Every other rule fills the value, flags the row and counts it in the report.
MISSING_RULES: dict[tuple[str, str], tuple[str, ...]] = {
    # an open deal without a value: its product's list price (products.unit_price)
    ("opportunities", "amount"): ("reject", "price_list"),
    # a deal without an account: one placeholder account, "(no account)"
    ("opportunities", "customer_id"): ("reject", "placeholder"),
    # an early-stage deal without a created date: created on the data's last day, so it
    # is in no earlier point-in-time view (its age at that day is 0)
    ("opportunities", "created_date"): ("reject", "impute"),
    # a deal without an expected close date: left empty; its timing comes from its age
    # and the cycle times of past deals
    ("opportunities", "expected_close_date"): ("reject", "empty"),
    # a rep without a hire date: the day of their first deal (no ramp-up is assumed)
    ("reps", "hire_date"): ("reject", "infer"),
}


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
        description=(
            "multiply a numeric column by this: amount 10000 for 万, probability 0.01 for %"
        ),
    )
    skip_rows: int = Field(0, ge=0, description="lines above the header (report titles)")
    footer_pattern: str | None = Field(
        None, description="regex on the first cell: that row and all below are a footer"
    )
    missing: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "canonical column → what an empty value means: reject (an error), price_list "
            "(opportunities.amount), placeholder (opportunities.customer_id), impute "
            "(opportunities.created_date), empty (opportunities.expected_close_date), "
            "infer (reps.hire_date)"
        ),
    )
    hierarchy: tuple[str, ...] = Field(
        (),
        description=(
            "reps only: source columns that place each rep in the org, top-down (e.g. "
            "[regional_office, manager]: a region per office, a team per manager); the org "
            "tree is built from them and no org table is mapped"
        ),
    )


#: Dates CRMs write for "no date" (Salesforce, Dynamics, SAP, Oracle, SQL Server ...).
SENTINEL_DATES: tuple[dt.date, ...] = (
    dt.date(1, 1, 1),
    dt.date(2299, 12, 31),
    dt.date(2300, 1, 1),
    dt.date(2999, 12, 31),
    dt.date(3000, 1, 1),
    dt.date(4000, 12, 31),
    dt.date(4712, 12, 31),
    dt.date(9999, 1, 1),
    dt.date(9999, 12, 31),
)

Action = Literal["warn", "reject", "off"]


class ColumnCheck(StrictModel):
    """Plausibility settings for one numeric column (``checks.columns``)."""

    outliers: Action | None = Field(
        None, description="warn, reject or off; default: checks.outliers"
    )
    mads: Annotated[float, Field(gt=0)] | None = Field(
        None, description="robust distance that counts as an outlier; default: checks.outlier_mads"
    )
    min: float | None = Field(None, description="fixed lower bound (replaces the robust one)")
    max: float | None = Field(None, description="fixed upper bound (replaces the robust one)")


class Checks(StrictModel):
    """``checks:`` in a mapping: what a plausible value is (every key has a default)."""

    max_amount: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        1e13, description="money (and |number|) above this is an error: a typo, not a deal"
    )
    outliers: Action = Field(
        "warn",
        description=(
            "amounts far from their column's median (robust: median and MAD of log10 "
            "amount, per table and column): warn, reject (an error) or off"
        ),
    )
    outlier_mads: Annotated[float, Field(gt=0)] = Field(
        6.0, description="how many scaled MADs of log10(amount) from the median is an outlier"
    )
    outlier_min_ratio: Annotated[float, Field(ge=1)] = Field(
        100.0, description="never flag an amount within median/ratio .. median*ratio"
    )
    outlier_min_rows: Annotated[int, Field(ge=3)] = Field(
        30, description="columns with fewer non-zero amounts get no robust bounds"
    )
    columns: dict[str, ColumnCheck] = Field(
        default_factory=dict,
        description=(
            "'table.column' → settings for that column; targets are only checked for "
            "outliers when listed here (their rows mix company and rep amounts)"
        ),
    )
    min_date: dt.date = Field(dt.date(1970, 1, 1), description="dates before this are errors")
    max_years_ahead: Annotated[int, Field(ge=0, le=200)] = Field(
        10, description="dates more than this many years after today are errors"
    )
    sentinel_dates: tuple[dt.date, ...] = Field(
        SENTINEL_DATES, description="dates that mean 'no date' (read as empty, with a count)"
    )
    sentinel_action: Literal["missing", "reject"] = Field(
        "missing",
        description=(
            "missing: read a sentinel as an empty date (an error where the date is "
            "required); reject: always an error"
        ),
    )
    payment_tolerance: Annotated[float, Field(ge=1)] = Field(
        1.01, description="a payment may exceed its invoice by this factor"
    )
    overpayment: Literal["warn", "reject"] = Field(
        "reject", description="a single payment above invoice x payment_tolerance"
    )

    @model_validator(mode="after")
    def _known_columns(self):
        numeric = {
            f"{t.name}.{c.name}"
            for t in TABLES.values()
            for c in t.columns
            if c.kind in ("money", "number", "int")
        }
        for key in self.columns:
            if key not in numeric:
                raise At(
                    ("columns", key),
                    "expected 'table.column' of a numeric canonical column"
                    f"{hint(key, sorted(numeric))}",
                    key,
                )
        return self


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
    checks: Checks = Field(
        default_factory=Checks, description="plausibility checks (all optional, with defaults)"
    )

    @model_validator(mode="after")
    def _known_tables(self):
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
            for c, rule in tm.missing.items():
                if c not in cols:
                    raise At(
                        ("tables", t, "missing", c),
                        f"not a column of canonical table "
                        f"{t!r}{hint(c, cols)} (columns: {', '.join(cols)})",
                        c,
                    )
                rules = MISSING_RULES.get((t, c), ("reject",))
                if rule not in rules:
                    raise At(
                        ("tables", t, "missing", c),
                        f"expected {' or '.join(rules)} for {t}.{c}{hint(rule, rules)}",
                        rule,
                    )
            if tm.hierarchy and t != "reps":
                raise At(
                    ("tables", t, "hierarchy"),
                    "hierarchy builds the org from the reps table's columns; "
                    "it belongs under tables.reps",
                    list(tm.hierarchy),
                )
            if len(tm.hierarchy) > 2:
                raise At(
                    ("tables", t, "hierarchy"),
                    f"at most two levels above the reps (region, team); got {len(tm.hierarchy)}",
                    list(tm.hierarchy),
                )
            for c, v in tm.constants.items():
                allowed = table.column(c).allowed
                if allowed and v not in allowed:
                    raise At(
                        ("tables", t, "constants", c),
                        f"expected one of {', '.join(allowed)}{hint(v, allowed)}",
                        v,
                    )
        reps = self.tables.get("reps")
        if reps is not None and reps.hierarchy:
            if "org" in self.tables:
                raise At(
                    ("tables", "reps", "hierarchy"),
                    "the org comes either from an org table or from the reps' hierarchy "
                    "columns, not both; remove one",
                    list(reps.hierarchy),
                )
            if "team_id" in reps.columns or "team_id" in reps.constants:
                raise At(
                    ("tables", "reps", "columns", "team_id"),
                    "with hierarchy, each rep's team is the last hierarchy column; remove team_id",
                    "team_id",
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
                for src, target in amap.items():
                    if target not in STAGES:
                        raise At(
                            ("aliases", "stage", src),
                            "not a canonical stage; expected "
                            f"one of {', '.join(STAGES)}{hint(target, STAGES)}",
                            target,
                        )
        return self

"""``params/mappings/*.yaml``: how a CRM export's columns become the canonical tables."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from simlib.config import At, StrictModel, hint
from simlib.data.schema import STAGES, TABLES

__all__ = ["ALIAS_KINDS", "MappingSpec", "TableMapping"]


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
                for src, target in amap.items():
                    if target not in STAGES:
                        raise At(
                            ("aliases", "stage", src),
                            "not a canonical stage; expected "
                            f"one of {', '.join(STAGES)}{hint(target, STAGES)}",
                            target,
                        )
        return self

"""Reading the inputs of a statement run: periods, deals, collections, per-rep tables.

Private helpers of :mod:`simlib.plans.statements`; inputs are checked here once, with
messages that name the table, the column and the row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from simlib.money import to_cents
from simlib.periods import label_of, parse_label, weeks_in_year
from simlib.plans.spec import PlanSpec, exact

__all__ = ["teams_from_reps"]


# --------------------------------------------------------------------------- periods


def _per_year(period: str, year: int | None = None) -> int:
    if period == "week":
        return weeks_in_year(year) if year is not None else 52
    return {"year": 1, "quarter": 4, "month": 12}[period]


def _span(keys: set[tuple[int, int]], period: str) -> list[tuple[int, int]]:
    if not keys:
        return []
    lo, hi = min(keys), max(keys)
    out, k = [], lo
    while k <= hi:
        out.append(k)
        k = (k[0] + 1, 1) if k[1] == _per_year(period, k[0]) else (k[0], k[1] + 1)
    return out


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Deal:
    oid: str
    owner: str
    date: dt.date
    amount: Fraction
    product: str | None
    deal_type: str | None
    margin: Fraction | None


@dataclass(frozen=True)
class _Credit:
    oid: str
    owner: str
    date: dt.date
    value: Fraction


def _need(df: pd.DataFrame, name: str, cols: Sequence[str], hint: str = "") -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {missing}; it has {list(df.columns)}"
            + (f". {hint}" if hint else "")
        )


def _date(x, what: str) -> dt.date:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT:
        raise ValueError(f"{what} is empty; a date is required")
    return pd.Timestamp(x).date()


def _money(x, what: str) -> Fraction:
    try:
        c = to_cents(x if not isinstance(x, (np.floating, np.integer)) else x.item())
    except (ValueError, ArithmeticError):
        raise ValueError(f"{what} must be a finite amount; got {x!r}") from None
    if c < 0:
        raise ValueError(f"{what} must be >= 0; got {x!r}")
    return Fraction(c, 100)


def _read_deals(
    deals: pd.DataFrame,
    products: pd.DataFrame | None,
    plan_margins: dict[str, float] | None = None,
) -> list[_Deal]:
    """Won deals as exact records. A deal's gross margin, in order of precedence: its
    ``gross_margin`` (amount), ``amount − cost``, ``amount × gross_margin_pct``, its
    product's ``gross_margin_pct`` in ``products``, then the plan's own ``margin_pct``
    for the product (or its ``"*"`` entry)."""
    _need(
        deals,
        "deals",
        ["opportunity_id", "owner_id", "amount", "close_date"],
        "Give won deals with the columns of the canonical opportunities table.",
    )
    df = deals
    if "stage" in df.columns:
        df = df[df["stage"].astype(str) == "won"]
    margin_pct: dict[str, Fraction] = {}
    if products is not None:
        _need(products, "products", ["product_id", "gross_margin_pct"])
        for pid, pct in zip(products["product_id"].astype(str), products["gross_margin_pct"]):
            if pd.notna(pct):
                margin_pct[pid] = exact(float(pct))
    out = []
    seen = set()
    for row in df.to_dict("records"):
        oid = str(row["opportunity_id"])
        if oid in seen:
            raise ValueError(f"deals lists opportunity_id {oid!r} twice; each deal once")
        seen.add(oid)
        amount = _money(row["amount"], f"deals amount of {oid}")
        product = row.get("product_id")
        product = (
            None
            if product is None or (isinstance(product, float) and math.isnan(product))
            else str(product)
        )
        dtype = row.get("deal_type")
        dtype = (
            None
            if dtype is None or (isinstance(dtype, float) and math.isnan(dtype))
            else str(dtype)
        )
        margin = None
        if "gross_margin" in row and pd.notna(row["gross_margin"]):
            margin = exact(float(row["gross_margin"]))
        elif "cost" in row and pd.notna(row["cost"]):
            margin = amount - _money(row["cost"], f"deals cost of {oid}")
        elif "gross_margin_pct" in row and pd.notna(row["gross_margin_pct"]):
            margin = amount * exact(float(row["gross_margin_pct"]))
        elif product is not None and product in margin_pct:
            margin = amount * margin_pct[product]
        elif plan_margins:
            pct = plan_margins.get(product or "", plan_margins.get("*"))
            if pct is not None:
                margin = amount * exact(pct)
        if margin is not None and margin < 0:
            raise ValueError(
                f"deal {oid}: its gross margin is negative ({float(margin):,.2f}: cost above "
                "amount); a margin plan cannot pay on it — correct the cost or leave it out"
            )
        out.append(
            _Deal(
                oid,
                str(row["owner_id"]),
                _date(row["close_date"], f"deals close_date of {oid}"),
                amount,
                product,
                dtype,
                margin,
            )
        )
    return out


def _credits(plan: PlanSpec, deals: list[_Deal], collections: pd.DataFrame | None) -> list[_Credit]:
    m = plan.measure
    if m == "revenue":
        return [_Credit(d.oid, d.owner, d.date, d.amount) for d in deals]
    if m == "new_customer_revenue":
        if any(d.deal_type is None for d in deals):
            bad = [d.oid for d in deals if d.deal_type is None][:5]
            raise ValueError(
                f"measure new_customer_revenue needs deal_type on every deal; missing on {bad}"
            )
        return [
            _Credit(d.oid, d.owner, d.date, d.amount)
            for d in deals
            if d.deal_type == "new_customer"
        ]
    if m == "gross_margin":
        bad = [d.oid for d in deals if d.margin is None][:5]
        if bad:
            raise ValueError(
                "measure gross_margin needs a gross_margin (amount), cost or gross_margin_pct "
                "column on deals, a products table with gross_margin_pct, or margin_pct in "
                f"the plan (per product, or '*' for all); missing for {bad}"
            )
        return [_Credit(d.oid, d.owner, d.date, d.margin) for d in deals]
    if m == "collected_revenue":
        if collections is None:
            raise ValueError("measure collected_revenue needs the collections table")
        owner = {d.oid: d.owner for d in deals}
        out = []
        for row in _read_collections(collections):
            oid, date, amount = row
            if oid not in owner:
                raise ValueError(
                    f"collections mention opportunity {oid!r}, which is not among the won deals"
                )
            out.append(_Credit(oid, owner[oid], date, amount))
        return out
    return []  # ratio measures: no deals


def _read_collections(collections: pd.DataFrame) -> list[tuple[str, dt.date, Fraction]]:
    _need(collections, "collections", ["opportunity_id", "date", "amount"])
    return [
        (str(o), _date(d, f"collections date of {o}"), _money(a, f"collections amount of {o}"))
        for o, d, a in zip(
            collections["opportunity_id"], collections["date"], collections["amount"]
        )
    ]


def teams_from_reps(reps: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Manager → team members, from the canonical ``reps`` table (role, team_id)."""
    _need(reps, "reps", ["rep_id", "team_id", "role"])
    out: dict[str, tuple[str, ...]] = {}
    for _, mgr in reps[reps["role"] == "manager"].iterrows():
        members = reps[(reps["team_id"] == mgr["team_id"]) & (reps["role"] == "rep")]
        out[str(mgr["rep_id"])] = tuple(members["rep_id"].astype(str))
    return out


def _frame_lookup(df: pd.DataFrame | None, name: str, value_cols: Sequence[str], period: str):
    """(owner, period) → row dict from a per-owner, per-period table."""
    if df is None:
        return {}
    owner_col = "owner_id" if "owner_id" in df.columns else "rep_id"
    _need(df, name, [owner_col, "period"])
    out = {}
    for row in df.to_dict("records"):
        key = (str(row[owner_col]), label_of(parse_label(row["period"], period), period))
        if key in out:
            raise ValueError(f"{name} has two rows for owner {key[0]!r} period {key[1]!r}")
        out[key] = {c: row[c] for c in value_cols if c in row and pd.notna(row[c])}
    return out

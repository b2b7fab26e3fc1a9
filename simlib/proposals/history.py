"""What similar won customers bought: attach rates, pairs, discounts (SPEC R19).

A won deal records a customer, one product and an amount. Its quantity is implied by
the price book: ``amount / list price`` (not rounded: a measure of scale, not a count).
A customer's *size* is estimated in the price book's size unit as the median over its
won deals of ``quantity / per_size`` (products without ``per_size`` say nothing about
size). Similar customers are those with won deals of the same industry, the same
customer type and a size within ``[size / band, size × band]``; when fewer than
``similar.min_customers`` are found the search widens, in this order: drop the size,
then the customer type, then the industry (the result says which).

The *discount actually granted* is read only where the export records it: a
``discount`` column (a fraction) or a ``list_amount`` column on the opportunities.
The demo company records neither (its amounts are net), so there it is unknown and
nothing is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

__all__ = ["Peers", "similar_customers", "LEVELS"]

#: How far the search was widened, narrowest first.
LEVELS = ("industry_type_size", "industry_type", "industry", "type", "all")


@dataclass(frozen=True)
class Peers:
    """Similar won customers and what they bought."""

    level: str
    n_customers: int
    attach: dict[str, float]  # product id → share of them that bought it
    together: dict[tuple[str, str], float]  # (a, b) → share that bought both
    typical_discount: Decimal | None
    industry: str | None
    customer_type: str | None
    size_low: float | None
    size_high: float | None

    def __repr__(self) -> str:
        top = ", ".join(
            f"{p} {a:.0%}" for p, a in sorted(self.attach.items(), key=lambda x: -x[1])[:3]
        )
        return f"Peers({self.n_customers} customers at {self.level}: {top})"


def _won(data, book) -> pd.DataFrame:
    opp = data.opportunities
    won = opp[opp["stage"] == "won"]
    cols = ["customer_id", "product_id", "amount"] + [
        c for c in ("discount", "list_amount") if c in won.columns
    ]
    won = won[cols].copy()
    price = {p: e.list_cents / 100 for p, e in book.entries.items()}
    per = {p: e.per_size for p, e in book.entries.items()}
    won["qty"] = won["amount"] / won["product_id"].map(price)
    won["size"] = won["qty"] / won["product_id"].map(per)
    cust = data.tables.get("customers")
    if cust is not None:
        won = won.merge(
            cust[["customer_id", "industry", "customer_type"]], on="customer_id", how="left"
        )
    else:
        won["industry"] = np.nan
        won["customer_type"] = np.nan
    return won


def similar_customers(data, book, needs) -> Peers:
    """The won customers most like ``needs`` (industry, type, size) and what they bought."""
    won = _won(data, book)
    sim = book.rules.similar
    size = float(needs.size)
    lo, hi = size / sim.size_band, size * sim.size_band
    csize = won.groupby("customer_id")["size"].median()
    in_band = won["customer_id"].map((csize >= lo) & (csize <= hi)).fillna(False).astype(bool)
    same_ind = (
        won["industry"] == needs.industry if needs.industry else pd.Series(True, index=won.index)
    )
    same_type = (
        won["customer_type"] == needs.customer_type
        if needs.customer_type
        else pd.Series(True, index=won.index)
    )
    masks = {
        "industry_type_size": same_ind & same_type & in_band,
        "industry_type": same_ind & same_type,
        "industry": same_ind,
        "type": same_type,
        "all": pd.Series(True, index=won.index),
    }
    level, rows = "all", won
    for lv in LEVELS:
        sub = won[masks[lv].to_numpy()]
        if sub["customer_id"].nunique() >= sim.min_customers:
            level, rows = lv, sub
            break
    if needs.customer_id is not None:  # the customer's own past is not a peer's
        rest = rows[rows["customer_id"] != needs.customer_id]
        rows = rest if len(rest) else rows
    n = int(rows["customer_id"].nunique())
    bought = rows.groupby("customer_id")["product_id"].agg(lambda s: frozenset(s))
    attach: dict[str, float] = {}
    together: dict[tuple[str, str], float] = {}
    ids = list(book.entries)
    if n:
        for p in ids:
            attach[p] = float(sum(p in b for b in bought) / n)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                share = float(sum((a in s and b in s) for s in bought) / n)
                together[(a, b)] = together[(b, a)] = share
    disc = None
    if "discount" in rows.columns and rows["discount"].notna().any():
        disc = float(rows["discount"].median())
    elif "list_amount" in rows.columns and rows["list_amount"].notna().any():
        ok = rows["list_amount"] > 0
        disc = float((1 - rows.loc[ok, "amount"] / rows.loc[ok, "list_amount"]).median())
    typical = None
    if disc is not None and disc == disc:
        typical = Decimal(f"{max(disc, 0.0):.4f}")
    band = level == "industry_type_size"
    return Peers(
        level=level,
        n_customers=n,
        attach=attach,
        together=together,
        typical_discount=typical,
        industry=needs.industry
        if level in ("industry_type_size", "industry_type", "industry")
        else None,
        customer_type=needs.customer_type
        if level in ("industry_type_size", "industry_type", "type")
        else None,
        size_low=lo if band else None,
        size_high=hi if band else None,
    )

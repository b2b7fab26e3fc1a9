"""A plan's statements on a company's data: the one way the command line, the ledger's
issue and the clawback list turn a dataset into :func:`simlib.plans.compute_statements`'
inputs (won deals, the rep quotas of the plan's kind of period, reversals, collections
through invoices, teams and products)."""

from __future__ import annotations

import pandas as pd

__all__ = ["collections_of", "statements_for_data"]


def collections_of(data) -> pd.DataFrame | None:
    """Payments as ``(opportunity_id, date, amount)`` through their invoices (None when
    the data has no invoices or payments: an opportunity-only export)."""
    if "invoices" not in data.tables or "payments" not in data.tables:
        return None
    inv = data.invoices.set_index("invoice_id")["opportunity_id"]
    pay = data.payments
    out = pay.assign(opportunity_id=pay["invoice_id"].map(inv))[
        ["opportunity_id", "date", "amount"]
    ]
    return out.dropna(subset=["opportunity_id"])


def statements_for_data(data, plan, *, reversals=None):
    """Every statement of ``plan`` on ``data`` (a :class:`simlib.plans.StatementSet`).

    ``reversals``: a reversals table to use instead of the data's own.

    Raises
    ------
    ValueError
        With what is missing, when the plan needs quotas (a targets table) or collections
        (invoices and payments) the data does not have, or the inputs are inconsistent.
    """
    from simlib.periods import LABEL_PATTERNS
    from simlib.plans import compute_statements

    won = data.opportunities[data.opportunities["stage"] == "won"]
    t = data.tables.get("targets")
    if t is None and plan.uses_quota:
        raise ValueError(
            f"plan {plan.name} pays by attainment, and the data has no targets table to "
            "take quotas from: map one (tables.targets in the mapping) or choose a plan on "
            "amounts"
        )
    kind = LABEL_PATTERNS[plan.period]
    # Rep quotas for the plan's kind of period (a team plan sums its members').
    quotas = t[t["period"].str.match(kind) & (t["level"] == "rep")] if t is not None else None
    collections = collections_of(data)
    if plan.measure == "collected_revenue" and collections is None:
        raise ValueError(
            f"plan {plan.name} pays on collected revenue, and the data has no invoices and "
            "payments to collect from: map them, or choose a plan on revenue"
        )
    return compute_statements(
        plan,
        won,
        quotas,
        reversals=data.tables.get("reversals") if reversals is None else reversals,
        collections=collections,
        teams=data.reps,
        products=data.products,
    )

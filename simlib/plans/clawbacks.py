"""The clawback lines of a plan's statements on a company's data (SPEC R13): deals won
and paid earlier, reversed in a period, with the commission taken back (nothing when
the reversal came after the plan's window).

One reading for ``simlib clawbacks`` and the reports (the monthly team review, the rep
pack): the statements are :func:`simlib.plans.from_data.statements_for_data`'s.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["clawback_lines", "reversals_of"]


def reversals_of(data, extra: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The data's ``reversals`` table with ``extra`` rows (``opportunity_id,
    reversal_date``; a later row for the same deal wins); None when there are none."""
    parts = []
    rev = data.tables.get("reversals")
    if rev is not None and len(rev):
        parts.append(rev[["opportunity_id", "reversal_date"]])
    if extra is not None and len(extra):
        parts.append(extra[["opportunity_id", "reversal_date"]])
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True).drop_duplicates("opportunity_id", keep="last")


def clawback_lines(data, plan, period: str, *, reversals: pd.DataFrame | None = None) -> list:
    """The clawback lines of ``plan``'s statements for ``period`` (a label of the plan's
    kind of period), one dict per line: ``rep_id, period, opportunity_id, deal,
    customer, deal_amount, closed, reversed, days`` (from closing to reversal),
    ``within_days`` (the plan's window), ``amount`` (the line, a decimal string, negative
    when taken back) and ``clawed_back``. Empty when the plan has no clawback or nothing
    was reversed. ``reversals``: as :func:`reversals_of` gives (default: the data's own).

    Raises
    ------
    ValueError
        When ``period`` is not of the plan's kind, or the data cannot give the plan's
        statements (see :func:`~simlib.plans.from_data.statements_for_data`).
    """
    from simlib.periods import check_label
    from simlib.plans.from_data import statements_for_data

    check_label(period, plan.period, "period")
    if reversals is None:
        reversals = reversals_of(data)
    if plan.clawback is None or reversals is None or not len(reversals):
        return []
    sts = statements_for_data(data, plan, reversals=reversals)
    opp = data.opportunities.set_index("opportunity_id")
    cust = data.customers.set_index("customer_id")["name"] if "customers" in data.tables else {}
    rdate = dict(zip(reversals["opportunity_id"], pd.to_datetime(reversals["reversal_date"])))
    rows = []
    for st in sts:
        if st.period != period:
            continue
        for ln in st.lines:
            if ln.kind != "clawback":
                continue
            oid = ln.opportunity_id
            o = opp.loc[oid] if oid in opp.index else None
            closed = o["close_date"] if o is not None else None
            rev = rdate.get(oid)
            rows.append(
                {
                    "rep_id": st.rep_id,
                    "period": st.period,
                    "opportunity_id": oid,
                    "deal": (str(o["name"]) if o is not None and "name" in o else oid),
                    "customer": (str(cust.get(o["customer_id"], "")) if o is not None else ""),
                    "deal_amount": float(o["amount"]) if o is not None else None,
                    "closed": closed,
                    "reversed": rev,
                    "days": int((rev - pd.Timestamp(closed)).days)
                    if rev is not None and closed is not None
                    else None,
                    "within_days": plan.clawback.within_days,
                    "amount": str(ln.amount),
                    "clawed_back": ln.cents != 0,
                }
            )
    return rows

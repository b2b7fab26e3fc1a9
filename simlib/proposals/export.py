"""A saved proposal as opportunities for the CRM, and for the forecast (SPEC R19).

:func:`opportunity_rows` turns the chosen option into rows of the canonical
``opportunities`` table (one product per row, as the CRM holds them): stage
``proposal``, the line's net amount before VAT as the expected amount, created on the
proposal's date, expected to close on the customer's desired start date (else when the
quote's validity ends). An open opportunity the proposal updates keeps its id on the
first line; the other lines are new opportunities ``<id>-2``, ``<id>-3``...; a
proposal for no opportunity gets ids ``PRP-<customer>-<yyyymmdd>-1``...

:func:`save_proposal` writes them as ``<dir>/<name>.csv`` — an export file to load
into the CRM, never a write-back. The forecast reads it in either of two ways:

- load the file into the CRM and export again (the rows are in the CRM's shape);
- or, without the CRM, :func:`with_proposals` returns the dataset with the rows added
  (an opportunity of the same id replaced) and a stage-history row for each, so
  :func:`simlib.simulate.simulate` / ``calibrate`` see the proposal as an open deal::

      data2 = with_proposals(data, "out/proposal-C00001.csv")
      simulate(data2, period="2027-Q1", ...)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simlib.data.io import Dataset
from simlib.proposals.mix import Proposal

__all__ = ["EXPORT_COLUMNS", "opportunity_rows", "save_proposal", "with_proposals"]

#: The columns of the export, in the canonical opportunities order.
EXPORT_COLUMNS = (
    "opportunity_id",
    "name",
    "customer_id",
    "owner_id",
    "product_id",
    "amount",
    "stage",
    "created_date",
    "expected_close_date",
    "close_date",
    "lead_source",
    "deal_type",
)


def opportunity_rows(proposal: Proposal, kind: str | None = None) -> pd.DataFrame:
    """The option ``kind`` (default: the recommended one) as canonical opportunity rows."""
    opt = proposal.option(kind)
    needs = proposal.needs
    day = proposal.issue_date
    close = needs.start_date or proposal.valid_until
    if needs.opportunity_id:
        base = needs.opportunity_id
        ids = [base] + [f"{base}-{i}" for i in range(2, len(opt.quote.lines) + 1)]
    else:
        who = needs.customer_id or "NEW"
        ids = [f"PRP-{who}-{day:%Y%m%d}-{i}" for i in range(1, len(opt.quote.lines) + 1)]
    account = needs.customer_name or ""
    rows = []
    for oid, ln in zip(ids, opt.quote.lines):
        rows.append(
            dict(
                opportunity_id=oid,
                name=f"{account} - {ln.name}" if account else ln.name,
                customer_id=needs.customer_id or "",
                owner_id=needs.owner_id or "",
                product_id=ln.product_id,
                amount=ln.net_cents / 100,
                stage="proposal",
                created_date=pd.Timestamp(day),
                expected_close_date=pd.Timestamp(close),
                close_date=pd.NaT,
                lead_source="Proposal",
                deal_type="existing_customer" if needs.customer_id else "new_customer",
            )
        )
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))


def save_proposal(proposal: Proposal, folder: str | Path, kind: str | None = None) -> Path:
    """Write the option's rows to ``folder/proposal-<customer or NEW>-<date>.csv``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    who = proposal.needs.customer_id or "NEW"
    path = folder / f"proposal-{who}-{proposal.issue_date:%Y%m%d}.csv"
    rows = opportunity_rows(proposal, kind)
    out = rows.copy()
    for c in ("created_date", "expected_close_date", "close_date"):
        out[c] = [("" if pd.isna(v) else f"{v:%Y-%m-%d}") for v in out[c]]
    out["amount"] = [f"{a:.2f}" for a in out["amount"]]
    out.to_csv(path, index=False, encoding="utf-8")
    return path


def with_proposals(data: Dataset, rows: str | Path | pd.DataFrame) -> Dataset:
    """``data`` with the proposal rows (a saved CSV or :func:`opportunity_rows`) as open
    opportunities: rows of the same id replaced, one stage-history row each. The caller's
    dataset is not changed. Every row needs an owner (the forecast is per rep)."""
    if not isinstance(rows, pd.DataFrame):
        rows = pd.read_csv(rows, dtype=str, keep_default_na=False)
    rows = rows.copy()
    if (rows["owner_id"].astype(str).str.strip() == "").any():
        raise ValueError(
            "a proposal row has no owner: give the needs an owner (or a customer) before "
            "the forecast can count it"
        )
    rows["amount"] = rows["amount"].astype(float)
    for c in ("created_date", "expected_close_date", "close_date"):
        rows[c] = pd.to_datetime(rows[c].replace("", None))
    t = dict(data.tables)
    opp = t["opportunities"]
    opp = opp[~opp["opportunity_id"].isin(rows["opportunity_id"])]
    add = rows.reindex(columns=opp.columns)
    t["opportunities"] = pd.concat(
        [opp, add.astype(opp.dtypes.to_dict(), errors="ignore")], ignore_index=True
    )
    sh = t["stage_history"]
    new_sh = pd.DataFrame(
        {
            "opportunity_id": rows["opportunity_id"].to_numpy(),
            "changed_date": rows["created_date"].to_numpy(),
            "stage": rows["stage"].to_numpy(),
            "amount": rows["amount"].to_numpy(),
            "expected_close_date": rows["expected_close_date"].to_numpy(),
        }
    )
    new_sh = new_sh.reindex(columns=sh.columns)
    sh = pd.concat([sh, new_sh], ignore_index=True)
    key = ["opportunity_id", "changed_date", "stage"]
    t["stage_history"] = sh.drop_duplicates(key, keep="last").reset_index(drop=True)
    as_of = data.as_of
    last = rows["created_date"].max()
    if pd.notna(last) and last.date() > as_of:
        as_of = last.date()
    return Dataset(
        t, as_of, source=f"{data.source} + proposals", report=data.report, derived=data.derived
    )

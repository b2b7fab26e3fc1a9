"""Follow-up reminders (SPEC R9): high-value leads due or overdue, renewals coming up.

Thresholds come from ``reminders`` in ``params/alerts.yaml``
(:class:`simlib.config.Reminders`):

* ``high_value_lead`` — an open lead worth at least this (its estimated value) is
  high-value;
* ``followup_overdue_days`` — a follow-up more than this many days past its date is
  *overdue* (0: the day after); on its date or within the grace days it is *due*;
* ``followup_due_within_days`` — also list follow-ups falling due within this many
  days (*upcoming*; 0: none);
* ``renewal_window_days`` — a customer whose renewal date falls within this many days
  is listed (the renewal window opens).

Appeals waiting for a decision (SPEC R17) come from the governance ledger
(:func:`appeal_reminders`): overdue past ``decision_working_days`` of
``params/appeals.yaml``, due when the deadline is today or the next working day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simlib.config import load_file
from simlib.tracking import text
from simlib.tracking.facts import DataLike, prepare
from simlib.tracking.params import AlertParams, Reminders

__all__ = ["appeal_reminders", "followup_reminders", "renewal_reminders", "reminders"]

_COLUMNS = [
    "kind",
    "status",
    "rep_id",
    "rep_name",
    "team_id",
    "subject_id",
    "subject",
    "due_date",
    "days",
    "value",
    "message",
    "message_zh",
]


def _settings(params) -> Reminders:
    if params is None:
        return load_file("alerts.yaml", AlertParams).reminders
    if isinstance(params, AlertParams):
        return params.reminders
    if isinstance(params, Reminders):
        return params
    return Reminders.model_validate(params)


def followup_reminders(data: DataLike, as_of=None, *, params=None) -> pd.DataFrame:
    """Open high-value leads whose next follow-up is overdue, due or coming up.

    Parameters
    ----------
    data : Dataset or Facts
    as_of : date-like, optional
        The day the reminders are for (default: the data's ``as_of``).
    params : Reminders or AlertParams, optional
        Default: ``reminders`` of ``params/alerts.yaml``.

    Returns
    -------
    DataFrame
        ``kind`` (``followup``), ``status`` (``overdue``, ``due``, ``upcoming``),
        ``rep_id, rep_name, team_id, subject_id`` (the lead), ``subject`` (source and
        customer type), ``due_date``, ``days`` (days overdue; negative: days until
        due), ``value`` (estimated), ``message``, ``message_zh``; most overdue first,
        then by value.
    """
    f = prepare(data)
    rp = _settings(params)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    leads = f.leads[f.leads["date"] <= t]  # follow-up dates are as the data know them now
    open_ = leads[
        (leads["status"] == "open")
        & leads["next_followup_date"].notna()
        & (leads["estimated_value"] >= rp.high_value_lead)
    ]
    horizon = t + pd.Timedelta(days=rp.followup_due_within_days)
    open_ = open_[open_["next_followup_date"] <= horizon]
    days = (t - open_["next_followup_date"]).dt.days.to_numpy()
    status = np.where(
        days > rp.followup_overdue_days, "overdue", np.where(days >= 0, "due", "upcoming")
    )
    names = dict(zip(f.reps["rep_id"], f.reps["name"]))
    team = dict(zip(f.reps["rep_id"], f.reps["team_id"]))
    currency = text.company_currency()
    out = pd.DataFrame(
        {
            "kind": "followup",
            "status": status,
            "rep_id": open_["rep_id"].to_numpy(),
            "rep_name": open_["rep_id"].map(names).to_numpy(),
            "team_id": open_["rep_id"].map(team).to_numpy(),
            "subject_id": open_["lead_id"].to_numpy(),
            "subject": (
                open_["source"].astype(str)
                + " lead, "
                + open_["customer_type"].fillna("unknown").astype(str).str.replace("_", " ")
            ).to_numpy(),
            "due_date": open_["next_followup_date"].to_numpy(),
            "days": days,
            "value": open_["estimated_value"].to_numpy(dtype=float),
        }
    )
    out["message"] = [
        (
            f"Lead {r.subject_id} ({text.money(r.value, 'en', currency)}): follow-up "
            + (
                f"overdue by {r.days} days"
                if r.status == "overdue"
                else "due today"
                if r.days == 0
                else f"due {pd.Timestamp(r.due_date):%Y-%m-%d}"
            )
        )
        for r in out.itertuples()
    ]
    out["message_zh"] = [
        (
            f"线索{r.subject_id}（{text.money(r.value, 'zh-CN', currency)}）："
            + (
                f"跟进已逾期{r.days}天"
                if r.status == "overdue"
                else "今天需跟进"
                if r.days == 0
                else f"请于{pd.Timestamp(r.due_date):%Y-%m-%d}前跟进"
            )
        )
        for r in out.itertuples()
    ]
    return out.sort_values(["days", "value"], ascending=[False, False])[_COLUMNS].reset_index(
        drop=True
    )


def renewal_reminders(data: DataLike, as_of=None, *, params=None) -> pd.DataFrame:
    """Customers whose renewal date falls within ``renewal_window_days``.

    Returns
    -------
    DataFrame
        The columns of :func:`followup_reminders`; ``kind`` is ``renewal``, ``status``
        ``window_open``, ``days`` the days until the renewal date (negative), ``value``
        the annual contract value; soonest first.
    """
    f = prepare(data)
    rp = _settings(params)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    c = f.customers
    due = c[
        c["renewal_date"].notna()
        & (c["renewal_date"] >= t)
        & (c["renewal_date"] <= t + pd.Timedelta(days=rp.renewal_window_days))
    ]
    names = dict(zip(f.reps["rep_id"], f.reps["name"]))
    team = dict(zip(f.reps["rep_id"], f.reps["team_id"]))
    currency = text.company_currency()
    days = (t - due["renewal_date"]).dt.days.to_numpy()
    out = pd.DataFrame(
        {
            "kind": "renewal",
            "status": "window_open",
            "rep_id": due["owner_id"].to_numpy(),
            "rep_name": due["owner_id"].map(names).to_numpy(),
            "team_id": due["owner_id"].map(team).to_numpy(),
            "subject_id": due["customer_id"].to_numpy(),
            "subject": due["name"].to_numpy(),
            "due_date": due["renewal_date"].to_numpy(),
            "days": days,
            "value": due["annual_contract_value"].to_numpy(dtype=float),
        }
    )
    out["message"] = [
        f"{r.subject}: renewal on {pd.Timestamp(r.due_date):%Y-%m-%d} "
        f"(in {-r.days} days, {text.money(r.value, 'en', currency)} a year)"
        for r in out.itertuples()
    ]
    out["message_zh"] = [
        f"{r.subject}：{pd.Timestamp(r.due_date):%Y-%m-%d}续约（还有{-r.days}天，"
        f"年合同额{text.money(r.value, 'zh-CN', currency)}）"
        for r in out.itertuples()
    ]
    return out.sort_values(["due_date", "value"], ascending=[True, False])[_COLUMNS].reset_index(
        drop=True
    )


def appeal_reminders(ledger, today=None, *, viewer=None) -> pd.DataFrame:
    """Open appeals whose decision is overdue or due by the next working day.

    Parameters
    ----------
    ledger : simlib.ledger.Ledger
    today : date-like, optional
        Default: today in the ledger's time zone (appeal deadlines run on the clock, not
        on the data's as-of date).
    viewer : person, optional
        Only the appeals this person may see (a manager: their team's).

    Returns
    -------
    DataFrame
        The columns of :func:`followup_reminders`; ``kind`` is ``appeal``, ``status``
        ``overdue`` or ``due``, ``rep_id`` the rep who appealed, ``subject_id`` the
        appeal's number, ``due_date`` the decision deadline, ``days`` working days past
        it (0: due today; -1: due the next working day), ``value`` the line's amount;
        most overdue first.
    """
    day = pd.Timestamp(today).date() if today is not None else ledger.local_date(ledger._now())
    cal = ledger.calendar
    rows = []
    for a in ledger.appeals(viewer=viewer, open_only=True):
        due = a.decision_due
        if due < day:
            status, days = "overdue", cal.working_days_between(due, day) - 1
        elif cal.working_days_between(day, due) <= 2:
            status, days = "due", -(cal.working_days_between(day, due) - 1)
        else:
            continue
        line = ledger.statement(a.statement_id).line(a.line_no)
        rep = ledger.roster.get(a.rep_id)
        rows.append(
            {
                "kind": "appeal",
                "status": status,
                "rep_id": a.rep_id,
                "rep_name": ledger.roster.name_of(a.rep_id),
                "team_id": rep.team_id if rep else None,
                "subject_id": f"#{a.id}",
                "subject": line.text if line else "",
                "due_date": pd.Timestamp(due),
                "days": int(days),
                "value": (line.cents / 100) if line else np.nan,
                "period": a.period,
                "line_no": a.line_no,
            }
        )
    out = pd.DataFrame(rows, columns=[*_COLUMNS[:-2], "period", "line_no"])
    out["message"] = [
        f"Appeal #{r.subject_id[1:]} by {r.rep_name} on line {r.line_no} of the {r.period} "
        "statement: "
        + (
            f"{r.days} working day(s) past its decision deadline "
            f"({pd.Timestamp(r.due_date):%Y-%m-%d})"
            if r.status == "overdue"
            else f"decision due by {pd.Timestamp(r.due_date):%Y-%m-%d}"
        )
        for r in out.itertuples()
    ]
    out["message_zh"] = [
        f"{ledger.roster.name_of(r.rep_id, 'zh-CN')}对{r.period}对账单第{r.line_no}行的申诉"
        f"（#{r.subject_id[1:]}）："
        + (
            f"已超过裁决期限{r.days}个工作日（{pd.Timestamp(r.due_date):%Y-%m-%d}）"
            if r.status == "overdue"
            else f"请于{pd.Timestamp(r.due_date):%Y-%m-%d}前裁决"
        )
        for r in out.itertuples()
    ]
    return out.sort_values(["days", "subject_id"], ascending=[False, True])[_COLUMNS].reset_index(
        drop=True
    )


def reminders(
    data: DataLike, as_of=None, *, params=None, rep_id: str | None = None, ledger=None
) -> pd.DataFrame:
    """Every kind of reminder in one frame, optionally for one rep.

    See :func:`followup_reminders` and :func:`renewal_reminders` for the columns; with a
    ``ledger``, appeals waiting for a decision too (:func:`appeal_reminders`).
    """
    f = prepare(data)
    parts = [
        followup_reminders(f, as_of, params=params),
        renewal_reminders(f, as_of, params=params),
    ]
    if ledger is not None:
        parts.append(appeal_reminders(ledger))
    out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    if rep_id is not None:
        out = out[out["rep_id"] == rep_id].reset_index(drop=True)
    return out

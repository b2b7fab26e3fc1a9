"""``params/appeals.yaml`` and opening the ledger it points at.

One way in for the command line, the apps and the reports: :func:`open_ledger` reads
the appeal window, the decision deadline, the admins and the ledger's URL from
``params/appeals.yaml`` (the URL overridden by an explicit one, then by
``$SIMLIB_LEDGER``), builds the roster from the org data and loads the working-day
calendar.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from pydantic import Field

from simlib.config import StrictModel, load_file

__all__ = [
    "AppealParams",
    "ledger_exists",
    "load_appeal_params",
    "open_ledger",
    "resolve_ledger_url",
]


class AppealParams(StrictModel):
    """``params/appeals.yaml``: the appeal window, the decision deadline, where the ledger
    lives and who administers it (see :mod:`simlib.ledger`)."""

    window_working_days: int = Field(3, ge=1, le=30)
    decision_working_days: int = Field(5, ge=1, le=60)
    ledger_url: str = "sqlite:///appeals.sqlite"
    admins: tuple[str, ...] = ()


def load_appeal_params(params_dir: str | Path | None = None) -> AppealParams:
    """``params/appeals.yaml``, validated."""
    return load_file("appeals.yaml", AppealParams, params_dir)


def resolve_ledger_url(url: str | None, params: AppealParams) -> str:
    """``url`` when given, else ``$SIMLIB_LEDGER``, else the configured URL."""
    return url or os.environ.get("SIMLIB_LEDGER") or params.ledger_url


def open_ledger(
    reps: pd.DataFrame,
    org: pd.DataFrame | None = None,
    *,
    url: str | None = None,
    params_dir: str | Path | None = None,
    **kwargs,
):
    """The ledger for a company's people (``reps`` and ``org`` tables of its data).

    ``kwargs`` go to :class:`simlib.ledger.Ledger` (e.g. a test's ``clock``).
    """
    from simlib.calendar import load_calendar
    from simlib.ledger.ledger import Ledger
    from simlib.ledger.roles import Roster

    params = load_appeal_params(params_dir)
    roster = Roster.from_tables(reps, org, admins=params.admins)
    return Ledger(
        resolve_ledger_url(url, params),
        roster=roster,
        calendar=load_calendar(params_dir=params_dir),
        window_working_days=params.window_working_days,
        decision_working_days=params.decision_working_days,
        **kwargs,
    )


def ledger_exists(url: str) -> bool:
    """Whether the ledger at ``url`` has been created: a SQLite file that is not there yet
    has no records (readers such as reports say so instead of creating an empty file);
    a server database is taken to exist."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return True
    db = u.database or ""
    return bool(db) and db != ":memory:" and Path(db).is_file()

"""The governance ledger (SPEC R17, issue 15): issued statements, appeals, roles, a trail.

* :class:`Ledger` — issue statement versions, file/review/decide/withdraw appeals,
  read the trail (:meth:`Ledger.log`, :meth:`Ledger.history`) and check it
  (:meth:`Ledger.verify`).
* Plans and scenarios under change control: :meth:`Ledger.record_version`,
  :meth:`Ledger.submit`, :meth:`Ledger.approve`, :meth:`Ledger.reject`,
  :meth:`Ledger.approved`, :meth:`Ledger.check_file`, :meth:`Ledger.acknowledge`.
* :func:`open_ledger` — the ledger ``params/appeals.yaml`` points at, for a company's
  people (the command line, apps and reports all open it this way).
* :class:`Roster` — people and roles from the org data; every call checks them.
* :class:`LedgerError` and its kinds — refusals with an English and a Chinese message.

Storage is SQLAlchemy Core on SQLite (one WAL file, created on first use) or
PostgreSQL; tables are only ever inserted into (see :mod:`simlib.ledger.schema`).
"""

from simlib.ledger.change import DOC_KINDS, Acknowledgement, DocVersion, FileCheck
from simlib.ledger.errors import (
    AlreadyDecided,
    DeadlinePassed,
    Forbidden,
    InvalidRequest,
    LedgerError,
    NotFound,
)
from simlib.ledger.ledger import Ledger, ledger_engine
from simlib.ledger.params import AppealParams, open_ledger
from simlib.ledger.records import (
    APPEAL_STATES,
    OUTCOMES,
    Appeal,
    Event,
    IssuedLine,
    IssuedStatement,
    IssueResult,
    RepHistory,
    Verification,
    appeal_state_label,
)
from simlib.ledger.roles import Person, Roster

__all__ = [
    "APPEAL_STATES",
    "DOC_KINDS",
    "Acknowledgement",
    "DocVersion",
    "FileCheck",
    "OUTCOMES",
    "AlreadyDecided",
    "AppealParams",
    "Appeal",
    "DeadlinePassed",
    "Event",
    "Forbidden",
    "InvalidRequest",
    "IssueResult",
    "IssuedLine",
    "IssuedStatement",
    "Ledger",
    "LedgerError",
    "NotFound",
    "Person",
    "RepHistory",
    "Roster",
    "Verification",
    "appeal_state_label",
    "ledger_engine",
    "open_ledger",
]

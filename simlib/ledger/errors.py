"""What the ledger refuses, said in both languages.

Every refusal is a :class:`LedgerError` carrying an English and a Chinese sentence:
``str(error)`` is the English one, ``error.message("zh-CN")`` the Chinese one. The
subclasses say why, so a caller can tell "not yours" from "too late" without parsing
text.
"""

from __future__ import annotations

__all__ = [
    "AlreadyDecided",
    "DeadlinePassed",
    "Forbidden",
    "InvalidRequest",
    "LedgerError",
    "NotFound",
]


class LedgerError(Exception):
    """A request the ledger refuses; ``str()`` is English, :meth:`message` either language."""

    def __init__(self, en: str, zh: str | None = None):
        super().__init__(en)
        self.en = en
        self.zh = zh or en

    def message(self, lang: str = "en") -> str:
        """The sentence in ``lang`` (``"zh-CN"`` or English)."""
        return self.zh if lang == "zh-CN" else self.en


class Forbidden(LedgerError, PermissionError):
    """The actor's role does not allow this (not your statement, not your team, ...)."""


class NotFound(LedgerError, LookupError):
    """No such person, statement, line or appeal."""


class DeadlinePassed(LedgerError):
    """The appeal window closed; the message names the deadline."""


class AlreadyDecided(LedgerError):
    """The appeal was already decided or withdrawn; the message says by whom and when."""


class InvalidRequest(LedgerError, ValueError):
    """A bad value: an empty reason, an unknown outcome, an amount that does not fit."""

"""Periods: the one place where ``2026``, ``2026-Q3``, ``2026-07``, ``2026-W41`` and
``2026-07-01..2026-09-30`` are read and written.

Two shapes of the same idea live here:

- a :class:`Window` is a span of days (inclusive), what a forecast or a dashboard
  covers: :func:`parse_period` and :func:`as_window` make one from a label;
- a *period label of a kind* (``year``, ``quarter``, ``month``) is what a plan pays
  per: :func:`period_of` gives the label of a date, :func:`parse_label` reads one
  back to ``(year, index)``, :func:`shift` steps through them.

>>> parse_period("2026-Q3")
Window(label='2026-Q3', start=Timestamp('2026-07-01 00:00:00'), end=Timestamp('2026-09-30 00:00:00'))
>>> parse_period("2026-Q3").days
92
>>> period_of("2026-11-20", "quarter"), period_of("2026-11-20", "month")
('2026-Q4', '2026-11')
>>> shift("2026-Q4", 1), shift("2026-01", -1), shift("2026", 2)
('2027-Q1', '2025-12', '2028')
>>> kind_of("2026-Q3"), kind_of("2026-07"), kind_of("2026"), kind_of("2026-W41")
('quarter', 'month', 'year', 'week')
"""  # noqa: E501 (a doctest output line)

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "KINDS",
    "LABEL_PATTERNS",
    "Window",
    "as_window",
    "check_label",
    "kind_of",
    "label_of",
    "parse_label",
    "parse_period",
    "period_of",
    "previous_periods",
    "shift",
    "weeks_in_year",
]

#: The kinds of period a plan pays per, or a scorecard evaluates.
KINDS = ("year", "quarter", "month")

#: A label of each kind, as a regular expression.
LABEL_PATTERNS = {
    "quarter": r"^\d{4}-Q[1-4]$",
    "month": r"^\d{4}-\d{2}$",
    "year": r"^\d{4}$",
    "week": r"^\d{4}-W\d{2}$",
}

_EXAMPLES = {"year": "2025", "quarter": "2025-Q3", "month": "2025-07", "week": "2025-W07"}


def weeks_in_year(iso_year: int) -> int:
    """52 or 53: the ISO weeks of ``iso_year`` (28 December is always in its last week).

    >>> weeks_in_year(2026), weeks_in_year(2020)
    (53, 53)
    """
    return dt.date(iso_year, 12, 28).isocalendar()[1]


@dataclass(frozen=True)
class Window:
    """A span of days: bookings closed in ``[start, end]`` (dates inclusive)."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> int:
        return int((self.end - self.start).days) + 1


def parse_period(period: str) -> Window:
    """``2026``, ``2026-Q3``, ``2026-07`` or ``2026-07-01..2026-09-30`` → :class:`Window`."""
    p = str(period).strip()
    try:
        if ".." in p:
            a, b = p.split("..", 1)
            start, end = pd.Timestamp(a), pd.Timestamp(b)
        elif "-Q" in p.upper():
            y, q = p.upper().split("-Q")
            q = int(q)
            if not 1 <= q <= 4:
                raise ValueError
            start = pd.Timestamp(int(y), 3 * q - 2, 1)
            end = start + pd.offsets.QuarterEnd(0)
        elif len(p) == 4 and p.isdigit():
            start, end = pd.Timestamp(int(p), 1, 1), pd.Timestamp(int(p), 12, 31)
        elif len(p) == 7 and p[4] == "-":
            start = pd.Timestamp(int(p[:4]), int(p[5:]), 1)
            end = start + pd.offsets.MonthEnd(0)
        else:
            raise ValueError
    except (ValueError, TypeError):
        raise ValueError(
            "period must look like 2026, 2026-Q3, 2026-07 or 2026-07-01..2026-09-30; "
            f"got {period!r}"
        ) from None
    if end < start:
        raise ValueError(f"period {period!r} ends before it starts")
    return Window(p, start.normalize(), end.normalize())


def as_window(period) -> Window:
    """A period → :class:`Window`.

    Accepts a Window, ``2026``, ``2026-Q3``, ``2026-07``, an ISO week ``2026-W41``
    (Monday to Sunday), ``2026-07-01..2026-09-30`` or a ``(start, end)`` pair.

    >>> as_window("2026-W41").start.date(), as_window("2026-W41").end.date()
    (datetime.date(2026, 10, 5), datetime.date(2026, 10, 11))
    """
    if isinstance(period, Window):
        return period
    if isinstance(period, tuple) and len(period) == 2:
        s, e = pd.Timestamp(period[0]).normalize(), pd.Timestamp(period[1]).normalize()
        if e < s:
            raise ValueError(f"period {period!r} ends before it starts")
        return Window(f"{s.date()}..{e.date()}", s, e)
    p = str(period).strip()
    if len(p) in (7, 8) and p[4:6].upper() == "-W":
        try:
            monday = pd.Timestamp(dt.date.fromisocalendar(int(p[:4]), int(p[6:]), 1))
        except ValueError:
            raise ValueError(
                f"not an ISO week: {period!r}; expected a week like 2026-W41"
            ) from None
        return Window(p.upper(), monday, monday + pd.Timedelta(days=6))
    return parse_period(p)


def kind_of(period: str) -> str:
    """``year``, ``quarter``, ``month``, ``week`` or ``range`` for a period label."""
    p = str(period).strip().upper()
    if "-Q" in p:
        return "quarter"
    if p[4:6] == "-W":
        return "week"
    if len(p) == 4:
        return "year"
    if len(p) == 7:
        return "month"
    return "range"


def period_of(date, kind: str) -> str:
    """The label of the ``kind`` period (year, quarter, month) containing ``date``."""
    d = date if type(date) is dt.date else pd.Timestamp(date).date()
    return _period_of_date(d, kind)


@functools.lru_cache(maxsize=4096)
def _period_of_date(d: dt.date, kind: str) -> str:
    if kind == "year":
        return f"{d.year}"
    if kind == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{d.year}-{d.month:02d}"
    if kind == "week":  # ISO week (Monday to Sunday), in its ISO year
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    raise ValueError(f"period must be 'week', 'month', 'quarter' or 'year'; got {kind!r}")


def check_label(label: str, kind: str, what: str = "period") -> None:
    """Raise ``ValueError`` unless ``label`` is a ``kind`` label (``2026-Q3`` for a quarter)."""
    if not re.match(LABEL_PATTERNS[kind], str(label)):
        raise ValueError(f"{what} must look like {_EXAMPLES[kind]!r}; got {label!r}")


def parse_label(label: str, kind: str) -> tuple[int, int]:
    """``2025-Q3`` → ``(2025, 3)``; ``2025-07`` → ``(2025, 7)``; ``2025`` → ``(2025, 1)``."""
    s = str(label).strip()
    try:
        if kind == "year" and len(s) == 4:
            return int(s), 1
        if kind == "quarter" and len(s) == 7 and s[4:6] == "-Q" and s[6] in "1234":
            return int(s[:4]), int(s[6])
        if kind == "month" and len(s) == 7 and s[4] == "-" and 1 <= int(s[5:]) <= 12:
            return int(s[:4]), int(s[5:])
        if (
            kind == "week"
            and len(s) == 8
            and s[4:6].upper() == "-W"
            and 1 <= int(s[6:]) <= weeks_in_year(int(s[:4]))
        ):
            return int(s[:4]), int(s[6:])
    except ValueError:
        pass
    raise ValueError(f"period {label!r} is not a {kind} label like {_EXAMPLES[kind]!r}")


def label_of(key: tuple[int, int], kind: str) -> str:
    """The inverse of :func:`parse_label`."""
    y, i = key
    return {
        "year": f"{y}",
        "quarter": f"{y}-Q{i}",
        "month": f"{y}-{i:02d}",
        "week": f"{y}-W{i:02d}",
    }[kind]


def shift(period: str, k: int) -> str:
    """The period ``k`` steps after ``period`` (before, for negative ``k``)."""
    p = str(period).strip()
    kind = kind_of(p)
    if kind == "quarter":
        q = pd.Period(p.upper().replace("-Q", "Q"), freq="Q") + k
        return f"{q.year}-Q{q.quarter}"
    if kind == "month":
        m = pd.Period(p, freq="M") + k
        return f"{m.year}-{m.month:02d}"
    if kind == "year":
        return str(int(p) + k)
    raise ValueError(f"period must be a month, a quarter or a year; got {period!r}")


def previous_periods(period: str, n: int) -> list[str]:
    """``n`` consecutive periods ending with ``period``, oldest first."""
    return [shift(period, -k) for k in range(n - 1, -1, -1)]

"""The working-day calendar: which days count when progress is measured against pace.

A target is earned on working days. In mainland China that means weekends off,
public holidays off, and some weekends worked instead (调休). A month that starts
with the National Day week has done nothing wrong on the 3rd; a calendar that
counted calendar days would call it behind. :class:`WorkingCalendar` is built from a
``params/calendar_*.yaml`` file (:class:`simlib.config.CalendarParams`) and answers:

* is a day a working day (:meth:`WorkingCalendar.is_working_day`),
* how many working days lie between two dates, both included
  (:meth:`WorkingCalendar.working_days_between`),
* what share of a period's working days have passed by a date
  (:meth:`WorkingCalendar.pace_fraction`) — the *pace* a target is judged against,
* the working weeks of a range (:meth:`WorkingCalendar.working_weeks`), used by the
  weekly review and the early-warning rules.

Dates outside the years the parameter file covers have only the weekend rule (no
holidays are known); :meth:`WorkingCalendar.covers` says whether a date is covered.

Examples
--------
>>> cal = load_calendar()
>>> cal.is_working_day("2026-10-01"), cal.is_working_day("2026-10-10")
(False, True)
>>> cal.working_days_between("2026-10-01", "2026-10-31")
18
>>> round(cal.pace_fraction("2026-10-01", "2026-10-31", as_of="2026-10-09"), 4)
0.1111
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import model_validator

from simlib.company import company_params
from simlib.config import At, ParamError, StrictModel, load_file

__all__ = ["CalendarParams", "Holiday", "WorkingCalendar", "load_calendar", "DateLike"]


class Holiday(StrictModel):
    name: str
    name_zh: str | None = None
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self):
        if self.end < self.start:
            raise At(("end",), f"end is before start {self.start}", self.end)
        return self


class CalendarParams(StrictModel):
    """A working-day calendar: weekends off, public holidays off, adjusted weekends on."""

    name: str
    weekend: tuple[int, ...] = (5, 6)
    holidays: tuple[Holiday, ...] = ()
    working_weekends: tuple[dt.date, ...] = ()

    @model_validator(mode="after")
    def _consistent(self):
        for k, d in enumerate(self.working_weekends):
            if d.weekday() not in self.weekend:
                raise At(
                    ("working_weekends", k),
                    f"{d:%A} is not a weekend day; expected a date on a weekend day "
                    f"{list(self.weekend)} (Monday = 0)",
                    d,
                )
        for h in self.holidays:
            for k, d in enumerate(self.working_weekends):
                if h.start <= d <= h.end:
                    raise At(
                        ("working_weekends", k),
                        f"inside holiday {h.name!r} ({h.start} to {h.end}); a working "
                        "weekend cannot be a holiday",
                        d,
                    )
        return self


DateLike = str | dt.date | np.datetime64 | pd.Timestamp

_DAY = np.timedelta64(1, "D")


def _day(value) -> np.datetime64:
    """One date → ``datetime64[D]``; a clear error for anything else."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"not a date: {value!r}; expected a date like 2026-10-08") from None
    if ts is pd.NaT:
        raise ValueError("a date is required; got NaT")
    return np.datetime64(ts.date(), "D")


def _days(values) -> np.ndarray:
    """Dates (scalar or array-like) → ``datetime64[D]`` array."""
    if isinstance(values, (str, dt.date, np.datetime64, pd.Timestamp)):
        return np.asarray([_day(values)])
    arr = pd.to_datetime(pd.Series(values) if not isinstance(values, pd.Series) else values)
    return arr.to_numpy(dtype="datetime64[D]")


@dataclass(frozen=True)
class WorkingCalendar:
    """Weekends off, public holidays off, adjusted working weekends on.

    Build it with :meth:`from_params` or :func:`load_calendar`.

    Parameters
    ----------
    name : str
    weekend : tuple of int
        Weekday numbers of the weekend (Monday = 0).
    holidays : tuple of (name, start, end)
        Public holidays, both ends included.
    working_weekends : tuple of datetime.date
        Weekend days that are worked (调休).
    """

    name: str
    weekend: tuple[int, ...] = (5, 6)
    holidays: tuple[tuple[str, dt.date, dt.date], ...] = ()
    working_weekends: tuple[dt.date, ...] = ()
    _busday: np.busdaycalendar = field(init=False, repr=False, compare=False)
    _extra: np.ndarray = field(init=False, repr=False, compare=False)
    _years: tuple[int, int] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        bad = [d for d in self.weekend if not 0 <= int(d) <= 6]
        if bad:
            raise ValueError(f"weekend days must be 0 (Monday) to 6 (Sunday); got {bad}")
        weekmask = [0 if d in self.weekend else 1 for d in range(7)]
        if not any(weekmask):
            raise ValueError(
                "a calendar needs at least one working weekday; the weekend is every day"
            )
        off: list[np.datetime64] = []
        for _, start, end in self.holidays:
            off += list(np.arange(_day(start), _day(end) + _DAY, dtype="datetime64[D]"))
        object.__setattr__(self, "_busday", np.busdaycalendar(weekmask=weekmask, holidays=off))
        extra = np.unique(
            np.asarray([_day(d) for d in self.working_weekends], dtype="datetime64[D]")
        )
        object.__setattr__(self, "_extra", extra)
        years = [d.year for _, s, e in self.holidays for d in (s, e)]
        years += [d.year for d in self.working_weekends]
        object.__setattr__(self, "_years", (min(years), max(years)) if years else None)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_params(cls, params: CalendarParams) -> WorkingCalendar:
        """The calendar of a validated ``params/calendar_*.yaml``."""
        return cls(
            name=params.name,
            weekend=tuple(params.weekend),
            holidays=tuple((h.name, h.start, h.end) for h in params.holidays),
            working_weekends=tuple(params.working_weekends),
        )

    def __repr__(self) -> str:
        span = f"{self._years[0]}-{self._years[1]}" if self._years else "no holidays"
        return (
            f"WorkingCalendar({self.name!r}, weekend={list(self.weekend)}, "
            f"{len(self.holidays)} holidays, {len(self.working_weekends)} working weekends, "
            f"covers {span})"
        )

    # ------------------------------------------------------------------ questions

    def covers(self, date: DateLike) -> bool:
        """True when the parameter file lists the holidays of ``date``'s year."""
        if self._years is None:
            return False
        return self._years[0] <= pd.Timestamp(date).year <= self._years[1]

    def holiday(self, date: DateLike) -> str | None:
        """The name of the public holiday on ``date``, or None."""
        d = pd.Timestamp(date).date()
        for name, start, end in self.holidays:
            if start <= d <= end:
                return name
        return None

    def is_working_day(self, dates):
        """Whether each date is a working day.

        Parameters
        ----------
        dates : date-like or array-like of dates

        Returns
        -------
        bool for one date, numpy bool array otherwise.
        """
        days = _days(dates)
        out = np.is_busday(days, busdaycal=self._busday) | np.isin(days, self._extra)
        return bool(out[0]) if np.ndim(dates) == 0 or isinstance(dates, str) else out

    def working_days_between(self, start, end):
        """Working days from ``start`` to ``end``, both included (0 when end < start).

        Vectorised: ``start`` and ``end`` may be arrays of the same length (or one of
        them a scalar).
        """
        scalar = all(np.ndim(x) == 0 or isinstance(x, str) for x in (start, end))
        s, e = _days(start), _days(end)
        s, e = np.broadcast_arrays(s, e)
        e1 = e + _DAY
        ok = e1 > s
        count = np.zeros(s.shape, dtype=np.int64)
        if ok.any():
            count[ok] = np.busday_count(s[ok], e1[ok], busdaycal=self._busday)
            count[ok] += np.searchsorted(self._extra, e1[ok], side="left") - np.searchsorted(
                self._extra, s[ok], side="left"
            )
        return int(count[0]) if scalar else count

    def working_days(self, start: DateLike, end: DateLike) -> pd.DatetimeIndex:
        """Every working day from ``start`` to ``end``, both included."""
        s, e = _day(start), _day(end)
        if e < s:
            return pd.DatetimeIndex([])
        days = np.arange(s, e + _DAY, dtype="datetime64[D]")
        return pd.DatetimeIndex(days[self.is_working_day(days)].astype("datetime64[ns]"))

    def add_working_days(self, date: DateLike, n: int) -> pd.Timestamp:
        """The ``n``-th working day after ``date`` (before it when ``n < 0``).

        ``n = 0`` gives ``date`` itself when it is a working day, else the next one.
        """
        d = _day(date)
        n = int(n)
        if n == 0:
            step, need, first = 1, 1, d
        else:
            step, need, first = (1 if n > 0 else -1), abs(n), d + (_DAY if n > 0 else -_DAY)
        span = 7 * (need + 30)  # enough for any holiday season; doubled if not
        while True:
            days = first + step * np.arange(span) * _DAY
            wd = days[self.is_working_day(days)]
            if len(wd) >= need:
                return pd.Timestamp(wd[need - 1])
            span *= 2

    def pace_fraction(self, start: DateLike, end: DateLike, as_of: DateLike) -> float:
        """Share of the working days of ``[start, end]`` that have passed by ``as_of``.

        ``as_of`` counts as a passed day (data run to the end of it). 0 before the
        period, 1 after it; NaN for a period without working days.

        Examples
        --------
        The third of October 2026 is in the National Day holiday: no working day of
        October has passed, so nothing is expected yet.

        >>> load_calendar().pace_fraction("2026-10-01", "2026-10-31", "2026-10-03")
        0.0
        """
        total = self.working_days_between(start, end)
        if total == 0:
            return float("nan")
        upto = min(_day(as_of), _day(end))
        return self.working_days_between(start, upto) / total

    def working_weeks(
        self, start: DateLike, end: DateLike, min_working_days: int = 1
    ) -> pd.DataFrame:
        """The working weeks of ``[start, end]``, for weekly reviews and streak rules.

        A week is a calendar week, Monday to Sunday, so an adjusted working Saturday
        belongs to its own week. A week with fewer than ``min_working_days`` working
        days (a whole-week holiday such as the Spring Festival) is *not a week of its
        own*: its days are folded into the next counted week, so a two-weeks-running
        rule neither breaks nor advances across it.

        Returns
        -------
        DataFrame
            One row per counted week: ``week`` (ISO label such as ``2026-W41``),
            ``start`` (the day after the previous counted week ended, or the Monday),
            ``end`` (the Sunday), ``last_working_day``, ``working_days`` (in
            ``[start, end]``), ``calendar_weeks`` (how many calendar weeks it spans).
            Weeks are those whose Sunday falls in ``[start, end]``; the first one may
            begin before ``start``.
        """
        s, e = pd.Timestamp(_day(start)), pd.Timestamp(_day(end))
        first_monday = s - pd.Timedelta(days=s.weekday())
        sundays = pd.date_range(
            first_monday + pd.Timedelta(days=6), e + pd.Timedelta(days=6), freq="7D"
        )
        sundays = sundays[sundays >= s]
        sundays = sundays[sundays - pd.Timedelta(days=6) <= e]
        mondays = sundays - pd.Timedelta(days=6)
        n_wd = self.working_days_between(mondays.to_numpy(), sundays.to_numpy())
        rows = []
        carry_start = None
        carried = 0
        for mon, sun, n in zip(mondays, sundays, np.atleast_1d(n_wd)):
            begin = carry_start if carry_start is not None else mon
            if n < min_working_days:
                carry_start = begin
                carried += 1
                continue
            wd = self.working_days(begin, sun)
            iso = sun.isocalendar()
            rows.append(
                dict(
                    week=f"{iso.year}-W{iso.week:02d}",
                    start=begin,
                    end=sun,
                    last_working_day=wd[-1] if len(wd) else pd.NaT,
                    working_days=len(wd),
                    calendar_weeks=carried + 1,
                )
            )
            carry_start, carried = None, 0
        return pd.DataFrame(
            rows,
            columns=["week", "start", "end", "last_working_day", "working_days", "calendar_weeks"],
        )


def load_calendar(
    name: str | Path | CalendarParams | None = None, params_dir: str | Path | None = None
) -> WorkingCalendar:
    """Load a working-day calendar.

    Parameters
    ----------
    name : str, path or CalendarParams, optional
        A ``params/calendar_*.yaml`` file (by name or path) or a loaded model; by
        default the calendar named in ``params/company.yaml`` (``calendar_cn.yaml``).
    params_dir : path-like, optional
        The params folder; defaults to :func:`simlib.config.default_params_dir`.
    """
    if isinstance(name, WorkingCalendar):
        return name
    if isinstance(name, CalendarParams):
        return WorkingCalendar.from_params(name)
    if name is None:
        try:
            name = company_params(params_dir).calendar
        except ParamError:  # no usable company file: the shipped default
            name = "calendar_cn.yaml"
    return WorkingCalendar.from_params(load_file(name, CalendarParams, params_dir))

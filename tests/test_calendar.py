"""The working-day calendar: China's holidays and adjusted weekends, pace, working weeks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from simlib.calendar import CalendarParams, WorkingCalendar, load_calendar


@pytest.fixture(scope="module")
def cal():
    return load_calendar("calendar_cn.yaml")


def test_holidays_and_adjusted_weekends(cal):
    assert not cal.is_working_day("2026-10-01")  # National Day
    assert not cal.is_working_day("2026-10-07")
    assert cal.is_working_day("2026-10-08")
    assert cal.is_working_day("2026-10-10")  # Saturday worked instead (调休)
    assert not cal.is_working_day("2026-10-11")  # an ordinary Sunday
    assert cal.is_working_day(dt.date(2026, 2, 14))  # Saturday before the Spring Festival
    assert not cal.is_working_day(pd.Timestamp("2026-02-23"))  # last day of the Spring Festival
    assert cal.holiday("2026-10-03") == "National Day"
    assert cal.holiday("2026-10-08") is None
    days = cal.is_working_day(["2026-10-09", "2026-10-10", "2026-10-11"])
    assert days.tolist() == [True, True, False]


def test_working_days_between_by_hand(cal):
    # October 2026: 22 weekdays, 5 of them National Day (1, 2, 5, 6, 7), plus Saturday 10th
    assert cal.working_days_between("2026-10-01", "2026-10-31") == 18
    # Q4 2026: October 18 + November 21 + December 23
    assert cal.working_days_between("2026-11-01", "2026-11-30") == 21
    assert cal.working_days_between("2026-12-01", "2026-12-31") == 23
    assert cal.working_days_between("2026-10-01", "2026-12-31") == 62
    assert cal.working_days_between("2026-10-09", "2026-10-09") == 1
    assert cal.working_days_between("2026-10-09", "2026-10-08") == 0  # end before start
    both = cal.working_days_between(
        np.array(["2026-10-01", "2026-11-01"], dtype="datetime64[D]"),
        np.array(["2026-10-31", "2026-11-30"], dtype="datetime64[D]"),
    )
    assert both.tolist() == [18, 21]
    assert len(cal.working_days("2026-10-01", "2026-10-31")) == 18


def test_pace_means_something_on_the_third_and_after_a_holiday(cal):
    # On the 3rd of October nothing is expected yet: no working day has passed.
    assert cal.pace_fraction("2026-10-01", "2026-10-31", "2026-10-03") == 0.0
    # Two working days (8th, 9th) of 18 have passed on the 9th, not 9 of 31.
    assert cal.pace_fraction("2026-10-01", "2026-10-31", "2026-10-09") == pytest.approx(2 / 18)
    assert cal.pace_fraction("2026-10-01", "2026-10-31", "2026-09-30") == 0.0
    assert cal.pace_fraction("2026-10-01", "2026-10-31", "2026-11-15") == 1.0
    # the quarter: Saturday 10 October counts
    assert cal.pace_fraction("2026-10-01", "2026-12-31", "2026-10-10") == pytest.approx(3 / 62)
    # a period that is all holiday has no pace
    assert np.isnan(cal.pace_fraction("2026-10-01", "2026-10-07", "2026-10-05"))


def test_add_working_days(cal):
    assert cal.add_working_days("2026-09-30", 1) == pd.Timestamp("2026-10-08")
    assert cal.add_working_days("2026-10-08", -1) == pd.Timestamp("2026-09-30")
    assert cal.add_working_days("2026-10-03", 0) == pd.Timestamp("2026-10-08")
    assert cal.add_working_days("2026-10-09", 0) == pd.Timestamp("2026-10-09")
    assert cal.add_working_days("2026-10-09", 1) == pd.Timestamp("2026-10-10")  # the Saturday


def test_a_whole_holiday_week_folds_into_the_next(cal):
    w = cal.working_weeks("2026-02-01", "2026-03-08").set_index("week")
    assert "2026-W08" not in w.index  # 16-22 February: Spring Festival, no working day
    assert w.loc["2026-W07", "working_days"] == 6  # with Saturday the 14th
    assert w.loc["2026-W09", "start"] == pd.Timestamp("2026-02-16")
    assert w.loc["2026-W09", "calendar_weeks"] == 2
    assert w.loc["2026-W09", "working_days"] == 5  # 24-27 February and Saturday the 28th
    assert w.loc["2026-W09", "last_working_day"] == pd.Timestamp("2026-02-28")


def test_short_national_day_weeks_are_weeks(cal):
    w = cal.working_weeks("2026-09-28", "2026-10-11").set_index("week")
    assert list(w.index) == ["2026-W40", "2026-W41"]
    assert w["working_days"].tolist() == [3, 3]
    assert w["calendar_weeks"].tolist() == [1, 1]


def test_outside_the_covered_years_only_weekends_count(cal):
    assert cal.covers("2026-05-01") and not cal.covers("2027-05-03")
    assert cal.is_working_day("2027-10-01")  # a Friday; 2027 holidays are not published yet


def test_custom_weekend_and_bad_input():
    cal = WorkingCalendar("Gulf", weekend=(4, 5))  # Friday-Saturday weekend
    assert not cal.is_working_day("2026-10-09") and cal.is_working_day("2026-10-11")
    with pytest.raises(ValueError, match="weekend days must be 0"):
        WorkingCalendar("bad", weekend=(7,))
    with pytest.raises(ValueError, match="at least one working weekday"):
        WorkingCalendar("none", weekend=tuple(range(7)))
    with pytest.raises(ValueError, match="not a date"):
        load_calendar().is_working_day("someday")


def test_from_params_and_repr():
    p = CalendarParams(
        name="X",
        holidays=[{"name": "H", "start": "2026-01-05", "end": "2026-01-06"}],
        working_weekends=["2026-01-10"],
    )
    cal = load_calendar(p)
    assert cal.working_days_between("2026-01-05", "2026-01-11") == 4  # Wed-Fri + Saturday
    assert "covers 2026-2026" in repr(cal)

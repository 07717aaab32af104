"""Business time on calendars: nights, weekends, holidays, closures, DST, bounds, properties."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sla.calendar import BusinessCalendar, CalendarError, Closure

H = timedelta(hours=1)
M = timedelta(minutes=1)
OFFICE = {day: [("08:00", "16:00")] for day in range(5)}


def office(zone="Europe/Warsaw", country="PL", **kwargs) -> BusinessCalendar:
    return BusinessCalendar.build(OFFICE, time_zone=zone, country=country, **kwargs)


def utc(*args) -> datetime:
    return datetime(*args)


# --- nights, weekends, holidays, closures ---------------------------------------------------


def test_a_case_in_the_evening_is_due_the_next_working_day():
    warsaw = office()
    # Tuesday 17:00 local (16:00 UTC): 4 business hours → Wednesday 12:00 local.
    assert warsaw.add_business(utc(2026, 12, 1, 16), 4 * H) == utc(2026, 12, 2, 11)


def test_friday_afternoon_runs_over_the_weekend():
    warsaw = office()
    # Friday 15:00 local: one hour on Friday, three on Monday (from 08:00 local).
    assert warsaw.add_business(utc(2026, 12, 4, 14), 4 * H) == utc(2026, 12, 7, 10)
    assert warsaw.business_between(utc(2026, 12, 4, 14), utc(2026, 12, 7, 10)) == 4 * H


def test_christmas_eve_in_poland_is_closed():
    warsaw = office()
    # Wednesday 23 December 15:00 local; 24, 25, 26 are holidays, 27 is a Sunday.
    due = warsaw.add_business(utc(2026, 12, 23, 14), 8 * H)
    assert due == utc(2026, 12, 28, 14)  # Monday 15:00 local
    assert warsaw.holiday(date(2026, 12, 24)) == "Christmas Eve"
    # A case arriving on the 24th itself waits for Monday 08:00.
    assert warsaw.add_business(utc(2026, 12, 24, 9), 30 * M) == utc(2026, 12, 28, 7, 30)


def test_without_a_country_christmas_is_a_working_day():
    assert office(country=None).add_business(utc(2026, 12, 24, 9), 30 * M) == utc(
        2026, 12, 24, 9, 30
    )


def test_split_hours_skip_the_lunch_break():
    split = BusinessCalendar.build(
        {d: [("08:00", "12:00"), ("13:00", "17:00")] for d in range(5)}, time_zone="UTC"
    )
    assert split.add_business(utc(2026, 12, 1, 11), 2 * H) == utc(2026, 12, 1, 14)
    assert split.business_between(utc(2026, 12, 1, 7), utc(2026, 12, 1, 18)) == 8 * H


def test_closures_by_date_and_by_range():
    closures = [
        date(2026, 12, 2),
        Closure(datetime(2026, 12, 3, 12, 0), datetime(2026, 12, 3, 23, 0), "staff party"),
    ]
    cal = office(country=None, closures=closures)
    # Tuesday 15:00 local: 1 h Tuesday, Wednesday closed, Thursday 08-12 local only, Friday.
    assert cal.add_business(utc(2026, 12, 1, 14), 6 * H) == utc(2026, 12, 4, 8)
    assert cal.closure_on(date(2026, 12, 3)).reason == "staff party"


def test_zero_delta_and_negative_delta():
    warsaw = office()
    start = utc(2026, 12, 5, 3)  # Saturday night: closed
    assert warsaw.add_business(start, timedelta(0)) == start
    # Backward from Monday 09:00 local: 1 h Monday, 7 h Friday → Friday 09:00 local.
    assert warsaw.add_business(utc(2026, 12, 7, 8), -8 * H) == utc(2026, 12, 4, 8)
    assert warsaw.business_between(utc(2026, 12, 7, 8), utc(2026, 12, 4, 8)) == -8 * H


def test_a_due_time_that_ends_with_the_day_stays_on_that_day():
    # Exactly the rest of Friday: due Friday 16:00 local, not Monday 08:00.
    assert office().add_business(utc(2026, 12, 4, 13), 2 * H) == utc(2026, 12, 4, 15)


# --- daylight saving time -------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, spring, autumn",
    [
        ("Europe/Warsaw", date(2026, 3, 29), date(2026, 10, 25)),
        ("Europe/Stockholm", date(2026, 3, 29), date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ],
)
def test_an_eight_hour_day_stays_eight_hours_when_the_clocks_change(zone, spring, autumn):
    every_day = BusinessCalendar.build({d: [("08:00", "16:00")] for d in range(7)}, time_zone=zone)
    for day in (spring, autumn):
        assert day.weekday() == 6  # the clocks change on a Sunday
        opens, closes = every_day.hours_on(day)[0]
        assert (opens.hour, closes.hour) == (8, 16)
        start = every_day.open_intervals(day)[0][0]
        assert every_day.add_business(start, 8 * H) == every_day.open_intervals(day)[0][1]
        assert every_day.business_between(start, start + 24 * H) == 8 * H
    # Over the change, Friday 15:00 local + 2 business hours is Monday 09:00 local.
    office_days = BusinessCalendar.build(OFFICE, time_zone=zone)
    friday = spring - timedelta(days=2)
    start = office_days._to_utc(datetime.combine(friday, datetime.min.time()) + 15 * H)
    due = office_days.add_business(start, 2 * H)
    assert (
        office_days.local(due)
        == datetime.combine(spring + timedelta(days=1), datetime.min.time()) + 9 * H
    )


def test_round_the_clock_counts_real_hours_on_dst_days():
    warsaw = BusinessCalendar.always_open("Europe/Warsaw")
    assert warsaw.business_between(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)) == 23 * H
    assert warsaw.business_between(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)) == 25 * H
    assert warsaw.add_business(utc(2026, 3, 28, 12), 48 * H) == utc(2026, 3, 30, 12)


def test_times_that_do_not_exist_or_happen_twice():
    night = BusinessCalendar.build({6: [("02:30", "04:00")]}, time_zone="Europe/Warsaw")
    # 29 March 2026: 02:30 does not exist; the day opens when the clocks jump (03:00 CEST).
    assert night.open_intervals(date(2026, 3, 29)) == ((utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)),)
    # 25 October 2026: 02:30 happens twice; the first one counts (00:30 UTC), closing at
    # 04:00 CET (03:00 UTC): two and a half hours of real time.
    ((start, end),) = night.open_intervals(date(2026, 10, 25))
    assert (start, end) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))


# --- bounds --------------------------------------------------------------------------------


def test_a_calendar_without_opening_hours_refuses_at_once():
    empty = BusinessCalendar.build({}, time_zone="Europe/Warsaw")
    with pytest.raises(CalendarError, match="no opening hours"):
        empty.add_business(utc(2026, 12, 1, 9), H)
    assert empty.business_between(utc(2026, 1, 1), utc(2027, 1, 1)) == timedelta(0)


def test_a_calendar_closed_for_years_gives_up_at_the_horizon():
    closed = office(closures=[(date(2026, 1, 1), date(2035, 12, 31))])
    started = clock.monotonic()
    with pytest.raises(CalendarError, match="No open time within 3 years"):
        closed.add_business(utc(2026, 6, 1, 9), H)
    assert clock.monotonic() - started < 2


def test_long_deltas_skip_whole_weeks_quickly():
    warsaw = office()
    started = clock.monotonic()
    due = warsaw.add_business(utc(2026, 1, 5, 7), 8 * 250 * H)  # about a working year
    assert warsaw.business_between(utc(2026, 1, 5, 7), due) == 8 * 250 * H
    assert clock.monotonic() - started < 1


@pytest.mark.parametrize(
    "hours, message",
    [
        ({0: [("16:00", "08:00")]}, "does not close after it opens"),
        ({0: [("08:00", "12:00"), ("11:00", "13:00")]}, "overlap"),
        ({0: [("8h", "12:00")]}, "not a time of day"),
        ({7: [("08:00", "12:00")]}, "not a weekday"),
    ],
)
def test_bad_opening_hours_are_refused(hours, message):
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.build(hours)


def test_unknown_zone_and_country_are_refused():
    with pytest.raises(CalendarError, match="time zone"):
        BusinessCalendar.build(OFFICE, time_zone="Europe/Atlantis")
    with pytest.raises(CalendarError, match="no country 'XX'"):
        BusinessCalendar.build(OFFICE, country="XX")


# --- properties ----------------------------------------------------------------------------

CALENDARS = [
    office(),
    office("America/New_York", "US", closures=[date(2026, 7, 3)]),
    BusinessCalendar.build(
        {d: [("08:00", "12:00"), ("13:00", "17:00")] for d in range(6)},
        time_zone="Europe/Stockholm",
        country="SE",
    ),
    BusinessCalendar.always_open("Europe/Warsaw"),
    BusinessCalendar.build({d: [("00:00", "24:00")] for d in (5, 6)}, time_zone="America/New_York"),
]
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31))
calendars = st.sampled_from(CALENDARS)


def _in_open_hours(cal: BusinessCalendar, moment: datetime, *, forward=True) -> bool:
    """Open at ``moment``: in (start, end] moving forward, in [start, end) moving back."""
    for day in (cal.local_date(moment) - timedelta(days=1), cal.local_date(moment)):
        for s, e in cal.open_intervals(day):
            if (s < moment <= e) if forward else (s <= moment < e):
                return True
    return False


@settings(max_examples=150, deadline=None)
@given(calendars, moments, moments)
def test_adding_the_time_between_two_moments_lands_on_the_second(cal, a, b):
    between = cal.business_between(a, b)
    if _in_open_hours(cal, b, forward=b > a) and a != b:
        assert cal.add_business(a, between) == b
    landed = cal.add_business(a, between)
    assert cal.business_between(a, landed) == between


@settings(max_examples=100, deadline=None)
@given(calendars, moments, moments, moments)
def test_business_time_is_additive(cal, a, b, c):
    assert cal.business_between(a, c) == cal.business_between(a, b) + cal.business_between(b, c)


@settings(max_examples=100, deadline=None)
@given(calendars, moments, st.integers(0, 60 * 24 * 400), st.integers(0, 60 * 24 * 30))
def test_more_time_is_never_earlier(cal, start, minutes, more):
    first = cal.add_business(start, timedelta(minutes=minutes))
    later = cal.add_business(start, timedelta(minutes=minutes + more))
    assert start <= first <= later
    assert cal.business_between(start, first) == timedelta(minutes=minutes)

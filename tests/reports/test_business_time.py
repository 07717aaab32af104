"""The report's vectorised business time gives what the calendar's own walk gives, to the
nanosecond, on calendars with holidays, split days, closures and clock changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from app.sla.calendar import BusinessCalendar
from reports.business_time import BusinessClock, clock_for, elapsed_only

CALENDARS = {
    "warsaw office, Polish holidays": BusinessCalendar.build(
        {d: [("08:00", "17:00")] for d in range(5)}, time_zone="Europe/Warsaw", country="PL"
    ),
    "split day, closures": BusinessCalendar.build(
        {d: [("08:00", "12:00"), ("13:00", "17:00")] for d in range(6)},
        time_zone="Europe/Stockholm",
        closures=[
            date(2026, 3, 30),
            (datetime(2026, 10, 26, 10, 0), datetime(2026, 10, 27, 9, 30)),
        ],
    ),
    "new york evenings": BusinessCalendar.build(
        {d: [("18:00", "24:00")] for d in range(7)}, time_zone="America/New_York", country="US"
    ),
}


@pytest.mark.parametrize("name", list(CALENDARS))
def test_the_clock_agrees_with_business_between(name):
    calendar = CALENDARS[name]
    rng = np.random.default_rng(7)
    base = datetime(2026, 1, 1)
    # 300 pairs over a year with both clock changes, some reversed, some inside one hour.
    a = [base + timedelta(seconds=int(s)) for s in rng.integers(0, 365 * 86400, 300)]
    b = [
        x + timedelta(seconds=int(s))
        for x, s in zip(a, rng.integers(-3 * 86400, 20 * 86400, 300), strict=True)
    ]
    b[:20] = [x + timedelta(minutes=17) for x in a[:20]]
    clock = BusinessClock(calendar, min(a + b), max(a + b))
    got = clock.hours(pd.Series(a), pd.Series(b))
    want = [
        calendar.business_between(x, y).total_seconds() / 3600 for x, y in zip(a, b, strict=True)
    ]
    assert got.tolist() == pytest.approx(want, abs=1e-9)
    assert any(w == 0 for w in want) and any(w < 0 for w in want)


def test_missing_moments_give_no_hours_and_round_the_clock_is_elapsed():
    always = BusinessCalendar.always_open()
    assert elapsed_only(always)
    assert not elapsed_only(CALENDARS["warsaw office, Polish holidays"])
    clock = BusinessClock(always, datetime(2026, 1, 1), datetime(2026, 1, 2))
    got = clock.hours(
        pd.Series([datetime(2026, 1, 1, 8), None]), pd.Series([datetime(2026, 1, 1, 10, 30), None])
    )
    assert got[0] == 2.5 and np.isnan(got[1])


def test_a_cached_clock_widens_to_cover_later_moments():
    calendar = CALENDARS["warsaw office, Polish holidays"]
    clocks: dict = {}
    first = clock_for(clocks, calendar, [datetime(2026, 11, 2), datetime(2026, 11, 3)])
    wider = clock_for(clocks, calendar, [datetime(2026, 11, 2), datetime(2026, 12, 31)])
    assert wider is not first and wider.covers(datetime(2026, 11, 2), datetime(2026, 12, 31))
    # Monday 2 November 2026 to Tuesday 3 November 17:00 local (UTC+1): two office days.
    hours = wider.hours(
        pd.Series([datetime(2026, 11, 2, 6)]), pd.Series([datetime(2026, 11, 3, 16)])
    )
    assert hours.tolist() == [18.0]

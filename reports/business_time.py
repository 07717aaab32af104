"""Business time for many moments at once: a calendar's open time as a cumulative clock.

``BusinessCalendar.business_between`` walks day by day for one pair of moments; a report
needs it for hundreds of thousands of pairs. ``BusinessClock`` lays the calendar's open
intervals (naive UTC, sorted, disjoint: ``BusinessCalendar.open_intervals`` of every local
day of a span) end to end and keeps the open seconds before each interval's start. The open
time before a moment ``t`` is then one ``searchsorted`` away: the cumulative seconds of the
last interval starting at or before ``t`` plus the part of that interval before ``t``. The
business time between ``a`` and ``b`` is the difference of the two, exactly the sum of the
intersections ``business_between`` adds up (in nanoseconds, no rounding), for whole arrays
with numpy.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from app.sla.calendar import BusinessCalendar

DAY = timedelta(days=1)
ROUND_THE_CLOCK_WEEK = ((0, 24 * 60),)


def elapsed_only(calendar: BusinessCalendar) -> bool:
    """True when business time is elapsed time: no opening hours at all (the report counts
    elapsed time then) or open round the clock with no holiday and no closure."""
    if not calendar.has_hours:
        return True
    return (
        all(spans == ROUND_THE_CLOCK_WEEK for spans in calendar.weekly)
        and not calendar.country
        and not calendar.closures
    )


def _ns(values) -> np.ndarray:
    """Naive UTC moments (a Series, an array, an Index) as int64 nanoseconds; NaT stays NaT's
    integer (the callers mask it)."""
    return np.asarray(pd.to_datetime(pd.Series(values)).to_numpy(dtype="datetime64[ns]")).view(
        np.int64
    )


class BusinessClock:
    """The open time of ``calendar`` from ``start`` to ``end`` (naive UTC) as a clock; a
    moment outside the span counts as its nearest end (``clock_for`` builds one that covers
    what is asked)."""

    def __init__(self, calendar: BusinessCalendar, start: datetime, end: datetime):
        self.calendar = calendar
        self.start, self.end = start, end
        self.elapsed = elapsed_only(calendar)
        if self.elapsed:
            return
        first: date = calendar.local_date(start) - DAY
        last: date = calendar.local_date(end) + DAY
        starts, ends = [], []
        day = first
        while day <= last:
            for s, e in calendar.open_intervals(day):
                starts.append(s)
                ends.append(e)
            day += DAY
        self.starts = _ns(starts) if starts else np.zeros(0, dtype=np.int64)
        self.lengths = (_ns(ends) - self.starts) if ends else np.zeros(0, dtype=np.int64)
        self.before = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end

    def open_before(self, moments: np.ndarray) -> np.ndarray:
        """Open nanoseconds from the clock's span start up to each moment (int64 ns)."""
        i = np.searchsorted(self.starts, moments, side="right") - 1
        inside = i >= 0
        j = np.where(inside, i, 0)
        part = np.clip(moments - self.starts[j], 0, self.lengths[j]) if len(self.starts) else 0
        return np.where(inside, self.before[j] + part, 0)

    def hours(self, a, b) -> np.ndarray:
        """Business hours from each ``a`` to its ``b`` (float; NaN where either is missing)."""
        a_ns, b_ns = _ns(a), _ns(b)
        missing = pd.isna(pd.Series(a)).to_numpy() | pd.isna(pd.Series(b)).to_numpy()
        if self.elapsed:
            seconds = (b_ns - a_ns) / 1e9
        else:
            a_ns, b_ns = np.where(missing, 0, a_ns), np.where(missing, 0, b_ns)
            seconds = (self.open_before(b_ns) - self.open_before(a_ns)) / 1e9
        return np.where(missing, np.nan, seconds / 3600)


def clock_for(clocks: dict, calendar: BusinessCalendar, moments: list[datetime]) -> BusinessClock:
    """The cached clock of ``calendar`` in ``clocks``, widened to cover ``moments``."""
    present = [m for m in moments if m is not None and not pd.isna(m)]
    if not present:
        present = [datetime(2000, 1, 1)]
    start = pd.Timestamp(min(present)).to_pydatetime()
    end = pd.Timestamp(max(present)).to_pydatetime()
    clock = clocks.get(calendar)
    if clock is None or not clock.covers(start, end):
        if clock is not None:
            start, end = min(start, clock.start), max(end, clock.end)
        clock = clocks[calendar] = BusinessClock(calendar, start, end)
    return clock

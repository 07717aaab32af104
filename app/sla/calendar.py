"""Business time: when a desk is open, and how much open time lies between two moments.

A ``BusinessCalendar`` is a value: weekly opening hours (per weekday one or more intervals,
e.g. Mon-Fri 08:00-16:00, or split 08:00-12:00 and 13:00-17:00), a time zone, the public
holidays of a country (and optionally a subdivision) from the ``holidays`` package, and
manual closures (whole days or ranges, in the calendar's local time).

The desk stores naive UTC (``app.core.timeutil``); both functions take and return naive UTC
and compute in local time, so a 08:00-16:00 day is eight hours on the days the clocks change
as on any other:

* ``add_business(start, delta)``: the moment ``delta`` of open time after ``start`` (before
  it for a negative delta). Moving forward it lands at the end of an open interval when the
  time runs out exactly there (due Friday 16:00, not Monday 08:00); backward at its start.
* ``business_between(a, b)``: the open time between ``a`` and ``b`` (negative when ``b`` is
  before ``a``).

Local times the clock skips (02:30 on the last Sunday of March in Europe) mean the first
moment that exists after them (03:00); local times that happen twice (02:30 in October)
mean the first of the two.

Why not a package: the maintained business-hours packages are abandoned or have open
infinite-loop bugs. Here every loop is bounded: a calendar without any opening hours is
refused at once, and a walk that finds no open time within ``HORIZON`` (3 years: a calendar
closed by closures) raises ``CalendarError`` instead of searching for ever. Long deltas do
not walk minute by minute, nor day by day: a plain week (no holiday, no closure, no change of
the UTC offset) counts as one step of its weekly open time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_package

from app.errors import DeskError

ZERO = timedelta(0)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MINUTES_PER_DAY = 24 * 60
# A walk that finds no open time for this long gives up (a calendar closed for good).
HORIZON = timedelta(days=3 * 366)
# No walk goes further than this at all, however much open time it still has to count.
MAX_SPAN = timedelta(days=100 * 366)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Interval = tuple[datetime, datetime]  # naive UTC, start < end


class CalendarError(DeskError):
    """A calendar that cannot answer: no opening hours, an unknown zone or country, a
    search beyond the horizon."""


def parse_clock(value, *, end: bool = False) -> int:
    """Minutes after midnight of ``"HH:MM"`` or a ``time``; ``"24:00"`` (and, for a closing
    time, ``00:00``) is the end of the day."""
    if isinstance(value, time):
        minutes = value.hour * 60 + value.minute
    else:
        text = str(value or "").strip()
        try:
            hours, _, mins = text.partition(":")
            if not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
                raise ValueError
            minutes = int(hours) * 60 + int(mins)
        except ValueError:
            raise CalendarError(f"'{text}' is not a time of day (HH:MM).") from None
        if int(mins) > 59 or minutes > MINUTES_PER_DAY:
            raise CalendarError(f"'{text}' is not a time of day (HH:MM).")
    if end and minutes == 0:
        return MINUTES_PER_DAY
    return minutes


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@functools.lru_cache(maxsize=512)
def _holidays_of(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """The public holidays of one year, ``{date: name}`` (the package computes whole years)."""
    try:
        found = holidays_package.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:
        raise CalendarError(
            f"The holidays package knows no country '{country}'"
            + (f" with subdivision '{subdivision}'." if subdivision else ".")
        ) from None
    return dict(found.items())


@dataclass(frozen=True)
class Closure:
    """A closure in the calendar's local time, ``starts`` up to ``ends`` (exclusive)."""

    starts: datetime
    ends: datetime
    reason: str = ""


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly opening hours in a time zone, less holidays and closures (see the module)."""

    # Per weekday (0 = Monday) the open intervals as minutes after local midnight.
    weekly: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    time_zone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    closures: tuple[Closure, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _closed: tuple[Interval, ...] = field(init=False, repr=False, compare=False, hash=False)
    _week_open: timedelta = field(init=False, repr=False, compare=False, hash=False)
    _days: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        if len(self.weekly) != 7:
            raise CalendarError("Opening hours need an entry for each of the seven weekdays.")
        weekly = []
        for day, spans in enumerate(self.weekly):
            ordered = tuple(sorted((int(o), int(c)) for o, c in spans))
            for opens, closes in ordered:
                if not 0 <= opens < closes <= MINUTES_PER_DAY:
                    raise CalendarError(
                        f"{WEEKDAYS[day]}: {format_clock(opens)}-{format_clock(closes)} does "
                        "not close after it opens (an interval ends by midnight)."
                    )
            for (o1, c1), (o2, _c2) in zip(ordered, ordered[1:], strict=False):
                if o2 < c1:
                    raise CalendarError(
                        f"{WEEKDAYS[day]}: opening hours {format_clock(o1)}-{format_clock(c1)} "
                        f"and {format_clock(o2)}-… overlap."
                    )
            weekly.append(ordered)
        object.__setattr__(self, "weekly", tuple(weekly))
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"'{self.time_zone}' is not a known time zone.") from None
        object.__setattr__(self, "_zone", zone)
        if self.country:
            _holidays_of(self.country, self.subdivision or None, 2026)  # refuses unknown ones
        closed = []
        for closure in self.closures:
            if closure.ends <= closure.starts:
                raise CalendarError("A closure ends after it starts.")
            closed.append((self._to_utc(closure.starts), self._to_utc(closure.ends)))
        object.__setattr__(self, "_closed", tuple(sorted(closed)))
        week_minutes = sum(c - o for spans in weekly for o, c in spans)
        object.__setattr__(self, "_week_open", timedelta(minutes=week_minutes))
        object.__setattr__(self, "_days", {})

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        hours: Mapping[int, Iterable[tuple]] | Iterable[tuple],
        *,
        time_zone: str = "UTC",
        country: str | None = None,
        subdivision: str | None = None,
        closures: Iterable[Closure | date | tuple] = (),
    ) -> BusinessCalendar:
        """A calendar from ``{weekday: [(opens, closes), …]}`` or ``[(weekday, opens,
        closes), …]`` (times as ``"HH:MM"`` or ``time``; weekday 0 = Monday) and closures as
        dates (whole local days), ``(start, end)`` local datetimes or ``Closure``s."""
        weekly: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        rows = hours.items() if isinstance(hours, Mapping) else None
        if rows is not None:
            for day, spans in rows:
                for opens, closes in spans:
                    weekly[_weekday(day)].append(
                        (parse_clock(opens), parse_clock(closes, end=True))
                    )
        else:
            for day, opens, closes in hours:  # type: ignore[misc]
                weekly[_weekday(day)].append((parse_clock(opens), parse_clock(closes, end=True)))
        return cls(
            weekly=tuple(tuple(spans) for spans in weekly),
            time_zone=time_zone,
            country=country or None,
            subdivision=subdivision or None,
            closures=tuple(_closure(c) for c in closures),
        )

    @classmethod
    def always_open(cls, time_zone: str = "UTC") -> BusinessCalendar:
        """Open around the clock (24/7): business time is elapsed time."""
        return cls(weekly=(((0, MINUTES_PER_DAY),),) * 7, time_zone=time_zone)

    @property
    def has_hours(self) -> bool:
        return self._week_open > ZERO

    @property
    def weekly_open_time(self) -> timedelta:
        return self._week_open

    # --- local time --------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """Naive UTC → naive local wall time."""
        return moment.replace(tzinfo=UTC).astimezone(self._zone).replace(tzinfo=None)

    def local_date(self, moment: datetime) -> date:
        return self.local(moment).date()

    def _to_utc(self, wall: datetime) -> datetime:
        """Naive local wall time → naive UTC: the first occurrence of a repeated time, the
        end of the gap (the moment the clocks jumped) for a time that does not exist."""
        first = wall.replace(tzinfo=self._zone, fold=0).astimezone(UTC)
        if first.astimezone(self._zone).replace(tzinfo=None) == wall:
            return first.replace(tzinfo=None)
        # In a gap: fold=1 maps it before the jump, fold=0 after; find the jump.
        low = wall.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        high = first
        after = high.astimezone(self._zone).utcoffset()
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) // 2
            if middle.astimezone(self._zone).utcoffset() == after:
                high = middle
            else:
                low = middle
        return high.replace(tzinfo=None, microsecond=0)

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday on local date ``day``, if it is one."""
        if not self.country:
            return None
        return _holidays_of(self.country, self.subdivision, day.year).get(day)

    def closure_on(self, day: date) -> Closure | None:
        """The first closure that covers some of local date ``day``."""
        start = datetime.combine(day, time())
        for closure in self.closures:
            if closure.starts < start + DAY and closure.ends > start:
                return closure
        return None

    def hours_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of local date ``day`` in local wall time (for previews)."""
        return [(self.local(s), self.local(e)) for s, e in self.open_intervals(day)]

    # --- open intervals ------------------------------------------------------------------------

    def open_intervals(self, day: date) -> tuple[Interval, ...]:
        """The open intervals (naive UTC) of local date ``day``: its weekday's hours, none on
        a holiday, less the closures."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        found: list[Interval] = []
        if self.holiday(day) is None:
            midnight = datetime.combine(day, time())
            for opens, closes in self.weekly[day.weekday()]:
                start = self._to_utc(midnight + timedelta(minutes=opens))
                end = self._to_utc(midnight + timedelta(minutes=closes))
                if start < end:
                    found.append((start, end))
            if found and self._closed:
                found = _subtract(found, self._closed)
        if len(self._days) > 20000:
            self._days.clear()
        result = tuple(found)
        self._days[day] = result
        return result

    def _plain_week_open(self, monday: date) -> timedelta | None:
        """The open time of the week from local Monday ``monday`` when it is a plain week (no
        holiday, no closure, no change of the UTC offset): the weekly hours; else None."""
        start = self._to_utc(datetime.combine(monday, time()))
        end = self._to_utc(datetime.combine(monday + WEEK, time()))
        if end - start != WEEK:
            return None  # the clocks change this week
        if self.country and any(self.holiday(monday + i * DAY) for i in range(7)):
            return None
        if any(s < end and e > start for s, e in self._closed):
            return None
        return self._week_open

    def _require_hours(self) -> None:
        if not self.has_hours:
            raise CalendarError(
                "This calendar has no opening hours at all: no due time can be computed on it."
            )

    def _check_horizon(self, first: date, day: date, last_open: date) -> None:
        if abs(day - last_open) > HORIZON:
            raise CalendarError(
                f"No open time within {HORIZON.days // 365} years of {last_open}: the "
                "calendar's closures leave it closed."
            )
        if abs(day - first) > MAX_SPAN:
            raise CalendarError(f"That is more than {MAX_SPAN.days // 366} years away.")

    # --- the two functions -------------------------------------------------------------------

    def add_business(self, start: datetime, delta: timedelta) -> datetime:
        """The moment ``delta`` of open time after ``start`` (before it when negative)."""
        start = _naive_utc(start)
        if delta == ZERO:
            return start
        self._require_hours()
        if delta > ZERO:
            return self._forward(start, delta)
        return self._backward(start, -delta)

    def _forward(self, start: datetime, remaining: timedelta) -> datetime:
        day = first = last_open = self.local_date(start)
        while True:
            for s, e in self.open_intervals(day):
                if e <= start:
                    continue
                s = max(s, start)
                if remaining <= e - s:
                    return s + remaining
                remaining -= e - s
                last_open = day
            day += DAY
            if day.weekday() == 0:
                while remaining > self._week_open:
                    week = self._plain_week_open(day)
                    if week is None or remaining <= week:
                        break
                    remaining -= week
                    day += WEEK
                    last_open = day
                    self._check_horizon(first, day, last_open)
            self._check_horizon(first, day, last_open)

    def _backward(self, start: datetime, remaining: timedelta) -> datetime:
        day = first = last_open = self.local_date(start)
        while True:
            for s, e in reversed(self.open_intervals(day)):
                if s >= start:
                    continue
                e = min(e, start)
                if remaining <= e - s:
                    return e - remaining
                remaining -= e - s
                last_open = day
            day -= DAY
            if day.weekday() == 6:
                while remaining > self._week_open:
                    week = self._plain_week_open(day - 6 * DAY)
                    if week is None or remaining <= week:
                        break
                    remaining -= week
                    day -= WEEK
                    last_open = day
                    self._check_horizon(first, day, last_open)
            self._check_horizon(first, day, last_open)

    def business_between(self, a: datetime, b: datetime) -> timedelta:
        """The open time from ``a`` to ``b`` (negative when ``b`` is earlier)."""
        a, b = _naive_utc(a), _naive_utc(b)
        if a > b:
            return -self.business_between(b, a)
        if a == b or not self.has_hours:
            return ZERO
        total = ZERO
        day, last = self.local_date(a), self.local_date(b)
        first = day
        while day <= last:
            if day.weekday() == 0 and day > first and day + WEEK <= last:
                week = self._plain_week_open(day)
                if week is not None:
                    total += week
                    day += WEEK
                    continue
            for s, e in self.open_intervals(day):
                low, high = max(s, a), min(e, b)
                if high > low:
                    total += high - low
            day += DAY
        return total

    def is_open(self, moment: datetime) -> bool:
        moment = _naive_utc(moment)
        return any(s <= moment < e for s, e in self.open_intervals(self.local_date(moment)))


def _weekday(value) -> int:
    day = int(value)
    if not 0 <= day <= 6:
        raise CalendarError(f"{value} is not a weekday (0 = Monday … 6 = Sunday).")
    return day


def _closure(value) -> Closure:
    if isinstance(value, Closure):
        return value
    if isinstance(value, datetime):
        raise CalendarError("A closure is a date or a (start, end) pair.")
    if isinstance(value, date):
        start = datetime.combine(value, time())
        return Closure(start, start + DAY)
    starts, ends, *rest = value
    if not isinstance(starts, datetime):
        starts = datetime.combine(starts, time())
    if not isinstance(ends, datetime):
        ends = datetime.combine(ends, time()) + DAY  # a last whole day
    return Closure(starts, ends, str(rest[0]) if rest else "")


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _subtract(spans: list[Interval], closed: tuple[Interval, ...]) -> list[Interval]:
    """``spans`` less every interval of ``closed``."""
    result = []
    for start, end in spans:
        pieces = [(start, end)]
        for c_start, c_end in closed:
            if c_start >= end or c_end <= start:
                continue
            next_pieces = []
            for s, e in pieces:
                if c_start > s:
                    next_pieces.append((s, min(e, c_start)))
                if c_end < e:
                    next_pieces.append((max(s, c_end), e))
            pieces = [(s, e) for s, e in next_pieces if s < e]
        result.extend(pieces)
    return result

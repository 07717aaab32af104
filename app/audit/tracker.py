"""The event tracker: who did what and when, filtered by case, user, type and time.

Events are many (millions on a desk that has run for years), so the tracker pages with a
keyset, not an offset: a page is "the 50 events before (time, id) of the last row shown",
which the indexes on (case, time), (user, time), (type, time) and (time) answer without
counting or skipping rows, however deep the page. The CSV export walks the same keyset in
batches and streams each batch as it comes, so a year of events never sits in memory.

Record rules as everywhere (``app.security.rules``): an agent sees the events of the cases he
may see (events without a case, e.g. failed logins, are not his), managers and admins all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from app.audit.labels import summary
from app.audit.models import Event
from app.core.inputs import parse_time
from app.errors import DeskError
from app.extensions import db
from app.security.rules import visible

PAGE_SIZE = 50
EXPORT_BATCH = 1000
SYSTEM = "system"  # the "user" filter's value for steps the desk took by itself


@dataclass
class EventFilter:
    """What the tracker is asked for; every field optional. ``case``: a case number (or id),
    ``user``: a login name (or ``system``), ``action``: an event type code, ``since`` /
    ``until``: a time range (ISO dates or date-times, UTC; a date alone as ``until`` takes
    the whole day)."""

    case: str = ""
    user: str = ""
    action: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def from_args(cls, args) -> EventFilter:
        return cls(**{name: (args.get(name) or "").strip()[:200] for name in cls.fields()})

    @staticmethod
    def fields() -> tuple[str, ...]:
        return ("case", "user", "action", "since", "until")

    def as_args(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.fields() if getattr(self, name)}


@dataclass
class EventPage:
    events: list[Event] = field(default_factory=list)
    next_cursor: str | None = None  # the "older" link; None on the last page


def _until(value: str) -> datetime:
    moment = parse_time(value, field="until")
    if len(value) <= 10:  # a date alone: up to the end of that day
        moment += timedelta(days=1)
    return moment


def conditions(flt: EventFilter) -> list:
    """The WHERE of a filter (raises DeskError, 400, for a value that cannot be read)."""
    found: list = []
    if flt.case:
        number = flt.case
        if number.isdigit():
            found.append(Event.case_id == int(number))
        else:
            found.append(Event.case.has(number=number.upper()))
    if flt.user:
        if flt.user.lower() == SYSTEM:
            found.append(Event.actor_id.is_(None))
        else:
            user_id = db.session.scalar(select(User.id).where(User.username == flt.user))
            found.append(Event.actor_id == (user_id if user_id is not None else -1))
    if flt.action:
        found.append(Event.action == flt.action)
    if flt.since:
        found.append(Event.created_at >= parse_time(flt.since, field="since"))
    if flt.until:
        found.append(Event.created_at < _until(flt.until))
    return found


def recent_actions(sample: int = 5000) -> list[str]:
    """The event types of the newest ``sample`` events (the type filter's suggestions): a
    bounded read, where DISTINCT over every event would scan them all."""
    newest = select(Event.action).order_by(Event.id.desc()).limit(sample).subquery()
    return sorted(db.session.scalars(select(newest.c.action).distinct()))


def encode_cursor(event: Event) -> str:
    return f"{event.created_at.isoformat()}~{event.id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        moment, _, event_id = cursor.partition("~")
        return datetime.fromisoformat(moment), int(event_id)
    except ValueError:
        raise DeskError("'before': not a position in the event list") from None


def _query(flt: EventFilter, before: tuple[datetime, int] | None, limit: int, user=None):
    stmt = select(Event).where(*conditions(flt))
    if before is not None:
        moment, event_id = before
        stmt = stmt.where(
            or_(
                Event.created_at < moment,
                and_(Event.created_at == moment, Event.id < event_id),
            )
        )
    stmt = visible(stmt, Event, user)
    return (
        stmt.options(joinedload(Event.case))
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(limit)
    )


def page(flt: EventFilter, before: str | None = None, *, user=None, size=PAGE_SIZE) -> EventPage:
    """One page of events, newest first, after the cursor ``before`` (from the previous
    page's ``next_cursor``)."""
    position = decode_cursor(before) if before else None
    rows = list(db.session.scalars(_query(flt, position, size + 1, user)).unique())
    more = len(rows) > size
    rows = rows[:size]
    return EventPage(rows, encode_cursor(rows[-1]) if more and rows else None)


def iterate(flt: EventFilter, *, user=None, batch=EXPORT_BATCH) -> Iterator[list[Event]]:
    """Every matching event the user may see, newest first, in batches (the same keyset)."""
    position = None
    while True:
        rows = list(db.session.scalars(_query(flt, position, batch, user)).unique())
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        position = (rows[-1].created_at, rows[-1].id)
        _forget(rows)


def _forget(rows: list[Event]) -> None:
    """Let the session drop what a batch loaded: a long export keeps it small."""
    session = db.session
    for event in rows:
        case = event.__dict__.get("case")
        if case is not None and case in session:
            session.expunge(case)
        if event in session:
            session.expunge(event)


CSV_COLUMNS = (
    "id",
    "time_utc",
    "user",
    "case",
    "object_type",
    "object_id",
    "action",
    "field",
    "old_value",
    "new_value",
    "summary",
)


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (``=``, ``+``, ``-``, ``@``)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(event: Event) -> list[str]:
    return [
        _cell(v)
        for v in (
            event.id,
            event.created_at.isoformat(sep=" ", timespec="seconds"),
            event.actor_name,
            event.case.number if event.case is not None else "",
            event.object_type,
            event.object_id,
            event.action,
            event.field,
            event.old_value,
            event.new_value,
            summary(event),
        )
    ]


def csv_lines(flt: EventFilter, *, user=None, batch=EXPORT_BATCH) -> Iterator[str]:
    """The CSV export, a header then one chunk of text per batch of events."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for rows in iterate(flt, user=user, batch=batch):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_row(event) for event in rows)
        yield buffer.getvalue()

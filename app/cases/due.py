"""A case's due times: when they are set, and the clock that measures them.

Every case has two targets, a first response and a resolution; ``sla_due_at`` (shown in every
list, used by Get next) is the next one: the first response due while the case is unanswered,
then the resolution due. Cases decide *when* they are set:

* when a case opens (``app.cases.services.open_case``);
* when its pool, topic or priority changes, or its first response is recorded, whichever door
  did it (a flush hook, like the tracker's Events);
* when its clock waits and goes on (``app.cases.workflow``: a postponed case, one waiting on
  the customer): the business time the next target had left when the wait began is kept
  (``sla_paused_seconds``) and counted again from the moment it ends, the other target moves
  on by as much; the time waited is summed in
  ``sla_paused_business_seconds``, so a later recomputation (a new priority) counts it too.

A closed case's targets are final: the flush hook leaves them alone (whatever changes its
priority or pool afterwards), lists and marks never call it overdue (``Case.due_state``), and a
case closed while its clock waited goes on from that pause when it is reopened.

*How much* time a case has, and on which hours, belongs to the SLA feature (policies per pool,
topic and priority on business calendars), which depends on cases: it hands its clock to
``install_clock`` when a desk starts (its manifest's ``setup``), as answering hands cases its
notice sender. Without it, ``WallClock`` keeps the plain rule: the pool's hours
(``Pool.sla_hours``, else ``DEFAULT_SLA_HOURS``) of elapsed time for both targets.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

DUE_SOON = timedelta(minutes=60)
# ``CaseStatus.CLOSED`` (the workflow imports this module, not the other way round).
CLOSED = "closed"
# A change of one of these moves the case's targets.
RECOMPUTE_ON = ("pool", "topic", "priority", "first_response_at")


class DueClock(Protocol):
    def due_times(self, case) -> tuple[datetime | None, datetime | None]:
        """(first response due, resolution due) of ``case``, its waiting time included."""

    def elapsed(self, case, start: datetime, end: datetime) -> timedelta:
        """The time that counts for ``case`` between two moments (its business hours)."""

    def add(self, case, start: datetime, delta: timedelta) -> datetime:
        """The moment ``delta`` of the case's time after ``start`` (before, when negative)."""

    def due_soon(self, case, now: datetime) -> bool:
        """Whether the case's next target is near enough to warn (not yet passed)."""

    def first_response_target(self, case) -> timedelta:
        """How much of the case's time its first response may take (what the customer is
        told to expect: the auto-response's ``{hours}``)."""


def _pool_hours(case) -> int:
    pool = case.pool
    return (pool.sla_hours if pool is not None else None) or current_app.config["DEFAULT_SLA_HOURS"]


class WallClock:
    """The desk without SLA policies: the pool's hours of elapsed time, round the clock."""

    def due_times(self, case):
        due = (
            case.received_at
            + timedelta(hours=_pool_hours(case))
            + timedelta(seconds=case.sla_paused_business_seconds or 0)
        )
        return due, due

    def elapsed(self, case, start, end):
        return end - start

    def add(self, case, start, delta):
        return start + delta

    def due_soon(self, case, now):
        return case.sla_due_at is not None and now <= case.sla_due_at <= now + DUE_SOON

    def first_response_target(self, case):
        return timedelta(hours=_pool_hours(case))


_clock: DueClock = WallClock()


def install_clock(clock: DueClock) -> None:
    """Make ``clock`` the one that measures every case's due times (the SLA feature)."""
    global _clock
    _clock = clock


def clock() -> DueClock:
    return _clock


def set_due_times(case) -> None:
    """Set the case's targets from its clock; ``sla_due_at`` becomes the next one. The first
    response target stays as it was once the case is answered (it is what the answer was
    measured against)."""
    first, resolution = _clock.due_times(case)
    if case.first_response_at is None or case.first_response_due_at is None:
        case.first_response_due_at = first
    case.resolution_due_at = resolution
    case.sla_due_at = case.first_response_due_at if case.first_response_at is None else resolution


def pause(case, now: datetime) -> None:
    """The clock waits from ``now`` (a postponed case, one waiting on the customer): keep the
    business time its next target has left (negative when it is overdue already)."""
    if case.sla_paused_at is None:
        case.sla_paused_at = now
        case.sla_paused_seconds = (
            int(_clock.elapsed(case, now, case.sla_due_at).total_seconds())
            if case.sla_due_at is not None
            else None
        )


def resume(case, now: datetime) -> None:
    """The clock goes on: each target gets as much of the case's time after ``now`` as it had
    left when the wait began (an overdue one stays as far overdue), and the waited time is
    added to ``sla_paused_business_seconds`` (a later recomputation counts it too)."""
    paused_at = case.sla_paused_at
    if paused_at is None:
        return
    now = max(now, paused_at)

    def moved(target):
        if target is None:
            return None
        return _clock.add(case, now, _clock.elapsed(case, paused_at, target))

    left = case.sla_paused_seconds
    next_due = (
        _clock.add(case, now, timedelta(seconds=left))
        if left is not None
        else moved(case.sla_due_at)
    )
    if case.first_response_at is None:
        case.first_response_due_at = next_due
        case.resolution_due_at = moved(case.resolution_due_at)
    else:
        case.resolution_due_at = next_due
    case.sla_due_at = next_due
    waited = _clock.elapsed(case, paused_at, now)
    case.sla_paused_business_seconds = (case.sla_paused_business_seconds or 0) + int(
        waited.total_seconds()
    )
    case.sla_paused_at = None
    case.sla_paused_seconds = None


def _before_flush(session: Session, flush_context, instances) -> None:
    """Pool, topic, priority or first response changed: the targets follow, whatever door
    changed them (runs before the tracker, so the due time's change is recorded too)."""
    for obj in list(session.dirty):
        if getattr(obj, "__tablename__", None) != "case":
            continue
        state = inspect(obj)
        if obj.status == CLOSED and not state.attrs.status.history.has_changes():
            # A closed case's targets are final (what it was measured against): whatever
            # door changes its priority, topic or pool, they stay until it is reopened.
            continue
        if any(state.attrs[name].history.has_changes() for name in RECOMPUTE_ON):
            with session.no_autoflush:
                set_due_times(obj)


_connected = False


def connect() -> None:
    """Hook the recomputation into every session (once per process; the cases' setup)."""
    global _connected
    if not _connected:
        event.listen(Session, "before_flush", _before_flush, insert=True)
        _connected = True

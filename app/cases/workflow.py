"""The one case state machine. Every status change in Loopdesk goes through ``transition``.

::

    received ──► in_progress ◄──► under_consultation
       │            │  ▲  ▲  ▲
       │            │  │  │  └── awaiting_approval ──► waiting_on_customer
       │            │  │  └──────────────────────────► waiting_on_customer (a reply was sent)
       │            ▼  │                                  │ (the customer answers)
       │         postponed                                ▼
       └────────────┴──────► closed ──(reopen)──► in_progress

The case actions (``app.cases.actions``) call ``transition``; views, the REST API, the CLI, jobs
and other features' services call those actions (the intake reopens a case with a customer's
mail through ``transition`` itself). An illegal move raises ``IllegalTransition`` with a message that names both statuses. A validator on
``Case.status`` enforces the same table even for code that assigns the attribute directly.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from app.cases import due
from app.core.timeutil import utcnow
from app.errors import IllegalTransition


class CaseStatus(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    UNDER_CONSULTATION = "under_consultation"
    AWAITING_APPROVAL = "awaiting_approval"
    POSTPONED = "postponed"
    # The customer has an answer and the next move is his: his mail brings the case back to
    # "in progress"; the inactivity reminders and the SLA pause look at this status.
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


S = CaseStatus

ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.RECEIVED: frozenset({S.IN_PROGRESS, S.UNDER_CONSULTATION, S.POSTPONED, S.CLOSED}),
    S.IN_PROGRESS: frozenset(
        {S.UNDER_CONSULTATION, S.AWAITING_APPROVAL, S.POSTPONED, S.WAITING_ON_CUSTOMER, S.CLOSED}
    ),
    S.UNDER_CONSULTATION: frozenset({S.IN_PROGRESS, S.POSTPONED, S.CLOSED}),
    S.AWAITING_APPROVAL: frozenset({S.IN_PROGRESS, S.WAITING_ON_CUSTOMER, S.CLOSED}),
    S.POSTPONED: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.WAITING_ON_CUSTOMER: frozenset({S.IN_PROGRESS, S.UNDER_CONSULTATION, S.POSTPONED, S.CLOSED}),
    S.CLOSED: frozenset({S.IN_PROGRESS}),  # reopen
}

OPEN_STATUSES = frozenset(s for s in CaseStatus if s is not S.CLOSED)

#: While a case is in one of these the due clock waits (``pause_due_clock``): the desk waits
#: for a date or for the customer, not for an agent.
CLOCK_PAUSED_STATUSES = frozenset({S.POSTPONED, S.WAITING_ON_CUSTOMER})


def check_transition(current: str | None, target: str) -> CaseStatus:
    """Return the target status, or raise IllegalTransition with a clear reason."""
    try:
        to = CaseStatus(target)
    except ValueError:
        raise IllegalTransition(f"'{target}' is not a case status") from None
    if current is None:
        if to is not S.RECEIVED:
            raise IllegalTransition(f"a new case starts as 'received', not '{to.value}'")
        return to
    frm = CaseStatus(current)
    if to not in ALLOWED[frm]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED[frm])) or "nothing"
        raise IllegalTransition(
            f"a case cannot move from '{frm.value}' to '{to.value}' (allowed: {allowed})"
        )
    return to


def transition(case, target: str, *, reason: str | None = None, at: datetime | None = None):
    """Move ``case`` to ``target`` and stamp the timestamps that belong to that move (``at``:
    the moment the move stands for, default now).

    The Event is written by the tracker when the session flushes; ``reason`` goes into its
    details. The caller commits (services own the transaction).
    """
    was = case.status
    to = check_transition(case.status, target)
    details = {"reason": reason} if reason else None
    case._pending_event_details = details
    case._status_via_workflow = True
    try:
        case.status = to.value
    finally:
        case._status_via_workflow = False
    now = at or utcnow()
    if to is S.CLOSED:
        case.closed_at = now
        case.postponed_until = None
    elif case.closed_at is not None and to is S.IN_PROGRESS:
        case.closed_at = None  # reopened
    if to is not S.POSTPONED:
        case.postponed_until = None
    paused_before = was in CLOCK_PAUSED_STATUSES
    if to in CLOCK_PAUSED_STATUSES and not paused_before:
        pause_due_clock(case, now)
    elif paused_before and to not in CLOCK_PAUSED_STATUSES and to is not S.CLOSED:
        # (a case closed while it waited keeps the due time it had: the clock stops there)
        resume_due_clock(case, now)
    elif was == S.CLOSED and case.sla_paused_at is not None and to not in CLOCK_PAUSED_STATUSES:
        # Closed while it waited, now reopened: the clock goes on with the time it had left
        # (a stale pause would keep a later wait from pausing it at all).
        resume_due_clock(case, now)
    return case


def pause_due_clock(case, now) -> None:
    """The case waits for a date or for the customer: its due clock stops at ``now``
    (``app.cases.due``), and while it waits it is never overdue."""
    due.pause(case, now)


def resume_due_clock(case, now) -> None:
    """The clock goes on: the open time the case waited is added to its targets, so it comes
    back with as much business time left as it had (overdue ones stay as overdue)."""
    due.resume(case, now)

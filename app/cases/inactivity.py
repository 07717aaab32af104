"""Inactivity: cases waiting on the customer are reminded and, at last, closed.

Per pool (``Pool.inactivity_reminder_days``, default "7,14", and ``inactivity_close_days``,
default 21; empty: off), a case in "waiting on the customer" gets a reminder mail when it has
waited that many days, and is closed by the desk with a notice that invites the customer to
answer (which reopens it) when it has waited ``inactivity_close_days``.

The waiting period starts when the case last entered "waiting on the customer" (a reply was
sent): a customer's answer brings it back to "in progress", and the next reply starts a new
period, counted from zero. Each step sent is a row of ``InactivityNotice`` (case, start of the
period, days), unique, so the job is idempotent: run twice, it sends nothing the second time.
When the job was not running for a while, a case gets only the latest reminder due, not each
one it missed. Every step is an Event; mails are the desk's notices in the customer's language
(``notice.inactivity_reminder``, ``notice.inactivity_closed``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.audit.actor import acting_as
from app.audit.models import Event
from app.audit.tracking import record_event
from app.cases import actions, notices
from app.cases.models import Case, InactivityNotice
from app.cases.workflow import CaseStatus
from app.core.timeutil import utcnow
from app.extensions import db
from app.organisation.models import Pool, day_list

WAITING = CaseStatus.WAITING_ON_CUSTOMER.value
REMINDER = "reminder"
CLOSED = "closed"


def thresholds(pool: Pool) -> tuple[list[int], int | None]:
    """(reminder days, close days) of a pool; reminders at or after the close are dropped.
    A malformed reminder setting counts as none (the pool form refuses it)."""
    try:
        reminders = day_list(pool.inactivity_reminder_days)
    except ValueError:
        reminders = []
    close = pool.inactivity_close_days or None
    if close is not None:
        reminders = [d for d in reminders if d < close]
    return reminders, close


def waiting_since(case_ids: list[int]) -> dict[int, datetime]:
    """When each case last entered "waiting on the customer" (its status Event)."""
    if not case_ids:
        return {}
    rows = db.session.execute(
        select(Event.case_id, func.max(Event.created_at))
        .where(Event.case_id.in_(case_ids), Event.action == "status", Event.new_value == WAITING)
        .group_by(Event.case_id)
    ).all()
    return {case_id: moment for case_id, moment in rows}


def _steps_sent(case_ids: list[int]) -> dict[tuple[int, datetime], set[int]]:
    rows = db.session.execute(
        select(
            InactivityNotice.case_id, InactivityNotice.waiting_since, InactivityNotice.days
        ).where(InactivityNotice.case_id.in_(case_ids))
    ).all()
    sent: dict[tuple[int, datetime], set[int]] = {}
    for case_id, since, days in rows:
        sent.setdefault((case_id, since), set()).add(days)
    return sent


def _claim_step(
    case: Case, since: datetime, days: int, step: str, now: datetime
) -> InactivityNotice | None:
    """Write the step's row in a savepoint: None when it exists already (another run)."""
    row = InactivityNotice(case=case, waiting_since=since, days=days, step=step, sent_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row


def _remind(case: Case, notice: InactivityNotice, since: datetime, days: int) -> None:
    mail_id = None
    if case.customer is not None and case.customer.email:
        mail_id = notices.send(notices.INACTIVITY_REMINDER, case, kind="notification")
    notice.outbox_id = mail_id
    record_event(
        db.session,
        case,
        "inactivity reminder",
        details={
            "days": days,
            "waiting_since": since.isoformat(sep=" ", timespec="minutes"),
            "notice_outbox_id": mail_id,
        },
    )


def run_inactivity(now: datetime | None = None) -> list[str]:
    """The periodic job: remind and close the cases waiting on the customer (see the module
    docstring), as the desk, committed; one line per step taken ("LD-000042 reminder 7")."""
    now = now or utcnow()
    done: list[str] = []
    with acting_as(None):
        pools = {
            pool.id: pool
            for pool in db.session.scalars(
                select(Pool).where(
                    or_(
                        Pool.inactivity_close_days.is_not(None),
                        Pool.inactivity_reminder_days.is_not(None),
                    )
                )
            )
        }
        cases = db.session.scalars(
            select(Case)
            .where(Case.status == WAITING, Case.pool_id.in_(list(pools)))
            .order_by(Case.id)
        ).all()
        ids = [case.id for case in cases]
        started = waiting_since(ids)
        sent = _steps_sent(ids)
        for case in cases:
            since = started.get(case.id) or case.first_response_at or case.updated_at
            reminders, close = thresholds(pools[case.pool_id])
            waited = now - since
            already = sent.get((case.id, since), set())
            if close is not None and waited >= timedelta(days=close):
                notice = _claim_step(case, since, close, CLOSED, now)
                if notice is not None:
                    notice.outbox_id = actions.close_for_inactivity(case, close)
                    done.append(f"{case.number} closed {close}")
                continue
            due = [d for d in reminders if waited >= timedelta(days=d)]
            if not due or any(d >= due[-1] for d in already):
                continue
            notice = _claim_step(case, since, due[-1], REMINDER, now)
            if notice is not None:
                _remind(case, notice, since, due[-1])
                done.append(f"{case.number} reminder {due[-1]}")
        db.session.commit()
    return done

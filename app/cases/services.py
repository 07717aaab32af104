"""Case services: the only code that creates cases and moves them.

Views, the REST API, the CLI and jobs call these functions; each checks the record rules for
the acting user, changes the case through the state machine and commits, so the Event trail
(written by ``app.audit.tracking``) is complete whichever door the change came through.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.audit.actor import current_actor
from app.cases.models import Case, CaseNumberCounter, Message
from app.cases.workflow import CaseStatus, check_transition, transition
from app.core.priority import Priority
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db
from app.security import rules


def next_case_number(prefix: str | None = None) -> str:
    """Hand out the next case number (``LD-000042``) atomically."""
    return reserve_case_numbers(1, prefix)[0]


def reserve_case_numbers(
    count: int, prefix: str | None = None, *, own_transaction: bool = False
) -> list[str]:
    """Hand out ``count`` consecutive case numbers with one ``UPDATE … RETURNING``.

    In the caller's transaction (the default) the numbers are gap-free: they vanish with a
    rollback. The counter row stays locked until that transaction ends, so on PostgreSQL a
    long transaction (the intake's batches) asks for ``own_transaction``: the numbers are
    committed at once on a second connection and concurrent batches never wait for each
    other; a batch that fails afterwards leaves a gap, as a database sequence would. SQLite
    has one writer at a time anyway, so there it always uses the caller's transaction.
    """
    if count <= 0:
        return []
    prefix = prefix or current_app.config["CASE_NUMBER_PREFIX"]
    stmt = (
        update(CaseNumberCounter)
        .where(CaseNumberCounter.prefix == prefix)
        .values(value=CaseNumberCounter.value + count)
        .returning(CaseNumberCounter.value)
        # No session synchronisation: the ORM would otherwise scan every object the session
        # holds (a bulk import's session holds thousands) for a counter row to refresh.
        .execution_options(synchronize_session=False)
    )
    create = _insert_counter_if_missing(prefix)
    if own_transaction and db.engine.dialect.name != "sqlite":
        with db.engine.begin() as conn:
            last = conn.execute(stmt).scalar()
            if last is None:
                conn.execute(create)
                last = conn.execute(stmt).scalar()
    else:
        # The counter does not depend on anything pending in the session: no autoflush, so
        # the caller's new rows are flushed once, together, instead of once per statement.
        with db.session.no_autoflush:
            last = db.session.execute(stmt).scalar()
            if last is None:
                db.session.execute(create)
                last = db.session.execute(stmt).scalar()
    return [f"{prefix}-{value:06d}" for value in range(last - count + 1, last + 1)]


def _insert_counter_if_missing(prefix: str):
    """``INSERT … ON CONFLICT DO NOTHING`` of a prefix's counter row (a first case ever, or a
    process that races another one to create it)."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (
        insert(CaseNumberCounter)
        .values(prefix=prefix, value=0)
        .on_conflict_do_nothing(index_elements=["prefix"])
    )


def sla_due_for(pool, received_at: datetime) -> datetime:
    hours = pool.sla_hours if pool is not None and pool.sla_hours else None
    hours = hours or current_app.config["DEFAULT_SLA_HOURS"]
    return received_at + timedelta(hours=hours)


def open_case(
    *,
    pool,
    subject: str,
    customer=None,
    mailbox=None,
    topic=None,
    required_skill=None,
    priority: int | None = None,
    received_at: datetime | None = None,
    follows_case=None,
    commit: bool = True,
    number_later: bool = False,
) -> Case:
    """Create a case in status 'received' with its number and SLA due time.

    Topic settings fill what the caller leaves empty (pool, skill, priority). With
    ``number_later`` the caller sets ``case.number`` before the flush (the intake reserves
    the numbers of a whole batch with one statement).
    """
    if topic is not None:
        pool = pool or topic.effective("pool")
        required_skill = required_skill or topic.effective("skill")
        if priority is None:
            priority = topic.effective("priority")
    if pool is None:
        raise DeskError("A case needs a pool.")
    received_at = received_at or utcnow()
    case = Case(
        number=None if number_later else next_case_number(),
        subject=(subject or "(no subject)")[:998],
        customer=customer,
        pool=pool,
        mailbox=mailbox,
        topic=topic,
        required_skill=required_skill,
        priority=int(priority or Priority.NORMAL),
        received_at=received_at,
        sla_due_at=sla_due_for(pool, received_at),
        follows_case=follows_case,
    )
    case.status = CaseStatus.RECEIVED.value
    db.session.add(case)
    if commit:
        db.session.commit()
    return case


def get_case(case_id: int, user=None) -> Case:
    """Load a case the acting user may see, or raise AccessDenied (reported as not found)."""
    user = current_actor() if user is None else user
    case = db.session.get(Case, case_id)
    return rules.ensure_visible(case, user)


def change_status(case: Case, target: str, *, reason: str | None = None, answers=None) -> Case:
    """Move a visible case to ``target`` through the state machine and commit.

    Closing, reopening and postponing carry more rules (wrap-up questionnaire, customer
    notice, a date), so those moves go through their own services below.
    """
    check_transition(case.status, target)  # an illegal move fails before anything else
    if target == CaseStatus.CLOSED:
        return close_case(case, reason=reason, answers=answers)
    if target == CaseStatus.POSTPONED:
        raise DeskError("Postponing needs a date: use postpone (with 'until').")
    if target == CaseStatus.IN_PROGRESS and case.status == CaseStatus.CLOSED:
        return reopen_case(case, reason=reason)
    rules.ensure_visible(case)
    transition(case, target, reason=reason)
    db.session.commit()
    return case


def claim_case(case: Case) -> Case:
    """Assign the case to the acting agent and start work on it."""
    actor = current_actor()
    if actor is None:
        raise DeskError("Only a person can claim a case.")
    rules.ensure_visible(case, actor)
    if case.status == CaseStatus.CLOSED:
        raise DeskError(f"{case.number} is closed; reopen it first.")
    case.assignee_id = actor.id
    if case.status == CaseStatus.RECEIVED:
        transition(case, CaseStatus.IN_PROGRESS.value, reason="claimed")
    db.session.commit()
    return case


def release_case(case: Case) -> Case:
    """Give a case back to its pool (no assignee)."""
    rules.ensure_visible(case)
    case.assignee_id = None
    db.session.commit()
    return case


# Closing, reopening, postponing and notes are agent actions with more rules (wrap-up
# questionnaire, customer notice, explicit events); app.answering owns them, and every door
# (case page, list action, REST API, CLI) reaches them through these names.


def close_case(case: Case, *, reason: str | None = None, answers: dict | None = None) -> Case:
    from app.answering import services as answering

    return answering.close(case, answers=answers, reason=reason)


def reopen_case(case: Case, *, reason: str | None = None) -> Case:
    from app.answering import services as answering

    return answering.reopen(case, reason=reason)


def postpone_case(case: Case, until: datetime, *, reason: str | None = None) -> Case:
    from app.answering import services as answering

    return answering.postpone(case, until, reason=reason)


def add_note(case: Case, text: str) -> Message:
    from app.answering import services as answering

    return answering.add_note(case, text)


def thread(case: Case):
    """The case's messages, oldest first, for the case page and the API."""
    rules.ensure_visible(case)
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.case_id == case.id)
            .order_by(Message.created_at, Message.id)
        )
    )

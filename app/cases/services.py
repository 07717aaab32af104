"""Case services: the only code that creates cases (numbers, SLA due time) and reads them.

Everything that changes a case once it exists is in ``app.cases.actions``. Views, the REST
API, the CLI, the intake and jobs call these functions; reading checks the record rules for
the acting user.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from app.audit.actor import current_actor
from app.cases import due
from app.cases.models import Case, CaseNumberCounter, Message
from app.cases.workflow import CaseStatus
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
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    return (
        insert(CaseNumberCounter)
        .values(prefix=prefix, value=0)
        .on_conflict_do_nothing(index_elements=["prefix"])
    )


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
    """Create a case in status 'received' with its number and due times (``app.cases.due``).

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
        follows_case=follows_case,
    )
    case.status = CaseStatus.RECEIVED.value
    due.set_due_times(case)
    db.session.add(case)
    if commit:
        db.session.commit()
    return case


def get_case(case_id: int, user=None) -> Case:
    """Load a case the acting user may see, or raise AccessDenied (reported as not found)."""
    user = current_actor() if user is None else user
    case = db.session.get(Case, case_id)
    return rules.ensure_visible(case, user)


def thread(case: Case, *, latest: int | None = None) -> list[Message]:
    """The case's messages, oldest first, for the case page and the API; their authors and
    attachments come with them (two queries in all, however long the thread). ``latest``:
    only that many of the newest (the workspace opens a long thread at its end)."""
    rules.ensure_visible(case)
    # Attachments and authors come with the thread in the same statement, not one query
    # per message as the page shows them (a case with 200 messages made 200 queries).
    query = (
        select(Message)
        .where(Message.case_id == case.id)
        .options(joinedload(Message.author), selectinload(Message.attachments))
    )
    if latest is None:
        return list(db.session.scalars(query.order_by(Message.created_at, Message.id)).unique())
    newest = db.session.scalars(
        query.order_by(Message.created_at.desc(), Message.id.desc()).limit(latest)
    ).unique()
    return list(newest)[::-1]


def thread_end(case: Case, latest: int) -> tuple[list[Message], int]:
    """The newest ``latest`` messages of the case's thread (oldest first, as ``thread``) and
    how many messages the whole thread holds, read with the same statement."""
    rules.ensure_visible(case)
    total = func.count().over().label("thread_total")
    rows = (
        db.session.execute(
            select(Message, total)
            .where(Message.case_id == case.id)
            .options(joinedload(Message.author), selectinload(Message.attachments))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(latest)
        )
        .unique()
        .all()
    )
    return [row[0] for row in reversed(rows)], (rows[0][1] if rows else 0)


def thread_length(case: Case) -> int:
    """How many messages the case's thread holds."""
    return db.session.scalar(select(func.count(Message.id)).where(Message.case_id == case.id))

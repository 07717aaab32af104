"""Retention: cases closed longer than ``CASE_ARCHIVE_AFTER_DAYS`` move to the archive.

Archiving is a mark (``Case.archived_at``), never a delete: the case, its thread and its
history are kept, the case page opens as before, the case list and the API find it when asked
(``include archived``); the daily lists (My cases, the queue, the case list) leave it out.
Reopening a case takes it out of the archive (``Case._validate_status``), with an Event.

The job runs in batches of ``CASE_ARCHIVE_BATCH`` cases, one transaction each, and is
idempotent: it picks only closed cases not yet archived, so a second run (or a run that
crashed half-way) archives only what is still due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import insert, select, update

from app.audit.models import Event
from app.cases.models import Case
from app.cases.workflow import CaseStatus
from app.core.timeutil import utcnow
from app.extensions import db

ARCHIVED = "archived"


def archive_cutoff(now: datetime | None = None) -> datetime:
    """Cases closed before this moment are due for the archive."""
    days = int(current_app.config.get("CASE_ARCHIVE_AFTER_DAYS", 730))
    return (now or utcnow()) - timedelta(days=days)


def due_for_archive(now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of closed cases past the retention period and not yet archived, oldest first."""
    stmt = (
        select(Case.id)
        .where(
            Case.archived_at.is_(None),
            Case.status == CaseStatus.CLOSED.value,
            Case.closed_at < archive_cutoff(now),
        )
        .order_by(Case.closed_at, Case.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def archive_closed_cases(now: datetime | None = None, batch: int | None = None) -> int:
    """Archive every case due (see the module docstring); returns how many it archived. Each
    case gets an Event ("archived", by the system) in the same transaction as its mark."""
    now = now or utcnow()
    batch = batch or int(current_app.config.get("CASE_ARCHIVE_BATCH", 500))
    days = int(current_app.config.get("CASE_ARCHIVE_AFTER_DAYS", 730))
    total = 0
    while True:
        ids = due_for_archive(now, limit=batch)
        if not ids:
            return total
        # Guarded again by the WHERE: a case reopened meanwhile is not archived.
        result = db.session.execute(
            update(Case)
            .where(
                Case.id.in_(ids),
                Case.archived_at.is_(None),
                Case.status == CaseStatus.CLOSED.value,
            )
            .values(archived_at=now)
            .returning(Case.id)
            .execution_options(synchronize_session=False)
        )
        done = [row[0] for row in result]
        if done:
            db.session.execute(
                insert(Event),
                [
                    {
                        "created_at": now,
                        "actor_id": None,
                        "actor_name": "system",
                        "case_id": case_id,
                        "object_type": "case",
                        "action": ARCHIVED,
                        "new_value": now.isoformat(sep=" ", timespec="minutes"),
                        "details": {"closed_longer_than_days": days},
                    }
                    for case_id in done
                ],
            )
        db.session.commit()
        total += len(done)
        if len(ids) < batch:
            return total

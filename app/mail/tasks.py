"""RQ jobs of the mail intake that are not fetching (``app.mail.fetch`` has those).

Store first means a raw row is committed before it is processed; a process that dies in
between (a killed import, a web worker restarted during a webhook call, the machine losing
power) leaves the row ``stored``. IMAP and POP3 rounds process such rows the next time the
server hands the same mail out; for every other channel this job does it, so every stored
mail ends processed, duplicate or quarantined, and none waits for a person to notice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from app.core.features import PeriodicJob
from app.core.timeutil import utcnow
from app.extensions import db
from app.jobs.context import in_app_context
from app.jobs.queue import connection
from app.mail import fetch, intake, spool
from app.mail.models import RawMessage, RawMessageStatus

log = logging.getLogger(__name__)

# Younger rows may still be in the middle of their batch (a batch takes well under a second;
# this leaves room for a slow database without ever racing the process that stored them).
STALE_AFTER = timedelta(minutes=10)
INTERVAL_SECONDS = 300


def stale_stored_ids(older_than: timedelta = STALE_AFTER, limit: int = 1000) -> list[int]:
    return list(
        db.session.scalars(
            select(RawMessage.id)
            .where(
                RawMessage.status == RawMessageStatus.STORED,
                RawMessage.received_at < utcnow() - older_than,
            )
            .order_by(RawMessage.id)
            .limit(limit)
        )
    )


def process_stale_stored(older_than: timedelta = STALE_AFTER) -> dict:
    """Process raw rows left ``stored`` for longer than ``older_than``; one runner at a time."""
    lock = connection().lock("loopdesk:intake:stale", timeout=3600, blocking=False)
    if not lock.acquire():
        return {"skipped": "another run is busy"}
    counts: dict[str, int] = {}
    try:
        while ids := stale_stored_ids(older_than):
            rows = db.session.scalars(select(RawMessage).where(RawMessage.id.in_(ids))).all()
            for result in intake.process_in_batches(rows):
                counts[result.status] = counts.get(result.status, 0) + 1
            if counts.get(
                RawMessageStatus.STORED
            ):  # the database refused even the quarantine: try later
                break
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile; nothing held any more
            pass
    if counts:
        log.warning(
            "processed %s raw messages left unprocessed by a crash: %s",
            sum(counts.values()),
            counts,
        )
    return counts


@in_app_context
def process_stale_stored_job() -> dict:
    """Job: see ``process_stale_stored`` (scheduled every five minutes)."""
    return process_stale_stored()


def periodic_jobs() -> list[PeriodicJob]:
    return [
        PeriodicJob(fetch.enqueue_fetch_jobs, "mail", fetch.fetch_interval()),
        PeriodicJob(process_stale_stored_job, "mail", INTERVAL_SECONDS),
        # Cheap when MAIL_SPOOL_DIR is unset (returns at once), so always scheduled: setting it
        # needs no change to rq cron's schedule.
        PeriodicJob(spool.drain_spool_job, "mail", spool.INTERVAL_SECONDS),
    ]

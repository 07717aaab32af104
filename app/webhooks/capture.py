"""Deliveries written in the transaction of the change they tell of (transactional outbox).

The features below (cases, mail, answering, questionnaires) know nothing of webhooks: they
record what happens as they always do, as Events and Messages. When a desk starts,
``install`` listens to those rows being inserted; after each flush the new ones that are a
webhook event (``app.webhooks.payloads.occurrences_of``) become one ``WebhookDelivery`` per
active subscription of that event type, added to the same session, so they commit, or roll
back, with the change. After the commit a delivery job is enqueued as a head start; the
periodic round delivers the rows anyway if that job is lost.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, object_session

from app.audit.models import Event
from app.cases.models import Message
from app.core.timeutil import utcnow
from app.jobs.queue import enqueue
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from app.webhooks.payloads import encode, occurrences_of, payload
from app.webhooks.tasks import QUEUE, deliver_due_webhooks

log = logging.getLogger(__name__)

_SEEN = "loopdesk_webhook_seen"  # session.info: Events and Messages inserted since the last look
_WAKEUP = "loopdesk_webhook_wakeup"  # session.info: enqueue a delivery round after commit
_LAST_JOB = "loopdesk_webhook_last_job"


def _inserted(mapper, connection, target) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_SEEN, []).append(target)


def _after_flush_postexec(session: Session, flush_context) -> None:
    seen = session.info.pop(_SEEN, None)
    if not seen:
        return
    with session.no_autoflush:
        occurrences = [found for row in seen for found in occurrences_of(row)]
        if not occurrences:
            return
        subscriptions = list(
            session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))
        )
        now = utcnow()
        for occurrence in occurrences:
            listeners = [s for s in subscriptions if s.listens_to(occurrence.type)]
            if not listeners:
                continue
            body = encode(payload(occurrence))
            for subscription in listeners:
                session.add(
                    WebhookDelivery(
                        subscription=subscription,
                        event_type=occurrence.type.value,
                        event_uid=occurrence.uid,
                        case_id=getattr(occurrence.case, "id", None),
                        body=body,
                        status=DeliveryStatus.PENDING.value,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                session.info[_WAKEUP] = True


def _after_commit(session: Session) -> None:
    session.info.pop(_SEEN, None)
    if not session.info.pop(_WAKEUP, False) or not has_app_context():
        return
    if _waiting_round():
        return  # a round that has not started yet will see this commit's rows
    try:  # a head start only: the periodic round delivers the rows anyway
        job = enqueue(deliver_due_webhooks, queue=QUEUE, job_result_ttl=60)
        current_app.extensions[_LAST_JOB] = (time.monotonic(), job)
    except Exception as exc:  # noqa: BLE001 - Redis down must not fail the caller's commit
        log.warning("webhooks: could not enqueue a delivery round: %s", exc)


def _waiting_round() -> bool:
    """True when this app enqueued a round moments ago that is still waiting in the queue:
    a busy intake then does not put one identical job per commit on the queue."""
    last = current_app.extensions.get(_LAST_JOB)
    if last is None or time.monotonic() - last[0] > 2:
        return False
    try:
        return last[1].get_status(refresh=True) == "queued"
    except Exception:  # noqa: BLE001 - unknown (the job is gone): enqueue another one
        return False


def _after_rollback(session: Session) -> None:
    session.info.pop(_SEEN, None)
    session.info.pop(_WAKEUP, None)


_installed = False


def install() -> None:
    """Listen to new Events and Messages (once per process); the manifest's ``setup``."""
    global _installed
    if _installed:
        return
    event.listen(Event, "after_insert", _inserted)
    event.listen(Message, "after_insert", _inserted)
    event.listen(Session, "after_flush_postexec", _after_flush_postexec)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda s, prev: _after_rollback(s))
    _installed = True

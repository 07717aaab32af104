"""Deliver due webhook deliveries: claim, POST signed, log the attempt, back off on failure.

A round **claims** due rows (pending, ``next_attempt_at`` passed, subscription active) by
stamping its ``claim_token`` and moving ``next_attempt_at`` to the end of a lease, and
commits; the UPDATE re-checks that each row is still due, so two rounds never own one row
(PostgreSQL additionally skips rows another round has locked). Then, outside any
transaction, it POSTs each body with a fresh timestamp and signature, and records the
attempt (status code, an excerpt of the answer, the duration, the error) with its outcome:

* 2xx: ``delivered``;
* anything else (refused connection, timeout, 4xx, 5xx): still ``pending``, due again after
  ``WEBHOOK_RETRY_BASE_SECONDS * 2**(attempts - 1)`` seconds, at most
  ``WEBHOOK_RETRY_MAX_SECONDS``. A dead receiver delays its deliveries; none is dropped.

A worker that dies mid-round leaves its rows claimed until the lease ends; then they are
due again, and the next round (the periodic job) sends them.
"""

from __future__ import annotations

import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, select, update

from app.core.timeutil import utcnow
from app.extensions import db
from app.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.webhooks.settings import setting
from app.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, TIMESTAMP_HEADER, signed_headers

log = logging.getLogger(__name__)

D = WebhookDelivery.__table__
EXCERPT = 500  # characters of the receiver's answer kept per attempt
USER_AGENT = "Loopdesk-Webhooks/1"


@dataclass
class RoundReport:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0  # attempts that failed; the deliveries wait for their next try

    def add(self, other: RoundReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed

    def as_dict(self) -> dict:
        return {"claimed": self.claimed, "delivered": self.delivered, "failed": self.failed}


@dataclass
class Answer:
    status_code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff_seconds(attempts: int) -> int:
    """Wait after ``attempts`` failed tries: 30 s, 60 s, 120 s, … capped."""
    base = int(setting("WEBHOOK_RETRY_BASE_SECONDS"))
    return min(base * 2 ** max(attempts - 1, 0), int(setting("WEBHOOK_RETRY_MAX_SECONDS")))


def _due(now):
    active = (
        select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True)).scalar_subquery()
    )
    return and_(
        D.c.status == DeliveryStatus.PENDING.value,
        D.c.next_attempt_at <= now,
        D.c.subscription_id.in_(active),
    )


def claim(limit: int, only_ids=None) -> tuple[str, list[int]]:
    """Take up to ``limit`` due deliveries for this round; commit; (token, ids)."""
    now = utcnow()
    token = secrets.token_hex(16)
    due = _due(now)
    candidates = select(D.c.id).where(due)
    if only_ids is not None:
        candidates = candidates.where(D.c.id.in_(list(only_ids)))
    candidates = (
        candidates.order_by(D.c.next_attempt_at, D.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    try:
        ids = list(db.session.execute(candidates).scalars())
        claimed: list[int] = []
        if ids:
            lease = now + timedelta(seconds=int(setting("WEBHOOK_LEASE_SECONDS")))
            db.session.execute(
                update(D)
                .where(D.c.id.in_(ids), due)  # re-checked: a row another round took is skipped
                .values(claim_token=token, next_attempt_at=lease)
            )
            claimed = sorted(
                db.session.execute(select(D.c.id).where(D.c.claim_token == token)).scalars()
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return token, claimed


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body``; never raises for what the receiver (or the network) does."""
    request = urllib.request.Request(url, data=body, method="POST")
    for name, value in {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }.items():
        request.add_header(name, value)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - admins' URLs
            status, text = response.status, response.read(EXCERPT * 4)
        error = None
    except urllib.error.HTTPError as exc:
        status, text, error = exc.code, exc.read(EXCERPT * 4), f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        status, text, error = None, b"", f"{type(exc).__name__}: {reason}"
    duration = int((time.monotonic() - started) * 1000)
    excerpt = text.decode("utf-8", "replace")[:EXCERPT] if text else None
    return Answer(status, excerpt, error, duration)


@dataclass
class _Outgoing:
    """What one POST needs, read before the transaction ends."""

    id: int
    url: str
    secret: str
    body: bytes
    event_type: str


def _outgoing(delivery: WebhookDelivery) -> _Outgoing:
    subscription = delivery.subscription
    return _Outgoing(
        delivery.id,
        subscription.url,
        subscription.secret,
        delivery.body.encode("utf-8"),
        delivery.event_type,
    )


def send(outgoing: _Outgoing) -> tuple[Answer, int]:
    """POST the body once, signed now; (the answer, the signed timestamp)."""
    headers = signed_headers(outgoing.secret, outgoing.body)
    headers[EVENT_HEADER] = outgoing.event_type
    headers[DELIVERY_HEADER] = str(outgoing.id)
    answer = post(outgoing.url, outgoing.body, headers, float(setting("WEBHOOK_TIMEOUT_SECONDS")))
    return answer, int(headers[TIMESTAMP_HEADER])


def record(delivery: WebhookDelivery, answer: Answer, timestamp: int, started_at) -> WebhookAttempt:
    """The attempt in the log and its outcome on the delivery (the caller commits)."""
    if answer.ok:
        error = None
    elif answer.status_code is not None:
        error = f"the receiver answered HTTP {answer.status_code}"
    else:
        error = answer.error
    row = WebhookAttempt(
        delivery=delivery,
        started_at=started_at,
        duration_ms=answer.duration_ms,
        status_code=answer.status_code,
        response_excerpt=answer.excerpt,
        error=error,
        succeeded=answer.ok,
        is_replay=bool(delivery.replay_requested),
        signed_timestamp=timestamp,
    )
    db.session.add(row)
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.claim_token = None
    delivery.replay_requested = False
    delivery.last_status_code = answer.status_code
    if answer.ok:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = utcnow()
        delivery.last_error = None
    else:
        delivery.status = DeliveryStatus.PENDING.value
        delivery.last_error = error
        delivery.next_attempt_at = utcnow() + timedelta(seconds=backoff_seconds(delivery.attempts))
    return row


def deliver_due(limit: int = 50, only_ids=None) -> RoundReport:
    """One round: claim, then POST each claimed delivery and commit its outcome."""
    report = RoundReport()
    token, ids = claim(limit, only_ids)
    report.claimed = len(ids)
    for delivery_id in ids:
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.claim_token != token:
            db.session.rollback()
            continue
        outgoing = _outgoing(delivery)
        # No transaction (and no SQLite lock) stays open while a slow receiver takes its time.
        db.session.rollback()
        started_at = utcnow()
        answer, timestamp = send(outgoing)
        try:
            delivery = db.session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.claim_token != token:
                db.session.rollback()  # the lease ended and another round took it
                continue
            row = record(delivery, answer, timestamp, started_at)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("webhook delivery %s: recording the attempt failed", delivery_id)
            raise
        if row.succeeded:
            report.delivered += 1
        else:
            report.failed += 1
    return report

"""Webhook subscriptions, their deliveries (the outbox rows) and every attempt at one."""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import relationship

from app.core.encryption import EncryptedText
from app.core.timeutil import utcnow


class WebhookEventType(StrEnum):
    """What a subscription can listen to (the ``type`` of every payload)."""

    CASE_CREATED = "case.created"
    MESSAGE_RECEIVED = "message.received"
    REPLY_SENT = "reply.sent"
    CASE_CLOSED = "case.closed"
    SURVEY_SUBMITTED = "survey.submitted"

    @property
    def label(self) -> str:
        return EVENT_LABELS[self]


EVENT_LABELS = {
    WebhookEventType.CASE_CREATED: "Case created",
    WebhookEventType.MESSAGE_RECEIVED: "Message received from the customer",
    WebhookEventType.REPLY_SENT: "Reply sent to the customer",
    WebhookEventType.CASE_CLOSED: "Case closed",
    WebhookEventType.SURVEY_SUBMITTED: "Exit survey submitted",
}


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first try, or for the next after a failure
    DELIVERED = "delivered"  # the receiver answered 2xx


class WebhookSubscription(Model):
    """An admin's subscription: POST these event types to ``url``, signed with ``secret``.

    Subscriptions are never deleted (their deliveries and log point at them); an inactive
    one receives nothing new and its pending deliveries wait until it is active again.
    """

    __tablename__ = "webhook_subscription"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    url = Column(String(2000), nullable=False)
    # The HMAC key shared with the receiver; encrypted at rest (``app.core.encryption``).
    secret = Column(EncryptedText(), nullable=False)
    event_types = Column(JSON, nullable=False, default=list)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by = relationship("User")

    def listens_to(self, event_type: str) -> bool:
        return event_type in (self.event_types or [])

    def __repr__(self) -> str:
        return f"{self.name} ({self.url})"


class WebhookDelivery(Model):
    """One event for one subscription: the JSON body exactly as it is sent (and re-sent).

    The row is the truth: written in the transaction of the change it tells of, delivered by
    an RQ job that carries nothing but the wish to deliver, retried with back-off while the
    receiver fails (``next_attempt_at``), never dropped. While a worker round owns the row,
    ``claim_token`` names the round and ``next_attempt_at`` is the end of its lease, so a
    dead worker's row is simply due again when the lease ends.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id = Column(Integer, primary_key=True)
    subscription_id = Column(
        Integer, ForeignKey("webhook_subscription.id"), nullable=False, index=True
    )
    subscription = relationship("WebhookSubscription")
    event_type = Column(String(32), nullable=False)
    event_uid = Column(String(36), nullable=False, index=True)  # the payload's "id"
    case_id = Column(Integer, ForeignKey("case.id"), nullable=True, index=True)
    case = relationship("Case")
    body = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default=DeliveryStatus.PENDING.value)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    claim_token = Column(String(32), nullable=True)
    replay_requested = Column(Boolean, nullable=False, default=False)
    last_status_code = Column(Integer, nullable=True)
    last_error = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime, nullable=True)

    attempt_log = relationship(
        "WebhookAttempt", back_populates="delivery", order_by="WebhookAttempt.id"
    )

    @property
    def status_label(self) -> str:
        if self.status == DeliveryStatus.PENDING and self.attempts:
            return "retrying"
        return self.status

    def __repr__(self) -> str:
        return f"{self.event_type} #{self.id} ({self.status})"


class WebhookAttempt(Model):
    """One POST of a delivery: when, what came back, how long it took."""

    __tablename__ = "webhook_attempt"

    id = Column(Integer, primary_key=True)
    delivery_id = Column(Integer, ForeignKey("webhook_delivery.id"), nullable=False, index=True)
    delivery = relationship("WebhookDelivery", back_populates="attempt_log")
    started_at = Column(DateTime, nullable=False, default=utcnow)
    duration_ms = Column(Integer, nullable=False, default=0)
    status_code = Column(Integer, nullable=True)  # None: no HTTP answer (refused, timeout)
    response_excerpt = Column(Text, nullable=True)
    error = Column(Text, nullable=True)
    succeeded = Column(Boolean, nullable=False, default=False)
    is_replay = Column(Boolean, nullable=False, default=False)
    signed_timestamp = Column(Integer, nullable=False)

    def __repr__(self) -> str:
        return f"attempt {self.id}: {self.status_code or self.error}"

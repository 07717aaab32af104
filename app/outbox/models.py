"""OutboxMail: one row per mail to send."""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import relationship

from app.audit.labels import mail_kind
from app.core.timeutil import utcnow


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for delivery (or for the next retry)
    SENDING = "sending"  # a worker has claimed it; SMTP conversation in progress
    SENT = "sent"  # the relay accepted it
    FAILED = "failed"  # gave up after the last retry; visible with a retry button
    SUPPRESSED = "suppressed"  # hygiene rules said no (loop limit, no-reply address, ...)


# What a person is told about a mail in each status: only "sent" means the relay took it.
STATUS_LABELS = {
    OutboxStatus.QUEUED: "queued",
    OutboxStatus.SENDING: "sending",
    OutboxStatus.SENT: "sent",
    OutboxStatus.FAILED: "not delivered",
    OutboxStatus.SUPPRESSED: "not sent",
}


class OutboxMail(Model):
    """A mail waiting to be sent, being sent, sent or failed.

    ``kind`` says why it exists: reply, auto_response, notification, consultation, ...
    ``message_id`` is fixed when the row is written, so a retry after a crash re-sends the
    same Message-ID and the receiving side (and our own duplicate check) sees one mail.
    """

    __tablename__ = "outbox_mail"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_recipient_created", "recipient", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=True, index=True)
    case = relationship("Case")
    message_row_id = Column(Integer, ForeignKey("message.id"), nullable=True)
    message = relationship("Message")
    mailbox_id = Column(Integer, ForeignKey("mailbox.id"), nullable=True)
    mailbox = relationship("Mailbox")
    sender = Column(String(320), nullable=False)
    recipient = Column(String(320), nullable=False)  # primary recipient, lower-case
    recipients = Column(Text, nullable=False)  # all envelope recipients, comma-separated
    subject = Column(String(998), nullable=False, default="")
    message_id = Column(String(998), nullable=False, unique=True)
    # The complete RFC 5322 message as it will go on the wire (built when queued).
    content = Column(LargeBinary, nullable=True)
    status = Column(String(16), nullable=False, default=OutboxStatus.QUEUED)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    last_error = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime, nullable=True)
    # Envelope sender (MAIL FROM); "" is the null sender <> of auto-responses (RFC 3834),
    # NULL means ``sender``.
    envelope_from = Column(String(320), nullable=True)
    # Delivery bookkeeping (migration 0005). While ``status`` is 'sending', ``claim_token``
    # names the worker round that owns the row and ``next_attempt_at`` is the end of its lease.
    claim_token = Column(String(32), nullable=True)
    # Set just before the SMTP hand-over of the row; a row left in 'sending' with this set
    # may have reached the relay (see app.outbox.delivery, "interrupted deliveries").
    handed_over_at = Column(DateTime, nullable=True)
    smtp_reply = Column(String(512), nullable=True)  # the relay's answer to DATA

    @property
    def status_label(self) -> str:
        """The status in words; a queued mail that already failed once is "retrying"."""
        if self.status == OutboxStatus.QUEUED and self.last_error:
            return "retrying"
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return mail_kind(self.kind)

    @property
    def is_automatic(self) -> bool:
        return self.envelope_from == ""

    def __repr__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"

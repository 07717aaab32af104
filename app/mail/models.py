"""Raw mail, its attachments and the category rules (the mailbox is in ``app.mailcore``)."""

import email.parser
import email.policy
from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import relationship

from app.audit.tracking import NeverDeleted
from app.core.timeutil import utcnow
from app.mail import store
from app.mail.parsing import decode_header


class RawMessageStatus(StrEnum):
    """Where a raw mail stands in the intake (``RawMessage.status``)."""

    STORED = "stored"  # committed, not yet processed (or processing is to be retried)
    PROCESSED = "processed"  # a message of a case
    DUPLICATE = "duplicate"  # the same bytes as an earlier mail of the mailbox
    QUARANTINED = "quarantined"  # processing failed; a person must look at it
    # Machine mail (auto-reply, bounce, bulk/list, loop) that threads to no case: processed,
    # but it opens no case; listed as "Automatic mail", where it can be opened as a case.
    AUTOMATIC = "automatic"


class RawMessageOutcome(StrEnum):
    """What processing did with a raw mail (``RawMessage.outcome``), counted by ``mail stats``."""

    NEW_CASE = "new_case"
    THREADED = "threaded"
    DUPLICATE = "duplicate"
    AUTOMATIC = "automatic"


# Processing has run to its end for these: re-processing would not change anything.
FINISHED_STATUSES = frozenset(
    {RawMessageStatus.PROCESSED, RawMessageStatus.DUPLICATE, RawMessageStatus.AUTOMATIC}
)


class RawMessage(NeverDeleted, Model):
    """The bytes of one received mail, committed before anything tries to parse them.

    ``status`` is a ``RawMessageStatus``, ``outcome`` a ``RawMessageOutcome``. Small messages
    keep their bytes in ``content``; large ones in the file store (``path``).
    """

    __tablename__ = "raw_message"
    __table_args__ = (
        Index("ix_raw_message_mailbox_msgid", "mailbox_id", "message_id_header"),
        Index("ix_raw_message_sha_mailbox", "sha256", "mailbox_id"),
    )

    id = Column(Integer, primary_key=True)
    mailbox_id = Column(Integer, ForeignKey("mailbox.id"), nullable=True, index=True)
    mailbox = relationship("Mailbox")
    source = Column(String(32), nullable=False)  # imap, pop3, pipe, webhook, import, ...
    source_ref = Column(String(256), nullable=True)  # e.g. UIDVALIDITY:UID, UIDL, file name
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    sha256 = Column(String(64), nullable=False, index=True)
    size = Column(Integer, nullable=False)
    content = Column(LargeBinary, nullable=True)
    path = Column(String(512), nullable=True)
    message_id_header = Column(String(998), nullable=True)
    status = Column(String(16), nullable=False, default=RawMessageStatus.STORED, index=True)
    error = Column(Text, nullable=True)
    processed_at = Column(DateTime, nullable=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=True, index=True)
    case = relationship("Case")
    # The envelope recipient the channel gave (plus-address tokens thread by it).
    recipient = Column(String(320), nullable=True)
    # What processing found (RawMessageOutcome; see app.mail.intake).
    outcome = Column(String(16), nullable=True, index=True)
    # Comma-separated hygiene and parsing flags: auto_reply, bulk, bounce, loop, ooo,
    # reused_message_id, oversize, own_mailbox ...
    flags = Column(String(256), nullable=True)

    @property
    def flag_set(self) -> set[str]:
        return {f for f in (self.flags or "").split(",") if f}

    def add_flags(self, *names: str) -> None:
        self.flags = ",".join(sorted(self.flag_set | {n for n in names if n})) or None

    # Who sent it and about what, read from the stored header block: lists of raw mail (the
    # Automatic mail list) show them so that a person can tell machine mail from a customer.
    @property
    def sender(self) -> str:
        return self._header("from")

    @property
    def subject(self) -> str:
        return self._header("subject")

    def _header(self, name: str) -> str:
        headers = getattr(self, "_headers", None)
        if headers is None:
            try:
                with store.open_raw(self) as fh:
                    head = fh.read(16384)
                end = min(
                    i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n"), len(head)) if i >= 0
                )
                parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
                    head[:end]
                )
                headers = {k.lower(): parsed.get(k) for k in ("from", "subject")}
            except Exception:  # a list must show even mail whose header block is garbage
                headers = {}
            self._headers = headers
        return decode_header(headers.get(name))[:200]

    def __repr__(self) -> str:
        return f"raw #{self.id} ({self.status})"


class Attachment(NeverDeleted, Model):
    """A file of a message, kept once in the content-addressed store under its sha256."""

    __tablename__ = "attachment"

    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("message.id"), nullable=False, index=True)
    message = relationship("Message", back_populates="attachments")
    sha256 = Column(String(64), nullable=False, index=True)
    size = Column(Integer, nullable=False)
    content_type = Column(String(255), nullable=False, default="application/octet-stream")
    filename = Column(String(512), nullable=True)
    content_id = Column(String(512), nullable=True)  # for inline (cid:) images
    inline = Column(Boolean, nullable=False, default=False)

    @property
    def case(self):
        return self.message.case if self.message is not None else None

    def __repr__(self) -> str:
        return self.filename or f"attachment #{self.id}"


class CategoryRule(Model):
    """A distribution rule for new cases from mail, edited by supervisors without code.

    Rules are tried in ``position`` order; every condition that is filled in must match
    (case-insensitive substring; ``header_name`` + ``header_value`` match one header). The
    first matching rule sets whatever of pool, topic, skill and priority it names.
    """

    __tablename__ = "category_rule"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    position = Column(Integer, nullable=False, default=100, index=True)
    active = Column(Boolean, nullable=False, default=True)
    # The pool whose supervisors own the rule; empty: only admins edit it. A rule applies
    # only to mail that arrives in a mailbox of this pool (when set).
    owner_pool_id = Column(Integer, ForeignKey("pool.id"), nullable=True, index=True)
    owner_pool = relationship("Pool", foreign_keys=[owner_pool_id])
    # Conditions (all optional).
    sender_contains = Column(String(320), nullable=True)
    recipient_contains = Column(String(320), nullable=True)
    subject_contains = Column(String(256), nullable=True)
    body_keywords = Column(String(512), nullable=True)  # comma-separated, any of them
    header_name = Column(String(128), nullable=True)
    header_value = Column(String(256), nullable=True)
    # Actions (all optional).
    set_pool_id = Column(Integer, ForeignKey("pool.id"), nullable=True)
    set_pool = relationship("Pool", foreign_keys=[set_pool_id])
    set_topic_id = Column(Integer, ForeignKey("topic.id"), nullable=True)
    set_topic = relationship("Topic")
    set_skill_id = Column(Integer, ForeignKey("skill.id"), nullable=True)
    set_skill = relationship("Skill")
    set_priority = Column(Integer, nullable=True)

    def __repr__(self) -> str:
        return self.name

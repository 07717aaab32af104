"""Mailbox, RawMessage and Attachment."""

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


class Mailbox(Model):
    """A supervised mailbox: where mail comes from (inbound) and whom replies come from."""

    __tablename__ = "mailbox"

    id = Column(Integer, primary_key=True)
    address = Column(String(320), nullable=False, unique=True)
    display_name = Column(String(256), nullable=True)
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=False, index=True)
    pool = relationship("Pool", back_populates="mailboxes")
    active = Column(Boolean, nullable=False, default=True)

    # Inbound: imap, pop3, pipe, webhook or none.
    inbound_protocol = Column(String(16), nullable=False, default="pipe")
    inbound_host = Column(String(256), nullable=True)
    inbound_port = Column(Integer, nullable=True)
    inbound_security = Column(String(16), nullable=False, default="ssl")  # ssl, starttls, none
    inbound_username = Column(String(256), nullable=True)
    inbound_secret = Column(String(512), nullable=True)  # password or OAuth2 token
    inbound_auth = Column(String(16), nullable=False, default="password")  # password, xoauth2
    inbound_folder = Column(String(256), nullable=False, default="INBOX")
    webhook_secret = Column(String(128), nullable=True)
    last_fetch_at = Column(DateTime, nullable=True)
    last_success_at = Column(DateTime, nullable=True)
    last_error = Column(Text, nullable=True)

    # Outbound identity; empty relay fields fall back to the desk's MAIL_* settings.
    sender_name = Column(String(256), nullable=True)
    smtp_host = Column(String(256), nullable=True)
    smtp_port = Column(Integer, nullable=True)
    smtp_security = Column(String(16), nullable=True)
    smtp_username = Column(String(256), nullable=True)
    smtp_secret = Column(String(512), nullable=True)

    def __repr__(self) -> str:
        return self.address


class RawMessage(NeverDeleted, Model):
    """The bytes of one received mail, committed before anything tries to parse them.

    ``status`` is one of: stored (not yet processed), processed, duplicate, quarantined.
    Small messages keep their bytes in ``content``; large ones in the file store (``path``).
    """

    __tablename__ = "raw_message"
    __table_args__ = (Index("ix_raw_message_mailbox_msgid", "mailbox_id", "message_id_header"),)

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
    status = Column(String(16), nullable=False, default="stored", index=True)
    error = Column(Text, nullable=True)
    processed_at = Column(DateTime, nullable=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=True, index=True)
    case = relationship("Case")

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

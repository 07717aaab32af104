"""Fetch bookkeeping: where each IMAP folder was read up to, and which POP3 UIDLs were stored."""

from flask_appbuilder import Model
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from app.core.timeutil import utcnow


class ImapFolderState(Model):
    """UIDVALIDITY and the highest UID already stored for one folder of one mailbox.

    A UID is only recorded here after the intake service committed the message, so the next
    round starts right after the last stored message. When the server reports another
    UIDVALIDITY the UIDs mean something else: the state is reset and the folder re-read (mail
    already stored is recognised by its bytes and not stored twice).
    """

    __tablename__ = "imap_folder_state"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", name="uq_imap_state_folder"),)

    id = Column(Integer, primary_key=True)
    mailbox_id = Column(Integer, ForeignKey("mailbox.id"), nullable=False, index=True)
    mailbox = relationship("Mailbox")
    folder = Column(String(256), nullable=False)
    uidvalidity = Column(BigInteger, nullable=True)
    last_uid = Column(BigInteger, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"{self.folder} uidvalidity {self.uidvalidity} up to UID {self.last_uid}"


class Pop3SeenUidl(Model):
    """A POP3 message (by its UIDL) that has been stored, so later rounds skip it."""

    __tablename__ = "pop3_seen_uidl"
    __table_args__ = (UniqueConstraint("mailbox_id", "uidl", name="uq_pop3_uidl_mailbox"),)

    id = Column(Integer, primary_key=True)
    mailbox_id = Column(Integer, ForeignKey("mailbox.id"), nullable=False, index=True)
    mailbox = relationship("Mailbox")
    uidl = Column(String(128), nullable=False)
    raw_message_id = Column(Integer, ForeignKey("raw_message.id"), nullable=True)
    seen_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return self.uidl

"""Models of the answering feature: templates, layouts, signatures, documents and replies."""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.audit.tracking import NeverDeleted
from app.core.timeutil import utcnow


class ResponseTemplate(Model):
    """A canned response in one language, optionally scoped to a pool and/or a topic.

    Rows with the same ``name`` are the language versions of one template. ``subject`` and
    ``body`` may use the placeholders of ``app.answering.rendering.PLACEHOLDERS``; they are
    rendered in Jinja's sandbox with plain values only. Names starting with ``notice.`` are
    the desk's own notices (``notice.confirmation``, ``notice.postponed``, ``notice.link``).
    """

    __tablename__ = "response_template"
    __table_args__ = (
        UniqueConstraint("name", "language", "pool_id", "topic_id", name="uq_response_template"),
    )

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, index=True)
    language = Column(String(16), nullable=False, default="en")
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=True, index=True)
    pool = relationship("Pool")
    topic_id = Column(Integer, ForeignKey("topic.id"), nullable=True)
    topic = relationship("Topic")
    subject = Column(String(998), nullable=True)
    body = Column(Text, nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"{self.name} ({self.language})"


class PoolLayout(Model):
    """The header (salutation) and footer (closing, policy text) of a pool's replies in one
    language; wrapped around every reply so the look and tone are uniform."""

    __tablename__ = "pool_layout"
    __table_args__ = (UniqueConstraint("pool_id", "language", name="uq_pool_layout"),)

    id = Column(Integer, primary_key=True)
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=False, index=True)
    pool = relationship("Pool")
    language = Column(String(16), nullable=False, default="en")
    header = Column(Text, nullable=True)
    footer = Column(Text, nullable=True)

    def __repr__(self) -> str:
        return f"{self.pool} ({self.language})"


class AgentSignature(Model):
    """An agent's personal footer with an optional image, sent inline (cid:) in the HTML part.

    The image is validated (JPEG or PNG, bounded size and dimensions) before it is stored.
    """

    __tablename__ = "agent_signature"

    id = Column(Integer, primary_key=True)
    agent_id = Column(Integer, ForeignKey("agent_profile.id"), nullable=False, unique=True)
    agent = relationship("AgentProfile")
    text = Column(Text, nullable=True)
    image = Column(LargeBinary, nullable=True)
    image_content_type = Column(String(64), nullable=True)
    image_sha256 = Column(String(64), nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"signature of {self.agent}"


class Document(Model):
    """An entry of the central document library (price list, manual); its file lives in
    versions, and replies attach the current (newest) one."""

    __tablename__ = "document"

    id = Column(Integer, primary_key=True)
    name = Column(String(256), nullable=False, unique=True)
    description = Column(Text, nullable=True)
    # Empty: offered in every pool; else only to members of this pool.
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=True, index=True)
    pool = relationship("Pool")
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    versions = relationship(
        "DocumentVersion", back_populates="document", order_by="DocumentVersion.version"
    )

    @property
    def current_version(self):
        return self.versions[-1] if self.versions else None

    def __repr__(self) -> str:
        return self.name


class DocumentVersion(NeverDeleted, Model):
    """One uploaded file of a document; versions are kept forever (replies refer to them)."""

    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "version", name="uq_document_version"),)

    id = Column(Integer, primary_key=True)
    document_id = Column(Integer, ForeignKey("document.id"), nullable=False, index=True)
    document = relationship("Document", back_populates="versions")
    version = Column(Integer, nullable=False)
    filename = Column(String(512), nullable=False)
    content_type = Column(String(255), nullable=False, default="application/octet-stream")
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content = Column(LargeBinary, nullable=False)
    uploaded_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    uploaded_by = relationship("User")
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"{self.filename} v{self.version}"


class ReplyStatus(StrEnum):
    """What became of a reply on the desk's side. "sent" means handed to the outbox; whether
    the relay took it is the outbox mail's status (see ``replies.delivery_status``)."""

    SENT = "sent"  # queued in the outbox
    PENDING = "pending_approval"  # waits for a supervisor
    REJECTED = "rejected"


class Reply(NeverDeleted, Model):
    """An agent's reply as composed: the text he wrote, the rendered mail, the attachments.

    A reply of an agent whose replies need approval waits here (``pending_approval``) and is
    only turned into an outbound Message and an outbox mail when a supervisor approves it.
    """

    __tablename__ = "reply"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False, index=True)
    case = relationship("Case")
    author_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    author = relationship("User", foreign_keys=[author_id])
    template_id = Column(Integer, ForeignKey("response_template.id"), nullable=True)
    template = relationship("ResponseTemplate")
    language = Column(String(16), nullable=False, default="en")
    recipient = Column(String(320), nullable=False)
    subject = Column(String(998), nullable=False)
    body = Column(Text, nullable=False)  # what the agent wrote (after editing), as plain text
    # The same, formatted in the editor and sanitised (richtext); None for a plain-text reply.
    body_html = Column(Text, nullable=True)
    status = Column(String(24), nullable=False, default=ReplyStatus.SENT, index=True)
    message_row_id = Column(Integer, ForeignKey("message.id"), nullable=True)
    message = relationship("Message")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    decided_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    decided_at = Column(DateTime, nullable=True)
    decision_note = Column(Text, nullable=True)
    attachments = relationship(
        "ReplyAttachment", back_populates="reply", order_by="ReplyAttachment.id"
    )

    def __repr__(self) -> str:
        return f"reply #{self.id} ({self.status})"


class ReplyAttachment(NeverDeleted, Model):
    """A file going out with a reply: a library document version or an ad-hoc upload
    (whose bytes are kept here, since the agent's desktop file exists nowhere else)."""

    __tablename__ = "reply_attachment"

    id = Column(Integer, primary_key=True)
    reply_id = Column(Integer, ForeignKey("reply.id"), nullable=False, index=True)
    reply = relationship("Reply", back_populates="attachments")
    source = Column(String(16), nullable=False)  # library | upload
    document_version_id = Column(Integer, ForeignKey("document_version.id"), nullable=True)
    document_version = relationship("DocumentVersion")
    filename = Column(String(512), nullable=False)
    content_type = Column(String(255), nullable=False, default="application/octet-stream")
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content = Column(LargeBinary, nullable=True)  # uploads only

    @property
    def data(self) -> bytes:
        if self.content is not None:
            return self.content
        return self.document_version.content

    @property
    def case(self):
        return self.reply.case if self.reply is not None else None


__all__ = [
    "AgentSignature",
    "Document",
    "DocumentVersion",
    "PoolLayout",
    "Reply",
    "ReplyAttachment",
    "ReplyStatus",
    "ResponseTemplate",
]

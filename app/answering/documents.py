"""Files the answering keeps: the document library (versions that replies attach) and the
agents' signature images."""

from __future__ import annotations

from sqlalchemy import select

from app.agents import services as agents
from app.answering import rendering
from app.answering.models import AgentSignature, Document, DocumentVersion, ReplyAttachment
from app.audit.actor import current_actor
from app.core.inputs import parse_id
from app.errors import AccessDenied, DeskError, Forbidden
from app.extensions import db
from app.security import rules
from app.security.roles import ADMIN, role_names

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def check_upload_size(filename: str | None, data: bytes) -> None:
    """Refuse an empty file or one above ``MAX_UPLOAD_BYTES``."""
    name = f"The file {filename!r}" if filename else "The file"
    if not data:
        raise DeskError(f"{name} is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DeskError(f"{name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")


def documents_for(case=None) -> list[Document]:
    """Library documents the acting user may attach (active, with at least one version)."""
    return [
        d
        for d in db.session.scalars(
            rules.visible(select(Document), Document)
            .where(Document.active.is_(True))
            .order_by(Document.name)
        )
        if d.current_version is not None
    ]


def library_attachment(document_id) -> ReplyAttachment:
    """A reply attachment of a library document's current version."""
    try:
        number = parse_id(document_id, field="document_ids")
    except DeskError:
        number = None
    document = db.session.get(Document, number) if number is not None else None
    if document is None or not rules.is_visible(document) or not document.active:
        raise AccessDenied(f"No such document #{document_id} in the library of your pools.")
    version = document.current_version
    if version is None:
        raise DeskError(f"Document {document.name} has no file yet.")
    return ReplyAttachment(
        source="library",
        document_version=version,
        filename=version.filename,
        content_type=version.content_type,
        size=version.size,
        sha256=version.sha256,
    )


def add_document_version(
    document: Document, *, filename: str, content_type: str | None, data: bytes
) -> DocumentVersion:
    """Upload a new version of a library document; earlier versions stay (replies used them)."""
    actor = current_actor()
    if document.pool_id is not None:
        agents.ensure_can_configure_pool(document.pool_id)
    elif not (agents.supervised_pool_ids(actor) or ADMIN in role_names(actor)):
        raise Forbidden("Only supervisors and admins maintain the document library.")
    check_upload_size(None, data)
    number = (document.current_version.version if document.current_version else 0) + 1
    version = DocumentVersion(
        document=document,
        version=number,
        filename=rendering.safe_filename(filename),
        content_type=content_type or "application/octet-stream",
        size=len(data),
        sha256=rendering.sha256(data),
        content=data,
        uploaded_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    db.session.commit()
    return version


def set_signature_image(signature: AgentSignature, data: bytes | None) -> AgentSignature:
    """Validate and store an agent's signature image (JPEG or PNG of sane size)."""
    if data:
        signature.image_content_type = rendering.validate_signature_image(data)
        signature.image = data
        signature.image_sha256 = rendering.sha256(data)
    return signature

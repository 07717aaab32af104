"""IntakeForm and its versions: what a topic asks a customer, kept as immutable versions.

A form belongs to the pool whose supervisors design it (none: a desk-wide form, for admins).
Each ``IntakeFormVersion`` holds a schema (``forms_designer.schema``) and a status: at most one
``draft`` (the designer's work), at most one ``current`` (what the portal serves), any number
of ``obsolete`` ones (what older submissions were filled in). Once published a version never
changes: the ORM refuses any change to a current or obsolete version other than a current one
becoming obsolete, and refuses deleting them, so a submission's version stays what the
customer saw.
"""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Session, relationship

from app.core.timeutil import utcnow
from app.errors import Conflict, DeletionForbidden


class VersionStatus(StrEnum):
    DRAFT = "draft"
    CURRENT = "current"
    OBSOLETE = "obsolete"


class IntakeForm(Model):
    """An intake form: a name, the pool whose supervisors design it, and its versions."""

    __tablename__ = "intake_form"
    __tracked__ = ("name", "pool_id")

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=True, index=True)
    pool = relationship("Pool")
    created_at = Column(DateTime, nullable=False, default=utcnow)

    versions = relationship(
        "IntakeFormVersion",
        back_populates="form",
        order_by="IntakeFormVersion.number",
    )

    def __repr__(self) -> str:
        return self.name

    def version_with(self, status: str):
        return next((v for v in self.versions if v.status == status), None)

    @property
    def current(self):
        return self.version_with(VersionStatus.CURRENT)

    @property
    def draft(self):
        return self.version_with(VersionStatus.DRAFT)

    @property
    def versions_label(self) -> str:
        """ "v1 obsolete, v2 current, v3 draft" for the list of forms."""
        return ", ".join(f"v{v.number} {v.status}" for v in self.versions) or "-"


class IntakeFormVersion(Model):
    """One version of a form's schema: a draft, the current one, or an obsolete one."""

    __tablename__ = "intake_form_version"
    __tracked__ = ("status",)
    __table_args__ = (
        UniqueConstraint("form_id", "number", name="uq_intake_form_version_number"),
        # One draft and one current version per form, whatever the code does.
        Index(
            "uq_intake_form_version_draft",
            "form_id",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
        Index(
            "uq_intake_form_version_current",
            "form_id",
            unique=True,
            sqlite_where=text("status = 'current'"),
            postgresql_where=text("status = 'current'"),
        ),
    )

    id = Column(Integer, primary_key=True)
    form_id = Column(Integer, ForeignKey("intake_form.id"), nullable=False)
    form = relationship("IntakeForm", back_populates="versions")
    number = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, default=VersionStatus.DRAFT.value)
    schema = Column(JSON, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by = relationship("User", foreign_keys=[created_by_id])
    created_at = Column(DateTime, nullable=False, default=utcnow)
    published_at = Column(DateTime, nullable=True)
    published_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    published_by = relationship("User", foreign_keys=[published_by_id])

    def __repr__(self) -> str:
        return f"{self.form.name if self.form else '?'} v{self.number} ({self.status})"


def _committed_status(version: IntakeFormVersion) -> str | None:
    history = inspect(version).attrs.status.history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else version.status


def _refuse_changes_to_published(session: Session, flush_context, instances) -> None:
    """A current or obsolete version is part of the record: only "current → obsolete"."""
    for obj in session.deleted:
        if isinstance(obj, IntakeFormVersion) and _committed_status(obj) != VersionStatus.DRAFT:
            raise DeletionForbidden(
                f"Version {obj.number} of form {obj.form_id} was published and is never deleted."
            )
    for obj in session.dirty:
        if not isinstance(obj, IntakeFormVersion) or obj in session.new:
            continue
        was = _committed_status(obj)
        if was == VersionStatus.DRAFT:
            continue
        state = inspect(obj)
        changed = {a.key for a in state.attrs if a.history.has_changes()} - {"form"}
        allowed = {"status"} if was == VersionStatus.CURRENT else set()
        if changed - allowed or ("status" in changed and obj.status != VersionStatus.OBSOLETE):
            raise Conflict(
                f"Version {obj.number} of this form is {was} and cannot be changed "
                "(published versions are immutable; start a new draft instead)."
            )


event.listen(Session, "before_flush", _refuse_changes_to_published)

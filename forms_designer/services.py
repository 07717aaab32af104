"""Intake forms and their versions: create, save a draft, publish, start a new draft.

Every change goes through here (the designer page, the FAB views' actions, the REST API, the
CLI): the write rule (``record_rules.WRITE_RULES``: a supervisor of the form's pool, or an
admin) is asked first, the schema is checked (``schema.validate_schema``) before it is stored,
and each change leaves an Event. The caller commits.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from app.audit.actor import current_actor
from app.audit.tracking import record_event
from app.core.timeutil import utcnow
from app.errors import Conflict, DeskError
from app.extensions import db
from app.security.rules import ensure_may_change, ensure_visible
from forms_designer.models import IntakeForm, IntakeFormVersion, VersionStatus
from forms_designer.schema import validate_schema

NAME_MAX = 128
EMPTY_SCHEMA: dict[str, Any] = {"languages": ["en"], "fields": []}


class SchemaProblems(DeskError):
    """A schema the desk cannot serve; ``problems`` lists each one (shown next to the editor)."""

    status_code = 422

    def __init__(self, problems: list[str]):
        super().__init__("The form cannot be saved: " + " ".join(problems))
        self.problems = problems


def _actor_id(actor) -> int | None:
    return getattr(actor, "id", None)


def _act(actor):
    return current_actor() if actor is None else actor


def create_form(name: str, pool, actor=None) -> IntakeForm:
    """A new form of ``pool`` (None: desk-wide, admins only), without versions yet."""
    actor = _act(actor)
    name = (name or "").strip()
    if not name:
        raise DeskError("Give the form a name.")
    if len(name) > NAME_MAX:
        raise DeskError(f"A form's name has at most {NAME_MAX} characters.")
    form = IntakeForm(name=name, pool=pool, pool_id=getattr(pool, "id", None))
    ensure_may_change(form, actor)
    db.session.add(form)
    db.session.flush()
    record_event(db.session, form, "created", new=name)
    return form


def current_version(form: IntakeForm) -> IntakeFormVersion | None:
    """The version the portal serves (None before the first publication)."""
    return db.session.scalars(
        select(IntakeFormVersion).where(
            IntakeFormVersion.form_id == form.id,
            IntakeFormVersion.status == VersionStatus.CURRENT.value,
        )
    ).first()


def draft_version(form: IntakeForm) -> IntakeFormVersion | None:
    return db.session.scalars(
        select(IntakeFormVersion).where(
            IntakeFormVersion.form_id == form.id,
            IntakeFormVersion.status == VersionStatus.DRAFT.value,
        )
    ).first()


def _next_number(form: IntakeForm) -> int:
    highest = db.session.scalar(
        select(func.max(IntakeFormVersion.number)).where(IntakeFormVersion.form_id == form.id)
    )
    return (highest or 0) + 1


def _may_design(form: IntakeForm, actor) -> None:
    ensure_visible(form, actor)
    ensure_may_change(form, actor)


def save_draft(
    form: IntakeForm, schema: Mapping, actor=None, dictionaries: Mapping | None = None
) -> IntakeFormVersion:
    """Store ``schema`` as the form's draft (the one draft is created or replaced); a schema
    with problems is refused with all of them (``SchemaProblems``)."""
    actor = _act(actor)
    _may_design(form, actor)
    problems = validate_schema(schema, dictionaries)
    if problems:
        raise SchemaProblems(problems)
    stored = copy.deepcopy(dict(schema))
    draft = draft_version(form)
    if draft is None:
        draft = IntakeFormVersion(
            form=form,
            number=_next_number(form),
            status=VersionStatus.DRAFT.value,
            schema=stored,
            created_by_id=_actor_id(actor),
        )
        db.session.add(draft)
    else:
        draft.schema = stored
    db.session.flush()
    record_event(
        db.session,
        form,
        "draft saved",
        new=f"v{draft.number}",
        details={"version": draft.number, "fields": len(stored.get("fields", []))},
    )
    return draft


def new_draft_from_current(form: IntakeForm, actor=None) -> IntakeFormVersion:
    """A draft that starts as a copy of the current version (the existing draft if any)."""
    actor = _act(actor)
    _may_design(form, actor)
    draft = draft_version(form)
    if draft is not None:
        return draft
    current = current_version(form)
    schema = copy.deepcopy(current.schema) if current is not None else copy.deepcopy(EMPTY_SCHEMA)
    draft = IntakeFormVersion(
        form=form,
        number=_next_number(form),
        status=VersionStatus.DRAFT.value,
        schema=schema,
        created_by_id=_actor_id(actor),
    )
    db.session.add(draft)
    db.session.flush()
    origin = f"v{current.number}" if current is not None else "an empty form"
    record_event(
        db.session, form, "draft started", new=f"v{draft.number}", details={"from": origin}
    )
    return draft


def publish(form: IntakeForm, actor=None, dictionaries: Mapping | None = None) -> IntakeFormVersion:
    """The draft becomes the current version; the previous current one becomes obsolete."""
    actor = _act(actor)
    _may_design(form, actor)
    draft = draft_version(form)
    if draft is None:
        raise Conflict("There is no draft to publish; start a new draft first.")
    problems = validate_schema(draft.schema, dictionaries)  # a dictionary may have gone since
    if problems:
        raise SchemaProblems(problems)
    if not any(f.get("type") != "hidden" for f in draft.schema.get("fields", [])):
        raise DeskError("A form without fields cannot be published.")
    previous = current_version(form)
    if previous is not None:
        previous.status = VersionStatus.OBSOLETE.value
        db.session.flush()  # the one-current index holds at every step
    draft.status = VersionStatus.CURRENT.value
    draft.published_at = utcnow()
    draft.published_by_id = _actor_id(actor)
    db.session.flush()
    record_event(
        db.session,
        form,
        "published",
        old=f"v{previous.number}" if previous is not None else None,
        new=f"v{draft.number}",
    )
    return draft

"""The designer page of intake forms (``/form-designer/<form id>``).

The page itself is drawn in the browser (``static/forms/designer.js``): a palette of field
types, the form, the selected field's properties and a live preview. The server gives it the
schema of the version shown and decides everything else: "Save draft" and "Publish" post the
schema as JSON (CSRF token in the ``X-CSRFToken`` header, as every fetch of the desk does);
``forms_designer.services`` refuses a schema it cannot serve with a list of problems, which
come back as ``{"ok": false, "problems": [{"message", "key"}]}`` so the page can show each
next to the field it names. Published versions are shown read-only, with "New draft from this
version".

Who may open it: the IntakeForm ``can_edit`` permission (supervisors and admins), and for a
given form, whoever its record and write rules let change it (``record_rules``: a supervisor
of the form's pool, or an admin); anyone else gets 404 (a form he cannot see) or 403.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app.audit.actor import current_actor
from app.errors import AccessDenied, DeskError, Forbidden
from app.extensions import db
from app.questionnaires.models import Dictionary
from app.security.rules import ensure_may_change, ensure_visible, visible
from forms_designer import services
from forms_designer.models import IntakeForm, IntakeFormVersion, VersionStatus

# The templates of the feature (forms_designer/templates/forms_designer/…); its static files
# (designer.js/css, visible_if.js, the vendored Sortable.js) are served by ``views.assets``.
blueprint = Blueprint("forms_designer", __name__, template_folder="templates")

# The languages a form may be written in: the customer portal's.
LANGUAGES = {"en": "English", "pl": "Polski", "sv": "Svenska", "de": "Deutsch"}
DEFAULT_LANGUAGES = ["en", "pl", "sv", "de"]

# The palette: (group, [(type, name, Font Awesome icon), …]); the page takes names and
# icons from here too.
PALETTE = [
    (
        "Questions",
        [
            ("short_text", "Short text", "fa-font"),
            ("long_text", "Long text", "fa-align-left"),
            ("email", "E-mail", "fa-envelope"),
            ("phone", "Phone", "fa-phone"),
            ("number", "Number", "fa-hashtag"),
            ("date", "Date", "fa-calendar"),
        ],
    ),
    (
        "Choices",
        [
            ("single_choice", "Single choice", "fa-dot-circle-o"),
            ("multiple_choice", "Multiple choice", "fa-check-square-o"),
            ("dropdown", "Dropdown", "fa-caret-square-o-down"),
            ("checkbox", "Checkbox", "fa-check-square"),
        ],
    ),
    (
        "Other",
        [("file", "File upload", "fa-paperclip"), ("hidden", "Hidden value", "fa-eye-slash")],
    ),
    (
        "Layout",
        [("heading", "Section heading", "fa-header"), ("help_text", "Help text", "fa-info-circle")],
    ),
]
TYPES = {t: {"name": name, "icon": icon} for _g, types in PALETTE for t, name, icon in types}

# "Field 'invoice_no': …" / "Field 3 has no key." — how validate_schema names a field.
_BY_KEY = re.compile(r"^Field '([^']+)'")
_BY_POSITION = re.compile(r"^Field (\d+)\b")


def may_design(form: IntakeForm, user=None) -> None:
    """Raise AccessDenied (404) or Forbidden (403) unless ``user`` may design ``form``."""
    user = current_actor() if user is None else user
    ensure_visible(form, user)
    ensure_may_change(form, user)  # forms_designer.record_rules: a supervisor of its pool


def problems_by_field(messages: list[str], schema) -> list[dict]:
    """``[{"message", "key"}]``: each problem with the key of the field it names (or None)."""
    fields = schema.get("fields") if isinstance(schema, dict) else None
    fields = fields if isinstance(fields, list) else []
    out = []
    for message in messages:
        key = None
        match = _BY_KEY.match(message)
        if match:
            key = match.group(1)
        else:
            match = _BY_POSITION.match(message)
            position = int(match.group(1)) if match else 0
            if 0 < position <= len(fields) and isinstance(fields[position - 1], dict):
                named = fields[position - 1].get("key")
                key = named if isinstance(named, str) and named else None
        out.append({"message": message, "key": key})
    return out


def refusal_messages(exc: DeskError) -> list[str]:
    """The problems a refused save lists (``exc.problems`` when the service gives them)."""
    listed = getattr(exc, "problems", None)
    if listed:
        return [str(p) for p in listed]
    return [line.strip(" -•") for line in str(exc).splitlines() if line.strip(" -•")]


def dictionaries_for_page() -> list[dict]:
    """The active dictionaries a dropdown may use, with their active values."""
    rows = db.session.scalars(
        visible(select(Dictionary), Dictionary)
        .where(Dictionary.active.is_(True))
        .order_by(Dictionary.name)
    )
    return [
        {"id": d.id, "name": d.name, "values": [v.value for v in d.values if v.active]}
        for d in rows
    ]


def version_label(version: IntakeFormVersion | None) -> str:
    if version is None:
        return "New form, not saved yet"
    return f"{str(version.status).capitalize()} · v{version.number}"


class FormDesignerView(BaseView):
    """The designer's pages: the list of forms, the designer, and its JSON doors."""

    route_base = "/form-designer"
    class_permission_name = "IntakeForm"
    # Designing is editing the form: supervisors and admins hold can_edit on IntakeForm.
    method_permission_name = {
        "index": "edit",
        "design": "edit",
        "save_draft": "edit",
        "publish": "edit",
        "new_draft": "edit",
    }
    default_view = "index"

    def _form(self, pk: int) -> IntakeForm:
        form = db.session.get(IntakeForm, pk)
        if form is None:
            abort(404)
        try:
            may_design(form)
        except AccessDenied:
            abort(404)
        except Forbidden as exc:
            abort(403, description=str(exc))
        return form

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        """The forms the user may design, each with its versions."""
        forms = [
            form
            for form in visible(db.session.query(IntakeForm), IntakeForm)
            .order_by(IntakeForm.name)
            .all()
            if _may(form)
        ]
        return self.render_template("forms_designer/index.html", forms=forms)

    @expose("/<int:pk>", methods=["GET"])
    @has_access
    def design(self, pk):
        """The draft (or, without one, a new form) for editing; a published version read-only
        (``?version=N``, or the current one when there is no draft)."""
        form = self._form(pk)
        versions = sorted(form.versions, key=lambda v: v.number, reverse=True)
        number = request.args.get("version", type=int)
        draft, current = services.draft_version(form), services.current_version(form)
        if number is not None:
            shown = next((v for v in versions if v.number == number), None)
            if shown is None:
                abort(404)
        else:
            shown = draft or current
        readonly = shown is not None and shown.status != VersionStatus.DRAFT
        schema = (
            shown.schema if shown is not None else {"languages": DEFAULT_LANGUAGES, "fields": []}
        )
        boot = {
            "schema": schema,
            "readonly": readonly,
            "csrf": generate_csrf(),  # the fetches send it as X-CSRFToken
            "languages": list(LANGUAGES),
            "language_names": LANGUAGES,
            "types": TYPES,
            "dictionaries": dictionaries_for_page(),
            "urls": {
                "save": url_for("FormDesignerView.save_draft", pk=form.id),
                "publish": url_for("FormDesignerView.publish", pk=form.id),
            },
        }
        return self.render_template(
            "forms_designer/designer.html",
            form=form,
            pool_name=form.pool.name if form.pool is not None else "All pools",
            versions=versions,
            shown=shown,
            shown_status=str(shown.status) if shown is not None else "new",
            version_label=version_label(shown),
            draft=draft,
            current=current,
            readonly=readonly,
            schema_languages=schema.get("languages") or [],
            languages=list(LANGUAGES),
            language_names=LANGUAGES,
            palette=PALETTE,
            boot=boot,
        )

    @expose("/<int:pk>/draft", methods=["POST"])
    @has_access
    def save_draft(self, pk):
        """Save the posted schema as the form's draft; the problems when it is refused."""
        form = self._form(pk)
        schema = _posted_schema()
        try:
            version = services.save_draft(form, schema, current_actor())
        except DeskError as exc:
            return _refused(exc, schema)
        db.session.commit()
        return jsonify(
            ok=True,
            message=f"Draft v{version.number} saved.",
            version=version.number,
            version_label=version_label(version),
        )

    @expose("/<int:pk>/publish", methods=["POST"])
    @has_access
    def publish(self, pk):
        """Save the posted schema as the draft and publish it."""
        form = self._form(pk)
        schema = _posted_schema()
        actor = current_actor()
        try:
            services.save_draft(form, schema, actor)
            version = services.publish(form, actor)
        except DeskError as exc:
            return _refused(exc, schema)
        db.session.commit()
        flash(f"Version {version.number} of “{form.name}” is published.", "success")
        return jsonify(
            ok=True,
            message=f"Version {version.number} published.",
            version=version.number,
            redirect=url_for("FormDesignerView.design", pk=form.id, version=version.number),
        )

    @expose("/<int:pk>/new-draft", methods=["POST"])
    @has_access
    def new_draft(self, pk):
        """A new draft from the version shown (the current one, or an obsolete one)."""
        form = self._form(pk)
        number = request.form.get("version", type=int)
        source = next((v for v in form.versions if v.number == number), None)
        try:
            if source is None or source.status == VersionStatus.CURRENT:
                version = services.new_draft_from_current(form, current_actor())
            else:
                version = services.save_draft(form, source.schema, current_actor())
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for("FormDesignerView.design", pk=form.id, version=number))
        db.session.commit()
        flash(
            f"Draft v{version.number} made from version {number or version.number - 1}.", "success"
        )
        return redirect(url_for("FormDesignerView.design", pk=form.id))


def _may(form: IntakeForm) -> bool:
    try:
        may_design(form)
    except DeskError:
        return False
    return True


def _posted_schema():
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or "schema" not in data:
        abort(400, description='Send {"schema": {...}} as JSON.')
    return data["schema"]


def _refused(exc: DeskError, schema):
    db.session.rollback()
    problems = problems_by_field(refusal_messages(exc), schema)
    return jsonify(ok=False, problems=problems), exc.status_code


def register(appbuilder) -> None:
    """The designer's menu entry (Configuration), its pages and its static files."""
    current_app.register_blueprint(blueprint)
    appbuilder.add_view(
        FormDesignerView, "Form designer", icon="fa-object-group", category="Configuration"
    )

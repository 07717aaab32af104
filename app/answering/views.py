"""Views of the answering feature: configuration (templates, headers and footers, signatures,
documents), the agent's case-action forms and the portal link page.

Every form handler is a thin shell around ``app.answering.services``; the record rules and all
business rules are checked there, so the REST API (``api.py``) behaves the same.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from wtforms import FileField
from wtforms.validators import ValidationError

from app.agents.services import ensure_can_configure_pool
from app.answering import rendering, services
from app.answering.models import (
    AgentSignature,
    Document,
    DocumentVersion,
    PoolLayout,
    Reply,
    ReplyStatus,
    ResponseTemplate,
)
from app.cases.models import Case
from app.core.views import DeskModelView, column_max_length
from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import db
from app.outbox.models import OutboxMail

CASE_ACTION = "CaseAction"
# Permission (without "can_") of each case action; shared by the view and the API.
CASE_ACTION_PERMISSIONS = {
    "compose": "reply",
    "preview": "reply",
    "reply": "reply",
    "template": "reply",
    "options": "reply",
    "note": "note",
    "forward": "forward",
    "postpone": "postpone",
    "close": "close",
    "reopen": "reopen",
    "approve": "approve",
    "reject": "approve",
    "open": "open",
}


# --- configuration views -------------------------------------------------------------------------


def _placeholder_help() -> Markup:
    names = ", ".join("{{ " + name + " }}" for name in rendering.PLACEHOLDERS)
    return Markup("Placeholders: <code>{}</code>").format(names)


class _PoolScopedView(DeskModelView):
    """Supervisors change only rows of the pools they supervise (admins: all)."""

    def _check_pool(self, item):
        pool_id = item.pool.id if getattr(item, "pool", None) else getattr(item, "pool_id", None)
        if pool_id is not None:
            ensure_can_configure_pool(pool_id)

    def pre_add(self, item):
        self._check_pool(item)

    def pre_update(self, item):
        self._check_pool(item)


class ResponseTemplateView(_PoolScopedView):
    datamodel = SQLAInterface(ResponseTemplate)
    class_permission_name = "ResponseTemplate"
    route_base = "/answering/templates"
    # No delete: replies refer to the template they started from; deactivate instead.
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_title = "Response templates"
    list_columns = ["name", "language", "pool", "topic", "subject", "active"]
    search_columns = ["name", "language", "pool", "active"]
    add_columns = edit_columns = ["name", "language", "pool", "topic", "subject", "body", "active"]
    show_columns = add_columns + ["updated_at"]
    base_order = ("name", "asc")
    description_columns = {
        "name": "Language versions of one template share the name. notice.link, "
        "notice.postponed and notice.confirmation replace the desk's own notices.",
        "language": "e.g. en, de, fr; customers get their language, else the desk default.",
        "body": _placeholder_help(),
        "subject": _placeholder_help(),
    }

    def pre_add(self, item):
        super().pre_add(item)
        item.language = (item.language or "en").strip().lower()
        _check_renders(item.subject, item.body)

    pre_update = pre_add


def _check_renders(*sources):
    """Refuse a template that cannot render (syntax, unknown placeholder, unsafe access)."""
    sample = {name: f"<{name}>" for name in rendering.PLACEHOLDERS}
    for source in sources:
        rendering.render_text(source, sample)


class PoolLayoutView(_PoolScopedView):
    datamodel = SQLAInterface(PoolLayout)
    class_permission_name = "PoolLayout"
    route_base = "/answering/layouts"
    list_title = "Reply headers and footers"
    list_columns = ["pool", "language", "header", "footer"]
    search_columns = ["pool", "language"]
    add_columns = edit_columns = show_columns = ["pool", "language", "header", "footer"]
    description_columns = {"header": _placeholder_help(), "footer": _placeholder_help()}

    def pre_add(self, item):
        super().pre_add(item)
        item.language = (item.language or "en").strip().lower()
        _check_renders(item.header, item.footer)

    pre_update = pre_add


class AgentSignatureView(DeskModelView):
    datamodel = SQLAInterface(AgentSignature)
    class_permission_name = "Signature"
    route_base = "/answering/signatures"
    list_title = "Agent signatures"
    list_columns = ["agent", "text", "image_content_type", "updated_at"]
    search_columns = ["agent"]
    add_columns = ["agent", "text", "upload"]
    edit_columns = ["text", "upload"]
    show_columns = ["agent", "text", "image_content_type", "image_sha256", "updated_at"]
    label_columns = {
        "upload": "Image (JPEG or PNG, max 200 KB, 1200×1200 px)",
        "image_content_type": "Image",
    }
    add_form_extra_fields = edit_form_extra_fields = {"upload": FileField("Image")}
    description_columns = {"text": _placeholder_help()}

    def pre_add(self, item):
        _check_renders(item.text)
        upload = request.files.get("upload")
        services.set_signature_image(item, upload.read() if upload else None)

    pre_update = pre_add


def _upload_size(upload: FileStorage) -> int:
    stream = upload.stream
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


class DocumentFile:
    """The file of a document form: checked before anything is saved, so a file over the
    limit gets its error at the field and leaves no document without a version behind."""

    def __init__(self, *, required: bool):
        self.required = required

    def __call__(self, form, field):
        upload = field.data
        if not (isinstance(upload, FileStorage) and upload.filename):
            if self.required:
                raise ValidationError("Choose the file of the new document.")
            return
        size = _upload_size(upload)
        if size == 0:
            raise ValidationError(f"The file {upload.filename!r} is empty.")
        limit = services.MAX_UPLOAD_BYTES
        if size > limit:
            raise ValidationError(
                f"The file {upload.filename!r} has {size / (1024 * 1024):.1f} MB; "
                f"the limit is {limit // (1024 * 1024)} MB."
            )


class DocumentView(_PoolScopedView):
    datamodel = SQLAInterface(Document)
    class_permission_name = "Document"
    route_base = "/answering/documents"
    # No delete: sent replies refer to the versions; deactivate instead.
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_title = "Document library"
    list_columns = ["name", "pool", "current_version", "active"]
    search_columns = ["name", "pool", "active"]
    add_columns = edit_columns = ["name", "description", "pool", "active", "file"]
    show_columns = ["name", "description", "pool", "active", "current_version", "versions"]
    label_columns = {"file": "Upload a new version", "current_version": "Current version"}
    description_columns = {"pool": "Empty: offered in every pool."}
    add_form_extra_fields = {
        "file": FileField("File", validators=[DocumentFile(required=True)]),
    }
    edit_form_extra_fields = {
        "file": FileField(
            "Upload a new version",
            validators=[DocumentFile(required=False)],
            description="Empty: keep the current version.",
        ),
    }
    base_order = ("name", "asc")

    def post_add(self, item):
        upload = request.files.get("file")
        if upload and upload.filename:
            try:
                services.add_document_version(
                    item, filename=upload.filename, content_type=upload.mimetype, data=upload.read()
                )
            except DeskError as exc:
                db.session.rollback()
                flash(str(exc), "danger")

    post_update = post_add


class DocumentVersionView(DeskModelView):
    datamodel = SQLAInterface(DocumentVersion)
    class_permission_name = "Document"
    route_base = "/answering/document-versions"
    list_title = "Document versions"
    base_permissions = ["can_list", "can_show"]
    list_columns = [
        "document",
        "version",
        "filename",
        "size",
        "sha256",
        "uploaded_by",
        "created_at",
    ]
    show_columns = list_columns + ["content_type"]
    search_columns = ["filename", "created_at"]
    base_order = ("created_at", "desc")


# --- the agent's case actions (forms on the case page) ---------------------------------------


# Longest input of each field of the "open a case" form (the columns it fills); the browser
# stops typing there, the service refuses longer input from other clients.
OPEN_CASE_LIMITS = {
    "subject": column_max_length(Case, "subject"),
    "customer_email": column_max_length(Customer, "email"),
    "customer_name": column_max_length(Customer, "name"),
    "language": column_max_length(Customer, "language"),
}


def _form_answers(form) -> dict:
    answers = {}
    for key in form:
        if key.startswith("wrapup::"):
            answers[key[len("wrapup::") :]] = form.get(key, "")
    return answers


def _uploads(files) -> list[services.Upload]:
    return [
        services.Upload(f.filename, f.mimetype, f.read())
        for f in files.getlist("attachments")
        if f and f.filename
    ]


class CaseActionView(BaseView):
    """Forms of the case page: reply (compose, preview, send), note, forward, postpone,
    close with wrap-up, reopen, approve or reject a waiting reply, open a case for a customer."""

    route_base = "/caseaction"
    class_permission_name = CASE_ACTION
    method_permission_name = CASE_ACTION_PERMISSIONS
    default_view = "open"

    def _case(self, pk) -> Case:
        case = db.session.get(Case, pk)
        if case is None:
            abort(404)
        return case

    def _back(self, case):
        from app.security.rules import is_visible

        if is_visible(case):
            return redirect(url_for("CaseView.show", pk=case.id))
        return redirect(url_for("CaseView.list"))

    def _do(self, case, func, success: str):
        try:
            func()
            flash(success, "success")
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code == 404:
                abort(404)
            flash(str(exc), "danger")
        return self._back(case)

    @expose("/<int:pk>/compose", methods=["GET"])
    @has_access
    def compose(self, pk):
        """The reply editor, prefilled from a template when one is picked."""
        case = self._case(pk)
        try:
            services._open_case(case)
        except DeskError as exc:
            if exc.status_code == 404:
                abort(404)
            flash(str(exc), "danger")
            return self._back(case)
        text, template_id = "", request.args.get("template_id", type=int)
        if template_id:
            try:
                _tpl, _subject, text = services.render_template_for(case, template_id)
            except DeskError as exc:
                flash(str(exc), "danger")
        return self._compose_page(case, text=text, template_id=template_id)

    def _compose_page(self, case, *, text="", template_id=None, preview=None, selected=()):
        from flask_login import current_user

        return self.render_template(
            "answering/compose.html",
            case=case,
            text=text,
            template_id=template_id,
            templates=services.templates_for(case),
            documents=services.documents_for(case),
            selected_documents={int(d) for d in selected if str(d).isdigit()},
            may_attach=services.may_attach_files(current_user),
            preview=preview,
            data_uri=rendering.data_uri,
        )

    @expose("/<int:pk>/preview", methods=["POST"])
    @has_access
    def preview(self, pk):
        """Show the exact mail (header, body, footer, signature) without sending it."""
        case = self._case(pk)
        text = request.form.get("text", "")
        template_id = request.form.get("template_id") or None
        try:
            composed = services.preview(case, text=text, template_id=template_id)
        except DeskError as exc:
            if exc.status_code == 404:
                abort(404)
            flash(str(exc), "danger")
            composed = None
        return self._compose_page(
            case,
            text=text,
            template_id=template_id,
            preview=composed,
            selected=request.form.getlist("document_ids"),
        )

    @expose("/<int:pk>/reply", methods=["POST"])
    @has_access
    def reply(self, pk):
        """Send the reply (or submit it for approval)."""
        case = self._case(pk)
        try:
            row = services.reply(
                case,
                text=request.form.get("text", ""),
                template_id=request.form.get("template_id") or None,
                document_ids=request.form.getlist("document_ids"),
                uploads=_uploads(request.files),
            )
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code == 404:
                abort(404)
            if exc.status_code == 403:
                return self.render_template("loopdesk/error.html", message=str(exc)), 403
            flash(str(exc), "danger")
            return self._compose_page(
                case,
                text=request.form.get("text", ""),
                template_id=request.form.get("template_id") or None,
                selected=request.form.getlist("document_ids"),
            )
        if row.status == "pending_approval":
            flash("Your reply waits for a supervisor's approval.", "info")
        else:
            flash("Reply sent.", "success")
        return self._back(case)

    @expose("/<int:pk>/note", methods=["POST"])
    @has_access
    def note(self, pk):
        case = self._case(pk)
        return self._do(
            case, lambda: services.add_note(case, request.form.get("text", "")), "Note added."
        )

    @expose("/<int:pk>/forward", methods=["POST"])
    @has_access
    def forward(self, pk):
        case = self._case(pk)
        return self._do(
            case,
            lambda: services.forward(
                case,
                note=request.form.get("note", ""),
                assignee_id=request.form.get("assignee_id") or None,
                pool_id=request.form.get("pool_id") or None,
            ),
            f"{case.number} forwarded.",
        )

    @expose("/<int:pk>/postpone", methods=["POST"])
    @has_access
    def postpone(self, pk):
        case = self._case(pk)
        try:
            until = datetime.fromisoformat(request.form.get("until", ""))
        except ValueError:
            flash("Pick a valid date and time to postpone to.", "danger")
            return self._back(case)
        return self._do(
            case,
            lambda: services.postpone(
                case,
                until,
                reason=request.form.get("reason") or None,
                notify=request.form.get("notify", "1") != "0",
            ),
            f"{case.number} postponed.",
        )

    @expose("/<int:pk>/close", methods=["POST"])
    @has_access
    def close(self, pk):
        case = self._case(pk)
        return self._do(
            case,
            lambda: services.close(
                case, answers=_form_answers(request.form), reason=request.form.get("reason") or None
            ),
            f"{case.number} closed.",
        )

    @expose("/<int:pk>/reopen", methods=["POST"])
    @has_access
    def reopen(self, pk):
        case = self._case(pk)
        return self._do(
            case,
            lambda: services.reopen(case, reason=request.form.get("reason") or None),
            f"{case.number} reopened.",
        )

    def _reply(self, reply_id) -> Reply:
        row = db.session.get(Reply, reply_id)
        if row is None:
            abort(404)
        return row

    @expose("/reply/<int:reply_id>/approve", methods=["POST"])
    @has_access
    def approve(self, reply_id):
        row = self._reply(reply_id)
        return self._do(
            row.case,
            lambda: services.approve_reply(row, note=request.form.get("note")),
            "Reply approved and sent.",
        )

    @expose("/reply/<int:reply_id>/reject", methods=["POST"])
    @has_access
    def reject(self, reply_id):
        row = self._reply(reply_id)
        return self._do(
            row.case,
            lambda: services.reject_reply(row, request.form.get("reason", "")),
            "Reply sent back to the agent.",
        )

    @expose("/open", methods=["GET", "POST"])
    @has_access
    def open(self):
        """Open a case for a customer (phone, counter); he gets a confirmation by mail."""
        from app.organisation.models import Pool
        from app.security.rules import visible

        pools = visible(db.session.query(Pool), Pool).filter(Pool.active.is_(True)).all()
        if request.method == "POST":
            try:
                case = services.open_case_for_customer(
                    pool_id=request.form.get("pool_id"),
                    subject=request.form.get("subject", ""),
                    customer_email=request.form.get("customer_email", ""),
                    customer_name=request.form.get("customer_name"),
                    language=request.form.get("language") or None,
                    text=request.form.get("text"),
                )
                flash(f"Opened {case.number}; the customer gets a confirmation.", "success")
                return redirect(url_for("CaseView.show", pk=case.id))
            except DeskError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
        return self.render_template(
            "answering/open_case.html", pools=pools, form=request.form, limits=OPEN_CASE_LIMITS
        )


# --- the case page panel ----------------------------------------------------------------------


def case_panel(case: Case) -> dict:
    """What the case page's action panel needs (called from the template)."""
    from flask_appbuilder.security.sqla.models import User

    from app.organisation.models import Pool
    from app.security.rules import visible

    pending = services.pending_reply(case)
    replies = (
        db.session.query(Reply)
        .filter(Reply.case_id == case.id)
        .order_by(Reply.id.desc())
        .limit(5)
        .all()
    )
    mails = _reply_mails(replies)
    return {
        "templates": services.templates_for(case),
        "questions": services.wrap_up_questions(case.pool),
        "pending": pending,
        "may_approve": pending is not None and services.may_approve(case),
        "pools": db.session.query(Pool).filter(Pool.active.is_(True)).order_by(Pool.name).all(),
        "colleagues": visible(db.session.query(User), User)
        .filter(User.active.is_(True))
        .order_by(User.username)
        .all(),
        "replies": [(r, reply_state(r, mails)) for r in replies],
    }


REPLY_STATES = {
    ReplyStatus.PENDING: "waiting for approval",
    ReplyStatus.REJECTED: "rejected",
}


def _reply_mails(replies) -> dict:
    """The outbox mail of each sent reply, by the id of the reply's outbound message."""
    ids = [r.message_row_id for r in replies if r.message_row_id]
    if not ids:
        return {}
    rows = db.session.query(OutboxMail).filter(OutboxMail.message_row_id.in_(ids))
    return {m.message_row_id: m for m in rows}


def reply_state(reply: Reply, mails: dict) -> str:
    """What became of a reply, in words. A reply is "sent" only once the relay accepted its
    mail; before that it is "queued" (or "retrying"), and "not delivered" when it failed, as
    the case's delivery panel says."""
    if reply.status in REPLY_STATES:
        return REPLY_STATES[reply.status]
    mail = mails.get(reply.message_row_id)
    return mail.status_label if mail is not None else "queued"


# --- the portal link page (placeholder for the customer portal) ---------------------------------

portal = Blueprint("answering_portal", __name__)


def portal_case(token):
    """The case behind a signed link, read-only: mail in and out, never internal notes."""
    case = services.case_from_portal_token(token)
    if case is None:
        abort(404)
    return render_template(
        "answering/portal_case.html", case=case, messages=services.portal_thread(case)
    )


portal.add_url_rule("/portal/case/<token>", endpoint="case", view_func=portal_case)


def register(appbuilder) -> None:
    """Add the answering views, API, portal page and case-page helpers to a desk."""
    from flask import current_app

    from app.answering.api import CaseActionApi

    app = current_app._get_current_object()  # views are registered inside create_app's context
    appbuilder.add_view(
        ResponseTemplateView, "Templates", icon="fa-file-text-o", category="Answering"
    )
    appbuilder.add_view(
        PoolLayoutView, "Headers & footers", icon="fa-columns", category="Answering"
    )
    appbuilder.add_view(AgentSignatureView, "Signatures", icon="fa-pencil", category="Answering")
    appbuilder.add_view(DocumentView, "Documents", icon="fa-book", category="Answering")
    appbuilder.add_view(
        DocumentVersionView, "Document versions", icon="fa-files-o", category="Answering"
    )
    appbuilder.add_view(CaseActionView, "Open a case", icon="fa-plus", category="Desk")
    appbuilder.add_api(CaseActionApi)
    app.register_blueprint(portal)
    app.jinja_env.globals["answering_panel"] = case_panel

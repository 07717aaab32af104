"""Views of the answering feature: configuration (templates, headers and footers, signatures,
documents) and the reply forms of the case page (compose, preview, send, approve, reject).
The customer portal's pages are app.portal's.

Every form handler is a thin door onto the answering services (``replies``, ``templates``,
``documents``); the record rules, the write rules (``record_rules.WRITE_RULES``) and all
business rules are checked there or in the base view, so the REST API (``api.py``) behaves the
same. The other case actions (note, forward, postpone, close, …) are app.cases'.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from wtforms import FileField
from wtforms.validators import ValidationError

from app.answering import documents, rendering, replies, richtext, templates
from app.answering.models import (
    AgentSignature,
    Document,
    DocumentVersion,
    PoolLayout,
    Reply,
    ReplyStatus,
    ResponseTemplate,
)
from app.audit.actor import current_actor
from app.cases import actions as case_actions
from app.cases.models import Case
from app.cases.views import form_answers, run_on_case
from app.cases.workflow import CaseStatus
from app.core.views import DeskModelView
from app.errors import CaseChanged, DeskError
from app.extensions import db
from app.questionnaires import services as questionnaires
from app.questionnaires.models import Moment
from app.security.roles import user_may
from app.security.rules import is_visible

# Permission (without "can_") of each reply door; shared by the view and the API, on the
# case actions' permission view (CaseAction).
REPLY_PERMISSIONS = {
    "compose": "reply",
    "preview": "reply",
    "reply": "reply",
    "template": "reply",
    "options": "reply",
    "approve": "approve",
    "reject": "approve",
}

# The reply form's questions (templates/questionnaires/_questions.html) are "reply::<id>".
REPLY_ANSWER_PREFIX = "reply::"


# --- configuration views -------------------------------------------------------------------------


def _placeholder_help() -> Markup:
    names = ", ".join("{{ " + name + " }}" for name in rendering.PLACEHOLDERS)
    return Markup("Placeholders: <code>{}</code>").format(names)


class ResponseTemplateView(DeskModelView):
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
        "notice.postponed, notice.confirmation, notice.closed, notice.inactivity_reminder and "
        "notice.inactivity_closed replace the desk's own notices.",
        "language": "e.g. en, de, fr; customers get their language, else the desk default.",
        "body": _placeholder_help(),
        "subject": _placeholder_help(),
    }

    def clean(self, item):
        item.language = (item.language or "en").strip().lower()
        _check_renders(item.subject, item.body, notice=item.name)


def _check_renders(*sources, notice: str | None = None):
    """Refuse a template that cannot render (syntax, unknown placeholder, unsafe access)."""
    names = [*rendering.PLACEHOLDERS, *rendering.NOTICE_PLACEHOLDERS.get(notice or "", {})]
    sample = {name: f"<{name}>" for name in names}
    for source in sources:
        rendering.render_text(source, sample)


class PoolLayoutView(DeskModelView):
    datamodel = SQLAInterface(PoolLayout)
    class_permission_name = "PoolLayout"
    route_base = "/answering/layouts"
    list_title = "Reply headers and footers"
    list_columns = ["pool", "language", "header", "footer"]
    search_columns = ["pool", "language"]
    add_columns = edit_columns = show_columns = ["pool", "language", "header", "footer"]
    description_columns = {"header": _placeholder_help(), "footer": _placeholder_help()}

    def clean(self, item):
        item.language = (item.language or "en").strip().lower()
        _check_renders(item.header, item.footer)


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

    def clean(self, item):
        _check_renders(item.text)
        upload = request.files.get("upload")
        documents.set_signature_image(item, upload.read() if upload else None)


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
        limit = documents.MAX_UPLOAD_BYTES
        if size > limit:
            raise ValidationError(
                f"The file {upload.filename!r} has {size / (1024 * 1024):.1f} MB; "
                f"the limit is {limit // (1024 * 1024)} MB."
            )


class DocumentView(DeskModelView):
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
                documents.add_document_version(
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


# --- the reply forms of the case page ---------------------------------------------------------


def _uploads(files) -> list[replies.Upload]:
    return [
        replies.Upload(f.filename, f.mimetype, f.read())
        for f in files.getlist("attachments")
        if f and f.filename
    ]


def _partial_request() -> bool:
    """An htmx request from the composer (a template picked, Preview pressed): answer with
    the fragment it swaps in, not the whole page."""
    return request.headers.get("HX-Request") == "true"


def composer_state(
    case: Case,
    *,
    text: str = "",
    body_html: str | None = None,
    template_id=None,
    preview=None,
    error: str | None = None,
    selected=(),
) -> dict:
    """What the reply composer (``answering/_composer.html``) shows for ``case``: the
    pickers offered to the acting user and the reply as written so far. The case page calls
    it from its template (``reply_composer(case)``); the compose page with the reply."""
    may_reply = case.status not in (CaseStatus.CLOSED, CaseStatus.AWAITING_APPROVAL) and user_may(
        current_actor(), "can_reply", case_actions.CASE_ACTION
    )
    editor_html = ""
    if body_html:
        try:
            editor_html = richtext.clean_editor_html(body_html)
        except DeskError:
            editor_html = ""
    return {
        "may_reply": may_reply,
        "text": text or "",
        "editor_html": editor_html,
        "template_id": str(template_id or ""),
        "templates": templates.templates_for(case) if may_reply else [],
        "documents": documents.documents_for(case) if may_reply else [],
        "selected_documents": {int(d) for d in selected if str(d).isdigit()},
        "may_attach": may_reply and replies.may_attach_files(current_user),
        "preview": preview,
        "error": error,
        "recipient": case.customer.email if case.customer else None,
        "reply_questions": questionnaires.questions_for(case, Moment.REPLY) if may_reply else [],
        # kept from the workspace's form: a reply to a case that changed since is refused
        "case_version": request.form.get("case_version") if request.method == "POST" else None,
    }


class ReplyView(BaseView):
    """The reply composer (compose, template, preview, send) and the supervisor's approve /
    reject, at ``/caseaction/...`` beside the other case actions (app.cases)."""

    route_base = "/caseaction"
    class_permission_name = case_actions.CASE_ACTION
    method_permission_name = REPLY_PERMISSIONS
    default_view = "compose"

    def _case(self, pk) -> Case:
        case = db.session.get(Case, pk)
        if case is None or not is_visible(case):
            abort(404)
        return case

    def _back(self, case):
        return redirect(url_for("CaseView.show", pk=case.id))

    def _written(self, template_id=None) -> dict:
        return {
            "text": request.form.get("text", ""),
            "body_html": request.form.get("body_html") or None,
            "template_id": template_id,
        }

    @expose("/<int:pk>/compose", methods=["GET"])
    @has_access
    def compose(self, pk):
        """The reply composer on its own page, prefilled from a template when one is picked."""
        case = self._case(pk)
        try:
            case_actions.ensure_open(case)
        except DeskError as exc:
            flash(str(exc), "danger")
            return self._back(case)
        text, template_id = "", request.args.get("template_id", type=int)
        if template_id:
            try:
                _tpl, _subject, text = templates.render_template_for(case, template_id)
            except DeskError as exc:
                flash(str(exc), "danger")
        return self._compose_page(case, text=text, template_id=template_id)

    @expose("/<int:pk>/template", methods=["GET"])
    @has_access
    def template(self, pk):
        """The composer's editor filled with a template rendered for this case (the fragment
        the template picker swaps in); no template: an empty editor."""
        case = self._case(pk)
        text, error, template_id = "", None, request.args.get("template_id", type=int)
        if template_id:
            try:
                _tpl, _subject, text = templates.render_template_for(case, template_id)
            except DeskError as exc:
                if exc.status_code == 403:
                    raise
                error, template_id = str(exc), None
        state = composer_state(case, text=text, template_id=template_id, error=error)
        if text:
            state["editor_html"] = richtext.text_to_editor_html(text.strip())
        return render_template("answering/_composer_editor.html", case=case, composer=state)

    def _compose_page(self, case, **state):
        return self.render_template(
            "answering/compose.html", case=case, composer=composer_state(case, **state)
        )

    @expose("/<int:pk>/preview", methods=["POST"])
    @has_access
    def preview(self, pk):
        """Show the exact mail (header, body, footer, signature) without sending it."""
        case = self._case(pk)
        written = self._written(request.form.get("template_id") or None)
        composed, error = None, None
        try:
            composed = replies.preview(case, **written)
        except DeskError as exc:
            if exc.status_code in (403, 404):
                raise
            error = str(exc)
        if _partial_request():
            return render_template(
                "answering/_composer_preview.html",
                case=case,
                preview=composed,
                error=error,
                documents=documents.documents_for(case),
                selected_documents={
                    int(d) for d in request.form.getlist("document_ids") if d.isdigit()
                },
            )
        if error:
            flash(error, "danger")
        return self._compose_page(
            case, **written, preview=composed, selected=request.form.getlist("document_ids")
        )

    @expose("/<int:pk>/reply", methods=["POST"])
    @has_access
    def reply(self, pk):
        """Send the reply (or submit it for approval)."""
        case = self._case(pk)
        written = self._written(request.form.get("template_id") or None)
        try:
            row = replies.reply(
                case,
                **written,
                document_ids=request.form.getlist("document_ids"),
                uploads=_uploads(request.files),
                answers=form_answers(request.form, REPLY_ANSWER_PREFIX),
                expected_version=request.form.get("case_version") or None,
            )
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                raise
            flash(str(exc), "danger")
            # The text stays; a case that changed meanwhile answers 409 (nothing was sent).
            return self._compose_page(
                case, **written, selected=request.form.getlist("document_ids")
            ), (409 if isinstance(exc, CaseChanged) else 200)
        if row.status == "pending_approval":
            flash("Your reply waits for a supervisor's approval.", "info")
        else:
            flash("Reply sent.", "success")
        return self._back(case)

    def _reply(self, reply_id) -> Reply:
        row = db.session.get(Reply, reply_id)
        if row is None or not is_visible(row.case):
            abort(404)
        return row

    @expose("/reply/<int:reply_id>/approve", methods=["POST"])
    @has_access
    def approve(self, reply_id):
        row = self._reply(reply_id)
        return run_on_case(
            row.case,
            lambda: replies.approve_reply(
                row,
                note=request.form.get("note"),
                expected_version=request.form.get("case_version") or None,
            ),
            "Reply approved and sent.",
        )

    @expose("/reply/<int:reply_id>/reject", methods=["POST"])
    @has_access
    def reject(self, reply_id):
        row = self._reply(reply_id)
        return run_on_case(
            row.case,
            lambda: replies.reject_reply(
                row,
                request.form.get("reason", ""),
                expected_version=request.form.get("case_version") or None,
            ),
            "Reply sent back to the agent.",
        )


def case_panel(case: Case) -> dict:
    """What the case page's reply panel needs (called from the template): the reply button
    and the approval buttons only for those who may use them."""
    may_reply = case.status not in (
        CaseStatus.CLOSED,
        CaseStatus.AWAITING_APPROVAL,
    ) and user_may(current_actor(), "can_reply", case_actions.CASE_ACTION)
    pending, recent = replies.pending_and_recent(case)
    mails = replies.outbox_mails_of(recent)
    return {
        "may_reply": may_reply,
        "pending": pending,
        "may_approve": pending is not None and replies.may_approve(case),
        "replies": [(r, reply_state(r, mails)) for r in recent],
    }


REPLY_STATES = {
    ReplyStatus.PENDING: "waiting for approval",
    ReplyStatus.REJECTED: "rejected",
}


def reply_state(reply: Reply, mails: dict) -> str:
    """What became of a reply, in words. A reply is "sent" only once the relay accepted its
    mail; before that it is "queued" (or "retrying"), and "not delivered" when it failed, as
    the case's delivery panel says."""
    if reply.status in REPLY_STATES:
        return REPLY_STATES[reply.status]
    mail = mails.get(reply.message_row_id)
    return mail.status_label if mail is not None else "queued"


def register(appbuilder) -> None:
    """Add the answering views, API, portal page and case-page helpers to a desk."""
    from app.answering.api import ReplyApi  # the API imports this module

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
    appbuilder.add_view_no_menu(ReplyView)
    appbuilder.add_api(ReplyApi)
    app.jinja_env.globals["answering_panel"] = case_panel
    app.jinja_env.globals["reply_composer"] = composer_state
    # The composer's hook: templates of higher features (the knowledge base's picker) that
    # the composer includes beside its template picker; each feature appends its own.
    app.jinja_env.globals.setdefault("composer_tools", [])

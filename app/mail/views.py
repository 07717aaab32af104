"""Mailbox configuration, the raw-mail archive with its quarantine, category rules, and the
download of attachments and raw mail (record rules apply to every row and every file)."""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_file,
    session,
    url_for,
)
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name
from markupsafe import Markup
from wtforms import PasswordField, SelectField
from wtforms.validators import Optional

from app.audit.actor import current_actor
from app.core.priority import PRIORITY_CHOICES
from app.core.settings import setting
from app.core.urls import desk_base_url
from app.core.views import DeskModelView
from app.errors import AccessDenied, DeskError
from app.extensions import db
from app.mail import store
from app.mail.intake import open_automatic_as_case, reprocess
from app.mail.models import Attachment, CategoryRule, RawMessage, RawMessageStatus
from app.mail.sanitize import has_visible_content, split_quoted_html
from app.mail.webhook import register_webhook
from app.mailcore import oauth
from app.mailcore.models import Mailbox
from app.security.rules import ensure_visible

# The mailbox's auto-response is a three-way setting (the column is nullable): as the pool
# (None), on (True) or off (False). A checkbox could only say on or off.
AUTO_RESPONSE_CHOICES = [("", "as the pool"), ("on", "on"), ("off", "off")]
_AUTO_RESPONSE_VALUES = {"": None, "on": True, "off": False}


def _auto_response_setting(value):
    """Form value → column value: "" → None, "on" → True, "off" → False; a stored value
    (None, True, False) stays as it is, so the form shows the stored state."""
    if value is None or isinstance(value, bool):
        return value
    return _AUTO_RESPONSE_VALUES.get(str(value), value)


class MailboxView(DeskModelView):
    datamodel = SQLAInterface(Mailbox)
    class_permission_name = "Mailbox"
    route_base = "/mailboxes"
    list_columns = [
        "address",
        "pool",
        "inbound_protocol",
        "active",
        "last_success_at",
        "last_error",
        "fetch_failures",
        "oauth_state",
    ]
    search_columns = ["address", "pool", "inbound_protocol", "active"]
    # Passwords and tokens are never sent back to the browser: the form has empty password
    # fields, and an empty field keeps the stored secret (see _apply_secrets). They are
    # stored encrypted (app.core.encryption).
    add_fieldsets = edit_fieldsets = [
        ("Mailbox", {"fields": ["address", "display_name", "pool", "active"]}),
        (
            "Receiving",
            {
                "fields": [
                    "inbound_protocol",
                    "inbound_host",
                    "inbound_port",
                    "inbound_security",
                    "inbound_auth",
                    "inbound_username",
                    "new_inbound_secret",
                    "inbound_folder",
                    "inbound_after_fetch",
                    "inbound_flag",
                    "inbound_processed_folder",
                    "inbound_max_size",
                    "new_webhook_secret",
                ]
            },
        ),
        (
            "Sending",
            {
                "fields": [
                    "sender_name",
                    "smtp_host",
                    "smtp_port",
                    "smtp_security",
                    "smtp_username",
                    "new_smtp_secret",
                ]
            },
        ),
        ("Auto-response", {"fields": ["auto_response_enabled", "auto_response_text"]}),
    ]
    add_columns = edit_columns = [f for _, spec in add_fieldsets for f in spec["fields"]]
    add_form_extra_fields = edit_form_extra_fields = {
        "inbound_protocol": SelectField(
            "Receive by", choices=[(p, p) for p in ("imap", "pop3", "pipe", "webhook", "none")]
        ),
        "inbound_security": SelectField(
            "Connection security",
            choices=[("ssl", "TLS"), ("starttls", "STARTTLS"), ("none", "none (loopback only)")],
        ),
        "inbound_auth": SelectField(
            "Login with", choices=[("password", "password"), ("xoauth2", "OAuth2 token")]
        ),
        "inbound_after_fetch": SelectField(
            "After fetching",
            choices=[
                ("flag", "flag on the server"),
                ("move", "move to the processed folder"),
                ("keep", "leave as it is"),
                ("delete", "delete (POP3)"),
            ],
        ),
        "auto_response_enabled": SelectField(
            "Auto-response",
            choices=AUTO_RESPONSE_CHOICES,
            coerce=_auto_response_setting,
            description="As the pool: the pool's setting decides.",
        ),
        "new_inbound_secret": PasswordField(
            "Password or token",
            validators=[Optional()],
            description="Leave empty to keep the stored one.",
        ),
        "new_smtp_secret": PasswordField(
            "SMTP password",
            validators=[Optional()],
            description="Leave empty to keep the stored one.",
        ),
        "new_webhook_secret": PasswordField(
            "Webhook token",
            validators=[Optional()],
            description="Leave empty to keep the stored one. POST raw MIME to "
            "/inbound/<address> with header X-Loopdesk-Token, or sign the body: "
            "X-Loopdesk-Signature: sha256=<hex HMAC>",
        ),
    }
    show_exclude_columns = [
        "inbound_secret",
        "smtp_secret",
        "webhook_secret",
        "oauth_refresh_token",
    ]
    show_template = "mail/mailbox_show.html"
    label_columns = {
        "oauth_state": "OAuth2",
        "last_success_at": "Last good fetch",
        "last_error": "Last error",
        "auto_response_enabled": "Auto-response",
        "auto_response_text": "Auto-response text (empty: the pool's)",
    }
    description_columns = {
        "auto_response_text": "Placeholders: {case_number} {case_tag} {subject} {due} (first "
        "response due, UTC) {hours} (the SLA policy's first-response target in business hours) "
        "{customer_name}",
    }
    base_order = ("address", "asc")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        mailbox = self.datamodel.get(pk, self._base_filters)
        if mailbox is None:
            abort(404)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=self._show(pk),
            related_views=self._related_views,
            mailbox=mailbox,
            providers=oauth.configured_providers(),
            providers_all=oauth.PROVIDERS,
            may_connect=self.appbuilder.sm.has_access("can_oauth_connect", "Mailbox"),
        )

    @expose("/oauth/connect/<int:pk>/<provider_name>", methods=["POST"])
    @has_access
    def oauth_connect(self, pk, provider_name):
        """Admins: send the browser to the provider to grant the desk access (CSRF-checked
        POST; the state is signed, single use and bound to this session)."""
        mailbox = self.datamodel.get(pk, self._base_filters)
        if mailbox is None:
            abort(404)
        try:
            target = oauth.start_authorization(
                mailbox,
                provider_name,
                user=current_actor(),
                session=session,
                redirect_uri=_callback_url(),
            )
        except DeskError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("MailboxView.show", pk=pk))
        return redirect(target)

    @expose("/oauth/callback", methods=["GET"])
    @has_access
    @permission_name("oauth_connect")
    def oauth_callback(self):
        """Where the provider sends the admin back with ``code`` and ``state``."""
        state = request.args.get("state", "")
        if request.args.get("error"):
            flash(
                f"The provider refused: {request.args.get('error')} "
                f"{request.args.get('error_description', '')}".strip(),
                "danger",
            )
            return redirect(url_for("MailboxView.list"))
        try:
            mailbox = oauth.complete_authorization(
                state,
                request.args.get("code", ""),
                user=current_actor(),
                session=session,
                redirect_uri=_callback_url(),
            )
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for("MailboxView.list"))
        flash(f"{mailbox.address} is connected; it logs in by OAuth2 from now on.", "success")
        return redirect(url_for("MailboxView.show", pk=mailbox.id))

    def clean(self, item):
        # Who may change the mailbox: the write rule in app.mail.record_rules.
        item.address = (item.address or "").strip().lower()
        _apply_secrets(item)


def _callback_url() -> str:
    """The redirect URI to register with the provider: DESK_BASE_URL + the callback."""
    return desk_base_url() + url_for("MailboxView.oauth_callback")


def _apply_secrets(item) -> None:
    """Take a newly typed secret from the form's password fields; empty keeps the old one."""
    for field, column in (
        ("new_inbound_secret", "inbound_secret"),
        ("new_smtp_secret", "smtp_secret"),
        ("new_webhook_secret", "webhook_secret"),
    ):
        value = getattr(item, field, None)
        if value:
            setattr(item, column, value)


class RawMessageView(DeskModelView):
    """Every mail as received. Read-only; a supervisor (of the mailbox's pool) or an admin may
    download the .eml and re-process stored or quarantined mail."""

    datamodel = SQLAInterface(RawMessage)
    class_permission_name = "RawMessage"
    route_base = "/raw-mail"
    list_title = "Raw mail"
    base_permissions = ["can_list", "can_show", "can_download", "can_reprocess"]
    method_permission_name = {"download": "download", "reprocess": "reprocess"}
    list_columns = [
        "id",
        "received_at",
        "mailbox",
        "source",
        "status",
        "outcome",
        "flags",
        "size",
        "error",
        "case",
    ]
    search_columns = [
        "status",
        "outcome",
        "source",
        "mailbox",
        "received_at",
        "sha256",
        "message_id_header",
    ]
    show_columns = [
        "id",
        "received_at",
        "mailbox",
        "source",
        "source_ref",
        "recipient",
        "status",
        "outcome",
        "flags",
        "size",
        "sha256",
        "message_id_header",
        "error",
        "case",
        "processed_at",
    ]
    base_order = ("received_at", "desc")

    @expose("/download/<pk>")
    @has_access
    def download(self, pk):
        """The raw .eml exactly as received."""
        row = self._visible_or_404(pk)
        return send_file(
            store.open_raw(row),
            mimetype="message/rfc822",
            as_attachment=True,
            download_name=f"raw-{row.id}.eml",
        )

    @action("reprocess", "Re-process", "Run the intake again for the selected mail?", "fa-refresh")
    def reprocess(self, items):
        items = items if isinstance(items, list) else [items]
        for item in items:
            ensure_visible(item)
            result = reprocess(item.id)
            if result.status == RawMessageStatus.PROCESSED:
                flash(f"raw #{item.id}: processed", "success")
            else:
                flash(f"raw #{item.id}: {result.status} {result.error or ''}", "warning")
        return redirect(self.get_redirect())


class QuarantineView(RawMessageView):
    """Mail that could not be processed, with its error: download, fix, re-process."""

    route_base = "/quarantine"
    list_title = "Quarantine"
    base_filters = [["status", FilterEqual, RawMessageStatus.QUARANTINED]]
    list_columns = ["id", "received_at", "mailbox", "source", "size", "error"]


class AutomaticMailView(DeskModelView):
    """Machine mail (out-of-office, bounces, bulk and list mail, loops) that threaded to no
    case and so opened none. A supervisor sees his pools' mailboxes (the record rules of raw
    mail) and may open one as a case when a person is behind it after all."""

    datamodel = SQLAInterface(RawMessage)
    class_permission_name = "AutomaticMail"
    route_base = "/automatic-mail"
    list_title = "Automatic mail"
    show_title = "Automatic mail"
    base_permissions = ["can_list", "can_show", "can_open_as_case"]
    base_filters = [["status", FilterEqual, RawMessageStatus.AUTOMATIC]]
    list_columns = ["id", "received_at", "mailbox", "sender", "subject", "flags"]
    search_columns = ["mailbox", "received_at", "flags", "message_id_header"]
    show_columns = [
        "id",
        "received_at",
        "mailbox",
        "sender",
        "subject",
        "source",
        "source_ref",
        "recipient",
        "flags",
        "size",
        "message_id_header",
        "processed_at",
    ]
    label_columns = {"message_id_header": "Message-ID", "flags": "Signals"}
    base_order = ("received_at", "desc")

    @action(
        "open_as_case",
        "Open as case",
        "Open a case for the selected mail?",
        "fa-folder-open",
    )
    def open_as_case(self, items):
        items = items if isinstance(items, list) else [items]
        opened = []
        for item in items:
            try:
                case = open_automatic_as_case(item, current_actor())
            except DeskError as exc:
                flash(f"raw #{item.id}: {exc}", "warning")
            else:
                opened.append(case)
                flash(f"raw #{item.id}: case {case.number} opened", "success")
        if len(items) == 1 and opened:  # one mail: on to its new case
            return redirect(url_for("CaseView.show", pk=opened[0].id))
        return redirect(self.get_redirect())


class CategoryRuleView(DeskModelView):
    datamodel = SQLAInterface(CategoryRule)
    class_permission_name = "CategoryRule"
    route_base = "/category-rules"
    list_title = "Category rules"
    list_columns = [
        "position",
        "name",
        "active",
        "owner_pool",
        "set_pool",
        "set_topic",
        "set_skill",
        "set_priority",
    ]
    search_columns = ["name", "active", "owner_pool"]
    add_columns = edit_columns = [
        "name",
        "position",
        "active",
        "owner_pool",
        "sender_contains",
        "recipient_contains",
        "subject_contains",
        "body_keywords",
        "header_name",
        "header_value",
        "set_pool",
        "set_topic",
        "set_skill",
        "set_priority",
    ]
    show_columns = add_columns
    label_columns = {
        "owner_pool": "Pool (owner)",
        "set_priority": "Set priority",
        "body_keywords": "Body keywords (comma-separated, any)",
    }
    description_columns = {
        "position": "Rules are tried from the lowest position; the first match decides.",
        "owner_pool": "Applies to mail arriving in this pool's mailboxes; empty: all (admins).",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "set_priority": SelectField(
            "Set priority", choices=[(0, "Keep")] + PRIORITY_CHOICES, coerce=int
        ),
    }
    base_order = ("position", "asc")

    def clean(self, item):
        # Who may change the rule (its owner pool's supervisors): app.mail.record_rules.
        if not item.set_priority:
            item.set_priority = None


class AttachmentView(BaseView):
    """Downloads of attachments (and cid: images in mail HTML) for whoever may see the case."""

    route_base = "/mail"
    class_permission_name = "Message"
    method_permission_name = {"attachment": "show"}
    default_view = "attachment"

    @expose("/attachment/<int:attachment_id>")
    @has_access
    def attachment(self, attachment_id):
        row = db.session.get(Attachment, attachment_id)
        if row is None:
            abort(404)
        try:
            ensure_visible(row.message)
        except AccessDenied:
            abort(404)
        ctype = row.content_type or "application/octet-stream"
        inline = ctype.startswith("image/") and ctype != "image/svg+xml"
        try:
            fh = store.open_blob(row.sha256)
        except FileNotFoundError:
            return Response("The file of this attachment is missing from the store.", 410)
        response = send_file(
            fh,
            mimetype=ctype if inline else "application/octet-stream",
            as_attachment=not inline,
            download_name=row.filename or f"attachment-{row.id}",
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response


def register(appbuilder) -> None:
    appbuilder.add_view(MailboxView, "Mailboxes", icon="fa-envelope", category="Configuration")
    appbuilder.add_view(
        CategoryRuleView, "Category rules", icon="fa-random", category="Configuration"
    )
    appbuilder.add_view(RawMessageView, "Raw mail", icon="fa-archive", category="Archive")
    appbuilder.add_view(
        QuarantineView, "Quarantine", icon="fa-exclamation-triangle", category="Archive"
    )
    appbuilder.add_view(
        AutomaticMailView, "Automatic mail", icon="fa-reply-all", category="Archive"
    )
    appbuilder.add_view_no_menu(AttachmentView)
    register_webhook()  # POST /inbound/<mailbox>, fold_quotes filter
    current_app.add_template_filter(thread_html, "mail_html")


def thread_html(html: str | None) -> tuple[Markup, Markup] | None:
    """``message.body_html|mail_html`` in the case thread: (new part, quoted part) of the
    mail's HTML, sanitised again as it is shown (remote images blocked unless
    ``MAIL_ALLOW_REMOTE_IMAGES``); None when there is no HTML or it shows nothing, so the
    thread shows the text part."""
    if not html:
        return None
    new, quoted = split_quoted_html(
        html, allow_remote_images=bool(setting("MAIL_ALLOW_REMOTE_IMAGES"))
    )
    if not has_visible_content(new + quoted):
        return None
    if not has_visible_content(new):  # all of it quoted (a bare forward): show it open
        new, quoted = new + quoted, ""
    return Markup(new), Markup(quoted)  # sanitised by nh3 just above

"""Mailbox configuration and the raw-mail archive (quarantine lives here)."""

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelView
from app.mail.models import Mailbox, RawMessage
from app.security.rules import ensure_can_configure_pool


class MailboxView(DeskModelView):
    datamodel = SQLAInterface(Mailbox)
    class_permission_name = "Mailbox"
    route_base = "/mailboxes"
    list_columns = ["address", "pool", "inbound_protocol", "active", "last_success_at",
                    "last_error"]
    search_columns = ["address", "pool", "inbound_protocol", "active"]
    add_columns = edit_columns = [
        "address", "display_name", "pool", "active", "inbound_protocol", "inbound_host",
        "inbound_port", "inbound_security", "inbound_auth", "inbound_username", "inbound_secret",
        "inbound_folder", "webhook_secret", "sender_name", "smtp_host", "smtp_port",
        "smtp_security", "smtp_username", "smtp_secret",
    ]
    show_exclude_columns = ["inbound_secret", "smtp_secret", "webhook_secret"]
    label_columns = {"last_success_at": "Last good fetch", "last_error": "Last error"}
    base_order = ("address", "asc")

    def pre_add(self, item):
        item.address = (item.address or "").strip().lower()
        ensure_can_configure_pool(item.pool.id if item.pool else item.pool_id)

    pre_update = pre_add


class RawMessageView(DeskModelView):
    datamodel = SQLAInterface(RawMessage)
    class_permission_name = "RawMessage"
    route_base = "/raw-mail"
    list_title = "Raw mail"
    base_permissions = ["can_list", "can_show"]
    list_columns = ["id", "received_at", "mailbox", "source", "status", "size", "error", "case"]
    search_columns = ["status", "source", "mailbox", "received_at"]
    show_columns = ["id", "received_at", "mailbox", "source", "source_ref", "status", "size",
                    "sha256", "message_id_header", "error", "case", "processed_at"]
    base_order = ("received_at", "desc")

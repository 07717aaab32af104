"""The Outbox view (supervisors, admins): every outgoing mail of the cases one may see, with a
Retry action for failed mail; and the helper that lists a case's delivery problems on the case
page."""

from __future__ import annotations

from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelView
from app.outbox import services
from app.outbox.models import OutboxMail, OutboxStatus

PROBLEM_STATUSES = (
    OutboxStatus.FAILED,
    OutboxStatus.QUEUED,
    OutboxStatus.SENDING,
    OutboxStatus.SUPPRESSED,
)


def case_delivery_problems(case) -> list[OutboxMail]:
    """Mail of ``case`` that has not gone out: failed, suppressed, or waiting after an error."""
    rows = services.mails_of_case(case, PROBLEM_STATUSES)
    return [r for r in rows if r.status != OutboxStatus.QUEUED or r.last_error]


class OutboxView(DeskModelView):
    """Read-only list of outgoing mail; failed mail can be queued again (an Event)."""

    datamodel = SQLAInterface(OutboxMail)
    class_permission_name = "Outbox"
    route_base = "/outbox"
    list_title = "Outbox"
    show_title = "Outgoing mail"
    base_permissions = ["can_list", "can_show"]
    base_order = ("created_at", "desc")
    list_columns = [
        "created_at",
        "kind",
        "case",
        "recipient",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    show_columns = [
        "id",
        "created_at",
        "kind",
        "case",
        "mailbox",
        "sender",
        "recipients",
        "subject",
        "message_id",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "smtp_reply",
        "last_error",
    ]
    search_columns = ["status", "kind", "recipient", "subject", "created_at", "sent_at"]
    order_columns = ["created_at", "status", "attempts", "next_attempt_at", "sent_at"]
    label_columns = {
        "next_attempt_at": "Next attempt",
        "last_error": "Last error",
        "smtp_reply": "Relay answer",
        "message_id": "Message-ID",
    }

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint, static_folder)
        blueprint.add_app_template_global(case_delivery_problems, "case_delivery_problems")
        return blueprint

    @action("retry", "Retry", "Send the selected failed mail again?", "fa-repeat")
    def retry(self, items):
        return self.run_service(services.retry_mail, items, "Queued again: {items}.")


def register(appbuilder) -> None:
    appbuilder.add_view(OutboxView, "Outbox", icon="fa-paper-plane", category="Desk")

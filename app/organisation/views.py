"""Configuration views for pools, skills and topics.

Who may change which row is the write rule of its model (``WRITE_RULES`` in
``app.agents.record_rules`` and ``app.organisation.record_rules``), checked by the base view;
deleting a row in use deactivates it (``app.core.retire``).
"""

from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField

from app.core.priority import PRIORITY_CHOICES
from app.core.views import DeskModelView
from app.errors import DeskError
from app.organisation.api import PoolApi, TopicApi
from app.organisation.models import (
    ABSENCE_HANDOVER_LABELS,
    CLOSE_POLICY_LABELS,
    NOTIFICATION_MODE_LABELS,
    POOL_ROUTING_LABELS,
    Pool,
    Skill,
    Topic,
    day_list,
)

# The routing, absence and inactivity settings of a pool (form and detail page).
ROUTING_COLUMNS = [
    "routing",
    "max_open_per_agent",
    "absence_handover",
    "inactivity_reminder_days",
    "inactivity_close_days",
]


class PoolView(DeskModelView):
    datamodel = SQLAInterface(Pool)
    class_permission_name = "Pool"
    route_base = "/pools"
    list_columns = ["name", "active", "sla_hours", "reopen_days"]
    search_columns = ["name", "active"]
    add_columns = edit_columns = [
        "name",
        "description",
        "active",
        "sla_hours",
        "sla_calendar",
        "reopen_days",
        "notification_mode",
        "close_policy",
        "auto_response_enabled",
        "auto_response_text",
        *ROUTING_COLUMNS,
    ]
    show_columns = [
        "name",
        "description",
        "active",
        "sla_hours",
        "sla_calendar",
        "reopen_days",
        "notification_mode",
        "close_policy",
        "auto_response_enabled",
        "auto_response_text",
        *ROUTING_COLUMNS,
        "mailboxes",
    ]
    label_columns = {
        "sla_hours": "Answer within (hours, without an SLA policy)",
        "sla_calendar": "Business calendar (empty: round the clock)",
        "reopen_days": "Reopen within (days)",
        "notification_mode": "Customer notification",
        "close_policy": "Who may close",
        "routing": "New cases",
        "max_open_per_agent": "Open cases per agent at most (empty: no cap)",
        "absence_handover": "Cases of an absent agent go",
        "inactivity_reminder_days": "Remind a waiting customer after (days, e.g. 7,14)",
        "inactivity_close_days": "Close a case waiting on the customer after (days)",
    }
    description_columns = {
        "routing": "Round robin and least loaded assign a new case at once to a member who is "
        "present, has its skill and is under the cap; otherwise it waits for Get next.",
        "inactivity_reminder_days": "Empty: no reminders.",
        "inactivity_close_days": "Empty: never closed for inactivity.",
        "auto_response_text": "Placeholders: {case_number} {case_tag} {subject} {due} (first "
        "response due, UTC) {hours} (the SLA policy's first-response target in business hours) "
        "{customer_name}",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "notification_mode": SelectField(
            "Customer notification",
            choices=[(mode.value, label) for mode, label in NOTIFICATION_MODE_LABELS.items()],
        ),
        "routing": SelectField(
            "New cases",
            choices=[(mode.value, label) for mode, label in POOL_ROUTING_LABELS.items()],
        ),
        "absence_handover": SelectField(
            "Cases of an absent agent go",
            choices=[(mode.value, label) for mode, label in ABSENCE_HANDOVER_LABELS.items()],
        ),
        "close_policy": SelectField(
            "Who may close",
            choices=[(p.value, label) for p, label in CLOSE_POLICY_LABELS.items()],
        ),
    }
    base_order = ("name", "asc")

    def clean(self, item):
        clean_pool_settings(item)


def clean_pool_settings(pool: Pool) -> None:
    """The routing and inactivity settings are numbers that make sense; DeskError otherwise."""
    if pool.max_open_per_agent is not None and pool.max_open_per_agent < 1:
        raise DeskError("The cap of open cases per agent is at least 1 (empty: no cap).")
    try:
        days = day_list(pool.inactivity_reminder_days)
    except ValueError as exc:
        raise DeskError(f"Reminder days: {exc}; write whole days, e.g. 7,14.") from None
    pool.inactivity_reminder_days = ",".join(str(d) for d in days) or None
    close = pool.inactivity_close_days
    if close is not None and close < 1:
        raise DeskError("Close after at least 1 day (empty: never).")
    if close is not None and days and days[-1] >= close:
        raise DeskError("Reminders come before the close: each reminder day is below it.")


class SkillView(DeskModelView):
    datamodel = SQLAInterface(Skill)
    class_permission_name = "Skill"
    route_base = "/skills"
    list_columns = ["name", "description", "active"]
    search_columns = ["name", "active"]
    add_columns = edit_columns = show_columns = ["name", "description", "active"]
    base_order = ("name", "asc")


class TopicView(DeskModelView):
    datamodel = SQLAInterface(Topic)
    class_permission_name = "Topic"
    route_base = "/topics"
    list_columns = ["path", "pool", "skill", "priority", "form", "active"]
    label_columns = {"path": "Topic"}
    search_columns = ["name", "pool", "skill", "active"]
    add_columns = edit_columns = [
        "name",
        "description",
        "parent",
        "pool",
        "skill",
        "priority",
        "form",
        "active",
        "position",
    ]
    show_columns = ["path", "description", "pool", "skill", "priority", "form", "active"]
    add_form_extra_fields = edit_form_extra_fields = {
        "priority": SelectField(
            "Priority", choices=[(0, "Inherit")] + PRIORITY_CHOICES, coerce=int
        ),
    }
    base_order = ("name", "asc")

    def clean(self, item):
        if not item.priority:
            item.priority = None  # "Inherit"


def register(appbuilder) -> None:
    appbuilder.add_view(PoolView, "Pools", icon="fa-object-group", category="Configuration")
    appbuilder.add_view(SkillView, "Skills", icon="fa-graduation-cap", category="Configuration")
    appbuilder.add_view(TopicView, "Topics", icon="fa-sitemap", category="Configuration")
    appbuilder.add_api(PoolApi)
    appbuilder.add_api(TopicApi)

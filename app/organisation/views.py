"""Configuration views for pools, skills and topics.

Who may change which row is the write rule of its model (``WRITE_RULES`` in
``app.agents.record_rules`` and ``app.organisation.record_rules``), checked by the base view;
deleting a row in use deactivates it (``app.core.retire``).
"""

from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField

from app.core.priority import PRIORITY_CHOICES
from app.core.views import DeskModelView
from app.organisation.models import (
    CLOSE_POLICY_LABELS,
    NOTIFICATION_MODE_LABELS,
    Pool,
    Skill,
    Topic,
)


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
        "mailboxes",
    ]
    label_columns = {
        "sla_hours": "Answer within (hours, without an SLA policy)",
        "sla_calendar": "Business calendar (empty: round the clock)",
        "reopen_days": "Reopen within (days)",
        "notification_mode": "Customer notification",
        "close_policy": "Who may close",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "notification_mode": SelectField(
            "Customer notification",
            choices=[(mode.value, label) for mode, label in NOTIFICATION_MODE_LABELS.items()],
        ),
        "close_policy": SelectField(
            "Who may close",
            choices=[(p.value, label) for p, label in CLOSE_POLICY_LABELS.items()],
        ),
    }
    base_order = ("name", "asc")


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

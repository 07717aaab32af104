"""Configuration views for agents, pool memberships and absences.

Supervisors change the agents and memberships of the pools they supervise: the write rules in
``app.agents.record_rules``, checked by the base view for every add, edit and delete.
"""

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.agents.models import Absence, AgentProfile, PoolMembership
from app.core.views import DeskModelView


class AgentView(DeskModelView):
    datamodel = SQLAInterface(AgentProfile)
    class_permission_name = "Agent"
    route_base = "/agents"
    list_columns = ["user", "active", "replies_need_approval", "may_attach_files", "substitute"]
    search_columns = ["active", "replies_need_approval", "may_attach_files"]
    add_columns = [
        "user",
        "active",
        "skills",
        "replies_need_approval",
        "may_attach_files",
        "substitute",
        "signature",
    ]
    edit_columns = [
        "active",
        "skills",
        "replies_need_approval",
        "may_attach_files",
        "substitute",
        "signature",
    ]
    show_columns = [
        "user",
        "active",
        "skills",
        "memberships",
        "replies_need_approval",
        "may_attach_files",
        "substitute",
        "signature",
        "absences",
    ]
    label_columns = {
        "replies_need_approval": "Replies need approval",
        "may_attach_files": "May attach own files",
    }


class MembershipView(DeskModelView):
    datamodel = SQLAInterface(PoolMembership)
    class_permission_name = "Membership"
    route_base = "/memberships"
    list_columns = ["agent", "pool", "priority", "is_supervisor"]
    search_columns = ["pool", "is_supervisor"]
    add_columns = edit_columns = show_columns = ["agent", "pool", "priority", "is_supervisor"]
    label_columns = {"priority": "Pick priority (1 = first)", "is_supervisor": "Supervisor"}


class AbsenceView(DeskModelView):
    datamodel = SQLAInterface(Absence)
    class_permission_name = "Absence"
    route_base = "/absences"
    list_columns = ["agent", "starts_at", "ends_at", "substitute", "note"]
    search_columns = ["starts_at", "ends_at"]
    add_columns = edit_columns = show_columns = [
        "agent",
        "starts_at",
        "ends_at",
        "substitute",
        "note",
    ]
    base_order = ("starts_at", "desc")


def register(appbuilder) -> None:
    appbuilder.add_view(AgentView, "Agents", icon="fa-user", category="Configuration")
    appbuilder.add_view(MembershipView, "Memberships", icon="fa-users", category="Configuration")
    appbuilder.add_view(AbsenceView, "Absences", icon="fa-plane", category="Configuration")

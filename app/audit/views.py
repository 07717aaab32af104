"""The event tracker: read-only for everyone, never edited, never deleted."""

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.audit.models import Event
from app.core.views import DeskModelRestApi, DeskModelView


class EventView(DeskModelView):
    datamodel = SQLAInterface(Event)
    class_permission_name = "Event"
    route_base = "/events"
    base_permissions = ["can_list", "can_show"]
    list_columns = ["created_at", "actor_name", "case", "action", "field", "old_value", "new_value"]
    search_columns = ["created_at", "actor_name", "action", "field", "case"]
    show_columns = list_columns + ["object_type", "object_id", "details"]
    base_order = ("created_at", "desc")


class EventApi(DeskModelRestApi):
    resource_name = "event"
    datamodel = SQLAInterface(Event)
    class_permission_name = "Event"
    include_route_methods = {"get", "get_list", "info"}
    list_columns = [
        "id",
        "created_at",
        "actor_name",
        "case.id",
        "case.number",
        "action",
        "field",
        "old_value",
        "new_value",
    ]
    show_columns = list_columns + ["object_type", "object_id", "details"]


def register(appbuilder) -> None:
    appbuilder.add_view(EventView, "Events", icon="fa-history", category="Archive")
    appbuilder.add_api(EventApi)

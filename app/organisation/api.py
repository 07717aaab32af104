"""REST API of pools (``/api/v1/pool/``) and topics (``/api/v1/topic/``), read only: the same
record rules as the pages (an agent sees the pools he is a member of; every desk role reads
the topic tree). Pools and topics are changed on their configuration pages and the topic
tree, whose rules (a supervisor of the pool, the tree's order) the generic edit would skip."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelRestApi
from app.organisation.models import Pool, Topic

READ_ONLY = {"get", "get_list", "info"}


class PoolApi(DeskModelRestApi):
    resource_name = "pool"
    datamodel = SQLAInterface(Pool)
    class_permission_name = "Pool"
    include_route_methods = READ_ONLY
    list_columns = ["id", "name", "active", "sla_hours", "reopen_days", "routing"]
    show_columns = list_columns + [
        "description",
        "sla_calendar.id",
        "notification_mode",
        "close_policy",
        "max_open_per_agent",
        "absence_handover",
        "mailboxes.id",
        "mailboxes.address",
    ]
    search_columns = ["name", "active"]
    order_columns = ["id", "name"]
    base_order = ("name", "asc")


class TopicApi(DeskModelRestApi):
    resource_name = "topic"
    datamodel = SQLAInterface(Topic)
    class_permission_name = "Topic"
    include_route_methods = READ_ONLY
    list_columns = show_columns = [
        "id",
        "name",
        "path",
        "description",
        "parent.id",
        "pool.id",
        "pool.name",
        "skill.id",
        "skill.name",
        "form.id",
        "sla_policy.id",
        "priority",
        "active",
        "position",
        "name_translations",
        "description_translations",
    ]
    search_columns = ["name", "pool", "active", "parent"]
    order_columns = ["id", "name", "position"]
    base_order = ("name", "asc")

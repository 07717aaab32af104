"""The event tracker: read-only for everyone, never edited, never deleted.

``/eventtracker/`` is the page people use (``app.audit.tracker``: filters, keyset pages, CSV);
the generic list and detail of Flask-AppBuilder stay for a single event's details and the
REST API (``/api/v1/event/``). Every door applies the record rules.
"""

from __future__ import annotations

from flask import Response, request, stream_with_context
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.audit import tracker
from app.audit.actor import current_actor
from app.audit.labels import ACTION_LABELS, action_label
from app.audit.models import Event
from app.core.timeutil import utcnow
from app.core.views import DeskModelRestApi, DeskModelView
from app.errors import DeskError
from app.extensions import db
from app.security.rules import sees_everything


class EventView(DeskModelView):
    datamodel = SQLAInterface(Event)
    class_permission_name = "Event"
    route_base = "/events"
    base_permissions = ["can_list", "can_show"]
    list_columns = ["created_at", "actor_name", "case", "action", "field", "old_value", "new_value"]
    search_columns = ["created_at", "actor_name", "action", "field", "case"]
    show_columns = list_columns + ["object_type", "object_id", "details"]
    base_order = ("created_at", "desc")


class EventTrackerView(BaseView):
    """``/eventtracker/``: the events the user may see, newest first, 50 a page, filtered by
    ``case``, ``user``, ``action``, ``since`` and ``until``; ``/eventtracker/export.csv`` the
    same as a streamed CSV file."""

    route_base = "/eventtracker"
    class_permission_name = "Event"
    method_permission_name = {"index": "list", "export": "list"}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        flt = tracker.EventFilter.from_args(request.args)
        before = request.args.get("before") or None
        error = None
        try:
            page = tracker.page(flt, before)
        except DeskError as exc:
            db.session.rollback()
            page, error = tracker.EventPage(), str(exc)
        status = 400 if error else 200
        return (
            self.render_template(
                "audit/tracker.html",
                title="Event tracker",
                flt=flt,
                page=page,
                before=before,
                error=error,
                actions=self._actions(),
                usernames=self._usernames(),
                sees_all=sees_everything(current_actor()),
            ),
            status,
        )

    @expose("/export.csv")
    @has_access
    def export(self):
        flt = tracker.EventFilter.from_args(request.args)
        try:
            tracker.conditions(flt)  # refuse a filter it cannot read before streaming
        except DeskError as exc:
            return str(exc), 400
        user = current_actor()
        name = f"events-{utcnow():%Y%m%d-%H%M}.csv"
        return Response(
            stream_with_context(tracker.csv_lines(flt, user=user)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @staticmethod
    def _actions() -> list[tuple[str, str]]:
        """(code, words) of the types the filter suggests: the labelled ones and those of
        the newest events."""
        codes = set(ACTION_LABELS) | set(tracker.recent_actions())
        return sorted(((code, action_label(code)) for code in codes), key=lambda item: item[1])

    @staticmethod
    def _usernames() -> list[str]:
        """Logins offered by the user filter (only to those who see every event)."""
        if not sees_everything(current_actor()):
            return []
        return list(db.session.scalars(select(User.username).order_by(User.username).limit(500)))


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
    appbuilder.add_view(EventTrackerView, "Events", icon="fa-history", category="Archive")
    appbuilder.add_view_no_menu(EventView)
    appbuilder.add_api(EventApi)

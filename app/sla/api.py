"""REST API of SLA: calendars (``/api/v1/slacalendar/``, with ``/<id>/preview``), their
opening hours and closures, and policies (``/api/v1/slapolicy/``), under the same record and
write rules as the pages."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name

from app.core.views import DeskModelRestApi
from app.errors import DeskError
from app.extensions import db
from app.security.rules import is_visible
from app.sla import services
from app.sla.models import SlaCalendar, SlaClosure, SlaOpeningHours, SlaPolicy

CALENDAR_FIELDS = ["id", "name", "time_zone", "holiday_country", "holiday_subdivision", "active"]
HOURS_FIELDS = ["id", "calendar.id", "weekday", "opens", "closes"]
CLOSURE_FIELDS = ["id", "calendar.id", "day", "starts_at", "ends_at", "reason"]
POLICY_FIELDS = [
    "id",
    "name",
    "pool.id",
    "topic.id",
    "priority",
    "first_response_minutes",
    "resolution_minutes",
    "calendar.id",
    "warn_minutes",
    "active",
]


def _writable(fields: list[str]) -> list[str]:
    return [f.removesuffix(".id") for f in fields if f != "id"]


class SlaCalendarApi(DeskModelRestApi):
    resource_name = "slacalendar"
    datamodel = SQLAInterface(SlaCalendar)
    class_permission_name = "SlaCalendar"
    list_columns = show_columns = CALENDAR_FIELDS
    add_columns = edit_columns = _writable(CALENDAR_FIELDS)

    def clean(self, item):
        item.holiday_country = (item.holiday_country or "").strip().upper() or None
        item.holiday_subdivision = (item.holiday_subdivision or "").strip().upper() or None
        services.check_calendar(item)

    @expose("/<int:pk>/preview", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def preview(self, pk):
        """The opening hours of the next days (``?days=7``, ``?start=YYYY-MM-DD``), local time.
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema: {type: integer}
          responses:
            200: {description: the days with their hours and holidays or closures}
            404: {description: no such calendar}
        """
        calendar = db.session.get(SlaCalendar, pk)
        if calendar is None or not is_visible(calendar):
            return self.response_404()
        try:
            days = int(request.args.get("days", 7))
            start = request.args.get("start")
            first = date.fromisoformat(start) if start else None
        except ValueError:
            return self.response_400(message="days is a number, start a date YYYY-MM-DD")
        if not 1 <= days <= 366:
            return self.response_400(message="days is between 1 and 366")
        try:
            found = services.preview(calendar, first, days)
        except DeskError as exc:
            return self.response_400(message=str(exc))
        return self.response(
            200,
            result=[
                {
                    "date": d.day.isoformat(),
                    "hours": [[s.isoformat(), e.isoformat()] for s, e in d.hours],
                    "note": d.note,
                }
                for d in found
            ],
        )


class SlaOpeningHoursApi(DeskModelRestApi):
    resource_name = "slaopeninghours"
    datamodel = SQLAInterface(SlaOpeningHours)
    class_permission_name = "SlaCalendar"
    list_columns = show_columns = HOURS_FIELDS
    add_columns = edit_columns = _writable(HOURS_FIELDS)

    def clean(self, item):
        services.check_hours(item)


class SlaClosureApi(DeskModelRestApi):
    resource_name = "slaclosure"
    datamodel = SQLAInterface(SlaClosure)
    class_permission_name = "SlaCalendar"
    list_columns = show_columns = CLOSURE_FIELDS
    add_columns = edit_columns = _writable(CLOSURE_FIELDS)

    def clean(self, item):
        services.check_closure(item)


class SlaPolicyApi(DeskModelRestApi):
    resource_name = "slapolicy"
    datamodel = SQLAInterface(SlaPolicy)
    class_permission_name = "SlaPolicy"
    list_columns = show_columns = POLICY_FIELDS
    add_columns = edit_columns = _writable(POLICY_FIELDS)

    def clean(self, item):
        services.check_policy(item)

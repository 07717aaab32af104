"""Configuration views of SLA: business calendars (with their opening hours, closures and a
preview of the next seven days) and policies.

Admins keep the calendars; supervisors read them and keep the policies of the pools they
supervise (the write rules in ``app.sla.record_rules``, checked by the base views).
"""

from __future__ import annotations

import zoneinfo

import holidays as holidays_package
from flask import abort
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired

from app.core.priority import PRIORITY_CHOICES
from app.core.views import DeskModelView
from app.security.rules import is_visible
from app.sla import api, services
from app.sla.calendar import WEEKDAYS
from app.sla.models import SlaCalendar, SlaClosure, SlaOpeningHours, SlaPolicy

WEEKDAY_CHOICES = list(enumerate(WEEKDAYS))


def zone_choices() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(zoneinfo.available_timezones())]


def country_choices() -> list[tuple[str, str]]:
    names = holidays_package.list_supported_countries()
    return [("", "— none —")] + [(code, code) for code in sorted(names)]


class SlaOpeningHoursView(DeskModelView):
    datamodel = SQLAInterface(SlaOpeningHours)
    class_permission_name = "SlaCalendar"
    route_base = "/sla-hours"
    item_name = "Opening hours"
    item_name_plural = "Opening hours"
    list_columns = ["calendar", "weekday_name", "opens", "closes"]
    add_columns = edit_columns = ["calendar", "weekday", "opens", "closes"]
    show_columns = ["calendar", "weekday_name", "opens", "closes"]
    label_columns = {
        "weekday_name": "Weekday",
        "opens": "Opens (HH:MM)",
        "closes": "Closes (HH:MM, 24:00 = midnight)",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "weekday": SelectField("Weekday", choices=WEEKDAY_CHOICES, coerce=int),
    }
    base_order = ("weekday", "asc")

    def clean(self, item):
        services.check_hours(item)


class SlaClosureView(DeskModelView):
    datamodel = SQLAInterface(SlaClosure)
    class_permission_name = "SlaCalendar"
    route_base = "/sla-closures"
    item_name = "Closure"
    list_columns = ["calendar", "day", "starts_at", "ends_at", "reason"]
    add_columns = edit_columns = show_columns = [
        "calendar",
        "day",
        "starts_at",
        "ends_at",
        "reason",
    ]
    label_columns = {
        "day": "Closed all day",
        "starts_at": "Or closed from (local time)",
        "ends_at": "Until (local time)",
    }
    base_order = ("day", "desc")

    def clean(self, item):
        services.check_closure(item)


class SlaCalendarView(DeskModelView):
    datamodel = SQLAInterface(SlaCalendar)
    class_permission_name = "SlaCalendar"
    route_base = "/sla-calendars"
    item_name = "Business calendar"
    list_columns = ["name", "time_zone", "holiday_country", "holiday_subdivision", "active"]
    search_columns = ["name", "active"]
    add_columns = edit_columns = [
        "name",
        "time_zone",
        "holiday_country",
        "holiday_subdivision",
        "active",
    ]
    show_columns = [
        "name",
        "time_zone",
        "holiday_country",
        "holiday_subdivision",
        "active",
        "hours",
        "pools",
    ]
    label_columns = {
        "holiday_country": "Public holidays of (country)",
        "holiday_subdivision": "… and its subdivision (optional)",
        "hours": "Opening hours",
    }
    description_columns = {
        "holiday_subdivision": "e.g. BY for Bavaria in DE; empty for the national holidays",
    }
    related_views = [SlaOpeningHoursView, SlaClosureView]
    show_template = "sla/calendar_show.html"
    base_order = ("name", "asc")

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "time_zone": SelectField(
                "Time zone",
                choices=zone_choices(),
                default="Europe/Warsaw",
                validators=[InputRequired()],
            ),
            "holiday_country": SelectField(
                "Public holidays of (country)", choices=country_choices()
            ),
            "holiday_subdivision": StringField("… and its subdivision (optional)"),
        }
        super().__init__(**kwargs)

    def clean(self, item):
        item.holiday_country = (item.holiday_country or "").strip().upper() or None
        item.holiday_subdivision = (item.holiday_subdivision or "").strip().upper() or None
        services.check_calendar(item)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The calendar with its hours and closures, and what the next seven days look like."""
        calendar = self.datamodel.get(pk, self._base_filters)
        if calendar is None or not is_visible(calendar):
            abort(404)
        widgets = self._show(pk)
        try:
            days, problem = services.preview(calendar), None
        except services.CalendarError as exc:
            days, problem = [], str(exc)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=f"Business calendar · {calendar.name}",
            widgets=widgets,
            related_views=self._related_views,
            preview=days,
            preview_problem=problem,
        )


class SlaPolicyView(DeskModelView):
    datamodel = SQLAInterface(SlaPolicy)
    class_permission_name = "SlaPolicy"
    route_base = "/sla-policies"
    item_name = "SLA policy"
    item_name_plural = "SLA policies"
    list_columns = [
        "name",
        "pool",
        "topic",
        "priority_label",
        "first_response_minutes",
        "resolution_minutes",
        "calendar",
        "active",
    ]
    search_columns = ["name", "pool", "topic", "active"]
    add_columns = edit_columns = show_columns = [
        "name",
        "pool",
        "topic",
        "priority",
        "first_response_minutes",
        "resolution_minutes",
        "calendar",
        "warn_minutes",
        "active",
    ]
    label_columns = {
        "priority_label": "Priority",
        "first_response_minutes": "First response within (business minutes)",
        "resolution_minutes": "Resolution within (business minutes)",
        "calendar": "Calendar (empty: the pool's)",
        "warn_minutes": "Warn supervisors before (business minutes; empty: desk default)",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "priority": SelectField("Priority", choices=[(0, "Any")] + PRIORITY_CHOICES, coerce=int),
    }
    base_order = ("name", "asc")

    def clean(self, item):
        services.check_policy(item)


def register(appbuilder) -> None:
    appbuilder.add_view(
        SlaCalendarView, "Business calendars", icon="fa-calendar", category="Configuration"
    )
    appbuilder.add_view(
        SlaPolicyView, "SLA policies", icon="fa-hourglass-half", category="Configuration"
    )
    appbuilder.add_view_no_menu(SlaOpeningHoursView)
    appbuilder.add_view_no_menu(SlaClosureView)
    for rest_api in (
        api.SlaCalendarApi,
        api.SlaOpeningHoursApi,
        api.SlaClosureApi,
        api.SlaPolicyApi,
    ):
        appbuilder.add_api(rest_api)

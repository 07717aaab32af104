"""Generated list and detail views for cases; every button calls a service."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from wtforms import SelectField

from app.cases import services
from app.cases.models import Case
from app.cases.workflow import ALLOWED, CaseStatus
from app.core.priority import PRIORITY_CHOICES
from app.core.views import DeskModelView
from app.errors import DeskError
from app.security.roles import add_link
from app.security.rules import is_visible

# The case list filtered to "status is not closed" (filter 7 of FAB's string filters is
# "not equal"); tests/cases/test_case_views.py checks that it keeps showing open cases only.
OPEN_CASES_URL = "/cases/list/?_flt_7_status=closed"


def _priority_field():
    return SelectField("Priority", choices=PRIORITY_CHOICES, coerce=int)


class CaseView(DeskModelView):
    """Cases of the user's pools; overdue cases are marked red with a warning icon."""

    datamodel = SQLAInterface(Case)
    class_permission_name = "Case"
    route_base = "/cases"
    list_title = "Cases"
    show_title = "Case"
    edit_title = "Edit case"
    base_order = ("sla_due_at", "asc")
    base_permissions = ["can_list", "can_show", "can_edit", "can_transition", "can_case_action"]
    list_columns = [
        "number",
        "subject",
        "customer",
        "pool",
        "status_label",
        "priority_label",
        "assignee",
        "due_badge",
    ]
    label_columns = {
        "status_label": "Status",
        "priority_label": "Priority",
        "due_badge": "Due",
        "sla_due_at": "Due",
        "required_skill": "Skill",
        "assignee": "Assignee",
    }
    order_columns = ["number", "subject", "status", "priority", "sla_due_at", "received_at"]
    search_columns = [
        "number",
        "subject",
        "status",
        "priority",
        "pool",
        "assignee",
        "received_at",
        "sla_due_at",
    ]
    show_fieldsets = [
        (
            "Case",
            {
                "fields": [
                    "number",
                    "subject",
                    "customer",
                    "status_label",
                    "priority_label",
                    "pool",
                    "topic",
                    "required_skill",
                    "assignee",
                    "mailbox",
                ]
            },
        ),
        (
            "Times",
            {
                "fields": [
                    "received_at",
                    "sla_due_at",
                    "first_response_at",
                    "postponed_until",
                    "closed_at",
                ],
                "expanded": True,
            },
        ),
    ]
    edit_columns = ["subject", "priority", "pool", "topic", "required_skill", "assignee"]
    edit_form_extra_fields = {"priority": _priority_field()}
    show_template = "cases/show.html"
    formatters_columns = {"assignee": lambda user: user if user else "–"}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The case page: fields, the message thread and the event history."""
        case = self.datamodel.get(pk, self._base_filters)
        if case is None:
            abort(404)
        widgets = self._show(pk)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=f"{case.number} · {case.subject}",
            widgets=widgets,
            related_views=self._related_views,
            case=case,
            messages=services.thread(case),
            events=list(case.events),
            next_statuses=sorted(ALLOWED[CaseStatus(case.status)], key=list(CaseStatus).index),
            CaseStatus=CaseStatus,
        )

    def _case_or_404(self, pk) -> Case:
        case = self.datamodel.get(pk, self._base_filters)
        if case is None or not is_visible(case):
            abort(404)
        return case

    @expose("/transition/<pk>", methods=["POST"])
    @has_access
    @permission_name("transition")
    def transition(self, pk):
        """Move the case to the status picked on the case page."""
        case = self._case_or_404(pk)
        target = request.form.get("status", "")
        reason = request.form.get("reason") or None
        try:
            if target == CaseStatus.POSTPONED:
                until = datetime.fromisoformat(request.form.get("until", ""))
                services.postpone_case(case, until, reason=reason)
            else:
                services.change_status(case, target, reason=reason)
            flash(f"{case.number} is now {CaseStatus(case.status).label.lower()}.", "success")
        except ValueError:
            flash("Pick a valid date and time to postpone to.", "danger")
        except DeskError as exc:
            flash(str(exc), "danger")
        return redirect(url_for(".show", pk=case.id))

    @expose("/note/<pk>", methods=["POST"])
    @has_access
    @permission_name("case_action")
    def note(self, pk):
        """Add an internal note to the thread."""
        case = self._case_or_404(pk)
        try:
            services.add_note(case, request.form.get("text", ""))
            flash("Note added.", "success")
        except DeskError as exc:
            flash(str(exc), "danger")
        return redirect(url_for(".show", pk=case.id))

    @action("claim", "Claim", "Assign the selected cases to you?", "fa-hand-paper-o")
    def claim(self, items):
        return self.run_service(services.claim_case, items, "Claimed {items}.")

    @action("release", "Release", "Give the selected cases back to their pool?", "fa-undo")
    def release(self, items):
        return self.run_service(services.release_case, items, "Released {items}.")

    @action("close", "Close", "Close the selected cases?", "fa-check")
    def close(self, items):
        return self.run_service(services.close_case, items, "Closed {items}.")


def register(appbuilder) -> None:
    from app.cases.api import CaseApi, MessageApi

    add_link(
        appbuilder,
        "Open cases",
        OPEN_CASES_URL,
        requires=("can_list", "Case"),
        icon="fa-inbox",
        category="Desk",
    )
    appbuilder.add_view(CaseView, "All cases", icon="fa-archive", category="Desk")
    appbuilder.add_api(CaseApi)
    appbuilder.add_api(MessageApi)

"""Views of consultations: the departments (admins write, everyone else reads), the
"Consultations" list, the case page's "Consult" form and what the case page shows of a
consultation. Thin doors onto ``app.consultation.services``."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup

from app.audit.actor import current_actor
from app.cases.models import Case
from app.consultation import services
from app.consultation.models import Department
from app.core.views import DeskModelView
from app.errors import DeskError
from app.extensions import db
from app.security.rules import is_visible


class DepartmentView(DeskModelView):
    """The departments agents consult; one desk-wide list kept by admins. A department in
    use is deactivated instead of deleted (its consultations keep their history)."""

    datamodel = SQLAInterface(Department)
    class_permission_name = "Department"
    route_base = "/consultation/departments"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    list_columns = ["name", "email", "response_hours", "language", "active"]
    search_columns = ["name", "email", "active"]
    add_columns = edit_columns = show_columns = list_columns
    base_order = ("name", "asc")
    label_columns = {"email": "E-mail address", "response_hours": "Response deadline (hours)"}
    description_columns = {
        "response_hours": "How long the department has to answer a consultation.",
        "language": "Language of its reminders (template notice.consultation_reminder).",
    }

    def clean(self, item):
        item.email = (item.email or "").strip().lower()
        if "@" not in item.email or any(c.isspace() for c in item.email):
            raise DeskError("Give the department's e-mail address.")
        if item.response_hours is None or item.response_hours < 1:
            raise DeskError("The response deadline is at least one hour.")
        item.language = (item.language or "en").strip().lower()


class ConsultationView(BaseView):
    """The "Consultations" list (agents: their pools' cases) and the case page's form."""

    route_base = "/consultation"
    class_permission_name = "Consultation"
    method_permission_name = {"list": "list"}
    default_view = "list"

    @expose("/", methods=["GET"])
    @has_access
    def list(self):
        status = request.args.get("status") or "open"
        try:
            rows = services.consultations(status, request.args.get("case_id"))
        except DeskError as exc:
            abort(400, str(exc))
        return self.render_template(
            "consultation/list.html",
            rows=rows,
            status=status,
            filters=services.STATUS_FILTERS,
            title="Consultations",
        )


class ConsultActionView(BaseView):
    """``POST /caseaction/<case>/consult``: the case page's "Consult" form (case actions'
    permission view, like the other action forms)."""

    route_base = "/caseaction"
    class_permission_name = "CaseAction"
    method_permission_name = {"consult": "consult"}
    default_view = "consult"

    @expose("/<int:pk>/consult", methods=["POST"])
    @has_access
    def consult(self, pk):
        case = db.session.get(Case, pk)
        if case is None or not is_visible(case):
            abort(404)
        try:
            consultation = services.consult(
                case,
                request.form.get("department_id"),
                request.form.get("question"),
                request.form.getlist("message_ids"),
            )
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                abort(exc.status_code, str(exc))
            flash(str(exc), "danger")
        else:
            flash(
                f"Asked {consultation.department.name}; an answer is due by "
                f"{consultation.deadline_at:%Y-%m-%d %H:%M} (UTC).",
                "success",
            )
        return redirect(url_for("CaseView.show", pk=case.id))


def consult_departments() -> list[Department]:
    """The case page's department picker (only when the user may consult)."""
    return services.active_departments() if services.may_consult(current_actor()) else []


def consultation_badge(message) -> Markup:
    """What the thread shows on a consultation entry: its status and deadline."""
    found = services.consultations_by_message(message.case).get(message.id)
    if found is None:
        return Markup("")
    when = (
        f"answered {found.answered_at:%Y-%m-%d %H:%M}"
        if found.answered_at is not None
        else f"due {found.deadline_at:%Y-%m-%d %H:%M}"
    )
    css = "ld-overdue" if found.is_overdue else "ld-consultation-status"
    return Markup('<span class="{}" data-consultation="{}">{} · {} · {}{}</span>').format(
        css,
        found.id,
        found.department.name,
        found.status_label,
        when,
        " (late)" if found.answered_on_time is False else "",
    )


def register(appbuilder) -> None:
    """Add the consultation views, API and case-page helpers to a desk."""
    # the API imports this module
    from app.consultation.api import CaseConsultApi, ConsultationApi

    app = current_app._get_current_object()  # views are registered inside create_app's context
    appbuilder.add_view(ConsultationView, "Consultations", icon="fa-comments", category="Desk")
    appbuilder.add_view(DepartmentView, "Departments", icon="fa-building", category="Configuration")
    appbuilder.add_view_no_menu(ConsultActionView)
    appbuilder.add_api(ConsultationApi)
    appbuilder.add_api(CaseConsultApi)
    app.jinja_env.globals["consult_departments"] = consult_departments
    app.jinja_env.globals["consultation_badge"] = consultation_badge

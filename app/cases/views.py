"""Pages of cases: the lists, the case page with its action forms, and the generic edit.

Every form is a thin door onto ``app.cases.actions``: the same functions the REST API
(``app.cases.api``), the CLI and the jobs call. A refusal keeps its meaning on every door: a
case the user may not see answers 404, an action his role or the service's rule refuses 403
with the reason; a conflict with the case's state or bad input is shown on the case page.
The case page shows only the actions the user may do now (``actions.offered_actions``).
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.security.sqla.models import User
from wtforms import SelectField

from app.cases import actions, routing, services
from app.cases.models import Case
from app.cases.workflow import CaseStatus
from app.core.priority import PRIORITY_CHOICES
from app.core.views import DeskModelView, column_max_length
from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import db
from app.organisation.models import Pool, Skill, Topic
from app.security.roles import add_link
from app.security.rules import is_visible, visible

# The case list filtered to "status is not closed" (filter 7 of FAB's string filters is
# "not equal"); tests/cases/test_case_views.py checks that it keeps showing open cases only.
OPEN_CASES_URL = "/cases/list/?_flt_7_status=closed"

# Permission (without "can_") of each case action form; shared with the REST API.
CASE_ACTION_PERMISSIONS = {
    "note": "note",
    "forward": "forward",
    "reroute": "reroute",
    "assign": "assign",
    "postpone": "postpone",
    "close": "close",
    "reopen": "reopen",
    "open": "open",
}


def _priority_field():
    return SelectField("Priority", choices=PRIORITY_CHOICES, coerce=int)


def form_answers(form) -> dict:
    """The wrap-up answers of a close form (fields named ``wrapup::<question>``)."""
    return {key[len("wrapup::") :]: form.get(key, "") for key in form if key.startswith("wrapup::")}


def run_on_case(case: Case, func, success: str):
    """Run a case action for a form of the case page and go back to the case.

    A refusal the user should not click past (404: he may not see the case; 403: he may not
    do this) answers with its status and reason; a conflict or bad input is flashed on the
    case page, where the form is.
    """
    try:
        func()
    except DeskError as exc:
        db.session.rollback()
        if exc.status_code in (403, 404):
            raise
        flash(str(exc), "danger")
    else:
        flash(success, "success")
    if is_visible(case):
        return redirect(url_for("CaseView.show", pk=case.id))
    return redirect(url_for("CaseView.list"))  # forwarded out of his pools


def case_page_choices(case: Case, offered) -> dict:
    """The pickers of the case page's forms (only for the forms it shows)."""
    choices = {}
    if offered & {"forward", "assign"}:
        choices["pools"] = (
            db.session.query(Pool).filter(Pool.active.is_(True)).order_by(Pool.name).all()
        )
        choices["colleagues"] = (
            visible(db.session.query(User), User)
            .filter(User.active.is_(True))
            .order_by(User.username)
            .all()
        )
    if "reroute" in offered:
        choices["topics"] = sorted(
            db.session.query(Topic).filter(Topic.active.is_(True)).all(), key=lambda t: t.path
        )
        choices["skills"] = (
            db.session.query(Skill).filter(Skill.active.is_(True)).order_by(Skill.name).all()
        )
    return choices


class CaseView(DeskModelView):
    """Cases of the user's pools; overdue cases are marked red with a warning icon."""

    datamodel = SQLAInterface(Case)
    class_permission_name = "Case"
    route_base = "/cases"
    list_title = "Cases"
    show_title = "Case"
    edit_title = "Edit case"
    base_order = ("sla_due_at", "asc")
    base_permissions = [
        "can_list",
        "can_show",
        "can_edit",
        "can_transition",
        "can_case_action",
        "can_claim",
        "can_release",
    ]
    method_permission_name = {
        "transition": "transition",
        "note": "case_action",
        "claim_case": "claim",
        "next_case": "claim",
        "release_case": "release",
    }
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
                    "first_response_due_at",
                    "resolution_due_at",
                    "first_response_at",
                    "postponed_until",
                    "closed_at",
                ],
                "expanded": True,
            },
        ),
    ]
    # Only the plain fields: pool, assignee, topic, skill, status and due times change
    # through their actions (app.cases.actions.RULED_FIELDS says which).
    edit_columns = list(actions.EDITABLE_FIELDS)
    edit_form_extra_fields = {"priority": _priority_field()}
    show_template = "cases/show.html"
    formatters_columns = {"assignee": lambda user: user if user else "–"}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The case page: fields, the message thread, the event history and the actions the
        user may do now."""
        case = self._case_or_404(pk)
        offered = actions.offered_actions(case)
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
            offered=offered,
            moves=actions.plain_moves(case) if "transition" in offered else [],
            questions=actions.wrap_up_questions(case.pool) if "close" in offered else [],
            choices=case_page_choices(case, offered),
            CaseStatus=CaseStatus,
        )

    def _case_or_404(self, pk) -> Case:
        case = self.datamodel.get(pk, self._base_filters)
        if case is None or not is_visible(case):
            abort(404)
        return case

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        """The generic edit: subject and priority, through ``actions.edit`` (which refuses a
        closed case with 409 and every field that has an action of its own)."""
        case = self._case_or_404(pk)
        if request.method == "GET":
            actions.ensure_editable(case)
            return super().edit(pk)
        changes = {key: value for key, value in request.form.items() if key != "csrf_token"}
        try:
            actions.edit(case, changes)
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404, 409):
                raise
            flash(str(exc), "danger")
            return redirect(url_for(".edit", pk=case.id))
        flash(f"{case.number} saved.", "success")
        return redirect(url_for(".show", pk=case.id))

    @expose("/transition/<pk>", methods=["POST"])
    @has_access
    def transition(self, pk):
        """The case page's status form (and older links): every target status, postponing
        (``until``) and closing (wrap-up answers) included, through ``change_status``."""
        case = self._case_or_404(pk)
        form = request.form
        return run_on_case(
            case,
            lambda: actions.change_status(
                case,
                form.get("status", ""),
                reason=form.get("reason"),
                until=form.get("until"),
                answers=form_answers(form),
                notify=form.get("notify"),
            ),
            f"{case.number} changed status.",
        )

    @expose("/note/<pk>", methods=["POST"])
    @has_access
    def note(self, pk):
        """Add an internal note (the older address of ``/caseaction/<pk>/note``)."""
        case = self._case_or_404(pk)
        return run_on_case(
            case, lambda: actions.add_note(case, request.form.get("text", "")), "Note added."
        )

    @expose("/claim/<pk>", methods=["POST"])
    @has_access
    @permission_name("claim")
    def claim_case(self, pk):
        """Claim the case from its page."""
        case = self._case_or_404(pk)
        return run_on_case(case, lambda: actions.claim(case), f"{case.number} is yours.")

    @expose("/next", methods=["POST"])
    @has_access
    @permission_name("claim")
    def next_case(self):
        """Get next case: on to the most urgent case the agent may take, now his."""
        try:
            case = routing.claim_next_case()
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(OPEN_CASES_URL)
        if case is None:
            flash("No case is waiting for you in your pools.", "info")
            return redirect(OPEN_CASES_URL)
        flash(f"{case.number} is yours.", "success")
        return redirect(url_for("CaseView.show", pk=case.id))

    @expose("/release/<pk>", methods=["POST"])
    @has_access
    @permission_name("release")
    def release_case(self, pk):
        """Give the case back to its pool from its page."""
        case = self._case_or_404(pk)
        return run_on_case(
            case, lambda: actions.release(case), f"{case.number} is back in its pool."
        )

    # List actions (several cases at once); the case page has its own buttons.
    @action("claim", "Claim", "Assign the selected cases to you?", "fa-hand-paper-o", single=False)
    def claim(self, items):
        return self.run_service(actions.claim, items, "Claimed {items}.")

    @action(
        "release", "Release", "Give the selected cases back to their pool?", "fa-undo", single=False
    )
    def release(self, items):
        return self.run_service(actions.release, items, "Released {items}.")

    @action("close", "Close", "Close the selected cases?", "fa-check", single=False)
    def close(self, items):
        return self.run_service(actions.close, items, "Closed {items}.")


class CaseActionView(BaseView):
    """The case page's action forms: note, forward, topic and skill, assign, postpone, close
    with wrap-up, reopen; and the page to open a case for a customer. Answering adds the
    reply forms under the same address (``/caseaction/...``) and permission (CaseAction)."""

    route_base = "/caseaction"
    class_permission_name = actions.CASE_ACTION
    method_permission_name = CASE_ACTION_PERMISSIONS
    default_view = "open"

    def _case(self, pk) -> Case:
        case = db.session.get(Case, pk)
        if case is None:
            abort(404)
        return case

    @expose("/<int:pk>/note", methods=["POST"])
    @has_access
    def note(self, pk):
        case = self._case(pk)
        return run_on_case(
            case, lambda: actions.add_note(case, request.form.get("text", "")), "Note added."
        )

    @expose("/<int:pk>/forward", methods=["POST"])
    @has_access
    def forward(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.forward(
                case,
                note=request.form.get("note", ""),
                assignee_id=request.form.get("assignee_id"),
                pool_id=request.form.get("pool_id"),
            ),
            f"{case.number} forwarded.",
        )

    @expose("/<int:pk>/reroute", methods=["POST"])
    @has_access
    def reroute(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.reroute(
                case,
                topic_id=request.form.get("topic_id", actions.UNCHANGED),
                required_skill_id=request.form.get("required_skill_id", actions.UNCHANGED),
                note=request.form.get("note"),
            ),
            f"{case.number}: topic and skill changed.",
        )

    @expose("/<int:pk>/assign", methods=["POST"])
    @has_access
    def assign(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.assign(case, request.form.get("assignee_id")),
            f"{case.number} assigned.",
        )

    @expose("/<int:pk>/postpone", methods=["POST"])
    @has_access
    def postpone(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.postpone(
                case,
                request.form.get("until"),
                reason=request.form.get("reason"),
                # the checkbox and a hidden "0" after it: the first value is the box's
                notify=request.form.get("notify", "1"),
            ),
            f"{case.number} postponed.",
        )

    @expose("/<int:pk>/close", methods=["POST"])
    @has_access
    def close(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.close(
                case, answers=form_answers(request.form), reason=request.form.get("reason")
            ),
            f"{case.number} closed.",
        )

    @expose("/<int:pk>/reopen", methods=["POST"])
    @has_access
    def reopen(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.reopen(case, reason=request.form.get("reason")),
            f"{case.number} reopened.",
        )

    @expose("/open", methods=["GET", "POST"])
    @has_access
    def open(self):
        """Open a case for a customer (phone, counter); he gets a confirmation by mail."""
        pools = visible(db.session.query(Pool), Pool).filter(Pool.active.is_(True)).all()
        if request.method == "POST":
            try:
                case = actions.open_for_customer(
                    pool_id=request.form.get("pool_id"),
                    subject=request.form.get("subject", ""),
                    customer_email=request.form.get("customer_email", ""),
                    customer_name=request.form.get("customer_name"),
                    language=request.form.get("language"),
                    text=request.form.get("text"),
                    topic_id=request.form.get("topic_id"),
                )
            except DeskError as exc:
                db.session.rollback()
                if exc.status_code == 403:
                    raise
                flash(str(exc), "danger")
            else:
                flash(f"Opened {case.number}; the customer gets a confirmation.", "success")
                return redirect(url_for("CaseView.show", pk=case.id))
        return self.render_template(
            "cases/open_case.html", pools=pools, form=request.form, limits=OPEN_CASE_LIMITS
        )


# Longest input of each field of the "open a case" form (the columns it fills); the browser
# stops typing there, the service refuses longer input from other clients.
OPEN_CASE_LIMITS = {
    "subject": column_max_length(Case, "subject"),
    "customer_email": column_max_length(Customer, "email"),
    "customer_name": column_max_length(Customer, "name"),
    "language": column_max_length(Customer, "language"),
}


def register(appbuilder) -> None:
    from app.cases.api import CaseActionApi, CaseApi, MessageApi  # the API imports this module

    add_link(
        appbuilder,
        "Open cases",
        OPEN_CASES_URL,
        requires=("can_list", "Case"),
        icon="fa-inbox",
        category="Desk",
    )
    appbuilder.add_view(CaseView, "All cases", icon="fa-archive", category="Desk")
    appbuilder.add_view(CaseActionView, "Open a case", icon="fa-plus", category="Desk")
    appbuilder.add_api(CaseApi)
    appbuilder.add_api(CaseActionApi)
    appbuilder.add_api(MessageApi)

"""Pages of cases: the lists, the case page with its action forms, and the generic edit.

Every form is a thin door onto ``app.cases.actions``: the same functions the REST API
(``app.cases.api``), the CLI and the jobs call. A refusal keeps its meaning on every door: a
case the user may not see answers 404, an action his role or the service's rule refuses 403
with the reason; a conflict with the case's state or bad input is shown on the case page.
The case page shows only the actions the user may do now (``actions.offered_actions``).
"""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.security.sqla.models import User
from flask_login import current_user
from sqlalchemy.orm import joinedload
from wtforms import SelectField

from app.cases import actions, history, intake_answers, presence, routing, services
from app.cases import questions as case_questions
from app.cases.models import Case, version_token
from app.cases.workflow import CLOCK_PAUSED_STATUSES, CaseStatus
from app.core.priority import PRIORITY_CHOICES
from app.core.views import DeskModelView, PrefetchingInterface, column_max_length
from app.customers.models import Customer
from app.errors import CaseChanged, DeskError
from app.extensions import db
from app.organisation.models import Pool, Skill, Topic
from app.security.roles import add_link
from app.security.rules import get_visible, is_visible, visible

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


ANSWER_PREFIX = "wrapup::"


def form_answers(form, prefix: str = ANSWER_PREFIX) -> dict:
    """The answers of a form with questions (fields named ``<prefix><question id or text>``,
    see templates/questionnaires/_questions.html); a field sent several times (checkboxes of
    a multiple choice) gives a list."""
    answers = {}
    for key in form:
        if key.startswith(prefix):
            values = form.getlist(key) if hasattr(form, "getlist") else [form.get(key)]
            answers[key[len(prefix) :]] = values[0] if len(values) == 1 else values
    return answers


# The workspace: the thread's order (a cookie remembers the agent's choice) and "due soon".
THREAD_ORDERS = ("oldest", "newest")
THREAD_ORDER_COOKIE = "ld_thread_order"
THREAD_WINDOW = 30  # messages a long thread opens with (the newest)


def thread_order() -> str:
    """The order the agent reads threads in: ``?order=`` if given, else his cookie, else
    oldest first (the customer's latest mail last, the reply editor right under it)."""
    order = request.args.get("order") or request.cookies.get(THREAD_ORDER_COOKIE)
    return order if order in THREAD_ORDERS else "oldest"


def remember_order(response, order: str):
    response.set_cookie(
        THREAD_ORDER_COOKIE, order, max_age=365 * 86400, samesite="Lax", httponly=True
    )
    return response


def due_state(case: Case) -> str | None:
    """ "overdue", "soon" (``Case.is_due_soon``), "due" or None (no due time, its clock
    waits, closed) for the workspace's due mark."""
    if not case.is_open or case.status in CLOCK_PAUSED_STATUSES or case.sla_due_at is None:
        return None
    return {"overdue": "overdue", "due_soon": "soon"}.get(case.due_state, "due")


def menu_moves(case: Case, offered) -> list:
    """The status moves of the workspace's More menu: the state machine's plain moves, but
    "Under consultation" only through "Consult a department…" where the desk offers it (a
    case under consultation without a question sent would wait for an answer that never
    comes)."""
    if "transition" not in offered:
        return []
    moves = actions.plain_moves(case)
    if "consult" in offered:
        moves = [m for m in moves if m != CaseStatus.UNDER_CONSULTATION]
    return moves


def is_htmx() -> bool:
    """The request came from htmx (a partial update of the workspace)."""
    return request.headers.get("HX-Request") == "true"


def expected_version():
    """The ``case_version`` a workspace form carries (None from older forms and clients)."""
    return request.form.get("case_version") or None


def thread_window(case: Case) -> tuple[list, int, bool]:
    """The messages the workspace shows (oldest first), how many the thread has, and whether
    they are all of them: a long thread opens with its newest ``THREAD_WINDOW`` messages and
    a "show the earlier ones" bar (``?all=1``), as a mail client collapses a long
    conversation, so the page stays fast however long the case has run."""
    if request.args.get("all") == "1":
        messages = services.thread(case)
        return messages, len(messages), True
    messages, total = services.thread_end(case, THREAD_WINDOW)
    return messages, total, total == len(messages)


def render_thread(case: Case, *, status: int = 200):
    """The workspace's thread (``cases/_thread.html``) in the agent's order; the response
    tells the page the case's new version (``HX-Trigger: ld-case-version``)."""
    order = thread_order()
    messages, total, complete = thread_window(case)
    response = make_response(
        render_template(
            "cases/_thread.html",
            case=case,
            messages=messages if order == "oldest" else messages[::-1],
            message_count=total,
            complete=complete,
            order=order,
        ),
        status,
    )
    version = version_token(case.updated_at, max((m.id for m in messages), default=None))
    response.headers["HX-Trigger"] = f'{{"ld-case-version": "{version}"}}'
    return remember_order(response, order)


def run_on_case(case: Case, func, success: str):
    """Run a case action for a form of the case page and go back to the case.

    A refusal the user should not click past (404: he may not see the case; 403: he may not
    do this) answers with its status and reason; a conflict or bad input is flashed on the
    case page, where the form is.
    """
    try:
        func()
    except CaseChanged as exc:
        db.session.rollback()
        return changed_answer(case, exc)
    except DeskError as exc:
        db.session.rollback()
        if exc.status_code in (403, 404):
            raise
        if is_htmx():
            return str(exc), exc.status_code
        flash(str(exc), "danger")
    else:
        if is_htmx():
            return render_thread(case)
        flash(success, "success")
    if is_visible(case):
        return redirect(url_for("CaseView.show", pk=case.id))
    return redirect(url_for("CaseView.list"))  # forwarded out of his pools


def changed_answer(case: Case, exc: CaseChanged):
    """409 for a form written for an older version of the case: what changed, by whom, when,
    and the way back to the case as it is now. Nothing was changed."""
    if is_htmx():
        return str(exc), 409
    appbuilder = current_app.appbuilder
    page = render_template(
        "cases/changed.html",
        case=case,
        message=str(exc),
        appbuilder=appbuilder,
        base_template=appbuilder.base_template,
    )
    return page, 409


# The workspace dialogs whose pickers load when the dialog opens (CaseView.pickers).
PICKER_DIALOGS = ("forward", "assign", "reroute", "consult")


def case_page_choices(case: Case, offered) -> dict:
    """The pickers of the case page's dialogs named in ``offered``."""
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


# The lists that leave archived cases out unless asked (``?archived=1``): the case list and
# the REST API's list. The case page, actions and every other door find them as before.
ARCHIVE_HIDING_ENDPOINTS = ("CaseView.list", "CaseApi.get_list")


def include_archived() -> bool:
    """The list was asked to include archived cases (``?archived=1``)."""
    return request.args.get("archived") == "1"


class HideArchived(BaseFilter):
    """Leaves archived cases out of the case lists (``ARCHIVE_HIDING_ENDPOINTS``) unless the
    request asks for them: daily work never meets the archive, a search can."""

    name = "Archived"
    arg_name = None

    def apply(self, query, value):
        if request.endpoint in ARCHIVE_HIDING_ENDPOINTS and not include_archived():
            return query.filter(Case.archived_at.is_(None))
        return query


class CaseView(DeskModelView):
    """Cases of the user's pools; overdue cases are marked red with a warning icon."""

    datamodel = PrefetchingInterface(Case, prefetch=("customer", "pool", "assignee"))
    class_permission_name = "Case"
    route_base = "/cases"
    base_filters = [["id", HideArchived, None]]
    list_template = "cases/case_list.html"  # the "include archived" switch
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
        "thread": "show",
        "pickers": "show",
        "presence": "show",
        "presence_leave": "show",
        "customer_cases": "show",
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
        "archived_at": "Archived",
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
                    "archived_at",
                ],
                "expanded": True,
            },
        ),
    ]
    # Only the plain fields: pool, assignee, topic, skill, status and due times change
    # through their actions (app.cases.actions.RULED_FIELDS says which).
    edit_columns = list(actions.EDITABLE_FIELDS)
    edit_form_extra_fields = {"priority": _priority_field()}
    show_template = "cases/workspace.html"  # CaseView.show renders it with its own context
    formatters_columns = {"assignee": lambda user: user if user else "–"}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The case workspace: the thread first (its order remembered), the reply editor under
        the customer's latest mail, the properties and the actions the user may do now in a
        side panel, who else has the case open, the history collapsed."""
        case = self._case_or_404(pk)
        offered = actions.offered_actions(case)
        order = thread_order()
        messages, total, complete = thread_window(case)
        version = version_token(case.updated_at, max((m.id for m in messages), default=None))
        presence.heartbeat(case, current_user)
        events = list(case.events)
        response = make_response(
            self.render_template(
                "cases/workspace.html",
                pk=pk,
                title=f"{case.number} · {case.subject}",
                case=case,
                messages=messages if order == "oldest" else messages[::-1],
                message_count=total,
                complete=complete,
                order=order,
                version=version,
                events=events,
                intake_answers=intake_answers.grouped(intake_answers.answers_of(case)),
                wrap_ups=[e for e in events if e.action == "wrap_up"][::-1],
                offered=offered,
                moves=menu_moves(case, offered),
                questions=(
                    case_questions.questions_for(case, case_questions.CLOSE)
                    if "close" in offered
                    else []
                ),
                due=due_state(case),
                others=presence.present(case, besides=current_user),
                heartbeat_seconds=presence.HEARTBEAT_SECONDS,
                CaseStatus=CaseStatus,
            )
        )
        return remember_order(response, order)

    @expose("/<int:pk>/thread", methods=["GET"])
    @has_access
    def thread(self, pk):
        """The workspace's thread alone, in the order asked for (remembered in a cookie):
        the order toggle swaps it without reloading the page (htmx)."""
        return render_thread(self._case_or_404(pk))

    @expose("/customer/<int:customer_id>/cases", methods=["GET"])
    @has_access
    def customer_cases(self, customer_id):
        """A customer's cases (``app.cases.history``) as a fragment: the workspace's
        "Customer's other cases" panel (``?besides=<case id>``) and the customer's page load
        it when asked (htmx). 404 for a customer the user may not see."""
        customer = db.session.get(Customer, customer_id)
        besides = request.args.get("besides", type=int)
        besides_case = db.session.get(Case, besides) if besides else None
        try:
            found = history.customer_cases(customer, besides=besides_case)
        except DeskError as exc:
            if exc.status_code == 404:
                abort(404)
            raise
        return render_template("cases/_customer_cases.html", history=found, besides=besides_case)

    @expose("/<int:pk>/pickers/<dialog>", methods=["GET"])
    @has_access
    def pickers(self, pk, dialog):
        """The lists a workspace dialog picks from (``PICKER_DIALOGS``), loaded when it
        opens: the workspace itself reads none of them. 404 for a dialog the user is not
        offered on this case."""
        case = self._case_or_404(pk)
        if dialog not in PICKER_DIALOGS or dialog not in actions.offered_actions(case):
            abort(404)
        return render_template(
            "cases/_pickers.html",
            dialog=dialog,
            case=case,
            choices=case_page_choices(case, {dialog}),
        )

    @expose("/<int:pk>/presence", methods=["POST"])
    @has_access
    def presence(self, pk):
        """The workspace's heartbeat: the user has the case open (``activity``: viewing or
        replying); answers who else has it open and, when the case changed since the page
        was loaded (``case_version``), what changed, so he reloads before he answers."""
        case = self._case_or_404(pk)
        presence.heartbeat(case, current_user, request.form.get("activity", "viewing"))
        seen = request.form.get("case_version")
        current = case.version_token
        return self.render_template(
            "cases/_presence.html",
            case=case,
            others=presence.present(case, besides=current_user),
            changed=actions.describe_last_change(case) if seen and seen != current else None,
        )

    @expose("/<int:pk>/presence/leave", methods=["POST"])
    @has_access
    def presence_leave(self, pk):
        """The user left the workspace (the page's ``pagehide``): his entry goes at once."""
        presence.leave(self._case_or_404(pk), current_user)
        return "", 204

    def _case_or_404(self, pk) -> Case:
        """The case if the user may see it (else 404), with its pool and customer, which every
        page of a case shows: one statement."""
        case = get_visible(Case, pk, joinedload(Case.pool), joinedload(Case.customer))
        if case is None:
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
        changes = {
            key: value
            for key, value in request.form.items()
            if key not in ("csrf_token", "case_version")
        }
        try:
            actions.edit(case, changes, expected_version=expected_version())
        except CaseChanged as exc:
            db.session.rollback()
            return changed_answer(case, exc)
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
                expected_version=expected_version(),
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
        return run_on_case(
            case,
            lambda: actions.claim(case, expected_version=expected_version()),
            f"{case.number} is yours.",
        )

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
            case,
            lambda: actions.release(case, expected_version=expected_version()),
            f"{case.number} is back in its pool.",
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
                expected_version=expected_version(),
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
                expected_version=expected_version(),
            ),
            f"{case.number}: topic and skill changed.",
        )

    @expose("/<int:pk>/assign", methods=["POST"])
    @has_access
    def assign(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.assign(
                case, request.form.get("assignee_id"), expected_version=expected_version()
            ),
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
                expected_version=expected_version(),
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
                case,
                answers=form_answers(request.form),
                reason=request.form.get("reason"),
                expected_version=expected_version(),
            ),
            f"{case.number} closed.",
        )

    @expose("/<int:pk>/reopen", methods=["POST"])
    @has_access
    def reopen(self, pk):
        case = self._case(pk)
        return run_on_case(
            case,
            lambda: actions.reopen(
                case, reason=request.form.get("reason"), expected_version=expected_version()
            ),
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
    from app.cases.queue_views import register as register_lists  # imports the API

    register_lists(appbuilder)
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

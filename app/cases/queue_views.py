"""The agent's lists, **My cases** and **My pools' queue**, as pages and REST endpoints, and
the counts the navigation shows on every page (``desk_counts`` in templates).

Thin doors onto ``app.cases.queues``: the same rows, counts and record rules on every door.
"""

from __future__ import annotations

from flask import abort, current_app, request
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.api import BaseApi, protect, safe
from sqlalchemy.exc import SQLAlchemyError

from app.cases import queues
from app.cases.api import case_json
from app.errors import AccessDenied
from app.extensions import db
from app.security.roles import add_link

# The lists show cases: whoever may list cases may open them.
LIST_PERMISSIONS = {"mine": "list", "queue": "list"}


class CaseListsView(BaseView):
    """``/desk/mine`` (the agent's open cases) and ``/desk/queue`` (his pools' waiting
    cases, ``?pool=<id>`` for one pool), most urgent first, 50 a page (``?page=<n>``)."""

    route_base = "/desk"
    class_permission_name = "Case"
    method_permission_name = LIST_PERMISSIONS
    default_view = "mine"

    @expose("/mine")
    @has_access
    def mine(self):
        page = queues.my_cases(page=request.args.get("page"), answer=request.args.get("answer"))
        return self.render_template(
            "cases/case_lists.html",
            title="My cases",
            page=page,
            kind="mine",
            show_pool=True,
            answer=request.args.get("answer", ""),
        )

    @expose("/queue")
    @has_access
    def queue(self):
        try:
            page = queues.queue(
                pool_id=request.args.get("pool"),
                page=request.args.get("page"),
                answer=request.args.get("answer"),
            )
        except AccessDenied:
            abort(404)
        title = f"Queue: {page.pool.name}" if page.pool else "My pools' queue"
        return self.render_template(
            "cases/case_lists.html",
            title=title,
            page=page,
            kind="queue",
            show_pool=True,
            answer=request.args.get("answer", ""),
        )


def _page_json(page: queues.Page) -> dict:
    return {
        "count": page.total,
        "page": page.page,
        "page_size": page.page_size,
        "ids": [case.id for case in page.cases],
        "result": [
            dict(
                case_json(case),
                customer_email=case.customer.email if case.customer else None,
                pool_name=case.pool.name,
                overdue=case.is_overdue,
                due_soon=case.is_due_soon,
            )
            for case in page.cases
        ],
    }


class CaseListsApi(BaseApi):
    """``GET /api/v1/case/mine``, ``/api/v1/case/queue`` (``?pool=<id>``, ``?page=<n>``,
    ``?answer=<value>`` or ``?answer=<field key>=<value>``: cases with such an intake answer) and
    ``/api/v1/case/queue_counts``: the lists and the counts of the navigation."""

    resource_name = "case"
    class_permission_name = "Case"
    method_permission_name = {"mine": "get", "queue": "get", "queue_counts": "get"}
    allow_browser_login = True
    openapi_spec_tag = "Case"

    @expose("/mine", methods=["GET"])
    @protect()
    @safe
    def mine(self):
        """The caller's open cases, most urgent first.
        ---
        get:
          responses:
            200:
              description: one page (50) of the caller's open cases and their count
        """
        page = queues.my_cases(page=request.args.get("page"), answer=request.args.get("answer"))
        return self.response(200, **_page_json(page))

    @expose("/queue", methods=["GET"])
    @protect()
    @safe
    def queue(self):
        """The cases waiting for an agent in the caller's pools (``?pool=<id>``: one pool).
        ---
        get:
          responses:
            200:
              description: one page (50) of waiting cases, most urgent first, and their count
            404:
              description: the pool is not one of the caller's
        """
        try:
            page = queues.queue(
                pool_id=request.args.get("pool"),
                page=request.args.get("page"),
                answer=request.args.get("answer"),
            )
        except AccessDenied:
            return self.response_404()
        return self.response(200, **_page_json(page))

    @expose("/queue_counts", methods=["GET"])
    @protect()
    @safe
    def queue_counts(self):
        """The navigation's counts: the caller's open cases and each pool's waiting cases.
        ---
        get:
          responses:
            200:
              description: mine, mine_overdue, waiting, overdue and per pool
        """
        return self.response(200, result=queues.counts().as_json())


def navigation_counts() -> queues.Counts | None:
    """``desk_counts()`` of the templates: the counts of the bar under the navigation. An
    error page (a database that failed the request) still renders, without them."""
    try:
        return queues.counts()
    except SQLAlchemyError:
        db.session.rollback()
        return None


def register(appbuilder) -> None:
    """Add the lists (menu: Desk → My cases, My pools' queue), their API and ``desk_counts``."""
    appbuilder.add_view(CaseListsView, "My cases", icon="fa-user", category="Desk")
    add_link(
        appbuilder,
        "My pools' queue",
        "/desk/queue",
        requires=("can_list", "Case"),
        icon="fa-list-ol",
        category="Desk",
    )
    appbuilder.add_api(CaseListsApi)
    # views are registered inside create_app's context
    current_app.jinja_env.globals["desk_counts"] = navigation_counts

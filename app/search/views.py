"""The search box of the navigation, the advanced search page (``/search/``) and
``GET /api/v1/search``: thin doors onto ``app.search.services.search``."""

from __future__ import annotations

from flask import flash, request
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.api import BaseApi, protect, safe
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.agents.models import AgentProfile, PoolMembership
from app.audit.actor import current_actor
from app.cases.workflow import CaseStatus
from app.errors import DeskError
from app.extensions import db
from app.organisation.models import Pool, Topic
from app.search import services
from app.search.models import EntryKind
from app.security.rules import visible

SEARCH = "Search"


def _choices() -> dict:
    """The advanced form's lists: the pools the user sees, every topic, the agents of those
    pools."""
    pools = db.session.scalars(visible(select(Pool).order_by(Pool.name), Pool)).all()
    topics = db.session.scalars(select(Topic).order_by(Topic.name)).all()
    agents = db.session.scalars(
        select(User)
        .where(
            User.id.in_(
                select(AgentProfile.user_id)
                .join(PoolMembership, PoolMembership.agent_id == AgentProfile.id)
                .where(PoolMembership.pool_id.in_([pool.id for pool in pools]))
            )
        )
        .order_by(User.username)
    ).all()
    return {
        "pools": pools,
        "topics": topics,
        "agents": agents,
        "statuses": list(CaseStatus),
        "kinds": list(EntryKind),
    }


class SearchView(BaseView):
    """``/search/?q=…`` with the advanced filters (``status``, ``pool``, ``agent``,
    ``topic``, ``customer``, ``from``, ``to``, ``kind``, ``sort``, ``page``)."""

    route_base = "/search"
    class_permission_name = SEARCH
    method_permission_name = {"index": "search"}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        results = None
        filters = services.Filters()
        try:
            filters = services.Filters.from_args(request.args)
            if request.args.get("q", "").strip() or filters.narrows:
                results = services.search(
                    request.args.get("q"), filters, current_actor(), request.args.get("page")
                )
        except DeskError as exc:
            flash(str(exc), "danger")
        return self.render_template(
            "search/search.html",
            title="Search",
            q=request.args.get("q", ""),
            filters=filters,
            results=results,
            args=request.args,
            **_choices(),
        )


class SearchApi(BaseApi):
    """``GET /api/v1/search?q=…``: the same search, as JSON."""

    resource_name = "search"
    class_permission_name = SEARCH
    method_permission_name = {"find": "search"}
    allow_browser_login = True
    openapi_spec_tag = "Search"

    @expose("", methods=["GET"])
    @expose("/", methods=["GET"])
    @protect()
    @safe
    def find(self):
        """Search cases, messages, intake answers and attachment names; customers beside.
        ---
        get:
          parameters:
          - {in: query, name: q, schema: {type: string}, description: words, "phrases", -word, or}
          - {in: query, name: status, schema: {type: string}, description: case status (repeatable)}
          - {in: query, name: pool, schema: {type: integer}}
          - {in: query, name: agent, schema: {type: integer}, description: the assignee's user id}
          - {in: query, name: topic, schema: {type: integer}}
          - {in: query, name: customer, schema: {type: string}, description: id or part of the address or name}
          - {in: query, name: from, schema: {type: string, format: date}}
          - {in: query, name: to, schema: {type: string, format: date}}
          - {in: query, name: kind, schema: {type: string}, description: case, message, intake or attachment}
          - {in: query, name: sort, schema: {type: string, enum: [date, relevance]}}
          - {in: query, name: page, schema: {type: integer}}
          responses:
            200:
              description: one page (20) of hits, newest first, their count (exact up to 1000), and matching customers
            400:
              description: a filter's value is wrong (the message says which)
        """
        try:
            filters = services.Filters.from_args(request.args)
            results = services.search(
                request.args.get("q"), filters, current_actor(), request.args.get("page")
            )
        except DeskError as exc:
            db.session.rollback()
            return self.response(exc.status_code, message=str(exc))
        return self.response(200, **results.as_json())


def register(appbuilder) -> None:
    """Add the search page (menu: Desk → Search) and its API."""
    appbuilder.add_view(SearchView, "Search", icon="fa-search", category="Desk")
    appbuilder.add_api(SearchApi)

"""Configuration views for agents, pool memberships and absences.

Supervisors change the agents and memberships of the pools they supervise: the write rules in
``app.agents.record_rules``, checked by the base view for every add, edit and delete. Agents
record their own absences; every absence is checked and, once started, hands the agent's cases
over through ``app.agents.absences`` (the same service as the REST API).
"""

from flask import current_app, flash, session
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_login import user_logged_in
from sqlalchemy.exc import SQLAlchemyError

from app.agents import absences
from app.agents.api import AbsenceApi
from app.agents.models import Absence, AgentProfile, PoolMembership
from app.agents.services import profile_of
from app.audit.actor import current_actor
from app.core.timeutil import utcnow
from app.core.views import DeskModelView
from app.errors import AccessDenied
from app.extensions import db
from app.security.roles import add_link
from app.security.rules import is_visible


class AgentView(DeskModelView):
    datamodel = SQLAInterface(AgentProfile)
    class_permission_name = "Agent"
    route_base = "/agents"
    list_columns = ["user", "active", "replies_need_approval", "may_attach_files", "substitute"]
    search_columns = ["active", "replies_need_approval", "may_attach_files"]
    add_columns = [
        "user",
        "active",
        "skills",
        "replies_need_approval",
        "may_attach_files",
        "substitute",
        "signature",
    ]
    edit_columns = [
        "active",
        "skills",
        "replies_need_approval",
        "may_attach_files",
        "substitute",
        "signature",
    ]
    show_columns = [
        "user",
        "active",
        "skills",
        "memberships",
        "replies_need_approval",
        "may_attach_files",
        "substitute",
        "signature",
        "absences",
    ]
    label_columns = {
        "replies_need_approval": "Replies need approval",
        "may_attach_files": "May attach own files",
    }
    show_template = "agents/show.html"

    def clean(self, item):
        absences.check_substitute(item)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The agent's page, with his absence now and the cases handed over while he was away
        (they stay where they went: nothing moves back by itself)."""
        profile = self.datamodel.get(pk, self._base_filters)
        if profile is None or not is_visible(profile):
            raise AccessDenied("No such agent.")
        return self._page(profile)

    @expose("/me", methods=["GET"])
    @has_access
    @permission_name("me")
    def me(self):
        """The acting agent's own page (absences, cases handed over while he was away)."""
        profile = profile_of(current_actor())
        if profile is None:  # an admin or manager without one
            return self.render_template("agents/no_profile.html")
        return self._page(profile)

    def _page(self, profile):
        return self.render_template(
            self.show_template,
            pk=profile.id,
            title=f"{profile}",
            widgets=self._show(profile.id),
            related_views=self._related_views,
            absent=absences.absence_of_user(profile.user_id),
            handed_over=absences.handed_over_from(profile.user),
        )


class MembershipView(DeskModelView):
    datamodel = SQLAInterface(PoolMembership)
    class_permission_name = "Membership"
    route_base = "/memberships"
    list_columns = ["agent", "pool", "priority", "is_supervisor"]
    search_columns = ["pool", "is_supervisor"]
    add_columns = edit_columns = show_columns = ["agent", "pool", "priority", "is_supervisor"]
    label_columns = {"priority": "Pick priority (1 = first)", "is_supervisor": "Supervisor"}


class AbsenceView(DeskModelView):
    datamodel = SQLAInterface(Absence)
    class_permission_name = "Absence"
    route_base = "/absences"
    list_columns = ["agent", "starts_at", "ends_at", "substitute", "note"]
    search_columns = ["starts_at", "ends_at"]
    add_columns = edit_columns = show_columns = [
        "agent",
        "starts_at",
        "ends_at",
        "substitute",
        "note",
    ]
    label_columns = {"starts_at": "From (UTC)", "ends_at": "Until (UTC)"}
    base_order = ("starts_at", "desc")

    def clean(self, item):
        absences.check_absence(item)
        # The new row hangs off its agent already: in the session, the write rule's queries
        # flush it whole instead of warning that it is not there (a refusal rolls it back).
        db.session.add(item)

    def _handed_over(self, item):
        moved = absences.absence_saved(item)
        if moved:
            flash(f"{len(moved)} case(s) handed over: {', '.join(moved)}.", "info")

    def post_add(self, item):
        self._handed_over(item)

    def post_update(self, item):
        self._handed_over(item)


#: The browser session remembers until when no return notice can be due, so an agent's pages
#: ask the database at most every ``RETURN_CHECK_SECONDS``; a new login asks at once.
RETURN_CHECK_KEY = "ld_absence_return_check"
RETURN_CHECK_SECONDS = 300


def absence_return_notice() -> absences.ReturnNotice | None:
    """``absence_return_notice()`` of the base template: on an agent's first page after an
    absence of his ended, what was handed over while he was away (once)."""
    user = current_actor()
    if user is None or getattr(user, "id", None) is None:
        return None
    now = utcnow().timestamp()
    if session.get(RETURN_CHECK_KEY, 0) > now:
        return None
    try:
        notice = absences.return_notice(user)
    except SQLAlchemyError:  # an error page still renders, without it
        db.session.rollback()
        return None
    session[RETURN_CHECK_KEY] = now + RETURN_CHECK_SECONDS
    return notice


def register(appbuilder) -> None:
    appbuilder.add_api(AbsenceApi)
    appbuilder.add_view(AgentView, "Agents", icon="fa-user", category="Configuration")
    appbuilder.add_view(MembershipView, "Memberships", icon="fa-users", category="Configuration")
    appbuilder.add_view(AbsenceView, "Absences", icon="fa-plane", category="Configuration")
    add_link(
        appbuilder,
        "My absences",
        href="/agents/me",
        icon="fa-plane",
        category="Desk",
        requires=("can_me", "Agent"),
    )
    current_app.jinja_env.globals["absence_return_notice"] = absence_return_notice
    user_logged_in.connect(_forget_return_check, current_app._get_current_object())


def _forget_return_check(_app, **_extra) -> None:
    """A new login asks for a return notice at once."""
    session.pop(RETURN_CHECK_KEY, None)

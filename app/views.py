"""The desk's start page. Every feature registers its own views (``app.features``)."""

from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from app.cases.views import OPEN_CASES_URL
from app.security.roles import ADMIN, AGENT, MANAGER, SUPERVISOR, role_names
from reports.views import DASHBOARD_URL


class DeskIndexView(IndexView):
    """The start page: a manager lands on the dashboard (he reads the desk, he does not
    answer cases); everyone else goes straight to the cases."""

    route_base = ""

    @expose("/")
    def index(self):
        if getattr(current_user, "is_authenticated", False):
            roles = role_names(current_user)
            if MANAGER in roles and not roles & {ADMIN, AGENT, SUPERVISOR}:
                return redirect(DASHBOARD_URL)
            return redirect(OPEN_CASES_URL)
        return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login"))

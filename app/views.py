"""The desk's start page. Every feature registers its own views (``app.features``)."""

from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from app.cases.views import OPEN_CASES_URL


class DeskIndexView(IndexView):
    """The start page: logged-in users go straight to their cases."""

    route_base = ""

    @expose("/")
    def index(self):
        if getattr(current_user, "is_authenticated", False):
            return redirect(OPEN_CASES_URL)
        return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login"))

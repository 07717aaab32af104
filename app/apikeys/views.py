"""The admin's page of API keys: make one (shown once), revoke one. Thin doors onto
``app.apikeys.services``."""

from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.apikeys import services
from app.errors import DeskError
from app.extensions import appbuilder, db
from app.security.api_key_auth import HEADER
from app.security.roles import DESK_ROLES

TEMPLATES = str(Path(__file__).parent / "templates")


class ApiKeyView(BaseView):
    """``/apikeys/``: every key (prefix, owner, role, created, last used, revoked) and the
    form for a new one; ``POST /apikeys/<id>/revoke``."""

    route_base = "/apikeys"
    template_folder = TEMPLATES
    class_permission_name = "ApiKey"
    method_permission_name = {"index": "list", "create": "add", "revoke": "revoke"}
    base_permissions = ["can_list", "can_add", "can_revoke"]
    default_view = "index"

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        try:
            found, owners = services.keys(), services.owners()
        except DeskError as exc:
            abort(exc.status_code, str(exc))
        return self.render_template(
            "apikeys/index.html",
            title="API keys",
            keys=found,
            owners=owners,
            roles=DESK_ROLES,
            header=HEADER,
        )

    @expose("/", methods=["POST"])
    @has_access
    def create(self):
        form = request.form
        try:
            owner_id = int(form.get("user_id") or 0)
        except ValueError:
            owner_id = 0
        owner = appbuilder().sm.get_user_by_id(owner_id) if owner_id else None
        try:
            row, key = services.create_key(form.get("name"), owner, form.get("role"))
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code == 403:
                abort(403, str(exc))
            flash(str(exc), "danger")
            return redirect(url_for("ApiKeyView.index"))
        return self.render_template(
            "apikeys/created.html", title="API key", row=row, key=key, header=HEADER
        )

    @expose("/<int:pk>/revoke", methods=["POST"])
    @has_access
    def revoke(self, pk):
        try:
            services.revoke(services.get_key(pk))
            flash("API key revoked: calls with it are refused from now on.", "success")
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                abort(exc.status_code, str(exc))
            flash(str(exc), "danger")
        return redirect(url_for("ApiKeyView.index"))


def register(appbuilder) -> None:
    appbuilder.add_view(ApiKeyView, "API keys", icon="fa-key", category="Configuration")

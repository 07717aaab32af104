"""The admin's webhook pages: subscriptions, their delivery log and replay. Thin doors onto
``app.webhooks.services``."""

from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.errors import DeskError
from app.extensions import db
from app.webhooks import services
from app.webhooks.models import EVENT_LABELS, WebhookEventType
from app.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER

TEMPLATES = str(Path(__file__).parent / "templates")


def _refused(exc: DeskError):
    db.session.rollback()
    if exc.status_code in (403, 404):
        abort(exc.status_code, str(exc))


class WebhookView(BaseView):
    """``/webhooks/``: the subscriptions and a form for a new one; ``/webhooks/<id>``: one
    subscription, its settings and its deliveries; ``/webhooks/delivery/<id>``: one delivery,
    its body and every attempt, with the replay button."""

    route_base = "/webhooks"
    template_folder = TEMPLATES
    class_permission_name = "Webhook"
    method_permission_name = {
        "index": "list",
        "create": "add",
        "show": "show",
        "edit": "edit",
        "rotate": "edit",
        "delivery": "show",
        "replay": "replay",
    }
    base_permissions = ["can_list", "can_add", "can_show", "can_edit", "can_replay"]
    default_view = "index"

    def _page(self, template: str, **context):
        return self.render_template(
            template,
            event_types=list(WebhookEventType),
            event_labels=EVENT_LABELS,
            timestamp_header=TIMESTAMP_HEADER,
            signature_header=SIGNATURE_HEADER,
            **context,
        )

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        try:
            found = services.subscriptions()
        except DeskError as exc:
            _refused(exc)
            raise
        return self._page("webhooks/index.html", title="Webhooks", subscriptions=found)

    @expose("/", methods=["POST"])
    @has_access
    def create(self):
        form = request.form
        try:
            subscription, secret = services.subscribe(
                form.get("name"),
                form.get("url"),
                form.getlist("event_types"),
                secret=form.get("secret") or None,
                active=bool(form.get("active")),
            )
        except DeskError as exc:
            _refused(exc)
            flash(str(exc), "danger")
            return redirect(url_for("WebhookView.index"))
        return self._secret_page(subscription, secret)

    def _secret_page(self, subscription, secret: str):
        return self._page(
            "webhooks/secret.html", title="Webhook secret", subscription=subscription, secret=secret
        )

    def _subscription(self, pk):
        try:
            return services.get_subscription(pk)
        except DeskError as exc:
            _refused(exc)
            raise

    @expose("/<int:pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        subscription = self._subscription(pk)
        return self._page(
            "webhooks/show.html",
            title=f"Webhook {subscription.name}",
            subscription=subscription,
            deliveries=services.deliveries(subscription),
        )

    @expose("/<int:pk>", methods=["POST"])
    @has_access
    def edit(self, pk):
        subscription = self._subscription(pk)
        form = request.form
        try:
            services.change(
                subscription,
                name=form.get("name"),
                url=form.get("url"),
                event_types=form.getlist("event_types"),
                active=bool(form.get("active")),
            )
            flash("Webhook saved.", "success")
        except DeskError as exc:
            _refused(exc)
            flash(str(exc), "danger")
        return redirect(url_for("WebhookView.show", pk=pk))

    @expose("/<int:pk>/rotate", methods=["POST"])
    @has_access
    def rotate(self, pk):
        subscription = self._subscription(pk)
        return self._secret_page(subscription, services.rotate_secret(subscription))

    @expose("/delivery/<int:pk>", methods=["GET"])
    @has_access
    def delivery(self, pk):
        try:
            found = services.get_delivery(pk)
        except DeskError as exc:
            _refused(exc)
            raise
        return self._page("webhooks/delivery.html", title=f"Delivery #{found.id}", delivery=found)

    @expose("/delivery/<int:pk>/replay", methods=["POST"])
    @has_access
    def replay(self, pk):
        try:
            found = services.get_delivery(pk)
            services.replay(found)
            flash("Delivery queued again; the log shows the new attempt.", "success")
        except DeskError as exc:
            _refused(exc)
            flash(str(exc), "danger")
        return redirect(url_for("WebhookView.delivery", pk=pk))


def register(appbuilder) -> None:
    appbuilder.add_view(WebhookView, "Webhooks", icon="fa-exchange", category="Configuration")

"""The reports page: start a run, watch its progress (htmx polling), download the file.
Thin doors onto ``reports.services``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.audit.actor import current_actor
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db
from app.security.roles import add_link
from reports import dashboard, forecast, metrics, services, subscriptions
from reports.api import ReportRunApi
from reports.settings import setting

TEMPLATES = str(Path(__file__).parent / "templates")
DASHBOARD_URL = "/reports/dashboard"  # a manager's start page (app.views)


class ReportView(BaseView):
    """``/reports/``: the form and the runs the user may see; ``/reports/<id>``: one run
    with its progress bar; ``/reports/<id>/progress``: the bar alone (polled);
    ``/reports/<id>/download``: the file; ``/reports/subscriptions``: subscribe to the report
    mailed weekly or monthly, ``/reports/subscriptions/<id>/stop``: stop it."""

    route_base = "/reports"
    template_folder = TEMPLATES
    class_permission_name = "Report"
    method_permission_name = {
        "index": "list",
        "start": "add",
        "show": "show",
        "progress": "show",
        "download": "download",
        "dashboard": "list",
        "forecast": "list",
        "subscribe": "add",
        "unsubscribe": "add",
    }
    default_view = "index"

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        today = utcnow().date()
        first = today.replace(day=1)
        last_month_end = first - timedelta(days=1)
        return self.render_template(
            "reports/index.html",
            title="Reports",
            runs=services.runs(),
            breakdowns=metrics.BREAKDOWN_TITLES,
            defaults={"since": last_month_end.replace(day=1), "until": last_month_end},
            scope=_scope_label(),
            subscriptions=subscriptions.subscriptions(),
            email=getattr(current_actor(), "email", None),
            schedule_minutes=max(1, setting("REPORTS_SCHEDULE_INTERVAL") // 60),
        )

    @expose("/subscriptions", methods=["POST"])
    @has_access
    def subscribe(self):
        try:
            subscriptions.subscribe(
                {"frequency": request.form.get("frequency"), "format": request.form.get("format")},
                current_actor(),
            )
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                abort(exc.status_code, str(exc))
            flash(str(exc), "danger")
        else:
            flash("Subscribed: the report will be mailed to you.", "success")
        return redirect(url_for("ReportView.index") + "#subscriptions")

    @expose("/subscriptions/<int:pk>/stop", methods=["POST"])
    @has_access
    def unsubscribe(self, pk):
        try:
            subscriptions.stop(pk, current_actor())
        except DeskError as exc:
            db.session.rollback()
            abort(exc.status_code if exc.status_code in (403, 404) else 400, str(exc))
        flash("The mailed report is stopped.", "info")
        return redirect(url_for("ReportView.index") + "#subscriptions")

    @expose("/", methods=["POST"])
    @has_access
    def start(self):
        params = {
            "since": request.form.get("since"),
            "until": request.form.get("until"),
            "breakdowns": request.form.getlist("breakdowns"),
            "format": request.form.get("format"),
            "time_zone": request.form.get("time_zone") or None,
            "forecast": request.form.get("forecast") == "on",
        }
        try:
            run = services.start_run(services.DESK_REPORT, params, current_actor())
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                abort(exc.status_code, str(exc))
            flash(str(exc), "danger")
            return redirect(url_for("ReportView.index"))
        return redirect(url_for("ReportView.show", pk=run.id))

    @expose("/dashboard", methods=["GET"])
    @has_access
    def dashboard(self):
        """The manager's first page: today, this week, this month, the backlog per pool."""
        pools = _scope_or_403()
        data = dashboard.dashboard(pools, utcnow())
        return self.render_template(
            "reports/dashboard.html", title="Dashboard", data=data, scope=_scope_label()
        )

    @expose("/forecast", methods=["GET"])
    @has_access
    def forecast(self):
        """The staffing forecast with its backtest, as a table and a chart."""
        pools = _scope_or_403()
        try:
            result = forecast.build(pools, utcnow())
        except forecast.ForecastError as exc:
            result, problem = None, str(exc)
        else:
            problem = None
        return self.render_template(
            "reports/forecast.html",
            title="Staffing forecast",
            forecast=result,
            problem=problem,
            scope=_scope_label(),
        )

    @expose("/<int:pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        run = _run(pk)
        return self.render_template("reports/show.html", title=f"Report #{run.id}", run=run)

    @expose("/<int:pk>/progress", methods=["GET"])
    @has_access
    def progress(self, pk):
        return self.render_template("reports/_progress.html", run=_run(pk))

    @expose("/<int:pk>/download", methods=["GET"])
    @has_access
    def download(self, pk):
        run = _run(pk)
        try:
            path = services.result_file(run)
        except DeskError:
            abort(404)
        return send_file(
            path,
            mimetype=services.MIME.get(run.file_format),
            as_attachment=True,
            download_name=path.name,
        )


def _run(pk):
    try:
        return services.get_run(pk)
    except DeskError:
        abort(404)


def _scope_or_403() -> list[int] | None:
    try:
        return services.scope_for(current_actor())
    except DeskError as exc:
        abort(exc.status_code, str(exc))


def _scope_label() -> str:
    try:
        pools = services.scope_for(current_actor())
    except DeskError:
        return "none"
    return "the whole desk" if pools is None else f"your pools only ({len(pools)})"


# The dashboard's scripts and the vendored Apache ECharts: /static/reports/...
assets = Blueprint(
    "reports_assets", __name__, static_folder="static", static_url_path="/static/reports"
)


def register(appbuilder) -> None:
    current_app.register_blueprint(assets)
    add_link(
        appbuilder,
        "Dashboard",
        DASHBOARD_URL,
        requires=("can_list", "Report"),
        icon="fa-tachometer",
        category="Desk",
    )
    appbuilder.add_view(ReportView, "Reports", icon="fa-bar-chart", category="Desk")
    appbuilder.add_api(ReportRunApi)
    add_link(
        appbuilder,
        "Staffing forecast",
        "/reports/forecast",
        requires=("can_list", "Report"),
        icon="fa-line-chart",
        category="Desk",
    )

"""The reports page: start a run, watch its progress (htmx polling), download the file.
Thin doors onto ``reports.services``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import abort, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.audit.actor import current_actor
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db
from reports import metrics, services
from reports.api import ReportRunApi

TEMPLATES = str(Path(__file__).parent / "templates")


class ReportView(BaseView):
    """``/reports/``: the form and the runs the user may see; ``/reports/<id>``: one run
    with its progress bar; ``/reports/<id>/progress``: the bar alone (polled);
    ``/reports/<id>/download``: the file."""

    route_base = "/reports"
    template_folder = TEMPLATES
    class_permission_name = "Report"
    method_permission_name = {
        "index": "list",
        "start": "add",
        "show": "show",
        "progress": "show",
        "download": "download",
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
        )

    @expose("/", methods=["POST"])
    @has_access
    def start(self):
        params = {
            "since": request.form.get("since"),
            "until": request.form.get("until"),
            "breakdowns": request.form.getlist("breakdowns"),
            "format": request.form.get("format"),
            "time_zone": request.form.get("time_zone") or None,
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


def _scope_label() -> str:
    try:
        pools = services.scope_for(current_actor())
    except DeskError:
        return "none"
    return "the whole desk" if pools is None else f"your pools only ({len(pools)})"


def register(appbuilder) -> None:
    appbuilder.add_view(ReportView, "Reports", icon="fa-bar-chart", category="Desk")
    appbuilder.add_api(ReportRunApi)

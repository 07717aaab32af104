"""REST API of report runs (``/api/v1/reportrun/``): start a run, watch its status, download
its file. Thin doors onto ``reports.services`` with the page's rules: managers and admins
run reports of the whole desk, a supervisor of his pools (and sees only his own runs), an
agent none (403)."""

from __future__ import annotations

from flask import send_file
from flask_appbuilder.api import BaseApi, expose, protect, safe

from app.audit.actor import current_actor
from app.cases.api import answer, request_body
from app.core.api import paginate
from app.errors import DeskError
from app.extensions import db
from reports import services
from reports.models import ReportRun


def _iso(value):
    return value.isoformat() if value is not None else None


def run_json(run: ReportRun) -> dict:
    return {
        "id": run.id,
        "report": run.report,
        "status": run.status,
        "progress": run.progress,
        "step": run.step,
        "parameters": run.parameters,
        "error": run.error,
        "attempts": run.attempts,
        "requested_by": run.requested_by.username if run.requested_by else None,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        # Present once the run is done: GET it for the file.
        "download": f"/api/v1/reportrun/{run.id}/download" if run.path else None,
    }


class ReportRunApi(BaseApi):
    """Runs of the desk report (see the module docstring)."""

    resource_name = "reportrun"
    class_permission_name = "Report"
    method_permission_name = {
        "get_list": "list",
        "start": "add",
        "get_one": "show",
        "download": "download",
    }
    allow_browser_login = True
    openapi_spec_tag = "Report runs"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The runs the caller may see, newest first, a page at a time.
        ---
        get:
          parameters:
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1}}
          responses:
            200: {description: 'count, page, page_size and the runs (result)'}
        """
        try:
            return self.response(200, **paginate(services.runs(limit=None), run_json))
        except DeskError as exc:
            return self.response(exc.status_code, message=str(exc))

    @expose("/", methods=["POST"])
    @protect()
    @safe
    def start(self):
        """Start a run: ``{"report": "desk", "since": "YYYY-MM-DD", "until": "YYYY-MM-DD",
        "time_zone": "Europe/Berlin", "breakdowns": ["agent", "pool", ...], "format":
        "xlsx"|"csv"}``. The worker runs it; poll ``GET /api/v1/reportrun/<id>``.
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    report: {type: string, default: desk}
                    since: {type: string, format: date}
                    until: {type: string, format: date}
                    time_zone: {type: string}
                    breakdowns: {type: array, items: {type: string}}
                    format: {type: string, enum: [xlsx, csv]}
          responses:
            202: {description: the queued run}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
        """

        def run():
            body = request_body()
            params = {
                key: body.get(key)
                for key in ("since", "until", "time_zone", "breakdowns", "format")
            }
            if params["breakdowns"] is not None and not isinstance(params["breakdowns"], list):
                raise DeskError("'breakdowns' is a list of names.")
            report = body.get("report") or services.DESK_REPORT
            if not isinstance(report, str):
                raise DeskError("'report' is the name of a report.")
            return run_json(services.start_run(report, params, current_actor()))

        return answer(self, run, 202)

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_one(self, pk):
        """One run: its status, progress and, once done, where to download it.
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: the run}
            404: {$ref: '#/components/responses/404'}
        """
        return answer(self, lambda: run_json(services.get_run(pk)))

    @expose("/<int:pk>/download", methods=["GET"])
    @protect()
    @safe
    def download(self, pk):
        """The file of a finished run (xlsx, or a zip of CSV files); 404 while there is none.
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200:
              description: the report file
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
                application/zip: {}
            404: {$ref: '#/components/responses/404'}
        """
        try:
            run = services.get_run(pk)
            path = services.result_file(run)
        except DeskError as exc:
            db.session.rollback()
            return self.response(exc.status_code, message=str(exc))
        return send_file(
            path,
            mimetype=services.MIME.get(run.file_format),
            as_attachment=True,
            download_name=path.name,
        )

"""REST API of consultations: ``POST /api/v1/consultation/`` asks a department (the same
service as the case page's form), ``GET /api/v1/consultation/`` lists those the caller sees
(``?status=open|overdue|answered|all``, ``?case_id=``, ``?page=``, ``?page_size=``),
``GET /api/v1/consultation/<id>`` reads one, ``GET /api/v1/consultation/departments`` lists
the active departments. ``POST /api/v1/caseaction/<case_id>/consult`` is the same as a case
action, beside the others.

Answers as the case actions do: 404 for a case or consultation outside the caller's pools,
403 for a role that may not consult, 409 for a case that cannot go under consultation (closed,
waiting for approval, postponed), 400 for bad input.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe

from app.cases import actions as case_actions
from app.cases.api import answer, case_json, load_case, request_body
from app.consultation import services
from app.consultation.models import Consultation
from app.core.api import paginate
from app.errors import DeskError


def _iso(value):
    return value.isoformat() if value is not None else None


def consultation_json(row: Consultation) -> dict:
    return {
        "id": row.id,
        "case_id": row.case_id,
        "case_number": row.case.number,
        "department": {"id": row.department_id, "name": row.department.name},
        "asked_by": row.asked_by.username if row.asked_by else None,
        "question": row.question,
        "status": row.status,
        "overdue": row.is_overdue,
        "sent_at": _iso(row.sent_at),
        "deadline_at": _iso(row.deadline_at),
        "answered_at": _iso(row.answered_at),
        "reminded_at": _iso(row.reminded_at),
        "answered_on_time": row.answered_on_time,
        "message_id": row.message_row_id,
        "answer_message_id": row.answer_message_row_id,
    }


def _consult(case, body: dict) -> dict:
    row = services.consult(
        case, body.get("department_id"), body.get("question"), body.get("message_ids")
    )
    return {**consultation_json(row), "case": case_json(case)}


class ConsultationApi(BaseApi):
    """Consultations of departments (see the module docstring)."""

    resource_name = "consultation"
    class_permission_name = "Consultation"
    method_permission_name = {
        "consult": "post",  # and the service checks can_consult on CaseAction, like the page
        "get_list": "get",
        "get_one": "get",
        "departments": "get",
    }
    allow_browser_login = True
    openapi_spec_tag = "Consultations"

    @expose("/", methods=["POST"])
    @protect()
    @safe
    def consult(self):
        """Ask a department about a case.
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    case_id: {type: integer}
                    department_id: {type: integer}
                    question: {type: string}
                    message_ids: {type: array, items: {type: integer}}
          responses:
            201: {description: the consultation}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            body = request_body()
            case_id = body.get("case_id")
            if not isinstance(case_id, int) or isinstance(case_id, bool):
                raise DeskError("'case_id' must be the id of a case.")
            return _consult(load_case(case_id), body)

        return answer(self, run, 201)

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """Consultations of the cases the caller sees, newest first.
        ---
        get:
          parameters:
          - {in: query, name: status, schema: {type: string, enum: [open, overdue, answered, all]}}
          - {in: query, name: case_id, schema: {type: integer}}
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1}}
          responses:
            200: {description: 'count, page, page_size and the consultations (result)'}
        """

        try:
            rows = services.consultations(
                request.args.get("status") or "all", request.args.get("case_id")
            )
            return self.response(200, **paginate(rows, consultation_json))
        except DeskError as exc:
            return self.response(exc.status_code, message=str(exc))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_one(self, pk):
        """One consultation.
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: the consultation}
            404: {$ref: '#/components/responses/404'}
        """
        return answer(self, lambda: consultation_json(services.get_consultation(pk)))

    @expose("/departments", methods=["GET"])
    @protect()
    @safe
    def departments(self):
        """The active departments one can consult.
        ---
        get:
          responses:
            200: {description: the departments}
        """
        return answer(
            self,
            lambda: [
                {"id": d.id, "name": d.name, "response_hours": d.response_hours}
                for d in services.active_departments()
            ],
        )


class CaseConsultApi(BaseApi):
    """``POST /api/v1/caseaction/<case_id>/consult``: consult a department, as the other case
    actions are called (the same service and answers as ``POST /api/v1/consultation/``)."""

    resource_name = "caseaction"
    class_permission_name = case_actions.CASE_ACTION
    method_permission_name = {"consult": "consult"}
    allow_browser_login = True
    openapi_spec_tag = "Case actions"

    @expose("/<int:case_id>/consult", methods=["POST"])
    @protect()
    @safe
    def consult(self, case_id):
        """Ask a department about the case: ``{"department_id", "question", "message_ids"}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    department_id: {type: integer}
                    question: {type: string}
                    message_ids: {type: array, items: {type: integer}}
          responses:
            201: {description: the consultation and the case}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/409'}
        """
        return answer(self, lambda: _consult(load_case(case_id), request_body()), 201)

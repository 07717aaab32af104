"""REST API of consultations: ``POST /api/v1/consultation/`` asks a department (the same
service as the case page's form), ``GET /api/v1/consultation/`` lists those the caller sees
(``?status=open|overdue|answered|all``, ``?case_id=``), ``GET /api/v1/consultation/<id>``
reads one, ``GET /api/v1/consultation/departments`` lists the active departments.

Answers as the case actions do: 404 for a case or consultation outside the caller's pools,
403 for a role that may not consult, 409 for a case that cannot go under consultation (closed,
waiting for approval, postponed), 400 for bad input.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe

from app.cases.api import answer, case_json, load_case, request_body
from app.consultation import services
from app.consultation.models import Consultation
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
            case = load_case(case_id)
            row = services.consult(
                case, body.get("department_id"), body.get("question"), body.get("message_ids")
            )
            return {**consultation_json(row), "case": case_json(case)}

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
          responses:
            200: {description: the consultations}
        """

        def run():
            rows = services.consultations(
                request.args.get("status") or "all", request.args.get("case_id")
            )
            return [consultation_json(r) for r in rows]

        return answer(self, run)

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

"""REST API for cases and messages: the same services as the views, the same record rules."""

from __future__ import annotations

from datetime import datetime

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name

from app.cases import services
from app.cases.models import Case, Message
from app.core.views import DeskModelRestApi
from app.errors import DeskError
from app.extensions import db
from app.security.rules import is_visible

CASE_FIELDS = [
    "id",
    "number",
    "subject",
    "status",
    "priority",
    "pool.id",
    "pool.name",
    "topic.id",
    "required_skill.id",
    "assignee.id",
    "assignee.username",
    "customer.id",
    "customer.email",
    "received_at",
    "sla_due_at",
    "first_response_at",
    "closed_at",
    "postponed_until",
]


def _message_json(m: Message) -> dict:
    return {
        "id": m.id,
        "direction": m.direction,
        "created_at": m.created_at.isoformat(),
        "from": m.from_address,
        "to": m.to_addresses,
        "subject": m.subject,
        "body_text": m.body_text,
        "message_id": m.message_id,
        "author_id": m.author_id,
        "attachments": [
            {"id": a.id, "filename": a.filename, "size": a.size, "content_type": a.content_type}
            for a in m.attachments
        ],
    }


class CaseApi(DeskModelRestApi):
    """``/api/v1/case/``: list, read and edit cases; status moves through ``/transition``.

    The richer agent actions (reply, note, forward, postpone, close with wrap-up) live under
    ``/api/v1/caseaction/`` (app.answering.api).

    There is no DELETE: cases are never deleted.
    """

    resource_name = "case"
    datamodel = SQLAInterface(Case)
    class_permission_name = "Case"
    method_permission_name = {
        "get_list": "get",
        "get": "get",
        "info": "info",
        "put": "put",
        "transition": "transition",
        "claim": "claim",
        "thread": "thread",
    }
    include_route_methods = {
        "get",
        "get_list",
        "info",
        "put",
        "transition",
        "claim",
        "thread",
    }
    list_columns = CASE_FIELDS
    show_columns = CASE_FIELDS
    edit_columns = ["subject", "priority", "pool", "topic", "required_skill", "assignee"]
    order_columns = ["number", "received_at", "sla_due_at", "priority", "status"]
    search_columns = ["number", "subject", "status", "priority", "pool", "assignee", "customer"]
    base_order = ("sla_due_at", "asc")

    def _case(self, pk) -> Case | None:
        case = self.datamodel.get(pk, self._base_filters)
        if case is None or not is_visible(case):
            return None
        return case

    def _run(self, pk, action):
        """Load a visible case, run ``action(case)``; a DeskError becomes its HTTP status."""
        case = self._case(pk)
        if case is None:
            return self.response_404()
        try:
            return action(case)
        except DeskError as exc:
            db.session.rollback()
            return self.response(exc.status_code, message=str(exc))

    def _result(self, case: Case):
        return self.response(
            200,
            result={
                "id": case.id,
                "number": case.number,
                "status": case.status,
                "assignee_id": case.assignee_id,
                "postponed_until": case.postponed_until.isoformat()
                if case.postponed_until
                else None,
            },
        )

    @expose("/<int:pk>/transition", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk):
        """Move a case: ``{"status": "closed", "reason": "…", "until": "ISO time"}``.
        ---
        post:
          description: Move a case through the state machine; illegal moves answer 409.
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: the case after the move
            404:
              $ref: '#/components/responses/404'
            409:
              description: the move is not allowed from the current status
        """
        body = request.get_json(silent=True) or {}

        def move(case):
            if body.get("status") == "postponed":
                try:
                    until = datetime.fromisoformat(str(body.get("until", "")))
                except ValueError:
                    return self.response_400(message="'until' must be an ISO date and time")
                services.postpone_case(case, until, reason=body.get("reason"))
            else:
                services.change_status(
                    case,
                    str(body.get("status", "")),
                    reason=body.get("reason"),
                    answers=body.get("answers"),
                )
            return self._result(case)

        return self._run(pk, move)

    @expose("/<int:pk>/claim", methods=["POST"])
    @protect()
    @safe
    @permission_name("claim")
    def claim(self, pk):
        """Assign the case to the caller and start work on it.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: the claimed case
            404:
              $ref: '#/components/responses/404'
        """
        return self._run(pk, lambda case: self._result(services.claim_case(case)))

    @expose("/<int:pk>/thread", methods=["GET"])
    @protect()
    @safe
    @permission_name("thread")
    def thread(self, pk):
        """The messages of a case, oldest first.
        ---
        get:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: the thread
            404:
              $ref: '#/components/responses/404'
        """
        return self._run(
            pk,
            lambda case: self.response(
                200, result=[_message_json(m) for m in services.thread(case)]
            ),
        )


class MessageApi(DeskModelRestApi):
    """``/api/v1/message/``: read-only; messages are never edited or deleted."""

    resource_name = "message"
    datamodel = SQLAInterface(Message)
    class_permission_name = "Message"
    include_route_methods = {"get", "get_list", "info"}
    list_columns = [
        "id",
        "case.id",
        "case.number",
        "direction",
        "from_address",
        "subject",
        "created_at",
        "message_id",
    ]
    show_columns = list_columns + [
        "to_addresses",
        "cc_addresses",
        "body_text",
        "in_reply_to",
        "references",
    ]
    search_columns = ["direction", "subject", "from_address", "case"]

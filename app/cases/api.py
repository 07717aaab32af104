"""REST API of cases, their messages and the case actions: the same functions as the pages
(``app.cases.actions``), the same record rules and the same answers.

A case outside the caller's pools answers 404; an action his role or the service's rule
refuses 403 with the reason; a conflict with the case's state (closed, an illegal status move,
someone else claimed it) 409; bad input 400. Bodies are JSON objects (form data is accepted
too).
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name

from app.cases import actions, routing, services
from app.cases.models import Case, Message
from app.cases.views import CASE_ACTION_PERMISSIONS, HideArchived
from app.core.views import CountingInterface, DeskModelRestApi
from app.errors import AccessDenied, DeskError
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
    "first_response_due_at",
    "resolution_due_at",
    "first_response_at",
    "closed_at",
    "postponed_until",
    "archived_at",
]


def _iso(value):
    return value.isoformat() if value is not None else None


def case_json(case: Case) -> dict:
    """A case as the action endpoints answer it."""
    return {
        "id": case.id,
        "number": case.number,
        "subject": case.subject,
        "status": case.status,
        "priority": case.priority,
        "pool_id": case.pool_id,
        "topic_id": case.topic_id,
        "required_skill_id": case.required_skill_id,
        "assignee_id": case.assignee_id,
        "sla_due_at": _iso(case.sla_due_at),
        "first_response_due_at": _iso(case.first_response_due_at),
        "resolution_due_at": _iso(case.resolution_due_at),
        "due_state": case.due_state,
        "first_response_at": _iso(case.first_response_at),
        "postponed_until": _iso(case.postponed_until),
        "closed_at": _iso(case.closed_at),
        # Send it back as ``If-Match`` to have a change refused (409) when the case changed.
        "version": case.version_token,
    }


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


def request_body() -> dict:
    """The request's JSON object (or form fields); anything else is refused (400)."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise DeskError("The request body must be a JSON object.")
        return body
    return request.form.to_dict()


def answer(api: BaseApi, func, status: int = 200):
    """Run ``func`` and answer its result; a DeskError becomes its status and message."""
    try:
        result = func()
    except DeskError as exc:
        db.session.rollback()
        if exc.status_code == 404:
            return api.response_404()
        return api.response(exc.status_code, message=str(exc))
    return api.response(status, result=result)


def if_match() -> str | None:
    """The case version a client read (``If-Match: "<version>"``, as ``case_json`` gives it),
    or None: without the header nothing is checked."""
    value = request.headers.get("If-Match", "").strip()
    if not value or value == "*":
        return None
    return value.removeprefix("W/").strip('"')


def load_case(case_id) -> Case:
    """The case, if the caller may see it (before his request body is even read)."""
    case = db.session.get(Case, case_id)
    if case is None or not is_visible(case):
        raise AccessDenied("No such case.")
    return case


class CaseApi(DeskModelRestApi):
    """``/api/v1/case/``: list and read cases, edit their plain fields (``PUT``: subject and
    priority), move them (``/transition``), claim and release them, read their thread.

    The other actions (note, forward, topic and skill, assign, postpone, close with wrap-up,
    reopen, open a case) live under ``/api/v1/caseaction/``; replies under the same address
    come from answering. There is no DELETE: cases are never deleted.
    """

    resource_name = "case"
    # One statement counts, one reads the page with its pools, topics, skills, assignees and
    # customers joined (FAB's select of the dotted list columns), whatever the page size.
    datamodel = CountingInterface(Case)
    class_permission_name = "Case"
    # The list leaves archived cases out unless asked: ``?archived=1``.
    base_filters = [["id", HideArchived, None]]
    method_permission_name = {
        "get_list": "get",
        "get": "get",
        "info": "info",
        "put": "put",
        "transition": "transition",
        "claim": "claim",
        "next_case": "claim",
        "release": "release",
        "thread": "thread",
    }
    include_route_methods = {
        "get",
        "get_list",
        "info",
        "put",
        "transition",
        "claim",
        "next_case",
        "release",
        "thread",
    }
    list_columns = CASE_FIELDS
    show_columns = CASE_FIELDS
    edit_columns = list(actions.EDITABLE_FIELDS)
    order_columns = ["number", "received_at", "sla_due_at", "priority", "status"]
    search_columns = ["number", "subject", "status", "priority", "pool", "assignee", "customer"]
    base_order = ("sla_due_at", "asc")

    def _case(self, pk) -> Case:
        case = self.datamodel.get(pk, self._base_filters)
        if case is None or not is_visible(case):
            raise AccessDenied("No such case.")
        return case

    def put_headless(self, pk):
        """``PUT /api/v1/case/<id>``: the plain fields, through ``actions.edit`` (a closed case
        answers 409; a field with an action of its own, 400 naming that action)."""

        def run():
            case = self._case(pk)
            if not request.is_json:
                raise DeskError("Request is not JSON")
            return case_json(actions.edit(case, request_body(), expected_version=if_match()))

        return answer(self, run)

    @expose("/<int:pk>/transition", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk):
        """Move a case: ``{"status": "closed", "reason": "…", "until": "ISO time",
        "answers": {question: answer}, "notify": true}``.
        ---
        post:
          description: >-
            Move a case through the state machine. ``until`` (postponed) takes an ISO time
            with or without an offset (UTC without); ``answers`` (closed) the pool's wrap-up.
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: the case after the move
            400:
              description: invalid input (e.g. a date that is not ISO or not in the future)
            403:
              description: the caller's role may not do this
            404:
              $ref: '#/components/responses/404'
            409:
              description: the move is not allowed from the current status
        """

        def run():
            case = self._case(pk)
            body = request_body()
            return case_json(
                actions.change_status(
                    case,
                    body.get("status"),
                    reason=body.get("reason"),
                    until=body.get("until"),
                    answers=body.get("answers"),
                    notify=body.get("notify", True),
                    expected_version=if_match(),
                )
            )

        return answer(self, run)

    @expose("/<int:pk>/claim", methods=["POST"])
    @protect()
    @safe
    @permission_name("claim")
    def claim(self, pk):
        """Assign the case to the caller (only while nobody has it) and start work on it.
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
            409:
              description: someone else has the case (or it is closed)
        """
        return answer(
            self, lambda: case_json(actions.claim(self._case(pk), expected_version=if_match()))
        )

    @expose("/next", methods=["POST"])
    @protect()
    @safe
    @permission_name("claim")
    def next_case(self):
        """Get next case: the most urgent case the caller may take becomes his, in progress.
        ---
        post:
          responses:
            200:
              description: the case that is now the caller's
            404:
              description: no case is waiting for the caller in his pools
        """
        try:
            case = routing.claim_next_case()
        except DeskError as exc:
            db.session.rollback()
            return self.response(exc.status_code, message=str(exc))
        if case is None:
            return self.response(404, message="No case is waiting for you in your pools.")
        return self.response(200, result=case_json(case))

    @expose("/<int:pk>/release", methods=["POST"])
    @protect()
    @safe
    @permission_name("release")
    def release(self, pk):
        """Give the case back to its pool (its assignee or a supervisor of the pool).
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: the released case
            403:
              description: the case is someone else's
            404:
              $ref: '#/components/responses/404'
        """
        return answer(
            self,
            lambda: case_json(actions.release(self._case(pk), expected_version=if_match())),
        )

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
        return answer(self, lambda: [_message_json(m) for m in services.thread(self._case(pk))])


class CaseActionApi(BaseApi):
    """``/api/v1/caseaction/<case_id>/…``: note, forward, reroute, assign, postpone, close,
    reopen, and ``/open`` (a case for a customer). Answering adds the reply endpoints."""

    resource_name = "caseaction"
    class_permission_name = actions.CASE_ACTION
    method_permission_name = CASE_ACTION_PERMISSIONS
    allow_browser_login = True
    openapi_spec_tag = "Case actions"

    @expose("/<int:case_id>/note", methods=["POST"])
    @protect()
    @safe
    def note(self, case_id):
        """Add an internal note: ``{"text": "..."}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            201: {description: the note}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            note = actions.add_note(load_case(case_id), request_body().get("text"))
            return {"id": note.id, "case_id": note.case_id, "direction": note.direction}

        return answer(self, run, 201)

    @expose("/<int:case_id>/forward", methods=["POST"])
    @protect()
    @safe
    def forward(self, case_id):
        """Forward to a colleague and/or pool: ``{"assignee_id", "pool_id", "note"}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the case}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            case = load_case(case_id)
            body = request_body()
            case = actions.forward(
                case,
                note=body.get("note"),
                assignee_id=body.get("assignee_id"),
                pool_id=body.get("pool_id"),
                expected_version=if_match(),
            )
            return case_json(case)

        return answer(self, run)

    @expose("/<int:case_id>/reroute", methods=["POST"])
    @protect()
    @safe
    def reroute(self, case_id):
        """Change topic and/or required skill: ``{"topic_id", "required_skill_id", "note"}``
        (a key left out stays as it is; null clears it).
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the case}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            case = load_case(case_id)
            body = request_body()
            case = actions.reroute(
                case,
                topic_id=body.get("topic_id", actions.UNCHANGED),
                required_skill_id=body.get("required_skill_id", actions.UNCHANGED),
                note=body.get("note"),
                expected_version=if_match(),
            )
            return case_json(case)

        return answer(self, run)

    @expose("/<int:case_id>/assign", methods=["POST"])
    @protect()
    @safe
    def assign(self, case_id):
        """A supervisor of the pool assigns the case: ``{"assignee_id": 7}`` (null: nobody).
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the case}
            403: {description: only supervisors of the case's pool assign}
            404: {$ref: '#/components/responses/404'}
        """
        return answer(
            self,
            lambda: case_json(
                actions.assign(
                    load_case(case_id),
                    request_body().get("assignee_id"),
                    expected_version=if_match(),
                )
            ),
        )

    @expose("/<int:case_id>/postpone", methods=["POST"])
    @protect()
    @safe
    def postpone(self, case_id):
        """Postpone until an ISO time (offset optional, UTC without); the customer gets a
        notice unless ``"notify": false``: ``{"until", "reason", "notify"}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the case}
            400: {description: not an ISO time, or not in the future}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            case = load_case(case_id)
            body = request_body()
            case = actions.postpone(
                case,
                body.get("until"),
                reason=body.get("reason"),
                notify=body.get("notify", True),
                expected_version=if_match(),
            )
            return case_json(case)

        return answer(self, run)

    @expose("/<int:case_id>/close", methods=["POST"])
    @protect()
    @safe
    def close(self, case_id):
        """Close, answering the pool's wrap-up questions: ``{"answers": {question: answer}}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the case}
            400: {description: required wrap-up answers missing}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            case = load_case(case_id)
            body = request_body()
            return case_json(
                actions.close(
                    case,
                    answers=body.get("answers"),
                    reason=body.get("reason"),
                    expected_version=if_match(),
                )
            )

        return answer(self, run)

    @expose("/<int:case_id>/reopen", methods=["POST"])
    @protect()
    @safe
    def reopen(self, case_id):
        """Reopen a closed case: ``{"reason": "..."}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the case}
            404: {$ref: '#/components/responses/404'}
        """
        return answer(
            self,
            lambda: case_json(
                actions.reopen(
                    load_case(case_id),
                    reason=request_body().get("reason"),
                    expected_version=if_match(),
                )
            ),
        )

    @expose("/open", methods=["POST"])
    @protect()
    @safe
    def open(self):
        """Open a case for a customer, who gets a confirmation: ``{"pool_id", "subject",
        "customer_email", "customer_name", "language", "text", "topic_id"}``.
        ---
        post:
          responses:
            201: {description: the new case}
            400: {description: invalid input}
        """

        def run():
            body = request_body()
            case = actions.open_for_customer(
                pool_id=body.get("pool_id"),
                subject=body.get("subject"),
                customer_email=body.get("customer_email"),
                customer_name=body.get("customer_name"),
                language=body.get("language"),
                text=body.get("text"),
                topic_id=body.get("topic_id"),
            )
            return case_json(case)

        return answer(self, run, 201)


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

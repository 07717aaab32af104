"""REST API of the agent's case actions: ``/api/v1/caseaction/<case_id>/...``.

The same services as the case page; an unknown case or one outside the caller's pools answers
404, a refused ad-hoc upload 403, a rule violation 400 and an illegal status move 409. Bodies
are JSON; ``reply`` also takes multipart form data (files in ``attachments``). In JSON, ad-hoc
files are ``{"filename", "content_type", "content_base64"}`` objects.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe

from app.answering import services
from app.answering.models import Reply
from app.answering.views import CASE_ACTION, CASE_ACTION_PERMISSIONS
from app.cases.models import Case
from app.errors import DeskError
from app.extensions import db


def _case_json(case: Case) -> dict:
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "pool_id": case.pool_id,
        "assignee_id": case.assignee_id,
        "first_response_at": case.first_response_at.isoformat() if case.first_response_at else None,
        "postponed_until": case.postponed_until.isoformat() if case.postponed_until else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }


def _reply_json(row: Reply) -> dict:
    return {
        "id": row.id,
        "case_id": row.case_id,
        "status": row.status,
        "subject": row.subject,
        "recipient": row.recipient,
        "message_id": row.message_row_id,
        "attachments": [
            {"filename": a.filename, "size": a.size, "source": a.source, "sha256": a.sha256}
            for a in row.attachments
        ],
        "case": _case_json(row.case),
    }


def _json_uploads(items) -> list[services.Upload]:
    uploads = []
    for item in items or []:
        if not isinstance(item, dict):
            raise DeskError("Each attachment must be an object with filename and content_base64.")
        try:
            data = base64.b64decode(item.get("content_base64") or "", validate=True)
        except (binascii.Error, ValueError):
            raise DeskError(f"Attachment {item.get('filename')!r} is not valid base64.") from None
        uploads.append(
            services.Upload(
                str(item.get("filename") or "attachment"), str(item.get("content_type") or ""), data
            )
        )
    return uploads


def _body() -> dict:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise DeskError("The request body must be a JSON object.")
        return body
    return request.form.to_dict()


class CaseActionApi(BaseApi):
    """Agent case actions: reply, preview, template, note, forward, postpone, close, reopen,
    approve / reject a waiting reply, open a case for a customer."""

    resource_name = "caseaction"
    class_permission_name = CASE_ACTION
    method_permission_name = CASE_ACTION_PERMISSIONS
    allow_browser_login = True
    openapi_spec_tag = "Case actions"

    def _run(self, func, status: int = 200):
        try:
            result = func()
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code == 404:
                return self.response_404()
            return self.response(exc.status_code, message=str(exc))
        return self.response(status, result=result)

    @staticmethod
    def _case(case_id: int) -> Case:
        from app.errors import AccessDenied

        case = db.session.get(Case, case_id)
        if case is None:
            raise AccessDenied("No such case.")
        return case

    @expose("/<int:case_id>/options", methods=["GET"])
    @protect()
    @safe
    def options(self, case_id):
        """Templates, library documents and wrap-up questions offered on a case.
        ---
        get:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the choices}
            404: {$ref: '#/components/responses/404'}
        """
        from flask_login import current_user

        def run():
            case = services._visible_case(self._case(case_id))
            return {
                "templates": [
                    {"id": t.id, "name": t.name, "language": t.language}
                    for t in services.templates_for(case)
                ],
                "documents": [
                    {"id": d.id, "name": d.name, "version": d.current_version.version}
                    for d in services.documents_for(case)
                ],
                "wrap_up_questions": [
                    {"question": q, "required": r} for q, r in services.wrap_up_questions(case.pool)
                ],
                "may_attach_files": services.may_attach_files(current_user),
            }

        return self._run(run)

    @expose("/<int:case_id>/template/<int:template_id>", methods=["GET"])
    @protect()
    @safe
    def template(self, case_id, template_id):
        """A canned response rendered for the case: the text an agent starts from.
        ---
        get:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          - {in: path, name: template_id, schema: {type: integer}}
          responses:
            200: {description: subject and body}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            tpl, subject, body = services.render_template_for(
                self._case(case_id), template_id, request.args.get("language")
            )
            return {
                "template_id": tpl.id,
                "language": tpl.language,
                "subject": subject,
                "body": body,
            }

        return self._run(run)

    @expose("/<int:case_id>/preview", methods=["POST"])
    @protect()
    @safe
    def preview(self, case_id):
        """The exact mail a reply would send: ``{"text": "...", "template_id": 1}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: subject, text, html, parts and inline images}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            body = _body()
            return services.preview(
                self._case(case_id),
                text=body.get("text"),
                template_id=body.get("template_id"),
                language=body.get("language"),
            ).preview_dict()

        return self._run(run)

    @expose("/<int:case_id>/reply", methods=["POST"])
    @protect()
    @safe
    def reply(self, case_id):
        """Reply to the customer: ``{"text", "template_id", "document_ids": [..],
        "attachments": [{"filename", "content_type", "content_base64"}]}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            201: {description: the reply (status sent or pending_approval)}
            400: {description: invalid reply}
            403: {description: the agent may not attach his own files}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            if request.is_json:
                body = _body()
                uploads = _json_uploads(body.get("attachments"))
                document_ids = body.get("document_ids") or []
            else:
                body = request.form.to_dict()
                uploads = [
                    services.Upload(f.filename, f.mimetype, f.read())
                    for f in request.files.getlist("attachments")
                    if f and f.filename
                ]
                document_ids = request.form.getlist("document_ids")
            if not isinstance(document_ids, list):
                raise DeskError("'document_ids' must be a list.")
            row = services.reply(
                self._case(case_id),
                text=body.get("text"),
                template_id=body.get("template_id"),
                document_ids=document_ids,
                uploads=uploads,
                language=body.get("language"),
            )
            return _reply_json(row)

        return self._run(run, 201)

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
            note = services.add_note(self._case(case_id), str(_body().get("text") or ""))
            return {"id": note.id, "case_id": note.case_id, "direction": note.direction}

        return self._run(run, 201)

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
            body = _body()
            case = services.forward(
                self._case(case_id),
                note=str(body.get("note") or ""),
                assignee_id=body.get("assignee_id"),
                pool_id=body.get("pool_id"),
            )
            return _case_json(case)

        return self._run(run)

    @expose("/<int:case_id>/postpone", methods=["POST"])
    @protect()
    @safe
    def postpone(self, case_id):
        """Postpone until a time (ISO), the customer gets a notice: ``{"until", "reason"}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: the case}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            body = _body()
            try:
                until = datetime.fromisoformat(str(body.get("until") or ""))
            except ValueError:
                raise DeskError("'until' must be an ISO date and time.") from None
            if until.tzinfo is not None:
                from datetime import UTC

                until = until.astimezone(UTC).replace(tzinfo=None)
            case = services.postpone(
                self._case(case_id),
                until,
                reason=body.get("reason"),
                notify=body.get("notify", True) not in (False, "0", 0),
            )
            return _case_json(case)

        return self._run(run)

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
            body = _body()
            answers = body.get("answers") or {}
            if not isinstance(answers, dict):
                raise DeskError("'answers' must be an object of question: answer.")
            return _case_json(
                services.close(self._case(case_id), answers=answers, reason=body.get("reason"))
            )

        return self._run(run)

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

        def run():
            return _case_json(services.reopen(self._case(case_id), reason=_body().get("reason")))

        return self._run(run)

    @staticmethod
    def _reply(reply_id: int) -> Reply:
        from app.errors import AccessDenied

        row = db.session.get(Reply, reply_id)
        if row is None:
            raise AccessDenied("No such reply.")
        return row

    @expose("/reply/<int:reply_id>/approve", methods=["POST"])
    @protect()
    @safe
    def approve(self, reply_id):
        """A supervisor approves a waiting reply; it is queued now.
        ---
        post:
          parameters:
          - {in: path, name: reply_id, schema: {type: integer}}
          responses:
            200: {description: the reply}
            404: {$ref: '#/components/responses/404'}
        """
        return self._run(
            lambda: _reply_json(
                services.approve_reply(self._reply(reply_id), note=_body().get("note"))
            )
        )

    @expose("/reply/<int:reply_id>/reject", methods=["POST"])
    @protect()
    @safe
    def reject(self, reply_id):
        """A supervisor rejects a waiting reply: ``{"reason": "..."}``.
        ---
        post:
          parameters:
          - {in: path, name: reply_id, schema: {type: integer}}
          responses:
            200: {description: the reply}
            404: {$ref: '#/components/responses/404'}
        """
        return self._run(
            lambda: _reply_json(
                services.reject_reply(self._reply(reply_id), str(_body().get("reason") or ""))
            )
        )

    @expose("/open", methods=["POST"])
    @protect()
    @safe
    def open(self):
        """Open a case for a customer, who gets a confirmation: ``{"pool_id", "subject",
        "customer_email", "customer_name", "language", "text"}``.
        ---
        post:
          responses:
            201: {description: the new case}
            400: {description: invalid input}
        """

        def run():
            body = _body()
            case = services.open_case_for_customer(
                pool_id=body.get("pool_id"),
                subject=str(body.get("subject") or ""),
                customer_email=str(body.get("customer_email") or ""),
                customer_name=body.get("customer_name"),
                language=body.get("language"),
                text=body.get("text"),
                topic_id=body.get("topic_id"),
            )
            return _case_json(case)

        return self._run(run, 201)

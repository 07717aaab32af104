"""REST API of replies: ``/api/v1/caseaction/<case_id>/{options,template,preview,reply}`` and
``/api/v1/caseaction/reply/<reply_id>/{approve,reject}``, beside the other case actions of
app.cases at the same address.

Replies take ``text`` (plain) or ``body_html`` (the editor's formatting, sanitised by
``richtext`` as on the case page). The same services as the case page; an unknown case or one outside the caller's pools answers
404, a refused ad-hoc upload or a refused approval 403, a rule violation 400 and a conflict
with the case's state 409. Bodies are JSON; ``reply`` also takes multipart form data (files
in ``attachments``). In JSON, ad-hoc files are ``{"filename", "content_type",
"content_base64"}`` objects.
"""

from __future__ import annotations

import base64
import binascii

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_login import current_user

from app.answering import documents, replies, richtext, templates
from app.answering.models import Reply
from app.answering.views import REPLY_ANSWER_PREFIX, REPLY_PERMISSIONS
from app.cases import actions as case_actions
from app.cases.api import answer, case_json, if_match, load_case, request_body
from app.cases.views import form_answers
from app.errors import AccessDenied, DeskError
from app.extensions import db
from app.questionnaires import services as questionnaires
from app.questionnaires.models import Moment
from app.questionnaires.services import question_json


def _reply_json(row: Reply) -> dict:
    return {
        "id": row.id,
        "case_id": row.case_id,
        "status": replies.delivery_status(row),
        "subject": row.subject,
        "recipient": row.recipient,
        "message_id": row.message_row_id,
        "attachments": [
            {"filename": a.filename, "size": a.size, "source": a.source, "sha256": a.sha256}
            for a in row.attachments
        ],
        "case": case_json(row.case),
    }


def _json_uploads(items) -> list[replies.Upload]:
    uploads = []
    for item in items or []:
        if not isinstance(item, dict):
            raise DeskError("Each attachment must be an object with filename and content_base64.")
        try:
            data = base64.b64decode(item.get("content_base64") or "", validate=True)
        except (binascii.Error, ValueError):
            raise DeskError(f"Attachment {item.get('filename')!r} is not valid base64.") from None
        uploads.append(
            replies.Upload(
                str(item.get("filename") or "attachment"), str(item.get("content_type") or ""), data
            )
        )
    return uploads


def _reply(reply_id: int) -> Reply:
    row = db.session.get(Reply, reply_id)
    if row is None:
        raise AccessDenied("No such reply.")
    return row


class ReplyApi(BaseApi):
    """Replies to the customer: options, template, preview, reply; approve / reject a
    waiting reply. The other case actions are app.cases' (same address)."""

    resource_name = "caseaction"
    class_permission_name = case_actions.CASE_ACTION
    method_permission_name = REPLY_PERMISSIONS
    allow_browser_login = True
    openapi_spec_tag = "Case actions"

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

        def run():
            case = load_case(case_id)
            return {
                "templates": [
                    {"id": t.id, "name": t.name, "language": t.language}
                    for t in templates.templates_for(case)
                ],
                "documents": [
                    {"id": d.id, "name": d.name, "version": d.current_version.version}
                    for d in documents.documents_for(case)
                ],
                "wrap_up_questions": [
                    question_json(q) for q in questionnaires.questions_for(case, Moment.CLOSE)
                ],
                "reply_questions": [
                    question_json(q) for q in questionnaires.questions_for(case, Moment.REPLY)
                ],
                "may_attach_files": replies.may_attach_files(current_user),
            }

        return answer(self, run)

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
            tpl, subject, body = templates.render_template_for(
                load_case(case_id), template_id, request.args.get("language")
            )
            return {
                "template_id": tpl.id,
                "language": tpl.language,
                "subject": subject,
                "body": body,
                "body_html": richtext.text_to_html(body.strip()),
            }

        return answer(self, run)

    @expose("/<int:case_id>/preview", methods=["POST"])
    @protect()
    @safe
    def preview(self, case_id):
        """The exact mail a reply would send: ``{"text": "...", "body_html": "...",
        "template_id": 1}``.
        ---
        post:
          parameters:
          - {in: path, name: case_id, schema: {type: integer}}
          responses:
            200: {description: subject, text, html, parts and inline images}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            case = load_case(case_id)
            body = request_body()
            return replies.preview(
                case,
                text=body.get("text"),
                template_id=body.get("template_id"),
                language=body.get("language"),
                body_html=body.get("body_html"),
            ).preview_dict()

        return answer(self, run)

    @expose("/<int:case_id>/reply", methods=["POST"])
    @protect()
    @safe
    def reply(self, case_id):
        """Reply to the customer: ``{"text", "body_html", "template_id", "document_ids": [..],
        "attachments": [{"filename", "content_type", "content_base64"}],
        "answers": {question id or text: answer}}`` (the pool's questions asked on reply).
        ``body_html`` (bold, italic, lists, links) is sanitised and sent with a derived
        text/plain part; ``text`` alone sends a plain-text reply.
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
            case = load_case(case_id)
            if request.is_json:
                body = request_body()
                uploads = _json_uploads(body.get("attachments"))
                document_ids = body.get("document_ids") or []
            else:
                body = request.form.to_dict()
                uploads = [
                    replies.Upload(f.filename, f.mimetype, f.read())
                    for f in request.files.getlist("attachments")
                    if f and f.filename
                ]
                document_ids = request.form.getlist("document_ids")
            row = replies.reply(
                case,
                text=body.get("text"),
                template_id=body.get("template_id"),
                document_ids=document_ids,
                uploads=uploads,
                language=body.get("language"),
                answers=(
                    body.get("answers")
                    if request.is_json
                    else form_answers(request.form, REPLY_ANSWER_PREFIX)
                ),
                expected_version=if_match(),
                body_html=body.get("body_html"),
            )
            return _reply_json(row)

        return answer(self, run, 201)

    @expose("/reply/<int:reply_id>/approve", methods=["POST"])
    @protect()
    @safe
    def approve(self, reply_id):
        """A supervisor of the case's pool approves a waiting reply; it is queued now.
        ---
        post:
          parameters:
          - {in: path, name: reply_id, schema: {type: integer}}
          responses:
            200: {description: the reply}
            403: {description: only a supervisor of the case's pool decides}
            409: {description: the case changed since the version in If-Match}
            404: {$ref: '#/components/responses/404'}
        """
        return answer(
            self,
            lambda: _reply_json(
                replies.approve_reply(
                    _reply(reply_id),
                    note=request_body().get("note"),
                    expected_version=if_match(),
                )
            ),
        )

    @expose("/reply/<int:reply_id>/reject", methods=["POST"])
    @protect()
    @safe
    def reject(self, reply_id):
        """A supervisor of the case's pool rejects a waiting reply: ``{"reason": "..."}``.
        ---
        post:
          parameters:
          - {in: path, name: reply_id, schema: {type: integer}}
          responses:
            200: {description: the reply}
            403: {description: only a supervisor of the case's pool decides}
            409: {description: the case changed since the version in If-Match}
            404: {$ref: '#/components/responses/404'}
        """
        return answer(
            self,
            lambda: _reply_json(
                replies.reject_reply(
                    _reply(reply_id), request_body().get("reason"), expected_version=if_match()
                )
            ),
        )

"""Replies to the customer: compose, preview, send, and the supervisor's approval.

The reply editor (case page) and the REST API (``/api/v1/caseaction/<case>/reply`` …) call
these functions. A reply is rendered once when it is written (a broken header, footer or
signature fails before anything is stored), written to the outbox in the same transaction as
the outbound message, and moves the case only through the case actions' steps
(``app.cases.actions``: start work, await approval, answered, sent back).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_, select

from app.agents import services as agents
from app.answering import rendering, richtext
from app.answering.documents import check_upload_size, library_attachment
from app.answering.models import Reply, ReplyAttachment, ReplyStatus, ResponseTemplate
from app.answering.portal import portal_link
from app.answering.templates import render_notice, render_template_for
from app.audit.actor import current_actor
from app.audit.tracking import record_event
from app.cases import actions as case_actions
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus
from app.core.inputs import parse_id
from app.core.timeutil import utcnow
from app.errors import AccessDenied, Conflict, DeskError, Forbidden
from app.extensions import db
from app.mail import store
from app.mail.models import Attachment
from app.mailcore.identity import plus_address
from app.organisation.models import NotificationMode
from app.outbox import services as outbox
from app.outbox.models import OutboxMail, OutboxStatus
from app.questionnaires import services as questionnaires
from app.questionnaires.models import Moment
from app.security import rules
from app.security.roles import ADMIN, role_names, user_may

REPLY_MAX = 100_000


class AttachNotAllowed(Forbidden):
    """The agent may not attach files from his desktop (``AgentProfile.may_attach_files``)."""


@dataclass
class Upload:
    """An ad-hoc file from the agent's desktop."""

    filename: str
    content_type: str
    data: bytes


def _event(case: Case, action: str, **details) -> None:
    record_event(
        db.session,
        case,
        action,
        details={k: v for k, v in details.items() if v is not None} or None,
    )


def _acting(permission: str):
    """The acting person, if his role may do ``permission`` on the case actions."""
    actor = current_actor()
    if actor is None:
        raise Forbidden("Only a person can do this.")
    if not user_may(actor, f"can_{permission}", case_actions.CASE_ACTION):
        raise Forbidden(
            "Your role may not reply to customers."
            if permission == "reply"
            else "Your role may not decide on replies."
        )
    return actor


def may_attach_files(user) -> bool:
    if ADMIN in role_names(user):
        return True
    profile = agents.profile_of(user)
    return bool(profile and profile.may_attach_files)


def _upload_attachment(upload: Upload) -> ReplyAttachment:
    check_upload_size(upload.filename, upload.data)
    return ReplyAttachment(
        source="upload",
        filename=rendering.safe_filename(upload.filename),
        content_type=upload.content_type or "application/octet-stream",
        size=len(upload.data),
        sha256=rendering.sha256(upload.data),
        content=upload.data,
    )


@dataclass
class Written:
    """What a reply says: the template it started from, its subject, its plain text and (when
    formatted in the editor) its sanitised HTML."""

    template: ResponseTemplate | None
    subject: str | None
    text: str
    html: str | None


def _reply_text(case: Case, text, template_id, body_html=None) -> Written:
    """The reply's body from the editor's HTML (sanitised, its text derived), else from the
    plain text; a template fills an empty reply."""
    if text is not None and not isinstance(text, str):
        raise DeskError("'text' must be text.")
    # A browser's textarea sends CRLF line ends: the mail's paragraphs need plain newlines.
    template, subject, body = None, None, (text or "").replace("\r\n", "\n").strip()
    html: str | None = None
    if body_html not in (None, ""):
        editor = richtext.reply_body(body_html)
        if editor is not None:
            body, html = editor.text, editor.html
    if len(body) > REPLY_MAX:
        raise DeskError(f"A reply is limited to {REPLY_MAX} characters.")
    if template_id not in (None, "", 0, "0"):
        template_id = parse_id(template_id, field="template_id")
        template, subject, rendered = render_template_for(case, template_id)
        if not body:
            body, html = rendered.strip(), None
    if not body:
        raise DeskError("A reply needs some text (or a template).")
    return Written(template, subject or None, body, html)


def preview(
    case: Case,
    *,
    text=None,
    template_id=None,
    language: str | None = None,
    body_html=None,
) -> rendering.ComposedMail:
    """The exact mail the customer would get: header, body, footer, signature."""
    _acting("reply")
    case_actions.ensure_open(case)
    written = _reply_text(case, text, template_id, body_html)
    return rendering.compose(
        case,
        written.text,
        agent=current_actor(),
        language=language,
        subject=written.subject,
        extra={"case_link": portal_link(case)},
        body_html=written.html,
    )


def reply(
    case: Case,
    *,
    text=None,
    template_id=None,
    document_ids=(),
    uploads=(),
    language: str | None = None,
    answers=None,
    expected_version=None,
    body_html=None,
) -> Reply:
    """Answer the customer. Sends now, or waits for a supervisor when the agent's replies
    need approval (case → awaiting approval). The pool's questions asked on reply
    (``app.questionnaires``) are answered with it: all problems refused at once. With
    ``expected_version`` (the page's ``case_version``, the API's ``If-Match``) a case that
    changed since is refused (409).

    ``body_html`` is the editor's formatting (sanitised here; the text part is derived from
    it); ``text`` is the plain text of a reply without formatting."""
    actor = _acting("reply")
    case_actions.ensure_open(case)
    case_actions.check_version(case, expected_version)
    if case.status == CaseStatus.AWAITING_APPROVAL:
        raise Conflict(f"A reply to {case.number} is already waiting for approval.")
    customer = case.customer
    if customer is None or not customer.email:
        raise DeskError(f"{case.number} has no customer address to answer to.")
    if customer.undeliverable:
        raise DeskError(f"Mail to {customer.email} bounces permanently; fix the address first.")
    uploads = list(uploads or [])
    if uploads and not may_attach_files(actor):
        raise AttachNotAllowed(
            "You may attach documents from the library only; a supervisor can "
            "allow you to attach your own files."
        )
    if not isinstance(document_ids, (list, tuple)):
        raise DeskError("'document_ids' must be a list.")
    written = _reply_text(case, text, template_id, body_html)
    template, subject, body = written.template, written.subject, written.text
    # Checked before anything is stored; the rows join the reply's transaction.
    questionnaires.record_answers(case, Moment.REPLY, answers)
    language = (language or rendering.customer_language(case)).lower()
    attachments = [library_attachment(d) for d in dict.fromkeys(document_ids or [])]
    attachments += [_upload_attachment(u) for u in uploads]
    # Render once now: a broken header, footer or signature fails before anything is stored.
    composed = rendering.compose(
        case,
        body,
        agent=actor,
        language=language,
        subject=subject,
        extra={"case_link": portal_link(case)},
        body_html=written.html,
    )
    row = Reply(
        case=case,
        author_id=actor.id,
        template=template,
        language=language,
        recipient=customer.email,
        subject=composed.subject,
        body=body,
        body_html=written.html,
        attachments=attachments,
    )
    db.session.add(row)
    db.session.flush()
    case_actions.take_on_answer(case, actor)
    profile = agents.profile_of(actor)
    if profile is not None and profile.replies_need_approval:
        row.status = ReplyStatus.PENDING
        case_actions.await_approval(case)
        _event(case, "reply submitted for approval", reply_id=row.id)
    else:
        _deliver(row)
        _event(
            case,
            "reply sent",
            reply_id=row.id,
            template=template.name if template else None,
            formatted=True if written.html else None,
            attachments=[a.filename for a in attachments] or None,
            mode=case.pool.notification_mode,
        )
    db.session.commit()
    return row


def _thread_ids(case: Case) -> tuple[str | None, str | None]:
    ids = [
        m.message_id
        for m in case.messages
        if m.message_id and m.direction in (MessageDirection.INBOUND, MessageDirection.OUTBOUND)
    ]
    inbound = [
        m.message_id
        for m in case.messages
        if m.message_id and m.direction == MessageDirection.INBOUND
    ]
    in_reply_to = inbound[-1] if inbound else (ids[-1] if ids else None)
    references = " ".join(ids[-20:]) or None
    return in_reply_to, references


def _deliver(row: Reply) -> None:
    """Turn a reply into the outbound Message and the outbox mail (full reply or link notice)."""
    case = row.case
    composed = rendering.compose(
        case,
        row.body,
        agent=row.author,
        language=row.language,
        subject=row.subject,
        extra={"case_link": portal_link(case)},
        body_html=row.body_html,
    )
    mailbox = case.mailbox
    sender = mailbox.address if mailbox else current_app.config["MAIL_DEFAULT_SENDER"]
    in_reply_to, references = _thread_ids(case)
    files = [(a.filename, a.content_type, a.data) for a in row.attachments]
    message = Message(
        direction=MessageDirection.OUTBOUND,
        author_id=row.author_id,
        from_address=sender,
        to_addresses=row.recipient,
        subject=composed.subject,
        body_text=composed.text,
        body_html=composed.html,
        in_reply_to=in_reply_to,
        references=references,
        # The thread's attachment rows point into the content store, like received mail's.
        attachments=[
            Attachment(
                sha256=store.put_file(data), size=len(data), content_type=ctype, filename=name
            )
            for name, ctype, data in files
        ],
    )
    message.case = case
    db.session.add(message)
    db.session.flush()
    reply_to = plus_address(mailbox.address, case.id) if mailbox else None
    if case.pool.notification_mode == NotificationMode.LINK:
        subject, text = render_notice("notice.link", case)
        mail = outbox.queue_mail(
            kind="notification",
            to=row.recipient,
            subject=subject,
            text=text,
            case=case,
            mailbox=mailbox,
            in_reply_to=in_reply_to,
            references=references,
            message=message,
            reply_to=reply_to,
        )
    else:
        mail = outbox.queue_mail(
            kind="reply",
            to=row.recipient,
            subject=composed.subject,
            text=composed.text,
            html=composed.html,
            case=case,
            mailbox=mailbox,
            attachments=files,
            inline_images=composed.inline_images,
            in_reply_to=in_reply_to,
            references=references,
            message=message,
            reply_to=reply_to,
        )
    message.message_id = mail.message_id
    row.message = message
    row.status = ReplyStatus.SENT
    case_actions.record_answer(case)


def outbox_mails_of(rows) -> dict[int, OutboxMail]:
    """The outbox mail of each sent reply, by the id of the reply's outbound message."""
    ids = [r.message_row_id for r in rows if r.message_row_id]
    if not ids:
        return {}
    found = db.session.scalars(select(OutboxMail).where(OutboxMail.message_row_id.in_(ids)))
    return {m.message_row_id: m for m in found}


def delivery_status(row: Reply, mails: dict[int, OutboxMail] | None = None) -> str:
    """Where a reply stands, as the API tells it: ``pending_approval`` or ``rejected`` on the
    desk's side, else its outbox mail's status: ``queued`` until the relay accepted the mail,
    then ``sent`` (or ``failed``, ``suppressed``)."""
    if row.status != ReplyStatus.SENT:
        return str(row.status)
    mails = outbox_mails_of([row]) if mails is None else mails
    mail = mails.get(row.message_row_id)
    return str(mail.status) if mail is not None else OutboxStatus.QUEUED.value


def pending_reply(case: Case) -> Reply | None:
    return db.session.scalars(
        select(Reply)
        .where(Reply.case_id == case.id, Reply.status == ReplyStatus.PENDING)
        .order_by(Reply.id.desc())
    ).first()


def pending_and_recent(case: Case, recent: int = 5) -> tuple[Reply | None, list[Reply]]:
    """``pending_reply`` and the case's ``recent`` newest replies, newest first, read with
    one statement (the case page shows both)."""
    newest = (
        select(Reply.id)
        .where(Reply.case_id == case.id)
        .order_by(Reply.id.desc())
        .limit(recent)
        .scalar_subquery()
    )
    rows = db.session.scalars(
        select(Reply)
        .where(
            Reply.case_id == case.id,
            or_(Reply.id.in_(newest), Reply.status == ReplyStatus.PENDING),
        )
        .order_by(Reply.id.desc())
    ).all()
    pending = next((r for r in rows if r.status == ReplyStatus.PENDING), None)
    return pending, list(rows[:recent])


def may_approve(case: Case, user=None) -> bool:
    """Only a supervisor of the case's pool (or an admin) decides on its waiting replies."""
    user = current_actor() if user is None else user
    return user_may(user, "can_approve", case_actions.CASE_ACTION) and agents.supervises(
        case.pool_id, user
    )


def _pending(reply_row: Reply | None) -> Reply:
    if reply_row is None:
        raise AccessDenied("No such reply.")
    rules.ensure_visible(reply_row.case)
    if not may_approve(reply_row.case):
        raise Forbidden("Only a supervisor of this pool (or an admin) may decide on replies.")
    if reply_row.status != ReplyStatus.PENDING:
        raise Conflict(f"This reply is not waiting for approval (it is {reply_row.status}).")
    return reply_row


def approve_reply(reply_row: Reply, note=None, *, expected_version=None) -> Reply:
    """A supervisor lets a waiting reply go out: only now is it queued. With
    ``expected_version`` (the page's ``case_version``, the API's ``If-Match``) a case that
    changed since the supervisor read it is refused (``CaseChanged``, 409): he approves the
    reply he saw, not one the agent may have replaced meanwhile."""
    actor = _acting("approve")
    _pending(reply_row)
    case_actions.check_version(reply_row.case, expected_version)
    if note is not None and not isinstance(note, str):
        raise DeskError("'note' must be text.")
    reply_row.decided_by_id, reply_row.decided_at = actor.id, utcnow()
    reply_row.decision_note = (note or "").strip()[:1000] or None
    _deliver(reply_row)
    _event(reply_row.case, "reply approved", reply_id=reply_row.id, note=reply_row.decision_note)
    db.session.commit()
    return reply_row


def reject_reply(reply_row: Reply, reason, *, expected_version=None) -> Reply:
    """A supervisor sends a waiting reply back to the agent; nothing goes to the customer.
    ``expected_version`` as for ``approve_reply``."""
    actor = _acting("approve")
    _pending(reply_row)
    case_actions.check_version(reply_row.case, expected_version)
    if not isinstance(reason, str) or not reason.strip():
        raise DeskError("Say why the reply is rejected, so the agent can fix it.")
    reason = reason.strip()[:1000]
    reply_row.status = ReplyStatus.REJECTED
    reply_row.decided_by_id, reply_row.decided_at = actor.id, utcnow()
    reply_row.decision_note = reason
    case_actions.send_back(reply_row.case)
    _event(reply_row.case, "reply rejected", reply_id=reply_row.id, reason=reason)
    db.session.commit()
    return reply_row

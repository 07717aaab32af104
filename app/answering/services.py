"""The agent's case actions and the answering configuration, as services.

The case page (forms), the REST API (``/api/v1/caseaction/...``), the CLI and jobs all call
these functions. Each one checks the record rules for the acting user, changes the case only
through the state machine, leaves an Event, writes any mail to the outbox in the same
transaction (``app.outbox.services.queue_mail``) and commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from app.agents import services as agents
from app.answering import rendering
from app.answering.models import (
    AgentSignature,
    Document,
    DocumentVersion,
    Reply,
    ReplyAttachment,
    ReplyStatus,
    ResponseTemplate,
)
from app.audit.actor import acting_as, current_actor
from app.audit.tracking import _record
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus, transition
from app.core.timeutil import utcnow
from app.errors import AccessDenied, DeskError
from app.extensions import db
from app.outbox import services as outbox
from app.security import rules
from app.security.roles import ADMIN, role_names

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
NOTIFICATION_MODES = ("full", "link")

# The desk's own notices; a supervisor overrides them (per language, pool, topic) with a
# response template of the same name.
DEFAULT_NOTICES = {
    "notice.link": (
        "Your case {{ case_number }} has a new answer",
        "Dear {{ customer_name }},\n\nyour case {{ case_number }} has a new answer.\n"
        "Read it here:\n{{ case_link }}\n\n{{ desk_name }}",
    ),
    "notice.postponed": (
        "Your case {{ case_number }} is on hold until {{ postponed_until }}",
        "Dear {{ customer_name }},\n\nwe are waiting for something we need to answer your "
        "case {{ case_number }} ({{ case_subject }}). We will come back to you on "
        "{{ postponed_until }} (UTC).\n\n{{ desk_name }}",
    ),
    "notice.confirmation": (
        "We received your request: {{ case_number }}",
        "Dear {{ customer_name }},\n\nwe have opened case {{ case_number }} for your request "
        '"{{ case_subject }}". You can expect an answer by {{ due_date }} (UTC).\n'
        "Please keep the case number in the subject when you write to us.\n\n{{ desk_name }}",
    ),
}


class AttachNotAllowed(DeskError):
    """The agent may not attach files from his desktop (``AgentProfile.may_attach_files``)."""

    status_code = 403


def _event(case: Case, action: str, **details) -> None:
    """An explicit Event for an action (status and tracked fields record themselves)."""
    _record(
        db.session,
        case,
        action,
        details={k: v for k, v in details.items() if v is not None} or None,
    )


def _actor():
    actor = current_actor()
    if actor is None:
        raise DeskError("Only a person can do this.")
    return actor


def _visible_case(case: Case) -> Case:
    return rules.ensure_visible(case)


def _open_case(case: Case) -> Case:
    _visible_case(case)
    if case.status == CaseStatus.CLOSED:
        raise DeskError(f"{case.number} is closed; reopen it first.")
    return case


def _profile(user):
    from app.agents.models import AgentProfile

    if user is None:
        return None
    return db.session.scalars(select(AgentProfile).where(AgentProfile.user_id == user.id)).first()


def _start_work(case: Case, reason: str) -> None:
    if case.status == CaseStatus.RECEIVED:
        transition(case, CaseStatus.IN_PROGRESS.value, reason=reason)


# --- templates ---------------------------------------------------------------------------------


def templates_for(case: Case) -> list[ResponseTemplate]:
    """Canned responses offered on a case: one entry per name, in the customer's language."""
    rows = db.session.scalars(
        rules.visible(select(ResponseTemplate), ResponseTemplate)
        .where(ResponseTemplate.active.is_(True), ~ResponseTemplate.name.startswith("notice."))
        .order_by(ResponseTemplate.name)
    ).all()
    picked = {}
    for name in dict.fromkeys(r.name for r in rows):
        best = rendering.pick_template(name, case)
        if best is not None:
            picked[name] = best
    return list(picked.values())


def render_template_for(
    case: Case, template_id: int, language: str | None = None
) -> tuple[ResponseTemplate, str, str]:
    """(template version used, subject, body) of a canned response for this case: what the
    agent starts from before editing."""
    _visible_case(case)
    template = db.session.get(ResponseTemplate, template_id)
    if template is None or not rules.is_visible(template) or not template.active:
        raise AccessDenied("No such template, or it is not offered in your pools.")
    version = rendering.language_version(template, case, language)
    context = rendering.placeholder_context(case, current_actor(), case_link=portal_link(case))
    subject = rendering.render_text(version.subject, context, what=f"template {version.name}")
    body = rendering.render_text(version.body, context, what=f"template {version.name}")
    return version, subject, body


def _notice(name: str, case: Case, **extra) -> tuple[str, str]:
    """Subject and text of one of the desk's notices, in the customer's language."""
    context = rendering.placeholder_context(case, None, case_link=portal_link(case), **extra)
    template = rendering.pick_template(name, case)
    subject_src, body_src = DEFAULT_NOTICES[name]
    if template is not None:
        subject_src, body_src = template.subject or subject_src, template.body
    from app.mail.identity import tag_subject

    subject = rendering.render_text(subject_src, context, what=name)
    return tag_subject(subject, case.number), rendering.render_text(body_src, context, what=name)


# --- the portal link ---------------------------------------------------------------------------

PORTAL_CASE_PATH = "/portal/case/"


def _portal_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="loopdesk-portal-case")


def portal_token(case: Case) -> str:
    return _portal_serializer().dumps({"case": case.id})


def case_from_portal_token(token: str) -> Case | None:
    """The case a signed portal token names, or None for a forged or damaged token."""
    try:
        data = _portal_serializer().loads(token)
    except BadSignature:
        return None
    case_id = data.get("case") if isinstance(data, dict) else None
    return db.session.get(Case, case_id) if isinstance(case_id, int) else None


def portal_link(case: Case) -> str:
    """Absolute link to the case in the customer portal (``DESK_BASE_URL`` outside requests)."""
    token = portal_token(case)
    base = current_app.config.get("DESK_BASE_URL")
    if base:
        return base.rstrip("/") + PORTAL_CASE_PATH + token
    if has_request_context():
        return url_for("answering_portal.case", token=token, _external=True)
    return "http://localhost:5000" + PORTAL_CASE_PATH + token


def portal_thread(case: Case) -> list[Message]:
    """What the customer sees: mail in and out, never internal notes or consultations."""
    return list(
        db.session.scalars(
            select(Message)
            .where(
                Message.case_id == case.id,
                Message.direction.in_((MessageDirection.INBOUND, MessageDirection.OUTBOUND)),
            )
            .order_by(Message.created_at, Message.id)
        )
    )


# --- reply ---------------------------------------------------------------------------------------


@dataclass
class Upload:
    """An ad-hoc file from the agent's desktop."""

    filename: str
    content_type: str
    data: bytes


def may_attach_files(user) -> bool:
    if ADMIN in role_names(user):
        return True
    profile = _profile(user)
    return bool(profile and profile.may_attach_files)


def documents_for(case: Case | None = None) -> list[Document]:
    """Library documents the acting user may attach (active, with at least one version)."""
    return [
        d
        for d in db.session.scalars(
            rules.visible(select(Document), Document)
            .where(Document.active.is_(True))
            .order_by(Document.name)
        )
        if d.current_version is not None
    ]


def _library_attachment(document_id) -> ReplyAttachment:
    try:
        document = db.session.get(Document, int(document_id))
    except (TypeError, ValueError):
        document = None
    if document is None or not rules.is_visible(document) or not document.active:
        raise AccessDenied(f"No such document #{document_id} in the library of your pools.")
    version = document.current_version
    if version is None:
        raise DeskError(f"Document {document.name} has no file yet.")
    return ReplyAttachment(
        source="library",
        document_version=version,
        filename=version.filename,
        content_type=version.content_type,
        size=version.size,
        sha256=version.sha256,
    )


def _upload_attachment(upload: Upload) -> ReplyAttachment:
    if not upload.data:
        raise DeskError(f"The file {upload.filename!r} is empty.")
    if len(upload.data) > MAX_UPLOAD_BYTES:
        raise DeskError(
            f"The file {upload.filename!r} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
        )
    return ReplyAttachment(
        source="upload",
        filename=rendering.safe_filename(upload.filename),
        content_type=upload.content_type or "application/octet-stream",
        size=len(upload.data),
        sha256=rendering.sha256(upload.data),
        content=upload.data,
    )


def _reply_text(
    case: Case, text: str | None, template_id
) -> tuple[ResponseTemplate | None, str | None, str]:
    template, subject, body = None, None, (text or "").strip()
    if template_id not in (None, "", 0, "0"):
        try:
            template_id = int(template_id)
        except (TypeError, ValueError):
            raise DeskError("'template_id' must be a number.") from None
        template, subject, rendered = render_template_for(case, template_id)
        body = body or rendered.strip()
    if not body:
        raise DeskError("A reply needs some text (or a template).")
    return template, subject or None, body


def preview(
    case: Case, *, text: str | None = None, template_id=None, language: str | None = None
) -> rendering.ComposedMail:
    """The exact mail the customer would get: header, body, footer, signature."""
    _open_case(case)
    _template, subject, body = _reply_text(case, text, template_id)
    return rendering.compose(
        case,
        body,
        agent=current_actor(),
        language=language,
        subject=subject,
        extra={"case_link": portal_link(case)},
    )


def reply(
    case: Case,
    *,
    text: str | None = None,
    template_id=None,
    document_ids=(),
    uploads=(),
    language: str | None = None,
) -> Reply:
    """Answer the customer. Sends now, or waits for a supervisor when the agent's replies
    need approval (case → awaiting approval)."""
    actor = _actor()
    _open_case(case)
    if case.status == CaseStatus.AWAITING_APPROVAL:
        raise DeskError(f"A reply to {case.number} is already waiting for approval.")
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
    template, subject, body = _reply_text(case, text, template_id)
    language = (language or rendering.customer_language(case)).lower()
    attachments = [_library_attachment(d) for d in dict.fromkeys(document_ids or [])]
    attachments += [_upload_attachment(u) for u in uploads]
    # Render once now: a broken header, footer or signature fails before anything is stored.
    composed = rendering.compose(
        case,
        body,
        agent=actor,
        language=language,
        subject=subject,
        extra={"case_link": portal_link(case)},
    )
    row = Reply(
        case=case,
        author_id=actor.id,
        template=template,
        language=language,
        recipient=customer.email,
        subject=composed.subject,
        body=body,
        attachments=attachments,
    )
    db.session.add(row)
    db.session.flush()
    profile = _profile(actor)
    if profile is not None and profile.replies_need_approval:
        row.status = ReplyStatus.PENDING
        _start_work(case, "reply written")
        transition(case, CaseStatus.AWAITING_APPROVAL.value, reason="reply needs approval")
        _event(case, "reply submitted for approval", reply_id=row.id)
    else:
        _deliver(row)
        _event(
            case,
            "reply sent",
            reply_id=row.id,
            template=template.name if template else None,
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
    from app.mail.identity import plus_address

    case = row.case
    composed = rendering.compose(
        case,
        row.body,
        agent=row.author,
        language=row.language,
        subject=row.subject,
        extra={"case_link": portal_link(case)},
    )
    mailbox = case.mailbox
    sender = mailbox.address if mailbox else current_app.config["MAIL_DEFAULT_SENDER"]
    in_reply_to, references = _thread_ids(case)
    from app.mail import store
    from app.mail.models import Attachment

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
    db.session.add(message)
    message.case = case
    db.session.add(message)
    db.session.flush()
    reply_to = plus_address(mailbox.address, case.id) if mailbox else None
    if (case.pool.notification_mode or "full") == "link":
        subject, text = _notice("notice.link", case)
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
    if case.first_response_at is None:
        case.first_response_at = utcnow()
    _start_work(case, "answered")
    if case.status == CaseStatus.AWAITING_APPROVAL:
        transition(case, CaseStatus.IN_PROGRESS.value, reason="reply approved")


def pending_reply(case: Case) -> Reply | None:
    return db.session.scalars(
        select(Reply)
        .where(Reply.case_id == case.id, Reply.status == ReplyStatus.PENDING)
        .order_by(Reply.id.desc())
    ).first()


def may_approve(case: Case, user=None) -> bool:
    user = current_actor() if user is None else user
    return case.pool_id in agents.supervised_pool_ids(user)


def _pending(reply_row: Reply) -> Reply:
    if reply_row is None:
        raise AccessDenied("No such reply.")
    _visible_case(reply_row.case)
    if not may_approve(reply_row.case):
        raise AccessDenied("Only a supervisor of this pool (or an admin) may decide on replies.")
    if reply_row.status != ReplyStatus.PENDING:
        raise DeskError(f"This reply is not waiting for approval (it is {reply_row.status}).")
    return reply_row


def approve_reply(reply_row: Reply, note: str | None = None) -> Reply:
    """A supervisor lets a waiting reply go out: only now is it queued."""
    actor = _actor()
    _pending(reply_row)
    reply_row.decided_by_id, reply_row.decided_at = actor.id, utcnow()
    reply_row.decision_note = (note or "").strip() or None
    _deliver(reply_row)
    _event(reply_row.case, "reply approved", reply_id=reply_row.id, note=reply_row.decision_note)
    db.session.commit()
    return reply_row


def reject_reply(reply_row: Reply, reason: str) -> Reply:
    """A supervisor sends a waiting reply back to the agent; nothing goes to the customer."""
    actor = _actor()
    _pending(reply_row)
    if not (reason or "").strip():
        raise DeskError("Say why the reply is rejected, so the agent can fix it.")
    reply_row.status = ReplyStatus.REJECTED
    reply_row.decided_by_id, reply_row.decided_at = actor.id, utcnow()
    reply_row.decision_note = reason.strip()
    transition(reply_row.case, CaseStatus.IN_PROGRESS.value, reason="reply rejected")
    _event(reply_row.case, "reply rejected", reply_id=reply_row.id, reason=reason.strip())
    db.session.commit()
    return reply_row


# --- note, forward, postpone, close, reopen ------------------------------------------------------


def add_note(case: Case, text: str) -> Message:
    """An internal note (never sent to the customer), with its Event."""
    actor = _actor()
    _visible_case(case)
    if not (text or "").strip():
        raise DeskError("A note needs some text.")
    note = Message(
        case=case,
        direction=MessageDirection.NOTE,
        author_id=actor.id,
        body_text=text.strip(),
        subject=case.subject,
    )
    db.session.add(note)
    db.session.flush()
    _event(case, "note added", message_id=note.id)
    db.session.commit()
    return note


def _member_of_pool(user_id: int, pool_id: int) -> bool:
    from app.agents.models import AgentProfile, PoolMembership

    return (
        db.session.execute(
            select(PoolMembership.id)
            .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
            .where(AgentProfile.user_id == user_id, PoolMembership.pool_id == pool_id)
        ).first()
        is not None
    )


def forward(case: Case, *, note: str, assignee_id=None, pool_id=None) -> Case:
    """Hand a case to a colleague and/or another pool, with a note saying why."""
    from flask_appbuilder.security.sqla.models import User

    from app.organisation.models import Pool

    actor = _actor()
    _open_case(case)
    if not (note or "").strip():
        raise DeskError("Say in a note why you forward the case.")
    if assignee_id in (None, "") and pool_id in (None, ""):
        raise DeskError("Pick a colleague or a pool to forward to.")
    try:
        pool_id = int(pool_id) if pool_id not in (None, "") else None
        assignee_id = int(assignee_id) if assignee_id not in (None, "") else None
    except (TypeError, ValueError):
        raise DeskError("Colleague and pool must be given by their id.") from None
    old_pool, old_assignee = case.pool, case.assignee
    target_pool = case.pool
    if pool_id is not None:
        target_pool = db.session.get(Pool, pool_id)
        if target_pool is None or not target_pool.active:
            raise DeskError(f"No active pool #{pool_id}.")
    assignee = None
    if assignee_id is not None:
        assignee = db.session.get(User, assignee_id)
        if assignee is None or not assignee.active:
            raise DeskError(f"No active colleague #{assignee_id}.")
        if not _member_of_pool(assignee.id, target_pool.id):
            raise DeskError(f"{assignee.username} does not work in pool {target_pool.name}.")
    if target_pool.id != case.pool_id:
        case.pool = target_pool
        if (
            assignee is None
            and case.assignee_id is not None
            and not _member_of_pool(case.assignee_id, target_pool.id)
        ):
            case.assignee = None
    if assignee is not None:
        case.assignee = assignee
    if case.pool is old_pool and case.assignee is old_assignee:
        raise DeskError("The case is already there.")
    to = ", ".join(
        x
        for x in (assignee.username if assignee else None, target_pool.name if pool_id else None)
        if x
    )
    db.session.add(
        Message(
            case=case,
            direction=MessageDirection.NOTE,
            author_id=actor.id,
            subject=case.subject,
            body_text=f"Forwarded to {to}: {note.strip()}",
        )
    )
    _event(
        case,
        "forwarded",
        to_pool=target_pool.name if pool_id else None,
        to_user=assignee.username if assignee else None,
        note=note.strip(),
    )
    db.session.commit()
    return case


def postpone(
    case: Case, until: datetime, *, reason: str | None = None, notify: bool = True
) -> Case:
    """Put a case on hold until ``until`` and tell the customer; a job brings it back."""
    _actor()
    _open_case(case)
    if until <= utcnow():
        raise DeskError("A case can only be postponed to a time in the future.")
    transition(case, CaseStatus.POSTPONED.value, reason=reason)
    case.postponed_until = until
    mail_id = None
    if notify and case.customer is not None and case.customer.email:
        subject, text = _notice("notice.postponed", case)
        mail = outbox.queue_mail(
            kind="notification",
            to=case.customer.email,
            subject=subject,
            text=text,
            case=case,
            mailbox=case.mailbox,
            automatic=True,
        )
        db.session.flush()
        mail_id = mail.id
    _event(
        case,
        "postponed",
        until=until.isoformat(sep=" ", timespec="minutes"),
        reason=reason,
        notice_outbox_id=mail_id,
    )
    db.session.commit()
    return case


def return_postponed_cases(now: datetime | None = None) -> list[str]:
    """Move every postponed case whose date has come back to 'in progress' (job)."""
    now = now or utcnow()
    with acting_as(None):
        due = db.session.scalars(
            select(Case)
            .where(Case.status == CaseStatus.POSTPONED.value, Case.postponed_until <= now)
            .order_by(Case.postponed_until)
        ).all()
        for case in due:
            transition(case, CaseStatus.IN_PROGRESS.value, reason="postponement ended")
        db.session.commit()
    return [c.number for c in due]


def wrap_up_questions(pool) -> list[tuple[str, bool]]:
    """(question, required) pairs of the pool's wrap-up questionnaire."""
    questions = []
    for line in (getattr(pool, "wrap_up_questions", None) or "").splitlines():
        line = line.strip()
        if not line:
            continue
        required = line.startswith("*")
        questions.append((line.lstrip("*").strip(), required))
    return questions


def close(case: Case, *, answers: dict | None = None, reason: str | None = None) -> Case:
    """Close a case; with a wrap-up questionnaire, its required answers first."""
    _actor()
    _open_case(case)
    questions = wrap_up_questions(case.pool)
    answers = {
        str(k).strip(): ("" if v is None else str(v).strip()) for k, v in (answers or {}).items()
    }
    known = {q for q, _ in questions}
    unknown = [k for k in answers if k not in known]
    if unknown:
        raise DeskError(f"Unknown wrap-up question(s): {', '.join(unknown)}.")
    missing = [q for q, required in questions if required and not answers.get(q)]
    if missing:
        raise DeskError("Answer the wrap-up questions before closing: " + "; ".join(missing))
    if questions:
        _event(case, "wrap_up", answers={q: answers.get(q, "") for q, _ in questions})
    transition(case, CaseStatus.CLOSED.value, reason=reason)
    db.session.commit()
    return case


def reopen(case: Case, *, reason: str | None = None) -> Case:
    _actor()
    _visible_case(case)
    if case.status != CaseStatus.CLOSED:
        raise DeskError(f"{case.number} is not closed.")
    transition(case, CaseStatus.IN_PROGRESS.value, reason=reason or "reopened")
    db.session.commit()
    return case


# --- cases opened by an agent --------------------------------------------------------------------


def open_case_for_customer(
    *,
    pool_id,
    subject: str,
    customer_email: str,
    customer_name: str | None = None,
    language: str | None = None,
    text: str | None = None,
    topic_id=None,
) -> Case:
    """Open a case on a customer's behalf (phone, counter) and confirm it to him by mail
    with the case number and the expected answer time."""
    from app.cases import services as case_services
    from app.customers.models import Customer
    from app.mail.models import Mailbox
    from app.organisation.models import Pool, Topic

    actor = _actor()
    try:
        pool = db.session.get(Pool, int(pool_id))
    except (TypeError, ValueError):
        pool = None
    if pool is None or not rules.is_visible(pool):
        raise AccessDenied("No such pool among yours.")
    email = (customer_email or "").strip().lower()
    if "@" not in email or " " in email:
        raise DeskError("Give the customer's e-mail address.")
    if not (subject or "").strip():
        raise DeskError("A case needs a subject.")
    topic = db.session.get(Topic, int(topic_id)) if topic_id not in (None, "") else None
    customer = db.session.scalars(select(Customer).where(Customer.email == email)).first()
    if customer is None:
        customer = Customer(
            email=email,
            name=(customer_name or "").strip() or None,
            language=(language or rendering.desk_language()).lower(),
        )
        db.session.add(customer)
    mailbox = db.session.scalars(
        select(Mailbox)
        .where(Mailbox.pool_id == pool.id, Mailbox.active.is_(True))
        .order_by(Mailbox.id)
    ).first()
    case = case_services.open_case(
        pool=pool,
        subject=subject.strip(),
        customer=customer,
        mailbox=mailbox,
        topic=topic,
        commit=False,
    )
    db.session.flush()
    if (text or "").strip():
        db.session.add(
            Message(
                case=case,
                direction=MessageDirection.NOTE,
                author_id=actor.id,
                subject=case.subject,
                body_text=f"Opened by {actor.username}: {text.strip()}",
            )
        )
    subject_line, body = _notice("notice.confirmation", case)
    mail = outbox.queue_mail(
        kind="confirmation",
        to=customer.email,
        subject=subject_line,
        text=body,
        case=case,
        mailbox=mailbox,
        automatic=True,
    )
    db.session.flush()
    _event(case, "opened by agent", confirmation_outbox_id=mail.id)
    db.session.commit()
    return case


# --- configuration services ------------------------------------------------------------------------


def add_document_version(
    document: Document, *, filename: str, content_type: str | None, data: bytes
) -> DocumentVersion:
    """Upload a new version of a library document; earlier versions stay (replies used them)."""
    actor = current_actor()
    if document.pool_id is not None:
        agents.ensure_can_configure_pool(document.pool_id)
    elif not (agents.supervised_pool_ids(actor) or ADMIN in role_names(actor)):
        raise AccessDenied("Only supervisors and admins maintain the document library.")
    if not data:
        raise DeskError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DeskError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    number = (document.current_version.version if document.current_version else 0) + 1
    version = DocumentVersion(
        document=document,
        version=number,
        filename=rendering.safe_filename(filename),
        content_type=content_type or "application/octet-stream",
        size=len(data),
        sha256=rendering.sha256(data),
        content=data,
        uploaded_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    db.session.commit()
    return version


def set_signature_image(signature: AgentSignature, data: bytes | None) -> AgentSignature:
    """Validate and store an agent's signature image (JPEG or PNG of sane size)."""
    if data:
        signature.image_content_type = rendering.validate_signature_image(data)
        signature.image = data
        signature.image_sha256 = rendering.sha256(data)
    return signature

"""Queue mail for delivery, and give failed mail another chance.

    queue_mail(*, kind, to, subject, text, case=None, mailbox=None, html=None, cc=(),
               attachments=(), inline_images=(), in_reply_to=None, references=None,
               automatic=False, message=None, reply_to=None,
               auto_submitted=None, headers=None) -> OutboxMail

``queue_mail`` adds the OutboxMail row to the current session and does NOT commit: the caller
commits it together with the change that caused it (transactional outbox). ``attachments`` and
``inline_images`` are ``(filename, content_type, bytes)`` / ``(content_id, content_type,
bytes)`` tuples. ``automatic=True`` marks auto-responses and notifications: hygiene rules
(``app.outbox.limits.may_send_automatic``) may suppress them, and they carry Auto-Submitted
(``auto-replied`` for kind ``auto_response``, else ``auto-generated``); auto-responses leave
with the null envelope sender ``<>``.

The complete message is built here, once, and stored in ``OutboxMail.content``; delivery only
hands those bytes to SMTP, so every retry sends the very same Message-ID. A case opened in the
same transaction has no id yet: its mail gets its signed Message-ID, plus-address and body
marker in a flush hook, right after the flush that gives the case its id, still inside the
caller's transaction (nobody ever sees the placeholder).
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime
from email.headerregistry import Address

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.audit.actor import actor_label, current_actor
from app.audit.models import Event
from app.audit.tracking import record_event
from app.cases.models import MessageDirection
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db
from app.jobs.queue import enqueue
from app.mailcore import identity
from app.outbox.compose import (
    AUTO_GENERATED,
    AUTO_REPLIED,
    InvalidMail,
    MailParts,
    bracket,
    parse_addresses,
    references_after,
    render,
)
from app.outbox.limits import limiter as auto_mail_limiter
from app.outbox.limits import may_send_automatic
from app.outbox.models import OutboxMail, OutboxStatus
from app.outbox.settings import setting
from app.outbox.tasks import deliver_outbox
from app.security import rules

log = logging.getLogger(__name__)

_PENDING = "loopdesk_outbox_pending"  # session.info: rows waiting for their case id
_WAKEUP = "loopdesk_outbox_wakeup"  # session.info: enqueue a delivery after commit


def queue_mail(
    *,
    kind: str,
    to: str,
    subject: str,
    text: str,
    case=None,
    mailbox=None,
    html: str | None = None,
    cc=(),
    attachments=(),
    inline_images=(),
    in_reply_to: str | None = None,
    references: str | None = None,
    automatic: bool = False,
    message=None,
    reply_to: str | None = None,
    auto_submitted: str | None = None,
    headers: dict | None = None,
) -> OutboxMail:
    """Write the outbox row of one mail into the current transaction (no commit).

    Raises ``InvalidMail`` (a DeskError) when the mail cannot be built, e.g. no valid
    recipient, so the caller's change is not committed with a mail that can never leave.
    """
    with db.session.no_autoflush:  # building the row never flushes the caller's changes
        row, parts = _new_row(
            kind=kind,
            to=to,
            subject=subject,
            text=text,
            case=case,
            mailbox=mailbox,
            html=html,
            cc=cc,
            attachments=attachments,
            inline_images=inline_images,
            in_reply_to=in_reply_to,
            references=references,
            automatic=automatic,
            message=message,
            reply_to=reply_to,
            auto_submitted=auto_submitted,
            headers=headers,
        )
    if automatic:
        allowed, reason = may_send_automatic(row.recipient, case=case, kind=kind)
        if not allowed:
            row.status, row.last_error = OutboxStatus.SUPPRESSED, reason or "suppressed"
    if row.status != OutboxStatus.SUPPRESSED:
        auto_mail_limiter().record(row.recipient, kind)  # counts toward the loop limits
    if case is not None and case.id is None:
        # The case is new in this transaction: finish the message once the flush gave it an id.
        row.message_id = f"<pending.{secrets.token_hex(12)}@{identity.mail_domain()}>"
        db.session.info.setdefault(_PENDING, []).append((row, parts))
        db.session.add(row)
    else:
        with db.session.no_autoflush:
            _finish(row, parts, case)
        db.session.add(row)
    if row.status == OutboxStatus.SUPPRESSED:
        _record_suppressed(row)
    else:
        db.session.info[_WAKEUP] = True
    return row


def _new_row(
    *,
    kind,
    to,
    subject,
    text,
    case,
    mailbox,
    html,
    cc,
    attachments,
    inline_images,
    in_reply_to,
    references,
    automatic,
    message,
    reply_to,
    auto_submitted,
    headers,
):
    """The OutboxMail row and the parts of its message (not yet built)."""
    if mailbox is None and case is not None:
        mailbox = case.mailbox
    to_addresses = parse_addresses(to, "To")
    cc_addresses = parse_addresses(cc, "Cc")
    if not to_addresses:
        raise InvalidMail("A mail needs a recipient.")
    sender_address = (
        mailbox.address if mailbox is not None else (current_app.config["MAIL_DEFAULT_SENDER"])
    )
    sender_name = (
        (getattr(mailbox, "sender_name", None) or getattr(mailbox, "display_name", None) or "")
        if mailbox is not None
        else ""
    )
    sender = Address(
        display_name=sender_name.strip(),
        addr_spec=parse_addresses(sender_address, "From")[0].addr_spec,
    )
    if automatic and auto_submitted is None:
        auto_submitted = AUTO_REPLIED if kind == "auto_response" else AUTO_GENERATED
    if in_reply_to is None and case is not None:
        in_reply_to, parent_refs = _thread_parent(case)
        if references is None and in_reply_to:
            references = references_after(parent_refs, in_reply_to)
    elif in_reply_to and references is None:
        references = bracket(in_reply_to)

    envelope = [a.addr_spec for a in to_addresses + cc_addresses]
    row = OutboxMail(
        kind=kind,
        case=case,
        mailbox=mailbox,
        message=message,
        sender=sender.addr_spec,
        recipient=to_addresses[0].addr_spec.lower(),
        recipients=", ".join(envelope),
        subject=(subject or "")[:998],
        status=OutboxStatus.QUEUED,
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
        envelope_from="" if auto_submitted == AUTO_REPLIED else None,
    )
    parts = MailParts(
        kind=kind,
        message_id="",
        sender=sender,
        to=to_addresses,
        cc=cc_addresses,
        subject=subject or "",
        text=text or "",
        html=html,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        attachments=tuple(attachments or ()),
        inline_images=tuple(inline_images or ()),
        extra_headers=dict(headers or {}),
    )
    return row, parts


def _finish(row: OutboxMail, parts: MailParts, case) -> None:
    """Fix the signed Message-ID and build the bytes; the case (if any) has its id now."""
    case_id = case.id if case is not None else None
    row.message_id = identity.make_message_id(row.kind, case_id)
    parts.message_id = row.message_id
    if case is not None:
        parts.case_id = case.id
        parts.case_number = case.number
        if parts.reply_to is None and row.mailbox is not None:
            parts.reply_to = identity.plus_address(row.mailbox.address, case.id)
        row.subject = identity.tag_subject(parts.subject, case.number)[:998]
    row.content = render(parts)
    if row.message is not None and not row.message.message_id:
        row.message.message_id = row.message_id


def _thread_parent(case) -> tuple[str | None, str | None]:
    """Message-ID and References of the case's last inbound mail (without flushing)."""
    with db.session.no_autoflush:
        inbound = [
            m for m in case.messages if m.direction == MessageDirection.INBOUND and m.message_id
        ]
    if not inbound:
        return None, None
    last = max(inbound, key=lambda m: (m.created_at or datetime.max, m.id or 2**62))
    return bracket(last.message_id), last.references


def _record_suppressed(row: OutboxMail) -> None:
    """Suppression is a decision the desk took: it leaves an Event on the case."""
    actor = current_actor()
    db.session.add(
        Event(
            actor_id=getattr(actor, "id", None),
            actor_name=actor_label(actor),
            case=row.case,
            object_type="outbox_mail",
            action="mail.suppressed",
            new_value=row.recipient,
            details={"kind": row.kind, "reason": row.last_error},
        )
    )


# --- flush and commit hooks ------------------------------------------------------------------


def _after_flush_postexec(session: Session, flush_context) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    waiting = []
    for row, parts in pending:
        case = row.case
        if case is not None and case.id is not None:
            _finish(row, parts, case)  # written by the next flush of the same commit
        else:
            waiting.append((row, parts))
    session.info[_PENDING] = waiting


def _after_commit(session: Session) -> None:
    session.info.pop(_PENDING, None)
    if not session.info.pop(_WAKEUP, False):
        return
    if not has_app_context() or not setting("OUTBOX_ENQUEUE_ON_COMMIT"):
        return
    try:  # a head start only: the periodic round delivers the row anyway
        if _waiting_delivery_job():
            return  # a delivery job that has not started yet will see this commit's rows
        job = enqueue(deliver_outbox, queue="mail", job_result_ttl=60)
        current_app.extensions[_LAST_JOB] = (time.monotonic(), job)
    except Exception as exc:  # noqa: BLE001 - Redis down must not fail the caller's commit
        log.warning("outbox: could not enqueue an immediate delivery: %s", exc)


_LAST_JOB = "loopdesk_outbox_last_delivery_job"


def _waiting_delivery_job() -> bool:
    """True when this app enqueued a delivery job moments ago that is still waiting in the
    queue: it will deliver this commit's rows too, so a busy intake (hundreds of mails a
    second) does not put hundreds of identical jobs on the queue."""
    last = current_app.extensions.get(_LAST_JOB)
    if last is None or time.monotonic() - last[0] > 2:
        return False
    try:
        return last[1].get_status(refresh=True) == "queued"
    except Exception:  # noqa: BLE001 - unknown: enqueue another one
        return False


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WAKEUP, None)


_installed = False


def install_hooks() -> None:
    """Hook the outbox into every session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush_postexec", _after_flush_postexec)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda s, prev: _after_rollback(s))
    _installed = True


install_hooks()


# --- actions on rows -------------------------------------------------------------------------


def retry_mail(row: OutboxMail) -> OutboxMail:
    """Put a failed mail back in the queue, to be sent at once with the same Message-ID."""
    rules.ensure_visible(row)
    if row.status != OutboxStatus.FAILED:
        raise DeskError(f"Only failed mail can be retried; this one is {row.status}.")
    previous_error = row.last_error
    row.status = OutboxStatus.QUEUED
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.claim_token = None
    row.handed_over_at = None
    record_event(
        db.session,
        row,
        "mail.retry",
        old=OutboxStatus.FAILED,
        new=OutboxStatus.QUEUED,
        details={"recipient": row.recipient, "previous_error": previous_error},
    )
    db.session.info[_WAKEUP] = True
    db.session.commit()
    return row


def mails_of_case(case, statuses=None) -> list[OutboxMail]:
    """The outbox rows of a case the acting user may see, newest first."""
    rules.ensure_visible(case)
    stmt = select(OutboxMail).where(OutboxMail.case_id == case.id)
    if statuses:
        stmt = stmt.where(OutboxMail.status.in_(list(statuses)))
    stmt = rules.visible(stmt, OutboxMail).order_by(
        OutboxMail.created_at.desc(), OutboxMail.id.desc()
    )
    return list(db.session.scalars(stmt))

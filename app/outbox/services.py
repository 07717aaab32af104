"""Queue mail for delivery.

STUB written by the foundation; the outbox-delivery work builds the MIME message and the
delivery job. The interface below is fixed (intake auto-responses and agent replies call it):

    queue_mail(*, kind, to, subject, text, case=None, mailbox=None, html=None, cc=(),
               attachments=(), inline_images=(), in_reply_to=None, references=None,
               automatic=False, message=None, reply_to=None) -> OutboxMail

It adds the OutboxMail row to the current session and does NOT commit: the caller commits it
together with the change that caused it (transactional outbox). ``attachments`` and
``inline_images`` are ``(filename, content_type, bytes)`` / ``(content_id, content_type,
bytes)`` tuples. ``automatic=True`` marks auto-responses and notifications: hygiene rules
(app.mail.hygiene.may_send_automatic) may suppress them, and they carry Auto-Submitted.
"""

from __future__ import annotations

from flask import current_app

from app.extensions import db
from app.mail.hygiene import may_send_automatic
from app.mail.identity import make_message_id
from app.outbox.models import OutboxMail, OutboxStatus


def queue_mail(*, kind: str, to: str, subject: str, text: str, case=None, mailbox=None,
               html: str | None = None, cc=(), attachments=(), inline_images=(),
               in_reply_to: str | None = None, references: str | None = None,
               automatic: bool = False, message=None, reply_to: str | None = None) -> OutboxMail:
    sender = mailbox.address if mailbox is not None else current_app.config["MAIL_DEFAULT_SENDER"]
    row = OutboxMail(
        kind=kind, case=case, mailbox=mailbox, message=message, sender=sender,
        recipient=to.strip().lower(), recipients=", ".join([to, *cc]), subject=subject,
        message_id=make_message_id(kind, getattr(case, "id", None)), status=OutboxStatus.QUEUED,
    )
    if automatic:
        allowed, reason = may_send_automatic(row.recipient, case=case, kind=kind)
        if not allowed:
            row.status, row.last_error = OutboxStatus.SUPPRESSED, reason
    db.session.add(row)
    return row

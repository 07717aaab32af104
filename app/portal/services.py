"""What the customer does in the portal: ask for a login link, see his cases, reply, close,
answer the exit survey. Views are thin doors onto these functions.

* **Login links.** ``request_login_link(email)`` mails a one-time link to a known customer
  (through the outbox, in his language) and answers the same for an unknown address, so the
  page cannot be used to learn who writes to the desk. The link holds a random secret, of
  which only the SHA-256 is stored; ``redeem_login_link`` accepts it once, before it expires.
* **Replies** are built as a mail from the customer to the case's mailbox and handed to the
  mail intake (``app.mail.intake.receive``, source ``portal``): the same threading, reopening
  and attachment storage as any customer mail, so the case comes back to the agent's queue.
* **Closing** is ``app.cases.actions.close_for_customer`` (the state machine decides).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app
from sqlalchemy import select

from app.answering.portal import portal_link
from app.audit.tracking import record_event
from app.cases import actions as case_actions
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus, check_transition
from app.core.timeutil import utcnow
from app.core.urls import desk_base_url
from app.customers.models import Customer
from app.errors import AccessDenied, Conflict, DeskError
from app.extensions import db
from app.mail import intake
from app.mailcore.identity import plus_address, tag_subject
from app.outbox import services as outbox
from app.portal import i18n
from app.portal.models import PortalLoginLink
from app.portal.settings import setting

LOGIN_PATH = "/portal/login/"
MESSAGE_MAX = 20_000
# A customer gets at most this many login links per interval; more requests are answered
# alike but mail nothing (no flooding of his mailbox through the public page).
LOGIN_LINKS_PER_INTERVAL = 3
LOGIN_LINK_INTERVAL = timedelta(minutes=15)
# What a customer may attach: documents, images, archives; never programs or scripts.
ALLOWED_EXTENSIONS = frozenset(
    "pdf txt csv rtf doc docx odt xls xlsx ods ppt pptx odp png jpg jpeg gif webp heic "
    "tif tiff bmp zip eml msg".split()
)


class UploadProblem(DeskError):
    """An attachment the portal does not take (type, size, count); says which and why."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(value) -> str:
    return str(value or "").strip().lower()[:320]


def looks_like_email(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in value))


def login_link_url(secret: str) -> str:
    return desk_base_url() + LOGIN_PATH + secret


def request_login_link(email: str, *, address: str | None = None) -> bool:
    """Mail a one-time login link to the customer with ``email``; True when a mail was
    queued. Unknown addresses, undeliverable ones and too many recent requests mail
    nothing; the caller shows the same page in every case."""
    customer = db.session.scalars(
        select(Customer).where(Customer.email == normalise_email(email))
    ).first()
    if customer is None or customer.undeliverable:
        return False
    now = utcnow()
    recent = db.session.scalars(
        select(PortalLoginLink.id).where(
            PortalLoginLink.customer_id == customer.id,
            PortalLoginLink.created_at >= now - LOGIN_LINK_INTERVAL,
        )
    ).all()
    if len(recent) >= LOGIN_LINKS_PER_INTERVAL:
        return False
    secret = secrets.token_urlsafe(32)
    minutes = setting("PORTAL_LOGIN_LINK_MINUTES")
    link = PortalLoginLink(
        customer=customer,
        secret_sha256=_digest(secret),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
        requested_from=(address or "")[:64] or None,
    )
    db.session.add(link)
    language = customer.language
    desk = current_app.config.get("APP_NAME", "Loopdesk")
    greeting = customer.name or customer.email
    text = "\n\n".join(
        [
            i18n.translate(language, "Dear %(name)s,", name=greeting),
            i18n.translate(
                language,
                "here is your link to see all your cases with us. It works once, "
                "for %(minutes)s minutes:",
                minutes=minutes,
            )
            + "\n"
            + login_link_url(secret),
            i18n.translate(language, "If you did not ask for it, you can ignore this mail."),
            desk,
        ]
    )
    outbox.queue_mail(
        kind="notification",
        to=customer.email,
        subject=i18n.translate(language, "Your login link for %(desk)s", desk=desk),
        text=text + "\n",
        automatic=True,
    )
    db.session.commit()
    return True


def login_link(secret: str) -> PortalLoginLink | None:
    """The unused, unexpired login link with ``secret``, or None."""
    if not secret or len(secret) > 128:
        return None
    link = db.session.scalars(
        select(PortalLoginLink).where(PortalLoginLink.secret_sha256 == _digest(secret))
    ).first()
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        return None
    return link


def redeem_login_link(secret: str, *, address: str | None = None) -> Customer:
    """Use a login link (once): its customer, whose session the caller opens."""
    link = login_link(secret)
    if link is None:
        raise AccessDenied("This login link has expired or has been used already.")
    link.used_at = utcnow()
    link.used_from = (address or "")[:64] or None
    customer = link.customer
    db.session.commit()
    return customer


def cases_of(customer: Customer) -> list[Case]:
    """All cases of the customer, newest first."""
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.customer_id == customer.id)
            .order_by(Case.received_at.desc(), Case.id.desc())
        )
    )


def case_links(cases: Sequence[Case]) -> dict[int, str]:
    return {case.id: portal_link(case) for case in cases}


def may_close(case: Case) -> bool:
    """The state machine lets the case close (the customer may close under every policy)."""
    if case.status == CaseStatus.CLOSED:
        return False
    try:
        check_transition(case.status, CaseStatus.CLOSED.value)
    except DeskError:
        return False
    return True


def close(case: Case) -> Case:
    return case_actions.close_for_customer(case)


def check_uploads(uploads: Sequence[Upload]) -> None:
    """Refuse attachments the portal does not take, naming the file and the limit."""
    most = setting("PORTAL_UPLOAD_MAX_FILES")
    limit = setting("PORTAL_UPLOAD_MAX_MB") * 1024 * 1024
    if len(uploads) > most:
        raise UploadProblem(i18n.gettext("Attach at most %(count)s files.", count=most))
    total = 0
    for upload in uploads:
        extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if extension not in ALLOWED_EXTENSIONS:
            raise UploadProblem(
                i18n.gettext(
                    "%(name)s: this type of file is not accepted. Send documents, images "
                    "or archives (e.g. PDF, JPEG, PNG, ZIP).",
                    name=upload.filename,
                )
            )
        if not upload.data:
            raise UploadProblem(i18n.gettext("%(name)s is empty.", name=upload.filename))
        if len(upload.data) > limit:
            raise UploadProblem(
                i18n.gettext(
                    "%(name)s is larger than %(mb)s MB.",
                    name=upload.filename,
                    mb=setting("PORTAL_UPLOAD_MAX_MB"),
                )
            )
        total += len(upload.data)
    if total > 3 * limit:
        raise UploadProblem(
            i18n.gettext(
                "The files together are larger than %(mb)s MB.",
                mb=3 * setting("PORTAL_UPLOAD_MAX_MB"),
            )
        )


def _thread_headers(case: Case) -> tuple[str | None, str | None]:
    ids = [
        m
        for m in db.session.scalars(
            select(Message.message_id)
            .where(Message.case_id == case.id, Message.message_id.is_not(None))
            .order_by(Message.created_at, Message.id)
        )
        if m
    ]
    return (ids[-1] if ids else None), (" ".join(ids[-20:]) or None)


def reply_mail(case: Case, text: str, uploads: Sequence[Upload]) -> tuple[bytes, str]:
    """The customer's reply as the mail his client would have sent: from his address to the
    case's mailbox (its reply address), with the case tag and the thread's references."""
    mailbox = case.mailbox or next((m for m in case.pool.mailboxes if m.active), None)
    if mailbox is None:
        raise DeskError(i18n.gettext("This case cannot take messages here; please write to us."))
    customer = case.customer
    recipient = plus_address(mailbox.address, case.id)
    mail = EmailMessage()
    mail["From"] = formataddr((customer.name or "", customer.email))
    mail["To"] = mailbox.address
    mail["Subject"] = tag_subject(f"Re: {case.subject}", case.number)
    mail["Message-ID"] = make_msgid(domain="portal.loopdesk")
    in_reply_to, references = _thread_headers(case)
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    mail["X-Loopdesk-Source"] = "portal"
    mail.set_content(text)
    for upload in uploads:
        maintype, _, subtype = (upload.content_type or "application/octet-stream").partition("/")
        mail.add_attachment(
            upload.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=upload.filename,
        )
    return mail.as_bytes(), recipient


def reply(case: Case, text, uploads: Sequence[Upload] = ()) -> Case:
    """The customer writes on his case: through the mail intake, like his mail would. The
    case he wrote on, or the follow-up case the intake opened (a case closed too long ago)."""
    body = str(text or "").strip()
    if not body:
        raise DeskError(i18n.gettext("Write your message."))
    if len(body) > MESSAGE_MAX:
        raise DeskError(
            i18n.gettext("Your message is longer than %(count)s characters.", count=MESSAGE_MAX)
        )
    if case.customer is None or not case.customer.email:
        raise AccessDenied("No such case.")
    check_uploads(uploads)
    raw, recipient = reply_mail(case, body, uploads)
    mailbox = case.mailbox or next(m for m in case.pool.mailboxes if m.active)
    result = intake.receive(raw, mailbox=mailbox, source="portal", recipient=recipient)
    if result.case_id is None:
        raise Conflict(i18n.gettext("Your message could not be added; please write to us."))
    written = db.session.get(Case, result.case_id)
    if written is None:
        raise Conflict(i18n.gettext("Your message could not be added; please write to us."))
    if written.id != case.id:
        record_event(db.session, written, "opened from the portal", new=case.number)
    db.session.commit()
    return written


def portal_messages(case: Case) -> list[Message]:
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

"""A new case from the portal: the customer picks a topic, answers its form, writes his
message and attaches files; ``submit_portal_case`` opens the case in one transaction.

The topic decides where the case goes (``app.organisation.topics.effective_settings``: its
pool, required skill and priority, its own or inherited; its SLA policy sets the due times).
The form is the topic's current version (``forms_designer.services.current_version``); the
answers, already checked by ``forms_designer.builder.validate_submission``, are stored as rows
with the version they were filled in (``app.cases.intake_answers.record_intake_answers``). The
message is stored as an incoming mail would be (an inbound entry of the thread from his
address to the pool's mailbox, its files in the content store), and the customer gets the
desk's confirmation notice in his language, with the case number, the due time and his link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

from sqlalchemy import select

from app.audit.tracking import record_event
from app.cases import notices, push
from app.cases.intake_answers import record_intake_answers
from app.cases.models import Case, Message, MessageDirection
from app.cases.services import open_case, reserve_case_numbers
from app.customers.models import Customer
from app.errors import AccessDenied, DeskError
from app.extensions import db
from app.mail import store
from app.mail.models import Attachment
from app.organisation.models import Topic
from app.organisation.topics import TreeNode, effective_settings, is_offered, offered_tree
from app.portal import i18n
from app.portal.services import (
    MESSAGE_MAX,
    Upload,
    check_uploads,
    looks_like_email,
    normalise_email,
)
from forms_designer.models import IntakeFormVersion
from forms_designer.services import current_version

SUBJECT_MAX = 200
NAME_MAX = 256


@dataclass(frozen=True)
class TopicChoice:
    """One topic of the portal's picker: its name in the customer's language, its depth,
    and whether a case can be opened on it (it or an ancestor names a pool)."""

    id: int
    name: str
    description: str
    depth: int
    selectable: bool


def topic_choices(language: str) -> list[TopicChoice]:
    """The offered topic tree in reading order, names in ``language``."""
    out: list[TopicChoice] = []

    def walk(nodes: list[TreeNode]) -> None:
        for node in nodes:
            topic = node.topic
            out.append(
                TopicChoice(
                    id=topic.id,
                    name=topic.name_in(language),
                    description=topic.description_in(language) or "",
                    depth=node.depth,
                    selectable=effective_settings(topic).pool is not None,
                )
            )
            walk(node.children)

    walk(offered_tree())
    return out


def offered_topic(topic_id) -> Topic:
    """The topic a customer may open a case on: active under active parents, with a pool."""
    topic = db.session.get(Topic, topic_id) if isinstance(topic_id, int) else None
    if topic is None or not is_offered(topic) or effective_settings(topic).pool is None:
        raise AccessDenied(i18n.gettext("This topic is not offered."))
    return topic


def form_version(topic: Topic) -> IntakeFormVersion | None:
    """The version of the topic's form that customers fill in now (None: no form)."""
    form = effective_settings(topic).form
    return current_version(form) if form is not None else None


def _stored_files(message: Message, uploads: Sequence[Upload]) -> None:
    for upload in uploads:
        db.session.add(
            Attachment(
                message=message,
                sha256=store.put_file(upload.data),
                size=len(upload.data),
                content_type=upload.content_type or "application/octet-stream",
                filename=upload.filename,
            )
        )


def _answer_files(answers: Mapping[str, Any]) -> list[Upload]:
    """The files uploaded in the form's file fields, as attachments of the message."""
    files: list[Upload] = []
    for value in answers.values():
        filename = getattr(value, "filename", None)
        if filename:
            value.stream.seek(0)
            files.append(
                Upload(filename, value.mimetype or "application/octet-stream", value.read())
            )
    return files


def check_contact(email, subject, text) -> dict[str, str]:
    """Problems of the contact part of the page, by field (empty: none)."""
    problems: dict[str, str] = {}
    if not looks_like_email(normalise_email(email)):
        problems["email"] = i18n.gettext("Enter your e-mail address, e.g. name@example.com.")
    if not str(subject or "").strip():
        problems["subject"] = i18n.gettext("Give your request a short title.")
    elif len(str(subject).strip()) > SUBJECT_MAX:
        problems["subject"] = i18n.gettext(
            "The title is longer than %(count)s characters.", count=SUBJECT_MAX
        )
    body = str(text or "").strip()
    if not body:
        problems["text"] = i18n.gettext("Write your message.")
    elif len(body) > MESSAGE_MAX:
        problems["text"] = i18n.gettext(
            "Your message is longer than %(count)s characters.", count=MESSAGE_MAX
        )
    return problems


def submit_portal_case(
    *,
    topic: Topic,
    email,
    name=None,
    subject,
    text,
    language: str,
    version: IntakeFormVersion | None = None,
    answers: Mapping[str, Any] | None = None,
    uploads: Sequence[Upload] = (),
) -> Case:
    """Open the case a customer submitted in the portal (see the module docstring); the
    caller validated ``answers`` against ``version``'s schema. Commits."""
    problems = check_contact(email, subject, text)
    if problems:
        raise DeskError(" ".join(problems.values()))
    if not is_offered(topic):
        raise AccessDenied(i18n.gettext("This topic is not offered."))
    settings = effective_settings(topic)
    if settings.pool is None:
        raise AccessDenied(i18n.gettext("This topic is not offered."))
    answers = dict(answers or {})
    files = [*uploads, *_answer_files(answers)]
    check_uploads(files)
    address = normalise_email(email)
    customer = db.session.scalars(select(Customer).where(Customer.email == address)).first()
    if customer is None:
        customer = Customer(
            email=address,
            name=str(name or "").strip()[:NAME_MAX] or None,
            language=i18n.normalise(language) or i18n.default_language(),
        )
        db.session.add(customer)
    pool = settings.pool
    mailbox = next((m for m in sorted(pool.mailboxes, key=lambda m: m.id) if m.active), None)
    # The number comes from the counter in a transaction of its own (on PostgreSQL): the
    # counter row is not held locked while this submission is written, so customers
    # submitting at once do not wait for each other. A submission that fails after this
    # point leaves a gap in the numbers, as a database sequence would.
    number = reserve_case_numbers(1, own_transaction=True)[0]
    with db.session.no_autoflush:  # the case is flushed once it has its number
        case = open_case(
            pool=pool,
            subject=str(subject).strip()[:SUBJECT_MAX],
            customer=customer,
            mailbox=mailbox,
            topic=topic,
            required_skill=settings.skill,
            priority=settings.priority,
            commit=False,
            number_later=True,
        )
        case.number = number
    message = Message(
        case=case,
        direction=MessageDirection.INBOUND,
        from_address=address,
        to_addresses=mailbox.address if mailbox else None,
        subject=case.subject,
        body_text=str(text).strip(),
        message_id=make_msgid(domain="portal.loopdesk"),
    )
    db.session.add(message)
    _stored_files(message, files)
    db.session.flush()
    if version is not None:
        record_intake_answers(case, version.id, version.schema, answers)
    push.push_case(case)  # a pool with push routing assigns it at once
    mail_id = notices.send(notices.CONFIRMATION, case, kind="confirmation")
    record_event(
        db.session,
        case,
        "opened from the portal",
        new=topic.path,
        details={
            "form_version_id": version.id if version is not None else None,
            "confirmation_outbox_id": mail_id,
        },
    )
    db.session.commit()
    return case

"""The customer's rights: access (an export of everything held about him) and erasure.

**Erasure** (``erase_customer``) replaces the person's personal data wherever the desk keeps
it and deletes nothing but the files that held it:

* his cases: the subject; every message of them (mails in and out, notes, consultations):
  subject and body replaced by a placeholder, his addresses replaced; their attachments point
  at a placeholder file; the raw mails behind them (and raw mail that reached no case but came
  from him) hold a placeholder mail; the replies composed to him, the consultation questions,
  the free-text answers of questionnaires and of the intake form;
* the outbox rows of his cases or to his address (recipients, subject, the MIME content),
  the webhook deliveries of his cases (the JSON body, delivered or not, and the receivers'
  answers) and the client addresses of his portal login links;
* Events of his cases and about him: every occurrence of his name, addresses, organisation,
  subjects and file names is replaced; free-text answers in answer Events are erased. Events
  are otherwise never edited: this runs inside ``app.core.permits.erasure_permit``, the one
  narrow exception the database triggers honour (updates of ``event`` rows, in this
  transaction only; no delete anywhere);
* the customer row keeps its id (cases still belong to "a customer"), with a placeholder
  address ``erased-<id>@erased.invalid`` and no name, organisation or notes;
* report files whose period covered one of his cases are removed; the run's row stays, with
  a note saying why (run the report again for a file without him);
* files in ``FILE_STORE`` that only he referenced (attachments, large raw mail) are removed
  once the database commit is done; spooled mail from him (``MAIL_SPOOL_DIR``) is rewritten;
* ``app.customers.signals.personal_data_erased`` lets other keepers of his texts (the search
  index) rewrite their copies in the same transaction.

Case numbers, dates, statuses, pools, agents, SLA figures and every Event's who-and-when stay,
so the reports' counts do not change. One Event ("personal_data_erased", on the customer)
says who erased, when and why (the reason, itself cleaned of his data), never what.

**Access** (``export_customer``): a ZIP with ``customer.json``, ``cases.json`` (every case with
its messages, answers, consultations and history), the raw mails (``raw/``) and the
attachments (``attachments/``), for an admin to review and hand over.

Both are for admins only, on every door (``ensure_admin``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update

from app.answering.models import Reply
from app.audit.actor import acting_as
from app.audit.labels import ANSWER_EVENTS, summary
from app.audit.models import Event
from app.audit.tracking import record_event
from app.cases.intake_answers import answers_of
from app.cases.models import Case, CaseIntakeAnswer, Message, MessageDirection
from app.consultation.models import Consultation
from app.core.inputs import parse_text
from app.core.permits import erasure_permit
from app.core.timeutil import utcnow
from app.customers.models import Customer
from app.customers.signals import personal_data_erased
from app.errors import AccessDenied, Forbidden
from app.extensions import db
from app.mail import store
from app.mail.models import Attachment, RawMessage
from app.mail.settings import setting as mail_setting
from app.mail.spool import SPOOL_MAGIC
from app.outbox.models import OutboxMail
from app.portal.models import PortalLoginLink
from app.questionnaires.models import Answer, Question, QuestionKind
from app.security.roles import ADMIN, role_names
from app.webhooks.models import WebhookDelivery
from reports.models import ReportRun, ReportRunStatus

log = logging.getLogger(__name__)

ERASED = "[erased]"
ERASED_DOMAIN = "erased.invalid"
PLACEHOLDER_BODY = "[Erased on request: this text held personal data.]"
PLACEHOLDER_FILE = b"This file was erased on request: it held personal data.\n"
PLACEHOLDER_FILENAME = "erased.txt"
REPORT_NOTE = (
    "The file was removed on {day}: its period covered a customer whose personal data was "
    "erased on request. Run the report again for a file without him."
)
MAX_REASON = 1000


def erased_address(customer_id: int) -> str:
    return f"erased-{customer_id}@{ERASED_DOMAIN}"


def is_erased(customer: Customer) -> bool:
    return (customer.email or "").endswith("@" + ERASED_DOMAIN)


def placeholder_mail(label: str) -> bytes:
    """The mail a raw mail or an outbox row holds once erased: headers without a person."""
    return (
        f"From: <erased@{ERASED_DOMAIN}>\r\n"
        f"To: <erased@{ERASED_DOMAIN}>\r\n"
        f"Subject: {ERASED}\r\n"
        f"Message-ID: <{label}@{ERASED_DOMAIN}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "This mail was erased on request: it held personal data.\r\n"
    ).encode()


def ensure_admin(actor) -> None:
    """Export and erasure are for admins only, whichever door asks."""
    if ADMIN not in role_names(actor):
        raise Forbidden("Only an admin may export or erase a customer's personal data.")


class Redactor:
    """Replaces every occurrence of the person's strings (case-insensitive), longest first."""

    def __init__(self, needles: Iterable[str], replacement: str = ERASED):
        found = {n.strip() for n in needles if n and len(n.strip()) >= 3}
        ordered = sorted(found, key=len, reverse=True)
        self.needles = ordered
        self.replacement = replacement
        self.pattern = (
            re.compile("|".join(re.escape(n) for n in ordered), re.IGNORECASE) if ordered else None
        )

    def text(self, value: str | None) -> str | None:
        if value is None or self.pattern is None:
            return value
        replaced = self.pattern.sub(self.replacement, value)
        # "Zelda Q. Quixote", its parts replaced one by one, reads as one placeholder.
        repeated = re.escape(self.replacement)
        return re.sub(rf"{repeated}(?:[\s.,]*{repeated})+", self.replacement, replaced)

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        return value

    def found_in(self, data: bytes) -> bool:
        lowered = data.lower()
        return any(n.lower().encode() in lowered for n in self.needles)


@dataclass
class Erasure:
    """What an erasure rewrote, counted (the Event's details and the page's message)."""

    customer_id: int
    counts: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0
    files_failed: list[str] = field(default_factory=list)

    def add(self, what: str, number: int = 1) -> None:
        if number:
            self.counts[what] = self.counts.get(what, 0) + number

    def __str__(self) -> str:
        parts = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        return parts or "nothing held"


def case_ids_of(customer: Customer) -> list[int]:
    return list(
        db.session.scalars(select(Case.id).where(Case.customer_id == customer.id).order_by(Case.id))
    )


def _needles(customer: Customer, case_ids: list[int]) -> list[str]:
    """The strings that identify the person: addresses, name (and its longer parts),
    organisation, and what he wrote as subjects or file names."""
    needles: set[str] = {customer.email or ""}
    # The names and addresses he had before a correction (the Events about him keep them).
    names = {customer.name, customer.organisation}
    for field_name, old, new in db.session.execute(
        select(Event.field, Event.old_value, Event.new_value).where(
            Event.object_type == Customer.__tablename__,
            Event.object_id == customer.id,
            Event.field.in_(("name", "email")),
        )
    ):
        (names if field_name == "name" else needles).update((old, new))
    for address in list(needles):
        local = (address or "").partition("@")[0]
        if len(local) >= 4:
            needles.add(local)
    for text in names:
        if text:
            needles.add(text)
            needles.update(part for part in re.split(r"[\s,]+", text) if len(part) >= 4)
    if case_ids:
        needles.update(db.session.scalars(select(Case.subject).where(Case.id.in_(case_ids))))
        needles.update(
            db.session.scalars(select(Message.subject).where(Message.case_id.in_(case_ids))).all()
        )
        needles.update(
            db.session.scalars(
                select(Message.from_address).where(
                    Message.case_id.in_(case_ids),
                    Message.direction == MessageDirection.INBOUND.value,
                )
            ).all()
        )
        needles.update(
            db.session.scalars(
                select(Attachment.filename)
                .join(Message, Attachment.message_id == Message.id)
                .where(Message.case_id.in_(case_ids))
            ).all()
        )
        # What he typed as free text (intake form, exit survey) may be quoted in Events.
        needles.update(
            db.session.scalars(
                select(CaseIntakeAnswer.value_text).where(
                    CaseIntakeAnswer.case_id.in_(case_ids), CaseIntakeAnswer.value_label.is_(None)
                )
            ).all()
        )
        needles.update(
            db.session.scalars(
                select(Answer.value_text)
                .join(Question, Answer.question_id == Question.id)
                .where(Answer.case_id.in_(case_ids), Question.kind == QuestionKind.TEXT.value)
            ).all()
        )
    # Placeholders and generic subjects are no one's data.
    needles -= {ERASED, "(no subject)", PLACEHOLDER_FILENAME, "yes", "no"}
    return [n for n in needles if n]


def describe(customer: Customer) -> dict[str, int]:
    """What an erasure would touch (the confirmation page)."""
    case_ids = case_ids_of(customer)
    messages = (
        db.session.scalar(select(func.count(Message.id)).where(Message.case_id.in_(case_ids)))
        if case_ids
        else 0
    )
    return {
        "cases": len(case_ids),
        "messages": messages or 0,
        "report files": len(_report_runs(customer, case_ids)),
    }


# --- erasure -----------------------------------------------------------------------------------


def erase_customer(customer: Customer, actor, reason: str) -> Erasure:
    """Erase the customer's personal data (see the module docstring); one transaction for
    the database, then the files. Returns what was rewritten."""
    ensure_admin(actor)
    reason = parse_text(
        reason, field="reason", max_length=MAX_REASON, required=True, what="Say why (the request)."
    )
    if customer is None or customer.id is None:
        raise AccessDenied("No such customer.")
    result = Erasure(customer.id)
    case_ids = case_ids_of(customer)
    redactor = Redactor(_needles(customer, case_ids))
    address = erased_address(customer.id)
    doomed_blobs: set[str] = set()
    doomed_paths: set[str] = set()
    with acting_as(actor), erasure_permit(db.session):
        try:
            placeholder_sha = store.put_file(PLACEHOLDER_FILE)
            raws = _erase_messages(case_ids, redactor, address, result)
            _erase_attachments(case_ids, placeholder_sha, doomed_blobs, result)
            _erase_raw_mail(case_ids, raws, redactor, doomed_paths, result)
            _erase_outbox(customer, case_ids, redactor, address, result)
            _erase_replies(case_ids, redactor, address, placeholder_sha, result)
            _erase_answers(case_ids, result)
            _erase_events(customer, case_ids, redactor, result)
            _erase_webhooks(case_ids, redactor, address, result)
            _erase_portal_links(customer, result)
            report_files = _erase_report_runs(customer, case_ids, result)
            if case_ids:
                db.session.execute(
                    update(Case)
                    .where(Case.id.in_(case_ids))
                    .values(subject=ERASED)
                    .execution_options(synchronize_session=False)
                )
                result.add("cases", len(case_ids))
            # Core, not the ORM: the tracker would record the old name and address.
            db.session.execute(
                update(Customer)
                .where(Customer.id == customer.id)
                .values(email=address, name=None, organisation=None, notes=None)
                .execution_options(synchronize_session=False)
            )
            db.session.expire_all()
            customer = db.session.get(Customer, result.customer_id)
            personal_data_erased.send(customer, case_ids=case_ids)
            record_event(
                db.session,
                customer,
                "personal_data_erased",
                details={"reason": redactor.text(reason), "rewritten": dict(result.counts)},
            )
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    # The files go once the database no longer points at them (a rollback left them).
    _remove_blobs(doomed_blobs, result)
    _remove_paths(doomed_paths, result)
    _remove_report_files(report_files, result)
    _rewrite_spool(redactor, result)
    log.info("customer %s: personal data erased (%s)", result.customer_id, result)
    return result


def _erase_messages(case_ids, redactor: Redactor, address: str, result: Erasure) -> set[int]:
    """Every message of his cases; returns the ids of their raw mails."""
    raws: set[int] = set()
    if not case_ids:
        return raws
    for message in db.session.scalars(select(Message).where(Message.case_id.in_(case_ids))):
        if message.raw_message_id:
            raws.add(message.raw_message_id)
        if message.direction == MessageDirection.INBOUND.value:
            message.from_address = address
        else:
            message.from_address = redactor.text(message.from_address)
        message.to_addresses = redactor.text(message.to_addresses)
        message.cc_addresses = redactor.text(message.cc_addresses)
        message.subject = ERASED if message.subject else message.subject
        message.body_text = PLACEHOLDER_BODY
        message.body_html = None
        result.add("messages")
    for consultation in db.session.scalars(
        select(Consultation).where(Consultation.case_id.in_(case_ids))
    ):
        consultation.question = PLACEHOLDER_BODY
        result.add("consultations")
    db.session.flush()
    return raws


def _erase_attachments(case_ids, placeholder_sha: str, doomed: set[str], result) -> None:
    if not case_ids:
        return
    stmt = (
        select(Attachment)
        .join(Message, Attachment.message_id == Message.id)
        .where(Message.case_id.in_(case_ids))
    )
    for attachment in db.session.scalars(stmt):
        if attachment.sha256 != placeholder_sha:
            doomed.add(attachment.sha256)
        attachment.sha256 = placeholder_sha
        attachment.size = len(PLACEHOLDER_FILE)
        attachment.content_type = "text/plain"
        attachment.filename = PLACEHOLDER_FILENAME
        attachment.content_id = None
        attachment.inline = False
        result.add("attachments")
    db.session.flush()


def _erase_raw_mail(case_ids, raw_ids: set[int], redactor, doomed_paths, result) -> None:
    """The raw mails behind his messages and of his cases, and raw mail that reached no
    case (quarantined, automatic) but names him."""
    conditions = []
    if raw_ids:
        conditions.append(RawMessage.id.in_(raw_ids))
    if case_ids:
        conditions.append(RawMessage.case_id.in_(case_ids))
    rows = (
        list(db.session.scalars(select(RawMessage).where(or_(*conditions)))) if conditions else []
    )
    for raw in db.session.scalars(select(RawMessage).where(RawMessage.case_id.is_(None))):
        try:
            data = store.raw_bytes(raw)
        except OSError:
            continue
        if redactor.found_in(data):
            rows.append(raw)
    seen: set[int] = set()
    for raw in rows:
        if raw.id in seen:
            continue
        seen.add(raw.id)
        placeholder = placeholder_mail(f"erased-raw-{raw.id}")
        if raw.path:
            doomed_paths.add(raw.path)
        raw.content = placeholder
        raw.path = None
        raw.size = len(placeholder)
        raw.sha256 = hashlib.sha256(placeholder).hexdigest()
        raw.error = redactor.text(raw.error)
        raw.source_ref = redactor.text(raw.source_ref)
        result.add("raw mails")
    db.session.flush()


def _erase_outbox(customer, case_ids, redactor, address: str, result) -> None:
    conditions = [OutboxMail.recipient == (customer.email or "").lower()]
    if case_ids:
        conditions.append(OutboxMail.case_id.in_(case_ids))
    for mail in db.session.scalars(select(OutboxMail).where(or_(*conditions))):
        mail.recipient = (
            address if mail.recipient == customer.email else redactor.text(mail.recipient)
        )
        mail.recipients = redactor.text(mail.recipients)
        mail.subject = ERASED
        mail.content = placeholder_mail(f"erased-outbox-{mail.id}")
        mail.last_error = redactor.text(mail.last_error)
        mail.smtp_reply = redactor.text(mail.smtp_reply)
        result.add("outbox mails")
    db.session.flush()


def _erase_replies(case_ids, redactor, address: str, placeholder_sha: str, result) -> None:
    if not case_ids:
        return
    for reply in db.session.scalars(select(Reply).where(Reply.case_id.in_(case_ids))):
        reply.recipient = address
        reply.subject = ERASED
        reply.body = PLACEHOLDER_BODY
        reply.body_html = None
        reply.decision_note = redactor.text(reply.decision_note)
        for attachment in reply.attachments:
            if attachment.content is not None:  # an upload; library documents are no one's
                attachment.content = PLACEHOLDER_FILE
                attachment.sha256 = hashlib.sha256(PLACEHOLDER_FILE).hexdigest()
                attachment.size = len(PLACEHOLDER_FILE)
                attachment.filename = PLACEHOLDER_FILENAME
                attachment.content_type = "text/plain"
        result.add("replies")
    db.session.flush()


def _free_text_questions() -> set[str]:
    return set(
        db.session.scalars(select(Question.text).where(Question.kind == QuestionKind.TEXT.value))
    )


def _erase_answers(case_ids, result) -> None:
    """Free-text answers of questionnaires (wrap-up, exit survey) and of the intake form;
    choices, numbers and ratings are no one's data and stay for the reports."""
    if not case_ids:
        return
    text_questions = select(Question.id).where(Question.kind == QuestionKind.TEXT.value)
    for answer in db.session.scalars(
        select(Answer).where(
            Answer.case_id.in_(case_ids),
            Answer.value_text.is_not(None),
            Answer.question_id.in_(text_questions),
        )
    ):
        answer.value_text = ERASED
        result.add("questionnaire answers")
    for answer in db.session.scalars(
        select(CaseIntakeAnswer).where(
            CaseIntakeAnswer.case_id.in_(case_ids), CaseIntakeAnswer.value_label.is_(None)
        )
    ):
        answer.value_text = ERASED
        answer.value_key = ERASED
        result.add("intake answers")
    db.session.flush()


def _erase_events(customer, case_ids, redactor: Redactor, result) -> None:
    """Events of his cases and about him: his strings replaced; free-text answers of answer
    Events erased; subject changes erased. Who did it and when stay."""
    about_him = (Event.object_type == Customer.__tablename__) & (Event.object_id == customer.id)
    condition = or_(about_him, Event.case_id.in_(case_ids)) if case_ids else about_him
    free_text = _free_text_questions()
    rows = db.session.execute(
        select(
            Event.id, Event.field, Event.action, Event.old_value, Event.new_value, Event.details
        ).where(condition)
    ).all()
    for event_id, field_name, action, old, new, details in rows:
        if field_name == "subject":
            old, new = (ERASED if old else old), (ERASED if new else new)
        if action in ANSWER_EVENTS and isinstance(details, dict):
            answers = details.get("answers")
            if isinstance(answers, dict):
                details = dict(details)
                details["answers"] = {
                    q: (ERASED if q in free_text and a not in (None, "") else a)
                    for q, a in answers.items()
                }
        values = {
            "old_value": redactor.text(old),
            "new_value": redactor.text(new),
            "details": redactor.json(details),
        }
        db.session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result.add("events")


def _erased_payload(body: str, redactor: Redactor, address: str) -> str:
    """A webhook body (``app.webhooks.payloads``) without the person: the message's subject
    and text replaced, the customer's address and name, then every mention of him."""
    try:
        data = json.loads(body)
    except ValueError:
        return json.dumps({"erased": True})
    if isinstance(data, dict):
        case = data.get("case")
        if isinstance(case, dict):
            case["subject"] = ERASED
            if isinstance(case.get("customer"), dict):
                case["customer"].update(email=address, name=None)
        message = data.get("message")
        if isinstance(message, dict):
            message.update(subject=ERASED, text=PLACEHOLDER_BODY, text_truncated=False)
    return json.dumps(
        redactor.json(data), ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )


def _erase_webhooks(case_ids, redactor: Redactor, address: str, result) -> None:
    """The webhook outbox of his cases: the bodies (delivered or not: a replay sends the
    erased one) and what the receivers answered."""
    if not case_ids:
        return
    for delivery in db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.case_id.in_(case_ids))
    ):
        delivery.body = _erased_payload(delivery.body, redactor, address)
        delivery.last_error = redactor.text(delivery.last_error)
        for attempt in delivery.attempt_log:
            attempt.response_excerpt = redactor.text(attempt.response_excerpt)
            attempt.error = redactor.text(attempt.error)
        result.add("webhook deliveries")
    db.session.flush()


def _erase_portal_links(customer, result) -> None:
    """His portal login links keep when, not from where (client addresses are his data)."""
    for link in db.session.scalars(
        select(PortalLoginLink).where(PortalLoginLink.customer_id == customer.id)
    ):
        link.requested_from = None
        link.used_from = None
        result.add("portal links")
    db.session.flush()


def _report_runs(customer, case_ids) -> list[ReportRun]:
    """Finished runs with a file whose period covered one of his cases (open at some time
    within it, the period's days taken whole)."""
    if not case_ids:
        return []
    spans = db.session.execute(
        select(Case.received_at, Case.closed_at).where(Case.id.in_(case_ids))
    ).all()
    found = []
    for run in db.session.scalars(
        select(ReportRun).where(
            ReportRun.status == ReportRunStatus.DONE.value, ReportRun.path.is_not(None)
        )
    ):
        params = run.parameters or {}
        try:
            since = date.fromisoformat(params["since"]) - timedelta(days=1)
            until = date.fromisoformat(params["until"]) + timedelta(days=2)
        except (KeyError, TypeError, ValueError):
            found.append(run)  # a file we cannot place: assume it covers him
            continue
        start, end = (
            datetime(since.year, since.month, since.day),
            datetime(until.year, until.month, until.day),
        )
        if any(received < end and (closed or utcnow()) >= start for received, closed in spans):
            found.append(run)
    return found


def _erase_report_runs(customer, case_ids, result) -> list[str]:
    """Mark the runs whose file may show him; returns the files to remove."""
    paths = []
    note = REPORT_NOTE.format(day=utcnow().date().isoformat())
    for run in _report_runs(customer, case_ids):
        paths.append(run.path)
        run.path = None
        run.step = "file removed (personal data erased)"
        run.error = note
        result.add("report files")
    db.session.flush()
    return paths


def _file_store() -> Path:
    return Path(current_app.config["FILE_STORE"])


def _remove_blobs(shas: set[str], result: Erasure) -> None:
    for sha in shas:
        still_used = db.session.scalar(
            select(Attachment.id).where(Attachment.sha256 == sha).limit(1)
        )
        if still_used is not None:
            continue  # the same file arrived from someone else too: it is not his alone
        _unlink(store.path_for(sha), result)


def _remove_paths(paths: set[str], result: Erasure) -> None:
    for relative in paths:
        if db.session.scalar(select(RawMessage.id).where(RawMessage.path == relative).limit(1)):
            continue
        _unlink(_file_store() / relative, result)


def _remove_report_files(paths: list[str], result: Erasure) -> None:
    for relative in paths:
        _unlink(_file_store() / relative, result)


def _unlink(path: Path, result: Erasure) -> None:
    try:
        path.unlink()
        result.files_removed += 1
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.error("erasure: could not remove %s: %s", path, exc)
        result.files_failed.append(str(path))


def _rewrite_spool(redactor: Redactor, result: Erasure) -> None:
    """Spooled mail (``MAIL_SPOOL_DIR``: waiting in ``new/``, or set aside) that names him
    holds a placeholder mail from now on; the spool header line stays, so it drains as a
    placeholder."""
    configured = mail_setting("MAIL_SPOOL_DIR")
    if not configured:
        return
    root = Path(configured)
    for folder in ("new", "tmp", "rejected"):
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if not path.is_file():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if not redactor.found_in(data):
                continue
            head = b""
            if data.startswith(SPOOL_MAGIC):
                line = data.split(b"\n", 1)[0].decode("utf-8", "replace")
                head = (redactor.text(line) or "").encode() + b"\n"
            path.write_bytes(head + placeholder_mail(f"erased-spool-{path.name}"))
            result.add("spooled mails")


# --- right of access -------------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _case_json(case: Case) -> dict:
    messages = list(
        db.session.scalars(
            select(Message).where(Message.case_id == case.id).order_by(Message.created_at)
        )
    )
    return {
        "number": case.number,
        "subject": case.subject,
        "status": case.status,
        "pool": case.pool.name if case.pool else None,
        "topic": case.topic.path if case.topic else None,
        "received_at": _iso(case.received_at),
        "closed_at": _iso(case.closed_at),
        "archived_at": _iso(case.archived_at),
        "messages": [
            {
                "id": m.id,
                "kind": m.direction,
                "created_at": _iso(m.created_at),
                "from": m.from_address,
                "to": m.to_addresses,
                "cc": m.cc_addresses,
                "subject": m.subject,
                "body_text": m.body_text,
                "body_html": m.body_html,
                "raw_mail": f"raw/{m.raw_message_id}.eml" if m.raw_message_id else None,
                "attachments": [
                    {
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                        "file": _attachment_name(a),
                    }
                    for a in m.attachments
                ],
            }
            for m in messages
        ],
        "intake_answers": [{"question": a.label, "answer": a.shown} for a in answers_of(case)],
        "questionnaire_answers": [
            {
                "question": a.question.text if a.question else None,
                "answer": a.value_text
                if a.value_text is not None
                else (a.dictionary_value.value if a.dictionary_value else a.value_number),
                "answered_at": _iso(a.answered_at),
            }
            for a in db.session.scalars(select(Answer).where(Answer.case_id == case.id))
        ],
        "consultations": [
            {"department": c.department.name, "question": c.question, "sent_at": _iso(c.sent_at)}
            for c in db.session.scalars(select(Consultation).where(Consultation.case_id == case.id))
        ],
        "history": [
            {"at": _iso(e.created_at), "by": e.actor_name, "what": summary(e)}
            for e in db.session.scalars(
                select(Event).where(Event.case_id == case.id).order_by(Event.id)
            )
        ],
    }


def _attachment_name(attachment: Attachment) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", attachment.filename or "attachment")[:100]
    return f"attachments/{attachment.message_id}-{attachment.id}-{safe}"


def export_customer(customer: Customer, actor) -> bytes:
    """The right of access: everything held about the customer as a ZIP (see the module
    docstring); records an Event that it was exported, by whom."""
    ensure_admin(actor)
    buffer = io.BytesIO()
    cases = list(
        db.session.scalars(
            select(Case).where(Case.customer_id == customer.id).order_by(Case.received_at)
        )
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "customer.json",
            json.dumps(
                {
                    "email": customer.email,
                    "name": customer.name,
                    "organisation": customer.organisation,
                    "language": customer.language,
                    "notes": customer.notes,
                    "undeliverable": customer.undeliverable,
                    "created_at": _iso(customer.created_at),
                    "exported_at": _iso(utcnow()),
                },
                indent=2,
                ensure_ascii=False,
            ),
        )
        archive.writestr(
            "cases.json",
            json.dumps([_case_json(c) for c in cases], indent=2, ensure_ascii=False),
        )
        case_ids = [c.id for c in cases]
        if case_ids:
            raw_ids = set(
                db.session.scalars(
                    select(Message.raw_message_id).where(
                        Message.case_id.in_(case_ids), Message.raw_message_id.is_not(None)
                    )
                )
            )
            raws = db.session.scalars(
                select(RawMessage).where(
                    or_(RawMessage.id.in_(raw_ids), RawMessage.case_id.in_(case_ids))
                )
            )
            for raw in raws:
                try:
                    archive.writestr(f"raw/{raw.id}.eml", store.raw_bytes(raw))
                except OSError:
                    archive.writestr(f"raw/{raw.id}.missing.txt", "The file is missing.")
            attachments = db.session.scalars(
                select(Attachment)
                .join(Message, Attachment.message_id == Message.id)
                .where(Message.case_id.in_(case_ids))
            )
            for attachment in attachments:
                try:
                    archive.writestr(
                        _attachment_name(attachment), store.read_blob(attachment.sha256)
                    )
                except OSError:
                    archive.writestr(_attachment_name(attachment) + ".missing.txt", "Missing.")
    with acting_as(actor):
        record_event(db.session, customer, "personal_data_exported", details={"cases": len(cases)})
        db.session.commit()
    return buffer.getvalue()

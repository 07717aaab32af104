"""Consultations: ask a department from a case, take its answer from the intake, remind it.

``consult`` is the one door for asking (the case page's form, ``POST /api/v1/consultation/``);
it checks like the case actions do (``app.cases.actions``): the role may consult (403), the
user sees the case (404), the case is open and may go under consultation (409), the input
(400). Then, in one transaction: the ``Consultation`` row, the thread entry of direction
``consultation`` recording what was sent, the mail to the department through the outbox
(from the case's mailbox, with its own signed Message-ID and the tag ``[Consultation N]``)
and the case under consultation, with an Event.

The department's reply comes in through the intake, which asks ``claim_reply``
(``app.mail.side_replies``) before threading a mail: a mail that refers to a consultation's
Message-ID (or carries its tag and comes from the department's address) joins the case as a
consultation entry, never as customer mail; the first such answer marks the consultation
answered and gives the case back to the consulting agent, in progress.

``send_reminders`` (a periodic job) reminds each overdue department once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session

from app.audit.actor import acting_as, current_actor
from app.audit.tracking import record_event
from app.cases import actions as case_actions
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus, check_transition, transition
from app.consultation import texts
from app.consultation.deadline import consultation_deadline
from app.consultation.models import Consultation, ConsultationStatus, Department
from app.core.inputs import parse_id, parse_text
from app.core.timeutil import utcnow
from app.errors import AccessDenied, DeskError, Forbidden
from app.extensions import db
from app.mail import hygiene, store
from app.mail import threading as mail_threading
from app.mail.models import Attachment
from app.mail.side_replies import SideReply
from app.mailcore import identity
from app.outbox import services as outbox
from app.security import rules
from app.security.roles import user_may

KIND = "consultation"
REMINDER_KIND = "consultation_reminder"
PERMISSION = "can_consult"
QUESTION_MAX = 20000
MAX_ATTACHED_MESSAGES = 50
QUOTE_MAX = 20000  # characters quoted of each attached message


def _event(case: Case, action: str, **details) -> None:
    record_event(
        db.session,
        case,
        action,
        details={k: v for k, v in details.items() if v is not None} or None,
    )


def may_consult(user) -> bool:
    return user is not None and user_may(user, PERMISSION, case_actions.CASE_ACTION)


def active_departments() -> list[Department]:
    return list(
        db.session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.name)
        )
    )


def _department(department_id) -> Department:
    number = parse_id(department_id, field="department_id")
    if number is None:
        raise DeskError("Choose the department to consult.")
    department = db.session.get(Department, number)
    if department is None or not department.active:
        raise DeskError(f"No active department #{number}.")
    return department


def _attached_messages(case: Case, message_ids) -> list[Message]:
    if message_ids in (None, ""):
        return []
    if isinstance(message_ids, (str, int)):
        message_ids = [message_ids]
    if not isinstance(message_ids, (list, tuple)):
        raise DeskError("'message_ids' must be a list of message ids.")
    if len(message_ids) > MAX_ATTACHED_MESSAGES:
        raise DeskError(f"Attach at most {MAX_ATTACHED_MESSAGES} messages.")
    ids = [parse_id(value, field="message_ids") for value in message_ids]
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    if not wanted:
        return []
    found = {
        m.id: m
        for m in db.session.scalars(
            select(Message).where(Message.id.in_(wanted), Message.case_id == case.id)
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise DeskError(
            f"Message(s) {', '.join(f'#{i}' for i in missing)} are not part of {case.number}."
        )
    return sorted(found.values(), key=lambda m: (m.created_at, m.id))


def _quoted(message: Message) -> str:
    who = message.from_address or (message.author.username if message.author else "")
    head = f"--- {message.direction} {message.created_at:%Y-%m-%d %H:%M}"
    head += f" {who}" if who else ""
    head += f": {message.subject}" if message.subject else ""
    text = (message.body_text or "").strip()[:QUOTE_MAX]
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    return f"{head} ---\n{quoted}"


def consult(case: Case, department_id, question, message_ids=None) -> Consultation:
    """Ask a department about a case (see the module docstring)."""
    actor = current_actor()
    if actor is None:
        raise Forbidden("Only a person can consult a department.")
    if not may_consult(actor):
        raise Forbidden("Your role may not consult departments.")
    case_actions.ensure_open(case)  # 404 outside his pools, 409 when closed
    if case.status != CaseStatus.UNDER_CONSULTATION:
        check_transition(case.status, CaseStatus.UNDER_CONSULTATION.value)  # 409 naming why
    department = _department(department_id)
    text = parse_text(
        question,
        field="question",
        max_length=QUESTION_MAX,
        required=True,
        what="Write the question for the department.",
    )
    attached = _attached_messages(case, message_ids)
    now = utcnow()
    consultation = Consultation(
        case=case,
        department=department,
        asked_by_id=actor.id,
        question=text,
        status=ConsultationStatus.OPEN.value,
        sent_at=now,
        deadline_at=consultation_deadline(now, department),
    )
    consultation.asked_by = actor
    db.session.add(consultation)
    db.session.flush()  # its id goes into the subject tag
    subject, body = texts.render(texts.QUESTION, consultation)
    if attached:
        body += "\n\n" + "\n\n".join(_quoted(m) for m in attached)
    files = [
        (a.filename or "attachment", a.content_type, store.read_blob(a.sha256))
        for m in attached
        for a in m.attachments
        if not a.inline
    ]
    mailbox = case.mailbox
    sender = mailbox.address if mailbox else current_app.config["MAIL_DEFAULT_SENDER"]
    message = Message(
        direction=MessageDirection.CONSULTATION,
        author_id=actor.id,
        from_address=sender,
        to_addresses=department.email,
        subject=subject,
        body_text=body,
        attachments=[
            Attachment(sha256=store.put_file(data), size=len(data), content_type=ctype, filename=n)
            for n, ctype, data in files
        ],
    )
    message.case = case
    db.session.add(message)
    db.session.flush()
    mail = outbox.queue_mail(
        kind=KIND,
        to=department.email,
        subject=subject,
        text=body,
        case=case,
        mailbox=mailbox,
        attachments=files,
        in_reply_to="",  # a thread of its own: nothing of the customer's mail
        references="",
        message=message,
    )
    message.message_id = mail.message_id
    consultation.message = message
    consultation.message_id = mail.message_id
    case_actions.take_on_answer(case, actor)  # an unassigned case becomes the asker's
    if case.status != CaseStatus.UNDER_CONSULTATION:
        transition(
            case, CaseStatus.UNDER_CONSULTATION.value, reason=f"consulting {department.name}"
        )
    db.session.flush()
    _event(
        case,
        "consultation sent",
        consultation_id=consultation.id,
        department=department.name,
        deadline=consultation.deadline_at.isoformat(sep=" ", timespec="minutes"),
        attached_messages=[m.id for m in attached] or None,
        outbox_id=mail.id,
    )
    db.session.commit()
    return consultation


# --- the department's answer (called by the intake, app.mail.side_replies) -------------------

_ID_RE = re.compile(r"<[^<>\s]+>")
_OUR_KINDS = (KIND, REMINDER_KIND)


def _our_ids(*headers) -> list[str]:
    ids = []
    for header in headers:
        for token in _ID_RE.findall(header or ""):
            if "<ld.consultation" not in token:
                continue  # not ours or another kind: no signature to check
            parsed = identity.parse_message_id(token)
            if parsed is not None and parsed[0] in _OUR_KINDS:
                ids.append(token)
    return ids


def find_consultation(parsed, extra_ids: Sequence[str] = ()) -> Consultation | None:
    """The consultation a mail answers: by the Message-ID of its mail or reminder (signed,
    so nobody forges it), else by the subject tag when the mail comes from the department's
    address (or, from that address, names the case by our body marker or plus-address).
    Cheap for other mail: a query only when it names a consultation or a case of ours."""
    ids = _our_ids(parsed.in_reply_to, parsed.references, *extra_ids)
    if ids:
        found = db.session.scalars(
            select(Consultation)
            .where(or_(Consultation.message_id.in_(ids), Consultation.reminder_message_id.in_(ids)))
            .order_by(Consultation.id.desc())
        ).first()
        if found is not None:
            return found
    sender = (parsed.from_address or "").lower()
    if not sender:
        return None
    tagged = texts.find_tag(parsed.subject)
    if tagged is not None:
        found = db.session.get(Consultation, tagged)
        if found is not None and found.department.email.lower() == sender:
            return found
    # A client that kept neither the ids nor the subject may still have kept our body marker
    # or written to the case's plus-address: from the department itself, that is its answer
    # (else it would join the case as customer mail).
    if sender not in department_addresses():
        return None
    named = mail_threading.case_ids_named_by(parsed, None, extra_ids)
    if named:
        return db.session.scalars(
            select(Consultation)
            .join(Department, Department.id == Consultation.department_id)
            .where(Consultation.case_id.in_(named), func.lower(Department.email) == sender)
            .order_by(Consultation.id.desc())
        ).first()
    return None


_ADDRESSES = "loopdesk_department_addresses"  # session.info: until the transaction ends


def department_addresses() -> frozenset[str]:
    """Every department's address (lower case), read once per transaction: an intake batch
    asks it for each of its mails."""
    info = db.session.info
    if _ADDRESSES not in info:
        info[_ADDRESSES] = frozenset(
            e.lower() for e in db.session.scalars(select(Department.email)) if e
        )
    return info[_ADDRESSES]


def _forget_addresses(session: Session, *args) -> None:
    session.info.pop(_ADDRESSES, None)


_hooked = False


def install_hooks() -> None:
    """Forget the department addresses when a transaction ends (once per process)."""
    global _hooked
    if not _hooked:
        event.listen(Session, "after_commit", _forget_addresses)
        event.listen(Session, "after_soft_rollback", _forget_addresses)
        _hooked = True


def claim_reply(parsed, flags, extra_ids: Sequence[str] = ()) -> SideReply | None:
    """The intake's question (``app.mail.side_replies``): is this mail a department's
    answer? Then it joins that case as a consultation entry."""
    consultation = find_consultation(parsed, extra_ids)
    if consultation is None:
        return None

    def record(message: Message) -> None:
        record_reply(consultation, message, automatic=hygiene.is_automatic(set(flags)))

    return SideReply(
        case=consultation.case,
        direction=MessageDirection.CONSULTATION.value,
        rule="consultation",
        record=record,
    )


def record_reply(consultation: Consultation, message: Message, *, automatic: bool) -> None:
    """What a department's mail does, in the intake's transaction (the intake commits).

    Machine mail (an out-of-office, a bounce) is kept in the thread and recorded, but
    answers nothing. The first answer marks the consultation answered and, when no other
    consultation of the case is still open, gives the case back to the consulting agent,
    in progress. Later mails of the department join the thread only.
    """
    case = consultation.case
    details = {
        "consultation_id": consultation.id,
        "department": consultation.department.name,
        "from": message.from_address,
    }
    if automatic:
        _event(case, "consultation auto-reply received", **details)
        return
    if consultation.answered_at is not None:
        _event(case, "consultation reply added", **details)
        return
    now = utcnow()
    consultation.answered_at = now
    consultation.status = ConsultationStatus.ANSWERED.value
    consultation.answer_message = message
    _event(
        case,
        "consultation answered",
        on_time=now <= consultation.deadline_at,
        **details,
    )
    still_open = db.session.scalar(
        select(Consultation.id).where(
            Consultation.case_id == case.id,
            Consultation.id != consultation.id,
            Consultation.status != ConsultationStatus.ANSWERED.value,
        )
    )
    if case.status != CaseStatus.UNDER_CONSULTATION or still_open is not None:
        return
    transition(case, CaseStatus.IN_PROGRESS.value, reason="consultation answered")
    asker = consultation.asked_by
    if asker is not None and asker.active and case.assignee_id != asker.id:
        case.assignee = asker


# --- reminders (the periodic job) --------------------------------------------------------------


def send_reminders(now=None) -> list[int]:
    """Remind every department whose consultation is past its deadline, once each (not
    for a case closed meanwhile).

    The guarded ``UPDATE … WHERE reminded_at IS NULL`` is the claim: two runs at once (or a
    job run twice) send one reminder, since only the run whose update hit the row queues the
    mail, in the same transaction.
    """
    now = now or utcnow()
    reminded = []
    with acting_as(None):
        due = db.session.scalars(
            select(Consultation)
            .join(Case, Case.id == Consultation.case_id)
            .where(
                Consultation.status != ConsultationStatus.ANSWERED.value,
                Consultation.deadline_at < now,
                Consultation.reminded_at.is_(None),
                Case.status != CaseStatus.CLOSED.value,  # nobody waits for the answer now
            )
            .order_by(Consultation.deadline_at, Consultation.id)
        ).all()
        for consultation in due:
            claimed = db.session.execute(
                update(Consultation)
                .where(Consultation.id == consultation.id, Consultation.reminded_at.is_(None))
                .values(reminded_at=now, status=ConsultationStatus.OVERDUE.value)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                db.session.rollback()
                continue
            db.session.refresh(consultation)
            _remind(consultation)
            db.session.commit()
            reminded.append(consultation.id)
    return reminded


def _remind(consultation: Consultation) -> None:
    case, department = consultation.case, consultation.department
    subject, body = texts.render(texts.REMINDER, consultation)
    original = consultation.message_id
    mail = outbox.queue_mail(
        kind=REMINDER_KIND,
        to=department.email,
        subject=subject,
        text=body,
        case=case,
        mailbox=case.mailbox,
        in_reply_to=original or "",
        references=original or "",
        automatic=True,
    )
    consultation.reminder_message_id = mail.message_id
    _event(
        case,
        "consultation reminder sent",
        consultation_id=consultation.id,
        department=department.name,
        deadline=consultation.deadline_at.isoformat(sep=" ", timespec="minutes"),
        outbox_id=mail.id,
    )


# --- reading -----------------------------------------------------------------------------------

STATUS_FILTERS = ("open", "overdue", "answered", "all")


def consultations(status: str | None = None, case_id=None) -> list[Consultation]:
    """Consultations the acting user sees (his pools' cases), newest first; ``status``:
    open (not answered, overdue included), overdue (past the deadline), answered, all."""
    stmt = rules.visible(select(Consultation), Consultation)
    status = (status or "all").strip().lower()
    if status not in STATUS_FILTERS:
        raise DeskError(f"'status' is one of {', '.join(STATUS_FILTERS)}.")
    answered = ConsultationStatus.ANSWERED.value
    if status == "open":
        stmt = stmt.where(Consultation.status != answered)
    elif status == "overdue":
        stmt = stmt.where(Consultation.status != answered, Consultation.deadline_at < utcnow())
    elif status == "answered":
        stmt = stmt.where(Consultation.status == answered)
    number = parse_id(case_id, field="case_id")
    if number is not None:
        stmt = stmt.where(Consultation.case_id == number)
    return list(db.session.scalars(stmt.order_by(Consultation.sent_at.desc(), Consultation.id)))


def get_consultation(consultation_id) -> Consultation:
    number = parse_id(consultation_id, field="id")
    found = db.session.get(Consultation, number) if number is not None else None
    if found is None or not rules.is_visible(found):
        raise AccessDenied("No such consultation.")
    return found


def consultations_by_message(case: Case) -> dict[int, Consultation]:
    """The case's consultations by the ids of their thread entries (question and answer)."""
    found: dict[int, Consultation] = {}
    for row in db.session.scalars(select(Consultation).where(Consultation.case_id == case.id)):
        if row.message_row_id:
            found[row.message_row_id] = row
        if row.answer_message_row_id:
            found[row.answer_message_row_id] = row
    return found

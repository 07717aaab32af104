"""A consultation's round trip through real SMTP and the intake: the agent asks, the outbox
delivers to an SMTP server, the department answers that mail, the MTA pipe feeds the answer to
the intake, and the case is back with the agent, the customer none the wiser."""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.message import EmailMessage

from sqlalchemy import func, select

from app.answering import portal
from app.answering.models import ResponseTemplate
from app.audit.actor import acting_as
from app.cases import actions
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus
from app.consultation import services
from app.consultation.models import Consultation, ConsultationStatus
from app.core.timeutil import utcnow
from app.extensions import db
from app.mail.models import RawMessage
from app.outbox.delivery import deliver_due
from app.outbox.models import OutboxMail
from tests.support.records import events, refresh


def _answer(sent, *, sender="finance@company.test", body="Yes, refund the 12 EUR.", refs=True):
    """The department's reply to a mail the SMTP server got, as a mail client writes it."""
    reply = EmailMessage(policy=policy.SMTP)
    reply["From"] = f"Finance <{sender}>"
    reply["To"] = sent["Reply-To"] or sent["From"]
    reply["Subject"] = f"Re: {sent['Subject']}"
    reply["Message-ID"] = "<answer-1@company.test>"
    reply["Date"] = "Thu, 03 Dec 2026 15:00:00 +0000"
    if refs:
        reply["In-Reply-To"] = sent["Message-ID"]
        reply["References"] = " ".join(filter(None, [sent["References"], sent["Message-ID"]]))
    quoted = "\n".join(f"> {line}" for line in sent.get_body(("plain",)).get_content().splitlines())
    reply.set_content(f"{body}\n\nOn Thursday you wrote:\n{quoted}\n")
    return reply.as_bytes()


def _pipe(runner, raw: bytes, recipient="a@desk.test"):
    """What the MTA runs for a mail to the desk (``flask mail pipe``)."""
    result = runner.invoke(
        args=["mail", "pipe", "--mailbox", "a@desk.test", "--recipient", recipient], input=raw
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def _consult(desk, department, question="May we refund 12 EUR?", message_ids=None):
    with acting_as(desk.user("agent_a")):
        return services.consult(desk.case_a, department.id, question, message_ids or [])


def _delivered(sink, count=1):
    report = deliver_due()
    assert report.sent == count, report
    return sink.messages[-1]


def test_the_departments_answer_threads_back_to_the_agent_never_to_the_customer(
    app, departments, sink, runner, client
):
    desk = departments
    first = desk.case_a.messages[0]
    consultation = _consult(desk, desk.finance, message_ids=[first.id])
    case = refresh(desk.case_a)
    assert case.status == CaseStatus.UNDER_CONSULTATION
    assert case.assignee == desk.user("agent_a")
    assert consultation.deadline_at == consultation.sent_at + timedelta(hours=4)
    # Meanwhile the supervisor takes the case over.
    with acting_as(desk.user("supervisor_a")):
        actions.assign(case, desk.user("supervisor_a").id)

    sent = _delivered(sink)
    envelope = sink.envelopes[-1]
    assert envelope.rcpt_tos == ["finance@company.test"]
    assert sent["From"].addresses[0].addr_spec == "a@desk.test"
    assert f"[Consultation {consultation.id}]" in sent["Subject"]
    assert sent["Message-ID"] == consultation.message_id
    assert sent["In-Reply-To"] is None  # nothing of the customer's thread goes along
    text = sent.get_body(("plain",)).get_content()
    assert "May we refund 12 EUR?" in text
    assert "> Help with: Printer on fire" in text  # the attached message, quoted
    sent_entry = db.session.get(Message, consultation.message_row_id)
    assert sent_entry.direction == MessageDirection.CONSULTATION
    assert "May we refund 12 EUR?" in sent_entry.body_text

    cases_before = db.session.scalar(select(func.count()).select_from(Case))
    output = _pipe(runner, _answer(sent))
    assert f"(case id {case.id})" in output

    case = refresh(case)
    consultation = refresh(consultation)
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.assignee == desk.user("agent_a")  # back to the agent who asked
    assert consultation.status == ConsultationStatus.ANSWERED
    assert consultation.answered_at is not None and consultation.answered_on_time is True
    answer = db.session.get(Message, consultation.answer_message_row_id)
    assert answer.direction == MessageDirection.CONSULTATION
    assert answer.body_text.startswith("Yes, refund the 12 EUR.")
    assert db.session.scalar(select(func.count()).select_from(Case)) == cases_before
    raw = db.session.scalars(select(RawMessage).order_by(RawMessage.id.desc())).first()
    assert raw.outcome == "threaded" and raw.case_id == case.id
    (answered,) = events(case, "consultation answered")
    assert answered.details["department"] == "Finance"
    # No auto-response, and nothing mailed to the customer because of it.
    assert not db.session.scalars(
        select(OutboxMail).where(OutboxMail.recipient == "alice@customer.test")
    ).all()
    # The customer's portal shows his own mail only.
    page = client.get(portal.PORTAL_CASE_PATH + portal.portal_token(case)).get_data(as_text=True)
    assert "Help with: Printer on fire" in page
    assert "refund" not in page
    assert all(
        m.direction in (MessageDirection.INBOUND, MessageDirection.OUTBOUND)
        for m in portal.portal_thread(case)
    )


def test_an_answer_that_lost_its_headers_is_recognised_by_tag_only_from_the_department(
    app, departments, sink, runner
):
    desk = departments
    consultation = _consult(desk, desk.finance)
    sent = _delivered(sink)
    # A stranger copying the subject does not answer the consultation.
    _pipe(runner, _answer(sent, sender="mallory@evil.test", refs=False))
    assert refresh(consultation).status == ConsultationStatus.OPEN
    stray = db.session.scalars(select(Message).where(Message.from_address == "mallory@evil.test"))
    assert all(m.direction != MessageDirection.CONSULTATION for m in stray)

    _pipe(runner, _answer(sent, refs=False).replace(b"answer-1@", b"answer-2@"))
    consultation = refresh(consultation)
    assert consultation.status == ConsultationStatus.ANSWERED
    assert refresh(desk.case_a).status == CaseStatus.IN_PROGRESS


def test_an_out_of_office_of_the_department_answers_nothing(app, departments, sink, runner):
    desk = departments
    consultation = _consult(desk, desk.finance)
    sent = _delivered(sink)
    raw = _answer(sent, body="I am out of the office.").replace(
        b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1
    )
    _pipe(runner, raw)
    assert refresh(consultation).status == ConsultationStatus.OPEN
    assert refresh(desk.case_a).status == CaseStatus.UNDER_CONSULTATION
    assert events(desk.case_a, "consultation auto-reply received")
    entries = [
        m for m in refresh(desk.case_a).messages if "out of the office" in (m.body_text or "")
    ]
    assert [m.direction for m in entries] == [MessageDirection.CONSULTATION]


def test_an_overdue_department_is_reminded_once_in_its_language(app, departments, sink, runner):
    desk = departments
    db.session.add(
        ResponseTemplate(
            name="notice.consultation_reminder",
            language="de",
            subject="Erinnerung: Fall {{ case_number }}",
            body="Bitte antworten Sie bis {{ consultation_deadline }}: {{ question }}",
        )
    )
    db.session.commit()
    consultation = _consult(desk, desk.legal, question="Is this clause valid?")
    _delivered(sink)
    assert services.send_reminders(now=utcnow() + timedelta(hours=47)) == []  # not yet due

    later = utcnow() + timedelta(hours=49)
    assert services.send_reminders(now=later) == [consultation.id]
    assert services.send_reminders(now=later + timedelta(hours=1)) == []  # run again: nothing
    reminder = _delivered(sink)
    assert len(sink.envelopes) == 2
    assert sink.envelopes[-1].rcpt_tos == ["legal@company.test"]
    assert reminder["Subject"].startswith(f"Erinnerung: Fall {desk.case_a.number}")
    assert "Is this clause valid?" in reminder.get_body(("plain",)).get_content()
    assert reminder["In-Reply-To"] == consultation.message_id
    consultation = refresh(consultation)
    assert consultation.status == ConsultationStatus.OVERDUE
    assert consultation.reminded_at == later
    assert len(events(desk.case_a, "consultation reminder sent")) == 1

    # The answer to the reminder answers the consultation: late.
    _pipe(runner, _answer(reminder, sender="legal@company.test", refs=True))
    consultation = refresh(consultation)
    assert consultation.status == ConsultationStatus.ANSWERED
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 1


def test_the_reminder_job_reminds_once_when_run_twice(app, departments, sink):
    from app.consultation.tasks import remind_overdue_consultations

    desk = departments
    consultation = _consult(desk, desk.finance)
    db.session.execute(
        Consultation.__table__.update()
        .where(Consultation.id == consultation.id)
        .values(deadline_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    assert remind_overdue_consultations() == [consultation.id]
    assert remind_overdue_consultations() == []
    deliver_due()
    assert [e.rcpt_tos for e in sink.envelopes] == [["finance@company.test"]] * 2
    assert len(events(desk.case_a, "consultation reminder sent")) == 1


def test_an_answer_with_neither_ids_nor_tag_from_the_department_still_is_one(
    app, departments, sink, runner
):
    """A client that drops In-Reply-To and rewrites the subject keeps our body marker (and
    writes to the case's plus-address): from the department's address it is its answer, not
    customer mail the customer would see."""
    desk = departments
    consultation = _consult(desk, desk.finance)
    sent = _delivered(sink)
    raw = _answer(sent, refs=False).replace(
        f"[Consultation {consultation.id}]".encode(), b"(our reply)"
    )
    _pipe(runner, raw, recipient=sent["Reply-To"])
    assert refresh(consultation).status == ConsultationStatus.ANSWERED
    assert all(
        "refund the 12 EUR" not in (m.body_text or "") for m in portal.portal_thread(desk.case_a)
    )


def test_no_reminder_for_a_case_closed_meanwhile(app, departments, sink):
    desk = departments
    _consult(desk, desk.finance)
    with acting_as(desk.user("agent_a")):
        actions.close(refresh(desk.case_a))
    assert services.send_reminders(now=utcnow() + timedelta(hours=5)) == []

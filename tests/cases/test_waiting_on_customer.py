"""After a reply the next move is the customer's: the case waits on him, its due clock waits,
and his next mail (not his out-of-office) brings it back to the agent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import Event
from app.cases.workflow import CaseStatus, transition
from app.core.timeutil import utcnow
from app.errors import IllegalTransition
from app.extensions import db
from app.mail.intake import receive
from app.mailcore import identity
from tests.mail.helpers import make_mail


def _waiting(case):
    transition(case, CaseStatus.IN_PROGRESS.value)
    transition(case, CaseStatus.WAITING_ON_CUSTOMER.value, reason="answered")
    db.session.commit()
    return case


def test_the_customers_mail_brings_a_waiting_case_back_to_work(desk):
    case = _waiting(desk.case_a)
    result = receive(
        make_mail(
            sender="alice@customer.test",
            subject="Re: it still jams",
            in_reply_to=identity.make_message_id("reply", case.id),
        ),
        mailbox=desk.mailbox_a,
        source="t",
    )
    assert result.case_id == case.id
    db.session.refresh(case)
    assert case.status == CaseStatus.IN_PROGRESS
    moves = db.session.scalars(
        select(Event).where(Event.case_id == case.id, Event.action == "status")
    ).all()
    assert (moves[-1].new_value, moves[-1].details) == (
        "in_progress",
        {"reason": "the customer answered"},
    )


def test_an_out_of_office_does_not_count_as_the_customers_answer(desk):
    case = _waiting(desk.case_a)
    receive(
        make_mail(
            sender="alice@customer.test",
            subject="Out of office",
            headers={"Auto-Submitted": "auto-replied"},
            in_reply_to=identity.make_message_id("reply", case.id),
        ),
        mailbox=desk.mailbox_a,
        source="t",
    )
    db.session.refresh(case)
    assert case.status == CaseStatus.WAITING_ON_CUSTOMER


def test_the_due_clock_waits_while_the_customer_is_asked(desk):
    case = desk.case_a
    case.sla_due_at = utcnow() + timedelta(hours=2)
    _waiting(case)
    assert not case.is_overdue
    case.sla_due_at = utcnow() - timedelta(hours=1)  # the stored time passes meanwhile
    assert not case.is_overdue  # waiting on the customer is never overdue
    transition(case, CaseStatus.IN_PROGRESS.value)
    # back with the two hours it had left, not with the stale stored time
    assert case.sla_due_at > utcnow() + timedelta(hours=1, minutes=59)


def test_a_waiting_case_cannot_go_to_approval(desk):
    case = _waiting(desk.case_a)
    with pytest.raises(IllegalTransition, match="waiting_on_customer"):
        transition(case, CaseStatus.AWAITING_APPROVAL.value)

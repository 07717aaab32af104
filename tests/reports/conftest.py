"""A synthetic desk for the reports, with timestamps chosen so every figure can be worked out
by hand (tests/reports/test_metrics.py shows the sums).

The week of Monday 2026-11-02 to Sunday 2026-11-08 (UTC). Pool A counts business hours
Monday to Friday 08:00-16:00 UTC; pool B has no calendar (round the clock). Rows are
inserted as they would stand after the fact (cases and Events with Core inserts: the ORM
would stamp them with today's time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import insert

from app.audit.models import Event
from app.cases.models import Case, Message, MessageDirection
from app.consultation.models import Consultation, Department
from app.extensions import db
from app.organisation.models import Topic
from app.questionnaires.models import (
    Answer,
    Dictionary,
    DictionaryValue,
    Purpose,
    Question,
    QuestionKind,
    Questionnaire,
)
from app.sla.models import SlaCalendar, SlaOpeningHours

NOW = datetime(2026, 11, 10, 12, 0)  # the moment the report is run


def t(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute)


@dataclass
class Synthetic:
    desk: object
    cases: dict = field(default_factory=dict)
    topics: dict = field(default_factory=dict)


def _case(n, *, pool, status, received, assignee=None, topic=None, mailbox=None, **times) -> int:
    values = dict(
        number=f"SYN-{n}",
        subject=f"synthetic {n}",
        pool_id=pool.id,
        mailbox_id=mailbox.id if mailbox else None,
        topic_id=topic.id if topic else None,
        assignee_id=assignee.id if assignee else None,
        status=status,
        priority=2,
        received_at=received,
        updated_at=received,
        sla_paused_business_seconds=0,
        **times,
    )
    return db.session.execute(insert(Case.__table__).values(**values)).inserted_primary_key[0]


def _status(case_id, at, old, new, actor=None):
    db.session.execute(
        insert(Event.__table__).values(
            case_id=case_id,
            created_at=at,
            actor_id=actor.id if actor else None,
            actor_name=actor.username if actor else "system",
            object_type="case",
            action="status",
            old_value=old,
            new_value=new,
        )
    )


def _mail(case_id, at, direction, author=None):
    db.session.add(
        Message(
            case_id=case_id,
            direction=direction,
            author_id=author.id if author else None,
            subject="x",
            body_text="x",
            created_at=at,
        )
    )


@pytest.fixture
def synthetic(desk):
    d = desk
    agent_a, agent_b = d.user("agent_a"), d.user("agent_b")
    calendar = SlaCalendar(name="Office", time_zone="UTC")
    calendar.hours = [SlaOpeningHours(weekday=w, opens="08:00", closes="16:00") for w in range(5)]
    db.session.add(calendar)
    d.pool_a.sla_calendar = calendar
    t1, t2 = Topic(name="Billing", pool=d.pool_a), Topic(name="Hardware", pool=d.pool_a)
    legal = Department(name="Legal", email="legal@corp.test", response_hours=24)
    finance = Department(name="Finance", email="finance@corp.test", response_hours=24)
    db.session.add_all([t1, t2, legal, finance])
    db.session.flush()
    s = Synthetic(desk=d, topics={"Billing": t1, "Hardware": t2})
    A, B = d.pool_a, d.pool_b
    IN, OUT = MessageDirection.INBOUND.value, MessageDirection.OUTBOUND.value

    # 1: answered and closed on Monday, on time, one reply (one touch); surveyed 5.
    c1 = _case(
        1,
        pool=A,
        status="closed",
        received=t(2, 9),
        assignee=agent_a,
        topic=t1,
        mailbox=d.mailbox_a,
        first_response_at=t(2, 11),
        closed_at=t(2, 15),
        first_response_due_at=t(3, 9),
        resolution_due_at=t(3, 9),
        sla_due_at=t(3, 9),
    )
    _status(c1, t(2, 10), "received", "in_progress", agent_a)
    _status(c1, t(2, 11), "in_progress", "waiting_on_customer", agent_a)
    _status(c1, t(2, 14), "waiting_on_customer", "in_progress")
    _status(c1, t(2, 15), "in_progress", "closed", agent_a)
    _mail(c1, t(2, 9), IN)
    _mail(c1, t(2, 11), OUT, agent_a)
    _mail(c1, t(2, 14), IN)

    # 2: closed late on Thursday after consulting Legal (on time) and Finance (late).
    c2 = _case(
        2,
        pool=A,
        status="closed",
        received=t(2, 14),
        assignee=agent_a,
        topic=t1,
        mailbox=d.mailbox_a,
        first_response_at=t(3, 10),
        closed_at=t(5, 12),
        first_response_due_at=t(3, 14),
        resolution_due_at=t(3, 14),
        sla_due_at=t(3, 14),
    )
    _status(c2, t(2, 15), "received", "in_progress", agent_a)
    _status(c2, t(3, 10), "in_progress", "waiting_on_customer", agent_a)
    _status(c2, t(3, 10, 30), "waiting_on_customer", "under_consultation", agent_a)
    _status(c2, t(4, 9), "under_consultation", "in_progress")
    _status(c2, t(5, 12), "in_progress", "closed", agent_a)
    _mail(c2, t(2, 14), IN)
    _mail(c2, t(3, 10), OUT, agent_a)
    _mail(c2, t(5, 11, 30), OUT, agent_a)
    db.session.add_all(
        [
            Consultation(
                case_id=c2,
                department=legal,
                question="?",
                status="answered",
                sent_at=t(3, 10, 30),
                deadline_at=t(4, 10, 30),
                answered_at=t(4, 9),
            ),
            Consultation(
                case_id=c2,
                department=finance,
                question="?",
                status="answered",
                sent_at=t(3, 11),
                deadline_at=t(4, 11),
                answered_at=t(5, 10),
            ),
        ]
    )

    # 3: from October, closed then; reopened by the customer's mail on Wednesday and closed
    # again (late against its October target); surveyed 3.
    c3 = _case(
        3,
        pool=A,
        status="closed",
        received=t(28, 9, month=10),
        assignee=agent_a,
        topic=t2,
        mailbox=d.mailbox_a,
        first_response_at=t(28, 10, month=10),
        closed_at=t(4, 12),
        first_response_due_at=t(29, 9, month=10),
        resolution_due_at=t(29, 9, month=10),
        sla_due_at=t(29, 9, month=10),
    )
    _status(c3, t(28, 9, 30, month=10), "received", "in_progress", agent_a)
    _status(c3, t(28, 10, month=10), "in_progress", "waiting_on_customer", agent_a)
    _status(c3, t(29, 12, month=10), "waiting_on_customer", "closed")
    _status(c3, t(4, 10), "closed", "in_progress")
    _status(c3, t(4, 12), "in_progress", "closed", agent_a)
    _mail(c3, t(28, 9, month=10), IN)
    _mail(c3, t(28, 10, month=10), OUT, agent_a)
    _mail(c3, t(4, 9, 55), IN)
    _mail(c3, t(4, 11), OUT, agent_a)

    # 4: waiting for an agent since Wednesday, overdue now.
    c4 = _case(
        4,
        pool=A,
        status="received",
        received=t(4, 9),
        mailbox=d.mailbox_a,
        first_response_due_at=t(5, 9),
        resolution_due_at=t(5, 9),
        sla_due_at=t(5, 9),
    )
    _mail(c4, t(4, 9), IN)

    # 5: answered late on Thursday, waiting on the customer (clock paused: not overdue);
    # Legal consulted, no answer yet, past its deadline.
    c5 = _case(
        5,
        pool=A,
        status="waiting_on_customer",
        received=t(5, 9),
        assignee=agent_a,
        topic=t1,
        mailbox=d.mailbox_a,
        first_response_at=t(5, 9, 30),
        first_response_due_at=t(5, 9, 15),
        resolution_due_at=t(6, 9),
        sla_due_at=t(6, 9),
    )
    _status(c5, t(5, 9, 30), "received", "waiting_on_customer", agent_a)
    _mail(c5, t(5, 9), IN)
    _mail(c5, t(5, 9, 30), OUT, agent_a)
    db.session.add(
        Consultation(
            case_id=c5,
            department=legal,
            question="?",
            status="open",
            sent_at=t(5, 10),
            deadline_at=t(6, 10),
        )
    )

    # 6: pool B, round the clock: a weekend case closed on time after Finance answered in
    # time; one reply; surveyed 4.
    c6 = _case(
        6,
        pool=B,
        status="closed",
        received=t(7, 10),
        assignee=agent_b,
        mailbox=d.mailbox_b,
        first_response_at=t(7, 12),
        closed_at=t(8, 8),
        first_response_due_at=t(8, 10),
        resolution_due_at=t(8, 10),
        sla_due_at=t(8, 10),
    )
    _status(c6, t(7, 11), "received", "in_progress", agent_b)
    _status(c6, t(7, 12), "in_progress", "waiting_on_customer", agent_b)
    _status(c6, t(7, 13), "waiting_on_customer", "under_consultation", agent_b)
    _status(c6, t(8, 7), "under_consultation", "in_progress")
    _status(c6, t(8, 8), "in_progress", "closed", agent_b)
    _mail(c6, t(7, 10), IN)
    _mail(c6, t(7, 12), OUT, agent_b)
    db.session.add(
        Consultation(
            case_id=c6,
            department=finance,
            question="?",
            status="answered",
            sent_at=t(7, 13),
            deadline_at=t(8, 13),
            answered_at=t(8, 7),
        )
    )

    # Exit survey (customer) and a wrap-up (agents) with a dictionary.
    survey = Questionnaire(name="Exit survey", purpose=Purpose.EXIT_SURVEY.value, pool=A)
    rating = Question(questionnaire=survey, text="How satisfied?", kind=QuestionKind.RATING.value)
    products = Dictionary(name="Products")
    printer = DictionaryValue(dictionary=products, value="Printer")
    scanner = DictionaryValue(dictionary=products, value="Scanner")
    wrap = Questionnaire(name="Wrap-up", purpose=Purpose.WRAP_UP.value, pool=A)
    product = Question(
        questionnaire=wrap, text="Product", kind=QuestionKind.CHOICE.value, dictionary=products
    )
    db.session.add_all([survey, rating, products, printer, scanner, wrap, product])
    db.session.flush()
    for case_id, score, at in ((c1, 5, t(3, 8)), (c3, 3, t(5, 8)), (c6, 4, t(8, 9))):
        db.session.add(
            Answer(
                case_id=case_id,
                question=rating,
                questionnaire=survey,
                value_text=str(score),
                value_number=float(score),
                answered_at=at,
                context="survey",
            )
        )
    for case_id, value, at in (
        (c1, printer, t(2, 15)),
        (c2, scanner, t(5, 12)),
        (c6, printer, t(8, 8)),
    ):
        db.session.add(
            Answer(
                case_id=case_id,
                question=product,
                questionnaire=wrap,
                dictionary_value=value,
                value_text=value.value,
                answered_by_id=agent_a.id,
                answered_at=at,
                context="close",
            )
        )
    db.session.commit()
    s.cases = {1: c1, 2: c2, 3: c3, 4: c4, 5: c5, 6: c6}
    return s

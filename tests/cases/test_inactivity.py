"""Inactivity: a case waiting on the customer gets a reminder at 7 and 14 days and is closed at
21 with a notice that invites him to answer; the job is idempotent (run twice, no second
mail), every step an Event, and the customer's answer starts the count again."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from app.audit.actor import acting_as
from app.cases import inactivity
from app.cases.models import InactivityNotice
from app.cases.tasks import PeriodicJob, periodic_jobs, remind_inactive_cases
from app.cases.workflow import CaseStatus, transition
from app.extensions import db
from app.outbox.models import OutboxMail
from tests.support.clock import FrozenClock
from tests.support.records import events, refresh

START = datetime(2027, 3, 1, 9, 0)


@pytest.fixture
def clock(monkeypatch):
    return FrozenClock(monkeypatch, START)


def _answered(case):
    """The agent answered: the case waits on the customer from the clock's now."""
    with acting_as(None):
        if case.status == CaseStatus.RECEIVED:
            transition(case, CaseStatus.IN_PROGRESS.value)
        transition(case, CaseStatus.WAITING_ON_CUSTOMER.value, reason="answered")
    db.session.commit()
    return case


def _notices(case):
    return db.session.scalars(
        select(OutboxMail)
        .where(OutboxMail.case_id == case.id, OutboxMail.kind == "notification")
        .order_by(OutboxMail.id)
    ).all()


def test_reminders_at_7_and_14_days_and_the_close_at_21_each_once(desk, clock):
    case = _answered(desk.case_a)
    clock.advance(days=6, hours=23)
    assert inactivity.run_inactivity() == []
    clock.set(START.replace(day=8))  # 7 days
    assert inactivity.run_inactivity() == [f"{case.number} reminder 7"]
    assert inactivity.run_inactivity() == []  # twice: no second mail
    (first,) = _notices(case)
    assert "waiting for your answer" in first.subject and case.number in first.subject
    assert first.recipient == "alice@customer.test"
    clock.set(START.replace(day=15))  # 14 days
    assert inactivity.run_inactivity() == [f"{case.number} reminder 14"]
    assert remind_inactive_cases() == []  # the scheduled job, again: nothing more
    assert len(_notices(case)) == 2
    clock.set(START.replace(day=22))  # 21 days
    assert inactivity.run_inactivity() == [f"{case.number} closed 21"]
    assert inactivity.run_inactivity() == []
    case = refresh(case)
    assert case.status == CaseStatus.CLOSED
    mails = _notices(case)
    assert len(mails) == 3
    assert "has been closed" in mails[-1].subject
    closing = [e for e in events(case, "status") if e.new_value == "closed"][-1]
    assert closing.details == {"reason": "no answer from the customer for 21 days"}
    assert closing.actor_id is None  # the desk closed it
    steps = [(e.action, e.details.get("days")) for e in events(case) if "inactivity" in e.action]
    assert steps == [
        ("inactivity reminder", 7),
        ("inactivity reminder", 14),
        ("closed for inactivity", 21),
    ]
    assert db.session.query(InactivityNotice).filter_by(case_id=case.id).count() == 3


def test_a_job_that_missed_days_sends_only_the_latest_reminder(desk, clock):
    case = _answered(desk.case_a)
    clock.set(START.replace(day=16))  # 15 days, the job ran never before
    assert inactivity.run_inactivity() == [f"{case.number} reminder 14"]
    assert len(_notices(case)) == 1


def test_the_customers_answer_starts_the_count_again(desk, clock):
    case = _answered(desk.case_a)
    clock.set(START.replace(day=8))
    assert inactivity.run_inactivity() == [f"{case.number} reminder 7"]
    clock.set(START.replace(day=9))  # the customer answers, the agent replies a day later
    with acting_as(None):
        transition(case, CaseStatus.IN_PROGRESS.value, reason="the customer answered")
    db.session.commit()
    clock.set(START.replace(day=10))
    _answered(case)
    clock.set(START.replace(day=16))  # 15 days after the first wait, 6 after the second
    assert inactivity.run_inactivity() == []
    clock.set(START.replace(day=17))  # 7 days into the new wait
    assert inactivity.run_inactivity() == [f"{case.number} reminder 7"]
    clock.set(START.replace(day=25))  # 24 days after the first, 15 after the second
    assert inactivity.run_inactivity() == [f"{case.number} reminder 14"]
    assert refresh(case).status == CaseStatus.WAITING_ON_CUSTOMER


def test_a_case_that_is_worked_on_again_is_left_alone(desk, clock):
    case = _answered(desk.case_a)
    with acting_as(None):
        transition(case, CaseStatus.IN_PROGRESS.value, reason="the customer answered")
    db.session.commit()
    clock.set(START.replace(day=30))
    assert inactivity.run_inactivity() == []
    assert refresh(case).status == CaseStatus.IN_PROGRESS


@pytest.mark.parametrize(
    ("language", "reminder", "closed"),
    [
        ("de", "Wir warten auf Ihre Antwort", "wurde geschlossen"),
        ("pl", "Czekamy na Twoją odpowiedź", "zostało zamknięte"),
        ("sv", "Vi väntar på ditt svar", "har stängts"),
        ("en", "We are waiting for your answer", "has been closed"),
    ],
)
def test_the_notices_speak_the_customers_language(desk, clock, language, reminder, closed):
    desk.customer_a.language = language
    case = _answered(desk.case_a)
    clock.set(START.replace(day=8))
    inactivity.run_inactivity()
    clock.set(START.replace(day=22))
    inactivity.run_inactivity()
    first, last = _notices(case)
    assert reminder in first.subject
    assert closed in last.subject


def test_pool_settings_change_the_days_and_empty_turns_it_off(desk, clock):
    desk.pool_a.inactivity_reminder_days = "2"
    desk.pool_a.inactivity_close_days = 3
    desk.pool_b.inactivity_reminder_days = None
    desk.pool_b.inactivity_close_days = None
    case_a, case_b = _answered(desk.case_a), _answered(desk.case_b)
    clock.set(START.replace(day=3))
    assert inactivity.run_inactivity() == [f"{case_a.number} reminder 2"]
    clock.set(START.replace(day=31))
    assert inactivity.run_inactivity() == [f"{case_a.number} closed 3"]
    assert refresh(case_b).status == CaseStatus.WAITING_ON_CUSTOMER
    assert _notices(case_b) == []


def test_the_job_is_scheduled():
    assert PeriodicJob(remind_inactive_cases, "default", 900) in periodic_jobs()

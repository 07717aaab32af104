"""Supervisors are warned before a breach, once per target; a breach is recorded once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.cases import actions
from app.cases.workflow import CaseStatus, transition
from app.extensions import db
from app.features import periodic_jobs
from app.outbox.models import OutboxMail
from app.sla import services
from app.sla.models import SlaAlert
from tests.sla.helpers import office_pool, open_at
from tests.support.records import events, refresh


def utc(*args) -> datetime:
    return datetime(*args)


def _alerts(case) -> list[str]:
    db.session.expire_all()
    rows = db.session.scalars(select(SlaAlert).where(SlaAlert.case_id == case.id)).all()
    return sorted(f"{a.target}:{a.kind}" for a in rows)


def _warning_mails() -> list[OutboxMail]:
    return db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "alert")).all()


def test_a_case_due_soon_warns_the_supervisors_once(desk):
    office_pool(desk)  # first response 2 h, resolution 8 h, warn 60 min (desk default)
    case = open_at(desk, utc(2026, 12, 1, 7))  # Tuesday 08:00 local, due 10:00 local
    assert services.check_due_cases(now=utc(2026, 12, 1, 7, 30)).warned == []
    frozen = utc(2026, 12, 1, 8, 15)  # 45 business minutes before
    assert services.check_due_cases(now=frozen).warned == [case.number]
    assert services.check_due_cases(now=frozen).warned == []  # the same run again: nothing
    [mail] = _warning_mails()
    assert mail.recipient == desk.user("supervisor_a").email
    assert case.number in mail.subject and "first response" in mail.subject
    [event] = events(refresh(case), "sla warning")
    assert event.details["target"] == "first_response"
    assert event.details["to"] == [desk.user("supervisor_a").email]
    assert _alerts(case) == ["first_response:warning"]


def test_after_the_first_response_the_resolution_may_warn_once_more(desk):
    office_pool(desk)
    case = open_at(desk, utc(2026, 12, 1, 7))
    services.check_due_cases(now=utc(2026, 12, 1, 8, 15))
    transition(case, CaseStatus.IN_PROGRESS.value, at=utc(2026, 12, 1, 8, 20))
    actions.record_answer(case)  # waits on the customer: no warning while it waits
    db.session.commit()
    assert services.check_due_cases(now=utc(2026, 12, 1, 14, 30)).warned == []
    transition(case, CaseStatus.IN_PROGRESS.value, at=utc(2026, 12, 1, 8, 30))
    db.session.commit()
    case = refresh(case)
    assert case.sla_due_at == case.resolution_due_at
    calendar = services.business_calendar(case.pool.sla_calendar)
    near = calendar.add_business(case.resolution_due_at, -timedelta(minutes=30))
    assert services.check_due_cases(now=near).warned == [case.number]
    assert services.check_due_cases(now=near).warned == []
    assert _alerts(case) == ["first_response:warning", "resolution:warning"]
    assert len(events(case, "sla warning")) == 2
    assert len(_warning_mails()) == 2


def test_a_breach_is_recorded_once(desk):
    office_pool(desk)
    case = open_at(desk, utc(2026, 12, 1, 7))
    late = utc(2026, 12, 1, 9, 30)  # due 09:00 UTC
    assert services.check_due_cases(now=late).breached == [case.number]
    assert services.check_due_cases(now=late).breached == []
    [event] = events(refresh(case), "sla breached")
    assert event.details == {"target": "first_response", "due": "2026-12-01 09:00"}
    assert _alerts(case) == ["first_response:breach"]
    assert _warning_mails() == []  # passed before any run saw it coming: no late warning


def test_a_waiting_case_is_not_warned(desk):
    office_pool(desk)
    case = open_at(desk, utc(2026, 12, 1, 7))
    transition(case, CaseStatus.IN_PROGRESS.value, at=utc(2026, 12, 1, 7, 10))
    transition(case, CaseStatus.WAITING_ON_CUSTOMER.value, at=utc(2026, 12, 1, 7, 20))
    db.session.commit()
    report = services.check_due_cases(now=utc(2026, 12, 1, 12))
    assert (report.warned, report.breached) == ([], [])


def test_a_policys_own_warning_time(desk):
    office_pool(desk, warn_minutes=10)
    case = open_at(desk, utc(2026, 12, 1, 7))  # due 09:00 UTC
    assert services.check_due_cases(now=utc(2026, 12, 1, 8, 45)).warned == []
    assert services.check_due_cases(now=utc(2026, 12, 1, 8, 55)).warned == [case.number]


def test_the_job_is_scheduled():
    names = {job.func.__name__ for job in periodic_jobs()}
    assert "check_due_cases" in names

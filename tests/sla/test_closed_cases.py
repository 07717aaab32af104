"""A closed case's SLA clock has stopped: no list, count, mark, API answer or job calls it
overdue, and its due times are final (what it was measured against) until it is reopened."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.audit.actor import acting_as
from app.cases import actions, queues
from app.cases.workflow import CaseStatus as S
from app.cases.workflow import transition
from app.core.priority import Priority
from app.extensions import db
from app.sla import services
from tests.sla.helpers import office_pool, open_at
from tests.support.clock import FrozenClock
from tests.support.records import events, refresh


def utc(*args) -> datetime:
    return datetime(*args)


def _closed_overdue(desk, monkeypatch):
    """Pool A's case, due Tuesday 10:00 local, closed unanswered at 11:00: late, and closed."""
    office_pool(desk)
    clock = FrozenClock(monkeypatch, utc(2026, 12, 1, 7))
    case = open_at(desk, utc(2026, 12, 1, 7))  # Tuesday 08:00 local
    case.assignee = desk.user("agent_a")
    transition(case, S.IN_PROGRESS.value, at=utc(2026, 12, 1, 7, 30))
    db.session.commit()
    clock.set(utc(2026, 12, 1, 10))
    with acting_as(None):
        transition(case, S.CLOSED.value)
    db.session.commit()
    clock.set(utc(2026, 12, 3, 12))  # two days later
    return refresh(case), clock


def test_a_closed_case_is_never_marked_or_counted_overdue(desk, client, auth, monkeypatch):
    case, _clock = _closed_overdue(desk, monkeypatch)
    assert case.sla_due_at < utc(2026, 12, 3, 12)
    assert case.due_state == "ok" and not case.is_overdue and not case.is_due_soon
    assert "ld-overdue" not in case.due_badge()
    auth.login("agent_a")
    listing = client.get("/cases/list/").get_data(as_text=True)
    assert case.number in listing
    row = listing.split(case.number, 1)[1].split("</tr>", 1)[0]
    assert "ld-overdue" not in row and "Overdue" not in row
    assert "overdue" not in client.get("/desk/mine").get_data(as_text=True).lower()
    with acting_as(desk.user("agent_a")):
        assert queues.counts().mine_overdue == 0
    page = client.get(f"/cases/show/{case.id}").get_data(as_text=True)
    assert "ld-overdue" not in page and "due soon" not in page
    # The breach job leaves it alone: no "sla breached" Event, no warning.
    report = services.check_due_cases()
    assert case.number not in report.breached + report.warned
    assert events(refresh(case), "sla breached") == []


def test_a_closed_cases_due_times_are_final(desk, monkeypatch):
    case, _clock = _closed_overdue(desk, monkeypatch)
    before = (case.sla_due_at, case.first_response_due_at, case.resolution_due_at)
    # Whatever door changes a closed case's priority or pool (the editing services refuse;
    # a script, an import or an admin's SQL do not ask), its targets stay.
    case.priority = Priority.URGENT
    case.pool = desk.pool_b
    db.session.commit()
    case = refresh(case)
    assert (case.sla_due_at, case.first_response_due_at, case.resolution_due_at) == before


def test_a_case_closed_while_it_waited_goes_on_from_its_pause_when_reopened(desk, monkeypatch):
    """Closed while waiting on the customer (the clock stopped), reopened: the clock runs
    again with the time it had left, and a later wait pauses it again."""
    office_pool(desk)
    clock = FrozenClock(monkeypatch, utc(2026, 11, 30, 7))
    case = open_at(desk, utc(2026, 11, 30, 7))  # Monday 08:00 local, first response 10:00
    transition(case, S.IN_PROGRESS.value, at=utc(2026, 11, 30, 7, 30))
    transition(case, S.WAITING_ON_CUSTOMER.value, at=utc(2026, 11, 30, 8))  # 1 h left
    db.session.commit()
    clock.set(utc(2026, 12, 1, 8))
    with acting_as(None):
        transition(refresh(case), S.CLOSED.value)
    db.session.commit()
    assert refresh(case).sla_due_at == utc(2026, 11, 30, 9)  # kept while closed
    clock.set(utc(2026, 12, 2, 8))  # reopened Wednesday 09:00 local: 1 h left → 10:00
    with acting_as(desk.user("agent_a")):
        actions.reopen(refresh(case), reason="the customer wrote again")
    case = refresh(case)
    assert case.status == S.IN_PROGRESS
    assert case.sla_due_at == utc(2026, 12, 2, 9) and case.sla_paused_at is None
    clock.set(utc(2026, 12, 2, 8, 30))  # postponed after half an hour: 30 min left
    transition(case, S.POSTPONED.value)
    db.session.commit()
    assert refresh(case).sla_paused_at == utc(2026, 12, 2, 8, 30)
    assert refresh(case).sla_paused_seconds == int(timedelta(minutes=30).total_seconds())

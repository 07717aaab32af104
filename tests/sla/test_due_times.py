"""Cases get their due times on the pool's business calendar and policy: across nights,
weekends, holidays and DST; the clock waits while the case does; changes recompute them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.audit.actor import acting_as
from app.cases import actions
from app.cases.workflow import CaseStatus, transition
from app.core.priority import Priority
from app.core.timeutil import utcnow
from app.extensions import db
from app.organisation.models import Topic
from app.sla import services
from app.sla.models import SlaPolicy
from tests.sla.helpers import office_pool, open_at
from tests.support.clock import FrozenClock
from tests.support.records import events, refresh

S = CaseStatus


def utc(*args) -> datetime:
    return datetime(*args)


def test_a_case_in_the_evening_is_due_the_next_morning(desk):
    office_pool(desk)
    # Tuesday 16:00 local (closing time): 2 h first response, 8 h resolution.
    case = open_at(desk, utc(2026, 12, 1, 15))
    assert case.first_response_due_at == utc(2026, 12, 2, 9)  # Wednesday 10:00 local
    assert case.resolution_due_at == utc(2026, 12, 2, 15)  # Wednesday 16:00 local
    assert case.sla_due_at == case.first_response_due_at


def test_a_case_on_friday_afternoon_is_due_on_monday(desk):
    office_pool(desk)
    case = open_at(desk, utc(2026, 12, 4, 14))  # Friday 15:00 local
    assert case.first_response_due_at == utc(2026, 12, 7, 8)  # Monday 09:00 local


def test_christmas_in_poland_is_not_counted(desk):
    office_pool(desk)
    # Wednesday 23 December 15:00 local; the 24th, 25th and 26th are holidays.
    case = open_at(desk, utc(2026, 12, 23, 14))
    assert case.first_response_due_at == utc(2026, 12, 28, 8)  # Monday 09:00 local
    on_the_24th = open_at(desk, utc(2026, 12, 24, 9))
    assert on_the_24th.first_response_due_at == utc(2026, 12, 28, 9)  # Monday 10:00 local


@pytest.mark.parametrize(
    "received, due",
    [
        # Friday 27 March 15:00 CET; the clocks jump on Sunday: Monday 09:00 CEST.
        (utc(2026, 3, 27, 14), utc(2026, 3, 30, 7)),
        # Friday 23 October 15:00 CEST; back on Sunday: Monday 09:00 CET.
        (utc(2026, 10, 23, 13), utc(2026, 10, 26, 8)),
    ],
)
def test_due_times_across_the_change_of_the_clocks(desk, received, due):
    office_pool(desk)
    assert open_at(desk, received).first_response_due_at == due


def test_without_a_policy_the_pools_hours_count_on_its_calendar_or_round_the_clock(desk):
    office_pool(desk)
    db.session.query(SlaPolicy).update({"active": False})
    db.session.commit()
    # Pool A: 8 hours on the calendar: Tuesday 15:00 local + 1 h, then 7 h on Wednesday.
    case = open_at(desk, utc(2026, 12, 1, 14))
    assert case.first_response_due_at == case.resolution_due_at == utc(2026, 12, 2, 14)
    # Pool B: no calendar, no policy: today's rule, 24 hours round the clock.
    other = open_at(desk, utc(2026, 12, 1, 14), pool=desk.pool_b)
    assert other.sla_due_at == utc(2026, 12, 2, 14)


def test_the_most_specific_policy_wins(desk):
    office_pool(desk)
    billing = Topic(name="Billing", pool=desk.pool_a)
    refunds = Topic(name="Refunds", parent=billing, pool=desk.pool_a)
    db.session.add_all([billing, refunds])
    db.session.flush()
    specs = {
        "urgent": dict(priority=int(Priority.URGENT), first_response_minutes=30),
        "billing": dict(topic=billing, first_response_minutes=60),
        "billing urgent": dict(
            topic=billing, priority=int(Priority.URGENT), first_response_minutes=15
        ),
    }
    for name, spec in specs.items():
        db.session.add(SlaPolicy(name=name, pool=desk.pool_a, resolution_minutes=480, **spec))
    db.session.commit()

    def policy(topic=None, priority=Priority.NORMAL):
        case = open_at(desk, utc(2026, 12, 1, 8), topic=topic, priority=int(priority))
        return services.policy_for(case).name

    assert policy() == "Pool A standard"
    assert policy(priority=Priority.URGENT) == "urgent"
    assert policy(topic=billing) == "billing"
    assert policy(topic=refunds) == "billing"  # a subtopic falls under its parent's
    assert policy(topic=refunds, priority=Priority.URGENT) == "billing urgent"
    case = open_at(desk, utc(2026, 12, 1, 8), topic=billing, priority=int(Priority.URGENT))
    assert case.first_response_due_at == utc(2026, 12, 1, 8, 15)  # 09:15 local


def test_a_second_policy_for_the_same_scope_is_refused(desk):
    office_pool(desk)
    twin = SlaPolicy(
        name="twin", pool=desk.pool_a, first_response_minutes=10, resolution_minutes=20
    )
    with pytest.raises(services.DeskError, match="already covers"):
        services.check_policy(twin)
    db.session.rollback()


def test_the_first_response_turns_the_due_time_to_the_resolution(desk):
    office_pool(desk)
    case = open_at(desk, utc(2026, 12, 1, 7))  # Tuesday 08:00 local
    first_due = case.first_response_due_at
    transition(case, S.IN_PROGRESS.value, at=utc(2026, 12, 1, 7, 30))
    actions.record_answer(case)  # the reply is sent: the case now waits on the customer
    db.session.commit()
    case = refresh(case)
    assert case.first_response_due_at == first_due
    assert case.sla_due_at == case.resolution_due_at == utc(2026, 12, 1, 15)
    assert case.status == S.WAITING_ON_CUSTOMER
    assert any(e.field == "sla_due_at" for e in events(case, "changed"))


@pytest.mark.parametrize("waiting", [S.POSTPONED, S.WAITING_ON_CUSTOMER])
def test_the_clock_waits_while_the_case_does(desk, waiting):
    office_pool(desk)
    case = open_at(desk, utc(2026, 11, 30, 7))  # Monday 08:00 local
    assert case.first_response_due_at == utc(2026, 11, 30, 9)
    transition(case, S.IN_PROGRESS.value, at=utc(2026, 11, 30, 7, 30))
    transition(case, waiting.value, at=utc(2026, 11, 30, 8))  # 1 h used, 1 h left
    db.session.commit()
    assert case.due_state_at(utc(2026, 12, 2, 12)) == "paused"  # never overdue meanwhile
    # Back on Wednesday 13:00 local: the hour left runs from then.
    transition(case, S.IN_PROGRESS.value, at=utc(2026, 12, 2, 12))
    db.session.commit()
    case = refresh(case)
    assert case.sla_due_at == case.first_response_due_at == utc(2026, 12, 2, 13)
    # 7 h of resolution were left: 3 h on Wednesday, 4 h on Thursday → 12:00 local.
    assert case.resolution_due_at == utc(2026, 12, 3, 11)
    assert case.sla_paused_at is None
    assert case.sla_paused_business_seconds == 20 * 3600  # Mon 7 h, Tue 8 h, Wed 5 h


def test_postpone_then_return_through_the_actions(desk):
    calendar = services.business_calendar(office_pool(desk))
    case = open_at(desk, utcnow())
    with acting_as(desk.user("agent_a")):
        actions.claim(case)
        actions.postpone(case, "2099-01-05T10:00", notify=False)
    case = refresh(case)
    assert case.sla_paused_at is not None
    left = calendar.business_between(case.sla_paused_at, case.sla_due_at)
    actions.return_postponed_cases(now=datetime(2099, 1, 5, 10))
    case = refresh(case)
    assert case.status == S.IN_PROGRESS
    # Back with the business time it had left when it was postponed.
    again = calendar.business_between(datetime(2099, 1, 5, 10), case.sla_due_at)
    assert abs(again - left) < timedelta(seconds=1)  # the waits are kept in whole seconds


def test_a_change_of_priority_or_pool_recomputes_the_due_times(desk):
    office_pool(desk)
    db.session.add(
        SlaPolicy(
            name="urgent",
            pool=desk.pool_a,
            priority=int(Priority.URGENT),
            first_response_minutes=30,
            resolution_minutes=120,
        )
    )
    db.session.commit()
    case = open_at(desk, utc(2026, 12, 1, 8))  # Tuesday 09:00 local
    assert case.first_response_due_at == utc(2026, 12, 1, 10)
    with acting_as(desk.user("supervisor_a")):
        actions.edit(case, {"priority": int(Priority.URGENT)})
    case = refresh(case)
    assert case.first_response_due_at == utc(2026, 12, 1, 8, 30)
    assert case.resolution_due_at == utc(2026, 12, 1, 10)
    [change] = [e for e in events(case, "changed") if e.field == "sla_due_at"]
    assert change.new_value.startswith("2026-12-01 08:30")
    # Forwarded to pool B (no calendar, no policy): 24 hours round the clock from arrival.
    with acting_as(desk.user("agent_a")):
        actions.forward(case, note="belongs to B", pool_id=desk.pool_b.id)
    assert refresh(case).sla_due_at == utc(2026, 12, 2, 8)


def test_a_change_of_topic_recomputes_the_due_times(desk):
    office_pool(desk)
    vip = Topic(name="VIP", pool=desk.pool_a)
    db.session.add(vip)
    db.session.flush()
    db.session.add(
        SlaPolicy(
            name="vip",
            pool=desk.pool_a,
            topic=vip,
            first_response_minutes=10,
            resolution_minutes=60,
        )
    )
    db.session.commit()
    case = open_at(desk, utc(2026, 12, 1, 8))
    with acting_as(desk.user("agent_a")):
        actions.reroute(case, topic_id=vip.id)
    assert refresh(case).sla_due_at == utc(2026, 12, 1, 8, 10)


def test_due_state_marks(desk):
    office_pool(desk, warn_minutes=60)
    case = open_at(desk, utc(2026, 12, 4, 13))  # Friday 14:00 local: due 16:00 local
    assert case.sla_due_at == utc(2026, 12, 4, 15)
    assert case.due_state_at(utc(2026, 12, 4, 13)) == "ok"
    assert case.due_state_at(utc(2026, 12, 4, 14, 30)) == "due_soon"
    assert case.due_state_at(utc(2026, 12, 4, 15, 1)) == "overdue"
    monday = open_at(desk, utc(2026, 12, 4, 14, 30))  # due Monday 09:30 local
    # Friday 15:50 local: 10 business minutes today and 90 on Monday: not yet due soon;
    # Monday 08:40 local is.
    assert monday.due_state_at(utc(2026, 12, 4, 14, 50)) == "ok"
    assert monday.due_state_at(utc(2026, 12, 7, 7, 40)) == "due_soon"


def test_an_answered_case_waits_with_its_resolution_time_and_keeps_it_when_closed(
    desk, monkeypatch
):
    office_pool(desk)
    clock = FrozenClock(monkeypatch, utc(2026, 12, 1, 8))  # Tuesday 09:00 local
    case = open_at(desk, utc(2026, 12, 1, 7))  # Tuesday 08:00 local: resolution due 16:00
    transition(case, S.IN_PROGRESS.value, at=utc(2026, 12, 1, 7, 30))
    actions.record_answer(case)  # at 09:00: the wait keeps the 7 h left of the resolution
    db.session.commit()
    case = refresh(case)
    assert case.status == S.WAITING_ON_CUSTOMER
    assert case.sla_paused_seconds == 7 * 3600
    # The customer answers on Wednesday 09:00 local: the 7 h run from then, to 16:00.
    clock.set(utc(2026, 12, 2, 8))
    transition(case, S.IN_PROGRESS.value)
    db.session.commit()
    case = refresh(case)
    assert case.sla_due_at == case.resolution_due_at == utc(2026, 12, 2, 15)
    # Answered again and closed while it waits: the due time stays where it was.
    actions.record_answer(case)
    db.session.commit()
    with acting_as(None):
        transition(case, S.CLOSED.value, at=utc(2026, 12, 3, 8))
    db.session.commit()
    assert refresh(case).sla_due_at == utc(2026, 12, 2, 15)

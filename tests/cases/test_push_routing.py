"""Push routing (optional per pool): a new case goes at once to the next eligible member by
round robin or least loaded, skipping absent agents, those without the skill and those at the
pool's cap; without anyone it waits for Get next, and the periodic job pushes it later. Get
next obeys the cap too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.agents.models import Absence, AgentProfile, PoolMembership
from app.audit.actor import acting_as
from app.cases import actions, push, routing, services
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.extensions import db
from app.mail.intake import receive
from app.organisation.models import Pool, Skill
from app.security.bootstrap import create_user
from tests.mail.helpers import make_mail
from tests.support.desk import PASSWORD
from tests.support.records import agent_profile, events, refresh


def _member(desk, username, pool, *, skills=()):
    user = create_user(username, "Agent", password=PASSWORD.format(username))
    profile = AgentProfile(user_id=user.id, skills=list(skills))
    db.session.add(profile)
    db.session.flush()
    db.session.add(PoolMembership(agent_id=profile.id, pool_id=pool.id, priority=1))
    db.session.commit()
    desk.users[username] = user
    return user


@pytest.fixture
def crew(desk):
    """Pool A pushes by round robin to agent_a, x1 and x2 (ids in that order); supervisor_a's
    membership is a supervisor's and gets nothing pushed. The desk's first case is out of
    the way (closed)."""
    _member(desk, "x1", desk.pool_a)
    _member(desk, "x2", desk.pool_a)
    desk.pool_a.routing = "round_robin"
    with acting_as(None):
        actions.close(desk.case_a)
    db.session.commit()
    return desk


def _open(desk, subject, **fields):
    """A case opened for a customer by agent_a (the agents' door), pushed if the pool does."""
    with acting_as(desk.user("agent_a")):
        case = actions.open_for_customer(
            pool_id=desk.pool_a.id, subject=subject, customer_email="c@customer.test"
        )
    if fields:
        for name, value in fields.items():
            setattr(case, name, value)
        db.session.commit()
    return refresh(case)


def _who(case):
    case = refresh(case)
    return case.assignee.username if case.assignee else None


def _away(desk, username):
    now = utcnow()
    db.session.add(
        Absence(
            agent=agent_profile(desk.user(username)),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
        )
    )
    db.session.commit()


def test_round_robin_takes_the_members_in_turn_and_says_so(crew):
    got = [_who(_open(crew, f"case {n}")) for n in range(4)]
    assert got == ["agent_a", "x1", "x2", "agent_a"]
    assert refresh(crew.pool_a).last_routed_user_id == crew.user("agent_a").id
    case = db.session.query(Case).filter_by(subject="case 1").one()
    (event,) = events(case, "assigned by round robin")
    assert (event.field, event.old_value, event.new_value) == ("assignee", None, "x1")


def test_round_robin_skips_the_absent_and_those_at_the_cap(crew):
    crew.pool_a.max_open_per_agent = 1
    db.session.commit()
    _away(crew, "x1")
    assert _who(_open(crew, "first")) == "agent_a"
    assert _who(_open(crew, "second")) == "x2"  # x1 is away
    # agent_a and x2 have one open case each: the pool's cap; x1 is still away
    third = _open(crew, "third")
    assert _who(third) is None
    assert third.status == "received"  # it waits for Get next
    assert events(third, "assigned by round robin") == []


def test_round_robin_skips_members_without_the_required_skill(crew):
    german = Skill(name="German")
    db.session.add(german)
    db.session.flush()
    agent_profile(crew.user("x2")).skills = [german]
    db.session.commit()
    with acting_as(None):
        case = services.open_case(
            pool=crew.pool_a, subject="Rechnung", required_skill=german, commit=False
        )
        db.session.flush()
        assert push.push_case(case).username == "x2"
    db.session.commit()


def test_least_loaded_gives_the_case_to_the_member_with_fewest_open_cases(crew):
    crew.pool_a.routing = "least_loaded"
    db.session.commit()
    for owner, count in (("agent_a", 2), ("x2", 1)):
        for n in range(count):
            case = _open(crew, f"{owner} {n}")
            case.assignee = crew.user(owner)
            db.session.commit()
    # agent_a 2, x1 0, x2 1: x1, then x1 and x2 tie at 1 (the lower id: x1), then x2
    got = [_who(_open(crew, f"new {n}")) for n in range(3)]
    assert got == ["x1", "x1", "x2"]
    case = db.session.query(Case).filter_by(subject="new 0").one()
    assert [e.new_value for e in events(case, "assigned by least loaded")] == ["x1"]


def test_with_nobody_eligible_the_case_waits_and_the_job_pushes_it_on_return(crew):
    for name in ("agent_a", "x1", "x2"):
        _away(crew, name)
    case = _open(crew, "nobody here")
    assert _who(case) is None
    assert push.push_waiting_cases() == []  # still nobody
    db.session.query(Absence).filter(Absence.agent_id == agent_profile(crew.user("x2")).id).update(
        {"ends_at": utcnow() - timedelta(minutes=1)}
    )
    db.session.commit()
    assert push.push_waiting_cases() == [case.number]
    assert _who(case) == "x2"
    assert push.push_waiting_cases() == []  # twice is once


def test_a_pull_pool_leaves_new_cases_to_get_next(crew):
    crew.pool_a.routing = "pull"
    db.session.commit()
    case = _open(crew, "pull me")
    assert _who(case) is None
    assert push.push_waiting_cases() == []


def test_a_mail_to_a_push_pool_is_assigned_by_the_intake(crew):
    result = receive(
        make_mail(sender="new@customer.test", subject="Hello from mail"),
        mailbox=crew.mailbox_a,
        source="t",
    )
    case = db.session.get(Case, result.case_id)
    assert _who(case) == "agent_a"
    assert [e.new_value for e in events(case, "assigned by round robin")] == ["agent_a"]


def test_get_next_gives_nothing_from_a_pool_whose_cap_the_agent_reached(crew):
    crew.pool_a.routing = "pull"
    crew.pool_a.max_open_per_agent = 1
    db.session.commit()
    mine = _open(crew, "mine")
    mine.assignee = crew.user("x1")
    db.session.commit()
    waiting = _open(crew, "waiting")
    with acting_as(crew.user("x1")):
        assert routing.claim_next_case() is None
    with acting_as(crew.user("x2")):
        assert routing.claim_next_case().id == waiting.id


def test_the_pool_form_offers_the_routing_and_inactivity_settings(crew, client, auth):
    auth.login("supervisor_a")
    page = client.get(f"/pools/edit/{crew.pool_a.id}").get_data(as_text=True)
    for field in ("routing", "max_open_per_agent", "absence_handover", "inactivity_close_days"):
        assert f'name="{field}"' in page
    form = {
        "name": "Pool A",
        "reopen_days": "14",
        "notification_mode": "full",
        "close_policy": "agents",
        "routing": "least_loaded",
        "max_open_per_agent": "5",
        "absence_handover": "pool",
        "inactivity_reminder_days": "3, x",
        "inactivity_close_days": "21",
    }
    page = client.post(f"/pools/edit/{crew.pool_a.id}", data=form, follow_redirects=True)
    assert "Reminder days" in page.get_data(as_text=True)
    assert refresh(crew.pool_a).routing == "round_robin"  # nothing saved
    form["inactivity_reminder_days"] = "10, 3"
    client.post(f"/pools/edit/{crew.pool_a.id}", data=form, follow_redirects=True)
    pool = db.session.get(Pool, crew.pool_a.id)
    db.session.refresh(pool)
    assert (pool.routing, pool.max_open_per_agent, pool.absence_handover) == (
        "least_loaded",
        5,
        "pool",
    )
    assert pool.inactivity_reminder_days == "3,10"

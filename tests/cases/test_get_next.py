"""Get next case (app.cases.routing): the most urgent case an agent may take becomes his, in
order of his pool priority, the due time and arrival; never one case to two agents."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.agents.models import PoolMembership
from app.audit.actor import acting_as
from app.audit.models import Event
from app.cases import routing, services
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.extensions import db
from app.organisation.models import Skill
from app.security.bootstrap import create_user
from tests.support.records import agent_profile, refresh

NOW = utcnow().replace(microsecond=0)


def _case(pool, subject, *, due_in_hours=None, received_hours_ago=1.0, **fields):
    with acting_as(None):
        case = services.open_case(pool=pool, subject=subject, commit=False)
    db.session.commit()
    due = NOW + timedelta(hours=due_in_hours) if due_in_hours is not None else None
    values = {"sla_due_at": due, "received_at": NOW - timedelta(hours=received_hours_ago)}
    values.update(fields)
    # arranged in the database directly: the state a case may be in, however it got there
    db.session.execute(update(Case).where(Case.id == case.id).values(**values))
    db.session.commit()
    return refresh(case)


def _next(user):
    with acting_as(user):
        case = routing.claim_next_case()
    return case.subject if case is not None else None


@pytest.fixture
def queue(desk):
    """agent_a works in pool B first (priority 1), then pool A (priority 2)."""
    profile = agent_profile(desk.user("agent_a"))
    db.session.query(PoolMembership).filter_by(agent_id=profile.id).update({"priority": 2})
    db.session.add(PoolMembership(agent_id=profile.id, pool_id=desk.pool_b.id, priority=1))
    # the desk's two first cases stay out of the way
    for case in (desk.case_a, desk.case_b):
        case.assignee = desk.user("supervisor_a")
    db.session.commit()
    return desk


def test_the_order_is_pool_priority_then_due_time_then_arrival(queue):
    desk = queue
    _case(desk.pool_a, "A due in 1h", due_in_hours=1)
    _case(desk.pool_b, "B due in 20h", due_in_hours=20)
    _case(desk.pool_b, "B no due time", due_in_hours=None, received_hours_ago=50)
    _case(desk.pool_b, "B due in 5h, later", due_in_hours=5, received_hours_ago=1)
    _case(desk.pool_b, "B due in 5h, earlier", due_in_hours=5, received_hours_ago=2)
    agent = desk.user("agent_a")
    picked = [_next(agent) for _ in range(6)]
    assert picked == [
        "B due in 5h, earlier",
        "B due in 5h, later",
        "B due in 20h",
        "B no due time",
        "A due in 1h",
        None,
    ]


def test_only_waiting_unassigned_cases_he_has_the_skill_for(queue):
    desk = queue
    german = Skill(name="German")
    db.session.add(german)
    db.session.commit()
    _case(desk.pool_b, "needs German", due_in_hours=1, required_skill_id=german.id)
    _case(desk.pool_b, "someone's", due_in_hours=1, assignee_id=desk.user("agent_b").id)
    _case(desk.pool_b, "postponed", due_in_hours=1, status="postponed")
    _case(desk.pool_b, "awaiting approval", due_in_hours=1, status="awaiting_approval")
    _case(desk.pool_b, "under consultation", due_in_hours=1, status="under_consultation")
    _case(desk.pool_b, "closed", due_in_hours=1, status="closed")
    _case(desk.pool_b, "released, in progress", due_in_hours=3, status="in_progress")
    agent = desk.user("agent_a")
    assert _next(agent) == "released, in progress"
    assert _next(agent) is None
    profile = agent_profile(agent)
    profile.skills.append(german)
    db.session.commit()
    assert _next(agent) == "needs German"


def test_the_case_becomes_his_in_progress_and_recorded(queue):
    desk = queue
    case = _case(desk.pool_b, "printer", due_in_hours=2)
    agent = desk.user("agent_a")
    assert _next(agent) == "printer"
    case = refresh(case)
    assert case.assignee_id == agent.id and case.status == "in_progress"
    events = db.session.query(Event).filter_by(case_id=case.id).order_by(Event.id).all()
    assigned, started = events[-2:]
    assert (assigned.action, assigned.field, assigned.old_value) == ("changed", "assignee", None)
    assert assigned.new_value.strip() == "agent_a"
    assert (started.action, started.new_value) == ("status", "in_progress")
    assert "get next" in str(started.details)
    assert {e.actor_id for e in (assigned, started)} == {agent.id}


def test_the_api_and_the_button(queue, client, auth):
    desk = queue
    case = _case(desk.pool_b, "through the API", due_in_hours=2)
    headers = auth.token("agent_a")
    response = client.post("/api/v1/case/next", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["result"]["number"] == refresh(case).number
    response = client.post("/api/v1/case/next", headers=headers)
    assert response.status_code == 404
    assert response.json["message"] == "No case is waiting for you in your pools."

    other = _case(desk.pool_a, "through the button", due_in_hours=2)
    auth.login("agent_a")
    page = client.get("/cases/list/").get_data(as_text=True)
    assert "Get next case" in page
    response = client.post("/cases/next")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/show/{other.id}")
    response = client.post("/cases/next", follow_redirects=True)
    assert "No case is waiting for you in your pools." in response.get_data(as_text=True)


def test_a_manager_may_not_take_cases(queue, client, auth):
    _case(queue.pool_b, "waiting", due_in_hours=2)
    response = client.post("/api/v1/case/next", headers=auth.token("manager"))
    assert response.status_code == 403
    auth.login("manager")
    assert "Get next case" not in client.get("/cases/list/").get_data(as_text=True)


def test_twenty_agents_at_once_no_case_twice_and_none_skipped(app, desk):
    cases = [_case(desk.pool_a, f"case {n}", due_in_hours=n % 7) for n in range(40)]
    agents = []
    for n in range(20):
        user = create_user(f"rush{n}", "Agent", password="x" * 12)
        db.session.flush()
        from app.agents.models import AgentProfile

        profile = AgentProfile(user_id=user.id)
        db.session.add(profile)
        db.session.flush()
        db.session.add(PoolMembership(agent_id=profile.id, pool_id=desk.pool_a.id, priority=1))
        agents.append(user.id)
    db.session.commit()
    got: dict[int, list[int]] = {}
    errors = []
    start = threading.Barrier(len(agents))

    def agent_presses(user_id):
        try:
            with app.app_context():
                start.wait()  # before any connection is taken from the pool
                user = db.session.get(type(desk.user("agent_a")), user_id)
                mine = []
                for _ in range(3):
                    with acting_as(user):
                        case = routing.claim_next_case()
                    if case is not None:
                        mine.append(case.id)
                got[user_id] = mine
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=agent_presses, args=(uid,)) for uid in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    taken = [case_id for mine in got.values() for case_id in mine]
    assert len(taken) == len(set(taken)), "a case went to two agents"
    ours = {c.id for c in cases} | {desk.case_a.id}
    assert set(taken) == ours, "a waiting case was skipped"
    db.session.expire_all()
    for case_id in taken:
        owner = next(uid for uid, mine in got.items() if case_id in mine)
        assert db.session.get(Case, case_id).assignee_id == owner

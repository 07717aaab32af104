"""Absence and substitution: while an agent is away Get next refuses him, his open cases go to
his substitute or back to the pool (each move an Event), and on his return nothing moves back
by itself; his page lists what was handed over. Absences go through one service, on the pages
and the REST API alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.agents import absences
from app.agents.models import Absence, AgentProfile, PoolMembership
from app.audit.actor import acting_as
from app.cases import handover, routing, services
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.errors import Conflict, DeskError, Forbidden
from app.extensions import db
from app.organisation.models import Skill
from app.security.bootstrap import create_user
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
    return profile


@pytest.fixture
def team(desk):
    """Pool A: agent_a (German), his usual substitute sub_a (no German), and two of his
    cases: one anyone may take, one that needs German."""
    german = Skill(name="German")
    db.session.add(german)
    db.session.flush()
    agent = agent_profile(desk.user("agent_a"))
    agent.skills = [german]
    sub = _member(desk, "sub_a", desk.pool_a)
    agent.substitute = sub
    desk.case_a.assignee = desk.user("agent_a")
    with acting_as(None):
        german_case = services.open_case(
            pool=desk.pool_a, subject="Rechnung falsch", required_skill=german, commit=False
        )
    german_case.assignee = desk.user("agent_a")
    db.session.commit()
    desk.german_case = german_case
    desk.german = german
    return desk


def _away(desk, *, hours_ago=1, days=3, substitute=None, as_user="supervisor_a"):
    now = utcnow()
    absence = Absence(
        agent=agent_profile(desk.user("agent_a")),
        starts_at=now - timedelta(hours=hours_ago),
        ends_at=now + timedelta(days=days),
        substitute=substitute,
        note="holiday",
    )
    with acting_as(desk.user(as_user)):
        moved = absences.save_absence(absence)
    return absence, moved


def _assignee(case):
    case = refresh(case)
    return case.assignee.username if case.assignee else None


def test_a_started_absence_hands_his_cases_to_the_substitute_or_back_to_the_pool(team):
    absence, moved = _away(team)
    assert sorted(moved) == sorted([team.case_a.number, team.german_case.number])
    assert _assignee(team.case_a) == "sub_a"
    # sub_a lacks German: that case goes back to the pool, for Get next
    assert _assignee(team.german_case) is None
    (to_sub,) = events(refresh(team.case_a), "handed over")
    assert (to_sub.actor_id, to_sub.old_value, to_sub.new_value) == (
        team.user("supervisor_a").id,
        "agent_a",
        "sub_a",
    )
    assert to_sub.details["why"] == f"absence of {agent_profile(team.user('agent_a'))}"
    assert to_sub.details["to"] == "substitute"
    (to_pool,) = events(refresh(team.german_case), "handed over")
    assert (to_pool.old_value, to_pool.new_value, to_pool.details["to"]) == (
        "agent_a",
        None,
        "pool",
    )
    assert "lacks the skill German" in to_pool.details["not_to_substitute"]


def test_the_absences_own_substitute_wins_over_the_usual_one(team):
    other = _member(team, "other_a", team.pool_a, skills=[team.german])
    _away(team, substitute=other)
    assert _assignee(team.case_a) == "other_a"
    assert _assignee(team.german_case) == "other_a"


def test_a_pool_that_hands_back_to_the_pool_leaves_the_substitute_out(team):
    team.pool_a.absence_handover = "pool"
    db.session.commit()
    _away(team)
    assert _assignee(team.case_a) is None
    assert _assignee(team.german_case) is None
    assert all(
        e.details["to"] == "pool"
        for c in (team.case_a, team.german_case)
        for e in events(c)
        if e.action == "handed over"
    )


def test_a_substitute_who_is_away_himself_or_outside_the_pool_gets_nothing(team):
    sub = agent_profile(team.user("sub_a"))
    now = utcnow()
    db.session.add(
        Absence(agent=sub, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    )
    db.session.commit()
    _away(team)
    assert _assignee(team.case_a) is None
    (event,) = events(refresh(team.case_a), "handed over")
    assert "absent too" in event.details["not_to_substitute"]


def test_a_future_absence_moves_nothing_until_the_job_finds_it_started_and_twice_is_once(team):
    now = utcnow()
    absence = Absence(
        agent=agent_profile(team.user("agent_a")),
        starts_at=now + timedelta(hours=2),
        ends_at=now + timedelta(days=2),
    )
    with acting_as(team.user("supervisor_a")):
        assert absences.save_absence(absence) == []
    assert _assignee(team.case_a) == "agent_a"
    assert handover.hand_over_absences(now=now + timedelta(hours=1)) == []
    started = now + timedelta(hours=2, minutes=5)
    assert sorted(handover.hand_over_absences(now=started)) == sorted(
        [team.case_a.number, team.german_case.number]
    )
    assert handover.hand_over_absences(now=started + timedelta(minutes=5)) == []
    assert len(events(refresh(team.case_a), "handed over")) == 1
    assert events(refresh(team.case_a), "handed over")[0].actor_id is None  # the desk's job


def test_get_next_while_absent_says_until_when(team, client, auth):
    absence, _ = _away(team)
    with acting_as(team.user("agent_a")), pytest.raises(Conflict) as refused:
        routing.claim_next_case()
    assert f"You are marked absent until {absence.ends_at:%Y-%m-%d %H:%M}" in str(refused.value)
    auth.login("agent_a")
    page = client.post("/cases/next", follow_redirects=True)
    assert "You are marked absent until" in page.get_data(as_text=True)
    answer = client.post("/api/v1/case/next", headers=auth.token("agent_a"))
    assert answer.status_code == 409
    assert "marked absent" in answer.json["message"]


def test_on_return_nothing_moves_back_and_his_page_lists_what_was_handed_over(team, client, auth):
    absence, _ = _away(team)
    absence.ends_at = utcnow() - timedelta(minutes=1)  # he is back
    with acting_as(team.user("supervisor_a")):
        assert absences.save_absence(absence) == []
    assert handover.hand_over_absences() == []
    assert _assignee(team.case_a) == "sub_a"  # stays where it went
    with acting_as(team.user("agent_a")):
        assert routing.claim_next_case().id == team.german_case.id  # he may work again
    auth.login("agent_a")
    page = client.get("/agents/me").get_data(as_text=True)
    assert "Cases handed over during absences" in page
    assert team.case_a.number in page and "sub_a" in page
    assert "back to the pool" in page


def test_an_absence_ends_after_it_starts_and_nobody_stands_in_for_himself(team):
    agent = agent_profile(team.user("agent_a"))
    now = utcnow()
    with acting_as(team.user("supervisor_a")):
        with pytest.raises(DeskError, match="ends after it starts"):
            absences.save_absence(Absence(agent=agent, starts_at=now, ends_at=now))
        with pytest.raises(DeskError, match="his own substitute"):
            absences.save_absence(
                Absence(
                    agent=agent, starts_at=now, ends_at=now + timedelta(days=1), substitute=agent
                )
            )
    db.session.rollback()
    assert db.session.query(Absence).count() == 0
    assert _assignee(team.case_a) == "agent_a"


def test_the_absence_form_checks_and_hands_over_at_once(team, client, auth):
    agent = agent_profile(team.user("agent_a"))
    auth.login("supervisor_a")
    now = utcnow()
    form = {
        "agent": agent.id,
        "starts_at": f"{now + timedelta(days=2):%Y-%m-%d %H:%M:%S}",
        "ends_at": f"{now + timedelta(days=1):%Y-%m-%d %H:%M:%S}",
        "note": "",
    }
    page = client.post("/absences/add", data=form, follow_redirects=True)
    assert "ends after it starts" in page.get_data(as_text=True)
    assert db.session.query(Absence).count() == 0
    form["starts_at"] = f"{now - timedelta(hours=1):%Y-%m-%d %H:%M:%S}"
    form["ends_at"] = f"{now + timedelta(days=1):%Y-%m-%d %H:%M:%S}"
    page = client.post("/absences/add", data=form, follow_redirects=True)
    assert "2 case(s) handed over" in page.get_data(as_text=True)
    assert _assignee(team.case_a) == "sub_a"


def test_the_rest_api_saves_absences_through_the_same_rules(team, client, auth):
    me = agent_profile(team.user("agent_a"))
    now = utcnow()
    body = {
        "agent": me.id,
        "starts_at": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
        "ends_at": (now + timedelta(days=1)).isoformat(timespec="seconds"),
    }
    bad = dict(body, ends_at=(now - timedelta(days=1)).isoformat(timespec="seconds"))
    answer = client.post("/api/v1/absence/", json=bad, headers=auth.token("agent_a"))
    assert answer.status_code == 400 and "ends after it starts" in answer.json["message"]
    # an agent records his own absence, and his cases are handed over at once
    answer = client.post("/api/v1/absence/", json=body, headers=auth.token("agent_a"))
    assert answer.status_code == 201, answer.json
    assert _assignee(team.case_a) == "sub_a"
    (event,) = events(refresh(team.case_a), "handed over")
    assert event.actor_id == team.user("agent_a").id
    listed = client.get("/api/v1/absence/", headers=auth.token("agent_a")).json["result"]
    assert [(a["agent_id"], a["substitute_id"]) for a in listed] == [(me.id, None)]


def test_an_agent_cannot_record_or_change_a_colleagues_absence(team, client, auth):
    sub = agent_profile(team.user("sub_a"))
    now = utcnow()
    theirs = Absence(agent=sub, starts_at=now + timedelta(days=5), ends_at=now + timedelta(days=6))
    db.session.add(theirs)
    db.session.commit()
    headers = auth.token("agent_a")
    body = {
        "agent": sub.id,
        "starts_at": (now + timedelta(days=1)).isoformat(timespec="seconds"),
        "ends_at": (now + timedelta(days=2)).isoformat(timespec="seconds"),
    }
    assert client.post("/api/v1/absence/", json=body, headers=headers).status_code == 403
    answer = client.put(f"/api/v1/absence/{theirs.id}", json={"note": "mine now"}, headers=headers)
    assert answer.status_code == 403
    assert refresh(theirs).note is None
    with acting_as(team.user("agent_a")), pytest.raises(Forbidden):
        theirs.note = "mine now"
        absences.save_absence(theirs)
    db.session.rollback()


# One identity per test: the test's app context keeps the first request's login.
def test_an_agent_of_another_pool_does_not_even_see_the_absence(team, client, auth):
    now = utcnow()
    theirs = Absence(
        agent=agent_profile(team.user("sub_a")),
        starts_at=now + timedelta(days=5),
        ends_at=now + timedelta(days=6),
    )
    db.session.add(theirs)
    db.session.commit()
    answer = client.get(f"/api/v1/absence/{theirs.id}", headers=auth.token("agent_b"))
    assert answer.status_code == 404


@pytest.mark.parametrize(("username", "status"), [("manager", 403), ("supervisor_a", 201)])
def test_the_manager_reads_absences_and_the_supervisor_records_them(
    team, client, auth, username, status
):
    now = utcnow()
    body = {
        "agent": agent_profile(team.user("sub_a")).id,
        "starts_at": (now + timedelta(days=1)).isoformat(timespec="seconds"),
        "ends_at": (now + timedelta(days=2)).isoformat(timespec="seconds"),
    }
    answer = client.post("/api/v1/absence/", json=body, headers=auth.token(username))
    assert answer.status_code == status
    assert db.session.query(Absence).count() == (1 if status == 201 else 0)


def test_a_supervisor_of_another_pool_cannot_send_an_agent_away(team):
    other_supervisor = create_user("supervisor_b", "Supervisor", password="x")
    now = utcnow()
    absence = Absence(
        agent=agent_profile(team.user("agent_a")),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    with acting_as(other_supervisor), pytest.raises(Forbidden):
        absences.save_absence(absence)
    db.session.rollback()
    assert db.session.query(Case).filter(Case.assignee_id == team.user("agent_a").id).count() == 2


def test_an_agent_page_of_another_pool_is_not_found(team, client, auth):
    auth.login("agent_a")
    other = agent_profile(team.user("agent_b"))
    assert client.get(f"/agents/show/{other.id}").status_code == 404
    own = client.get(f"/agents/show/{agent_profile(team.user('agent_a')).id}")
    assert own.status_code == 200 and "Not absent now" in own.get_data(as_text=True)


def test_a_substitute_at_the_pools_cap_gets_no_more_cases_they_go_back_to_the_pool(team):
    """Pool A allows two open cases per agent; sub_a has one already. He gets the first of
    agent_a's cases (the cap counts it), the next goes back to the pool, and its Event says why."""
    other = _member(team, "other_a", team.pool_a, skills=[team.german])
    team.pool_a.max_open_per_agent = 2
    with acting_as(None):
        third = services.open_case(pool=team.pool_a, subject="Toner leer", commit=False)
    third.assignee = team.user("agent_a")
    with acting_as(None):
        own = services.open_case(pool=team.pool_a, subject="Own case", commit=False)
    own.assignee = team.user("other_a")
    db.session.commit()
    _away(team, substitute=other)
    assert _assignee(own) == "other_a"
    given = [c for c in (team.case_a, team.german_case, third) if _assignee(c) == "other_a"]
    back = [c for c in (team.case_a, team.german_case, third) if _assignee(c) is None]
    assert len(given) == 1 and len(back) == 2
    for case in back:
        (event,) = events(refresh(case), "handed over")
        assert event.details["to"] == "pool"
        assert event.details["not_to_substitute"] == (
            f"{other} already has 2 open cases in pool {team.pool_a.name} (the pool's cap is 2)"
        )


def test_back_from_absence_his_first_page_says_what_was_handed_over_once(team, client, auth):
    absence, _ = _away(team)
    auth.login("agent_a")
    assert "Welcome back" not in client.get("/desk/mine").get_data(as_text=True)  # still away
    absence.ends_at = utcnow() - timedelta(minutes=1)  # he is back
    with acting_as(team.user("supervisor_a")):
        absences.save_absence(absence)
    auth.logout()
    auth.login("agent_a")
    page = client.get("/desk/mine").get_data(as_text=True)
    assert 'id="ld-return-notice"' in page
    notice = " ".join(page.split('id="ld-return-notice"')[1].split("</div>")[0].split())
    assert "2 of your cases were handed over" in notice
    assert team.case_a.number in notice and "sub_a" in notice
    assert team.german_case.number in notice and "back to the pool" in notice
    assert "nothing moves back to you by itself" in notice
    assert refresh(absence).return_noticed_at is not None
    # Once: not on the next page, nor after logging in again.
    assert "ld-return-notice" not in client.get("/desk/mine").get_data(as_text=True)
    auth.logout()
    auth.login("agent_a")
    assert "ld-return-notice" not in client.get("/desk/mine").get_data(as_text=True)
    # Nobody else is welcomed back.
    auth.logout()
    auth.login("sub_a")
    assert "ld-return-notice" not in client.get("/desk/mine").get_data(as_text=True)


def test_an_absence_recorded_after_it_ended_brings_no_welcome(team, client, auth):
    now = utcnow()
    absence = Absence(
        agent=agent_profile(team.user("agent_a")),
        starts_at=now - timedelta(days=3),
        ends_at=now - timedelta(days=2),
        note="sick",
    )
    with acting_as(team.user("supervisor_a")):
        assert absences.save_absence(absence) == []
    auth.login("agent_a")
    assert "ld-return-notice" not in client.get("/desk/mine").get_data(as_text=True)

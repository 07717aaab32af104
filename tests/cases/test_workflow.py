"""The case state machine, and the Event every change leaves behind."""

import pytest

from app.audit.actor import acting_as
from app.audit.models import Event
from app.cases import actions, services
from app.cases.models import Case
from app.cases.workflow import ALLOWED, CaseStatus, check_transition
from app.errors import IllegalTransition
from app.extensions import db

S = CaseStatus


def _status_events(case):
    return [e for e in db.session.query(Event).filter_by(case_id=case.id, action="status")]


def test_every_status_can_be_reached_and_closed_cases_reopen():
    reachable = {S.RECEIVED}
    frontier = [S.RECEIVED]
    while frontier:
        for nxt in ALLOWED[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(CaseStatus)
    assert ALLOWED[S.CLOSED] == {S.IN_PROGRESS}  # reopen goes back to in progress


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        (S.CLOSED, S.POSTPONED),
        (S.RECEIVED, S.AWAITING_APPROVAL),
        (S.POSTPONED, S.POSTPONED),
        (S.AWAITING_APPROVAL, S.UNDER_CONSULTATION),
        (S.CLOSED, S.RECEIVED),
    ],
)
def test_illegal_moves_fail_with_a_clear_message(frm, to):
    with pytest.raises(IllegalTransition) as err:
        check_transition(frm.value, to.value)
    assert f"from '{frm.value}' to '{to.value}'" in str(err.value)
    assert "allowed:" in str(err.value)


def test_unknown_status_is_refused():
    with pytest.raises(IllegalTransition, match="not a case status"):
        check_transition("received", "resolved")


def test_direct_assignment_obeys_the_state_machine_too(desk):
    with pytest.raises(IllegalTransition):
        desk.case_a.status = "awaiting_approval"


def test_every_status_change_leaves_an_event_with_who_and_when(desk):
    agent = desk.user("agent_a")
    with acting_as(agent):
        actions.claim(desk.case_a)
        actions.change_status(desk.case_a, "under_consultation", reason="asked finance")
        actions.change_status(desk.case_a, "in_progress")
        actions.close(desk.case_a, reason="answered")
        actions.reopen(desk.case_a)
    events = _status_events(desk.case_a)
    moves = [(e.old_value, e.new_value) for e in events]
    assert moves == [
        ("received", "in_progress"),
        ("in_progress", "under_consultation"),
        ("under_consultation", "in_progress"),
        ("in_progress", "closed"),
        ("closed", "in_progress"),
    ]
    assert all(e.actor_id == agent.id and e.created_at is not None for e in events)
    assert events[1].details == {"reason": "asked finance"}
    assert "agent_a" in events[0].actor_name
    assert desk.case_a.closed_at is None  # reopened


def test_closing_stamps_closed_at_and_illegal_move_changes_nothing(desk):
    with acting_as(desk.user("agent_a")):
        actions.close(desk.case_a)
        assert desk.case_a.closed_at is not None
        with pytest.raises(IllegalTransition):
            actions.change_status(desk.case_a, "postponed")
    db.session.rollback()
    db.session.expire_all()
    case = db.session.get(Case, desk.case_a.id)
    assert case.status == "closed"
    assert len(_status_events(case)) == 1


def test_tracked_field_changes_are_recorded(desk):
    with acting_as(desk.user("supervisor_a")):
        desk.case_a.priority = 4
        desk.case_a.assignee = desk.user("agent_a")
        desk.case_a.pool = desk.pool_b
        db.session.commit()
    changes = {
        e.field: (e.old_value, e.new_value)
        for e in db.session.query(Event).filter_by(case_id=desk.case_a.id, action="changed")
    }
    assert changes["priority"] == ("2", "4")
    assert changes["assignee"][0] is None and "agent_a" in changes["assignee"][1]
    assert changes["pool"] == ("Pool A", "Pool B")


def test_a_new_case_is_recorded_with_its_number(desk):
    created = db.session.query(Event).filter_by(case_id=desk.case_a.id, action="created").one()
    assert created.actor_name == "system"
    assert desk.case_a.number.startswith("LD-")


def test_case_numbers_are_unique_and_sequential(desk):
    with acting_as(None):
        more = [services.open_case(pool=desk.pool_a, subject=f"n{i}") for i in range(5)]
    numbers = [desk.case_a.number, desk.case_b.number] + [c.number for c in more]
    assert numbers == [f"LD-{i:06d}" for i in range(1, 8)]


def test_sla_due_time_comes_from_the_pool(desk):
    hours = (desk.case_a.sla_due_at - desk.case_a.received_at).total_seconds() / 3600
    assert hours == pytest.approx(8)


def test_postpone_needs_a_future_date(desk):
    from datetime import timedelta

    from app.core.timeutil import utcnow
    from app.errors import DeskError

    with acting_as(desk.user("agent_a")):
        with pytest.raises(DeskError, match="future"):
            actions.postpone(desk.case_a, utcnow() - timedelta(hours=1))
        actions.postpone(desk.case_a, utcnow() + timedelta(days=2))
    assert desk.case_a.status == "postponed" and desk.case_a.postponed_until is not None


def test_status_change_from_the_case_page_and_its_history(client, auth, desk):
    auth.login("agent_a")
    response = client.post(
        f"/cases/transition/{desk.case_a.id}", data={"status": "in_progress", "reason": "on it"}
    )
    assert response.status_code == 302
    page = client.get(f"/cases/show/{desk.case_a.id}").data.decode()
    assert "Status: Received → In progress (on it)" in page
    assert "agent_a" in page
    response = client.post(
        f"/cases/transition/{desk.case_a.id}", data={"status": "received"}, follow_redirects=True
    )
    assert "cannot move from &#39;in_progress&#39; to &#39;received&#39;" in response.data.decode()


def test_api_transition_answers_409_for_an_illegal_move(client, auth, desk):
    headers = auth.token("agent_a")
    url = f"/api/v1/case/{desk.case_a.id}/transition"
    response = client.post(url, json={"status": "awaiting_approval"}, headers=headers)
    assert response.status_code == 409
    assert "cannot move from 'received'" in response.json["message"]
    response = client.post(url, json={"status": "closed", "reason": "spam"}, headers=headers)
    assert response.status_code == 200 and response.json["result"]["status"] == "closed"
    events = _status_events(desk.case_a)
    assert [(e.new_value, e.actor_id) for e in events] == [("closed", desk.user("agent_a").id)]


def test_cli_transition_follows_the_rules(runner, desk):
    result = runner.invoke(
        args=["case", "transition", desk.case_a.number, "closed", "--as", "agent_a"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["case", "transition", desk.case_a.number, "postponed", "--as", "agent_a"]
    )
    assert result.exit_code != 0
    assert "cannot move from 'closed' to 'postponed'" in result.output
    result = runner.invoke(
        args=["case", "transition", desk.case_b.number, "closed", "--as", "agent_a"]
    )
    assert result.exit_code != 0 and "outside your pools" in result.output


def test_overdue_cases_are_marked_in_the_list(client, auth, desk):
    from datetime import timedelta

    from app.core.timeutil import utcnow

    desk.case_a.sla_due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    auth.login("agent_a")
    page = client.get("/cases/list/").data.decode()
    assert 'class="ld-overdue"' in page and "fa-exclamation-triangle" in page
    auth.logout()
    auth.login("agent_b")
    assert 'class="ld-overdue"' not in client.get("/cases/list/").data.decode()

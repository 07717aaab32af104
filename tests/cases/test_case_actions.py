"""The case actions' own rules: an atomic claim, who may release and assign, topic and skill,
the roles on the CLI, and the case page offering only what the user may do."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.audit.actor import acting_as
from app.cases import actions
from app.errors import Conflict, DeskError, Forbidden
from app.extensions import db
from tests.support.records import agent_profile, events, refresh

APP = Path(__file__).resolve().parents[2] / "app"
FORM = re.compile(r'<form method="post"')


def test_claim_is_atomic_even_with_a_stale_copy_of_the_case(app, desk):
    """Another process claims the case after this session loaded it: the claim here loses,
    says who has it, and does not overwrite the other claim."""
    case = desk.case_a
    assert case.assignee_id is None  # loaded, unassigned
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.begin() as conn:
        conn.execute(
            text('UPDATE "case" SET assignee_id = :user WHERE id = :id'),
            {"user": desk.user("supervisor_a").id, "id": case.id},
        )
    other.dispose()
    with acting_as(desk.user("agent_a")), pytest.raises(Conflict, match="supervisor_a"):
        actions.claim(case)
    assert refresh(case).assignee_id == desk.user("supervisor_a").id


def test_claim_assigns_records_and_starts_work(desk):
    with acting_as(desk.user("agent_a")):
        actions.claim(desk.case_a)
    case = refresh(desk.case_a)
    assert (case.assignee_id, case.status) == (desk.user("agent_a").id, "in_progress")
    [change] = [e for e in events(case, "changed") if e.field == "assignee"]
    assert change.old_value is None and "agent_a" in change.new_value
    with acting_as(desk.user("supervisor_a")), pytest.raises(Conflict, match="agent_a"):
        actions.claim(desk.case_a)


def test_only_the_assignee_or_a_supervisor_releases(desk):
    with acting_as(desk.user("supervisor_a")):
        actions.claim(desk.case_a)
    with acting_as(desk.user("agent_a")), pytest.raises(Forbidden, match="supervisor_a"):
        actions.release(desk.case_a)
    with acting_as(desk.user("supervisor_a")):
        actions.release(desk.case_a)
    assert refresh(desk.case_a).assignee_id is None


def test_assign_is_for_supervisors_of_the_pool_and_members_of_it(client, auth, desk):
    headers = auth.token("agent_a")
    url = f"/api/v1/caseaction/{desk.case_a.id}/assign"
    refused = client.post(url, json={"assignee_id": desk.user("agent_a").id}, headers=headers)
    assert refused.status_code == 403  # the role has no assign permission
    headers = auth.token("supervisor_a")
    outsider = client.post(url, json={"assignee_id": desk.user("agent_b").id}, headers=headers)
    assert outsider.status_code == 400 and "does not work in pool" in outsider.json["message"]
    ok = client.post(url, json={"assignee_id": desk.user("agent_a").id}, headers=headers)
    assert ok.status_code == 200 and ok.json["result"]["assignee_id"] == desk.user("agent_a").id
    nobody = client.post(url, json={"assignee_id": None}, headers=headers)
    assert nobody.status_code == 200 and nobody.json["result"]["assignee_id"] is None


def test_an_inactive_agent_gets_no_case(desk):
    agent_profile(desk.user("agent_a")).active = False
    db.session.commit()
    with acting_as(desk.user("supervisor_a")), pytest.raises(DeskError, match="does not work"):
        actions.assign(desk.case_a, desk.user("agent_a").id)


def test_forward_to_another_pool_drops_an_assignee_who_does_not_work_there(desk):
    with acting_as(desk.user("agent_a")):
        actions.claim(desk.case_a)
        actions.forward(desk.case_a, note="billing", pool_id=desk.pool_b.id)
    case = refresh(desk.case_a)
    assert (case.pool_id, case.assignee_id) == (desk.pool_b.id, None)


def test_reroute_changes_topic_and_skill_with_an_event(client, auth, desk):
    from app.organisation.models import Skill, Topic

    topic, skill = Topic(name="Printers"), Skill(name="Hardware")
    old = Skill(name="Retired", active=False)
    db.session.add_all([topic, skill, old])
    db.session.commit()
    headers = auth.token("agent_a")
    url = f"/api/v1/caseaction/{desk.case_a.id}/reroute"
    inactive = client.post(url, json={"required_skill_id": old.id}, headers=headers)
    assert inactive.status_code == 400 and "No active skill" in inactive.json["message"]
    r = client.post(
        url,
        json={"topic_id": topic.id, "required_skill_id": skill.id, "note": "it is hardware"},
        headers=headers,
    )
    assert r.status_code == 200, r.json
    case = refresh(desk.case_a)
    assert (case.topic_id, case.required_skill_id) == (topic.id, skill.id)
    [event] = events(case, "rerouted")
    assert event.details == {"topic": "Printers", "skill": "Hardware", "note": "it is hardware"}
    # a key left out stays; null clears
    r = client.post(url, json={"topic_id": None}, headers=headers)
    case = refresh(desk.case_a)
    assert (case.topic_id, case.required_skill_id) == (None, skill.id)


def test_status_moves_out_of_awaiting_approval_are_for_the_approval(desk):
    from app.answering import replies

    agent_profile(desk.user("agent_a")).replies_need_approval = True
    db.session.commit()
    with acting_as(desk.user("agent_a")):
        actions.change_status(desk.case_a, "in_progress")
        with pytest.raises(Conflict, match="only when a reply"):
            actions.change_status(desk.case_a, "awaiting_approval")
        replies.reply(desk.case_a, text="draft")
        with pytest.raises(Conflict, match="waits for approval"):
            actions.change_status(desk.case_a, "in_progress")
    assert refresh(desk.case_a).status == "awaiting_approval"


def test_cli_obeys_roles_and_parses_offsets(runner, desk):
    refused = runner.invoke(
        args=["case", "transition", desk.case_a.number, "closed", "--as", "manager"]
    )
    assert refused.exit_code != 0 and "Your role may not close cases" in refused.output
    assert refresh(desk.case_a).status == "received"
    done = runner.invoke(
        args=["case", "transition", desk.case_a.number, "postponed"]
        + ["--until=2999-01-01T02:00+02:00", "--no-notify", "--as", "agent_a"]
    )
    assert done.exit_code == 0, done.output
    case = refresh(desk.case_a)
    assert (case.status, f"{case.postponed_until:%Y-%m-%d %H:%M}") == (
        "postponed",
        "2999-01-01 00:00",
    )


# --- the case page shows what the user may do, nothing else ---------------------------------


def _page(client, case) -> str:
    response = client.get(f"/cases/show/{case.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_manager_sees_no_action_form(client, auth, desk):
    from app.answering import replies

    agent_profile(desk.user("agent_a")).replies_need_approval = True
    db.session.commit()
    with acting_as(desk.user("agent_a")):
        replies.reply(desk.case_a, text="draft")
    auth.login("manager")
    page = _page(client, desk.case_a)
    assert 'id="pending-reply"' in page  # he reads it
    assert FORM.search(page) is None
    for marker in ('id="case-reply"', "Claim", "Add note", "Approve", "Forward", "Close case"):
        assert marker not in page


def test_an_agent_sees_no_approve_and_a_supervisor_does(client, auth, desk):
    from app.answering import replies

    agent_profile(desk.user("agent_a")).replies_need_approval = True
    db.session.commit()
    with acting_as(desk.user("agent_a")):
        replies.reply(desk.case_a, text="draft")
    auth.login("agent_a")
    page = _page(client, desk.case_a)
    assert 'id="pending-reply"' in page and 'id="approve-form"' not in page
    assert 'id="case-reply"' not in page  # the case waits for the supervisor
    assert 'id="assign-form"' not in page  # assigning is for supervisors
    auth.logout()
    auth.login("supervisor_a")
    page = _page(client, desk.case_a)
    assert 'id="approve-form"' in page and 'id="reject-form"' in page
    assert 'id="assign-form"' in page


def test_the_state_machine_decides_which_moves_are_offered(client, auth, desk):
    auth.login("agent_a")
    page = _page(client, desk.case_a)  # received, unassigned
    for form in ("claim-form", "status-form", "postpone-form", "close-form", "note-form"):
        assert f'id="{form}"' in page
    assert 'id="reopen-form"' not in page and 'id="release-form"' not in page
    status_form = page[page.index('id="status-form"') :].split("</form>")[0]
    assert 'value="in_progress"' in status_form and 'value="closed"' not in status_form
    with acting_as(desk.user("agent_a")):
        actions.claim(desk.case_a)
        actions.close(desk.case_a, answers={})
    page = _page(client, desk.case_a)  # closed
    assert 'id="reopen-form"' in page and 'id="note-form"' in page
    for form in ("claim-form", "status-form", "postpone-form", "close-form", "edit-link"):
        assert f'id="{form}"' not in page
    assert 'id="case-reply"' not in page  # no reply editor on a closed case


def test_a_refused_action_answers_403_with_the_reason(client, auth, desk):
    with acting_as(desk.user("supervisor_a")):
        actions.claim(desk.case_a)
    auth.login("agent_a")
    response = client.post(f"/cases/release/{desk.case_a.id}")
    assert response.status_code == 403
    assert "only he or a supervisor" in response.get_data(as_text=True)
    assert refresh(desk.case_a).assignee_id == desk.user("supervisor_a").id


# --- the shape: cases never import answering --------------------------------------------------


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module, line, at top level) of each import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno, id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, id(node) in top) for alias in node.names)
    return found


def test_cases_import_nothing_from_answering_and_answering_moves_no_status_itself():
    for path in sorted((APP / "cases").glob("*.py")):
        for module, line, _top in _imports(path):
            assert not module.startswith("app.answering"), f"{path.name}:{line} imports {module}"
    for path in sorted((APP / "answering").glob("*.py")):
        source = path.read_text()
        assert "transition(" not in source, f"{path.name} moves a status itself"


@pytest.mark.parametrize("folder", ["cases", "answering", "agents", "organisation", "customers"])
def test_imports_sit_at_the_top_unless_a_comment_says_why(folder):
    for path in sorted((APP / folder).glob("*.py")):
        lines = path.read_text().splitlines()
        for module, line, top in _imports(path):
            if top or module == "__future__":
                continue
            context = " ".join(lines[max(0, line - 2) : line])
            assert "#" in context, f"{folder}/{path.name}:{line} imports {module} without a why"


def test_a_case_whose_reply_waits_for_approval_is_not_released(client, auth, desk):
    """Its author gets a rejected reply back; nobody should take the case from him meanwhile
    (and Get next skips cases awaiting approval, so a released one would sit there)."""
    from app.answering import replies

    agent_profile(desk.user("agent_a")).replies_need_approval = True
    db.session.commit()
    with acting_as(desk.user("agent_a")):
        replies.reply(desk.case_a, text="draft")
    auth.login("supervisor_a")
    page = _page(client, desk.case_a)
    assert 'id="approve-form"' in page and 'id="release-form"' not in page
    for who in ("agent_a", "supervisor_a"):
        with acting_as(desk.user(who)), pytest.raises(Conflict, match="approve or reject"):
            actions.release(refresh(desk.case_a))
    assert refresh(desk.case_a).assignee_id == desk.user("agent_a").id


def test_under_consultation_is_reached_by_consulting_not_by_a_bare_status_move(client, auth, desk):
    with acting_as(desk.user("agent_a")):
        actions.claim(desk.case_a)
    auth.login("agent_a")
    page = _page(client, desk.case_a)
    assert 'id="consult-link"' in page
    status_form = page[page.index('id="status-form"') :].split("</form>")[0]
    assert 'value="waiting_on_customer"' in status_form
    assert 'value="under_consultation"' not in status_form

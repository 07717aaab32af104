"""The case actions through the REST API, as an agent would call them: next, claim, reply,
note, consult, postpone, close, reopen; the same services as the case page, the same version
check (``If-Match``) and the same 404 for another pool's case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.cases.models import Case, CaseStatus
from app.consultation.models import Department
from app.core.timeutil import utcnow
from app.extensions import db


def _case(case_id) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def test_an_agent_works_a_case_through_the_api_from_next_to_reopen(client, tokens, desk):
    headers = tokens("agent_a")
    department = Department(name="Legal", email="legal@desk.test", response_hours=8)
    db.session.add(department)
    db.session.commit()

    taken = client.post("/api/v1/case/next", headers=headers)
    assert taken.status_code == 200, taken.json
    case = taken.json["result"]
    assert case["id"] == desk.case_a.id and case["status"] == CaseStatus.IN_PROGRESS

    base = f"/api/v1/caseaction/{case['id']}"
    note = client.post(f"{base}/note", headers=headers, json={"text": "Called him back"})
    assert note.status_code == 201, note.json
    reply = client.post(f"{base}/reply", headers=headers, json={"text": "We are on it."})
    assert reply.status_code == 201, reply.json
    consult = client.post(
        f"{base}/consult",
        headers=headers,
        json={"department_id": department.id, "question": "May we refund?"},
    )
    assert consult.status_code == 201, consult.json
    assert consult.json["result"]["department"]["name"] == "Legal"
    assert _case(case["id"]).status == CaseStatus.UNDER_CONSULTATION

    # the version read at Get next is stale now (a note, a reply, a consultation since)
    until = (utcnow() + timedelta(days=2)).replace(microsecond=0).isoformat()
    stale = client.post(
        f"{base}/postpone",
        headers={**headers, "If-Match": f'"{case["version"]}"'},
        json={"until": until, "notify": False},
    )
    assert stale.status_code == 409
    assert set(stale.json) == {"message", "errors"}
    assert _case(case["id"]).status == CaseStatus.UNDER_CONSULTATION


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("postpone", {"until": "2099-01-01T10:00:00", "notify": False}),
        ("close", {}),
    ],
)
def test_postpone_and_close_take_if_match_and_close_then_reopen(client, tokens, desk, action, body):
    headers = tokens("agent_a")
    claimed = client.post(f"/api/v1/case/{desk.case_a.id}/claim", headers=headers)
    assert claimed.status_code == 200, claimed.json
    version = claimed.json["result"]["version"]
    url = f"/api/v1/caseaction/{desk.case_a.id}/{action}"
    done = client.post(url, headers={**headers, "If-Match": f'"{version}"'}, json=body)
    assert done.status_code == 200, done.json
    expected = CaseStatus.POSTPONED if action == "postpone" else CaseStatus.CLOSED
    assert _case(desk.case_a.id).status == expected
    # the version the client held is gone: the same call again is refused
    again = client.post(url, headers={**headers, "If-Match": f'"{version}"'}, json=body)
    assert again.status_code == 409
    if action == "close":
        reopened = client.post(
            f"/api/v1/caseaction/{desk.case_a.id}/reopen", headers=headers, json={"reason": "?"}
        )
        assert reopened.status_code == 200, reopened.json
        assert _case(desk.case_a.id).status == CaseStatus.IN_PROGRESS


ACTIONS = [
    ("post", "/api/v1/case/{id}/claim", None),
    ("post", "/api/v1/case/{id}/release", None),
    ("get", "/api/v1/case/{id}/thread", None),
    ("post", "/api/v1/caseaction/{id}/note", {"text": "x"}),
    ("post", "/api/v1/caseaction/{id}/reply", {"text": "x"}),
    ("post", "/api/v1/caseaction/{id}/consult", {"department_id": 1, "question": "x"}),
    ("post", "/api/v1/caseaction/{id}/postpone", {"until": "2099-01-01T10:00:00"}),
    ("post", "/api/v1/caseaction/{id}/close", {}),
    ("post", "/api/v1/caseaction/{id}/reopen", {}),
    ("put", "/api/v1/case/{id}", {"subject": "x"}),
]


@pytest.mark.parametrize(("method", "url", "body"), ACTIONS, ids=[a[1] for a in ACTIONS])
def test_an_action_on_another_pools_case_answers_404_and_changes_nothing(
    client, tokens, desk, method, url, body
):
    before = (desk.case_b.status, desk.case_b.assignee_id, len(desk.case_b.messages))
    response = getattr(client, method)(
        url.format(id=desk.case_b.id), headers=tokens("agent_a"), json=body
    )
    assert response.status_code == 404
    assert response.json == {"message": "Not found", "errors": {}}
    case = _case(desk.case_b.id)
    assert (case.status, case.assignee_id, len(case.messages)) == before


def test_a_manager_reads_cases_but_may_not_act(client, tokens, desk):
    headers = tokens("manager")
    assert client.get(f"/api/v1/case/{desk.case_a.id}", headers=headers).status_code == 200
    for url in (
        f"/api/v1/case/{desk.case_a.id}/claim",
        f"/api/v1/caseaction/{desk.case_a.id}/note",
    ):
        response = client.post(url, headers=headers, json={"text": "x"})
        assert response.status_code == 403
        assert set(response.json) == {"message", "errors"}
    assert _case(desk.case_a.id).assignee_id is None

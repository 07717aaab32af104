"""Who may consult, who sees consultations, and what the case page, the list, the REST API
and the department list answer to each role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.actor import acting_as
from app.cases import actions
from app.cases.workflow import CaseStatus
from app.consultation import services
from app.consultation.models import Consultation, Department
from app.errors import AccessDenied, Conflict, DeskError, Forbidden
from app.extensions import db
from app.outbox.models import OutboxMail
from tests.support.records import refresh


def _consult(desk, user="agent_a", case=None, **kwargs):
    with acting_as(desk.user(user)):
        return services.consult(
            case or desk.case_a,
            kwargs.get("department_id", desk.finance.id),
            kwargs.get("question", "Refund?"),
            kwargs.get("message_ids"),
        )


def _nothing_sent():
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 0
    to_departments = select(func.count()).where(OutboxMail.kind == services.KIND)
    assert db.session.scalar(to_departments) == 0  # (closing told the customer, not them)


def test_the_service_refuses_other_pools_managers_closed_cases_and_bad_input(departments):
    desk = departments
    with pytest.raises(AccessDenied):
        _consult(desk, "agent_b")
    with pytest.raises(Forbidden, match="may not consult"):
        _consult(desk, "manager")
    with pytest.raises(DeskError, match="question"):
        _consult(desk, question="  ")
    with pytest.raises(DeskError, match="department"):
        _consult(desk, department_id=None)
    desk.finance.active = False
    db.session.commit()
    with pytest.raises(DeskError, match="No active department"):
        _consult(desk)
    desk.finance.active = True
    db.session.commit()
    with pytest.raises(DeskError, match="not part of"):
        _consult(desk, message_ids=[desk.case_b.messages[0].id])
    with acting_as(desk.user("agent_a")):
        actions.close(desk.case_a)
    with pytest.raises(Conflict, match="closed"):
        _consult(desk)
    db.session.rollback()
    _nothing_sent()


def test_a_second_department_may_be_asked_and_the_case_waits_for_both(app, departments, sink):
    desk = departments
    first = _consult(desk)
    second = _consult(desk, department_id=desk.legal.id)
    case = refresh(desk.case_a)
    assert case.status == CaseStatus.UNDER_CONSULTATION
    with acting_as(None):
        services.record_reply(first, first.message, automatic=False)
        db.session.commit()
    assert refresh(desk.case_a).status == CaseStatus.UNDER_CONSULTATION  # Legal still owes
    with acting_as(None):
        services.record_reply(second, second.message, automatic=False)
        db.session.commit()
    assert refresh(desk.case_a).status == CaseStatus.IN_PROGRESS


def test_a_postponed_case_cannot_be_consulted_on(departments):
    desk = departments
    with acting_as(desk.user("agent_a")):
        actions.postpone(desk.case_a, "2099-01-01T10:00", notify=False)
    with pytest.raises(Conflict, match="postponed"):
        _consult(desk)


# --- the REST API ------------------------------------------------------------------------------


def _post(client, headers, case_id, department_id, question="Refund?"):
    return client.post(
        "/api/v1/consultation/",
        json={"case_id": case_id, "department_id": department_id, "question": question},
        headers=headers,
    )


def test_api_consult_and_read(app, client, auth, departments, sink):
    desk = departments
    agent = auth.token("agent_a")
    created = _post(client, agent, desk.case_a.id, desk.finance.id)
    assert created.status_code == 201, created.json
    body = created.json["result"]
    assert body["status"] == "open" and body["department"]["name"] == "Finance"
    assert body["case"]["status"] == "under_consultation"
    listed = client.get("/api/v1/consultation/?status=open", headers=agent).json["result"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert client.get("/api/v1/consultation/?status=answered", headers=agent).json["result"] == []
    assert client.get("/api/v1/consultation/?status=bogus", headers=agent).status_code == 400
    departments_seen = client.get("/api/v1/consultation/departments", headers=agent).json
    assert [d["name"] for d in departments_seen["result"]] == ["Finance", "Legal"]


# Each role in a test of its own: the test client shares one app context (and its login
# cache) between the requests of a test.


def test_api_an_agent_of_another_pool_gets_404(app, client, auth, departments, sink):
    desk = departments
    consultation = _consult(desk)
    other = auth.token("agent_b")
    assert client.get("/api/v1/consultation/", headers=other).json["result"] == []
    assert client.get(f"/api/v1/consultation/{consultation.id}", headers=other).status_code == 404
    assert _post(client, other, desk.case_a.id, desk.finance.id).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 1


def test_api_a_manager_reads_but_may_not_consult(app, client, auth, departments, sink):
    desk = departments
    consultation = _consult(desk)
    manager = auth.token("manager")
    one = client.get(f"/api/v1/consultation/{consultation.id}", headers=manager)
    assert one.status_code == 200 and one.json["result"]["case_number"] == desk.case_a.number
    assert _post(client, manager, desk.case_b.id, desk.finance.id).status_code == 403
    assert refresh(desk.case_b).status == CaseStatus.RECEIVED


def test_api_refuses_a_closed_case_with_409(app, client, auth, departments):
    desk = departments
    with acting_as(desk.user("agent_a")):
        actions.close(desk.case_a)
    response = _post(client, auth.token("agent_a"), desk.case_a.id, desk.finance.id)
    assert response.status_code == 409
    assert "closed" in response.json["message"]


# --- pages -------------------------------------------------------------------------------------


def _case_page(client, case) -> str:
    return client.get(f"/cases/show/{case.id}").get_data(as_text=True)


def test_the_case_page_offers_consult_and_shows_the_status_in_the_thread(
    app, client, auth, departments, sink
):
    desk = departments
    auth.login("agent_a")
    page = _case_page(client, desk.case_a)
    assert 'id="consult-form"' in page
    pickers = client.get(f"/cases/{desk.case_a.id}/pickers/consult").get_data(as_text=True)
    assert "Finance (answers within 4 h)" in pickers  # loaded as the dialog opens
    response = client.post(
        f"/caseaction/{desk.case_a.id}/consult",
        data={
            "department_id": desk.finance.id,
            "question": "Refund?",
            "message_ids": [desk.case_a.messages[0].id],
        },
    )
    assert response.status_code == 302
    page = _case_page(client, desk.case_a)
    assert "Under consultation" in page
    assert "data-consultation=" in page and "Finance · Open · due " in page
    listing = client.get("/consultation/").get_data(as_text=True)
    assert desk.case_a.number in listing
    assert desk.case_a.number not in client.get("/consultation/?status=answered").get_data(
        as_text=True
    )


def test_the_list_and_the_form_refuse_an_agent_of_another_pool(
    app, client, auth, departments, sink
):
    desk = departments
    _consult(desk)
    auth.login("agent_b")
    assert desk.case_a.number not in client.get("/consultation/").get_data(as_text=True)
    response = client.post(
        f"/caseaction/{desk.case_a.id}/consult",
        data={"department_id": desk.finance.id, "question": "x"},
    )
    assert response.status_code == 404


def test_a_manager_sees_consultations_but_no_consult_form(app, client, auth, departments, sink):
    desk = departments
    _consult(desk)
    auth.login("manager")
    assert 'id="consult-form"' not in _case_page(client, desk.case_b)
    assert desk.case_a.number in client.get("/consultation/?status=all").get_data(as_text=True)
    response = client.post(
        f"/caseaction/{desk.case_b.id}/consult",
        data={"department_id": desk.finance.id, "question": "x"},
    )
    assert response.status_code == 403
    assert refresh(desk.case_b).status == CaseStatus.RECEIVED


def test_only_admins_keep_departments_and_one_in_use_is_deactivated(
    app, client, auth, departments, sink
):
    desk = departments
    _consult(desk)
    auth.login("supervisor_a")
    assert "Finance" in client.get("/consultation/departments/list/").get_data(as_text=True)
    assert client.get("/consultation/departments/add").status_code == 403
    auth.logout()
    auth.login("admin")
    client.post(f"/consultation/departments/delete/{desk.finance.id}")
    finance = refresh(desk.finance)
    assert finance is not None and finance.active is False
    spare = Department(name="Spare", email="spare@company.test", response_hours=8)
    db.session.add(spare)
    db.session.commit()
    spare_id = spare.id
    client.post(f"/consultation/departments/delete/{spare_id}")
    db.session.expire_all()
    assert db.session.get(Department, spare_id) is None


def test_the_demo_desk_has_departments_and_consultations_to_show(app, runner):
    result = runner.invoke(args=["demo", "seed", "--cases", "60"])
    assert result.exit_code == 0, result.output
    assert db.session.query(Department).count() == 3
    rows = db.session.query(Consultation).all()
    assert rows and all(r.message is not None for r in rows)
    open_rows = [r for r in rows if r.status != "answered"]
    assert open_rows and all(r.case.status == "under_consultation" for r in open_rows)

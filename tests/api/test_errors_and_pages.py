"""One error body for every error of the REST API (the desk's own and Flask-AppBuilder's 401,
403, 404, 405, 422 and 400), pages with a maximum size and the total count, and the OpenAPI
document with its security schemes and Swagger UI served by the desk itself."""

from __future__ import annotations

import re

import pytest

from app.audit.actor import acting_as
from app.consultation import services as consultations
from app.consultation.models import Department
from app.extensions import db
from app.organisation.models import Topic


def _error(response, status):
    assert response.status_code == status, (response.status_code, response.data[:300])
    assert response.is_json
    body = response.json
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    return body


def test_every_kind_of_error_has_the_same_body(client, tokens, desk):
    admin, agent = tokens("admin"), tokens("agent_a")
    _error(client.get("/api/v1/case/"), 401)  # no credentials
    _error(client.get("/api/v1/case/", headers={"Authorization": "Bearer nonsense"}), 401)
    _error(client.get("/api/v1/case/", headers={"X-API-Key": "ldk_forged"}), 401)
    _error(client.get("/api/v1/reportrun/", headers=agent), 403)  # his role may not
    _error(client.get(f"/api/v1/case/{desk.case_b.id}", headers=agent), 404)  # other pool
    _error(client.get("/api/v1/no-such-resource/", headers=admin), 404)  # Werkzeug's page
    _error(client.get("/api/v1/case/99999999999999999999999", headers=admin), 404)
    _error(client.delete(f"/api/v1/case/{desk.case_a.id}", headers=admin), 405)
    _error(client.get("/api/v1/case/?q=(((", headers=admin), 400)  # sent the parser looping
    _error(client.get("/api/v1/case/?q=(page:-1)", headers=admin), 400)
    huge = "(filters:!((col:number,opr:eq,value:99999999999999999999)))"
    _error(client.get(f"/api/v1/case/?q={huge}", headers=admin), 400)
    invalid = _error(client.post("/api/v1/customer/", headers=admin, json={"name": "X"}), 422)
    assert invalid["errors"] == {"email": ["Missing data for required field."]}
    nested = client.post("/api/v1/absence/", headers=admin, json={"agent": {"id": 1, "user_id": 5}})
    assert _error(nested, 422)["errors"]["agent"] == ["The id of a related record."]
    # a DeskError of a service: a closed case cannot be postponed
    closed = client.post(f"/api/v1/caseaction/{desk.case_a.id}/close", headers=admin, json={})
    assert closed.status_code == 200, closed.json
    conflict = client.post(
        f"/api/v1/caseaction/{desk.case_a.id}/postpone",
        headers=admin,
        json={"until": "2099-01-01T10:00:00"},
    )
    _error(conflict, 409)


def test_a_duplicate_name_is_a_conflict_not_a_server_error(client, tokens):
    headers = tokens("admin")
    first = client.post("/api/v1/slacalendar/", headers=headers, json={"name": "Office"})
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/slacalendar/", headers=headers, json={"name": "Office"})
    _error(again, 409)


def test_fab_lists_page_with_a_maximum_size_and_the_total_count(client, tokens, app):
    db.session.add_all([Topic(name=f"Topic {n:03}") for n in range(105)])
    db.session.commit()
    headers = tokens("agent_a")
    page = client.get("/api/v1/topic/?q=(page:1,page_size:10)", headers=headers).json
    assert page["count"] == 105 and len(page["ids"]) == 10
    assert page["result"][0]["name"] == "Topic 010"
    capped = client.get("/api/v1/topic/?q=(page_size:1000)", headers=headers).json
    assert capped["count"] == 105
    assert len(capped["ids"]) == app.config["FAB_API_MAX_PAGE_SIZE"] == 100


def test_hand_written_lists_page_the_same_way(client, tokens, desk):
    department = Department(name="Legal", email="legal@desk.test", response_hours=8)
    db.session.add(department)
    db.session.commit()
    with acting_as(desk.user("admin")):
        consultations.consult(desk.case_a, department.id, "First?")
    headers = tokens("admin")
    body = client.get("/api/v1/consultation/?page_size=1", headers=headers).json
    assert (body["count"], body["page"], body["page_size"]) == (1, 0, 1)
    assert [row["question"] for row in body["result"]] == ["First?"]
    assert client.get("/api/v1/consultation/?page=1", headers=headers).json["result"] == []
    capped = client.get("/api/v1/consultation/?page_size=5000", headers=headers).json
    assert capped["page_size"] == 100
    _error(client.get("/api/v1/consultation/?page=-1", headers=headers), 400)
    _error(client.get("/api/v1/reportrun/?page_size=abc", headers=headers), 400)


@pytest.mark.parametrize("role", ["admin", "supervisor_a", "agent_a", "manager"])
def test_every_role_reads_the_openapi_document_with_its_security_schemes(client, desk, auth, role):
    headers = auth.token(role)
    spec = client.get("/api/v1/_openapi", headers=headers)
    assert spec.status_code == 200
    schemes = spec.json["components"]["securitySchemes"]
    assert schemes["api_key"] == {**schemes["api_key"], "type": "apiKey", "in": "header"}
    assert schemes["api_key"]["name"] == "X-API-Key"
    assert schemes["jwt"]["scheme"] == "bearer"
    paths = spec.json["paths"]
    for path in (
        "/api/v1/pool/",
        "/api/v1/topic/",
        "/api/v1/dictionary/",
        "/api/v1/intakeform/",
        "/api/v1/intakeformversion/{pk}",
        "/api/v1/reportrun/{pk}/download",
        "/api/v1/caseaction/{case_id}/consult",
        "/api/v1/case/next",
    ):
        assert path in paths, path
    error = spec.json["components"]["responses"]["404"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/Error"}
    assert spec.json["components"]["schemas"]["Error"]["required"] == ["message", "errors"]


def test_swagger_ui_is_served_by_the_desk_for_every_role(client, desk, auth):
    auth.login("agent_a")
    page = client.get("/swagger/v1")
    assert page.status_code == 200
    html = page.data.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in s for s in sources)
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert client.get(next(s for s in sources if "swagger-ui-bundle" in s)).status_code == 200

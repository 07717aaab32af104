"""API keys at the REST API: each role's key reads what that role reads in the UI, a key acts
within its one role, revoked and unknown keys get 401 with the same JSON body, and the key
itself is stored nowhere."""

from __future__ import annotations

import pytest

from app.agents.models import AgentProfile, PoolMembership
from app.apikeys import services
from app.apikeys.models import DeskApiKey
from app.audit.actor import acting_as
from app.extensions import db
from app.security.bootstrap import ensure_roles

REFUSED = {"message": "Invalid or revoked API key.", "errors": {}}


def make_key(user, role: str, name: str = "integration") -> str:
    with acting_as(None):
        _, key = services.create_key(name, user, role)
    return key


def case_numbers(client, headers) -> set[str]:
    response = client.get("/api/v1/case/", headers=headers)
    assert response.status_code == 200, response.json
    return {row["number"] for row in response.json["result"]}


@pytest.mark.parametrize(
    ("username", "role", "sees"),
    [
        ("admin", "Admin", {"a", "b"}),
        ("manager", "Manager", {"a", "b"}),
        ("supervisor_a", "Supervisor", {"a"}),
        ("agent_a", "Agent", {"a"}),
        ("agent_b", "Agent", {"b"}),
    ],
)
def test_a_key_reads_what_its_role_reads_in_the_ui(app, desk, client, username, role, sees):
    key = make_key(desk.user(username), role)
    numbers = {"a": desk.case_a.number, "b": desk.case_b.number}
    expected = {numbers[s] for s in sees}
    assert case_numbers(client, {"Authorization": f"Bearer {key}"}) == expected
    assert case_numbers(client, {"X-API-Key": key}) == expected
    hidden = {"a": desk.case_a, "b": desk.case_b}
    for letter, case in hidden.items():
        response = client.get(f"/api/v1/case/{case.id}", headers={"X-API-Key": key})
        assert response.status_code == (200 if letter in sees else 404)


def test_an_agent_key_cannot_act_on_another_pools_case_and_a_manager_key_changes_nothing(
    app, desk, client
):
    agent = {"X-API-Key": make_key(desk.user("agent_a"), "Agent")}
    response = client.post(f"/api/v1/case/{desk.case_b.id}/claim", headers=agent)
    assert response.status_code == 404
    assert client.post(f"/api/v1/case/{desk.case_a.id}/claim", headers=agent).status_code == 200
    manager = {"X-API-Key": make_key(desk.user("manager"), "Manager")}
    response = client.put(
        f"/api/v1/case/{desk.case_b.id}", headers=manager, json={"subject": "Mine now"}
    )
    assert response.status_code == 403


def test_a_key_acts_within_its_one_role(app, desk, client):
    """An admin who also works pool A as an agent: his Agent key reads pool A only."""
    admin = desk.user("admin")
    admin.roles.append(ensure_roles()["Agent"])
    profile = AgentProfile(user_id=admin.id)
    db.session.add(profile)
    db.session.flush()
    db.session.add(PoolMembership(agent_id=profile.id, pool_id=desk.pool_a.id, priority=1))
    db.session.commit()
    as_agent = {"Authorization": f"Bearer {make_key(admin, 'Agent')}"}
    as_admin = {"Authorization": f"Bearer {make_key(admin, 'Admin')}"}
    assert case_numbers(client, as_agent) == {desk.case_a.number}
    assert case_numbers(client, as_admin) == {desk.case_a.number, desk.case_b.number}
    # Nor may it change what only his Admin role reaches.
    change = {"subject": "Renamed"}
    url = f"/api/v1/case/{desk.case_b.id}"
    assert client.put(url, headers=as_agent, json=change).status_code == 404
    assert client.put(url, headers=as_admin, json=change).status_code == 200
    # And its permissions are the Agent role's: agents do not read the SLA calendars.
    assert client.get("/api/v1/slacalendar/", headers=as_agent).status_code == 403
    assert client.get("/api/v1/slacalendar/", headers=as_admin).status_code == 200


def test_a_key_stops_working_when_its_owner_loses_the_role(app, desk, client):
    agent = desk.user("agent_a")
    key = make_key(agent, "Agent")
    assert client.get("/api/v1/case/", headers={"X-API-Key": key}).status_code == 200
    agent.roles = [ensure_roles()["Manager"]]
    db.session.commit()
    response = client.get("/api/v1/case/", headers={"X-API-Key": key})
    assert (response.status_code, response.json) == (401, REFUSED)


def test_a_key_cannot_take_a_role_its_owner_does_not_hold(app, desk):
    from app.errors import DeskError

    with acting_as(None), pytest.raises(DeskError, match="does not hold the role Admin"):
        services.create_key("sneaky", desk.user("agent_a"), "Admin")


def test_revoked_and_unknown_keys_get_401_with_the_same_body(app, desk, client):
    key = make_key(desk.user("agent_a"), "Agent")
    assert client.get("/api/v1/case/", headers={"X-API-Key": key}).status_code == 200
    row = db.session.query(DeskApiKey).one()
    with acting_as(None):
        services.revoke(row)
    for headers in (
        {"X-API-Key": key},
        {"Authorization": f"Bearer {key}"},
        {"Authorization": "Bearer ldk_" + "x" * 43},
        {"X-API-Key": "not-even-a-key"},
    ):
        for path in ("/api/v1/case/", f"/api/v1/case/{desk.case_a.id}"):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (headers, path)
            assert response.json == REFUSED
            assert "WWW-Authenticate" in response.headers


def test_the_key_is_hashed_at_rest_and_its_use_is_recorded(app, desk, client, databases):
    key = make_key(desk.user("agent_a"), "Agent")
    client.get("/api/v1/case/", headers={"X-API-Key": key})
    row = db.session.query(DeskApiKey).one()
    db.session.refresh(row)
    assert row.last_used_at is not None
    assert row.prefix == key[:12]
    db.session.commit()
    raw = db.session.connection().connection.driver_connection
    if hasattr(raw, "iterdump"):  # SQLite: every row of every table, as SQL text
        dump = "\n".join(raw.iterdump())
    else:  # PostgreSQL: the text of every api key column
        dump = str(db.session.execute(db.text("SELECT * FROM desk_api_key")).all())
    assert key not in dump
    assert key[12:] not in dump and key[20:40] not in dump
    assert services.key_hash(key) in dump


def test_an_admin_makes_a_key_on_the_page_sees_it_once_and_revokes_it(app, desk, client, auth):
    auth.login("admin")
    agent = desk.user("agent_a")
    response = client.post(
        "/apikeys/", data={"name": "CRM sync", "user_id": agent.id, "role": "Agent"}
    )
    assert response.status_code == 200
    key = response.data.decode().split('<pre id="api-key">')[1].split("</pre>")[0]
    assert key.startswith("ldk_")
    listing = client.get("/apikeys/").data.decode()
    assert "CRM sync" in listing and key[:12] in listing and key not in listing
    auth.logout()
    assert client.get("/api/v1/case/", headers={"X-API-Key": key}).status_code == 200
    auth.login("admin")
    row = db.session.query(DeskApiKey).one()
    assert client.post(f"/apikeys/{row.id}/revoke").status_code == 302
    auth.logout()
    assert client.get("/api/v1/case/", headers={"X-API-Key": key}).status_code == 401


@pytest.mark.parametrize("username", ["manager", "supervisor_a", "agent_a"])
def test_only_admins_manage_keys(app, desk, client, auth, username):
    auth.login(username)
    assert client.get("/apikeys/").status_code == 403
    user = desk.user(username)
    response = client.post("/apikeys/", data={"name": "mine", "user_id": user.id, "role": "Agent"})
    assert response.status_code == 403
    assert db.session.query(DeskApiKey).count() == 0

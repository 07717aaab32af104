"""Login throttling (issue 8 item 6): sixty wrong passwords for admin were all tried, on the
page and on the REST login. Now the eleventh failure of an account within the window, or the
thirty-first from one address, is refused with 429 (the right password too) until the window
has passed; every failure is an Event with the name and the address, never the password."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import Event
from app.extensions import db
from app.security import throttle
from tests.support.desk import PASSWORD

WRONG = "not-the-password"


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by hand."""
    now = [1_000_000.0]
    monkeypatch.setattr(throttle, "_now", lambda: now[0])
    return now


def _page_login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/login/",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _api_login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db"},
        environ_base={"REMOTE_ADDR": address},
    )


def _failed_events():
    return db.session.scalars(
        select(Event).where(Event.action == throttle.FAILED_LOGIN).order_by(Event.id)
    ).all()


@pytest.mark.parametrize("login", [_page_login, _api_login], ids=["page", "api"])
def test_the_eleventh_wrong_password_is_refused_and_so_is_the_right_one(client, desk, clock, login):
    for attempt in range(10):
        response = login(client, "admin", WRONG)
        assert response.status_code in (200, 302, 401), (attempt, response.status_code)
    response = login(client, "admin", WRONG)
    assert response.status_code == 429
    assert b"Too many failed logins for this account" in response.data
    assert int(response.headers["Retry-After"]) == 900
    refused = login(client, "admin", PASSWORD.format("admin"))
    assert refused.status_code == 429
    # The window moves on: the real user gets in again, without anyone's help.
    clock[0] += 901
    assert login(client, "admin", PASSWORD.format("admin")).status_code in (200, 302)


def test_page_and_api_share_the_count_and_the_email_counts_as_the_account(client, desk, clock):
    admin = desk.user("admin")
    admin.email = "admin@desk.test"
    db.session.commit()
    for _ in range(5):
        _page_login(client, "admin", WRONG)
    for _ in range(5):
        _api_login(client, "admin@desk.test", WRONG)
    assert _api_login(client, "ADMIN", PASSWORD.format("admin")).status_code == 429
    # Other accounts are not held by it.
    assert _page_login(client, "agent_a", PASSWORD.format("agent_a")).status_code == 302


def test_a_held_account_is_free_again_as_old_failures_age_out(client, desk, clock):
    for _ in range(10):
        _api_login(client, "admin", WRONG)
        clock[0] += 60
    response = _api_login(client, "admin", PASSWORD.format("admin"))
    assert response.status_code == 429
    # The first failure leaves the window 900 s after it happened: 300 s from now.
    assert int(response.headers["Retry-After"]) == 300
    clock[0] += 301
    assert _api_login(client, "admin", PASSWORD.format("admin")).status_code == 200


def test_a_right_password_forgives_the_accounts_failures(client, desk, clock):
    for _ in range(9):
        _api_login(client, "admin", WRONG)
    assert _api_login(client, "admin", PASSWORD.format("admin")).status_code == 200
    for _ in range(9):
        _api_login(client, "admin", WRONG)
    assert _api_login(client, "admin", PASSWORD.format("admin")).status_code == 200


def test_spraying_many_accounts_from_one_address_is_held(client, desk, clock):
    for n in range(30):
        _api_login(client, f"user{n}", WRONG, address="10.9.9.9")
    response = _api_login(client, "agent_a", PASSWORD.format("agent_a"), address="10.9.9.9")
    assert response.status_code == 429
    assert b"from your address" in response.data
    # Another address is not held.
    assert _api_login(client, "agent_a", PASSWORD.format("agent_a")).status_code == 200


def test_unknown_and_known_names_get_the_same_answer(client, desk, clock):
    for _ in range(10):
        _api_login(client, "nobody-here", WRONG)
        _api_login(client, "admin", WRONG, address="10.0.0.2")
    unknown = _api_login(client, "nobody-here", WRONG)
    known = _api_login(client, "admin", WRONG, address="10.0.0.3")
    assert (unknown.status_code, unknown.json) == (known.status_code, known.json)


def test_every_failed_login_is_an_event_without_the_password(client, desk, clock):
    _page_login(client, "admin", "s3cret-guess-1", address="192.0.2.7")
    _api_login(client, "agent_a", "s3cret-guess-2", address="192.0.2.8")
    _api_login(client, "agent_a", PASSWORD.format("agent_a"))
    events = _failed_events()
    assert [(e.details["username"], e.details["address"], e.details["via"]) for e in events] == [
        ("admin", "192.0.2.7", "page"),
        ("agent_a", "192.0.2.8", "api"),
    ]
    assert events[0].object_id == desk.user("admin").id
    assert events[0].summary == "Failed login: admin from 192.0.2.7"
    for event in events:
        stored = " ".join(str(v) for v in (event.new_value, event.old_value, event.details))
        assert "s3cret-guess" not in stored


def test_the_limits_are_settings(app_config, db_url, clock):
    from app import create_app
    from app.security.bootstrap import create_user

    app_config.update(
        SQLALCHEMY_DATABASE_URI=db_url,
        LOGIN_FAILURES_PER_ACCOUNT=2,
        LOGIN_FAILURE_WINDOW=60,
    )
    small = create_app(app_config)
    with small.app_context():
        create_user("solo", "Agent", password="right-one")
        db.session.commit()
        client = small.test_client()
        _api_login(client, "solo", WRONG)
        _api_login(client, "solo", WRONG)
        held = _api_login(client, "solo", "right-one")
        assert held.status_code == 429
        assert held.headers["Retry-After"] == "60"
        clock[0] += 61
        assert _api_login(client, "solo", "right-one").status_code == 200
        db.session.remove()


def test_behind_a_trusted_proxy_the_clients_address_counts(app_config, db_url, clock):
    from app import create_app

    app_config.update(SQLALCHEMY_DATABASE_URI=db_url, TRUSTED_PROXY_COUNT=1)
    proxied = create_app(app_config)
    with proxied.app_context():
        client = proxied.test_client()
        client.post(
            "/api/v1/security/login",
            json={"username": "admin", "password": WRONG, "provider": "db"},
            headers={"X-Forwarded-For": "198.51.100.4"},
            environ_base={"REMOTE_ADDR": "10.0.0.254"},
        )
        assert [e.details["address"] for e in _failed_events()] == ["198.51.100.4"]
        db.session.remove()

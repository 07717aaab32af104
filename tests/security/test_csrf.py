"""CSRF on every state-changing UI route, security headers and cookie flags (issue 8 item 1).

The rest of the suite runs with ``WTF_CSRF_ENABLED`` off; these tests build a desk with it on,
as production runs. The route walk covers every POST/PUT/PATCH/DELETE rule of the URL map, so
a route added tomorrow is checked without anyone remembering to add it here.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.cases.models import Message, MessageDirection
from app.extensions import db
from tests.support.desk import PASSWORD

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _token(page: bytes) -> str:
    found = TOKEN.search(page.decode())
    assert found, "the page has no csrf_token field"
    return found.group(1)


def _login(client, username: str) -> None:
    page = client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": username,
            "password": PASSWORD.format(username),
            "csrf_token": _token(page.data),
        },
    )
    assert response.status_code == 302, f"login of {username} failed"


def _notes(case) -> int:
    return db.session.scalar(
        select(func.count(Message.id)).where(
            Message.case_id == case.id, Message.direction == MessageDirection.NOTE
        )
    )


def _ui_routes(app):
    """Every unsafe (rule, method) of the UI: all but the REST API and the mail webhook,
    which authenticate by token, not by session."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint == "inbound.inbound":
            continue
        for method in sorted((rule.methods or set()) & UNSAFE):
            yield rule, method


def _url(rule, case_id: int, user_id: int) -> str:
    values = {}
    for name in rule.arguments:
        if name == "name":
            values[name] = "delete"
        elif rule.rule.startswith("/users/"):
            values[name] = user_id
        else:
            values[name] = case_id
    return rule.build(values, append_unknown=False)[1]


def test_every_ui_route_refuses_a_post_without_token(app, desk):
    client = app.test_client()
    _login(client, "admin")
    victim = desk.user("agent_b")
    routes = list(_ui_routes(app))
    assert len(routes) > 100  # FAB's CRUD views and ours: the walk sees them all
    accepted = []
    for rule, method in routes:
        url = _url(rule, desk.case_a.id, victim.id)
        response = client.open(url, method=method, data={"text": "forged", "username": "x"})
        if response.status_code != 400 or b"CSRF" not in response.data:
            accepted.append(f"{method} {url}: {response.status_code}")
    assert accepted == []
    db.session.expire_all()
    assert _notes(desk.case_a) == 0
    assert db.session.get(type(victim), victim.id) is not None  # /users/delete/<pk> did nothing


def test_a_wrong_token_is_refused_too(app, desk):
    client = app.test_client()
    _login(client, "agent_a")
    response = client.post(
        f"/cases/note/{desk.case_a.id}", data={"text": "forged", "csrf_token": "not-the-token"}
    )
    assert response.status_code == 400
    assert b"Reload the page" in response.data
    assert _notes(desk.case_a) == 0


def test_the_note_form_of_the_case_page_works_with_its_token(app, desk):
    client = app.test_client()
    _login(client, "agent_a")
    page = client.get(f"/cases/show/{desk.case_a.id}")
    assert page.status_code == 200
    form = re.search(r'<form[^>]*id="note-form".*?</form>', page.data.decode(), re.S).group(0)
    action = re.search(r'action="([^"]+)"', form).group(1)
    response = client.post(
        action, data={"text": "Checked the cable.", "csrf_token": _token(form.encode())}
    )
    assert response.status_code == 302
    assert _notes(desk.case_a) == 1
    # The older address works with the same token.
    response = client.post(
        f"/cases/note/{desk.case_a.id}",
        data={"text": "And the toner.", "csrf_token": _token(form.encode())},
    )
    assert response.status_code == 302
    assert _notes(desk.case_a) == 2


def test_every_case_form_carries_a_token(app, desk):
    client = app.test_client()
    _login(client, "supervisor_a")
    pages = [
        f"/cases/show/{desk.case_a.id}",
        "/caseaction/open",
        f"/caseaction/{desk.case_a.id}/compose",
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.data.decode()
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S):
            assert _token(form.encode()), f"{url}: a form without a token"


def test_the_api_with_a_jwt_needs_no_token(app, desk):
    client = app.test_client()
    login = client.post(
        "/api/v1/security/login",
        json={"username": "agent_a", "password": PASSWORD.format("agent_a"), "provider": "db"},
    )
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    response = client.post(
        f"/api/v1/caseaction/{desk.case_a.id}/note", json={"text": "By API"}, headers=headers
    )
    assert response.status_code == 201
    assert _notes(desk.case_a) == 1


def test_the_api_on_the_session_cookie_alone_needs_the_token(app, desk):
    client = app.test_client()
    _login(client, "agent_a")
    url = f"/api/v1/caseaction/{desk.case_a.id}/note"
    assert client.post(url, json={"text": "forged"}).status_code == 400
    assert _notes(desk.case_a) == 0
    token = _token(client.get(f"/cases/show/{desk.case_a.id}").data)
    response = client.post(url, json={"text": "from the page"}, headers={"X-CSRFToken": token})
    assert response.status_code == 201
    assert _notes(desk.case_a) == 1


def test_the_webhook_needs_no_csrf_token(app, desk):
    desk.mailbox_a.webhook_secret = "hook-secret"
    db.session.commit()
    response = app.test_client().post(
        "/inbound/a@desk.test",
        data=b"From: carol@customer.test\r\nTo: a@desk.test\r\nSubject: Hello\r\n\r\nHi\r\n",
        headers={"X-Loopdesk-Token": "hook-secret"},
    )
    assert response.status_code == 202


def test_security_headers_on_every_page(app, desk):
    client = app.test_client()
    for url in ("/login/", "/static/loopdesk/loopdesk.css"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_inline_script_carries_the_pages_nonce(app, desk):
    """The policy allows inline scripts only with the response's nonce: a script without it
    would silently not run in a browser (the list's actions, the search filters)."""
    client = app.test_client()
    _login(client, "admin")
    for url in (
        "/cases/list/",
        f"/cases/show/{desk.case_a.id}",
        "/users/list/",
        f"/users/edit/{desk.user('agent_a').id}",
        "/swagger/v1",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        scripts = re.findall(r"<script([^>]*)>", response.data.decode())
        assert scripts, url
        for attributes in scripts:
            assert f'nonce="{nonce}"' in attributes, f"{url}: <script{attributes}>"
        assert "javascript:" not in response.data.decode()
        assert not re.search(r"\son(click|change|submit|load)=", response.data.decode()), url


def test_session_cookie_is_samesite_lax(app, desk):
    client = app.test_client()
    _login(client, "agent_a")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.same_site == "Lax"
    assert cookie.http_only
    assert not cookie.secure  # http desk


def test_session_cookie_is_secure_behind_https(app_config):
    from app import create_app

    app_config["DESK_BASE_URL"] = "https://desk.example.com"
    https_app = create_app(app_config)
    assert https_app.config["SESSION_COOKIE_SECURE"] is True
    assert https_app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    with https_app.test_request_context("/"):
        from flask import session

        session["x"] = 1
        response = https_app.make_response("ok")
        https_app.session_interface.save_session(https_app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=Lax" in cookie

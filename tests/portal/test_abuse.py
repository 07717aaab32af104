"""Abuse of the public pages: rate limits per client address, a honeypot robots fill in."""

from __future__ import annotations

from app.answering import portal as links
from app.cases.models import Message
from app.extensions import db
from tests.portal.conftest import mails_to


def test_public_posts_are_rate_limited_per_address(app, desk, client):
    app.config["PORTAL_RATE_LIMIT"] = "3 per minute"
    answers = [
        client.post("/portal/login", data={"email": "alice@customer.test"}).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    page = client.post("/portal/login", data={"email": "alice@customer.test"})
    assert "Please wait a moment" in page.get_data(as_text=True)
    # Another address is counted on its own; reading pages is not limited.
    other = app.test_client()
    assert (
        other.post(
            "/portal/login",
            data={"email": "bob@customer.test"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        ).status_code
        == 200
    )
    assert client.get("/portal/login").status_code == 200


def test_replies_are_rate_limited_too(app, desk, client):
    app.config["PORTAL_RATE_LIMIT"] = "2 per minute"
    path = f"/portal/case/{links.portal_token(desk.case_a)}/reply"
    answers = [client.post(path, data={"text": f"note {i}"}).status_code for i in range(3)]
    assert answers == [302, 302, 429]


def test_a_filled_honeypot_mails_nothing_but_looks_the_same(desk, client):
    robot = client.post(
        "/portal/login", data={"email": "alice@customer.test", "website": "http://spam"}
    )
    assert robot.status_code == 200 and 'id="login-sent"' in robot.get_data(as_text=True)
    assert mails_to("alice@customer.test") == []


def test_a_filled_honeypot_adds_no_message(desk, client):
    path = f"/portal/case/{links.portal_token(desk.case_a)}/reply"
    response = client.post(path, data={"text": "Buy pills", "website": "x"})
    assert response.status_code == 400
    assert db.session.query(Message).filter_by(case_id=desk.case_a.id).count() == 1


def test_the_honeypot_is_hidden_from_people_and_keyboards(desk, client):
    page = client.get("/portal/login").get_data(as_text=True)
    assert 'class="hp" aria-hidden="true"' in page
    assert 'name="website" tabindex="-1"' in page

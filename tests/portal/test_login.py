"""The one-time login link: asked for by e-mail address, mailed through the outbox, used
once and only before it expires; the page never tells whether an address is known."""

from __future__ import annotations

from datetime import timedelta

from app.cases import services
from app.extensions import db
from app.portal.models import PortalLoginLink
from tests.portal.conftest import link_in, mail_text, mails_to


def _ask(client, email, **extra):
    return client.post("/portal/login", data={"email": email, **extra})


def test_a_known_and_an_unknown_address_get_the_same_answer(desk, client):
    known = _ask(client, "Alice@Customer.test")
    unknown = _ask(client, "nobody@nowhere.test")
    assert known.status_code == unknown.status_code == 200
    strip = lambda page, email: page.get_data(as_text=True).replace(email, "EMAIL")  # noqa: E731
    assert strip(known, "alice@customer.test") == strip(unknown, "nobody@nowhere.test")
    assert len(mails_to("alice@customer.test")) == 1
    assert mails_to("nobody@nowhere.test") == []
    assert db.session.query(PortalLoginLink).count() == 1


def test_the_link_opens_a_session_with_all_his_cases_and_only_his(desk, client):
    with_second = services.open_case(
        pool=desk.pool_b, subject="Second question", customer=desk.customer_a
    )
    _ask(client, "alice@customer.test")
    [mail] = mails_to("alice@customer.test")
    assert mail.kind == "notification"
    assert "once" in mail_text(mail)
    path = link_in(mail, "/portal/login/")

    # Following the link (a mail scanner does) shows a button and uses nothing up.
    assert client.get(path).status_code == 200
    assert client.get("/portal/cases").status_code == 302  # not signed in yet
    signed_in = client.post(path)
    assert signed_in.status_code == 302 and signed_in.location.endswith("/portal/cases")
    page = client.get("/portal/cases").get_data(as_text=True)
    assert desk.case_a.number in page and with_second.number in page
    assert desk.case_b.number not in page and "Invoice wrong" not in page

    # The list's links open each case.
    opened = client.get(f"/portal/case/{_token_of(page, with_second.number)}")
    assert "Second question" in opened.get_data(as_text=True)


def _token_of(page: str, number: str) -> str:
    import re

    found = re.search(r'href="/portal/case/([^"]+)">\s*<span class="case-number">' + number, page)
    assert found, page
    return found.group(1)


def test_a_link_works_once(desk, client, app):
    _ask(client, "alice@customer.test")
    path = link_in(mails_to("alice@customer.test")[0], "/portal/login/")
    assert client.post(path).status_code == 302
    other = app.test_client()
    again = other.post(path)
    assert again.status_code == 410
    assert "This link has expired" in again.get_data(as_text=True)
    assert other.get("/portal/cases").status_code == 302
    assert other.get(path).status_code == 410


def test_an_expired_link_opens_nothing(desk, client, app):
    _ask(client, "alice@customer.test")
    path = link_in(mails_to("alice@customer.test")[0], "/portal/login/")
    link = db.session.query(PortalLoginLink).one()
    link.expires_at = link.created_at - timedelta(seconds=1)
    db.session.commit()
    assert client.post(path).status_code == 410
    assert client.get("/portal/cases").status_code == 302


def test_a_forged_link_opens_nothing(desk, client):
    _ask(client, "alice@customer.test")
    path = link_in(mails_to("alice@customer.test")[0], "/portal/login/")
    forged = path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")
    assert client.post(forged).status_code == 410
    assert client.get("/portal/cases").status_code == 302


def test_only_the_hash_of_the_secret_is_stored(desk, client):
    _ask(client, "alice@customer.test")
    secret = link_in(mails_to("alice@customer.test")[0], "/portal/login/").rsplit("/", 1)[1]
    stored = db.session.query(PortalLoginLink).one()
    assert secret not in stored.secret_sha256


def test_a_mailbox_is_not_flooded_through_the_page(desk, client):
    for _ in range(5):
        assert _ask(client, "alice@customer.test").status_code == 200
    assert len(mails_to("alice@customer.test")) == 3


def test_a_wrong_address_is_named_next_to_the_field(desk, client):
    page = _ask(client, "not an address")
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert 'aria-describedby="email-error"' in body and 'id="email-error"' in body


def test_signing_out_ends_the_session(desk, client):
    _ask(client, "alice@customer.test")
    client.post(link_in(mails_to("alice@customer.test")[0], "/portal/login/"))
    assert client.get("/portal/cases").status_code == 200
    client.post("/portal/logout")
    assert client.get("/portal/cases").status_code == 302

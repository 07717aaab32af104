"""Portal links expire (issue 8 item 8): a signed link opens its case for the configured days
(90 by default); an expired one says so and mails a fresh link to the customer on file."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from unittest import mock

from itsdangerous import URLSafeSerializer

from app.answering import portal
from app.audit.models import Event
from app.extensions import db

DAY = 86400


@contextmanager
def _clock_at(seconds_ago: float):
    """Sign as if it were ``seconds_ago`` seconds in the past."""
    now = time.time()
    with mock.patch("itsdangerous.timed.time.time", lambda: now - seconds_ago):
        yield


def _path(token: str) -> str:
    return f"/portal/case/{token}"


def test_a_link_younger_than_the_limit_opens_the_case(desk, client):
    with _clock_at(89 * DAY):
        token = portal.portal_token(desk.case_a)
    page = client.get(_path(token))
    assert page.status_code == 200
    assert "Printer on fire" in page.get_data(as_text=True)


def test_an_expired_link_says_so_and_mails_a_fresh_one_that_works(desk, client, mails):
    with _clock_at(91 * DAY):
        old = portal.portal_token(desk.case_a)
    page = client.get(_path(old))
    assert page.status_code == 410
    body = page.get_data(as_text=True)
    assert "This link has expired" in body and "90 days" in body
    assert "Printer on fire" not in body  # the thread stays closed
    assert "Mail me a new link" in body

    done = client.post(f"/portal/case/{old}/fresh-link")
    assert done.status_code == 200
    assert "A new link is on its way" in done.get_data(as_text=True)
    [mail] = mails.of_kind("notification")
    assert mail["to"] == "alice@customer.test"  # the address on file, nobody else's
    fresh = re.search(r"https?://\S+/portal/case/(\S+)", mail["text"]).group(1)
    assert client.get(_path(fresh)).status_code == 200
    [event] = db.session.query(Event).filter_by(action="portal link sent").all()
    assert event.case_id == desk.case_a.id and event.new_value == "alice@customer.test"

    # Asked again at once: the same answer, but no second mail (no mailbox flooding).
    assert client.post(f"/portal/case/{old}/fresh-link").status_code == 200
    assert len(mails.of_kind("notification")) == 1


def test_the_limit_is_a_setting(app, desk, client):
    app.config["PORTAL_LINK_MAX_AGE_DAYS"] = 7
    with _clock_at(8 * DAY):
        token = portal.portal_token(desk.case_a)
    assert client.get(_path(token)).status_code == 410


def test_a_link_from_before_links_were_dated_counts_as_expired(app, desk, client):
    undated = URLSafeSerializer(app.config["SECRET_KEY"], salt="loopdesk-portal-case")
    token = undated.dumps({"case": desk.case_a.id})
    assert client.get(_path(token)).status_code == 410


def test_a_forged_link_is_not_found_and_mails_nothing(desk, client, mails):
    token = portal.portal_token(desk.case_a)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(_path(forged)).status_code == 404
    assert client.post(f"/portal/case/{forged}/fresh-link").status_code == 404
    assert client.post(_path(token) + "/fresh-link").status_code == 200  # valid: no mail either
    assert mails.calls == []


def test_links_made_outside_a_request_follow_the_served_port(desk, app):
    """A job or CLI command (no request) builds links with LOOPDESK_HOST:LOOPDESK_PORT when
    DESK_BASE_URL is unset (app.core.urls.desk_base_url), not with a fixed port 5000."""
    app.config["LOOPDESK_PORT"] = 8123
    assert portal.portal_link(desk.case_a).startswith("http://127.0.0.1:8123/portal/case/")
    app.config["DESK_BASE_URL"] = "https://desk.example.com/"
    assert portal.portal_link(desk.case_a).startswith("https://desk.example.com/portal/case/")

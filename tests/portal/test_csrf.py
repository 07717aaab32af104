"""The portal's forms carry the CSRF token (the desk runs with CSRF on)."""

from __future__ import annotations

import re

import pytest

from app.answering import portal as links
from tests.portal.conftest import mails_to

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_a_form_without_its_token_is_refused(desk, client):
    assert client.post("/portal/login", data={"email": "alice@customer.test"}).status_code == 400
    path = f"/portal/case/{links.portal_token(desk.case_a)}"
    assert client.post(path + "/close").status_code == 400
    assert mails_to("alice@customer.test") == []


def test_every_portal_form_carries_its_token(desk, client):
    page = client.get("/portal/login").get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    sent = client.post("/portal/login", data={"email": "alice@customer.test", "csrf_token": token})
    assert sent.status_code == 200
    case_page = client.get(f"/portal/case/{links.portal_token(desk.case_a)}").get_data(as_text=True)
    forms = case_page.count('method="post"')
    assert forms >= 2 and case_page.count('name="csrf_token"') == forms

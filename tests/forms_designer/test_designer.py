"""The designer page's doors: who may open it, saving a draft (and the refusal's messages,
each tied to the field it names), publishing, a new draft from a published version, CSRF."""

from __future__ import annotations

import json
import re

import pytest

from app.agents.models import AgentProfile, PoolMembership
from app.extensions import db
from app.security.bootstrap import create_user
from forms_designer.models import IntakeForm, VersionStatus
from tests.support.desk import PASSWORD

BOOT = re.compile(r'<script type="application/json" id="fd-boot"[^>]*>(.*?)</script>', re.S)


def good_schema() -> dict:
    return {
        "languages": ["en", "pl"],
        "fields": [
            {
                "key": "kind",
                "type": "single_choice",
                "label": {"en": "What is it about?", "pl": "Czego dotyczy?"},
                "required": True,
                "options": [
                    {"value": "copy", "label": {"en": "A copy", "pl": "Kopia"}},
                    {"value": "error", "label": {"en": "An error", "pl": "Błąd"}},
                ],
            },
            {
                "key": "invoice_no",
                "type": "short_text",
                "label": {"en": "Invoice number", "pl": "Numer faktury"},
                "required": True,
                "max_length": 20,
                "visible_if": {"properties": {"kind": {"const": "copy"}}, "required": ["kind"]},
            },
        ],
    }


@pytest.fixture
def form(desk):
    form = IntakeForm(name="Invoices", pool_id=desk.pool_a.id)
    db.session.add(form)
    db.session.commit()
    return form


@pytest.fixture
def other_form(desk):
    form = IntakeForm(name="Pool B questions", pool_id=desk.pool_b.id)
    db.session.add(form)
    db.session.commit()
    return form


def boot_of(page: bytes) -> dict:
    found = BOOT.search(page.decode())
    assert found, "the designer page has no boot data"
    return json.loads(found.group(1))


def post_json(client, url: str, payload: dict, token: str | None = None):
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(url, json=payload, headers=headers)


def test_a_supervisor_of_the_pool_opens_a_new_form_in_the_designer(client, auth, form):
    auth.login("supervisor_a")
    page = client.get(f"/form-designer/{form.id}")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'id="fd-palette"' in html and 'id="fd-preview-form"' in html
    assert "Sortable.min.js" in html and "visible_if.js" in html
    assert "New form, not saved yet" in html
    boot = boot_of(page.data)
    assert boot["readonly"] is False
    assert boot["schema"]["fields"] == []
    assert set(boot["types"]) >= {"short_text", "dropdown", "hidden", "help_text"}


def test_saving_an_invalid_schema_answers_every_problem_with_the_field_it_names(client, auth, form):
    auth.login("supervisor_a")
    schema = good_schema()
    schema["fields"][0]["options"][1]["label"] = {"en": "An error"}  # no Polish label
    schema["fields"][1]["key"] = "Invoice No"
    response = post_json(client, f"/form-designer/{form.id}/draft", {"schema": schema})
    assert response.status_code == 422
    answer = response.json
    assert answer["ok"] is False
    by_key = {p["key"]: p["message"] for p in answer["problems"]}
    assert "kind" in by_key and "pl" in by_key["kind"]
    assert "Invoice No" in by_key and "key" in by_key["Invoice No"]
    db.session.expire_all()
    assert db.session.get(IntakeForm, form.id).versions == []


def test_a_problem_naming_a_field_by_position_is_tied_to_that_fields_key(client, auth, form):
    auth.login("supervisor_a")
    schema = good_schema()
    schema["fields"][1]["key"] = ""
    response = post_json(client, f"/form-designer/{form.id}/draft", {"schema": schema})
    assert response.status_code == 422
    messages = [p["message"] for p in response.json["problems"]]
    assert any("Field 2" in m for m in messages)


def test_save_draft_then_publish_then_the_page_is_read_only(client, auth, form):
    auth.login("supervisor_a")
    saved = post_json(client, f"/form-designer/{form.id}/draft", {"schema": good_schema()})
    assert saved.status_code == 200, saved.json
    assert saved.json["ok"] is True and saved.json["version"] == 1
    db.session.rollback()  # what the request committed stays
    draft = db.session.get(IntakeForm, form.id).draft
    assert draft.status == VersionStatus.DRAFT
    assert draft.schema["fields"][1]["visible_if"]["properties"]["kind"]["const"] == "copy"

    published = post_json(client, f"/form-designer/{form.id}/publish", {"schema": good_schema()})
    assert published.status_code == 200, published.json
    assert published.json["redirect"].endswith(f"/form-designer/{form.id}?version=1")
    db.session.rollback()
    form = db.session.get(IntakeForm, form.id)
    assert form.draft is None and form.current.number == 1

    page = client.get(published.json["redirect"])
    html = page.data.decode()
    assert "is published" in html  # the flash message
    assert boot_of(page.data)["readonly"] is True
    assert 'id="fd-save"' not in html and 'id="fd-palette"' not in html
    assert "New draft from this version" in html


def test_publish_refuses_an_invalid_schema_and_publishes_nothing(client, auth, form):
    auth.login("supervisor_a")
    schema = good_schema()
    schema["fields"][1]["visible_if"] = {"properties": {"later": {"const": 1}}}
    response = post_json(client, f"/form-designer/{form.id}/publish", {"schema": schema})
    assert response.status_code == 422
    problems = response.json["problems"]
    assert any(p["key"] == "invoice_no" and "later" in p["message"] for p in problems)
    db.session.expire_all()
    assert db.session.get(IntakeForm, form.id).current is None


def test_new_draft_from_the_published_version(client, auth, form):
    auth.login("supervisor_a")
    post_json(client, f"/form-designer/{form.id}/publish", {"schema": good_schema()})
    response = client.post(f"/form-designer/{form.id}/new-draft", data={"version": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/form-designer/{form.id}")
    db.session.rollback()
    form = db.session.get(IntakeForm, form.id)
    assert form.draft.number == 2 and form.draft.schema == form.current.schema
    page = client.get(f"/form-designer/{form.id}")
    assert boot_of(page.data)["readonly"] is False
    # The published version stays viewable, read-only, and points to the draft.
    old = client.get(f"/form-designer/{form.id}?version=1")
    assert boot_of(old.data)["readonly"] is True
    assert "Open the draft (v2)" in old.data.decode()


@pytest.mark.parametrize("username", ["agent_a", "manager"])
def test_roles_that_do_not_design_are_refused(client, auth, form, username):
    auth.login(username)
    assert client.get(f"/form-designer/{form.id}").status_code == 403
    response = post_json(client, f"/form-designer/{form.id}/draft", {"schema": good_schema()})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(IntakeForm, form.id).versions == []


def test_a_supervisor_of_another_pool_may_not_design_the_form(client, auth, other_form):
    auth.login("supervisor_a")
    assert client.get(f"/form-designer/{other_form.id}").status_code in (403, 404)
    for door in ("draft", "publish"):
        response = post_json(
            client, f"/form-designer/{other_form.id}/{door}", {"schema": good_schema()}
        )
        assert response.status_code in (403, 404)
    assert client.post(f"/form-designer/{other_form.id}/new-draft").status_code in (403, 404)
    assert "Pool B questions" not in client.get("/form-designer/").data.decode()
    db.session.expire_all()
    assert db.session.get(IntakeForm, other_form.id).versions == []


def test_the_supervisor_of_that_pool_and_an_admin_may(client, auth, desk, other_form):
    user = create_user("supervisor_b", "Supervisor", password=PASSWORD.format("supervisor_b"))
    profile = AgentProfile(user_id=user.id)
    db.session.add(profile)
    db.session.flush()
    db.session.add(
        PoolMembership(agent_id=profile.id, pool_id=desk.pool_b.id, priority=1, is_supervisor=True)
    )
    db.session.commit()
    for username in ("supervisor_b", "admin"):
        auth.login(username)
        assert client.get(f"/form-designer/{other_form.id}").status_code == 200
        auth.logout()


def test_the_forms_list_and_menu_lead_to_the_designer(client, auth, form):
    auth.login("supervisor_a")
    index = client.get("/form-designer/").data.decode()
    assert f'href="/form-designer/{form.id}"' in index and "Invoices" in index
    listing = client.get("/intake-forms/list/").data.decode()
    assert f'href="/form-designer/{form.id}"' in listing
    show = client.get(f"/intake-forms/show/{form.id}").data.decode()
    assert "Open designer" in show
    assert "Form designer" in client.get("/form-designer/").data.decode()  # the menu entry


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def _login(self, client, username):
        page = client.get("/login/").data.decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page).group(1)
        response = client.post(
            "/login/",
            data={"username": username, "password": PASSWORD.format(username), "csrf_token": token},
        )
        assert response.status_code == 302

    def test_saving_needs_the_pages_token(self, client, form):
        self._login(client, "supervisor_a")
        url = f"/form-designer/{form.id}/draft"
        assert post_json(client, url, {"schema": good_schema()}).status_code == 400
        assert post_json(client, url, {"schema": good_schema()}, "forged").status_code == 400
        assert client.post(f"/form-designer/{form.id}/publish", json={}).status_code == 400
        db.session.expire_all()
        assert db.session.get(IntakeForm, form.id).versions == []
        token = boot_of(client.get(f"/form-designer/{form.id}").data)["csrf"]
        saved = post_json(client, url, {"schema": good_schema()}, token)
        assert saved.status_code == 200 and saved.json["ok"] is True

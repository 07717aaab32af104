"""Every resource of the REST API as each desk role: what he may list and read is what the
pages show him (record rules), another pool's row answers 404, and a resource his role may
not use answers 403."""

from __future__ import annotations

import pytest

from app.audit.actor import acting_as
from app.extensions import db
from app.knowledge import services as knowledge
from app.organisation.models import Topic
from app.questionnaires.models import Dictionary, DictionaryValue, Questionnaire
from forms_designer import services as forms
from reports import services as reports

ROLES = ("admin", "supervisor_a", "agent_a", "manager")
WEEK = {"since": "2026-11-02", "until": "2026-11-08", "time_zone": "UTC"}
SCHEMA = {
    "languages": ["en"],
    "fields": [{"key": "order_no", "type": "short_text", "label": {"en": "Order"}}],
}


@pytest.fixture
def rows(desk):
    """One row per resource in pool A and one in pool B (where a resource has pools)."""
    a, b = desk.pool_a, desk.pool_b
    topic = Topic(name="Printers", pool=a)
    dictionary = Dictionary(name="Causes", values=[DictionaryValue(value="Paper jam")])
    q_a = Questionnaire(name="Wrap-up A", pool=a)
    q_b = Questionnaire(name="Wrap-up B", pool=b)
    db.session.add_all([topic, dictionary, q_a, q_b])
    db.session.commit()
    with acting_as(desk.user("admin")):
        form_a = forms.create_form("Form A", a, desk.user("admin"))
        form_b = forms.create_form("Form B", b, desk.user("admin"))
        drafts = [forms.save_draft(form, SCHEMA, desk.user("admin")) for form in (form_a, form_b)]
    db.session.commit()
    with acting_as(desk.user("manager")):
        run_m = reports.start_run(reports.DESK_REPORT, WEEK, desk.user("manager"))
    with acting_as(desk.user("supervisor_a")):
        run_s = reports.start_run(reports.DESK_REPORT, WEEK, desk.user("supervisor_a"))
    with acting_as(desk.user("admin")):
        articles = [
            knowledge.save_article(
                None,
                knowledge.ArticleInput(
                    versions={"en": (f"Refunds {pool.name}", "<p>Within 14 days.</p>")},
                    tags="",
                    pool_ids=[pool.id],
                    public=False,
                    status="published",
                ),
            )
            for pool in (a, b)
        ]
    db.session.commit()
    messages = {m.case_id: m.id for case in (desk.case_a, desk.case_b) for m in case.messages}
    return {
        "case": (desk.case_a.id, desk.case_b.id),
        "message": (messages[desk.case_a.id], messages[desk.case_b.id]),
        "customer": (desk.customer_a.id, desk.customer_b.id),
        "pool": (a.id, b.id),
        "questionnaire": (q_a.id, q_b.id),
        "intakeform": (form_a.id, form_b.id),
        "intakeformversion": (drafts[0].id, drafts[1].id),
        "topic": (topic.id, None),
        "dictionary": (dictionary.id, None),
        "reportrun": (run_s.id, run_m.id),
        "knowledge": (articles[0].id, articles[1].id),
    }


# resource -> role -> which of (A's row, B's row) he sees; None: his role may not (403).
SEES = {
    "case": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": "a"},
    "message": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": "a"},
    "customer": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": "a"},
    "pool": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": "a"},
    "questionnaire": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": None},
    "intakeform": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": None},
    "topic": {"admin": "a", "manager": "a", "supervisor_a": "a", "agent_a": "a"},
    "dictionary": {"admin": "a", "manager": "a", "supervisor_a": "a", "agent_a": None},
    # a supervisor sees his own runs; the manager's run (b) covers the whole desk
    "reportrun": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": None},
    "knowledge": {"admin": "ab", "manager": "ab", "supervisor_a": "a", "agent_a": "a"},
}


def _ids(response, resource):
    assert response.status_code == 200, response.json
    body = response.json
    if resource in ("reportrun", "knowledge"):
        return {row["id"] for row in body["result"]}
    return set(body["ids"])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("resource", sorted(SEES))
def test_each_resource_as_each_role(client, tokens, rows, resource, role):
    headers = tokens(role)
    expected = SEES[resource][role]
    row_a, row_b = rows[resource]
    listed = client.get(f"/api/v1/{resource}/", headers=headers)
    if expected is None:
        assert listed.status_code == 403
        assert listed.json == {"message": "Forbidden", "errors": {}}
        assert client.get(f"/api/v1/{resource}/{row_a}", headers=headers).status_code == 403
        return
    wanted = {row for letter, row in (("a", row_a), ("b", row_b)) if letter in expected}
    present = {row for row in (row_a, row_b) if row is not None}
    assert _ids(listed, resource) & present == wanted
    for letter, row in (("a", row_a), ("b", row_b)):
        if row is None:
            continue
        one = client.get(f"/api/v1/{resource}/{row}", headers=headers)
        if letter in expected:
            assert one.status_code == 200, one.json
        else:  # another pool's row: as if it did not exist
            assert one.status_code == 404
            assert one.json == {"message": "Not found", "errors": {}}


def test_an_intake_forms_versions_are_read_with_their_schema(client, tokens, rows, desk):
    headers = tokens("supervisor_a")
    form = client.get(f"/api/v1/intakeform/{rows['intakeform'][0]}", headers=headers).json
    versions = form["result"]["versions"]
    assert versions and versions[0]["status"] == "draft"
    version = client.get(f"/api/v1/intakeformversion/{versions[0]['id']}", headers=headers)
    assert version.status_code == 200
    assert "schema" in version.json["result"]
    assert versions[0]["id"] == rows["intakeformversion"][0]
    denied = client.get(
        f"/api/v1/intakeformversion/{rows['intakeformversion'][1]}", headers=headers
    )
    assert denied.status_code == 404


def test_a_dictionary_lists_its_values(client, tokens, rows):
    body = client.get(f"/api/v1/dictionary/{rows['dictionary'][0]}", headers=tokens("manager"))
    assert [v["value"] for v in body.json["result"]["values"]] == ["Paper jam"]


def test_no_resource_offers_a_delete_of_cases_or_messages(client, tokens, desk):
    headers = tokens("admin")
    for url in (f"/api/v1/case/{desk.case_a.id}", "/api/v1/message/1"):
        response = client.delete(url, headers=headers)
        assert response.status_code == 405
        assert set(response.json) == {"message", "errors"}


def test_read_only_resources_refuse_writes(client, tokens, rows):
    headers = tokens("admin")
    for resource in ("pool", "topic", "dictionary", "intakeform", "intakeformversion"):
        assert client.post(f"/api/v1/{resource}/", headers=headers, json={}).status_code == 405
        row = rows.get(resource, (1,))[0]
        response = client.put(f"/api/v1/{resource}/{row}", headers=headers, json={"name": "x"})
        assert response.status_code == 405

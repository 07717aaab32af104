"""Supervisors keep their pools' questionnaires and the desk's dictionaries; the REST API reads
questionnaires and answers under the same record rules; every role is checked."""

from __future__ import annotations

import pytest

from app.audit.actor import acting_as
from app.cases import actions
from app.extensions import db
from app.questionnaires.models import Dictionary, Question, Questionnaire
from tests.questionnaires.conftest import GOOD
from tests.support.questionnaires import make_questionnaire


def _add_questionnaire(client, **fields):
    data = {"name": "New one", "purpose": "wrap_up", "asked_on": "close", "active": "y"}
    data.update({k: v for k, v in fields.items() if v is not None})
    return client.post("/questionnaires/add", data=data)


def test_supervisor_adds_a_questionnaire_of_his_pool_and_its_questions(asked, client, auth):
    auth.login("supervisor_a")
    assert _add_questionnaire(client, pool=asked.pool_a.id).status_code == 302
    row = db.session.query(Questionnaire).filter_by(name="New one").one()
    assert row.pool_id == asked.pool_a.id
    r = client.post(
        "/questions/add",
        data={
            "questionnaire": row.id,
            "position": "1",
            "text": "Which product was it?",
            "kind": "choice",
            "dictionary": asked.products.id,
            "required": "y",
            "active": "y",
        },
    )
    assert r.status_code == 302
    assert [q.text for q in row.questions] == ["Which product was it?"]
    page = client.get(f"/questionnaires/show/{row.id}").get_data(as_text=True)
    assert "Which product was it?" in page  # the questions inline on its page


def test_a_questionnaire_for_another_pool_or_for_nothing_is_refused(asked, client, auth):
    auth.login("supervisor_a")
    _add_questionnaire(client, pool=asked.pool_b.id)
    _add_questionnaire(client)  # neither pool nor mailbox
    _add_questionnaire(client, pool=asked.pool_a.id, mailbox=asked.mailbox_a.id)  # both
    assert db.session.query(Questionnaire).filter_by(name="New one").count() == 0


def test_a_choice_question_needs_its_dictionary(asked, client, auth):
    auth.login("supervisor_a")
    r = client.post(
        "/questions/add",
        data={
            "questionnaire": asked.wrap_up.id,
            "position": "9",
            "text": "Pick one",
            "kind": "choice",
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "needs its dictionary" in r.get_data(as_text=True)
    assert db.session.query(Question).filter_by(text="Pick one").count() == 0


def test_supervisor_keeps_dictionaries(asked, client, auth):
    auth.login("supervisor_a")
    r = client.post("/dictionaries/add", data={"name": "Which partner?", "active": "y"})
    assert r.status_code == 302
    assert db.session.query(Dictionary).filter_by(name="Which partner?").count() == 1


@pytest.mark.parametrize(
    "path", ["/questionnaires/list/", "/dictionaries/list/", "/questions/list/"]
)
def test_agents_do_not_configure_questionnaires(asked, client, auth, path):
    auth.login("agent_a")
    response = client.get(path)
    assert response.status_code in (302, 403)
    assert "Pool A wrap-up" not in response.get_data(as_text=True)
    refused = client.post("/dictionaries/add", data={"name": "Sneaky", "active": "y"})
    assert refused.status_code in (302, 403)
    assert db.session.query(Dictionary).filter_by(name="Sneaky").count() == 0


def _names(client, headers, resource):
    response = client.get(f"/api/v1/{resource}/", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["result"]


@pytest.mark.parametrize(
    ("user", "sees"),
    [("admin", True), ("manager", True), ("supervisor_a", True), ("agent_b", False)],
)
def test_the_api_reads_questionnaires_and_answers_by_the_record_rules(
    asked, client, auth, user, sees
):
    make_questionnaire([("B only?", "text", False)], pool=asked.pool_b, name="Pool B wrap-up")
    db.session.commit()
    with acting_as(asked.user("agent_a")):
        actions.close(asked.case_a, answers=GOOD)
    headers = auth.token(user)
    if user == "agent_b":  # no permission on questionnaires at all
        assert client.get("/api/v1/questionnaire/", headers=headers).status_code == 403
    else:
        names = {q["name"] for q in _names(client, headers, "questionnaire")}
        assert "Pool A wrap-up" in names
        assert ("Pool B wrap-up" in names) == (user in ("admin", "manager"))
    answers = _names(client, headers, "answer")
    case_numbers = {a["case"]["number"] for a in answers}
    assert (asked.case_a.number in case_numbers) == sees
    if sees:
        per_value = [a for a in answers if a["question"]["text"] == "Channels used"]
        assert sorted(a["value_text"] for a in per_value) == ["Chat", "Phone"]


def test_answers_are_never_deleted(asked):
    from app.questionnaires.models import Answer

    with acting_as(asked.user("agent_a")):
        actions.close(asked.case_a, answers=GOOD)
    row = db.session.query(Answer).first()
    db.session.delete(row)
    with pytest.raises(Exception, match="never|closed loop|cannot"):
        db.session.flush()
    db.session.rollback()

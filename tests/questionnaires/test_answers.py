"""Answers on close: every kind checked, every problem named at once, stored as rows (one per
selected value), from the case page, the API and the CLI; the reply's questions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.actor import acting_as
from app.cases import actions
from app.extensions import db
from app.questionnaires import services
from app.questionnaires.models import Answer, DictionaryValue
from tests.questionnaires.conftest import GOOD
from tests.support.records import events, refresh


def _rows(case, context="close"):
    return (
        db.session.query(Answer)
        .filter_by(case_id=case.id, context=context)
        .order_by(Answer.question_id, Answer.id)
        .all()
    )


def test_close_through_the_api_names_every_missing_and_wrong_answer(asked, client, auth):
    case = asked.case_a
    headers = auth.token("agent_a")
    bad = client.post(
        f"/api/v1/caseaction/{case.id}/close",
        headers=headers,
        json={"answers": {"Minutes spent": "900", "Channels used": ["Phone", "Fax"]}},
    )
    assert bad.status_code == 400
    message = bad.json["message"]
    assert "Which product? (required)" in message
    assert "Solved? (required)" in message
    assert "Minutes spent: 900 is above the maximum 600" in message
    assert "Channels used: 'Fax' is not a value of Which channel?" in message
    assert "Notes" not in message  # optional and empty: fine
    assert refresh(case).status == "received"
    assert _rows(case) == []

    ok = client.post(f"/api/v1/caseaction/{case.id}/close", headers=headers, json={"answers": GOOD})
    assert ok.status_code == 200, ok.json
    assert refresh(case).status == "closed"


def test_answers_are_stored_per_value(asked):
    case = asked.case_a
    with acting_as(asked.user("agent_a")):
        actions.close(case, answers=GOOD)
    rows = _rows(case)
    by_question = {}
    for row in rows:
        by_question.setdefault(row.question.text, []).append(row)
    pro = db.session.scalars(select(DictionaryValue).filter_by(value="Pro")).one()
    [product] = by_question["Which product?"]
    assert (product.dictionary_value_id, product.value_text) == (pro.id, "Pro")
    # Multiple choice: one row per ticked value.
    assert [r.value_text for r in by_question["Channels used"]] == ["Phone", "Chat"]
    assert all(r.dictionary_value_id for r in by_question["Channels used"])
    [cause] = by_question["Causes"]
    assert (cause.value_text, cause.dictionary_value_id) == ("Bug", None)
    [solved] = by_question["Solved?"]
    assert (solved.value_text, solved.value_number) == ("yes", 1.0)
    [minutes] = by_question["Minutes spent"]
    assert minutes.value_number == 25.0
    assert "Notes" not in by_question  # nothing given, nothing stored
    assert {r.answered_by_id for r in rows} == {asked.user("agent_a").id}
    assert {r.questionnaire_id for r in rows} == {asked.wrap_up.id}
    [event] = events(case, "wrap_up")
    assert event.details["answers"]["Channels used"] == "Phone, Chat"
    assert event.details["questionnaires"] == ["Pool A wrap-up"]


def test_a_report_counts_answers_per_value_with_one_group_by(asked, desk):
    from app.cases import services as case_services

    with acting_as(None):
        second = case_services.open_case(
            pool=desk.pool_a, subject="Another", customer=desk.customer_a, mailbox=desk.mailbox_a
        )
    with acting_as(asked.user("agent_a")):
        actions.close(asked.case_a, answers=GOOD)
        actions.close(second, answers={**GOOD, "Channels used": ["Phone"]})
    counts = dict(
        db.session.execute(
            select(DictionaryValue.value, func.count(Answer.id))
            .join(Answer, Answer.dictionary_value_id == DictionaryValue.id)
            .where(Answer.question_id == asked.q["Channels used"].id)
            .group_by(DictionaryValue.value)
        ).all()
    )
    assert counts == {"Phone": 2, "Chat": 1}


@pytest.mark.parametrize(
    ("question", "value", "problem"),
    [
        ("Which product?", "Platinum", "'Platinum' is not a value of Which product?"),
        ("Causes", ["Bug", "Gremlins"], "'Gremlins' is not one of the choices"),
        ("Solved?", "maybe", "answer yes or no"),
        ("Minutes spent", "-1", "-1 is below the minimum 0"),
        ("Minutes spent", "lots", "'lots' is not a number"),
        ("Which product?", ["Basic", "Pro"], "give one answer"),
    ],
)
def test_only_values_of_the_question_are_taken(asked, question, value, problem):
    with acting_as(asked.user("agent_a")), pytest.raises(services.AnswerProblems) as refused:
        actions.close(asked.case_a, answers={**GOOD, question: value})
    assert refused.value.problems == [f"{question}: {problem}"]
    db.session.rollback()
    assert refresh(asked.case_a).status == "received"


def test_an_inactive_dictionary_value_is_refused_and_values_go_by_id_too(asked):
    basic = db.session.scalars(select(DictionaryValue).filter_by(value="Basic")).one()
    basic.active = False
    db.session.commit()
    with acting_as(asked.user("agent_a")), pytest.raises(services.AnswerProblems):
        actions.close(asked.case_a, answers={**GOOD, "Which product?": "Basic"})
    db.session.rollback()
    enterprise = db.session.scalars(select(DictionaryValue).filter_by(value="Enterprise")).one()
    with acting_as(asked.user("agent_a")):
        # By question id and value id, as the case page's form sends them.
        given = {str(asked.q[k].id): v for k, v in GOOD.items()}
        given[str(asked.q["Which product?"].id)] = str(enterprise.id)
        actions.close(asked.case_a, answers=given)
    [product] = [r for r in _rows(asked.case_a) if r.question.text == "Which product?"]
    assert product.value_text == "Enterprise"


def test_an_unknown_question_is_named(asked):
    with acting_as(asked.user("agent_a")), pytest.raises(services.AnswerProblems) as refused:
        actions.close(asked.case_a, answers={**GOOD, "Colour?": "red"})
    assert "unknown question(s): Colour?" in str(refused.value)


def test_the_close_form_renders_each_kind_and_refuses_missing_answers(asked, client, auth):
    case = asked.case_a
    auth.login("agent_a")
    page = client.get(f"/cases/show/{case.id}").get_data(as_text=True)
    form = page[
        page.index('id="close-form"') : page.index("</form>", page.index('id="close-form"'))
    ]
    q = asked.q
    assert f'<select class="form-control input-sm" id="q-wrapup{q["Which product?"].id}"' in form
    assert form.count(f'type="checkbox" name="wrapup::{q["Channels used"].id}"') == 3
    assert f'type="radio" name="wrapup::{q["Solved?"].id}" value="yes"' in form
    assert f'type="number" step="any" id="q-wrapup{q["Minutes spent"].id}"' in form
    assert 'min="0.0" max="600.0"' in form
    assert f'<textarea class="form-control input-sm" rows="2" id="q-wrapup{q["Notes"].id}"' in form

    refused = client.post(
        f"/caseaction/{case.id}/close",
        data={f"wrapup::{q['Solved?'].id}": "yes"},
        follow_redirects=True,
    )
    text = refused.get_data(as_text=True)
    assert "Which product? (required)" in text and "Minutes spent (required)" in text
    assert refresh(case).status == "received"

    products = {v.value: v.id for v in asked.products.values}
    channels = {v.value: v.id for v in asked.channels.values}
    done = client.post(
        f"/caseaction/{case.id}/close",
        data={
            f"wrapup::{q['Which product?'].id}": str(products["Basic"]),
            f"wrapup::{q['Channels used'].id}": [str(channels["Mail"]), str(channels["Chat"])],
            f"wrapup::{q['Solved?'].id}": "no",
            f"wrapup::{q['Minutes spent'].id}": "12.5",
            f"wrapup::{q['Notes'].id}": "",
        },
    )
    assert done.status_code == 302
    assert refresh(case).status == "closed"
    assert sorted(r.value_text for r in _rows(case)) == ["12.5", "Basic", "Chat", "Mail", "no"]
    page = client.get(f"/cases/show/{case.id}").get_data(as_text=True)
    assert "<dt>Channels used</dt><dd>Mail, Chat</dd>" in page  # the wrap-up panel


def test_the_cli_closes_with_answers(asked, runner):
    args = ["case", "transition", asked.case_a.number, "closed", "--as", "agent_a"]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0 and "Which product? (required)" in refused.output
    answers = [
        "--answer=Which product?=Pro",
        "--answer=Channels used=Phone",
        "--answer=Channels used=Mail",
        "--answer=Solved?=yes",
        "--answer=Minutes spent=3",
    ]
    done = runner.invoke(args=args + answers)
    assert done.exit_code == 0, done.output
    channel_rows = [r for r in _rows(refresh(asked.case_a)) if r.question.text == "Channels used"]
    assert [r.value_text for r in channel_rows] == ["Phone", "Mail"]


def test_questions_asked_on_reply(asked, client, auth):
    from tests.support.questionnaires import make_questionnaire

    on_reply = make_questionnaire(
        [("Offered a callback?", "yes_no", True)],
        mailbox=asked.mailbox_a,
        name="Mailbox A on reply",
        asked_on="reply",
    )
    db.session.commit()
    question = on_reply.questions[0]
    case = asked.case_a
    headers = auth.token("agent_a")
    options = client.get(f"/api/v1/caseaction/{case.id}/options", headers=headers).json["result"]
    assert [q["question"] for q in options["reply_questions"]] == ["Offered a callback?"]
    assert "Which product?" in [q["question"] for q in options["wrap_up_questions"]]
    refused = client.post(
        f"/api/v1/caseaction/{case.id}/reply", headers=headers, json={"text": "Hello"}
    )
    assert refused.status_code == 400
    assert "Offered a callback? (required)" in refused.json["message"]
    sent = client.post(
        f"/api/v1/caseaction/{case.id}/reply",
        headers=headers,
        json={"text": "Hello", "answers": {"Offered a callback?": True}},
    )
    assert sent.status_code == 201, sent.json
    [row] = _rows(case, "reply")
    assert (row.question_id, row.value_text) == (question.id, "yes")
    assert events(case, "reply questions")
    # The reply page shows the question in the form.
    auth.login("agent_a")
    page = client.get(f"/caseaction/{case.id}/compose").get_data(as_text=True)
    assert f'name="reply::{question.id}" value="yes"' in page

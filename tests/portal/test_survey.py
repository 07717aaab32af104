"""Closing and the exit survey: a rating in a link only preselects, GET never records; a vote
counts only on an explicit POST carrying the token of this closure, once per closure."""

from __future__ import annotations

import re

from app.answering import portal as links
from app.audit.actor import acting_as
from app.cases import actions
from app.cases.models import Case
from app.extensions import db
from app.questionnaires.models import Answer


def _path(case, suffix=""):
    return f"/portal/case/{links.portal_token(case)}{suffix}"


def _answers(case):
    return db.session.query(Answer).filter_by(case_id=case.id, context="survey").count()


def _closure(page: str) -> str:
    return re.search(r'name="closure" value="([^"]+)"', page).group(1)


def _vote(client, desk, closure, rating="5"):
    return client.post(
        _path(desk.case_a, "/survey"),
        data={"closure": closure, f"survey::{desk.rating.id}": rating},
    )


def test_the_customer_closes_and_is_taken_to_the_survey(surveyed, client):
    closed = client.post(_path(surveyed.case_a, "/close"))
    assert closed.status_code == 302 and closed.location.endswith("/survey")
    assert db.session.get(Case, surveyed.case_a.id).status == "closed"


def test_a_rating_link_only_preselects_and_get_never_records(surveyed, client):
    with acting_as(None):
        actions.close_for_customer(surveyed.case_a)
    for _ in range(3):  # a mail scanner following the link, twice, and the customer
        page = client.get(_path(surveyed.case_a, "/survey?rating=4"))
        assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert re.search(rf'name="survey::{surveyed.rating.id}" value="4" checked', body)
    assert _answers(surveyed.case_a) == 0
    assert _vote(client, surveyed, _closure(body), "4").status_code == 200
    assert _answers(surveyed.case_a) == 1


def test_a_vote_needs_the_closure_token(surveyed, client):
    with acting_as(None):
        actions.close_for_customer(surveyed.case_a)
    refused = _vote(client, surveyed, "forged")
    assert refused.status_code == 409
    assert 'id="survey-problem"' in refused.get_data(as_text=True)
    assert _answers(surveyed.case_a) == 0


def test_once_per_closure_and_a_new_survey_after_reopening(surveyed, client):
    case = surveyed.case_a
    with acting_as(None):
        actions.close_for_customer(case)
    first = _closure(client.get(_path(case, "/survey")).get_data(as_text=True))
    assert 'id="survey-thanks"' in _vote(client, surveyed, first).get_data(as_text=True)
    assert 'id="survey-done"' in _vote(client, surveyed, first, "1").get_data(as_text=True)
    assert _answers(case) == 1

    with acting_as(surveyed.user("agent_a")):
        actions.reopen(db.session.get(Case, case.id))
    with acting_as(None):
        actions.close_for_customer(db.session.get(Case, case.id))
    # The old form's token belongs to the earlier closure.
    assert _vote(client, surveyed, first, "2").status_code == 409
    second = _closure(client.get(_path(case, "/survey")).get_data(as_text=True))
    assert second != first
    assert _vote(client, surveyed, second, "3").status_code == 200
    values = sorted(
        a.value_text for a in db.session.query(Answer).filter_by(case_id=case.id, context="survey")
    )
    assert values == ["3", "5"]


def test_a_honeypot_vote_is_not_recorded(surveyed, client):
    with acting_as(None):
        actions.close_for_customer(surveyed.case_a)
    closure = _closure(client.get(_path(surveyed.case_a, "/survey")).get_data(as_text=True))
    client.post(
        _path(surveyed.case_a, "/survey"),
        data={"closure": closure, f"survey::{surveyed.rating.id}": "5", "website": "x"},
    )
    assert _answers(surveyed.case_a) == 0


def test_an_open_case_has_no_survey_yet(surveyed, client):
    response = client.get(_path(surveyed.case_a, "/survey"))
    assert response.status_code == 302

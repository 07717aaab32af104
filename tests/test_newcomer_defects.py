"""Issue 8, items 16 and 17: defects a newcomer found in the case services and the case
actions' API. Each test states the behaviour the user must see."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.cases.models import Case
from app.core.timeutil import utcnow
from app.extensions import db
from tests.support.records import refresh


def test_a_reply_without_a_claim_makes_the_replier_the_assignee(desk, client, auth):
    case = desk.case_a
    assert case.assignee is None and case.status == "received"
    auth.login("agent_a")
    response = client.post(f"/caseaction/{case.id}/reply", data={"text": "We are on it."})
    assert response.status_code == 302
    case = refresh(case)
    assert case.status == "waiting_on_customer"  # answered: the next move is the customer's
    assert case.assignee_id == desk.user("agent_a").id


def test_after_claim_on_the_case_page_the_agent_lands_on_the_case(desk, client, auth):
    case = desk.case_a
    auth.login("agent_a")
    assert client.get(f"/cases/show/{case.id}").status_code == 200
    response = client.post(f"/cases/claim/{case.id}")  # the case page's Claim button
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/show/{case.id}")
    assert refresh(case).assignee_id == desk.user("agent_a").id


def test_the_reply_api_says_queued_until_the_relay_accepted_the_mail(desk, client, auth):
    from app.outbox.models import OutboxMail

    response = client.post(
        f"/api/v1/caseaction/{desk.case_a.id}/reply",
        headers=auth.token("agent_a"),
        json={"text": "We are on it."},
    )
    assert response.status_code == 201, response.json
    row = db.session.query(OutboxMail).filter_by(case_id=desk.case_a.id, kind="reply").one()
    assert row.status == "queued"  # no worker has handed it to the relay yet
    assert response.json["result"]["status"] == "queued"


def test_a_postponed_case_comes_back_with_its_clock_paused(desk):
    """The due time waits while the case is postponed: it comes back with as much time left
    as it had when it was postponed."""
    from app.audit.actor import acting_as
    from app.cases import actions

    case = desk.case_a
    left = timedelta(hours=3)
    case.sla_due_at = utcnow() + left
    db.session.commit()
    with acting_as(desk.user("agent_a")):
        actions.postpone(case, utcnow() + timedelta(days=2))
    actions.return_postponed_cases(now=utcnow() + timedelta(days=2, minutes=1))
    case = refresh(case)
    assert case.status == "in_progress" and not case.is_overdue
    remaining = case.sla_due_at - (utcnow() + timedelta(days=2, minutes=1))
    assert abs(remaining - left) < timedelta(minutes=5)


@pytest.mark.parametrize("door", ["form", "api"])
def test_opening_a_case_with_a_200000_character_subject_is_refused(desk, client, auth, door):
    long = "x" * 200_000
    data = {"pool_id": desk.pool_a.id, "subject": long, "customer_email": "new@customer.test"}
    if door == "form":
        auth.login("agent_a")
        page = client.post("/caseaction/open", data=data).get_data(as_text=True)
        assert "at most 998 characters" in page
    else:
        response = client.post("/api/v1/caseaction/open", headers=auth.token("agent_a"), json=data)
        assert response.status_code == 400
        assert "at most 998 characters" in response.json["message"]
    assert db.session.query(Case).count() == 2  # no case with a cut subject

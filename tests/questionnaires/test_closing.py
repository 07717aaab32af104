"""Who may close (per pool), the closing notice with its exit-survey link, the customer
closing his own case in the portal, and the survey answered once."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from app.answering import portal
from app.audit.actor import acting_as
from app.cases import actions
from app.errors import Forbidden
from app.extensions import db
from app.outbox.models import OutboxMail
from app.questionnaires.models import Answer
from tests.questionnaires.conftest import GOOD
from tests.support.records import events, refresh

REFUSAL = "In pool Pool A only supervisors and the customer close cases."


@pytest.fixture
def supervisors_close(asked):
    asked.pool_a.close_policy = "supervisors"
    db.session.commit()
    return asked


def _mail_text(mail: OutboxMail) -> str:
    message = email.message_from_bytes(mail.content, policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def _notices(case):
    return (
        db.session.query(OutboxMail)
        .filter_by(case_id=case.id, kind="notification")
        .order_by(OutboxMail.id)
        .all()
    )


def test_an_agent_may_not_close_under_the_supervisors_only_policy(
    supervisors_close, client, auth, runner
):
    case = supervisors_close.case_a
    auth.login("agent_a")
    page = client.get(f"/cases/show/{case.id}").get_data(as_text=True)
    assert 'id="close-form"' not in page  # not offered
    refused = client.post(f"/caseaction/{case.id}/close", data={})
    assert refused.status_code == 403 and REFUSAL in refused.get_data(as_text=True)
    api = client.post(
        f"/api/v1/caseaction/{case.id}/close",
        headers=auth.token("agent_a"),
        json={"answers": GOOD},
    )
    assert api.status_code == 403 and api.json["message"] == REFUSAL
    transition = client.post(
        f"/api/v1/case/{case.id}/transition",
        headers=auth.token("agent_a"),
        json={"status": "closed", "answers": GOOD},
    )
    assert transition.status_code == 403
    cli = runner.invoke(
        args=["case", "transition", case.number, "closed", "--as", "agent_a"]
        + [f"--answer={k}={v if isinstance(v, str) else v[0]}" for k, v in GOOD.items()]
    )
    assert cli.exit_code != 0 and REFUSAL in cli.output
    assert refresh(case).status == "received"


def test_a_supervisor_may_close_under_that_policy(supervisors_close, client, auth):
    case = supervisors_close.case_a
    auth.login("supervisor_a")
    page = client.get(f"/cases/show/{case.id}").get_data(as_text=True)
    assert 'id="close-form"' in page
    with acting_as(supervisors_close.user("supervisor_a")):
        actions.close(case, answers=GOOD)
    assert refresh(case).status == "closed"


def test_agents_close_under_the_default_policy(asked):
    with acting_as(asked.user("agent_a")):
        assert "close" in actions.offered_actions(asked.case_a)
        actions.close(asked.case_a, answers=GOOD)
    assert refresh(asked.case_a).status == "closed"


def test_the_closing_mail_carries_a_survey_link_that_works_once(asked, client):
    case = asked.case_a
    with acting_as(asked.user("agent_a")):
        actions.close(case, answers=GOOD)
    [mail] = _notices(case)
    assert mail.recipient == "alice@customer.test"
    assert "Your case" in mail.subject and "is closed" in mail.subject
    text = _mail_text(mail)
    link = re.search(r"https?://\S+(/portal/case/\S+/survey)", text).group(1)
    [sent] = events(case, "closing notice sent")
    assert sent.details["notice_outbox_id"] == mail.id

    form = client.get(link)
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    rating = asked.q["How did we do?"]
    assert "How did we do?" in body and f'name="survey::{rating.id}" value="5"' in body
    # The form carries the signed token of this closure; a vote counts only with it.
    closure = re.search(r'name="closure" value="([^"]+)"', body).group(1)
    assert client.post(link, data={f"survey::{rating.id}": "4"}).status_code == 409

    missing = client.post(link, data={"closure": closure})
    assert missing.status_code == 400
    assert "How did we do? (required)" in missing.get_data(as_text=True)
    too_high = client.post(link, data={"closure": closure, f"survey::{rating.id}": "7"})
    assert "How did we do?: rate from 1 to 5" in too_high.get_data(as_text=True)

    done = client.post(
        link,
        data={
            "closure": closure,
            f"survey::{rating.id}": "4",
            f"survey::{asked.q['Anything else?'].id}": "Quick, thanks",
        },
    )
    assert done.status_code == 200 and 'id="survey-thanks"' in done.get_data(as_text=True)
    rows = db.session.query(Answer).filter_by(case_id=case.id, context="survey").all()
    assert sorted((r.value_text, r.value_number) for r in rows) == [
        ("4", 4.0),
        ("Quick, thanks", None),
    ]
    assert all(r.answered_by_id is None for r in rows)  # the customer, not a desk user
    [survey_event] = events(case, "exit survey")
    assert survey_event.details["answers"]["How did we do?"] == "4"

    again = client.post(link, data={"closure": closure, f"survey::{rating.id}": "1"})
    assert 'id="survey-done"' in again.get_data(as_text=True)
    assert db.session.query(Answer).filter_by(case_id=case.id, context="survey").count() == 2
    assert 'id="survey-done"' in client.get(link).get_data(as_text=True)


def test_the_closing_mail_offers_rating_links_that_only_preselect(asked, client):
    case = asked.case_a
    with acting_as(asked.user("agent_a")):
        actions.close(case, answers=GOOD)
    [mail] = _notices(case)
    text = _mail_text(mail).replace("\r\n", "\n")
    links = re.findall(r"^(\d): https?://\S+(/portal/case/\S+/survey\?rating=(\d))$", text, re.M)
    assert [(shown, rating) for shown, _link, rating in links] == [
        (str(n), str(n)) for n in range(1, 6)
    ]
    assert "from 1 (poor) to 5 (very good)" in text
    rating = asked.q["How did we do?"]
    # A mail scanner following every link records nothing; the page opens with it ticked.
    for _shown, link, _rating in links:
        assert client.get(link).status_code == 200
    assert db.session.query(Answer).filter_by(case_id=case.id, context="survey").count() == 0
    body = client.get(links[3][1]).get_data(as_text=True)
    assert re.search(rf'name="survey::{rating.id}" value="4" checked', body)
    assert not re.search(rf'name="survey::{rating.id}" value="5" checked', body)
    assert events(case, "exit survey") == []


def test_the_closing_mail_is_in_the_customers_language_and_without_survey_link_when_none(
    desk,
):
    desk.customer_b.language = "de"
    db.session.commit()
    with acting_as(desk.user("agent_b")):
        actions.close(desk.case_b)  # pool B has no questionnaire and no survey
    [mail] = _notices(desk.case_b)
    assert "ist abgeschlossen" in mail.subject
    text = _mail_text(mail)
    assert "Guten Tag Bob" in text and "/survey" not in text


def test_a_forged_survey_link_is_not_found(asked, client):
    assert client.get("/portal/case/forged-token/survey").status_code == 404


def test_the_customer_closes_in_the_portal_gets_no_mail_and_goes_to_the_survey(
    supervisors_close, client
):
    case = supervisors_close.case_a
    token = portal.portal_token(case)
    page = client.get(f"/portal/case/{token}").get_data(as_text=True)
    assert 'id="portal-close-form"' in page
    closed = client.post(f"/portal/case/{token}/close")
    assert closed.status_code == 302 and closed.location.endswith(f"/portal/case/{token}/survey")
    case = refresh(case)
    assert case.status == "closed"
    assert events(case, "closed by the customer")
    assert _notices(case) == []  # he is in the portal: no closing mail
    assert "How did we do?" in client.get(closed.location).get_data(as_text=True)


def test_the_desk_itself_closes_without_the_policy_and_without_a_mail(supervisors_close):
    with acting_as(None):
        actions.close(supervisors_close.case_a, answers=GOOD)
    assert refresh(supervisors_close.case_a).status == "closed"
    assert _notices(supervisors_close.case_a) == []


def test_the_refusal_is_a_forbidden(supervisors_close):
    with acting_as(supervisors_close.user("agent_a")), pytest.raises(Forbidden, match=REFUSAL):
        actions.close(supervisors_close.case_a, answers=GOOD)

"""A reply written on a workspace for a case that changed since is refused (409), keeps the
agent's text, and sends nothing; the API does the same with ``If-Match``."""

from __future__ import annotations

import re
from html import unescape

from app.answering.models import Reply
from app.audit.actor import acting_as
from app.cases import actions
from app.extensions import db
from tests.support.records import refresh


def _reply_form(client, case) -> dict:
    page = unescape(client.get(f"/cases/show/{case.id}").get_data(as_text=True))
    form = re.search(r'<form[^>]*id="reply-form".*?</form>', page, re.S).group(0)
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_a_reply_to_a_case_that_changed_is_refused_and_keeps_the_text(
    answering, client, auth, mails
):
    case = answering.case_a
    auth.login("agent_a")
    hidden = _reply_form(client, case)
    assert hidden["case_version"] == refresh(case).version_token
    with acting_as(answering.user("supervisor_a")):
        actions.add_note(refresh(case), "I am answering this one myself.")
    response = client.post(
        f"/caseaction/{case.id}/reply", data={**hidden, "text": "Please restart the printer."}
    )
    assert response.status_code == 409
    page = unescape(response.get_data(as_text=True))
    assert "changed since you opened it: Note added by supervisor_a" in page
    assert "Please restart the printer." in page  # the text is not lost
    assert db.session.query(Reply).filter_by(case_id=case.id).count() == 0
    assert mails.calls == []

    hidden = _reply_form(client, case)  # reloaded
    response = client.post(
        f"/caseaction/{case.id}/reply", data={**hidden, "text": "Please restart the printer."}
    )
    assert response.status_code == 302
    assert db.session.query(Reply).filter_by(case_id=case.id).count() == 1


def test_the_reply_api_takes_if_match(answering, client, auth, mails):
    case = answering.case_a
    headers = auth.token("agent_a")
    stale = refresh(case).version_token
    with acting_as(answering.user("agent_a")):
        actions.claim(refresh(case))
    url = f"/api/v1/caseaction/{case.id}/reply"
    refused = client.post(url, json={"text": "Hi"}, headers={**headers, "If-Match": f'"{stale}"'})
    assert refused.status_code == 409 and mails.calls == []
    assert client.post(url, json={"text": "Hi"}, headers=headers).status_code == 201

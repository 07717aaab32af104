"""A reply written on a workspace for a case that changed since is refused (409), keeps the
agent's text, and sends nothing; the API does the same with ``If-Match``."""

from __future__ import annotations

import re
from html import unescape

from app.answering import replies
from app.answering.models import Reply
from app.audit.actor import acting_as
from app.cases import actions
from app.extensions import db
from tests.support.records import agent_profile, refresh


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


def _decision_form(client, case, form_id) -> dict:
    page = unescape(client.get(f"/cases/show/{case.id}").get_data(as_text=True))
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page, re.S).group(0)
    return {
        "action": re.search(r'action="([^"]+)"', form).group(1),
        **dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)),
    }


def _waiting_reply(answering, text="Draft: restart the printer."):
    agent_profile(answering.user("agent_a")).replies_need_approval = True
    db.session.commit()
    with acting_as(answering.user("agent_a")):
        return replies.reply(refresh(answering.case_a), text=text)


def test_approving_a_reply_on_a_case_that_changed_is_refused(answering, client, auth, mails):
    """The supervisor loaded the page, the customer (here: a colleague's note) moved the case
    on: approving the reply he read is refused, nothing goes out; after a reload it works."""
    case = answering.case_a
    row = _waiting_reply(answering)
    auth.login("supervisor_a")
    form = _decision_form(client, case, "approve-form")
    assert form["case_version"] == refresh(case).version_token
    with acting_as(answering.user("agent_a")):
        actions.add_note(refresh(case), "The customer called: it works again.")
    response = client.post(form.pop("action"), data=form)
    assert response.status_code == 409
    assert "changed since you opened it: Note added by agent_a" in unescape(
        response.get_data(as_text=True)
    )
    assert refresh(row).status == "pending_approval"
    assert mails.of_kind("reply") == []

    form = _decision_form(client, case, "approve-form")  # reloaded
    assert client.post(form.pop("action"), data=form).status_code == 302
    assert refresh(row).status == "sent" and len(mails.of_kind("reply")) == 1


def test_rejecting_a_reply_on_a_case_that_changed_is_refused(answering, client, auth, mails):
    case = answering.case_a
    row = _waiting_reply(answering)
    auth.login("supervisor_a")
    form = _decision_form(client, case, "reject-form")
    with acting_as(answering.user("agent_a")):
        actions.add_note(refresh(case), "Wait, I found the real cause.")
    response = client.post(form.pop("action"), data={**form, "reason": "Too vague"})
    assert response.status_code == 409
    assert refresh(row).status == "pending_approval"
    assert refresh(case).status == "awaiting_approval"


def test_the_approval_api_takes_if_match(answering, client, auth, mails):
    case = answering.case_a
    row = _waiting_reply(answering)
    headers = auth.token("supervisor_a")
    stale = refresh(case).version_token
    with acting_as(answering.user("agent_a")):
        actions.add_note(refresh(case), "One more detail.")
    url = f"/api/v1/caseaction/reply/{row.id}"
    for verb, body in (("approve", {}), ("reject", {"reason": "No"})):
        refused = client.post(
            f"{url}/{verb}", json=body, headers={**headers, "If-Match": f'"{stale}"'}
        )
        assert refused.status_code == 409, refused.json
        assert "changed since you opened it" in refused.json["message"]
    assert refresh(row).status == "pending_approval" and mails.of_kind("reply") == []
    fresh = refresh(case).version_token
    ok = client.post(f"{url}/approve", json={}, headers={**headers, "If-Match": f'"{fresh}"'})
    assert ok.status_code == 200, ok.json

"""Note, forward, postpone (and the return job), close with wrap-up, reopen, open a case for a
customer: from the case page and the API, each with its Event; record rules on every door."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.records import events, refresh


def _future(days=3):
    from app.core.timeutil import utcnow

    return (utcnow() + timedelta(days=days)).replace(second=0, microsecond=0)


def test_case_page_shows_the_action_panel(answering, client, auth):
    auth.login("agent_a")
    page = client.get(f"/cases/show/{answering.case_a.id}").get_data(as_text=True)
    assert 'id="case-actions"' in page and 'id="case-reply"' in page  # the reply editor
    assert "Was the customer satisfied?" in page  # the pool's wrap-up questionnaire


@pytest.mark.parametrize("door", ["form", "api"])
def test_note_leaves_message_and_event(answering, client, auth, door):
    from app.cases.models import Message
    from app.extensions import db

    case = answering.case_a
    if door == "form":
        auth.login("agent_a")
        assert (
            client.post(f"/caseaction/{case.id}/note", data={"text": "Called him"}).status_code
            == 302
        )
    else:
        r = client.post(
            f"/api/v1/caseaction/{case.id}/note",
            headers=auth.token("agent_a"),
            json={"text": "Called him"},
        )
        assert r.status_code == 201
    note = db.session.query(Message).filter_by(case_id=case.id, direction="note").one()
    assert note.body_text == "Called him"
    assert "agent_a" in events(case, "note added")[0].actor_name


@pytest.mark.parametrize("door", ["form", "api"])
def test_forward_to_other_pool_with_note(answering, client, auth, door):
    case = answering.case_a
    data = {"pool_id": answering.pool_b.id, "note": "Billing question, not printers"}
    if door == "form":
        auth.login("agent_a")
        assert client.post(f"/caseaction/{case.id}/forward", data=data).status_code == 302
    else:
        r = client.post(
            f"/api/v1/caseaction/{case.id}/forward", headers=auth.token("agent_a"), json=data
        )
        assert r.status_code == 200, r.json
    case = refresh(case)
    assert case.pool_id == answering.pool_b.id
    [fwd] = events(case, "forwarded")
    assert fwd.details["to_pool"] == "Pool B" and "Billing" in fwd.details["note"]
    assert [e for e in events(case, "changed") if e.field == "pool"]
    assert any(
        "Billing question" in (m.body_text or "") for m in case.messages if m.direction == "note"
    )


def test_forward_to_colleague_must_work_in_the_pool(answering, client, auth):
    case = answering.case_a
    headers = auth.token("agent_a")
    bad = client.post(
        f"/api/v1/caseaction/{case.id}/forward",
        headers=headers,
        json={"assignee_id": answering.user("agent_b").id, "note": "you do it"},
    )
    assert bad.status_code == 400 and "does not work in pool" in bad.json["message"]
    good = client.post(
        f"/api/v1/caseaction/{case.id}/forward",
        headers=headers,
        json={"assignee_id": answering.user("supervisor_a").id, "note": "help"},
    )
    assert good.status_code == 200
    assert refresh(case).assignee_id == answering.user("supervisor_a").id
    missing_note = client.post(
        f"/api/v1/caseaction/{case.id}/forward",
        headers=headers,
        json={"pool_id": answering.pool_b.id},
    )
    assert missing_note.status_code == 400 and "note" in missing_note.json["message"]


@pytest.mark.parametrize("door", ["form", "api"])
def test_postpone_notifies_customer_and_case_returns_on_its_date(
    answering, client, auth, mails, door
):
    from app.cases import actions
    from app.cases.tasks import return_postponed_cases

    case = answering.case_a
    until = _future(3)
    if door == "form":
        auth.login("agent_a")
        r = client.post(
            f"/caseaction/{case.id}/postpone",
            data={"until": until.strftime("%Y-%m-%dT%H:%M"), "reason": "parts", "notify": "1"},
        )
        assert r.status_code == 302
    else:
        r = client.post(
            f"/api/v1/caseaction/{case.id}/postpone",
            headers=auth.token("agent_a"),
            json={"until": until.isoformat(), "reason": "parts"},
        )
        assert r.status_code == 200, r.json
    case = refresh(case)
    assert case.status == "postponed" and case.postponed_until == until
    [notice] = mails.of_kind("notification")
    assert notice["automatic"] is True and until.strftime("%Y-%m-%d %H:%M") in notice["text"]
    assert events(case, "postponed")[0].details["notice_outbox_id"]
    # Not yet due: nothing happens.
    assert actions.return_postponed_cases(now=until - timedelta(minutes=1)) == []
    assert refresh(case).status == "postponed"
    # On its date the job brings it back, as the system, with an Event.
    assert actions.return_postponed_cases(now=until + timedelta(minutes=1)) == [case.number]
    case = refresh(case)
    assert case.status == "in_progress" and case.postponed_until is None
    back = [e for e in events(case) if e.action == "status" and e.new_value == "in_progress"]
    assert back[-1].actor_name == "system"
    assert back[-1].details == {"reason": "postponement ended"}
    assert return_postponed_cases() == []  # the scheduled job runs and finds nothing more


def test_postpone_job_is_scheduled():
    from app.cases.tasks import return_postponed_cases
    from app.schedule import PERIODIC_JOBS

    assert any(func is return_postponed_cases for func, _q, _i in PERIODIC_JOBS)


@pytest.mark.parametrize("door", ["form", "api"])
def test_close_requires_wrap_up_answers_and_stores_them(answering, client, auth, door):
    case = answering.case_a
    question = "Was the customer satisfied?"
    if door == "form":
        auth.login("agent_a")
        client.post(f"/caseaction/{case.id}/close", data={})
        assert refresh(case).status == "received"
        r = client.post(f"/caseaction/{case.id}/close", data={f"wrapup::{question}": "yes"})
        assert r.status_code == 302
    else:
        headers = auth.token("agent_a")
        bad = client.post(f"/api/v1/caseaction/{case.id}/close", headers=headers, json={})
        assert bad.status_code == 400 and question in bad.json["message"]
        assert refresh(case).status == "received"
        ok = client.post(
            f"/api/v1/caseaction/{case.id}/close",
            headers=headers,
            json={"answers": {question: "yes"}},
        )
        assert ok.status_code == 200, ok.json
    case = refresh(case)
    assert case.status == "closed" and case.closed_at is not None
    [wrap] = events(case, "wrap_up")
    assert wrap.details["answers"] == {question: "yes", "Follow-up needed?": ""}


@pytest.mark.parametrize("door", ["form", "api"])
def test_reopen(answering, client, auth, door):
    from app.audit.actor import acting_as
    from app.cases import actions

    case = answering.case_b  # pool B has no questionnaire
    with acting_as(answering.user("agent_b")):
        actions.close(case)
    if door == "form":
        auth.login("agent_b")
        assert (
            client.post(
                f"/caseaction/{case.id}/reopen", data={"reason": "customer wrote"}
            ).status_code
            == 302
        )
    else:
        r = client.post(
            f"/api/v1/caseaction/{case.id}/reopen",
            headers=auth.token("agent_b"),
            json={"reason": "customer wrote"},
        )
        assert r.status_code == 200
    case = refresh(case)
    assert case.status == "in_progress" and case.closed_at is None
    assert events(case)[-1].details == {"reason": "customer wrote"}


@pytest.mark.parametrize("door", ["form", "api"])
def test_open_case_for_customer_sends_confirmation(answering, client, auth, mails, door):
    from app.cases.models import Case
    from app.extensions import db

    data = {
        "pool_id": answering.pool_a.id,
        "subject": "Toner empty",
        "customer_email": "Carol@Customer.test",
        "customer_name": "Carol",
        "text": "Phoned in",
    }
    if door == "form":
        auth.login("agent_a")
        assert client.post("/caseaction/open", data=data).status_code == 302
    else:
        r = client.post("/api/v1/caseaction/open", headers=auth.token("agent_a"), json=data)
        assert r.status_code == 201, r.json
    case = db.session.query(Case).filter_by(subject="Toner empty").one()
    [mail] = mails.of_kind("confirmation")
    assert mail["to"] == "carol@customer.test" and mail["automatic"] is True
    assert case.number in mail["subject"] and case.number in mail["text"]
    assert f"{case.sla_due_at:%Y-%m-%d %H:%M}" in mail["text"]
    assert events(case, "opened by agent")


def test_open_case_form_stops_input_at_the_column_lengths(answering, client, auth):
    """The browser stops typing where the columns end (the service's own check for other
    clients is pending: tests/test_newcomer_pending.py)."""
    import re

    auth.login("agent_a")
    page = client.get("/caseaction/open").get_data(as_text=True)
    limits = dict(re.findall(r'name="(\w+)" value="[^"]*" maxlength="(\d+)"', page))
    assert limits == {
        "customer_email": "320",
        "customer_name": "256",
        "language": "16",
        "subject": "998",
    }


def test_open_case_refuses_pool_outside_own(answering, client, auth, mails):
    r = client.post(
        "/api/v1/caseaction/open",
        headers=auth.token("agent_a"),
        json={"pool_id": answering.pool_b.id, "subject": "x", "customer_email": "c@customer.test"},
    )
    assert r.status_code == 404 and mails.calls == []


API_ACTIONS = [
    ("post", "reply", {"text": "hi"}),
    ("post", "preview", {"text": "hi"}),
    ("get", "options", None),
    ("post", "note", {"text": "hi"}),
    ("post", "forward", {"note": "x", "pool_id": 1}),
    ("post", "postpone", {"until": "2999-01-01T00:00:00"}),
    ("post", "close", {}),
    ("post", "reopen", {}),
]


@pytest.mark.parametrize("method, action, body", API_ACTIONS)
def test_agent_of_pool_b_cannot_act_on_case_of_pool_a_via_api(
    answering, client, auth, mails, method, action, body
):
    case = answering.case_a
    headers = auth.token("agent_b")
    call = getattr(client, method)
    kwargs = {"headers": headers} | ({"json": body} if body is not None else {})
    r = call(f"/api/v1/caseaction/{case.id}/{action}", **kwargs)
    assert r.status_code == 404
    assert mails.calls == []
    assert refresh(case).status == "received" and refresh(case).pool_id == answering.pool_a.id


@pytest.mark.parametrize(
    "action, data",
    [
        ("reply", {"text": "hi"}),
        ("preview", {"text": "hi"}),
        ("note", {"text": "hi"}),
        ("forward", {"note": "x", "pool_id": "1"}),
        ("postpone", {"until": "2999-01-01T00:00"}),
        ("close", {}),
        ("reopen", {}),
    ],
)
def test_agent_of_pool_b_cannot_act_on_case_of_pool_a_via_case_page(
    answering, client, auth, mails, action, data
):
    case = answering.case_a
    auth.login("agent_b")
    assert client.get(f"/caseaction/{case.id}/compose").status_code == 404
    r = client.post(f"/caseaction/{case.id}/{action}", data=data)
    assert r.status_code == 404
    assert mails.calls == [] and refresh(case).status == "received"


def test_template_endpoint_and_approval_respect_record_rules(answering, client, auth):
    from app.answering.models import ResponseTemplate
    from app.audit.actor import acting_as
    from app.extensions import db

    tpl = db.session.query(ResponseTemplate).filter_by(language="en").first()
    headers = auth.token("agent_b")
    assert (
        client.get(
            f"/api/v1/caseaction/{answering.case_a.id}/template/{tpl.id}", headers=headers
        ).status_code
        == 404
    )
    # A pool-A-only template is not offered on a pool B case.
    private = ResponseTemplate(name="a-only", language="en", pool=answering.pool_a, body="x")
    db.session.add(private)
    db.session.commit()
    assert (
        client.get(
            f"/api/v1/caseaction/{answering.case_b.id}/template/{private.id}", headers=headers
        ).status_code
        == 404
    )
    ok = client.get(f"/api/v1/caseaction/{answering.case_b.id}/template/{tpl.id}", headers=headers)
    assert ok.status_code == 200 and answering.case_b.number in ok.json["result"]["body"]
    # A waiting reply of pool A cannot be approved by agent_b (no right, no visibility).
    from app.agents.models import AgentProfile
    from app.answering import replies

    db.session.query(AgentProfile).filter_by(
        user_id=answering.user("agent_a").id
    ).one().replies_need_approval = True
    db.session.commit()
    with acting_as(answering.user("agent_a")):
        row = replies.reply(answering.case_a, text="draft")
    r = client.post(f"/api/v1/caseaction/reply/{row.id}/approve", headers=headers)
    assert r.status_code in (403, 404)
    assert refresh(row).status == "pending_approval"

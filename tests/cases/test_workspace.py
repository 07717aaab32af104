"""The case workspace: collision (a form for a case that changed since is refused and changes
nothing), who else has the case open, the thread's order, notes without a reload, and a
thread that costs the same number of queries however long it is."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape

import pytest
from sqlalchemy import event

from app.audit.actor import acting_as
from app.cases import actions, presence
from app.cases.models import Message, MessageDirection
from app.extensions import db
from app.mail.models import Attachment
from tests.support.desk import PASSWORD
from tests.support.records import events, refresh

HTMX = {"HX-Request": "true"}


class Browser:
    """One person's browser: his own cookies, and every request in an app context of its own
    (as in a server), so two people's requests do not share the logged-in user in ``g``."""

    def __init__(self, app, username):
        self.app, self.client = app, app.test_client()
        self.post("/login/", data={"username": username, "password": PASSWORD.format(username)})

    def _run(self, method, *args, **kwargs):
        with self.app.app_context():
            return getattr(self.client, method)(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self._run("get", *args, **kwargs)

    def post(self, *args, **kwargs):
        return self._run("post", *args, **kwargs)


def _login(app, username) -> Browser:
    return Browser(app, username)


def _page(client, case) -> str:
    response = client.get(f"/cases/show/{case.id}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def _form(page: str, form_id: str) -> tuple[str, dict]:
    """The action and the hidden fields of a form of the page."""
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page, re.S).group(0)
    action = re.search(r'action="([^"]+)"', form).group(1)
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))
    return action, hidden


# --- collision --------------------------------------------------------------------------------


def test_a_stale_close_is_refused_with_what_changed_and_changes_nothing(app, desk):
    anna, sam = _login(app, "agent_a"), _login(app, "supervisor_a")
    action, stale = _form(_page(anna, desk.case_a), "close-form")
    # Sam claims the case while Anna's page is open.
    action_claim, fresh = _form(_page(sam, desk.case_a), "claim-form")
    assert sam.post(action_claim, data=fresh).status_code == 302
    assert refresh(desk.case_a).assignee_id == desk.user("supervisor_a").id

    response = anna.post(action, data=stale)
    assert response.status_code == 409
    text = unescape(response.get_data(as_text=True))
    assert f"{desk.case_a.number} changed since you opened it:" in text
    assert "by supervisor_a at" in text and "Reload" in text
    case = refresh(desk.case_a)
    assert case.status == "in_progress" and case.closed_at is None
    assert events(case, "wrap_up") == []

    # Reloaded, her form carries the new version and goes through.
    action, current = _form(_page(anna, case), "close-form")
    assert anna.post(action, data=current).status_code == 302
    assert refresh(case).status == "closed"


def test_a_colleagues_note_makes_the_open_page_stale_too(app, desk):
    anna = _login(app, "agent_a")
    action, stale = _form(_page(anna, desk.case_a), "postpone-form")
    with acting_as(desk.user("supervisor_a")):
        actions.add_note(desk.case_a, "Customer called: wait for his photo.")
    response = anna.post(action, data={**stale, "until": "2999-01-01T10:00"})
    assert response.status_code == 409
    assert "Note added by supervisor_a at" in unescape(response.get_data(as_text=True))
    assert refresh(desk.case_a).status == "received"


def test_every_state_changing_form_of_the_workspace_carries_the_version(app, desk):
    sam = _login(app, "supervisor_a")
    page = _page(sam, desk.case_a)
    version = refresh(desk.case_a).version_token
    forms = re.findall(r'<form method="post"[^>]*id="([^"]+)"', page)
    assert {"claim-form", "close-form", "postpone-form", "forward-form", "assign-form"} <= set(
        forms
    )
    for form_id in forms:
        assert _form(page, form_id)[1].get("case_version") == version, form_id


def test_two_changes_for_the_same_version_one_wins(app, desk):
    """The check is the database's (a guarded update), not the in-memory copy's."""
    version = desk.case_a.version_token
    with acting_as(desk.user("agent_a")):
        actions.claim(desk.case_a, expected_version=version)
    with acting_as(desk.user("supervisor_a")), pytest.raises(actions.CaseChanged):
        actions.close(refresh(desk.case_a), expected_version=version)
    db.session.rollback()
    assert refresh(desk.case_a).status == "in_progress"


def test_without_a_version_nothing_is_checked_and_a_forged_one_is_bad_input(app, desk):
    with acting_as(desk.user("agent_a")):
        actions.claim(desk.case_a)  # CLI, jobs, old clients
        with pytest.raises(actions.DeskError) as refused:
            actions.close(desk.case_a, expected_version="yesterday")
    assert refused.value.status_code == 400


def test_the_api_refuses_a_stale_if_match(client, auth, desk):
    headers = auth.token("agent_a")
    case = client.get(f"/api/v1/case/{desk.case_a.id}", headers=headers)
    claimed = client.post(f"/api/v1/case/{desk.case_a.id}/claim", headers=headers)
    version = claimed.json["result"]["version"]
    with acting_as(desk.user("supervisor_a")):
        actions.add_note(refresh(desk.case_a), "Look at the invoice first.")
    stale = client.post(
        f"/api/v1/caseaction/{desk.case_a.id}/close",
        json={},
        headers={**headers, "If-Match": f'"{version}"'},
    )
    assert stale.status_code == 409, case.json
    assert "changed since you opened it" in stale.json["message"]
    assert refresh(desk.case_a).status == "in_progress"
    current = refresh(desk.case_a).version_token
    done = client.post(
        f"/api/v1/caseaction/{desk.case_a.id}/close",
        json={},
        headers={**headers, "If-Match": f'"{current}"'},
    )
    assert done.status_code == 200 and done.json["result"]["status"] == "closed"


# --- presence ---------------------------------------------------------------------------------


def _presence(client, case, **data):
    response = client.post(f"/cases/{case.id}/presence", data=data, headers=HTMX)
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def test_the_workspace_shows_who_else_has_the_case_open(app, desk, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(presence, "_now", lambda: clock[0])
    anna, sam = _login(app, "agent_a"), _login(app, "supervisor_a")
    assert "is viewing this case" not in _page(anna, desk.case_a)  # alone
    page = _page(sam, desk.case_a)
    assert "agent_a is viewing this case" in page
    assert "supervisor_a" not in page[page.index('id="case-presence"') :].split("</div>")[0]

    assert "supervisor_a is viewing this case" in _presence(anna, desk.case_a)
    _presence(anna, desk.case_a, activity="replying")
    assert "agent_a is viewing this case (replying)" in _presence(sam, desk.case_a)

    clock[0] += presence.HEARTBEAT_SECONDS  # both still beat
    _presence(anna, desk.case_a)
    clock[0] += presence.EXPIRES_SECONDS - 1  # Sam's tab is gone: no heartbeat since
    assert "supervisor_a" not in _presence(anna, desk.case_a)
    assert "agent_a is viewing this case" in _presence(sam, desk.case_a)

    assert sam.post(f"/cases/{desk.case_a.id}/presence/leave").status_code == 204
    assert "supervisor_a" not in _presence(anna, desk.case_a)


def test_presence_obeys_the_record_rules(app, desk):
    bob = _login(app, "agent_b")  # pool B only
    assert bob.post(f"/cases/{desk.case_a.id}/presence").status_code == 404
    assert presence.present(desk.case_a) == []


def test_the_heartbeat_says_when_the_case_changed_under_the_open_page(app, desk):
    anna = _login(app, "agent_a")
    _action, seen = _form(_page(anna, desk.case_a), "close-form")
    assert "changed since you opened it" not in _presence(
        anna, desk.case_a, case_version=seen["case_version"]
    )
    with acting_as(desk.user("supervisor_a")):
        actions.claim(desk.case_a)
    warning = _presence(anna, desk.case_a, case_version=seen["case_version"])
    assert "This case changed since you opened it:" in warning
    assert "supervisor_a" in warning and "Reload" in warning


# --- thread order and notes ---------------------------------------------------------------------


def _add_messages(case, count, *, attachments=False):
    for n in range(count):
        message = Message(
            case=case,
            direction=MessageDirection.INBOUND if n % 2 == 0 else MessageDirection.NOTE,
            from_address="alice@customer.test",
            subject=case.subject,
            body_text=f"message number {n:03d}\n\nOn Monday, Desk wrote:\n> earlier text\n",
        )
        if attachments:
            message.attachments = [
                Attachment(sha256="0" * 64, size=10, content_type="text/plain", filename=f"{n}.txt")
            ]
        db.session.add(message)
    db.session.commit()


def _order(page: str) -> list[str]:
    return re.findall(r"message number (\d{3})", page)


def test_the_thread_order_toggles_without_a_reload_and_is_remembered(app, desk):
    _add_messages(desk.case_a, 3)
    anna = _login(app, "agent_a")
    assert _order(_page(anna, desk.case_a)) == ["000", "001", "002"]  # oldest first by default
    fragment = anna.get(f"/cases/{desk.case_a.id}/thread?order=newest", headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and _order(body) == ["002", "001", "000"]
    assert "ld_thread_order=newest" in fragment.headers["Set-Cookie"]
    page = _page(anna, desk.case_a)
    assert _order(page) == ["002", "001", "000"]  # the next page keeps his choice
    assert 'id="order-newest"' in page and "ld-order-newest" in page


def test_a_note_from_the_workspace_updates_the_thread_in_place(app, desk):
    anna = _login(app, "agent_a")
    action, hidden = _form(_page(anna, desk.case_a), "note-form")
    response = anna.post(
        action, data={**hidden, "text": "Asked for the model number."}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and "Asked for the model number." in body
    assert 'id="case-thread"' in body and "Internal note" in body
    new_version = refresh(desk.case_a).version_token
    assert new_version in response.headers["HX-Trigger"]
    assert new_version != hidden["case_version"]
    refused = anna.post(action, data={**hidden, "text": ""}, headers=HTMX)
    assert refused.status_code == 400 and b"A note needs some text." in refused.data


def test_notes_look_different_from_mail_and_attachments_are_listed(app, desk):
    _add_messages(desk.case_a, 2, attachments=True)
    page = _page(_login(app, "agent_a"), desk.case_a)
    assert 'class="ld-msg ld-msg-note' in page and "Internal note" in page
    assert "0.txt" in page and "1.txt" in page
    assert "ld-msg-latest" in page  # the customer's latest mail is marked


# --- speed: the page's queries do not grow with the thread ---------------------------------------


def _queries(client, case) -> int:
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    url = f"/cases/show/{case.id}"  # read before counting: the test's copy may be expired
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return statements


def test_the_workspace_costs_the_same_queries_for_5_or_200_messages(app, desk):
    anna = _login(app, "agent_a")
    _add_messages(desk.case_a, 5, attachments=True)
    _page(anna, desk.case_a)  # warm: permissions, menus
    few = _queries(anna, desk.case_a)
    _add_messages(desk.case_a, 195, attachments=True)
    many = _queries(anna, desk.case_a)
    # "IN (?, ?, …)" (SQLite) or "IN (%(primary_keys_1)s::INTEGER, …)" (PostgreSQL): one shape
    shape = re.compile(r"IN \((?:[^()]|\([^()]*\))*\)")
    extra = Counter(shape.sub("IN (…)", s) for s in many) - Counter(
        shape.sub("IN (…)", s) for s in few
    )
    # A long thread opens with its newest messages, counted by the same statement.
    assert len(many) == len(few) and not extra, extra
    # and the dialogs' pickers (colleagues, pools, topics, skills) wait until a dialog opens
    assert not [s for s in few if "FROM topic" in s or "FROM skill" in s], few


def test_a_long_thread_opens_at_its_end_and_shows_the_rest_on_request(app, desk):
    anna = _login(app, "agent_a")
    _add_messages(desk.case_a, 200)
    page = _page(anna, desk.case_a)
    shown = re.findall(r'<li class="ld-msg ld-msg-(?:inbound|outbound|note|consultation)', page)
    total = len(refresh(desk.case_a).messages)
    assert len(shown) == 30 and f"{total - 30} earlier messages: show all" in page
    assert f'id="thread-count">{total}<' in page
    everything = anna.get(f"/cases/{desk.case_a.id}/thread?all=1", headers={"HX-Request": "true"})
    text = everything.get_data(as_text=True)
    assert len(re.findall(r'<li class="ld-msg ld-msg-(?:inbound|outbound|note)', text)) == total
    assert "earlier messages" not in text

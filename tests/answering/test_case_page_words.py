"""What the case page tells a person: a reply is "sent" only when the relay took it, a
postponed case is not overdue, wrap-up answers are shown, and the history speaks in words."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from app.core.timeutil import utcnow
from app.extensions import db
from app.outbox.models import OutboxMail, OutboxStatus
from tests.support.records import refresh


def _page(client, case) -> str:
    return unescape(client.get(f"/cases/show/{case.id}").get_data(as_text=True))


def _recent_replies(page: str) -> list[str]:
    return re.findall(r'<span class="ld-reply-state">([^<]*)</span>', page)


def _history(page: str) -> str:
    start = page.index('id="case-history"')
    return page[start : page.index("</table>", start)]


def test_a_reply_reads_sent_only_when_the_relay_accepted_it(answering, client, auth):
    auth.login("agent_a")
    case = answering.case_a
    client.post(f"/caseaction/{case.id}/reply", data={"text": "On its way."})
    row = db.session.query(OutboxMail).filter_by(case_id=case.id, kind="reply").one()
    assert _recent_replies(_page(client, case)) == ["queued"]

    row.status, row.last_error = OutboxStatus.QUEUED, "cannot connect to 127.0.0.1:25"
    db.session.commit()
    page = _page(client, case)
    assert "Outgoing mail not delivered" in page and _recent_replies(page) == ["retrying"]

    row.status, row.last_error = OutboxStatus.FAILED, "550 5.1.1 no such user"
    db.session.commit()
    page = _page(client, case)
    assert "Outgoing mail not delivered" in page
    assert _recent_replies(page) == ["not delivered"]
    assert '<strong class="ld-outbox-status">not delivered</strong> · reply to' in page

    row.status, row.last_error, row.sent_at = OutboxStatus.SENT, None, utcnow()
    db.session.commit()
    page = _page(client, case)
    assert "Outgoing mail not delivered" not in page and _recent_replies(page) == ["sent"]


def test_a_postponed_case_is_not_overdue_it_shows_when_it_comes_back(answering, client, auth):
    from app.audit.actor import acting_as
    from app.cases import actions

    case = answering.case_a
    case.sla_due_at = utcnow() - timedelta(hours=3)
    db.session.commit()
    auth.login("agent_a")
    assert "overdue" in _page(client, case)

    until = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    with acting_as(answering.user("agent_a")):
        actions.postpone(case, until)
    case = refresh(case)
    assert case.is_overdue is False
    page = _page(client, case)
    header = page[page.index('class="ld-ws-head"') : page.index("</header>")]
    due = page[page.index('id="case-due"') :].split("</dd>")[0]
    assert "overdue" not in header and "overdue" not in due
    assert f"Postponed until {until:%Y-%m-%d %H:%M}" in page
    listing = unescape(client.get("/cases/list/").get_data(as_text=True))
    row = listing[listing.index(case.number) :][:3000]
    assert f"postponed until {until:%Y-%m-%d %H:%M}" in row
    assert "ld-overdue" not in row[: row.index("</tr>")]


def test_wrap_up_answers_are_shown_on_the_case(answering, client, auth):
    auth.login("agent_a")
    case = answering.case_a
    response = client.post(
        f"/caseaction/{case.id}/close",
        data={"wrapup::Was the customer satisfied?": "yes, very", "wrapup::Follow-up needed?": ""},
    )
    assert response.status_code == 302
    page = _page(client, case)
    panel = page[page.index('id="case-wrap-up"') :].split("</section>")[0]
    assert "<dt>Was the customer satisfied?</dt><dd>yes, very</dd>" in panel
    assert "<dt>Follow-up needed?</dt><dd>–</dd>" in panel
    assert "Wrap-up: Was the customer satisfied? yes, very" in _history(page)


def test_the_history_speaks_in_words_not_codes(answering, client, auth):
    from app.audit.actor import acting_as

    case = answering.case_a
    with acting_as(answering.user("supervisor_a")):
        case.priority = 3  # a change of priority recomputes the due times (app.cases.due)
        db.session.commit()
        case.sla_due_at = case.sla_due_at.replace(year=2030, minute=0, second=0, microsecond=0)
        db.session.commit()
    auth.login("agent_a")
    client.post(f"/cases/transition/{case.id}", data={"status": "in_progress"})
    client.post(f"/caseaction/{case.id}/close", data={"wrapup::Was the customer satisfied?": "yes"})
    auth.login("supervisor_a")
    client.post(f"/caseaction/{case.id}/reopen", data={"reason": "customer wrote again"})
    history = _history(_page(client, case))
    for code in ("in_progress", "wrap_up", "closed →", "→ closed", "sla_due_at", "created"):
        assert code not in history, code
    assert "Case opened" in history
    assert "Priority: Normal → High" in history
    assert re.search(r"Due: \d{4}-\d\d-\d\d \d\d:\d\d → 2030-", history)
    assert "Status: Received → In progress" in history
    assert "Status: In progress → Closed" in history
    assert "Status: Closed → In progress (customer wrote again)" in history

"""Automatic mail (out-of-office, bounces, bulk and list mail, loops) that threads to no case
opens no case: it is kept, counted, listed for the pool's supervisors, and may be opened as a
case by a person (recorded)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import Event
from app.cases.models import Case, Message
from app.customers.models import Customer
from app.errors import AccessDenied, Conflict, Forbidden
from app.extensions import db
from app.mail.intake import IncomingMail, open_automatic_as_case, receive, receive_many
from app.mail.models import RawMessage
from app.mail.stats import intake_stats
from app.mailcore import identity
from tests.mail.helpers import make_mail
from tests.mail.test_hygiene import rfc3464_bounce

OUT_OF_OFFICE = {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}


def _cases() -> int:
    return db.session.scalar(select(func.count(Case.id)))


def _out_of_office(sender="away@customer.test", **kwargs) -> bytes:
    return make_mail(
        sender=sender,
        subject="Out of office",
        body="I am out of the office until Monday.",
        headers=OUT_OF_OFFICE,
        **kwargs,
    )


def test_out_of_office_to_no_case_opens_no_case_and_is_counted(desk):
    before = _cases()
    result = receive(_out_of_office(), mailbox=desk.mailbox_a, source="t")
    assert result.status == "automatic" and result.case_id is None
    assert _cases() == before
    row = db.session.get(RawMessage, result.raw_id)
    assert row.status == "automatic" and row.outcome == "automatic" and row.case_id is None
    assert {"auto_reply"} <= row.flag_set
    assert db.session.scalar(select(Customer).where(Customer.email == "away@customer.test")) is None
    stats = intake_stats()
    assert stats["automatic"] == 1 and stats["new_cases"] == 0
    assert stats["auto_replies_detected"] == 1


def test_bounce_to_no_case_opens_no_case_but_marks_the_address(desk):
    before = _cases()
    result = receive(
        rfc3464_bounce("<unknown-to-us@elsewhere.test>", "alice@customer.test"),
        mailbox=desk.mailbox_a,
        source="t",
    )
    assert result.status == "automatic" and result.case_id is None
    assert _cases() == before
    assert "bounce" in db.session.get(RawMessage, result.raw_id).flag_set
    # Nobody "mailer-daemon" becomes a customer; the failed address is still marked.
    assert (
        db.session.scalar(
            select(func.count(Customer.id)).where(Customer.email.like("mailer-daemon%"))
        )
        == 0
    )
    assert db.session.get(Customer, desk.customer_a.id).undeliverable
    assert intake_stats()["bounces"] == 1 and intake_stats()["automatic"] == 1


def test_automatic_mail_that_threads_joins_its_case_as_before(desk):
    result = receive(
        _out_of_office(in_reply_to=identity.make_message_id("reply", desk.case_a.id)),
        mailbox=desk.mailbox_a,
        source="t",
    )
    assert result.status == "processed" and result.case_id == desk.case_a.id
    assert db.session.get(RawMessage, result.raw_id).outcome == "threaded"
    bounce = receive(
        rfc3464_bounce(identity.make_message_id("reply", desk.case_b.id), "bob@customer.test"),
        mailbox=desk.mailbox_b,
        source="t",
    )
    assert bounce.status == "processed" and bounce.case_id == desk.case_b.id


def test_a_batch_of_machine_mail_opens_no_case(desk):
    """The bulk path (import, IMAP rounds) decides the same as one mail at a time."""
    before = _cases()
    mails = [_out_of_office(sender=f"away{n}@customer.test") for n in range(3)] + [
        make_mail(headers={"List-Id": "<news.example.org>"}, subject="Newsletter"),
        make_mail(headers={"X-Loop": "Acme Ticketing"}, subject="Ticket 77 updated"),
        make_mail(subject="A real question"),
    ]
    results = receive_many([IncomingMail(raw, desk.mailbox_a, "import") for raw in mails])
    assert [r.status for r in results] == ["automatic"] * 5 + ["processed"]
    assert _cases() == before + 1


@pytest.fixture
def automatic(desk):
    """An out-of-office to no case in mailbox A (pool A) and one in mailbox B (pool B)."""
    a = receive(_out_of_office(), mailbox=desk.mailbox_a, source="t")
    b = receive(_out_of_office(sender="gone@other.test"), mailbox=desk.mailbox_b, source="t")
    assert a.status == b.status == "automatic"
    return a.raw_id, b.raw_id


def test_supervisor_lists_the_automatic_mail_of_his_pools_only(automatic, auth, client):
    raw_a, raw_b = automatic
    auth.login("supervisor_a")
    page = client.get("/automatic-mail/list/")
    assert page.status_code == 200
    assert f"/automatic-mail/show/{raw_a}".encode() in page.data
    assert f"/automatic-mail/show/{raw_b}".encode() not in page.data
    # Who sent it and its subject, to tell a robot from a person at a glance.
    assert b"away@customer.test" in page.data and b"Out of office" in page.data
    assert b"gone@other.test" not in page.data
    assert client.get(f"/automatic-mail/show/{raw_b}").status_code == 404


@pytest.mark.parametrize("username", ["agent_a", "manager"])
def test_agents_and_managers_get_no_automatic_mail(automatic, auth, client, username):
    raw_a, _ = automatic
    auth.login(username)
    assert b"/automatic-mail/list/" not in client.get("/cases/list/").data  # no menu
    assert client.get("/automatic-mail/list/").status_code == 403
    before = _cases()
    client.post(f"/automatic-mail/action/open_as_case/{raw_a}")  # refused, whatever the page
    db.session.expire_all()
    assert db.session.get(RawMessage, raw_a).status == "automatic" and _cases() == before


def test_open_as_case_opens_the_case_and_records_who(automatic, desk, auth, client):
    raw_a, raw_b = automatic
    before = _cases()
    auth.login("supervisor_a")
    response = client.post(f"/automatic-mail/action/open_as_case/{raw_a}")
    db.session.expire_all()
    row = db.session.get(RawMessage, raw_a)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/show/{row.case_id}")
    assert b"Out of office" in client.get(response.headers["Location"]).data
    assert row.status == "processed" and row.outcome == "new_case" and row.case_id
    case = row.case
    assert _cases() == before + 1 and case.pool == desk.pool_a
    assert case.customer.email == "away@customer.test"
    assert [m.subject for m in case.messages] == ["Out of office"]
    event = db.session.scalar(
        select(Event).where(Event.case_id == case.id, Event.action == "opened from automatic mail")
    )
    assert event is not None and event.actor_id == desk.user("supervisor_a").id
    assert event.details["raw_message"] == raw_a
    assert f"/automatic-mail/show/{raw_a}".encode() not in client.get("/automatic-mail/list/").data
    # Another pool's mail stays out of his reach.
    assert client.post(f"/automatic-mail/action/open_as_case/{raw_b}").status_code == 404
    db.session.expire_all()
    assert db.session.get(RawMessage, raw_b).status == "automatic"
    assert intake_stats()["automatic"] == 1


def test_open_as_case_service_checks_who_and_what(automatic, desk):
    raw_a, raw_b = automatic
    row_a, row_b = db.session.get(RawMessage, raw_a), db.session.get(RawMessage, raw_b)
    with pytest.raises(AccessDenied):
        open_automatic_as_case(row_b, desk.user("supervisor_a"))
    with pytest.raises(Forbidden):
        open_automatic_as_case(row_a, desk.user("manager"))
    case = open_automatic_as_case(row_a, desk.user("admin"))
    assert case.messages[0].raw_message_id == raw_a
    with pytest.raises(Conflict):  # opened already
        open_automatic_as_case(db.session.get(RawMessage, raw_a), desk.user("admin"))
    assert (
        db.session.scalar(select(func.count(Message.id)).where(Message.raw_message_id == raw_a))
        == 1
    )


def test_open_as_case_from_the_command_line(automatic, runner):
    raw_a, _ = automatic
    result = runner.invoke(args=["mail", "open-as-case", str(raw_a), "--as", "admin"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    row = db.session.get(RawMessage, raw_a)
    assert f"case {row.case.number} opened" in result.output
    event = db.session.scalar(
        select(Event).where(
            Event.case_id == row.case_id, Event.action == "opened from automatic mail"
        )
    )
    assert event.actor_name == "admin (admin)"
    again = runner.invoke(args=["mail", "open-as-case", str(raw_a)])
    assert again.exit_code != 0 and "not automatic mail" in again.output

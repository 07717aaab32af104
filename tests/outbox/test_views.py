"""The Outbox view, its Retry action, record rules, the case page and the CLI."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import Event
from app.extensions import db
from app.outbox.delivery import deliver_due
from app.outbox.models import OutboxMail, OutboxStatus
from app.outbox.services import queue_mail
from app.security.rules import visible


def _failed(case, to, error="550 5.1.1 no such user"):
    row = queue_mail(kind="reply", to=to, subject="Re", text="Hello", case=case)
    db.session.flush()
    row.status, row.attempts, row.last_error = OutboxStatus.FAILED, 1, error
    db.session.commit()
    return row


def test_agent_of_pool_b_cannot_see_pool_a_outbox_rows(app, desk):
    a = _failed(desk.case_a, "alice@customer.test")
    b = _failed(desk.case_b, "bob@customer.test")

    def ids(user):
        return set(db.session.scalars(visible(select(OutboxMail.id), OutboxMail, desk.user(user))))

    assert ids("agent_b") == {b.id}
    assert ids("agent_a") == {a.id}
    assert ids("manager") == {a.id, b.id}


def test_supervisor_sees_only_his_pools_rows_and_agents_not_the_view(app, desk, client, auth):
    a = _failed(desk.case_a, "alice@customer.test")
    b = _failed(desk.case_b, "bob@customer.test")
    auth.login("supervisor_a")
    page = client.get("/outbox/list/").get_data(as_text=True)
    assert "alice@customer.test" in page and "bob@customer.test" not in page
    assert client.get(f"/outbox/show/{a.id}").status_code == 200
    assert client.get(f"/outbox/show/{b.id}").status_code == 404
    assert client.post(f"/outbox/action/retry/{b.id}").status_code == 404
    assert db.session.get(OutboxMail, b.id).status == OutboxStatus.FAILED
    auth.logout()
    auth.login("agent_a")
    assert client.get("/outbox/list/").status_code == 403


def test_retry_action_queues_failed_mail_again_and_records_who(app, desk, client, auth, sink):
    row = _failed(desk.case_a, "alice@customer.test")
    auth.login("supervisor_a")
    response = client.post(f"/outbox/action/retry/{row.id}")
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(OutboxMail, row.id)
    assert row.status == OutboxStatus.QUEUED and row.attempts == 0
    event = db.session.query(Event).filter_by(action="mail.retry", object_id=row.id).one()
    assert event.actor_id == desk.user("supervisor_a").id and event.case_id == desk.case_a.id
    assert deliver_due().sent == 1
    assert [m["Message-ID"] for m in sink.messages] == [row.message_id]


def test_case_page_shows_failed_delivery(app, desk, client, auth):
    _failed(desk.case_a, "alice@customer.test", error="550 mailbox unavailable")
    auth.login("supervisor_a")
    page = client.get(f"/cases/show/{desk.case_a.id}").get_data(as_text=True)
    assert "Outgoing mail not delivered" in page
    assert "550 mailbox unavailable" in page
    assert "/outbox/show/" in page  # the supervisor may retry: a link to the outbox row
    other = client.get(f"/cases/show/{desk.case_b.id}")
    assert "Outgoing mail not delivered" not in other.get_data(as_text=True)


def test_cli_delivers_and_lists(app, desk, runner, sink):
    queue_mail(kind="reply", to="alice@customer.test", subject="Re", text="Hi", case=desk.case_a)
    db.session.commit()
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert len(sink.envelopes) == 1
    listing = runner.invoke(args=["outbox", "list"])
    assert "sent" in listing.output and "alice@customer.test" in listing.output

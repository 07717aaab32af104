"""Webhooks against a real receiver: signed deliveries written with the change, retries with
back-off, a dead receiver that only delays, replay, and a lost job rebuilt by the schedule."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from rq import SimpleWorker
from sqlalchemy import select, text

from app.audit.actor import acting_as
from app.audit.tracking import record_event
from app.cases import actions
from app.cases import services as case_services
from app.cases.models import Message, MessageDirection
from app.core.timeutil import utcnow
from app.extensions import db
from app.jobs.queue import get_queue
from app.security.rules import visible
from app.webhooks import delivery as webhook_delivery
from app.webhooks import signing
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from app.webhooks.tasks import QUEUE, deliver_due_webhooks
from tests.support.clock import FrozenClock
from tests.webhooks.conftest import SECRET, subscribe


def _deliveries(event_type=None):
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    return list(db.session.scalars(stmt))


def _new_case(desk, subject="Broken widget"):
    with acting_as(None):
        case = case_services.open_case(
            pool=desk.pool_a,
            subject=subject,
            customer=desk.customer_a,
            mailbox=desk.mailbox_a,
            commit=False,
        )
        db.session.add(
            Message(
                case=case,
                direction=MessageDirection.INBOUND,
                from_address=desk.customer_a.email,
                subject=subject,
                body_text="It broke again.",
            )
        )
        db.session.commit()
    return case


def test_a_case_and_its_mail_reach_the_receiver_signed(app, desk, receiver):
    subscribe(receiver.url, ["case.created", "message.received"])
    case = _new_case(desk)
    # Written in the transaction of the change, before any job ran.
    assert [d.event_type for d in _deliveries()] == ["case.created", "message.received"]

    report = deliver_due_webhooks()

    assert report["delivered"] == 2
    assert receiver.refused == 0
    created, received = receiver.received
    for got in receiver.received:
        assert got.verified()  # HMAC-SHA256 over "timestamp.body" with the shared secret
        assert got.headers[signing.SIGNATURE_HEADER].startswith("sha256=")
    body = created.json
    assert body["type"] == "case.created"
    assert body["id"] and body["occurred_at"].endswith("Z")
    assert body["case"]["number"] == case.number
    assert body["case"]["status"] == "received"
    assert body["case"]["customer"]["email"] == "alice@customer.test"
    assert body["case"]["pool"]["name"] == "Pool A"
    assert "topic" in body["case"]
    assert received.json["message"]["text"] == "It broke again."
    assert all(d.status == "delivered" for d in _deliveries())


def test_a_receiver_refuses_a_changed_body_a_wrong_secret_and_an_old_timestamp(app, desk, receiver):
    subscribe(receiver.url, ["case.created"])
    _new_case(desk)
    deliver_due_webhooks()
    got = receiver.received[0]
    stamp = int(got.headers[signing.TIMESTAMP_HEADER])
    assert got.verified()
    assert not signing.verify(
        SECRET,
        got.body.replace(b"received", b"closed"),
        str(stamp),
        got.headers[signing.SIGNATURE_HEADER],
    )
    assert not got.verified(secret="whsec_someone-else's-secret")
    # The same request played again ten minutes later: refused by its timestamp.
    assert not got.verified(now=stamp + 600)
    assert got.verified(now=stamp + 60)


def test_a_change_rolled_back_leaves_no_delivery(app, desk, receiver):
    subscribe(receiver.url)
    with acting_as(None):
        case_services.open_case(pool=desk.pool_a, subject="Never mind", commit=False)
        db.session.flush()
        db.session.rollback()
    assert _deliveries() == []


def test_notes_are_never_sent_replies_and_closing_are(app, desk, receiver):
    subscribe(receiver.url)
    admin = desk.user("admin")
    with acting_as(admin):
        actions.add_note(desk.case_a, "Internal: customer is a reseller, margin 40%")
    assert _deliveries() == []  # a note is no "message received"
    with acting_as(None):
        db.session.add(
            Message(
                case=desk.case_a,
                direction=MessageDirection.OUTBOUND,
                from_address="a@desk.test",
                to_addresses="alice@customer.test",
                subject="Re: Printer on fire",
                body_text="We sent a technician.",
            )
        )
        db.session.commit()
    with acting_as(admin):
        actions.close(desk.case_a, reason="solved")
    deliver_due_webhooks()
    types = [r.json["type"] for r in receiver.received]
    assert types == ["reply.sent", "case.closed"]
    closed = receiver.received[1].json
    assert closed["case"]["status"] == "closed"
    assert closed["close_reason"] == "solved"
    assert all("margin 40%" not in r.body.decode() for r in receiver.received)


def test_survey_answers_reach_the_receiver(app, desk, receiver):
    subscribe(receiver.url, ["survey.submitted"])
    with acting_as(None):
        record_event(db.session, desk.case_a, "exit survey", details={"answers": {"Happy?": "yes"}})
        db.session.commit()
    deliver_due_webhooks()
    assert receiver.received[0].json["survey"] == {"answers": {"Happy?": "yes"}}


def test_failures_are_retried_with_growing_pauses_until_the_receiver_answers(
    app, desk, receiver, monkeypatch
):
    clock = FrozenClock(monkeypatch, utcnow())
    receiver.answers = [500, 503]
    subscribe(receiver.url, ["case.created"])
    _new_case(desk)

    assert deliver_due_webhooks()["failed"] == 1
    row = _deliveries()[0]
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)
    assert deliver_due_webhooks()["claimed"] == 0  # not due yet: the pause is kept

    clock.advance(seconds=31)
    assert deliver_due_webhooks()["failed"] == 1
    db.session.refresh(row)
    assert row.next_attempt_at == clock.now + timedelta(seconds=60)  # twice as long

    clock.advance(seconds=61)
    assert deliver_due_webhooks()["delivered"] == 1
    db.session.refresh(row)
    assert row.status == "delivered"
    log = row.attempt_log
    assert [a.status_code for a in log] == [500, 503, 200]
    assert [a.succeeded for a in log] == [False, False, True]
    assert log[0].response_excerpt == "receiver is having a bad day"
    assert log[0].error == "the receiver answered HTTP 500"
    assert log[2].response_excerpt == "ok, thanks"
    assert all(a.duration_ms >= 0 for a in log)
    assert len({r.body for r in receiver.received}) == 1  # the same body every time


def test_a_dead_receiver_delays_deliveries_but_never_drops_them(app, desk, monkeypatch):
    clock = FrozenClock(monkeypatch, utcnow())
    app.config["WEBHOOK_RETRY_MAX_SECONDS"] = 600
    subscribe("http://127.0.0.1:9/nobody-listens")  # the discard port: connection refused
    _new_case(desk)
    rows = _deliveries("case.created")
    for _ in range(12):
        deliver_due_webhooks()
        clock.advance(hours=1)
    row = rows[0]
    db.session.refresh(row)
    assert row.status == "pending"  # still waiting for the receiver, not given up
    assert row.attempts == 12
    assert row.last_status_code is None and "Connection refused" in row.last_error
    assert db.session.scalar(select(WebhookAttempt.error).limit(1))
    # The pause stopped growing at the cap.
    assert row.next_attempt_at - row.attempt_log[-1].started_at <= timedelta(seconds=601)


def test_replay_sends_the_same_body_with_a_fresh_signature(
    app, desk, receiver, client, auth, monkeypatch
):
    subscribe(receiver.url, ["case.created"])
    _new_case(desk)
    deliver_due_webhooks()
    row = _deliveries()[0]
    assert row.status == "delivered"

    auth.login("admin")
    page = client.get(f"/webhooks/delivery/{row.id}")
    assert page.status_code == 200 and b"Replay" in page.data
    first_stamp = int(receiver.received[0].headers[signing.TIMESTAMP_HEADER])
    later = first_stamp + 42  # the replay is signed at its own time
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    assert client.post(f"/webhooks/delivery/{row.id}/replay").status_code == 302
    # The replay is queued as a job; run the queue as a worker would.
    queue = get_queue(QUEUE)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert len(receiver.received) == 2
    first, again = receiver.received
    assert again.body == first.body
    assert again.headers[signing.TIMESTAMP_HEADER] == str(later)
    assert again.headers[signing.SIGNATURE_HEADER] != first.headers[signing.SIGNATURE_HEADER]
    assert again.verified(now=later)
    db.session.expire_all()
    row = db.session.get(WebhookDelivery, row.id)
    assert row.status == "delivered"
    assert [a.is_replay for a in row.attempt_log] == [False, True]
    log_page = client.get(f"/webhooks/delivery/{row.id}")
    assert log_page.data.count(b"ok, thanks") == 2


def test_a_lost_job_is_rebuilt_by_the_periodic_round(app, desk, receiver):
    subscribe(receiver.url, ["case.created"])
    _new_case(desk)
    queue = get_queue(QUEUE)
    assert queue.count == 1  # the head start enqueued after the commit
    queue.empty()  # Redis lost it
    assert receiver.received == []
    # The scheduled round (what `rq cron` enqueues every WEBHOOK_DELIVERY_INTERVAL) finds it.
    assert deliver_due_webhooks()["delivered"] == 1
    assert len(receiver.received) == 1


def test_a_worker_that_died_mid_round_leaves_the_delivery_due_after_its_lease(
    app, desk, receiver, monkeypatch
):
    clock = FrozenClock(monkeypatch, utcnow())
    subscribe(receiver.url, ["case.created"])
    _new_case(desk)
    token, ids = webhook_delivery.claim(10)  # the round claimed it, then its worker died
    assert len(ids) == 1
    assert deliver_due_webhooks()["claimed"] == 0  # owned by the dead round's lease
    clock.advance(seconds=app.config["WEBHOOK_LEASE_SECONDS"] + 1)
    assert deliver_due_webhooks()["delivered"] == 1
    assert json.loads(_deliveries()[0].body)["type"] == "case.created"


@pytest.mark.parametrize("username", ["manager", "supervisor_a", "agent_a"])
def test_only_admins_see_webhooks(app, desk, client, auth, receiver, username):
    subscription = subscribe(receiver.url)
    _new_case(desk)
    row = _deliveries()[0]
    auth.login(username)
    for path in ("/webhooks/", f"/webhooks/{subscription.id}", f"/webhooks/delivery/{row.id}"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/webhooks/delivery/{row.id}/replay").status_code == 403
    assert client.post("/webhooks/", data={"name": "x", "url": receiver.url}).status_code == 403
    with acting_as(desk.user(username)):
        assert db.session.scalars(visible(select(WebhookDelivery), WebhookDelivery)).all() == []


def test_an_admin_subscribes_on_the_page_and_sees_the_secret_once(app, desk, client, auth):
    auth.login("admin")
    response = client.post(
        "/webhooks/",
        data={
            "name": "Our CRM",
            "url": "https://crm.example.com/hook",
            "event_types": ["case.created", "case.closed"],
            "active": "1",
        },
    )
    assert response.status_code == 200
    page = response.data.decode()
    assert "whsec_" in page
    secret = page.split('<pre id="webhook-secret">')[1].split("</pre>")[0]
    listing = client.get("/webhooks/").data.decode()
    assert "Our CRM" in listing and secret not in listing
    stored = db.session.execute(text("SELECT secret FROM webhook_subscription")).scalar()
    assert stored.startswith("fernet:") and secret not in stored  # encrypted at rest
    bad = client.post("/webhooks/", data={"name": "", "url": "ftp://x", "event_types": []})
    assert bad.status_code == 302
    assert "A webhook needs" in client.get("/webhooks/").data.decode()

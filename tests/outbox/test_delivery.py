"""Delivery: outages, retries, permanent refusals, crashes, concurrent workers, relays."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.audit.models import Event
from app.core.timeutil import utcnow
from app.extensions import db
from app.mailcore import identity
from app.outbox import delivery
from app.outbox.delivery import claim, deliver_due
from app.outbox.models import OutboxMail, OutboxStatus
from app.outbox.services import queue_mail
from tests.support.smtp import Sink


def _reply(desk, case=None, to="alice@customer.test", text="The answer."):
    row = queue_mail(
        kind="reply", to=to, subject="Re: question", text=text, case=case or desk.case_a
    )
    db.session.commit()
    return row


def _time_passes(row_ids=None):
    """Make every waiting row due now, as if its back-off or lease had run out."""
    stmt = update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1))
    if row_ids is not None:
        stmt = stmt.where(OutboxMail.id.in_(row_ids))
    db.session.execute(stmt)
    db.session.commit()


def _reload(row):
    db.session.expire_all()
    return db.session.get(OutboxMail, row.id)


def test_smtp_down_the_mail_waits_and_arrives_exactly_once_when_it_is_back(app, desk, sink):
    sink.stop()
    row = _reply(desk)

    report = deliver_due()
    row = _reload(row)
    assert (report.sent, report.deferred) == (0, 1)
    assert row.status == OutboxStatus.QUEUED
    assert row.attempts == 1
    assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert "cannot connect" in row.last_error
    # Deferred like sent and failed: an Event on the case says why and when it tries again.
    [deferred] = db.session.query(Event).filter_by(action="mail.deferred", object_id=row.id)
    assert deferred.case_id == desk.case_a.id and deferred.new_value == "alice@customer.test"
    assert "cannot connect" in deferred.details["error"]
    assert deferred.details["attempts"] == 1
    assert deferred.details["next_attempt_at"] == f"{row.next_attempt_at:%Y-%m-%d %H:%M:%S}"
    assert deferred.summary.startswith("Mail delivery delayed, will retry: reply to alice@")

    sink.start()
    assert deliver_due().claimed == 0  # not due yet: back-off
    assert sink.envelopes == []
    _time_passes()
    assert deliver_due().sent == 1
    assert deliver_due().claimed == 0
    _time_passes()
    assert deliver_due().claimed == 0
    assert len(sink.envelopes) == 1
    assert sink.messages[0]["Message-ID"] == row.message_id
    row = _reload(row)
    assert row.status == OutboxStatus.SENT and row.sent_at is not None
    assert row.smtp_reply.startswith("250")
    assert row.attempts == 2
    assert db.session.query(Event).filter_by(action="mail.sent", object_id=row.id).count() == 1


def test_back_off_grows_and_gives_up_after_the_last_attempt(app, app_config, desk, sink):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    sink.stop()
    row = _reply(desk)
    waits = []
    for _ in range(3):
        before = utcnow()
        deliver_due()
        row = _reload(row)
        waits.append((row.next_attempt_at - before).total_seconds())
        _time_passes()
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 3
    assert "gave up after 3 attempts" in row.last_error
    assert waits[1] > waits[0] * 1.5  # exponential
    event = db.session.query(Event).filter_by(action="mail.failed", object_id=row.id).one()
    assert event.case_id == desk.case_a.id


def test_permanent_refusal_fails_at_once_temporary_refusal_waits(app, desk, sink):
    sink.rcpt_reply = "550 5.1.1 no such user"
    gone = _reply(desk, to="gone@customer.test")
    deliver_due()
    gone = _reload(gone)
    assert gone.status == OutboxStatus.FAILED and gone.attempts == 1
    assert "550" in gone.last_error

    sink.rcpt_reply = "451 4.7.1 greylisted, try later"
    later = _reply(desk)
    deliver_due()
    later = _reload(later)
    assert later.status == OutboxStatus.QUEUED and "451" in later.last_error

    sink.rcpt_reply = None
    _time_passes([later.id])
    deliver_due()
    assert _reload(later).status == OutboxStatus.SENT
    assert _reload(gone).status == OutboxStatus.FAILED
    assert len(sink.envelopes) == 1


def _crash_after_smtp_accepted(monkeypatch):
    def crash(self, row, reply):
        raise RuntimeError("worker killed right after the relay said 250")

    monkeypatch.setattr(delivery._Outcomes, "mark_sent", crash)


def test_crash_after_the_relay_accepted_never_sends_twice(app, desk, sink, monkeypatch):
    row = _reply(desk)
    with monkeypatch.context() as patch:
        _crash_after_smtp_accepted(patch)
        with pytest.raises(RuntimeError):
            deliver_due()
    assert len(sink.envelopes) == 1
    assert _reload(row).status == OutboxStatus.SENDING

    assert deliver_due().claimed == 0  # the dead worker's lease still runs
    _time_passes()  # the lease runs out
    report = deliver_due()
    assert report.interrupted == 1 and report.claimed == 0
    row = _reload(row)
    assert row.status == OutboxStatus.FAILED
    assert "may have reached the customer" in row.last_error
    assert len(sink.envelopes) == 1  # the customer got it once
    assert db.session.query(Event).filter_by(action="mail.interrupted").count() == 1


def test_at_least_once_mode_resends_with_the_same_message_id(app, desk, sink, monkeypatch):
    app.config["OUTBOX_INTERRUPTED"] = "resend"
    row = _reply(desk)
    with monkeypatch.context() as patch:
        _crash_after_smtp_accepted(patch)
        with pytest.raises(RuntimeError):
            deliver_due()
    _time_passes()
    assert deliver_due().sent == 1
    ids = [m["Message-ID"] for m in sink.messages]
    assert ids == [row.message_id, row.message_id]  # a duplicate the receiver can drop
    assert _reload(row).status == OutboxStatus.SENT


def test_rows_a_dead_worker_claimed_but_never_handed_over_are_sent_after_the_lease(app, desk, sink):
    rows = [_reply(desk, text=f"answer {i}") for i in range(3)]
    token, ids = claim(10)  # a worker claims, then dies before talking SMTP
    assert sorted(ids) == sorted(r.id for r in rows)
    assert deliver_due().claimed == 0
    _time_passes()
    assert deliver_due().sent == 3
    assert sorted(m["Message-ID"] for m in sink.messages) == sorted(r.message_id for r in rows)


def test_two_concurrent_workers_never_send_a_row_twice(app, desk, sink):
    sink.delay = 0.02  # a slow relay, so that both workers are busy at the same time
    rows = [
        queue_mail(
            kind="reply", to=f"c{i}@customer.test", subject="Re", text=f"n{i}", case=desk.case_a
        )
        for i in range(40)
    ]
    db.session.commit()
    reports, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                reports.append(deliver_due(batch_size=3))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    sent_ids = [m["Message-ID"] for m in sink.messages]
    assert len(sent_ids) == 40 and len(set(sent_ids)) == 40
    assert sorted(sent_ids) == sorted(r.message_id for r in rows)
    assert sum(r.sent for r in reports) == 40
    assert all(r.sent > 0 for r in reports), ("both workers took part", reports)
    assert db.session.query(OutboxMail).filter_by(status=OutboxStatus.SENT).count() == 40


def test_mailbox_with_its_own_relay_sends_through_it(app, desk, sink):
    own = Sink()
    own.start()
    try:
        desk.mailbox_b.smtp_host = "127.0.0.1"
        desk.mailbox_b.smtp_port = own.port
        desk.mailbox_b.smtp_security = "none"
        db.session.commit()
        a = _reply(desk, case=desk.case_a, to="alice@customer.test")
        b = _reply(desk, case=desk.case_b, to="bob@customer.test")
        assert deliver_due().sent == 2
        assert [m["Message-ID"] for m in sink.messages] == [a.message_id]
        assert [m["Message-ID"] for m in own.messages] == [b.message_id]
        assert own.envelopes[0].mail_from == "b@desk.test"
        assert identity.find_case_number(own.messages[0]["Subject"]) == desk.case_b.number
    finally:
        own.stop()


def test_starttls_is_required_when_configured(app, desk, sink):
    # The sink speaks no STARTTLS: the mail must wait rather than go out in clear text.
    desk.mailbox_a.smtp_host = "127.0.0.1"
    desk.mailbox_a.smtp_port = sink.port
    desk.mailbox_a.smtp_security = "starttls"
    db.session.commit()
    row = _reply(desk)
    deliver_due()
    row = _reload(row)
    assert row.status == OutboxStatus.QUEUED
    assert "STARTTLS" in row.last_error
    assert sink.envelopes == []


def test_concurrent_claims_take_disjoint_batches_of_the_asked_size(app, desk):
    for i in range(30):
        queue_mail(kind="reply", to=f"c{i}@customer.test", subject="Re", text="x", case=desk.case_a)
    db.session.commit()
    taken, errors = {0: [], 1: []}, []
    barrier = threading.Barrier(2)

    def worker(n):
        try:
            with app.app_context():
                barrier.wait()
                while True:
                    _, ids = claim(3)
                    if not ids:
                        break
                    taken[n].append(ids)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    batches = taken[0] + taken[1]
    assert all(1 <= len(b) <= 3 for b in batches)
    flat = [i for b in batches for i in b]
    assert len(flat) == 30 and len(set(flat)) == 30

"""The fetch service around the channels: failure bookkeeping, alerts, the CLI and the schedule."""

from __future__ import annotations

import smtplib

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.audit.models import Event
from app.extensions import db
from app.jobs.queue import connection, get_queue
from app.mail import fetch
from app.mail.fetch import enqueue_fetch_jobs, fetch_interval, fetch_mailbox
from app.outbox.models import OutboxMail
from app.schedule import PERIODIC_JOBS
from tests.mail.channels.helpers import make_mailbox, message, raw_rows


def events(mailbox, action):
    return list(
        db.session.scalars(
            select(Event).where(
                Event.object_type == "mailbox",
                Event.object_id == mailbox.id,
                Event.action == action,
            )
        )
    )


def alerts():
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "alert")))


@pytest.fixture
def no_smtp(monkeypatch):
    """Fetching never talks SMTP itself: alerts are outbox rows that the outbox job sends."""

    def refuse(*args, **kwargs):
        raise AssertionError("a fetch round opened an SMTP connection")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", refuse)


def test_login_failure_shows_on_the_mailbox_and_alerts_supervisors_once_per_streak(
    desk, dovecot, dovecot_user, no_smtp
):
    dovecot_user.deliver(message(200))
    mailbox = make_mailbox(desk, dovecot, dovecot_user)
    assert fetch_mailbox(mailbox.id).ok
    db.session.refresh(mailbox)
    last_success = mailbox.last_success_at

    mailbox.inbound_secret = "wrong password"
    db.session.commit()
    first = fetch_mailbox(mailbox.id)
    second = fetch_mailbox(mailbox.id)
    assert not second.ok and second.error == first.error

    assert not first.ok and "login" in first.error.lower()
    db.session.refresh(mailbox)
    assert "login" in mailbox.last_error.lower()
    assert mailbox.last_success_at == last_success
    assert mailbox.last_fetch_at > last_success
    assert mailbox.fetch_failures == 2
    assert len(events(mailbox, "mail.fetch_failed")) == 1
    sent = alerts()
    supervisor = desk.user("supervisor_a")
    assert [a.recipient for a in sent] == [supervisor.email.lower()]
    assert mailbox.address in sent[0].subject

    mailbox.inbound_secret = dovecot_user.password
    db.session.commit()
    assert fetch_mailbox(mailbox.id).ok
    db.session.refresh(mailbox)
    assert mailbox.last_error is None and mailbox.fetch_failures == 0
    assert mailbox.last_success_at > last_success
    assert len(events(mailbox, "mail.fetch_recovered")) == 1

    mailbox.inbound_secret = "wrong again"
    db.session.commit()
    assert not fetch_mailbox(mailbox.id).ok
    assert len(alerts()) == 2  # a new streak alerts again


def test_unreachable_server_is_a_clear_error_not_a_crash(desk, app):
    from app.mailcore.models import Mailbox
    from tests.servers.dovecot import free_port

    mailbox = Mailbox(
        address="dead@desk.test",
        pool=desk.pool_a,
        inbound_protocol="pop3",
        inbound_host="127.0.0.1",
        inbound_port=free_port(),
        inbound_security="none",
        inbound_username="x",
        inbound_secret="y",
    )
    db.session.add(mailbox)
    db.session.commit()
    result = fetch_mailbox(mailbox.id)
    assert not result.ok
    assert "cannot connect to POP3 server 127.0.0.1" in result.error
    db.session.refresh(mailbox)
    assert mailbox.last_error == result.error and mailbox.last_success_at is None


def test_mail_fetch_command_prints_a_summary(desk, dovecot, dovecot_user, runner):
    for n in (210, 211):
        dovecot_user.deliver(message(n))
    mailbox = make_mailbox(desk, dovecot, dovecot_user)

    result = runner.invoke(args=["mail", "fetch", "--mailbox", mailbox.address])

    assert result.exit_code == 0, result.output
    assert f"{mailbox.address} (imap): 2 stored" in result.output
    assert "1 mailbox(es), 2 message(s) stored, 0 failed" in result.output
    assert len(raw_rows(mailbox)) == 2

    mailbox.inbound_secret = "wrong"
    db.session.commit()
    failed = runner.invoke(args=["mail", "fetch"])
    assert failed.exit_code == 1
    assert "FAILED" in failed.output and "login" in failed.output.lower()

    unknown = runner.invoke(args=["mail", "fetch", "--mailbox", "nobody@nowhere.test"])
    assert unknown.exit_code != 0 and "no mailbox nobody@nowhere.test" in unknown.output


def test_schedule_enqueues_one_job_per_fetched_mailbox_and_the_job_fetches(
    desk, dovecot, dovecot_user
):
    assert (fetch.enqueue_fetch_jobs, "mail", fetch_interval()) in PERIODIC_JOBS
    assert fetch_interval() == 60
    dovecot_user.deliver(message(220))
    imap_box = make_mailbox(desk, dovecot, dovecot_user)
    pop_user = dovecot.add_user()
    pop_user.deliver(message(221))
    pop_box = make_mailbox(desk, dovecot, pop_user, protocol="pop3")
    # desk.mailbox_a / mailbox_b receive by pipe: no fetch job for them.

    queue = get_queue("mail")
    enqueued = enqueue_fetch_jobs()
    assert sorted(enqueued) == sorted(
        [f"loopdesk-fetch-mailbox-{imap_box.id}", f"loopdesk-fetch-mailbox-{pop_box.id}"]
    )
    assert enqueue_fetch_jobs() == []  # still queued: no second job per mailbox
    assert len(queue.job_ids) == 2

    SimpleWorker([queue], connection=connection()).work(burst=True)
    db.session.expire_all()
    assert [r.content for r in raw_rows(imap_box)] == [message(220)]
    assert [r.content for r in raw_rows(pop_box)] == [message(221)]
    assert len(enqueue_fetch_jobs()) == 2  # finished jobs do not block the next round


def test_inactive_and_pipe_mailboxes_are_not_fetched(desk, dovecot, dovecot_user):
    mailbox = make_mailbox(desk, dovecot, dovecot_user, active=False)
    assert enqueue_fetch_jobs() == []
    assert fetch_mailbox(mailbox.id).skipped == "mailbox is inactive"
    assert "not fetched" in fetch_mailbox(desk.mailbox_a.id).skipped

"""POP3 fetching against a real Dovecot: UIDL bookkeeping, store failures, delete after storing."""

from __future__ import annotations

import poplib

from sqlalchemy import func, select

from app.extensions import db
from app.mail import intake
from app.mail.channels import pop3
from app.mail.channels.models import Pop3SeenUidl
from app.mail.fetch import fetch_mailbox
from tests.mail.channels.helpers import make_mailbox, message, raw_rows


def server_count(server, user) -> int:
    conn = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    try:
        conn.user(user.address)
        conn.pass_(user.password)
        return conn.stat()[0]
    finally:
        conn.quit()


def seen_count(mailbox) -> int:
    return db.session.scalar(
        select(func.count(Pop3SeenUidl.id)).where(Pop3SeenUidl.mailbox_id == mailbox.id)
    )


def test_pop3_fetch_stores_exact_bytes_and_the_second_round_fetches_nothing(
    desk, dovecot, dovecot_user
):
    delivered = [message(n) for n in range(100, 103)]
    for raw in delivered:
        dovecot_user.deliver(raw)
    mailbox = make_mailbox(desk, dovecot, dovecot_user, protocol="pop3")

    first = fetch_mailbox(mailbox.id)
    assert first.ok and first.stored == 3
    rows = raw_rows(mailbox)
    assert [r.content for r in rows] == delivered
    assert {r.source for r in rows} == {"pop3"}
    assert seen_count(mailbox) == 3

    second = fetch_mailbox(mailbox.id)
    assert second.ok and second.stored == 0 and second.already_stored == 0
    assert len(raw_rows(mailbox)) == 3
    assert server_count(dovecot, dovecot_user) == 3  # kept on the server by default

    dovecot_user.deliver(message(103))
    third = fetch_mailbox(mailbox.id)
    assert third.stored == 1
    assert raw_rows(mailbox)[-1].content == message(103)


def test_pop3_store_failure_is_retried_next_round_without_duplicates(
    desk, dovecot, dovecot_user, monkeypatch
):
    delivered = [message(n) for n in range(110, 114)]
    for raw in delivered:
        dovecot_user.deliver(raw)
    mailbox = make_mailbox(
        desk, dovecot, dovecot_user, protocol="pop3", inbound_after_fetch="delete"
    )
    monkeypatch.setattr(pop3, "BATCH_MESSAGES", 1)
    real_store = intake.store_many
    calls = []

    def failing_store(mails):
        calls.append(mails)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_store(mails)

    monkeypatch.setattr(intake, "store_many", failing_store)
    first = fetch_mailbox(mailbox.id)
    assert not first.ok and "disk full" in first.error
    assert [r.content for r in raw_rows(mailbox)] == delivered[:1]
    # The round broke off without QUIT: nothing was deleted on the server.
    assert server_count(dovecot, dovecot_user) == 4

    monkeypatch.setattr(intake, "store_many", real_store)
    second = fetch_mailbox(mailbox.id)
    assert second.ok and second.stored == 3
    assert sorted(r.content for r in raw_rows(mailbox)) == sorted(delivered)
    # Stored mail is deleted only now, including the one stored in the broken round.
    assert server_count(dovecot, dovecot_user) == 0


def test_pop3_oversize_mail_is_quarantined_and_never_deleted(desk, dovecot, dovecot_user):
    dovecot_user.deliver(message(120, body="y" * 4000 + "\r\n"))
    mailbox = make_mailbox(
        desk,
        dovecot,
        dovecot_user,
        protocol="pop3",
        inbound_after_fetch="delete",
        inbound_max_size=1000,
    )
    result = fetch_mailbox(mailbox.id)
    assert result.ok and result.oversize == 1 and result.stored == 0
    (row,) = raw_rows(mailbox)
    assert row.status == "quarantined" and "oversize" in row.error
    assert b"Message-ID: <enquiry-120@customer.test>" in row.content
    assert server_count(dovecot, dovecot_user) == 1

"""Machine mail is recognised and never answered; automatic mail obeys the limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.customers.models import Customer
from app.extensions import db
from app.mail.intake import receive
from app.mail.models import RawMessage
from app.mailcore import identity
from app.outbox.limits import may_send_automatic
from app.outbox.models import OutboxMail
from tests.mail.helpers import make_mail


@pytest.fixture
def answering_desk(desk):
    desk.pool_a.auto_response_enabled = True
    db.session.commit()
    return desk


def _auto_responses():
    return db.session.scalar(
        select(func.count(OutboxMail.id)).where(OutboxMail.kind == "auto_response")
    )


def test_new_case_gets_an_auto_response_with_number_and_due_time(answering_desk):
    result = receive(
        make_mail(sender="carol@customer.test"), mailbox=answering_desk.mailbox_a, source="t"
    )
    row = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "auto_response"))
    assert row.case_id == result.case_id and row.recipient == "carol@customer.test"
    assert row.status != "suppressed"
    from app.cases.models import Case

    assert db.session.get(Case, result.case_id).number in row.subject


@pytest.mark.parametrize(
    "headers, flag",
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ({"Auto-Submitted": "auto-replied; owner-email=x@y"}, "ooo"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"List-Id": "<news.example.org>"}, "bulk"),
        ({"X-Autoreply": "yes"}, "auto_reply"),
        ({"X-Auto-Response-Suppress": "All", "X-MS-Exchange-Inbox-Rules-Loop": "x@y"}, "ooo"),
        ({"X-Loop": "yes"}, "loop"),
        ({"X-Loop": "Acme Ticketing 4.2"}, "loop"),  # a product name
        ({"X-Loop": "helpdesk@vendor.test"}, "loop"),  # an address
        ({"Return-Path": "<>"}, "bounce"),
    ],
)
def test_machine_mail_is_stored_but_never_answered(answering_desk, headers, flag):
    """Machine mail that threads to no case is kept (status automatic) and opens no case."""
    result = receive(make_mail(headers=headers), mailbox=answering_desk.mailbox_a, source="t")
    assert result.status == "automatic" and result.case_id is None
    assert flag in db.session.get(RawMessage, result.raw_id).flag_set
    assert _auto_responses() == 0


def test_our_own_loop_header_is_recorded_and_not_answered(answering_desk):
    result = receive(
        make_mail(headers={identity.LOOP_HEADER: identity.instance_id()}),
        mailbox=answering_desk.mailbox_a,
        source="t",
    )
    assert "own_loop" in db.session.get(RawMessage, result.raw_id).flag_set
    assert _auto_responses() == 0


def test_mail_from_our_own_mailbox_is_not_answered(answering_desk):
    result = receive(make_mail(sender="b@desk.test"), mailbox=answering_desk.mailbox_a, source="t")
    assert "own_mailbox" in db.session.get(RawMessage, result.raw_id).flag_set
    assert _auto_responses() == 0


@pytest.mark.parametrize(
    "address",
    [
        "noreply@shop.test",
        "no-reply-orders@shop.test",
        "MAILER-DAEMON@mx.test",
        "postmaster@x.test",
        "a@desk.test",
        "a+1-abc@desk.test",
    ],
)
def test_no_automatic_mail_to_system_or_own_addresses(desk, address):
    allowed, reason = may_send_automatic(address)
    assert not allowed and reason


def test_no_automatic_mail_to_undeliverable_customer(desk):
    desk.customer_a.undeliverable = True
    db.session.commit()
    allowed, reason = may_send_automatic("alice@customer.test")
    assert not allowed and "undeliverable" in reason
    assert may_send_automatic("bob@customer.test") == (True, None)


def test_sliding_window_limit_per_recipient(answering_desk, app):
    app.config["AUTO_MAIL_LIMITS"] = ((60, 3),)
    for n in range(5):
        receive(
            make_mail(sender="chatty@x.test", subject=f"q{n}"),
            mailbox=answering_desk.mailbox_a,
            source="t",
        )
    statuses = [
        r.status
        for r in db.session.scalars(
            select(OutboxMail).where(OutboxMail.kind == "auto_response").order_by(OutboxMail.id)
        )
    ]
    assert statuses.count("suppressed") == 2
    allowed, reason = may_send_automatic("chatty@x.test")
    assert not allowed and "loop protection" in reason


def rfc3464_bounce(original_mid: str, recipient: str, status="5.1.1", action="failed") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.test>\r\nTo: a@desk.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@mx.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=R\r\n\r\n"
        "--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n\r\n"
        "--R\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: a@desk.test\r\nTo: {recipient}\r\nSubject: Re: your case\r\n"
        f"Message-ID: {original_mid}\r\n\r\nour answer\r\n--R--\r\n"
    ).encode()


def test_rfc3464_bounce_threads_and_marks_undeliverable(answering_desk):
    mid = identity.make_message_id("reply", answering_desk.case_a.id)
    result = receive(
        rfc3464_bounce(mid, "alice@customer.test"), mailbox=answering_desk.mailbox_a, source="t"
    )
    assert result.case_id == answering_desk.case_a.id
    assert "bounce" in db.session.get(RawMessage, result.raw_id).flag_set
    assert db.session.scalar(
        select(Customer.undeliverable).where(Customer.email == "alice@customer.test")
    )
    assert _auto_responses() == 0


def test_temporary_failure_does_not_mark_undeliverable(answering_desk):
    mid = identity.make_message_id("reply", answering_desk.case_a.id)
    receive(
        rfc3464_bounce(mid, "alice@customer.test", status="4.2.2", action="delayed"),
        mailbox=answering_desk.mailbox_a,
        source="t",
    )
    assert not db.session.get(Customer, answering_desk.customer_a.id).undeliverable


def test_non_standard_bounce_is_recognised(answering_desk):
    raw = (
        "From: postmaster@old-mailer.test\r\nTo: a@desk.test\r\nSubject: failure notice\r\n\r\n"
        "Hi. This is the qmail-send program at old-mailer.test.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        "<bob@customer.test>:\r\n550 5.1.1 user unknown\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        f"Message-ID: {identity.make_message_id('reply', answering_desk.case_b.id)}\r\n"
        "Subject: your case\r\n"
    ).encode()
    result = receive(raw, mailbox=answering_desk.mailbox_a, source="t")
    assert "bounce" in db.session.get(RawMessage, result.raw_id).flag_set
    assert result.case_id == answering_desk.case_b.id
    assert db.session.get(Customer, answering_desk.customer_b.id).undeliverable
    assert _auto_responses() == 0


def test_limits_count_automatic_mail_queued_earlier_in_the_same_transaction(desk, app):
    """The loop-limit check runs without flushing; mail queued moments ago still counts."""
    from app.outbox.services import queue_mail

    app.config["AUTO_MAIL_LIMITS"] = ((60, 2),)
    rows = [
        queue_mail(kind="notification", to="busy@x.test", subject=f"n{n}", text="x", automatic=True)
        for n in range(3)
    ]
    assert [r.status for r in rows] == ["queued", "queued", "suppressed"]
    assert "loop protection" in rows[2].last_error


def test_undeliverable_mark_not_yet_flushed_is_respected(desk):
    desk.customer_a.undeliverable = True  # same transaction, not flushed
    allowed, reason = may_send_automatic("alice@customer.test")
    assert not allowed and "undeliverable" in reason

"""Identical bytes are always found again: re-importing mail gives duplicates and no new case,
however many stored mails share its Message-ID."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cases.models import Case, Message
from app.extensions import db
from app.mail.intake import IncomingMail, receive, receive_many
from app.mail.models import RawMessage
from app.mail.stats import intake_stats
from app.mailcore import identity
from tests.mail.helpers import make_mail
from tests.mail.test_hygiene import rfc3464_bounce


def _cases() -> int:
    return db.session.scalar(select(func.count(Case.id)))


def _messages() -> int:
    return db.session.scalar(select(func.count(Message.id)))


@pytest.mark.parametrize("again", ["receive", "receive_many"])
def test_a_copy_is_found_among_many_mails_with_one_message_id(desk, again):
    """Twelve different mails with one Message-ID (a broken mailer); the last one again."""
    mails = [
        make_mail(sender=f"c{n}@x.test", subject=f"Q{n}", message_id="<same@broken.test>")
        for n in range(12)
    ]
    firsts = [receive(raw, mailbox=desk.mailbox_a, source="t") for raw in mails]
    assert [r.status for r in firsts] == ["processed"] * 12
    cases, messages = _cases(), _messages()
    if again == "receive":
        results = [receive(mails[-1], mailbox=desk.mailbox_a, source="t")]
    else:
        results = receive_many([IncomingMail(raw, desk.mailbox_a, "t") for raw in mails])
    assert [r.status for r in results] == ["duplicate"] * len(results)
    assert [r.case_id for r in results] == [r.case_id for r in firsts][-len(results) :]
    assert (_cases(), _messages()) == (cases, messages)
    row = db.session.get(RawMessage, results[-1].raw_id)
    assert row.error == f"identical to raw message #{firsts[-1].raw_id}"


def _small_mix(desk) -> list[bytes]:
    """New enquiries, replies, an out-of-office, a bounce, a list mail, a mail without a
    Message-ID and two mails sharing one."""
    reply_to_a = identity.make_message_id("reply", desk.case_a.id)
    return [
        make_mail(sender="new1@x.test", subject="First question"),
        make_mail(sender="new2@x.test", subject="Second question"),
        make_mail(sender="alice@customer.test", in_reply_to=reply_to_a, body="Thanks"),
        make_mail(sender="away@x.test", headers={"Auto-Submitted": "auto-replied"}),
        rfc3464_bounce(identity.make_message_id("reply", desk.case_b.id), "bob@customer.test"),
        make_mail(headers={"List-Id": "<news.example.org>"}),
        make_mail(sender="nomid@x.test", message_id=None, subject="No id"),
        make_mail(sender="s1@x.test", message_id="<dup@x.test>", subject="one"),
        make_mail(sender="s2@x.test", message_id="<dup@x.test>", subject="two"),
    ]


def test_importing_a_mix_twice_gives_only_duplicates(desk):
    mix = _small_mix(desk)
    first = receive_many([IncomingMail(raw, desk.mailbox_a, "import") for raw in mix])
    assert "duplicate" not in [r.status for r in first]
    cases, messages = _cases(), _messages()
    second = receive_many([IncomingMail(raw, desk.mailbox_a, "import") for raw in mix])
    assert [r.status for r in second] == ["duplicate"] * len(mix)
    assert [r.case_id for r in second] == [r.case_id for r in first]
    assert (_cases(), _messages()) == (cases, messages)
    stats = intake_stats()
    assert stats["duplicates"] == len(mix) and stats["received"] == 2 * len(mix)

"""Store first, then process: every input ends stored, as a message or in quarantine."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from app.cases.models import Case, Message
from app.extensions import db
from app.mail import intake_batch
from app.mail.intake import receive, reprocess
from app.mail.models import Attachment, RawMessage
from app.mail.stats import intake_stats
from tests.mail.helpers import garbage_mail, make_mail
from tests.mail.test_parsing import mail_with_attachment, tnef_blob


def test_new_mail_opens_a_case_with_the_message_and_customer(desk):
    result = receive(
        make_mail(sender="Carol <CAROL@Customer.test>", subject="Broken kettle"),
        mailbox=desk.mailbox_a,
        source="test",
    )
    assert result.status == "processed"
    case = db.session.get(Case, result.case_id)
    assert case.subject == "Broken kettle" and case.pool == desk.pool_a
    assert case.customer.email == "carol@customer.test"
    msg = db.session.get(Message, result.message_id)
    assert msg.direction == "inbound" and msg.from_address == "carol@customer.test"
    assert msg.raw_message.status == "processed" and msg.raw_message.case_id == case.id
    assert msg.raw_message.outcome == "new_case"


def test_processing_error_quarantines_and_reprocess_recovers(desk, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(intake_batch, "parse_stored", boom)
    result = receive(make_mail(), mailbox=desk.mailbox_a, source="test")
    assert result.status == "quarantined" and "parser exploded" in result.error
    row = db.session.get(RawMessage, result.raw_id)
    assert row.status == "quarantined" and row.content  # the bytes are kept
    assert db.session.scalar(select(func.count(Message.id))) == 2  # only the desk's
    monkeypatch.undo()
    again = reprocess(result.raw_id)
    assert again.status == "processed" and again.case_id


def test_mail_without_mailbox_is_quarantined_with_a_reason(app):
    result = receive(make_mail(), mailbox=None, source="import")
    assert result.status == "quarantined"
    assert "no mailbox" in result.error


def test_identical_bytes_are_a_duplicate_and_reused_message_id_is_flagged(desk):
    raw = make_mail(message_id="<same@customer.test>")
    first = receive(raw, mailbox=desk.mailbox_a, source="test")
    second = receive(raw, mailbox=desk.mailbox_a, source="test")
    assert second.status == "duplicate" and second.case_id == first.case_id
    assert (
        db.session.scalar(
            select(func.count(Message.id)).where(Message.message_id == "<same@customer.test>")
        )
        == 1
    )
    other = receive(
        make_mail(message_id="<same@customer.test>", body="different"),
        mailbox=desk.mailbox_a,
        source="test",
    )
    assert other.status == "processed"
    assert "reused_message_id" in db.session.get(RawMessage, other.raw_id).flag_set
    # In another mailbox the same bytes are a first delivery, not a duplicate.
    assert receive(raw, mailbox=desk.mailbox_b, source="test").status == "processed"


def test_no_message_id_deduplicates_on_sha256(desk):
    raw = make_mail(message_id=None)
    assert receive(raw, mailbox=desk.mailbox_a, source="t").status == "processed"
    assert receive(raw, mailbox=desk.mailbox_a, source="t").status == "duplicate"
    assert (
        receive(make_mail(message_id=None, body="other"), mailbox=desk.mailbox_a, source="t").status
        == "processed"
    )


def test_big_mail_goes_to_the_file_store_and_attachments_are_kept(desk, app):
    data = b"\x00\x01binary" * 200_000  # 1.6 MB
    result = receive(
        mail_with_attachment("report.pdf", "application/pdf", data),
        mailbox=desk.mailbox_a,
        source="test",
    )
    row = db.session.get(RawMessage, result.raw_id)
    assert row.content is None and row.path
    (att,) = db.session.scalars(
        select(Attachment).where(Attachment.message_id == result.message_id)
    ).all()
    assert att.filename == "report.pdf" and att.size == len(data)
    from app.mail import store

    assert store.read_blob(att.sha256) == data


def test_winmail_dat_is_expanded_and_kept(desk):
    blob = tnef_blob(b"notes.txt", b"inside the tnef")
    result = receive(
        mail_with_attachment("winmail.dat", "application/ms-tnef", blob),
        mailbox=desk.mailbox_a,
        source="test",
    )
    names = {
        a.filename: a
        for a in db.session.scalars(
            select(Attachment).where(Attachment.message_id == result.message_id)
        )
    }
    assert "winmail.dat" in names and "notes.txt" in names
    from app.mail import store

    assert store.read_blob(names["notes.txt"].sha256) == b"inside the tnef"


def test_oversize_attachments_keep_raw_flag_case_and_notify_sender(desk, app):
    from app.audit.models import Event
    from app.outbox.models import OutboxMail

    app.config["INTAKE_ATTACHMENTS_MAX_BYTES"] = 10_000
    result = receive(
        mail_with_attachment("huge.iso", "application/octet-stream", b"x" * 50_000),
        mailbox=desk.mailbox_a,
        source="t",
    )
    assert result.status == "processed"
    row = db.session.get(RawMessage, result.raw_id)
    assert "oversize" in row.flag_set and row.size > 50_000
    assert (
        db.session.scalar(
            select(func.count(Attachment.id)).where(Attachment.message_id == result.message_id)
        )
        == 0
    )
    assert db.session.scalar(
        select(Event).where(
            Event.case_id == result.case_id, Event.action == "attachments too large"
        )
    )
    notice = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "oversize_notice"))
    assert notice.recipient == "carol@customer.test" or notice.recipient.endswith("b.test")


def test_inline_cid_image_links_to_our_attachment(desk):
    raw = (
        b"From: a@b.test\r\nTo: a@desk.test\r\nSubject: pic\r\nContent-Type: multipart/related;"
        b' boundary=B\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n<p>see <img src="cid:img1@x">'
        b'<img src="http://track.test/x.gif"></p>\r\n--B\r\nContent-Type: image/png\r\n'
        b"Content-ID: <img1@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--B--\r\n"
    )
    result = receive(raw, mailbox=desk.mailbox_a, source="t")
    msg = db.session.get(Message, result.message_id)
    att = msg.attachments[0]
    assert f'src="/mail/attachment/{att.id}"' in msg.body_html
    assert "track.test" not in msg.body_html


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(garbage_mail())
def test_garbage_always_ends_stored_and_nothing_raises(desk, raw):
    before = intake_stats()
    result = receive(raw, mailbox=desk.mailbox_a, source="fuzz")
    assert result.status in ("processed", "quarantined", "duplicate")
    row = db.session.get(RawMessage, result.raw_id)
    assert row.status == result.status
    after = intake_stats()
    assert after["received"] == before["received"] + 1
    counted = {
        "processed": ("new_cases", "threaded"),
        "quarantined": ("quarantined",),
        "duplicate": ("duplicates",),
    }[result.status]
    assert sum(after[k] for k in counted) == sum(before[k] for k in counted) + 1


def test_stats_count_every_outcome(desk):
    desk.pool_a.auto_response_enabled = True
    db.session.commit()
    raw = make_mail()
    receive(raw, mailbox=desk.mailbox_a, source="t")
    receive(raw, mailbox=desk.mailbox_a, source="t")
    receive(
        make_mail(headers={"Auto-Submitted": "auto-replied"}), mailbox=desk.mailbox_a, source="t"
    )
    receive(make_mail(), mailbox=None, source="t")
    stats = intake_stats()
    assert stats["received"] == stats["stored"] == 4
    assert stats["new_cases"] == 1 and stats["duplicates"] == 1 and stats["quarantined"] == 1
    assert stats["automatic"] == 1  # the auto-reply threads to no case: it opened none
    assert stats["auto_replies_detected"] == 1
    assert stats["auto_responses_sent"] == 1  # none for the auto-reply


def test_nul_bytes_never_reach_the_database(desk):
    raw = (
        b"Message-ID: <\x00>\r\nFrom: a\x00@b.test\r\nSubject: a\x00b\r\n"
        b"Content-Type: text/pl\x00ain\r\n\r\nbo\x00dy"
    )
    result = receive(raw, mailbox=desk.mailbox_a, source="t\x00", recipient="x\x00@y.test")
    assert result.status == "processed", result.error
    msg = db.session.get(Message, result.message_id)
    assert msg.subject == "ab" and "\x00" not in msg.body_text


@pytest.mark.parametrize("size", [0, 1])
def test_empty_input_is_stored_too(desk, size):
    result = receive(b"x" * size, mailbox=desk.mailbox_a, source="t")
    assert db.session.get(RawMessage, result.raw_id).size == size

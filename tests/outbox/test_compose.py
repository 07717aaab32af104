"""What the customer's mail program receives: headers, threading, markers, parts."""

from __future__ import annotations

import pytest

from app.cases.models import Message, MessageDirection
from app.extensions import db
from app.mailcore import identity
from app.outbox.compose import InvalidMail
from app.outbox.delivery import deliver_due
from app.outbox.models import OutboxMail, OutboxStatus
from app.outbox.services import queue_mail

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _inbound(case, message_id, references=None):
    msg = Message(
        case=case,
        direction=MessageDirection.INBOUND,
        from_address=case.customer.email,
        subject=case.subject,
        body_text="Help",
        message_id=message_id,
        references=references,
    )
    db.session.add(msg)
    db.session.commit()
    return msg


def test_reply_carries_signed_id_threading_tag_marker_and_loop_header(app, desk, sink):
    desk.mailbox_a.sender_name = "Support Désk A"
    _inbound(desk.case_a, "<first@customer.test>")
    _inbound(desk.case_a, "<second@customer.test>", references="<first@customer.test>")
    row = queue_mail(
        kind="reply",
        to="Alice <alice@customer.test>",
        subject="Re: Printer",
        text="Grüße, Alice: the printer is fixed.",
        case=desk.case_a,
    )
    db.session.commit()

    assert deliver_due().sent == 1
    (envelope,), (mail,) = sink.envelopes, sink.messages
    assert envelope.mail_from == "a@desk.test"
    assert envelope.rcpt_tos == ["alice@customer.test"]
    assert identity.parse_message_id(mail["Message-ID"]) == ("reply", desk.case_a.id)
    assert mail["Message-ID"] == row.message_id
    assert mail["In-Reply-To"] == "<second@customer.test>"
    assert mail["References"].split() == ["<first@customer.test>", "<second@customer.test>"]
    assert f"[{desk.case_a.number}]" in mail["Subject"]
    assert identity.find_case_number(mail["Subject"]) == desk.case_a.number
    assert mail[identity.LOOP_HEADER] == identity.instance_id()
    assert identity.case_from_plus_address(mail["Reply-To"]) == desk.case_a.id
    assert mail["From"].addresses[0].display_name == "Support Désk A"
    assert mail["Auto-Submitted"] is None
    body = mail.get_content()
    assert "Grüße, Alice" in body
    assert body.index(identity.REPLY_ABOVE) < body.index("Grüße")
    assert identity.find_body_marker(body) == desk.case_a.id
    # 8-bit text travels 7-bit clean.
    assert mail["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert max(envelope.content) < 128


@pytest.mark.parametrize("hygiene", ["real", "without_queries"])
def test_auto_response_of_a_brand_new_case_threads_back_to_it(
    app, desk, sink, monkeypatch, hygiene
):
    from app.cases import services

    if hygiene == "without_queries":  # then nothing flushes before commit: the flush hook
        monkeypatch.setattr("app.outbox.services.may_send_automatic", lambda *a, **k: (True, None))

    case = services.open_case(
        pool=desk.pool_a,
        subject="New problem",
        customer=desk.customer_a,
        mailbox=desk.mailbox_a,
        commit=False,
    )
    db.session.add(
        Message(
            case=case,
            direction=MessageDirection.INBOUND,
            from_address="alice@customer.test",
            subject="New problem",
            body_text="Hi",
            message_id="<new@customer.test>",
        )
    )
    row = queue_mail(
        kind="auto_response",
        to="alice@customer.test",
        subject="We got it",
        text="Thank you.",
        case=case,
        automatic=True,
    )
    if hygiene == "without_queries":
        assert case.id is None  # the case gets its id in the flush of the commit
    db.session.commit()

    assert identity.parse_message_id(row.message_id) == ("auto_response", case.id)
    deliver_due()
    (envelope,), (mail,) = sink.envelopes, sink.messages
    assert envelope.mail_from in ("", "<>")  # MAIL FROM:<>, the null envelope sender
    assert mail["Message-ID"] == row.message_id
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"]
    assert mail["Precedence"] == "auto_reply"
    assert mail["In-Reply-To"] == "<new@customer.test>"
    assert identity.find_case_number(mail["Subject"]) == case.number
    assert identity.find_body_marker(mail.get_content()) == case.id


def test_notification_is_auto_generated_and_keeps_a_bounce_address(app, desk, sink):
    queue_mail(
        kind="notification",
        to="alice@customer.test",
        subject="New answer",
        text="Your case has a new answer.",
        case=desk.case_a,
        automatic=True,
    )
    db.session.commit()
    deliver_due()
    (envelope,), (mail,) = sink.envelopes, sink.messages
    assert mail["Auto-Submitted"] == "auto-generated"
    assert envelope.mail_from == "a@desk.test"


def test_html_with_inline_image_and_attachment(app, desk, sink):
    html = '<html><body><p>See the picture:</p><img src="cid:logo@desk"></body></html>'
    queue_mail(
        kind="reply",
        to="alice@customer.test",
        subject="Manual",
        text="See attached.",
        html=html,
        case=desk.case_a,
        inline_images=[("logo@desk", "image/png", PNG)],
        attachments=[("Preisliste März.pdf", "application/pdf", b"%PDF-1.4 test")],
    )
    db.session.commit()
    deliver_due()
    (mail,) = sink.messages

    html_part = mail.get_body(preferencelist=("html",))
    html_text = html_part.get_content()
    assert 'src="cid:logo@desk"' in html_text
    assert identity.REPLY_ABOVE in html_text
    assert "display:none" in html_text and identity.find_body_marker(html_text) == desk.case_a.id
    images = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    assert images[0]["Content-ID"] == "<logo@desk>"
    assert images[0].get_content() == PNG
    attachments = list(mail.iter_attachments())
    pdf = [a for a in attachments if a.get_content_type() == "application/pdf"]
    assert pdf and pdf[0].get_filename() == "Preisliste März.pdf"
    assert pdf[0].get_content() == b"%PDF-1.4 test"
    assert identity.find_body_marker(mail.get_body(preferencelist=("plain",)).get_content())


def test_cc_recipients_get_the_mail_too(app, desk, sink):
    queue_mail(
        kind="reply",
        to="alice@customer.test",
        cc=["boss@customer.test"],
        subject="Re",
        text="Hi",
        case=desk.case_a,
    )
    db.session.commit()
    deliver_due()
    (envelope,), (mail,) = sink.envelopes, sink.messages
    assert envelope.rcpt_tos == ["alice@customer.test", "boss@customer.test"]
    assert "boss@customer.test" in str(mail["Cc"])


def test_suppressed_automatic_mail_is_recorded_and_never_sent(app, desk, sink, monkeypatch):
    from app.audit.models import Event

    monkeypatch.setattr(
        "app.outbox.services.may_send_automatic",
        lambda recipient, case=None, kind=None: (False, "loop limit reached"),
    )
    row = queue_mail(
        kind="auto_response",
        to="alice@customer.test",
        subject="We got it",
        text="Thanks",
        case=desk.case_a,
        automatic=True,
    )
    db.session.commit()
    assert row.status == OutboxStatus.SUPPRESSED
    assert row.last_error == "loop limit reached"
    assert deliver_due().claimed == 0
    assert sink.envelopes == []
    event = db.session.query(Event).filter_by(action="mail.suppressed").one()
    assert event.case_id == desk.case_a.id


@pytest.mark.parametrize("to", ["", "not an address", "alice@", "<>"])
def test_a_mail_without_a_valid_recipient_is_refused_clearly(app, desk, to):
    with pytest.raises(InvalidMail):
        queue_mail(kind="reply", to=to, subject="x", text="y", case=desk.case_a)
    db.session.rollback()
    assert db.session.query(OutboxMail).count() == 0

"""The customer replies in the portal: through the mail intake, as his mail would (threading,
reopening, attachments), with clear limits on what he may attach."""

from __future__ import annotations

import io
from datetime import timedelta

from app.answering import portal as links
from app.audit.actor import acting_as
from app.cases import actions
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import transition
from app.core.timeutil import utcnow
from app.extensions import db
from app.mail.models import RawMessage


def _reply(client, case, text="Here is the photo.", files=()):
    data = {"text": text, "attachments": [(io.BytesIO(d), n) for n, d in files]}
    return client.post(
        f"/portal/case/{links.portal_token(case)}/reply",
        data=data,
        content_type="multipart/form-data",
    )


def _inbound(case):
    return (
        db.session.query(Message)
        .filter_by(case_id=case.id, direction=MessageDirection.INBOUND)
        .order_by(Message.id)
        .all()
    )


def test_a_reply_joins_the_thread_through_the_intake_and_returns_to_the_queue(desk, client):
    case = desk.case_a
    with acting_as(None):
        transition(case, "in_progress")
        transition(case, "waiting_on_customer")
    db.session.commit()
    sent = _reply(client, case, files=[("photo.jpg", b"\xff\xd8\xff jpeg bytes")])
    assert sent.status_code == 302 and "done=sent" in sent.location
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status == "in_progress"  # back with the agent
    message = _inbound(case)[-1]
    assert message.body_text.strip() == "Here is the photo."
    assert message.from_address == "alice@customer.test"
    assert [a.filename for a in message.attachments] == ["photo.jpg"]
    assert db.session.get(RawMessage, message.raw_message_id).source == "portal"
    page = client.get(sent.location).get_data(as_text=True)
    assert 'id="reply-sent"' in page and "Here is the photo." in page


def test_a_reply_on_a_recently_closed_case_reopens_it(desk, client):
    with acting_as(None):
        actions.close_for_customer(desk.case_a)
    assert _reply(client, desk.case_a).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, desk.case_a.id).status == "in_progress"


def test_a_reply_on_a_case_closed_long_ago_opens_a_follow_up(desk, client):
    with acting_as(None):
        actions.close_for_customer(desk.case_a)
    case = db.session.get(Case, desk.case_a.id)
    case.closed_at = utcnow() - timedelta(days=60)
    db.session.commit()
    sent = _reply(client, case)
    assert sent.status_code == 302 and "done=new" in sent.location
    follow_up = db.session.query(Case).filter(Case.follows_case_id == case.id).one()
    assert follow_up.customer_id == desk.customer_a.id
    assert follow_up.number in client.get(sent.location).get_data(as_text=True)


def test_an_empty_message_is_refused_next_to_the_field(desk, client):
    page = _reply(client, desk.case_a, text="   ")
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert 'aria-describedby="reply-text-error"' in body and 'id="reply-text-error"' in body
    assert len(_inbound(desk.case_a)) == 1


def test_a_program_is_not_accepted_and_nothing_is_stored(desk, client):
    page = _reply(client, desk.case_a, files=[("setup.exe", b"MZ...")])
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert "setup.exe: this type of file is not accepted" in body
    assert (
        'id="reply-files-error"' in body
        and "reply-files-error" in body.split('id="reply-files"')[1]
    )
    assert "Here is the photo." in body  # his text stays
    assert len(_inbound(desk.case_a)) == 1
    assert db.session.query(RawMessage).filter_by(source="portal").count() == 0


def test_size_and_count_limits_name_the_limit(app, desk, client):
    app.config["PORTAL_UPLOAD_MAX_MB"] = 1
    big = _reply(client, desk.case_a, files=[("scan.pdf", b"x" * (1024 * 1024 + 1))])
    assert big.status_code == 400 and "scan.pdf is larger than 1 MB" in big.get_data(as_text=True)
    many = _reply(client, desk.case_a, files=[(f"p{i}.png", b"png") for i in range(6)])
    assert many.status_code == 400 and "Attach at most 5 files" in many.get_data(as_text=True)
    empty = _reply(client, desk.case_a, files=[("empty.txt", b"")])
    assert "empty.txt is empty" in empty.get_data(as_text=True)
    assert len(_inbound(desk.case_a)) == 1


def test_a_request_above_the_total_limit_gets_a_clear_page(app, desk, client):
    app.config["PORTAL_UPLOAD_MAX_MB"] = 1
    page = _reply(client, desk.case_a, files=[("huge.zip", b"x" * (5 * 1024 * 1024))])
    assert page.status_code == 413
    assert "The files are too large" in page.get_data(as_text=True)

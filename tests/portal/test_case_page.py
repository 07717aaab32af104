"""What a customer sees on his case page: his mail and our answers, never internal notes,
consultations or questionnaire answers, never another customer's case."""

from __future__ import annotations

from app.answering import portal as links
from app.audit.actor import acting_as
from app.cases import actions
from app.cases.models import Message, MessageDirection
from app.extensions import db
from app.mail import store
from app.mail.models import Attachment
from app.questionnaires.models import Answer
from tests.support.questionnaires import make_questionnaire


def _page(client, case):
    response = client.get(f"/portal/case/{links.portal_token(case)}")
    return response.status_code, response.get_data(as_text=True)


def _attach(message, name, data=b"data"):
    row = Attachment(
        message=message,
        sha256=store.put_file(data),
        size=len(data),
        content_type="text/plain",
        filename=name,
    )
    db.session.add(row)
    return row


def test_the_page_shows_mail_in_and_out_but_no_note_consultation_or_answer(desk, client):
    case = desk.case_a
    db.session.add_all(
        [
            Message(
                case=case,
                direction=MessageDirection.OUTBOUND,
                body_text="We are on it, Alice.",
                from_address="a@desk.test",
            ),
            Message(case=case, direction=MessageDirection.NOTE, body_text="SECRET NOTE"),
            Message(
                case=case, direction=MessageDirection.CONSULTATION, body_text="ASK LEGAL QUIETLY"
            ),
        ]
    )
    db.session.flush()
    wrap_up = make_questionnaire([("Root cause?", "text", False)], pool=desk.pool_a)
    db.session.add(
        Answer(
            case=case,
            question=wrap_up.questions[0],
            questionnaire=wrap_up,
            context="close",
            value_text="WRAPUP ANSWER",
        )
    )
    db.session.commit()
    status, page = _page(client, case)
    assert status == 200
    assert "Help with: Printer on fire" in page and "We are on it, Alice." in page
    for hidden in ("SECRET NOTE", "ASK LEGAL QUIETLY", "WRAPUP ANSWER"):
        assert hidden not in page


def test_a_link_opens_its_own_case_only(desk, client):
    _status, page = _page(client, desk.case_b)
    assert "Invoice wrong" in page
    assert "Printer on fire" not in page and desk.case_a.number not in page


def test_a_forged_link_shows_a_clear_page_and_no_case(desk, client):
    token = links.portal_token(desk.case_a)
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense"):
        response = client.get(f"/portal/case/{forged}")
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "This link is not valid" in body and "Printer on fire" not in body
        assert client.post(f"/portal/case/{forged}/reply", data={"text": "x"}).status_code == 404
        assert client.post(f"/portal/case/{forged}/close").status_code == 404
    assert db.session.get(type(desk.case_a), desk.case_a.id).status != "closed"


def test_attachments_of_his_thread_download_and_a_note_s_do_not(desk, client):
    mail = db.session.query(Message).filter_by(case_id=desk.case_a.id).one()
    visible = _attach(mail, "invoice.txt", b"the invoice")
    note = Message(case=desk.case_a, direction=MessageDirection.NOTE, body_text="internal")
    db.session.add(note)
    hidden = _attach(note, "internal.txt", b"internal")
    other = _attach(db.session.query(Message).filter_by(case_id=desk.case_b.id).one(), "bob.txt")
    db.session.commit()
    token = links.portal_token(desk.case_a)
    got = client.get(f"/portal/case/{token}/attachment/{visible.id}")
    assert got.status_code == 200 and got.data == b"the invoice"
    assert client.get(f"/portal/case/{token}/attachment/{hidden.id}").status_code == 404
    assert client.get(f"/portal/case/{token}/attachment/{other.id}").status_code == 404


def test_the_open_case_shows_when_we_aim_to_answer(desk, client):
    _status, page = _page(client, desk.case_a)
    assert "We aim to answer by" in page


def test_the_close_button_follows_the_state_machine(desk, client):
    with acting_as(None):
        actions.close_for_customer(desk.case_a)
    _status, page = _page(client, desk.case_a)
    assert 'id="portal-close-form"' not in page
    assert "Writing to us opens it again" in page


def test_the_intake_s_acknowledgement_carries_the_case_link_that_opens_it(desk, client):
    from app.mail import intake
    from app.outbox.models import OutboxMail
    from tests.portal.conftest import link_in

    desk.pool_a.auto_response_enabled = True
    db.session.commit()
    raw = (
        b"From: Carol <carol@customer.test>\r\nTo: a@desk.test\r\nSubject: Scanner jams\r\n"
        b"Message-ID: <carol-1@customer.test>\r\n\r\nIt jams.\r\n"
    )
    result = intake.receive(raw, mailbox=desk.mailbox_a, source="test")
    [ack] = db.session.query(OutboxMail).filter_by(kind="auto_response").all()
    path = link_in(ack, "/portal/case/")
    page = client.get(path)
    assert page.status_code == 200 and "Scanner jams" in page.get_data(as_text=True)
    assert result.case_id == ack.case_id

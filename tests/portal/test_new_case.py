"""A new case from the portal: the topic tree in his language, the topic's form built by the
builder (conditional fields required only when shown), the message and files; the case goes
to the topic's pool with its priority, keeps the form version and the answers as rows, shows
its number and due time, and a confirmation follows in his language."""

from __future__ import annotations

import io
import re

import pytest

from app.audit.actor import acting_as
from app.cases.models import Case, CaseIntakeAnswer, Message
from app.customers.models import Customer
from app.extensions import db
from app.organisation.models import Topic
from app.outbox.models import OutboxMail
from forms_designer import services as forms
from tests.portal.conftest import mail_text

SCHEMA = {
    "languages": ["en", "pl"],
    "fields": [
        {"key": "intro", "type": "heading", "label": {"en": "Your invoice", "pl": "Twoja faktura"}},
        {
            "key": "kind",
            "type": "single_choice",
            "label": {"en": "What do you need?", "pl": "Czego potrzebujesz?"},
            "required": True,
            "options": [
                {"value": "copy", "label": {"en": "A copy", "pl": "Kopia"}},
                {"value": "wrong", "label": {"en": "It is wrong", "pl": "Jest błędna"}},
            ],
        },
        {
            "key": "invoice_no",
            "type": "short_text",
            "label": {"en": "Invoice number", "pl": "Numer faktury"},
            "required": True,
            "pattern": "^[0-9]+$",
        },
        {
            "key": "details",
            "type": "long_text",
            "label": {"en": "What is wrong?", "pl": "Co jest nie tak?"},
            "required": True,
            "visible_if": {"properties": {"kind": {"const": "wrong"}}, "required": ["kind"]},
        },
    ],
}


@pytest.fixture
def topical(desk):
    """Topics "Invoices" (pool A, its form, high priority) > "Copy of an invoice"."""
    with acting_as(desk.user("supervisor_a")):
        form = forms.create_form("Invoices", desk.pool_a)
        forms.save_draft(form, SCHEMA, desk.user("supervisor_a"))
        desk.version = forms.publish(form, desk.user("supervisor_a"))
    parent = Topic(
        name="Invoices",
        pool=desk.pool_a,
        form=form,
        priority=3,
        name_translations={"pl": "Faktury"},
    )
    child = Topic(
        name="Copy of an invoice", parent=parent, name_translations={"pl": "Kopia faktury"}
    )
    closed = Topic(name="Old topic", pool=desk.pool_a, active=False)
    db.session.add_all([parent, child, closed])
    db.session.commit()
    desk.topic, desk.parent_topic, desk.inactive_topic = child, parent, closed
    return desk


def _submit(client, topic, **fields):
    data = {
        "contact_email": "new@customer.test",
        "contact_name": "Nowy Klient",
        "contact_subject": "Potrzebuję kopii",
        "contact_text": "Proszę o kopię faktury.",
        "kind": "copy",
        "invoice_no": "12345",
        **fields,
    }
    return client.post(
        f"/portal/new/{topic.id}?lang=pl", data=data, content_type="multipart/form-data"
    )


def test_the_tree_is_in_his_language_and_leaves_out_inactive_topics(topical, client):
    page = client.get("/portal/new?lang=pl").get_data(as_text=True)
    assert "Faktury" in page and "Kopia faktury" in page and "Old topic" not in page
    assert f'href="/portal/new/{topical.topic.id}"' in page
    assert client.get(f"/portal/new/{topical.inactive_topic.id}").status_code == 404


def test_the_form_page_shows_the_built_form_with_its_condition(topical, client):
    page = client.get(f"/portal/new/{topical.topic.id}?lang=pl").get_data(as_text=True)
    assert "Czego potrzebujesz?" in page and "Numer faktury" in page
    assert 'data-key="details"' in page and 'data-conditional="1"' in page
    assert "forms/visible_if.js" in page and 'id="intake-schema"' in page


def test_a_submission_opens_the_case_where_the_topic_says(topical, client):
    response = _submit(
        client,
        topical.topic,
        details="ignored: hidden when a copy is asked for",
        contact_files=(io.BytesIO(b"%PDF-1.4 old invoice"), "faktura.pdf"),
    )
    assert response.status_code == 302 and "/portal/created/" in response.location
    case = db.session.query(Case).filter(Case.subject == "Potrzebuję kopii").one()
    assert (case.pool_id, case.topic_id, case.priority) == (topical.pool_a.id, topical.topic.id, 3)
    customer = db.session.get(Customer, case.customer_id)
    assert (customer.email, customer.name, customer.language) == (
        "new@customer.test",
        "Nowy Klient",
        "pl",
    )
    rows = (
        db.session.query(CaseIntakeAnswer)
        .filter_by(case_id=case.id)
        .order_by(CaseIntakeAnswer.position)
        .all()
    )
    assert [(r.field_key, r.value_text) for r in rows] == [
        ("kind", "copy"),
        ("invoice_no", "12345"),
    ]
    assert {r.form_version_id for r in rows} == {topical.version.id}
    [message] = db.session.query(Message).filter_by(case_id=case.id).all()
    assert message.direction == "inbound" and message.body_text == "Proszę o kopię faktury."
    assert [a.filename for a in message.attachments] == ["faktura.pdf"]

    shown = client.get(response.location).get_data(as_text=True)
    assert case.number in shown and 'id="created-due"' in shown

    [mail] = db.session.query(OutboxMail).filter_by(case_id=case.id, kind="confirmation").all()
    assert mail.recipient == "new@customer.test"
    assert "Otrzymaliśmy Twoje zgłoszenie" in mail.subject
    text = mail_text(mail)
    assert case.number in text and "/portal/case/" in text


def test_a_condition_makes_its_field_required_only_when_shown(topical, client):
    refused = _submit(client, topical.topic, kind="wrong")
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert 'id="error-details"' in body and 'aria-describedby="error-details"' in body
    assert db.session.query(Case).filter(Case.subject == "Potrzebuję kopii").count() == 0
    assert _submit(client, topical.topic, kind="wrong", details="Zła kwota").status_code == 302
    case = db.session.query(Case).filter(Case.subject == "Potrzebuję kopii").one()
    keys = {r.field_key for r in db.session.query(CaseIntakeAnswer).filter_by(case_id=case.id)}
    assert keys == {"kind", "invoice_no", "details"}


def test_contact_fields_are_checked_with_the_errors_at_the_fields(topical, client):
    body = _submit(
        client, topical.topic, contact_email="nope", contact_text="", invoice_no="x1"
    ).get_data(as_text=True)
    for field_id in ("contact-email-error", "contact-text-error", "error-invoice_no"):
        assert f'id="{field_id}"' in body
    assert 'value="Potrzebuję kopii"' in body  # what he wrote stays


def test_a_known_address_finds_its_customer(topical, client):
    _submit(client, topical.topic, contact_email="Alice@Customer.test")
    case = db.session.query(Case).filter(Case.subject == "Potrzebuję kopii").one()
    assert case.customer_id == topical.customer_a.id


def test_a_honeypot_submission_opens_nothing(topical, client):
    assert _submit(client, topical.topic, website="http://spam").status_code == 400
    assert db.session.query(Case).filter(Case.subject == "Potrzebuję kopii").count() == 0


def test_a_program_in_the_files_is_refused(topical, client):
    body = _submit(client, topical.topic, contact_files=(io.BytesIO(b"MZ"), "run.exe")).get_data(
        as_text=True
    )
    assert 'id="contact-files-error"' in body and re.search(r"run\.exe", body)
    assert db.session.query(Case).filter(Case.subject == "Potrzebuję kopii").count() == 0

"""A new case from the portal end to end in English, Polish, Swedish and German, on the demo
desk's topic tree and its published "Wrong invoice" form: the topic tree, the form's labels,
the validation messages (the builder's and the page's own), the "case created" page, the
confirmation mail and the case page its link opens are all in the language he chose."""

from __future__ import annotations

import re

import pytest

from app.cases.models import Case, CaseIntakeAnswer
from app.customers.models import Customer
from app.extensions import db
from app.organisation.models import Topic
from app.outbox.models import OutboxMail
from tests.portal.conftest import link_in, mail_text

# What the customer reads, per language: the tree's heading, the topic, two labels of the
# form, the conditional field's label, the page's and the form's messages, the created page,
# the mail's subject and greeting, and the case page.
TEXTS = {
    "en": {
        "heading": "What is your request about?",
        "topic": "Wrong invoice",
        "labels": ("Invoice number", "What is wrong?", "Something else"),
        "details": "Tell us what is wrong",
        "check": "Please check the fields marked below.",
        "required": "This field is required.",
        "write": "Write your message.",
        "created": "Thank you, we have your request",
        "subject": "We received your request",
        "greeting": "Dear Kim",
        "case_page": "Write to us",
    },
    "pl": {
        "heading": "Czego dotyczy Twoje zgłoszenie?",
        "topic": "Błędna faktura",
        "labels": ("Numer faktury", "Co jest nie tak?", "Coś innego"),
        "details": "Opisz, co jest nie tak",
        "check": "Sprawdź zaznaczone poniżej pola.",
        "required": "To pole jest wymagane.",
        "write": "Napisz swoją wiadomość.",
        "created": "Dziękujemy, mamy Twoje zgłoszenie",
        "subject": "Otrzymaliśmy Twoje zgłoszenie",
        "greeting": "Dzień dobry Kim",
        "case_page": "Napisz do nas",
    },
    "sv": {
        "heading": "Vad gäller ditt ärende?",
        "topic": "Felaktig faktura",
        "labels": ("Fakturanummer", "Vad är fel?", "Något annat"),
        "details": "Berätta vad som är fel",
        "check": "Kontrollera de markerade fälten nedan.",
        "required": "Det här fältet är obligatoriskt.",
        "write": "Skriv ditt meddelande.",
        "created": "Tack, vi har tagit emot ditt ärende",
        "subject": "Vi har tagit emot ditt ärende",
        "greeting": "Hej Kim",
        "case_page": "Skriv till oss",
    },
    "de": {
        "heading": "Worum geht es in Ihrer Anfrage?",
        "topic": "Falsche Rechnung",
        "labels": ("Rechnungsnummer", "Was ist falsch?", "Etwas anderes"),
        "details": "Beschreiben Sie, was falsch ist",
        "check": "Bitte prüfen Sie die unten markierten Felder.",
        "required": "Dieses Feld ist erforderlich.",
        "write": "Schreiben Sie Ihre Nachricht.",
        "created": "Danke, wir haben Ihre Anfrage erhalten",
        "subject": "Wir haben Ihre Anfrage erhalten",
        "greeting": "Guten Tag Kim",
        "case_page": "Schreiben Sie uns",
    },
}


@pytest.fixture
def demo_desk(app):
    """The demo desk's configuration: pools, the topic tree and its published forms."""
    from app.demo.seed import seed_configuration

    seed_configuration(password="four-languages-1")
    return db.session.query(Topic).filter_by(name="Wrong invoice").one()


def _error_of(page: str, key: str) -> str:
    found = re.search(rf'id="error-{key}"[^>]*>(.*?)</', page, re.S)
    assert found, f"no error next to {key}"
    return found.group(1).strip()


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_a_new_case_end_to_end_in_his_language(demo_desk, client, language):
    texts, topic = TEXTS[language], demo_desk
    tree = client.get(f"/portal/new?lang={language}").get_data(as_text=True)
    assert f'<html lang="{language}">' in tree
    assert texts["heading"] in tree and texts["topic"] in tree

    form_page = client.get(f"/portal/new/{topic.id}").get_data(as_text=True)  # the kept choice
    assert f'<html lang="{language}">' in form_page
    assert all(label in form_page for label in texts["labels"])
    assert texts["details"] in form_page  # rendered, hidden until "Something else" is picked

    # "Something else" makes the details required; no invoice number, no message.
    refused = client.post(
        f"/portal/new/{topic.id}",
        data={
            "contact_email": f"kim.{language}@customer.test",
            "contact_name": "Kim",
            "contact_subject": "Invoice 2026/7",
            "contact_text": "",
            "what_wrong": "other",
        },
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert texts["check"] in page
    assert _error_of(page, "invoice_no") == texts["required"]
    assert _error_of(page, "details") == texts["required"]
    assert texts["write"] in page
    assert db.session.query(Case).filter_by(topic_id=topic.id).count() == 0

    done = client.post(
        f"/portal/new/{topic.id}",
        data={
            "contact_email": f"kim.{language}@customer.test",
            "contact_name": "Kim",
            "contact_subject": "Invoice 2026/7",
            "contact_text": "The invoice names another company.",
            "invoice_no": "FV/2026/7",
            "what_wrong": "other",
            "details": "Wrong company name",
        },
    )
    assert done.status_code == 302
    created = client.get(done.location).get_data(as_text=True)
    case = db.session.query(Case).filter_by(topic_id=topic.id).one()
    assert texts["created"] in created and case.number in created
    assert case.pool.name == "Billing"
    answers = db.session.query(CaseIntakeAnswer).filter_by(case_id=case.id).all()
    assert {a.field_key: a.value_text for a in answers} == {
        "invoice_no": "FV/2026/7",
        "what_wrong": "other",
        "details": "Wrong company name",
    }
    assert db.session.get(Customer, case.customer_id).language == language

    [mail] = db.session.query(OutboxMail).filter_by(case_id=case.id, kind="confirmation").all()
    assert texts["subject"] in mail.subject and case.number in mail.subject
    text = mail_text(mail)
    assert f"{texts['greeting']}," in text and case.number in text

    fresh = client.application.test_client()  # the mail opened elsewhere: no session
    case_page = fresh.get(link_in(mail, "/portal/case/")).get_data(as_text=True)
    assert f'<html lang="{language}">' in case_page
    assert texts["case_page"] in case_page and case.number in case_page

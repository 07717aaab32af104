"""A customer in a real browser: the portal in Polish, then in English. He asks for a login
link, opens it from the mail, sees his cases, replies with a file, closes the case and rates
it with the keyboard; a screenshot of every page in both languages."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlalchemy import select

from tests.browser.conftest import SCREENSHOTS, shoot

pytestmark = pytest.mark.slow

TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _billing_case(app):
    """An open case of the demo's Billing pool (it has an exit survey) with a customer."""
    from app.cases.models import Case
    from app.extensions import db
    from app.organisation.models import Pool

    with app.app_context():
        case = db.session.scalars(
            select(Case)
            .join(Pool, Case.pool_id == Pool.id)
            .where(
                Pool.name == "Billing",
                Case.status.in_(("received", "in_progress", "waiting_on_customer")),
                Case.customer_id.is_not(None),
                Case.mailbox_id.is_not(None),
            )
            .order_by(Case.id)
        ).first()
        assert case is not None, "the demo has an open Billing case"
        found = (case.id, case.number, case.customer.email)
        db.session.remove()
        return found


def _login_link(app, address: str) -> str:
    from app.extensions import db
    from app.outbox.models import OutboxMail

    with app.app_context():
        mail = db.session.scalars(
            select(OutboxMail).where(OutboxMail.recipient == address).order_by(OutboxMail.id.desc())
        ).first()
        message = email.message_from_bytes(mail.content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()
        db.session.remove()
    return re.search(r"https?://\S+(/portal/login/\S+)", text).group(1)


def test_a_customer_signs_in_replies_closes_and_rates_in_polish(live_desk, browser_page, tmp_path):
    page, url, app = browser_page, live_desk["url"], live_desk["app"]
    _case_id, number, address = _billing_case(app)

    page.goto(url + "/portal/login?lang=pl")
    assert page.locator("html").get_attribute("lang") == "pl"
    shoot(page, "portal-pl-01-login")
    page.focus("#email")
    page.keyboard.type(address)
    page.keyboard.press("Enter")  # no mouse: the form sends on Enter
    page.wait_for_selector("#login-sent")
    shoot(page, "portal-pl-02-login-sent")

    page.goto(url + _login_link(app, address))
    shoot(page, "portal-pl-03-login-confirm")
    page.focus("#login-confirm")
    page.keyboard.press("Enter")
    page.wait_for_selector("#case-list")
    assert "Moje zgłoszenia" in page.locator("h1").inner_text()
    shoot(page, "portal-pl-04-cases")

    page.click(f"text={number}")
    page.wait_for_selector("#portal-reply-form")
    assert page.locator("label[for=reply-text]").inner_text() == "Twoja wiadomość"
    shoot(page, "portal-pl-05-case", full_page=True)

    # A program is refused, the error is next to the field and the text stays.
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ")
    page.fill("#reply-text", "Dziękuję, w załączniku zrzut ekranu.")
    page.set_input_files("#reply-files", str(program))
    page.click("#portal-reply-form button[type=submit]")
    page.wait_for_selector("#reply-files-error")
    assert "setup.exe" in page.locator("#reply-files-error").inner_text()
    assert "reply-files-error" in page.locator("#reply-files").get_attribute("aria-describedby")
    page.locator("#reply-files-error").scroll_into_view_if_needed()
    shoot(page, "portal-pl-06-reply-error")
    page.errors[:] = [e for e in page.errors if not e.startswith("400 ")]

    screenshot = tmp_path / "zrzut.png"
    screenshot.write_bytes(TINY_PNG)
    page.set_input_files("#reply-files", str(screenshot))
    page.click("#portal-reply-form button[type=submit]")
    page.wait_for_selector("#reply-sent")
    assert page.locator(".msg-inbound").last.locator(".files").inner_text().startswith("zrzut.png")
    shoot(page, "portal-pl-07-reply-sent", full_page=True)

    page.click("#portal-close-form button")
    page.wait_for_selector("#survey-form")
    shoot(page, "portal-pl-08-survey")
    # The rating with the keyboard: into the first star, then the arrow keys.
    first = page.locator("#survey-form .rating input").first
    first.focus()
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.locator("#survey-form .rating input:checked").get_attribute("value") == "4"
    page.fill("#survey-form textarea", "Szybko i konkretnie.")
    shoot(page, "portal-pl-09-survey-filled")
    page.click("#survey-form button[type=submit]")
    page.wait_for_selector("#survey-thanks")
    shoot(page, "portal-pl-10-thanks")

    # The same pages in English (the switch is kept for his mails too).
    page.goto(url + "/portal/cases?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    shoot(page, "portal-en-04-cases")
    page.click(f"text={number}")
    page.wait_for_selector("#portal-reply-form")
    shoot(page, "portal-en-05-case", full_page=True)
    page.click("text=Sign out")
    page.wait_for_selector("#email")
    shoot(page, "portal-en-01-login")
    page.goto(url + "/portal/case/not-a-real-link")
    shoot(page, "portal-en-11-link-not-valid")
    page.errors[:] = [e for e in page.errors if not e.startswith("404 ")]
    assert page.errors == []
    assert (SCREENSHOTS / "portal-pl-05-case.png").exists()


def _invoice_topic(app) -> int:
    """A published form with a condition on a topic of the demo's Billing pool."""
    from app.audit.actor import acting_as
    from app.extensions import db
    from app.organisation.models import Pool, Topic
    from forms_designer import services as forms
    from tests.portal.test_new_case import SCHEMA

    with app.app_context(), acting_as(None):
        billing = db.session.scalars(select(Pool).where(Pool.name == "Billing")).one()
        form = forms.create_form("Invoice questions", billing)
        forms.save_draft(form, SCHEMA)
        forms.publish(form)
        parent = Topic(name="Invoices (portal)", pool=billing, name_translations={"pl": "Faktury"})
        topic = Topic(
            name="Invoice problem",
            parent=parent,
            form=form,
            name_translations={"pl": "Problem z fakturą"},
        )
        db.session.add_all([parent, topic])
        db.session.commit()
        topic_id = topic.id
        db.session.remove()
    return topic_id


def _confirmation_link(app, address: str) -> str:
    from app.extensions import db
    from app.outbox.models import OutboxMail

    with app.app_context():
        mail = db.session.scalars(
            select(OutboxMail).where(
                OutboxMail.recipient == address, OutboxMail.kind == "confirmation"
            )
        ).one()
        message = email.message_from_bytes(mail.content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()
        db.session.remove()
    return re.search(r"https?://\S+(/portal/case/\S+)", text).group(1)


def test_a_customer_opens_a_case_in_polish_with_the_topics_form(live_desk, browser_page):
    page, url, app = browser_page, live_desk["url"], live_desk["app"]
    topic_id = _invoice_topic(app)

    page.goto(url + "/portal/new?lang=pl")
    assert "Czego dotyczy Twoje zgłoszenie?" in page.locator("h1").inner_text()
    shoot(page, "portal-pl-20-topics", full_page=True)
    page.click(f"#topic-{topic_id}")
    page.wait_for_selector("#new-case-form")
    details = page.locator('.intake-field[data-key="details"]')
    assert details.is_hidden()  # shown only when the invoice is wrong
    shoot(page, "portal-pl-21-form")

    page.fill("#contact-email", "ewa@klient.test")
    page.fill("#contact-name", "Ewa Nowak")
    page.check("#kind-1")  # "Jest błędna"
    assert details.is_visible()
    page.fill("#details", "Kwota się nie zgadza.")
    page.check("#kind-0")  # "Kopia": the condition hides it again
    assert details.is_hidden()
    page.check("#kind-1")
    page.fill("#invoice_no", "2026")
    page.fill("#contact-subject", "Błędna faktura")
    page.fill("#contact-text", "Dzień dobry, faktura ma złą kwotę.")
    shoot(page, "portal-pl-22-form-filled", full_page=True)
    page.click("#new-case-form button[type=submit]")
    page.wait_for_selector("#case-created")
    number = page.locator("#created-number").inner_text()
    assert re.fullmatch(r"[A-Z]+-\d+", number)
    assert page.locator("#created-due").is_visible()
    shoot(page, "portal-pl-23-created")

    page.goto(url + _confirmation_link(app, "ewa@klient.test"))
    page.wait_for_selector("#portal-reply-form")
    assert number in page.locator(".case-head").inner_text()
    assert page.locator("html").get_attribute("lang") == "pl"
    shoot(page, "portal-pl-24-case-from-mail")
    assert page.errors == []

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
from tests.support.smtp import Sink

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


@pytest.fixture
def sink():
    """An SMTP server on loopback (aiosmtpd) that the desk's outbox delivers to."""
    pytest.importorskip("aiosmtpd.controller", reason="needs aiosmtpd (requirements-dev)")
    server = Sink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_desk_config(sink):
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": sink.port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_DOMAIN": "desk.test",
        "OUTBOX_ENQUEUE_ON_COMMIT": False,
        "OUTBOX_SMTP_TIMEOUT": 5,
    }


def _wrong_invoice_topic(app) -> int:
    """The demo's "Wrong invoice" topic (Billing; its published form asks for details only
    when "Something else" is wrong)."""
    from app.extensions import db
    from app.organisation.models import Topic

    with app.app_context():
        topic = db.session.scalars(select(Topic).where(Topic.name == "Wrong invoice")).one()
        assert topic.form is not None, "the demo links a published form to the topic"
        topic_id = topic.id
        db.session.remove()
    return topic_id


def _deliver_and_catch(app, sink, address: str):
    """Run the desk's outbox delivery (real SMTP to the sink) and return the mail to
    ``address`` that the sink received."""
    from app.extensions import db
    from app.outbox.delivery import deliver_due

    with app.app_context():
        assert deliver_due().sent >= 1
        db.session.remove()
    [envelope] = [e for e in sink.envelopes if address in e.rcpt_tos]
    return email.message_from_bytes(envelope.content, policy=policy.default)


def _login_agent(page, url, username, password):
    page.goto(url + "/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()


def test_a_customer_opens_a_case_in_polish_and_follows_it_from_the_mail(
    live_desk, browser_page, sink
):
    """Topic in Polish, the form with its condition, the case number; the confirmation
    caught by the SMTP sink, its link opened; a reply, closing, the survey; then the agent
    sees the answers on the case."""
    page, url, app = browser_page, live_desk["url"], live_desk["app"]
    topic_id = _wrong_invoice_topic(app)

    page.goto(url + "/portal/new?lang=pl")
    assert "Czego dotyczy Twoje zgłoszenie?" in page.locator("h1").inner_text()
    shoot(page, "portal-pl-20-topics", full_page=True)
    page.click(f"#topic-{topic_id}")
    page.wait_for_selector("#new-case-form")
    assert "Błędna faktura" in page.locator(".case-number").inner_text()
    details = page.locator('.intake-field[data-key="details"]')
    assert details.is_hidden()  # shown only when "Coś innego" is wrong
    shoot(page, "portal-pl-21-form", full_page=True)

    page.fill("#contact-email", "ewa@klient.test")
    page.fill("#contact-name", "Ewa Nowak")
    page.fill("#invoice_no", "FV/2026/415")
    page.check("#what_wrong-3")  # "Coś innego"
    details.wait_for(state="visible")
    assert "Opisz, co jest nie tak" in details.inner_text()
    page.fill("#details", "Na fakturze jest zła nazwa firmy.")
    page.check("#what_wrong-0")  # "Kwota": the condition hides it again
    details.wait_for(state="hidden")
    page.check("#what_wrong-3")
    details.wait_for(state="visible")
    page.fill("#contact-subject", "Błędna faktura FV/2026/415")
    page.fill("#contact-text", "Dzień dobry, faktura ma złą nazwę firmy.")
    shoot(page, "portal-pl-22-form-filled", full_page=True)
    page.click("#new-case-form button[type=submit]")
    page.wait_for_selector("#case-created")
    number = page.locator("#created-number").inner_text()
    assert re.fullmatch(r"[A-Z]+-\d+", number)
    assert page.locator("#created-due").is_visible()
    shoot(page, "portal-pl-23-created")

    # The confirmation leaves through the outbox over SMTP; the link in it opens the case.
    mail = _deliver_and_catch(app, sink, "ewa@klient.test")
    assert number in mail["Subject"] and "Otrzymaliśmy Twoje zgłoszenie" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+(/portal/case/\S+)", text).group(1)
    page.goto(url + link)
    page.wait_for_selector("#portal-reply-form")
    assert number in page.locator(".case-head").inner_text()
    assert page.locator("html").get_attribute("lang") == "pl"
    shoot(page, "portal-pl-24-case-from-mail", full_page=True)

    page.fill("#reply-text", "Poprawna nazwa to Nowak Sp. z o.o.")
    page.click("#portal-reply-form button[type=submit]")
    page.wait_for_selector("#reply-sent")
    assert "Nowak Sp. z o.o." in page.locator(".msg-inbound").last.inner_text()
    shoot(page, "portal-pl-25-reply-sent", full_page=True)

    page.click("#portal-close-form button")
    page.wait_for_selector("#survey-form")
    page.locator("#survey-form .rating input[value='5']").check()
    page.fill("#survey-form textarea", "Bardzo szybko.")
    shoot(page, "portal-pl-26-survey")
    page.click("#survey-form button[type=submit]")
    page.wait_for_selector("#survey-thanks")
    shoot(page, "portal-pl-27-thanks")
    assert page.errors == []

    # The agent sees what she answered at the top of the case.
    from app.cases.models import Case
    from app.extensions import db

    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.number == number)).one()
        case_id, status = case.id, case.status
        db.session.remove()
    assert status == "closed"
    _login_agent(page, url, "supervisor", live_desk["password"])
    page.goto(f"{url}/cases/show/{case_id}")
    page.wait_for_selector("#case-workspace")
    panel = page.locator("#case-intake-answers")
    shown = panel.inner_text()
    title = panel.locator("#intake-title").text_content()
    assert "Customer's answers" in title and "Invoices / Wrong invoice" in title
    for answer in ("Invoice number", "FV/2026/415", "Something else", "Na fakturze jest zła"):
        assert answer in shown
    shoot(page, "portal-pl-28-agent-sees-answers")
    assert page.errors == []

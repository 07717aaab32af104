"""A supervisor designs an intake form in a real browser: fields dragged from the palette onto
a new form and added with the keyboard, reordered by mouse and by keyboard, a refusal shown
next to the fields it names, a condition built with the rule editor and tried in the live
preview, in Polish too, then published; a screenshot of every step."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.slow


@pytest.fixture
def new_form(live_desk):
    """An empty form of the Billing pool, which the demo's supervisor supervises."""
    from app.audit.actor import acting_as
    from app.extensions import db
    from app.organisation.models import Pool
    from forms_designer import services

    with live_desk["app"].app_context():
        pool = db.session.query(Pool).filter_by(name="Billing").one()
        with acting_as(None):
            form = services.create_form("Invoice questions", pool)
        db.session.commit()
        form_id = form.id
        db.session.remove()
    return form_id


def keys(page) -> list[str]:
    """The keys of the form's fields, top to bottom."""
    return page.locator("#fd-canvas-list .fd-card .fd-key").all_inner_texts()


def drag(page, source, target, *, where: str = "after") -> None:
    """Drag ``source`` with the mouse, as a person does (Sortable.js), to just above the
    top of ``target`` or into the free space under it."""
    start = source.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(
        start["x"] + start["width"] / 2 + 12, start["y"] + start["height"] / 2 + 8, steps=4
    )
    y = {"after": end["y"] + end["height"] + 24, "before": end["y"] + 6}[where]
    page.mouse.move(end["x"] + end["width"] / 2, y, steps=20)
    page.wait_for_timeout(150)
    page.mouse.up()
    page.wait_for_timeout(200)


def announced(page, text: str) -> None:
    """Wait until the aria-live region says ``text``."""
    page.wait_for_function(
        "text => document.getElementById('fd-live').textContent.includes(text)", arg=text
    )


def select_card(page, key: str):
    card = page.locator("#fd-canvas-list .fd-card", has=page.locator(f".fd-key:text-is('{key}')"))
    card.click(position={"x": 60, "y": 12})
    return card


def set_text(page, key: str, lang: str, value: str) -> None:
    select_card(page, key)
    page.click(f"#fd-tab-{lang}")
    page.fill("#fd-p-label", value)


def test_a_supervisor_designs_and_publishes_a_form(live_desk, browser_page, new_form):
    from app.extensions import db
    from forms_designer.models import IntakeForm

    page = browser_page
    page.goto(live_desk["url"] + "/login/")
    page.fill("#username", "supervisor")
    page.fill("#password", live_desk["password"])
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()

    # Configuration → Form designer → the new form.
    page.click("text=Configuration")
    page.click("a:has-text('Form designer')")
    page.wait_for_selector("#fd-index")
    shoot(page, "designer-01-forms")
    page.click(f"a[href='/form-designer/{new_form}']")
    page.wait_for_selector("#fd-root[data-ready=true]")
    assert page.locator("#fd-empty").is_visible()
    shoot(page, "designer-02-empty")

    # Two languages for this form: English and Polish.
    page.uncheck("input[data-form-lang=sv]")
    page.uncheck("input[data-form-lang=de]")

    # Drag a single choice and a short text from the palette; add an e-mail with the keyboard.
    drag(
        page, page.locator("#fd-add-single_choice"), page.locator("#fd-canvas-list"), where="before"
    )
    assert keys(page) == ["single_choice"]
    drag(page, page.locator("#fd-add-short_text"), page.locator("#fd-canvas-list .fd-card").first)
    assert keys(page) == ["single_choice", "short_text"]
    page.focus("#fd-add-email")
    page.keyboard.press("Enter")
    assert keys(page) == ["single_choice", "short_text", "email"]
    announced(page, "Added E-mail")
    shoot(page, "designer-03-fields-added")

    # Reorder by mouse: the e-mail to the top.
    cards = page.locator("#fd-canvas-list .fd-card")
    drag(page, cards.nth(2).locator(".fd-handle"), cards.nth(0), where="before")
    assert keys(page) == ["email", "single_choice", "short_text"]
    # ... and by keyboard: Alt+ArrowDown twice takes it to the bottom, announced.
    page.locator("#fd-canvas-list .fd-card").first.focus()
    page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Alt+ArrowDown")
    assert keys(page) == ["single_choice", "short_text", "email"]
    announced(page, "to position 3 of 3")
    # The move buttons do it too.
    page.locator("#fd-canvas-list .fd-card").nth(2).locator("[data-action=up]").click()
    assert keys(page) == ["single_choice", "email", "short_text"]
    shoot(page, "designer-04-reordered")

    # Saving now is refused: the Polish labels are missing; the messages sit on the fields.
    page.click("#fd-save")
    page.wait_for_selector("#fd-canvas-list .fd-card.fd-invalid")
    assert page.locator("#fd-problems").is_visible()
    assert "pl" in page.locator(".fd-card.fd-invalid .fd-card-errors").first.inner_text()
    assert page.locator("#fd-panel .fd-panel-errors").is_visible()
    shoot(page, "designer-05-refused")

    # The texts, in both languages; the keys.
    select_card(page, "single_choice")
    page.fill("#fd-p-key", "kind")
    page.locator("#fd-p-key").blur()
    page.fill("#fd-p-label", "What do you need?")
    option_labels = page.locator("#fd-options .fd-opt-label")
    option_labels.nth(0).fill("A copy of an invoice")
    option_labels.nth(1).fill("The invoice is wrong")
    page.click("#fd-tab-pl")
    page.fill("#fd-p-label", "Czego potrzebujesz?")
    option_labels = page.locator("#fd-options .fd-opt-label")
    option_labels.nth(0).fill("Kopia faktury")
    option_labels.nth(1).fill("Faktura jest błędna")
    select_card(page, "email")
    page.click("#fd-tab-en")
    page.fill("#fd-p-label", "Your e-mail")
    page.click("#fd-tab-pl")
    page.fill("#fd-p-label", "Twój e-mail")
    select_card(page, "short_text")
    page.fill("#fd-p-key", "invoice_no")
    page.locator("#fd-p-key").blur()
    page.check("#fd-p-required", force=True)
    page.click("#fd-tab-en")
    page.fill("#fd-p-label", "Invoice number")
    page.click("#fd-tab-pl")
    page.fill("#fd-p-label", "Numer faktury")

    # The condition: the invoice number only when a copy is asked for.
    page.click("label:has(#fd-cond-when)")
    page.select_option("#fd-rule-0-field", "kind")
    page.select_option("#fd-rule-0-value", "option_1")
    assert "equals" in page.locator("#fd-cond-summary").inner_text()
    page.locator("#fd-condition").scroll_into_view_if_needed()
    shoot(page, "designer-06-condition")

    # The live preview: the field appears and disappears with the answer, in Polish too.
    invoice = page.locator("#fd-preview-form .fd-pv-field[data-key=invoice_no]")
    assert invoice.is_hidden()
    page.check("#fd-pv-kind-0")
    assert invoice.is_visible()
    page.check("#fd-pv-kind-1")
    assert invoice.is_hidden()
    page.click("#fd-preview-langs [data-lang=pl]")
    assert "Czego potrzebujesz?" in page.locator("#fd-preview-form").inner_text()
    page.check("#fd-pv-kind-0")
    assert page.locator("#fd-preview-form .fd-pv-field[data-key=invoice_no]").is_visible()
    assert "Numer faktury" in page.locator("#fd-preview-form").inner_text()
    shoot(page, "designer-07-preview-pl")

    # Save the draft, then publish.
    page.keyboard.press("Control+s")
    page.wait_for_selector("#fd-save-state.fd-saved")
    assert page.locator(".fd-card.fd-invalid").count() == 0
    page.click("#fd-publish")
    page.wait_for_selector("#fd-publish-dialog[open]")
    shoot(page, "designer-08-publish-dialog")
    page.click("#fd-publish-confirm")
    page.wait_for_url(re.compile(r"/form-designer/\d+\?version=1$"))
    page.wait_for_selector("#fd-readonly-banner")
    assert page.locator("#fd-new-draft").is_visible()
    assert page.locator("#fd-palette").count() == 0
    assert keys(page) == ["kind", "email", "invoice_no"]
    shoot(page, "designer-09-published")

    # No script error, no failed request but the one refusal asked for above.
    assert [e for e in page.errors if not e.startswith("422 ")] == [], page.errors
    assert len(page.errors) == 1
    with live_desk["app"].app_context():
        form = db.session.get(IntakeForm, new_form)
        schema = form.current.schema
        assert schema["languages"] == ["en", "pl"]
        assert [f["key"] for f in schema["fields"]] == ["kind", "email", "invoice_no"]
        assert schema["fields"][2]["visible_if"] == {
            "properties": {"kind": {"const": "option_1"}},
            "required": ["kind"],
        }
        assert schema["fields"][2]["required"] is True
        db.session.remove()

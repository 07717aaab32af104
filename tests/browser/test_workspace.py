"""An agent's round in a real browser: log in, Get next, the workspace, answer in the reply
editor, close with the pool's wrap-up questions; a screenshot of every step."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.slow


def _fill_reply(page, text: str) -> None:
    """Type into whatever editor the composer shows (a rich editor or a plain textarea)."""
    pane = page.locator("#case-reply")
    for selector in ("trix-editor", ".ql-editor", "[contenteditable='true']", "textarea"):
        editor = pane.locator(selector).first
        if editor.count() and editor.is_visible():
            editor.click()
            editor.type(text) if selector != "textarea" else editor.fill(text)
            return
    raise AssertionError("no visible reply editor in #case-reply")


def test_an_agent_gets_next_answers_and_closes(live_desk, browser_page):
    page = browser_page
    page.goto(live_desk["url"] + "/login/")
    page.fill("#username", "agent1")
    page.fill("#password", live_desk["password"])
    shoot(page, "01-login")
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()
    shoot(page, "02-open-cases")

    page.click("#ld-get-next")
    page.wait_for_selector("#case-workspace")
    assert re.search(r"/cases/show/\d+", page.url)
    number = page.locator(".ld-ws-number").inner_text()
    assert page.locator("#case-thread .ld-msg").count() >= 1
    assert page.locator("#case-assignee").inner_text().startswith("agent1")
    shoot(page, "03-workspace")
    shoot(page, "03-workspace-full", full_page=True)

    # Keyboard: "?" shows the shortcuts, "r" puts the cursor into the reply editor.
    page.keyboard.press("?")
    page.wait_for_selector("#shortcuts-dialog.in")
    shoot(page, "04-shortcuts")
    page.keyboard.press("Escape")
    page.wait_for_selector("#shortcuts-dialog", state="hidden")
    page.keyboard.press("r")
    page.wait_for_selector("#case-reply :focus")

    # The thread order toggles in place (htmx) and comes back on the next page.
    page.click("#order-newest")
    page.wait_for_selector("#case-thread-block.ld-order-newest")
    shoot(page, "05-newest-first")
    page.click("#order-oldest")
    page.wait_for_selector("#case-thread-block.ld-order-oldest")

    # An internal note without a reload.
    page.click("#tab-note")
    page.fill("#note-text", "Checked the account: the customer is right.")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("#case-thread .ld-msg-note >> text=Checked the account")
    assert page.locator("#note-text").input_value() == ""

    # A dialog's pickers load as it opens (the page itself reads none of them).
    page.evaluate("window.jQuery('#forward-dialog').modal('show')")
    page.wait_for_selector("#forward-dialog.in")
    page.wait_for_selector("#forward-colleague")
    assert page.locator("#forward-pool option").count() >= 1
    page.click("#forward-dialog .modal-footer [data-dismiss=modal]")
    page.wait_for_selector("#forward-dialog", state="hidden")

    # Answer the customer.
    page.click("#tab-reply")
    _fill_reply(page, "Thank you, we have corrected it. The new invoice follows today.")
    shoot(page, "06-reply-written")
    page.locator("#reply-form button[type=submit]:not([formaction])").first.click()
    page.wait_for_selector("#case-workspace")
    assert (
        page.locator("#case-thread .ld-msg-outbound >> text=we have corrected it").count() == 1
        or "waits for a supervisor" in page.content()
    )
    shoot(page, "07-replied")

    # Close with the wrap-up questions ("c" opens the dialog).
    page.keyboard.press("c")
    page.wait_for_selector("#close-dialog.in")
    # The pool's wrap-up questionnaire, whatever its kinds: the first choice of each
    # yes/no or rating, the first value of a dropdown, text for the rest.
    for group in page.locator("#close-form .ld-question").all():
        if group.locator("input[type=radio]").count():
            group.locator("input[type=radio]").first.check()
        elif group.locator("select").count():
            group.locator("select").select_option(index=1)
        elif group.locator("input[type=checkbox]").count():
            group.locator("input[type=checkbox]").first.check()
        else:
            group.locator("input, textarea").first.fill("3")
    page.wait_for_timeout(300)  # the dialog's fade-in, for the screenshot
    shoot(page, "08-close-dialog")
    page.click("#close-submit")
    page.wait_for_selector("#case-workspace")
    assert page.locator("#case-status").inner_text() == "Closed"
    assert page.locator("#reopen-form").count() == 1
    page.locator("#case-history-details summary").click()
    assert page.locator("#case-history >> text=Closed").count() >= 1
    shoot(page, "09-closed")
    assert number in page.content()
    assert page.errors == [], page.errors

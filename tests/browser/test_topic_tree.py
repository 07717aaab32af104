"""A supervisor arranges the topic tree in a real browser: opens a topic, moves it with the
keyboard (Alt+↓) and with the buttons, adds a subtopic; an agent sees the answers a customer
gave at the top of the workspace. Screenshots of each step."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.slow


def _login(page, url, username, password):
    page.goto(url + "/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()


def _children(page, parent_name):
    """The names of the rows right under ``parent_name`` in the tree, in order."""
    rows = page.locator("#topic-tree [role=treeitem]")
    names, inside = [], False
    for i in range(rows.count()):
        row = rows.nth(i)
        level = row.get_attribute("aria-level")
        name = row.locator(".ld-tree-name").inner_text()
        if level == "1":
            inside = name == parent_name
        elif inside and level == "2":
            names.append(name)
    return names


def test_a_supervisor_arranges_the_topic_tree(live_desk, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    _login(page, live_desk["url"], "supervisor", live_desk["password"])
    page.goto(live_desk["url"] + "/topic-tree/")
    page.wait_for_selector("#topic-tree")
    assert _children(page, "Invoices") == ["Copy of an invoice", "Wrong invoice", "Refund"]
    shoot(page, "topic-tree-01")

    page.click("#topic-tree .ld-tree-name:text-is('Copy of an invoice')")
    page.wait_for_selector("#topic-detail")
    assert "Inherit: Billing" in page.locator("#link-pool").inner_text()
    shoot(page, "topic-tree-02-topic", full_page=True)

    # Keyboard: the opened topic has the focus; Alt+↓ moves it below its next sibling, and
    # it keeps the focus, so a second Alt+↓ moves it again.
    row = page.locator("#topic-tree [role=treeitem][aria-selected=true]")
    row.focus()
    with page.expect_navigation():
        page.keyboard.press("Alt+ArrowDown")
    assert _children(page, "Invoices") == ["Wrong invoice", "Copy of an invoice", "Refund"]
    with page.expect_navigation():
        page.keyboard.press("Alt+ArrowDown")
    assert _children(page, "Invoices") == ["Wrong invoice", "Refund", "Copy of an invoice"]
    # The button does the same.
    with page.expect_navigation():
        page.locator(
            "#topic-tree [role=treeitem]:has(.ld-tree-name:text-is('Copy of an invoice')) "
            "form[data-move=up] button"
        ).click()
    assert _children(page, "Invoices") == ["Wrong invoice", "Copy of an invoice", "Refund"]

    page.fill("#child-name", "Invoice in another language")
    with page.expect_navigation():
        page.click("#add-child-form button[type=submit]")
    assert "Added Invoices / Copy of an invoice / Invoice in another language" in (
        page.locator(".alert-success").inner_text()
    )
    shoot(page, "topic-tree-03-after-changes", full_page=True)
    assert page.errors == []


def test_the_agent_sees_the_customers_answers(live_desk, browser_page):
    from sqlalchemy import select

    from app.cases.models import Case, CaseIntakeAnswer
    from app.extensions import db
    from app.organisation.models import Topic

    with live_desk["app"].app_context():
        case_id = db.session.scalar(
            select(CaseIntakeAnswer.case_id)
            .join(Case, Case.id == CaseIntakeAnswer.case_id)
            .join(Topic, Topic.id == Case.topic_id)
            .where(CaseIntakeAnswer.field_key == "invoice_no", Topic.name == "Copy of an invoice")
        )
        db.session.remove()
    assert case_id is not None, "the demo has intake answers"
    page = browser_page
    _login(page, live_desk["url"], "supervisor", live_desk["password"])
    page.goto(f"{live_desk['url']}/cases/show/{case_id}")
    page.wait_for_selector("#case-workspace")
    panel = page.locator("#case-intake-answers")
    assert "Invoice number" in panel.inner_text()
    assert "Copy of an invoice" in panel.inner_text()  # the topic, with the answers
    shoot(page, "topic-tree-04-workspace-answers")
    assert page.errors == []

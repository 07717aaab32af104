"""The knowledge base in a real browser: a supervisor edits an article in the editor page (a
Polish version with formatting), an agent finds it from the workspace's reply editor and
inserts it in one click; screenshots of the editor and the picker."""

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


def _article_id(app, title):
    from app.extensions import db
    from app.knowledge.models import KnowledgeArticleVersion

    with app.app_context():
        found = db.session.query(KnowledgeArticleVersion).filter_by(title=title).one()
        article_id = found.article_id
        db.session.remove()
    return article_id


def _billing_case(app):
    """An open Billing case of an English-speaking customer."""
    from app.cases.models import Case
    from app.customers.models import Customer
    from app.extensions import db
    from app.organisation.models import Pool

    with app.app_context():
        case = (
            db.session.query(Case)
            .join(Pool, Pool.id == Case.pool_id)
            .join(Customer, Customer.id == Case.customer_id)
            .filter(
                Pool.name == "Billing",
                Customer.language == "en",
                Case.status.in_(["received", "in_progress"]),
            )
            .order_by(Case.id)
            .first()
        )
        case_id = case.id
        db.session.remove()
    return case_id


def _uses(app, article_id):
    from app.extensions import db
    from app.knowledge.models import KnowledgeArticleUse

    with app.app_context():
        count = db.session.query(KnowledgeArticleUse).filter_by(article_id=article_id).count()
        db.session.remove()
    return count


def test_a_supervisor_edits_and_an_agent_inserts_an_article(live_desk, browser_page):
    page, url, app = browser_page, live_desk["url"], live_desk["app"]
    refund = _article_id(app, "How do I get a refund?")

    _login(page, url, "supervisor", live_desk["password"])
    page.goto(url + "/knowledge/articles/list/")
    assert page.locator("text=How do I get a refund?").count() == 1
    assert page.locator("text=Discount for NGOs").count() == 0  # Sales: not his pool
    shoot(page, "knowledge-01-list")

    page.goto(url + f"/knowledge/editor/{refund}")
    page.wait_for_selector("#kb-lang-en .ql-editor")
    assert "14 days" in page.locator("#kb-lang-en .ql-editor").inner_text()
    shoot(page, "knowledge-editor")

    # The Swedish tab: the title sharpened, a bold line added with the toolbar.
    page.click("#kb-tab-sv")
    page.wait_for_selector("#kb-lang-sv .ql-editor", state="visible")
    page.fill("#kb-title-sv", "Hur får jag pengarna tillbaka (retur)?")
    editor = page.locator("#kb-lang-sv .ql-editor")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.locator("#kb-lang-sv .ql-bold").click()
    page.keyboard.type("Spara kvittot.")
    shoot(page, "knowledge-02-editor-swedish")
    page.click("#kb-save")
    page.wait_for_selector(".alert-success")
    assert page.locator("#kb-tab-sv").get_attribute("aria-controls") == "kb-lang-sv"
    page.click("#kb-tab-sv")
    assert "Spara kvittot." in page.locator("#kb-lang-sv .ql-editor").inner_html()
    assert "<strong>Spara kvittot.</strong>" in page.locator("#kb-lang-sv .ql-editor").inner_html()
    shoot(page, "knowledge-03-saved")
    page.goto(url + "/logout/")

    # The agent: the workspace of a Billing case, the picker opened, "refund" typed, Insert.
    case_id = _billing_case(app)
    _login(page, url, "agent1", live_desk["password"])
    page.goto(url + f"/cases/show/{case_id}")
    page.wait_for_selector("#case-reply .ql-editor")
    assert page.locator(".ld-kb-picker").count() == 0  # not loaded before it is opened
    page.locator("#case-reply .ql-editor").click()
    page.keyboard.type("Hello, thank you for your message.")
    page.keyboard.press("Enter")
    # The reply editor at the top of the window, so the opened panel fits below it.
    page.locator("#case-compose").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.click("#ld-kb > summary")
    page.wait_for_selector(".ld-kb-picker #ld-kb-q")
    assert page.evaluate("document.activeElement.id") == "ld-kb-q"
    assert page.locator(".ld-kb-item >> text=Our opening hours").count() == 1  # desk-wide
    # htmx binds the box's trigger once the swapped panel has settled: type only after that
    # (on a busy machine the keys could otherwise land before anything listens).
    page.wait_for_function(
        "() => { const box = document.getElementById('ld-kb-q');"
        " return !!(box && box['htmx-internal-data'] && box['htmx-internal-data'].initHash); }"
    )
    with page.expect_response(lambda r: "/search?q=refund" in r.url):
        page.keyboard.type("refund")
    # The matches replace the first list: the opening hours hold no "refund".
    page.locator(".ld-kb-item", has_text="Our opening hours").wait_for(state="detached")
    page.wait_for_selector(".ld-kb-item >> text=How do I get a refund?")
    assert page.locator(".ld-kb-item >> text=Resetting your password").count() == 0  # other pool
    shoot(page, "knowledge-picker")

    item = page.locator(".ld-kb-item", has_text="How do I get a refund?")
    item.locator(".ld-kb-insert").click()
    page.wait_for_selector("#case-reply .ql-editor >> text=within 14 days")
    assert page.locator("#ld-kb").get_attribute("open") is None  # the panel closed
    reply = page.locator("#case-reply .ql-editor").inner_text()
    assert reply.index("Hello, thank you") < reply.index("within 14 days")
    hidden = page.locator("#case-reply input[name=body_html]").input_value().replace("&nbsp;", " ")
    assert "<strong>14 days</strong>" in hidden  # what the form sends
    assert _uses(app, refund) == 1
    shoot(page, "knowledge-04-inserted")

    # Esc closes the picker again; nothing failed on the way.
    page.click("#ld-kb > summary")
    page.wait_for_selector("#ld-kb[open] #ld-kb-q")
    page.keyboard.press("Escape")
    page.wait_for_selector("#ld-kb:not([open])", state="attached")
    assert page.errors == []


def test_a_customer_sees_public_articles_while_he_writes(live_desk, browser_page):
    from app.extensions import db
    from app.organisation.models import Topic

    page, url, app = browser_page, live_desk["url"], live_desk["app"]
    with app.app_context():
        topic_id = db.session.query(Topic).filter_by(active=True).order_by(Topic.id).first().id
        db.session.remove()
    page.goto(url + f"/portal/new/{topic_id}?lang=pl")
    page.wait_for_selector("#contact-text")
    assert page.locator("#kb-suggestions").is_hidden()
    with page.expect_response(lambda r: "/portal/kb/suggest" in r.url):
        page.fill("#contact-subject", "Zwrot pieniędzy")
        page.type("#contact-text", " za zamówienie")
    page.wait_for_selector("#kb-suggestions >> text=Jak otrzymać zwrot pieniędzy?")
    assert "Może jeden z tych artykułów" in page.locator("#kb-suggestions").inner_text()
    assert page.locator("#kb-suggestions li").count() == 1  # public ones only, in Polish
    page.locator("#kb-suggestions").scroll_into_view_if_needed()
    shoot(page, "knowledge-portal-suggestions")
    with page.context.expect_page() as opened:
        page.click("#kb-suggestions a")
    article = opened.value
    article.wait_for_load_state()
    assert article.locator("h1").inner_text() == "Jak otrzymać zwrot pieniędzy?"
    shoot(article, "knowledge-portal-article")
    assert page.errors == []

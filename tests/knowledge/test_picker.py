"""The reply composer's knowledge base picker: loaded lazily, scoped to the case's pool and the
agent's pools (page and API alike), the customer's language first, every insertion counted."""

from __future__ import annotations

import pytest

from tests.support.records import refresh


@pytest.fixture
def library(desk, article):
    """Pool A's refund article (en, pl), pool B's invoice article, a desk-wide greeting, a
    draft and an archived article of pool A."""
    return {
        "refund": article(
            {
                "en": ("Refund policy", "<p>Money back within <b>14 days</b>.</p>"),
                "pl": ("Zwrot płatności", "<p>Zwrot pieniędzy w ciągu 14 dni.</p>"),
            },
            [desk.pool_a],
            tags="refund, money",
        ),
        "invoice": article(
            {"en": ("Invoice corrections", "<p>We correct the invoice and refund.</p>")},
            [desk.pool_b],
        ),
        "greeting": article({"en": ("Greeting", "<p>Thank you for writing.</p>")}, []),
        "draft": article(
            {"en": ("Refund draft", "<p>Unfinished refund text</p>")}, [desk.pool_a], status="draft"
        ),
        "archived": article(
            {"en": ("Old refund", "<p>Refund by cheque</p>")}, [desk.pool_a], status="archived"
        ),
    }


def _titles(html: str) -> list[str]:
    import re

    return re.findall(r'<span class="ld-kb-title">([^<]+)</span>', html)


def test_the_workspace_offers_the_picker_but_loads_nothing_of_it(desk, library, auth, client):
    auth.login("agent_a")
    page = client.get(f"/cases/show/{desk.case_a.id}").get_data(as_text=True)
    assert 'id="ld-kb"' in page and f'hx-get="/knowledge/picker/{desk.case_a.id}"' in page
    assert "Refund policy" not in page  # the articles come when the picker is opened


def test_a_manager_who_cannot_reply_gets_no_picker(desk, library, auth, client):
    auth.login("manager")
    page = client.get(f"/cases/show/{desk.case_a.id}").get_data(as_text=True)
    assert 'id="ld-kb"' not in page
    assert client.get(f"/knowledge/picker/{desk.case_a.id}").status_code == 403


def test_the_picker_offers_published_articles_of_the_case_pool_and_desk_wide(
    desk, library, auth, client
):
    auth.login("agent_a")
    panel = client.get(f"/knowledge/picker/{desk.case_a.id}").get_data(as_text=True)
    assert sorted(_titles(panel)) == ["Greeting", "Refund policy"]
    found = client.get(f"/knowledge/picker/{desk.case_a.id}/search?q=refund").get_data(as_text=True)
    assert _titles(found) == ["Refund policy"]  # not the draft, archived or pool B's


def test_an_agent_of_pool_b_never_sees_pool_a_articles(desk, library, auth, client):
    refund = library["refund"]
    auth.login("agent_b")
    found = client.get(f"/knowledge/picker/{desk.case_b.id}/search?q=refund").get_data(as_text=True)
    assert _titles(found) == ["Invoice corrections"]
    assert client.get(f"/knowledge/picker/{desk.case_a.id}").status_code == 404
    insert = client.post(f"/knowledge/picker/{desk.case_b.id}/insert/{refund.id}/en")
    assert insert.status_code == 404 and "Money back" not in insert.get_data(as_text=True)
    # the list, the detail page and the API
    listed = client.get("/knowledge/articles/list/").get_data(as_text=True)
    assert "Invoice corrections" in listed and "Refund policy" not in listed
    assert client.get(f"/knowledge/articles/show/{refund.id}").status_code == 404
    api = client.get("/api/v1/knowledge/").json
    assert {a["versions"][0]["title"] for a in api["result"]} == {"Invoice corrections", "Greeting"}
    assert client.get(f"/api/v1/knowledge/{refund.id}").status_code == 404
    searched = client.get("/api/v1/knowledge/search?q=refund&lang=en").json["result"]
    assert [r["title"] for r in searched] == ["Invoice corrections"]
    assert (
        client.get(f"/api/v1/knowledge/search?q=refund&case_id={desk.case_a.id}").status_code == 404
    )


def test_the_customer_language_comes_first(desk, library, auth, client):
    from app.extensions import db

    desk.customer_a.language = "pl"
    db.session.commit()
    auth.login("agent_a")
    panel = client.get(f"/knowledge/picker/{desk.case_a.id}").get_data(as_text=True)
    assert "Zwrot płatności" in panel and "Polski first" in panel
    # "zwrot" is only in the Polish version; "14" in both, the Polish one is offered.
    assert _titles(
        client.get(f"/knowledge/picker/{desk.case_a.id}/search?q=14").get_data(as_text=True)
    ) == ["Zwrot płatności"]
    api = client.get(f"/api/v1/knowledge/search?q=14&case_id={desk.case_a.id}").json
    assert api["language"] == "pl" and api["result"][0]["language"] == "pl"


def test_an_insertion_is_counted(desk, library, auth, client):
    from app.extensions import db
    from app.knowledge.models import KnowledgeArticleUse
    from app.knowledge.services import usage_counts

    refund = library["refund"]
    auth.login("agent_a")
    url = f"/knowledge/picker/{desk.case_a.id}/insert/{refund.id}/pl"
    response = client.post(url)
    assert response.status_code == 200
    assert response.json["html"] == "<p>Zwrot pieniędzy w ciągu 14 dni.</p>"
    assert client.post(url).status_code == 200
    greeting = library["greeting"]
    client.post(f"/knowledge/picker/{desk.case_a.id}/insert/{greeting.id}/en")
    uses = db.session.query(KnowledgeArticleUse).order_by(KnowledgeArticleUse.id).all()
    assert [(u.article_id, u.language, u.case_id, u.agent_id) for u in uses[:1]] == [
        (refund.id, "pl", desk.case_a.id, desk.user("agent_a").id)
    ]
    assert [(c.title, c.uses) for c in usage_counts()] == [("Refund policy", 2), ("Greeting", 1)]
    assert usage_counts(pool_ids=[desk.pool_b.id]) == []
    auth.logout()
    auth.login("admin")
    assert "Inserted into replies:</strong> 2 times" in client.get(
        f"/knowledge/articles/show/{refund.id}"
    ).get_data(as_text=True)


def test_drafts_archived_and_missing_versions_are_not_inserted(desk, library, auth, client):
    from app.extensions import db
    from app.knowledge.models import KnowledgeArticleUse

    auth.login("agent_a")
    case = desk.case_a.id
    for name in ("draft", "archived"):
        assert (
            client.post(f"/knowledge/picker/{case}/insert/{library[name].id}/en").status_code == 404
        )
    assert (
        client.post(f"/knowledge/picker/{case}/insert/{library['greeting'].id}/de").status_code
        == 404
    )
    assert (
        client.get(f"/knowledge/picker/{case}/insert/{library['greeting'].id}/en").status_code
        == 405
    )
    assert db.session.query(KnowledgeArticleUse).count() == 0


def test_a_manager_cannot_insert_articles(desk, library, auth, client):
    from app.extensions import db
    from app.knowledge.models import KnowledgeArticleUse

    auth.login("manager")
    url = f"/knowledge/picker/{desk.case_a.id}/insert/{library['greeting'].id}/en"
    assert client.post(url).status_code == 403
    assert db.session.query(KnowledgeArticleUse).count() == 0
    assert refresh(library["greeting"]).status == "published"

"""The portal's public suggestions and article pages: public and published only, in the asked
language, and limited per client address when the desk counts requests."""

from __future__ import annotations

import pytest


@pytest.fixture
def public_library(desk, article):
    return {
        "refund": article(
            {
                "en": ("How do I get a refund?", "<p>Money back within 14 days.</p>"),
                "pl": ("Jak odzyskać pieniądze?", "<p>Zwrot płatności w ciągu 14 dni.</p>"),
            },
            [desk.pool_a],
            public=True,
            tags="refund",
        ),
        "internal": article(
            {"en": ("Refund exceptions (internal)", "<p>Refund beyond 14 days if ...</p>")},
            [desk.pool_a],
        ),
        "draft": article(
            {"en": ("Refund for gift cards", "<p>Not yet decided</p>")}, public=True, status="draft"
        ),
        "archived": article(
            {"en": ("Refund by cheque", "<p>No longer</p>")}, public=True, status="archived"
        ),
    }


def _suggest(client, q, lang):
    response = client.get("/portal/kb/suggest", query_string={"q": q, "lang": lang})
    assert response.status_code == 200
    return response.json


def test_suggestions_are_public_published_articles_in_the_asked_language(
    desk, public_library, client
):
    refund = public_library["refund"]
    found = _suggest(client, "I want a refund for my order", "en")
    assert found["language"] == "en"
    assert [a["title"] for a in found["articles"]] == ["How do I get a refund?"]
    assert found["articles"][0]["url"] == f"/portal/kb/{refund.id}?lang=en"
    assert "14 days" in found["articles"][0]["snippet"]

    polish = _suggest(client, "zwrot płatności", "pl")
    assert [a["title"] for a in polish["articles"]] == ["Jak odzyskać pieniądze?"]
    # typed without Polish letters, in capitals
    assert len(_suggest(client, "ZWROT PLATNOSCI", "pl")["articles"]) == 1
    # Swedish: no version in it, nothing (no English instead)
    assert _suggest(client, "refund", "sv")["articles"] == []


def test_suggestions_need_words(desk, public_library, client):
    assert _suggest(client, "", "en")["articles"] == []
    assert _suggest(client, "a", "en")["articles"] == []
    assert _suggest(client, "the and for", "en")["articles"] == []  # only common words
    assert _suggest(client, "%", "en")["articles"] == []


def test_the_article_page_in_the_customer_language(desk, public_library, client):
    refund = public_library["refund"]
    page = client.get(f"/portal/kb/{refund.id}?lang=pl")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<html lang="pl">' in text and "Jak odzyskać pieniądze?" in text
    assert "How do I get a refund?" not in text
    by_browser = client.get(
        f"/portal/kb/{refund.id}", headers={"Accept-Language": "pl-PL,pl;q=0.9"}
    )
    assert "Jak odzyskać" in by_browser.get_data(as_text=True)
    # a language it lacks: English
    assert "How do I get a refund?" in client.get(f"/portal/kb/{refund.id}?lang=de").get_data(
        as_text=True
    )


@pytest.mark.parametrize("name", ["internal", "draft", "archived"])
def test_other_articles_have_no_public_page(desk, public_library, client, name):
    response = client.get(f"/portal/kb/{public_library[name].id}")
    assert response.status_code == 404
    assert b"Refund" not in response.data


def test_the_snippet_for_the_portal_page_is_served(client, app):
    response = client.get("/static/knowledge/kb_suggest.js")
    assert response.status_code == 200
    assert b"/portal/kb/suggest" in response.data


def test_suggestions_are_rate_limited_when_the_desk_counts_requests(
    app_config, databases, tmp_path
):
    from app import create_app

    config = dict(app_config)
    config.update(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        KNOWLEDGE_SUGGEST_RATE_LIMIT="3 per minute",
        SQLALCHEMY_DATABASE_URI=databases.new(),
    )
    app = create_app(config)
    client = app.test_client()
    answers = [client.get("/portal/kb/suggest?q=refund&lang=en").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get("/portal/kb/suggest?q=refund&lang=en")
    assert refused.status_code == 429 and refused.json["articles"] == []
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    databases.drop(config["SQLALCHEMY_DATABASE_URI"])


def test_the_new_request_page_suggests_articles_in_his_language(desk, public_library, client):
    from app.extensions import db
    from app.organisation.models import Topic

    topic = Topic(name="Refunds", pool=desk.pool_a)
    db.session.add(topic)
    db.session.commit()
    page = client.get(f"/portal/new/{topic.id}?lang=pl").get_data(as_text=True)
    assert 'data-kb-suggest-for="contact-subject contact-text"' in page
    assert 'data-kb-lang="pl"' in page
    assert "Może jeden z tych artykułów odpowiada na Twoje pytanie:" in page
    assert "/static/knowledge/kb_suggest.js" in page

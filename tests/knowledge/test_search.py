"""``search_articles``: words folded (case, accents, Polish strokes), all words must match,
LIKE's wildcards are plain characters, pool scope, language order, public and status."""

from __future__ import annotations

import pytest

from app.knowledge.search import fold, words_of


def test_fold_drops_case_and_accents():
    assert (
        fold("Zwrot PŁATNOŚCI", "Rückgabe", "Återbetalning")
        == "zwrot platnosci ruckgabe aterbetalning"
    )
    assert words_of("Straße straße  STRASSE") == ["strasse"]
    assert words_of(["50%", "off_line"]) == ["50", "off_line"]


@pytest.fixture
def hits(desk, article):
    from app.knowledge.search import search_articles

    article(
        {
            "en": ("Returning a parcel", "<p>Print the label.</p>"),
            "de": ("Rücksendung eines Pakets", "<p>Drucken Sie das Etikett.</p>"),
        },
        [desk.pool_a],
        tags="parcel",
        public=True,
    )
    article({"en": ("Password reset", "<p>Use the 100% secure link.</p>")}, [desk.pool_b])
    article({"en": ("Opening hours", "<p>We answer parcels 8–16.</p>")}, [])

    def run(words, language="en", pool_ids=None, public_only=False, **kw):
        return [
            (h.version.title, h.version.language)
            for h in search_articles(words, language, pool_ids, public_only, **kw)
        ]

    return run


def test_every_word_must_match_in_title_tags_or_text(hits):
    assert hits("label print") == [("Returning a parcel", "en")]
    assert hits("label password") == []
    assert hits("PARC") == [
        ("Returning a parcel", "en"),
        ("Opening hours", "en"),
        ("Rücksendung eines Pakets", "de"),
    ]


def test_accents_do_not_matter(hits):
    assert hits("rucksendung", "de") == [("Rücksendung eines Pakets", "de")]
    assert hits("RÜCKSENDUNG", "de") == [("Rücksendung eines Pakets", "de")]


def test_wildcards_are_plain_characters(hits):
    # "_" is a word character: as a LIKE wildcard it would match every article
    assert hits("_") == []
    # "%" is no word (dropped); as a wildcard "1%0" would match "100"
    assert hits("100%") == [("Password reset", "en")]
    assert hits("1_0") == []


def test_pool_scope_language_and_public(hits, desk):
    # pool A's and desk-wide articles only
    assert {t for t, _ in hits("", pool_ids=[desk.pool_a.id])} == {
        "Returning a parcel",
        "Opening hours",
        "Rücksendung eines Pakets",
    }
    # German first, then the rest; only German when asked so
    assert hits("parcel", "de")[0] == ("Rücksendung eines Pakets", "de")
    assert hits("parcel", "de", only_language=True) == [("Rücksendung eines Pakets", "de")]
    assert {t for t, _ in hits("", public_only=True)} == {
        "Returning a parcel",
        "Rücksendung eines Pakets",
    }

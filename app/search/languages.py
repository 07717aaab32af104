"""Which text search configuration a language is indexed and searched in (PostgreSQL).

A case is indexed in its customer's language: ``ld_<stemmer>`` for the languages PostgreSQL
stems, ``ld_simple`` (exact words) for every other one (Polish has no stemmer). Every
configuration folds accents with ``unaccent`` (migration ``0034``), so "lodz" finds "Łódź".
"""

from __future__ import annotations

# The same table as the migration's ``ld_search_config`` (kept there as it was written).
STEMMERS = {
    "en": "english",
    "de": "german",
    "sv": "swedish",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "da": "danish",
    "no": "norwegian",
    "nb": "norwegian",
    "fi": "finnish",
    "pt": "portuguese",
}
SIMPLE = "ld_simple"


def config_for(language: str | None) -> str:
    """``ld_german`` for ``de`` / ``de-AT``, ``ld_simple`` for a language without a stemmer."""
    code = (language or "").lower().split("-")[0]
    stemmer = STEMMERS.get(code)
    return f"ld_{stemmer}" if stemmer else SIMPLE


def query_configs(languages) -> list[str]:
    """The configurations a query is read in: exact words first, then each language's forms."""
    configs = [SIMPLE]
    for code in languages:
        config = config_for(code)
        if config not in configs:
            configs.append(config)
    return configs


# Letters FTS5's unicode61 tokenizer does not strip of their diacritics (they do not
# decompose); the SQLite triggers fold them the same way (migration ``0034``).
SQLITE_FOLDS = (
    ("Ł", "L"),
    ("ł", "l"),
    ("Đ", "D"),
    ("đ", "d"),
    ("Ø", "O"),
    ("ø", "o"),
    ("ß", "ss"),
    ("Æ", "AE"),
    ("æ", "ae"),
    ("Œ", "OE"),
    ("œ", "oe"),
    ("Þ", "TH"),
    ("þ", "th"),
    ("ı", "i"),
    ("Ħ", "H"),
    ("ħ", "h"),
)


def sqlite_fold(text: str) -> str:
    for letter, plain in SQLITE_FOLDS:
        text = text.replace(letter, plain)
    return text

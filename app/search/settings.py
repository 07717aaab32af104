"""Settings of search (see ``app.core.settings``)."""

from __future__ import annotations

from typing import Any

from app.core.settings import Setting, define
from app.search.languages import STEMMERS


def languages(value: Any) -> tuple[str, ...]:
    codes = tuple(
        code.strip().lower() for code in str(value).replace(";", ",").split(",") if code.strip()
    )
    unknown = [code for code in codes if code not in STEMMERS]
    if unknown:
        raise ValueError(
            f"no stemmer for {', '.join(unknown)}; known: {', '.join(sorted(STEMMERS))}"
        )
    return codes


SETTINGS = define(
    [
        Setting(
            "SEARCH_LANGUAGES",
            ("en", "de", "sv"),
            languages,
            "languages (comma-separated codes) whose word forms a search query is also read "
            "in on PostgreSQL, besides the exact words: 'invoices' finds 'invoice' in English, "
            "'Rechnungen' finds 'Rechnung' in German",
        ),
    ]
)

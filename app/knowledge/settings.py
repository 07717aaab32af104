"""Settings of the knowledge base (see ``app.core.settings``)."""

from __future__ import annotations

from typing import Any

from limits import parse_many

from app.core.settings import Setting, define, integer


def rate_limit(value: Any) -> str:
    """A Flask-Limiter limit string such as ``30 per minute`` or ``30/minute;300/hour``."""
    text = str(value).strip()
    try:
        parse_many(text)
    except ValueError:
        raise ValueError("a rate limit such as '30 per minute' or '30/minute;300/hour'") from None
    return text


SETTINGS = define(
    [
        Setting(
            "KNOWLEDGE_SUGGEST_RATE_LIMIT",
            "30 per minute;300 per hour",
            rate_limit,
            "Flask-Limiter limit of the portal's public article suggestions "
            "(/portal/kb/suggest) and article pages per client address (in Redis when REDIS_URL "
            "is set)",
        ),
        Setting(
            "KNOWLEDGE_SUGGEST_MAX",
            5,
            integer(minimum=1, maximum=20),
            "most articles the portal suggests for the words a customer types",
        ),
    ]
)

"""Settings of the customer portal (see ``app.core.settings``)."""

from __future__ import annotations

from typing import Any

from limits import parse_many

from app.core.settings import Setting, define, integer
from app.core.settings import setting as setting  # the one reader, re-exported for the portal


def rate_limit(value: Any) -> str:
    """A Flask-Limiter limit string such as ``10 per minute`` or ``5/minute;50/hour``."""
    text = str(value).strip()
    try:
        parse_many(text)
    except ValueError:
        raise ValueError("a rate limit such as '10 per minute' or '5/minute;50/hour'") from None
    return text


SETTINGS = define(
    [
        Setting(
            "PORTAL_LOGIN_LINK_MINUTES",
            30,
            integer(minimum=1, maximum=1440),
            "minutes a one-time login link of the customer portal stays valid",
        ),
        Setting(
            "PORTAL_RATE_LIMIT",
            "10 per minute;60 per hour",
            rate_limit,
            "Flask-Limiter limit of each public portal form (login link, reply, close, "
            "survey, new case) per client address; counted in Redis when REDIS_URL is set",
        ),
        Setting(
            "PORTAL_UPLOAD_MAX_MB",
            10,
            integer(minimum=1, maximum=100),
            "largest file a customer may attach in the portal, in MB (all files of one "
            "message together at most three times that)",
        ),
        Setting(
            "PORTAL_UPLOAD_MAX_FILES",
            5,
            integer(minimum=1, maximum=20),
            "most files a customer may attach to one portal message",
        ),
    ]
)

"""Settings of answering (see ``app.core.settings``)."""

from __future__ import annotations

from app.core.settings import Setting, define, integer
from app.core.settings import setting as setting  # the one reader, re-exported for answering

SETTINGS = define(
    [
        Setting(
            "PORTAL_LINK_MAX_AGE_DAYS",
            90,
            integer(minimum=1, maximum=3650),
            "days a signed link to a case in the portal stays valid; an expired link offers "
            "a fresh one by mail",
        ),
    ]
)

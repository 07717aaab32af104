"""Settings of the reports (see ``app.core.settings``)."""

from __future__ import annotations

from app.core.settings import Setting, define, integer
from app.core.settings import setting as setting  # the one reader, re-exported

SETTINGS = define(
    [
        Setting(
            "REPORTS_LOST_AFTER_MINUTES",
            10,
            integer(minimum=1),
            "a running report whose job showed no life for this long is queued again",
        ),
        Setting(
            "REPORTS_MAX_ATTEMPTS",
            3,
            integer(minimum=1),
            "times a report run is queued before a lost one is marked failed",
        ),
        Setting(
            "REPORTS_CHECK_INTERVAL",
            60,
            integer(minimum=10),
            "seconds between two checks for lost report runs",
        ),
    ]
)

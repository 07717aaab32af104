"""Settings of cases (see ``app.core.settings``)."""

from __future__ import annotations

from app.core.settings import Setting, define, integer

SETTINGS = define(
    [
        Setting(
            "QUEUE_COUNTS_CACHE_SECONDS",
            5,
            integer(minimum=0, maximum=300),
            "seconds the desk keeps its count of waiting cases per pool (the navigation's "
            "queue counts) in Redis before counting again; 0 counts on every page",
        ),
        Setting(
            "CASE_ARCHIVE_AFTER_DAYS",
            730,
            integer(minimum=1),
            "days after its close a case moves to the archive (kept and found when asked, "
            "out of the daily lists)",
        ),
        Setting(
            "CASE_ARCHIVE_BATCH",
            500,
            integer(minimum=1, maximum=10000),
            "cases the archive job moves per transaction",
        ),
    ]
)

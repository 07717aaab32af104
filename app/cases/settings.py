"""Settings of cases (see ``app.core.settings``)."""

from __future__ import annotations

from app.core.settings import Setting, define, integer

#: Hours before the due time from which a case is "due soon".
DUE_SOON_DEFAULT = 4

SETTINGS = define(
    [
        Setting(
            "DUE_SOON_HOURS",
            DUE_SOON_DEFAULT,
            integer(minimum=0, maximum=720),
            "hours before its due time from which an open case is marked due soon (amber, "
            "clock icon) in the lists; 0 turns the mark off",
        ),
        Setting(
            "QUEUE_COUNTS_CACHE_SECONDS",
            5,
            integer(minimum=0, maximum=300),
            "seconds the desk keeps its count of waiting cases per pool (the navigation's "
            "queue counts) in Redis before counting again; 0 counts on every page",
        ),
    ]
)

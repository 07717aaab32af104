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
        Setting(
            "REPORTS_SCHEDULE_INTERVAL",
            900,
            integer(minimum=60),
            "seconds between two passes of the scheduler of subscribed (mailed) reports",
        ),
        Setting(
            "REPORTS_DASHBOARD_CACHE_SECONDS",
            60,
            integer(minimum=0),
            "seconds the dashboard's figures are kept per scope before they are counted again "
            "(0: on every request)",
        ),
        Setting(
            "REPORTS_FORECAST_WEEKS",
            4,
            integer(minimum=1, maximum=26),
            "weeks the staffing forecast looks ahead",
        ),
        Setting(
            "REPORTS_FORECAST_HISTORY_WEEKS",
            12,
            integer(minimum=3, maximum=156),
            "weeks of history the staffing forecast learns from",
        ),
        Setting(
            "REPORTS_FORECAST_BACKTEST_WEEKS",
            2,
            integer(minimum=1, maximum=12),
            "last weeks of the history held out to measure each forecast's error",
        ),
        Setting(
            "REPORTS_OCCUPANCY_TARGET_PCT",
            85,
            integer(minimum=1, maximum=100),
            "share of an agent's productive time spent on cases that the staffing aims at",
        ),
        Setting(
            "REPORTS_SHRINKAGE_PCT",
            30,
            integer(minimum=0, maximum=95),
            "share of paid time lost to breaks, meetings, training and absence",
        ),
        Setting(
            "REPORTS_AGENT_DAY_HOURS",
            8,
            integer(minimum=1, maximum=24),
            "productive hours of one agent's day, for the agents needed per day",
        ),
        Setting(
            "REPORTS_HANDLING_MINUTES",
            15,
            integer(minimum=1),
            "handling time per e-mail the forecast assumes when too few closed cases measure it",
        ),
    ]
)

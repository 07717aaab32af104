"""Settings of SLA (see ``app.core.settings``)."""

from __future__ import annotations

from app.core.settings import Setting, define, integer

SETTINGS = define(
    [
        Setting(
            "SLA_WARN_BEFORE_MINUTES",
            60,
            integer(minimum=1, maximum=10080),
            "business minutes before a due time the pool's supervisors are warned (a policy "
            "may set its own)",
        ),
    ]
)

"""Delivery settings of the webhooks (see ``app.core.settings``)."""

from __future__ import annotations

from app.core.settings import Setting, define, integer
from app.core.settings import setting as setting  # the one reader, re-exported

SETTINGS = define(
    [
        Setting(
            "WEBHOOK_TIMEOUT_SECONDS",
            10,
            integer(minimum=1),
            "seconds a receiver has to answer one webhook POST (connect and read)",
        ),
        Setting(
            "WEBHOOK_RETRY_BASE_SECONDS",
            30,
            integer(minimum=1),
            "back-off after a failed webhook attempt: base * 2**(attempt - 1) seconds, capped",
        ),
        Setting(
            "WEBHOOK_RETRY_MAX_SECONDS",
            3600,
            integer(minimum=1),
            "the cap of the webhook back-off; a dead receiver is tried at this interval for "
            "as long as it stays dead (deliveries are never dropped)",
        ),
        Setting(
            "WEBHOOK_LEASE_SECONDS",
            120,
            integer(minimum=10),
            "how long a worker round owns the deliveries it claimed (a dead worker's are due "
            "again after it)",
        ),
        Setting(
            "WEBHOOK_DELIVERY_INTERVAL",
            10,
            integer(minimum=1),
            "seconds between two scheduled rounds that deliver due webhooks",
        ),
    ]
)

"""Delivery settings of the outbox (see ``app.core.settings``)."""

from __future__ import annotations

from app.core.settings import Setting, boolean, choice, define, integer, limits, text
from app.core.settings import setting as setting  # the one reader, re-exported for the outbox

SETTINGS = define(
    [
        Setting(
            "AUTO_MAIL_LIMITS",
            ((10, 10), (30, 15), (60, 25), (180, 50), (600, 100)),
            limits,
            "per recipient at most N automatic mails in M minutes (`M:N`)",
        ),
        Setting(
            "OUTBOX_MAX_ATTEMPTS",
            8,
            integer(minimum=1),
            "attempts before a mail is given up as 'failed' (a permanent 5xx fails at once)",
        ),
        Setting(
            "OUTBOX_RETRY_BASE_SECONDS",
            30,
            integer(minimum=1),
            "back-off after a temporary failure: base * 2**(attempt - 1) seconds, capped",
        ),
        Setting("OUTBOX_RETRY_MAX_SECONDS", 3600, integer(minimum=1), "the cap of the back-off"),
        Setting(
            "OUTBOX_LEASE_SECONDS",
            300,
            integer(minimum=10),
            "how long a worker round owns the rows it claimed; renewed while it makes progress",
        ),
        Setting("OUTBOX_BATCH_SIZE", 100, integer(minimum=1), "rows claimed per round"),
        Setting(
            "OUTBOX_HANDOVER_GROUP",
            10,
            integer(minimum=1),
            "rows handed to SMTP between two commits",
        ),
        Setting(
            "OUTBOX_INTERRUPTED",
            "fail",
            choice("fail", "resend"),
            "a row whose worker died during the SMTP hand-over: fail (at most once) or "
            "resend (at least once, same Message-ID)",
        ),
        Setting("OUTBOX_SMTP_TIMEOUT", 30, integer(minimum=1), "seconds per SMTP conversation"),
        Setting(
            "OUTBOX_ENQUEUE_ON_COMMIT",
            True,
            boolean,
            "enqueue an immediate delivery job when a transaction with new mail commits",
        ),
        Setting(
            "OUTBOX_DELIVERY_INTERVAL",
            5,
            integer(minimum=1),
            "seconds between two scheduled delivery rounds",
        ),
        Setting(
            "MAIL_TLS_CA_FILE",
            None,
            text,
            "CA bundle to verify the relays' TLS certificates with (default: the system's)",
        ),
    ]
)

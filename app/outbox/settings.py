"""Delivery settings of the outbox, with their defaults.

Each can be set in the app config (tests, ``create_app(test_config)``) or as an environment
variable of the same name; the app config wins.
"""

from __future__ import annotations

import os

from flask import current_app, has_app_context

DEFAULTS: dict[str, object] = {
    # Attempts before a mail is given up as 'failed' (a permanent 5xx fails at once).
    "OUTBOX_MAX_ATTEMPTS": 8,
    # Back-off after a temporary failure: base * 2**(attempt - 1) seconds, capped.
    "OUTBOX_RETRY_BASE_SECONDS": 30,
    "OUTBOX_RETRY_MAX_SECONDS": 3600,
    # How long a worker round owns the rows it claimed; renewed while it makes progress.
    "OUTBOX_LEASE_SECONDS": 300,
    # Rows claimed per round, and rows handed to SMTP between two commits.
    "OUTBOX_BATCH_SIZE": 100,
    "OUTBOX_HANDOVER_GROUP": 10,
    # A row whose worker died during the SMTP hand-over: "fail" (at most once, a person
    # decides with the Retry button) or "resend" (at least once, same Message-ID).
    "OUTBOX_INTERRUPTED": "fail",
    "OUTBOX_SMTP_TIMEOUT": 30,
    # Enqueue an immediate delivery job when a transaction with new mail commits.
    "OUTBOX_ENQUEUE_ON_COMMIT": True,
    # Seconds between two scheduled delivery rounds (rq cron / embedded worker).
    "OUTBOX_DELIVERY_INTERVAL": 5,
    # CA bundle to verify the relays' TLS certificates with (default: the system's).
    "MAIL_TLS_CA_FILE": None,
}


def _from_env(name: str, default):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw


def setting(name: str):
    """The value of an outbox setting: app config, else environment, else default."""
    default = DEFAULTS[name]
    if has_app_context() and name in current_app.config:
        return current_app.config[name]
    return _from_env(name, default)

"""The desk's own addresses: every mailbox's and the default sender's.

The intake flags mail from them (a loop through our own mailbox), the outbox never sends an
automatic mail to them.
"""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.mailcore.models import Mailbox


def base_address(address: str) -> str:
    """``support+token@desk`` → ``support@desk`` (lower-case)."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def own_mailbox_addresses() -> set[str]:
    """Every mailbox address of this desk; cached on the database session for a few seconds
    (a session lives for one request, job or import run)."""
    cache = db.session.info.setdefault("loopdesk_own_addresses", {})
    now = time.monotonic()
    if cache.get("until", 0) > now:
        return cache["addresses"]
    addresses = {a.lower() for a in db.session.scalars(select(Mailbox.address))}
    addresses.add(str(current_app.config.get("MAIL_DEFAULT_SENDER", "")).lower())
    cache.update(addresses=addresses, until=now + 5)
    return addresses


def forget_own_addresses() -> None:
    db.session.info.pop("loopdesk_own_addresses", None)

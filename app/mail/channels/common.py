"""What the IMAP and POP3 channels share: TLS, settings, the round report, storing a message.

The channels hand every message to ``app.mail.intake.receive`` and only then touch the server
(flag, move, delete) or their bookkeeping; a failure of ``receive`` stops the round there, so
the message stays on the server untouched and the next round tries it again.
"""

from __future__ import annotations

import hashlib
import os
import ssl
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.mail.models import RawMessage

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
DEFAULT_MAX_SIZE = 50 * 1024 * 1024  # like Postfix's message_size_limit in the notes
DEFAULT_TIMEOUT = 60
SECURITY_CHOICES = ("ssl", "starttls", "none")


class ChannelError(Exception):
    """A fetch round failed; the message is meant for the admin UI (Mailbox.last_error)."""


@dataclass
class FetchReport:
    """What one round did on one mailbox."""

    stored: int = 0  # handed to the intake service
    already_stored: int = 0  # fetched again after a crash or a UIDVALIDITY change; skipped
    oversize: int = 0  # quarantined from the headers, body left on the server
    server_actions: int = 0  # flags set, moves or deletions done after storing
    uidvalidity_reset: bool = False
    raw_ids: list[int] = field(default_factory=list)


def tls_context() -> ssl.SSLContext:
    """A verifying TLS context: certificate chain and host name are checked.

    Python's imaplib/poplib fall back to an *unverified* context when given none, so every
    connection passes this one. ``MAIL_FETCH_CA_FILE`` adds a private CA (self-hosted servers).
    """
    cafile = setting("MAIL_FETCH_CA_FILE", None)
    return ssl.create_default_context(cafile=cafile)


def setting(name: str, default):
    """App config first (tests, create_app overrides), then the environment, then default."""
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return default if value in (None, "") else value


def allow_plaintext() -> bool:
    return str(setting("MAIL_FETCH_ALLOW_PLAINTEXT", "")).strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
    }


def timeout() -> float:
    return float(setting("MAIL_FETCH_TIMEOUT", DEFAULT_TIMEOUT))


def max_size(mailbox) -> int:
    """Mail larger than this is quarantined from its headers instead of being downloaded."""
    return int(mailbox.inbound_max_size or setting("MAIL_FETCH_MAX_SIZE", DEFAULT_MAX_SIZE))


def server_address(mailbox, *, ssl_port: int, plain_port: int) -> tuple[str, int, str]:
    """(host, port, security) of a mailbox, refusing plain text to a non-loopback host."""
    host = (mailbox.inbound_host or "").strip()
    if not host:
        raise ChannelError(f"mailbox {mailbox.address} has no inbound host configured")
    security = (mailbox.inbound_security or "ssl").strip().lower()
    if security not in SECURITY_CHOICES:
        raise ChannelError(
            f"unknown inbound security {security!r} (choose one of {', '.join(SECURITY_CHOICES)})"
        )
    if security == "none" and host.lower() not in LOOPBACK_HOSTS and not allow_plaintext():
        raise ChannelError(
            f"inbound security 'none' sends the password in clear text; it is only allowed "
            f"for loopback hosts, not {host} (set MAIL_FETCH_ALLOW_PLAINTEXT to override)"
        )
    port = mailbox.inbound_port or (ssl_port if security == "ssl" else plain_port)
    return host, int(port), security


def xoauth2_string(username: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (Google, Microsoft 365), before base64."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01"


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def already_stored(mailbox, source: str, digest: str) -> int | None:
    """Id of a raw message with these exact bytes fetched before from this mailbox.

    A crash between storing and flagging, or a UIDVALIDITY change, makes the server hand out
    a message again; it is the same copy, so it is not stored a second time.
    """
    return db.session.scalar(
        select(RawMessage.id)
        .where(
            RawMessage.mailbox_id == mailbox.id,
            RawMessage.sha256 == digest,
            RawMessage.source == source,
        )
        .limit(1)
    )


def store(raw: bytes, *, mailbox, source: str, source_ref: str, report: FetchReport) -> int:
    """Hand one message to the intake service (which commits it); return the raw id."""
    from app.mail import intake

    existing = already_stored(mailbox, source, sha256(raw))
    if existing is not None:
        report.already_stored += 1
        return existing
    try:
        result = intake.receive(raw, mailbox=mailbox, source=source, source_ref=source_ref)
    except Exception as exc:
        db.session.rollback()
        raise ChannelError(
            f"could not store message {source_ref} ({len(raw)} bytes); it stays on the server "
            f"and is tried again next round: {exc}"
        ) from exc
    report.stored += 1
    report.raw_ids.append(result.raw_id)
    return result.raw_id


def quarantine_oversize(
    headers: bytes, size: int, *, mailbox, source: str, source_ref: str, report: FetchReport
) -> int:
    """Record a message too big to download: its headers, quarantined, with a clear error.

    The body stays on the server (untouched, so people see it there); the quarantine list
    shows who sent what and how big it was.
    """
    digest = sha256(headers)
    existing = already_stored(mailbox, source, digest)
    if existing is not None:
        report.already_stored += 1
        return existing
    limit = max_size(mailbox)
    row = RawMessage(
        mailbox=mailbox,
        source=source,
        source_ref=source_ref,
        sha256=digest,
        size=size,
        content=headers,
        status="quarantined",
        error=(
            f"oversize: {size} bytes is more than the limit of {limit} bytes; only the "
            f"headers were fetched, the message stays on the server ({source_ref})"
        ),
    )
    if hasattr(row, "add_flags"):
        row.add_flags("oversize")
    db.session.add(row)
    db.session.commit()
    report.oversize += 1
    report.raw_ids.append(row.id)
    return row.id

"""What the IMAP and POP3 channels share: TLS, settings, the round report, storing mail.

The channels download mail in batches and hand each batch to the intake's store
(``store_batch``: one commit for the batch) and only then touch the server (flag, move,
delete) or their bookkeeping, and finally have the batch processed (``process_batch``). A
failure while storing stops the round there: the batch stays on the server untouched and the
next round tries it again. A failure while processing quarantines single mails (the intake
does that); they are stored already, so the server may forget them.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass, field

from sqlalchemy import select

from app.errors import DeskError
from app.extensions import db
from app.mail import intake
from app.mail.models import RawMessage, RawMessageStatus
from app.mail.settings import setting
from app.mailcore import oauth

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
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
    cafile = setting("MAIL_FETCH_CA_FILE")
    return ssl.create_default_context(cafile=cafile)


def allow_plaintext() -> bool:
    return bool(setting("MAIL_FETCH_ALLOW_PLAINTEXT"))


def timeout() -> float:
    return float(setting("MAIL_FETCH_TIMEOUT"))


def max_size(mailbox) -> int:
    """Mail larger than this is quarantined from its headers instead of being downloaded."""
    return int(mailbox.inbound_max_size or setting("MAIL_FETCH_MAX_SIZE"))


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


def login_secret(mailbox) -> str:
    """The password, or for XOAUTH2 an access token good for a while (refreshed when it is
    about to expire, ``app.mailcore.oauth``); a revoked grant becomes a ChannelError."""
    if (mailbox.inbound_auth or "password") != "xoauth2":
        return mailbox.inbound_secret or ""
    try:
        return oauth.fresh_access_token(mailbox)
    except DeskError as exc:
        raise ChannelError(str(exc)) from exc


xoauth2_string = oauth.xoauth2_string


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def already_stored(mailbox, source: str, digests) -> dict[str, tuple[int, str]]:
    """{sha256: (raw id, status)} of raw messages with these exact bytes fetched before from
    this mailbox.

    A crash between storing and flagging, or a UIDVALIDITY change, makes the server hand out
    a message again; it is the same copy, so it is not stored a second time.
    """
    found: dict[str, tuple[int, str]] = {}
    digests = sorted(set(digests))
    for start in range(0, len(digests), 500):
        for raw_id, digest, status in db.session.execute(
            select(RawMessage.id, RawMessage.sha256, RawMessage.status)
            .where(
                RawMessage.mailbox_id == mailbox.id,
                RawMessage.sha256.in_(digests[start : start + 500]),
                RawMessage.source == source,
            )
            .order_by(RawMessage.id)
        ):
            found.setdefault(digest, (raw_id, status))
    return found


def store_batch(
    items: list[tuple[bytes, str]], *, mailbox, source: str, report: FetchReport
) -> tuple[list[int], list[int]]:
    """Store a batch of ``(raw bytes, source_ref)`` with one commit (``intake.store_many``).

    Returns the raw ids in the order of ``items`` and the ids still to be processed: the new
    rows, and copies stored before whose processing never ran (the process died in between).
    Raises ChannelError when the batch could not be stored: nothing of it was.
    """
    digests = [sha256(raw) for raw, _ in items]
    known = already_stored(mailbox, source, digests)
    new, taken = [], set(known)
    for index, ((raw, ref), digest) in enumerate(zip(items, digests, strict=True)):
        if digest not in taken:  # the same bytes twice in one batch are stored once
            taken.add(digest)
            new.append((index, raw, ref))
    try:
        rows = intake.store_many(
            [intake.IncomingMail(raw, mailbox, source, ref) for _, raw, ref in new]
        )
    except Exception as exc:
        db.session.rollback()
        refs = ", ".join(ref for _, _, ref in new[:3]) + (" …" if len(new) > 3 else "")
        raise ChannelError(
            f"could not store {len(new)} messages ({refs}); they stay on the server and are "
            f"tried again next round: {exc}"
        ) from exc
    by_digest = {digests[index]: row.id for (index, _, _), row in zip(new, rows, strict=True)}
    by_digest.update({digest: raw_id for digest, (raw_id, _) in known.items()})
    report.stored += len(rows)
    report.already_stored += len(items) - len(rows)
    report.raw_ids += [row.id for row in rows]
    unprocessed = [raw_id for raw_id, status in known.values() if status == RawMessageStatus.STORED]
    return [by_digest[digest] for digest in digests], sorted(unprocessed) + [r.id for r in rows]


def process_batch(raw_ids: list[int]) -> None:
    """Run the intake's processing for stored mail (quarantining what fails)."""
    if not raw_ids:
        return
    intake.process_in_batches(
        db.session.scalars(select(RawMessage).where(RawMessage.id.in_(raw_ids))).all()
    )


def quarantine_oversize(
    headers: bytes, size: int, *, mailbox, source: str, source_ref: str, report: FetchReport
) -> int:
    """Record a message too big to download: its headers, quarantined, with a clear error.

    The body stays on the server (untouched, so people see it there); the quarantine list
    shows who sent what and how big it was.
    """
    digest = sha256(headers)
    existing = already_stored(mailbox, source, [digest]).get(digest)
    if existing is not None:
        report.already_stored += 1
        return existing[0]
    limit = max_size(mailbox)
    row = RawMessage(
        mailbox=mailbox,
        source=source,
        source_ref=source_ref,
        sha256=digest,
        size=size,
        content=headers,
        status=RawMessageStatus.QUARANTINED,
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

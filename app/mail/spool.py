"""The spool of the thin MTA pipe client (``bin/loopdesk-pipe``), drained into the intake.

When the desk does not answer, the pipe client writes each mail into ``MAIL_SPOOL_DIR`` the
way a Maildir is written (``tmp/``, fsync, rename into ``new/``, fsync the folder), so the MTA
may forget the mail: it is on disk. This module brings those files into the desk through the
normal store-first intake, and removes a file only once its raw row is committed (and before
the row is processed). A crash between the commit and the removal leaves the file; the next
round stores the same bytes again, which the intake recognises as a duplicate (identical bytes),
so nothing is lost nor doubled.

File format (written by the client, which imports no app code and so repeats it): a first line
``LOOPDESK-SPOOL/1 {"mailbox": …, "recipient": …}``, then the raw mail unchanged. A file
without that line (a mail somebody dropped into ``new/``) is taken whole, without a mailbox
(quarantined for a person to place; ``mail import --mailbox`` is the tool for such files).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from app.extensions import db
from app.jobs.context import in_app_context
from app.jobs.queue import connection
from app.mail import intake
from app.mail.models import RawMessage
from app.mail.settings import setting
from app.mail.store import TooLarge, fsync_dir
from app.mailcore.models import Mailbox

log = logging.getLogger(__name__)

SPOOL_MAGIC = b"LOOPDESK-SPOOL/1 "
INTERVAL_SECONDS = 60
# Where a file goes that can never be stored (larger than INBOUND_MAX_BYTES): kept for a
# person, out of the way of the next rounds.
REJECTED = "rejected"


@dataclass
class DrainResult:
    """What one round did: intake statuses per mail, files left for later and why."""

    statuses: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    left: int = 0
    error: str | None = None

    def as_dict(self) -> dict:
        return {
            "statuses": self.statuses,
            "rejected": self.rejected,
            "left": self.left,
            "error": self.error,
        }


def spool_dir() -> Path | None:
    configured = setting("MAIL_SPOOL_DIR")
    return Path(configured) if configured else None


def pending(directory: Path) -> list[Path]:
    """The spooled files waiting in ``new/``, oldest first (names start with the time)."""
    new = directory / "new"
    if not new.is_dir():
        return []
    return sorted(p for p in new.iterdir() if p.is_file() and not p.name.startswith("."))


def read_envelope(fh) -> dict:
    """The envelope of an open spool file, leaving ``fh`` at the first byte of the mail."""
    first = fh.readline(64 * 1024)
    if first.startswith(SPOOL_MAGIC):
        try:
            envelope = json.loads(first[len(SPOOL_MAGIC) :])
            if isinstance(envelope, dict):
                return envelope
        except ValueError:
            pass
    fh.seek(0)  # not ours: the whole file is the mail
    return {}


def drain(directory: Path | None = None) -> DrainResult:
    """Store and process every spooled mail; stop at the first that cannot be stored (the
    database is down: the files wait for the next round)."""
    directory = directory or spool_dir()
    result = DrainResult()
    if directory is None:
        return result
    files = pending(directory)
    for index, path in enumerate(files):
        try:
            status = _drain_one(path, directory)
        except FileNotFoundError:  # another drainer took it meanwhile
            continue
        except Exception as exc:
            log.warning("spool: %s not stored, kept for the next round: %s", path.name, exc)
            result.error = f"{type(exc).__name__}: {exc}"
            result.left = len(files) - index
            break
        if status == REJECTED:
            result.rejected += 1
        else:
            result.statuses[status] = result.statuses.get(status, 0) + 1
    return result


def _drain_one(path: Path, directory: Path) -> str:
    with open(path, "rb") as fh:
        envelope = read_envelope(fh)
        recipient = envelope.get("recipient")
        box = _mailbox(envelope.get("mailbox"), recipient)
        try:
            stored = intake.receive(
                fh,
                mailbox=box,
                source="pipe",
                source_ref=path.name,
                recipient=recipient,
                process=False,
            )
        except TooLarge:
            rejected = directory / REJECTED
            rejected.mkdir(exist_ok=True)
            os.replace(path, rejected / path.name)
            log.error("spool: %s is larger than INBOUND_MAX_BYTES, moved to %s", path, rejected)
            return REJECTED
    # The raw row is committed: only now may the file go, and before processing, which may
    # take a while (a crash during it leaves the row stored, for the stale-rows job).
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
    row = db.session.get(RawMessage, stored.raw_id)
    return intake.process_raw(row).status if row is not None else stored.status


def _mailbox(ref, recipient):
    """The mailbox the client named (address or id, as the webhook takes), else the one of the
    envelope recipient; None quarantines the mail."""
    ref = str(ref or "").strip()
    box = db.session.get(Mailbox, int(ref)) if ref.isdigit() else intake.mailbox_for(ref)
    return box or intake.mailbox_for(recipient)


def drain_with_lock() -> dict:
    """One drain round at a time across every process of the desk (a Redis lock)."""
    if spool_dir() is None:
        return {"skipped": "MAIL_SPOOL_DIR is not set"}
    lock = connection().lock("loopdesk:mail:spool", timeout=3600, blocking=False)
    if not lock.acquire():
        return {"skipped": "another round is busy"}
    try:
        result = drain()
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile; nothing held any more
            pass
    if result.statuses or result.rejected or result.error:
        log.warning("spool drained: %s", result.as_dict())
    return result.as_dict()


@in_app_context
def drain_spool_job() -> dict:
    """Job: bring spooled mail in (every minute when ``MAIL_SPOOL_DIR`` is set)."""
    return drain_with_lock()

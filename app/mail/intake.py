"""The intake service: every channel (IMAP, POP3, pipe, webhook, import) hands raw bytes here.

STUB written by the foundation; the mail-intake work replaces the processing part. The
interface below is fixed (channels are written against it):

    receive(raw, *, mailbox, source, source_ref=None, recipient=None) -> IntakeResult

``receive`` commits the RawMessage row (and, for big mail, the file) *before* it parses
anything, then processes it; a failure while processing leaves the row quarantined with its
error, never lost. It raises only when the bytes could not be stored at all (the caller then
must keep the mail: IMAP does not flag it, the pipe exits 75, the webhook answers 5xx).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app.extensions import db
from app.mail.models import RawMessage


@dataclass
class IntakeResult:
    raw_id: int
    status: str  # processed, duplicate, quarantined, stored
    case_id: int | None = None
    message_id: int | None = None
    error: str | None = None


def receive(raw: bytes, *, mailbox, source: str, source_ref: str | None = None,
            recipient: str | None = None) -> IntakeResult:
    row = RawMessage(
        mailbox=mailbox, source=source, source_ref=source_ref, sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw), content=raw, status="stored",
    )
    db.session.add(row)
    db.session.commit()
    return IntakeResult(raw_id=row.id, status=row.status)

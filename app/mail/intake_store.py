"""Store first: the raw bytes of incoming mail, committed before anything parses them.

Small mail is kept in the RawMessage row, big mail (or a stream) as a file in the
content-addressed store (``app.mail.store``). ``store_raw`` and ``store_many`` either commit
every row they were given or raise and leave nothing behind (no row, no new file): the
channel must then keep the mail. Processing is ``app.mail.intake_batch``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.timeutil import utcnow
from app.extensions import db
from app.mail import store
from app.mail.models import RawMessage, RawMessageStatus
from app.mail.settings import setting
from app.mailcore.models import Mailbox


@dataclass
class IncomingMail:
    """One mail for ``receive_many``: its bytes and where they came from."""

    raw: bytes
    mailbox: object  # a Mailbox, its id, or None (quarantined: no mailbox)
    source: str
    source_ref: str | None = None
    recipient: str | None = None


_MID_HEADER = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.M)


def quick_message_id(head: bytes) -> str | None:
    """The Message-ID from the header block, without parsing the mail (for the dedupe key)."""
    end = head.find(b"\r\n\r\n")
    end2 = head.find(b"\n\n")
    cut = min(x for x in (end, end2, len(head)) if x >= 0)
    m = _MID_HEADER.search(head[:cut])
    if not m:
        return None
    ids = re.findall(rb"<[^<>\s\x00]+>", m.group(1))
    if not ids:
        return None
    return ids[0].decode("ascii", "replace")[:998]


def commit_keeping_loaded() -> None:
    """Commit without expiring the loaded rows: the intake keeps using the raw rows, mailbox,
    pool and cases after the commit, and re-loading each of them costs a query per mail."""
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


def store_raw(
    raw, *, mailbox, source: str, source_ref: str | None = None, recipient: str | None = None
) -> RawMessage:
    """Commit the raw bytes (or stream); raise if that is impossible (nothing half-stored)."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return store_many([IncomingMail(bytes(raw), mailbox, source, source_ref, recipient)])[0]
    stored = None
    try:
        stored = store.put_stream(raw, max_bytes=int(setting("INBOUND_MAX_BYTES")))
        # The bytes are in the store already; the row only needs to know where they came from.
        origin = IncomingMail(b"", mailbox, source, source_ref, recipient)
        (row,) = _commit_rows([(stored, origin)])
        return row
    except BaseException:
        if stored is not None:
            stored.discard()  # no row, no file: nothing half-stored
        raise


def store_many(mails: Sequence[IncomingMail]) -> list[RawMessage]:
    """Commit the raw rows of ``mails`` in one transaction; raise if that is impossible."""
    stored: list = []
    try:
        for mail in mails:
            stored.append(store.put_bytes(bytes(mail.raw)))
        return _commit_rows(list(zip(stored, mails, strict=True)))
    except BaseException:
        for item in stored:
            item.discard()
        raise


def _commit_rows(pairs) -> list[RawMessage]:
    rows = []
    try:
        for stored, mail in pairs:
            if stored.content is not None:
                head = stored.content[:65536]
            else:
                with store.open_path(stored.path) as fh:
                    head = fh.read(65536)
            row = RawMessage(
                source=(mail.source or "unknown").replace("\x00", "")[:32],
                source_ref=(mail.source_ref or None)
                and str(mail.source_ref).replace("\x00", "")[:256],
                sha256=stored.sha256,
                size=stored.size,
                content=stored.content,
                path=stored.path,
                message_id_header=quick_message_id(head),
                status=RawMessageStatus.STORED,
                received_at=utcnow(),
                recipient=(mail.recipient or None)
                and mail.recipient.strip().lower().replace("\x00", "")[:320],
                # Named, so that they are loaded: processing sets them without a query and
                # every row of a batch updates the same columns (see _Batch._finish).
                case_id=None,
                outcome=None,
                error=None,
                flags=None,
                processed_at=None,
            )
            if isinstance(mail.mailbox, Mailbox):
                row.mailbox = mail.mailbox  # no lazy load later
            else:
                row.mailbox_id = mail.mailbox
            rows.append(row)
        db.session.add_all(rows)
        commit_keeping_loaded()
    except BaseException:
        db.session.rollback()
        raise
    return rows

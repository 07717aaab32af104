"""The intake service: every channel (IMAP, POP3, pipe, webhook, import) hands raw bytes here.

The interface is fixed (channels are written against it)::

    receive(raw, *, mailbox, source, source_ref=None, recipient=None) -> IntakeResult
    receive_many([IncomingMail(raw, mailbox, source, source_ref, recipient), ...])
        -> [IntakeResult, ...]

**Store first, then process.** The RawMessage rows (small mail in the row, big mail as a file
in the content-addressed store) are committed *before* anything is parsed. Processing runs in
a second transaction: duplicate check, parsing, hygiene, threading, case, message,
attachments, auto-response. A mail that fails there is quarantined (its raw row is marked
``quarantined`` with the error, listed in the admin UI, re-processable with ``reprocess``);
it is never lost. ``receive``/``receive_many`` raise only when the bytes could not be stored;
the caller must then keep the mail (IMAP does not flag it, the pipe exits 75, the webhook
answers 5xx).

**One path, any batch size.** ``receive`` is a batch of one. The bulk channels (import, IMAP
and POP3 rounds) hand over many mails at once: their raw rows are stored with one commit and
processed in one transaction. A batch asks the database its questions once for all of its
mails (``IntakeLookups``), reserves all its case numbers with one statement and writes its
rows with one flush, instead of a dozen statements and two commits per mail. The mails are
still handled one after the other, in the order they were stored, so a mail sees what the
mails before it did (a reply threads to a case opened earlier in the same batch).
When one mail of a batch fails, the batch is rolled back and done again without it; that
mail alone is then processed on its own and quarantined if it fails again.

``raw`` may be bytes or (``receive`` only) a binary stream: big mail is streamed to disk,
never held twice.

The intake lives in four modules, re-exported here for the channels, the CLI and the views:
``intake_store`` (store first), ``intake_batch`` (process in batches, retry, quarantine,
automatic mail), ``intake_lookups`` (what a batch asks the database) and
``intake_attachments``.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.mail.intake_batch import (
    BATCH_BYTES,
    BATCH_SIZE,
    IntakeResult,
    Quarantine,
    open_automatic_as_case,
    process_in_batches,
    process_many,
    process_raw,
    reprocess,
)
from app.mail.intake_lookups import IntakeLookups, mailbox_for
from app.mail.intake_store import IncomingMail, quick_message_id, store_many, store_raw

__all__ = [
    "BATCH_BYTES",
    "BATCH_SIZE",
    "IncomingMail",
    "IntakeLookups",
    "IntakeResult",
    "Quarantine",
    "mailbox_for",
    "open_automatic_as_case",
    "process_in_batches",
    "process_many",
    "process_raw",
    "quick_message_id",
    "receive",
    "receive_many",
    "reprocess",
    "store_many",
    "store_raw",
]


def receive(
    raw,
    *,
    mailbox,
    source: str,
    source_ref: str | None = None,
    recipient: str | None = None,
    process: bool = True,
) -> IntakeResult:
    """Store ``raw`` (commit), then process it; see the module docstring."""
    row = store_raw(raw, mailbox=mailbox, source=source, source_ref=source_ref, recipient=recipient)
    if not process:
        return IntakeResult(raw_id=row.id, status=row.status)
    return process_raw(row)


def receive_many(mails: Sequence[IncomingMail], *, process: bool = True) -> list[IntakeResult]:
    """Store all ``mails`` with one commit, then process them in batches; results in order.

    Raises (and stores none of them) when the bytes could not be stored.
    """
    rows = store_many(mails)
    if not process:
        return [IntakeResult(raw_id=row.id, status=row.status) for row in rows]
    return process_in_batches(rows)

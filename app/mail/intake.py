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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.audit.actor import acting_as
from app.audit.tracking import _record
from app.cases import services
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus, transition
from app.core.timeutil import utcnow
from app.customers.models import Customer
from app.errors import Conflict, DeskError, Forbidden
from app.extensions import db
from app.mail import autoresponse, bounces, hygiene, store
from app.mail import rules as category_rules
from app.mail import threading as mail_threading
from app.mail.models import (
    FINISHED_STATUSES,
    Attachment,
    RawMessage,
    RawMessageOutcome,
    RawMessageStatus,
)
from app.mail.parsing import parse_bytes, parse_stream
from app.mail.settings import setting
from app.mailcore import identity
from app.mailcore.models import Mailbox
from app.outbox.limits import limiter as auto_mail_limiter
from app.security.roles import ADMIN, SUPERVISOR, role_names
from app.security.rules import ensure_visible

log = logging.getLogger(__name__)

DEFAULT_ATTACHMENTS_MAX_BYTES = 30 << 20
# Machine mail is added to its case but never changes the case's state (no reopen); threaded
# to no case, it opens none (status ``automatic``).
KEEPS_STATE = hygiene.AUTOMATIC
# How many mails one processing transaction takes at most, and how many bytes of raw mail a
# bulk channel collects before it hands them over (bounds the memory of a batch).
BATCH_SIZE = 200
BATCH_BYTES = 32 << 20


@dataclass
class IntakeResult:
    raw_id: int
    status: RawMessageStatus
    case_id: int | None = None
    message_id: int | None = None
    error: str | None = None


@dataclass
class IncomingMail:
    """One mail for ``receive_many``: its bytes and where they came from."""

    raw: bytes
    mailbox: object  # a Mailbox, its id, or None (quarantined: no mailbox)
    source: str
    source_ref: str | None = None
    recipient: str | None = None


class Quarantine(Exception):
    """Processing cannot continue for a reason a person must look at (shown as the error)."""


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


def _commit() -> None:
    """Commit without expiring the loaded rows: the intake keeps using the raw rows, mailbox,
    pool and cases after the commit, and re-loading each of them costs a query per mail."""
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


# --- store ---------------------------------------------------------------------------------


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


def process_in_batches(rows: Sequence[RawMessage]) -> list[IntakeResult]:
    """Process stored rows, ``BATCH_SIZE`` per transaction."""
    results = []
    for start in range(0, len(rows), BATCH_SIZE):
        results += process_many(rows[start : start + BATCH_SIZE])
    return results


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
            )
            if isinstance(mail.mailbox, Mailbox):
                row.mailbox = mail.mailbox  # no lazy load later
            else:
                row.mailbox_id = mail.mailbox
            rows.append(row)
        db.session.add_all(rows)
        _commit()
    except BaseException:
        db.session.rollback()
        raise
    return rows


# --- process -------------------------------------------------------------------------------


def reprocess(raw_id: int) -> IntakeResult:
    """Run processing again for a stored or quarantined raw message (button and CLI)."""
    row = db.session.get(RawMessage, raw_id)
    if row is None:
        raise Quarantine(f"no raw message #{raw_id}")
    if row.status in FINISHED_STATUSES:
        return IntakeResult(row.id, row.status, case_id=row.case_id, error="already processed")
    return process_raw(row)


def open_automatic_as_case(raw: RawMessage, actor) -> Case:
    """Open a case for automatic mail that opened none (a person decided it needs one).

    The mail goes through the intake once more, as a mail that may open a case: the case is
    opened by the case-opening service with the mail as its first message, routed by the
    category rules like any new case; the Event "opened from automatic mail" records who did
    it. Only a supervisor of the mailbox's pool (or an admin, or the desk itself: ``actor``
    None) may; raises AccessDenied, Forbidden or Conflict (not automatic mail, or someone
    opened it a moment ago) otherwise.
    """
    with acting_as(actor):
        ensure_visible(raw, actor)  # a supervisor of another pool: "not found"
        if actor is not None and not role_names(actor) & {ADMIN, SUPERVISOR}:
            raise Forbidden("only a supervisor of the mailbox's pool may open automatic mail")
        # The guarded update is the claim: of two people who open the same mail at once,
        # the second finds it no longer automatic.
        claimed = db.session.execute(
            update(RawMessage)
            .where(RawMessage.id == raw.id, RawMessage.status == RawMessageStatus.AUTOMATIC)
            .values(status=RawMessageStatus.STORED)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()
            raise Conflict(f"raw message #{raw.id} is not automatic mail waiting for a case")
        try:
            (result,) = _Batch([raw], open_automatic=True).run()
        except Exception as exc:  # nothing is written: the mail stays automatic mail
            db.session.rollback()
            cause = exc.__cause__ if isinstance(exc, _MailFailed) else exc
            log.exception("raw message #%s could not be opened as a case", raw.id)
            raise DeskError(
                f"raw message #{raw.id} could not be opened as a case: {_error_text(cause)}"
            ) from exc
    if result.case_id is None:  # it could not even be parsed again: quarantined
        raise DeskError(f"raw message #{raw.id} could not be opened: {result.error}")
    return db.session.get(Case, result.case_id)


def process_raw(row: RawMessage) -> IntakeResult:
    """Process one stored raw message; on any error quarantine it (committed) instead."""
    return process_many([row])[0]


def process_many(rows: Sequence[RawMessage], *, retried: bool = False) -> list[IntakeResult]:
    """Process stored raw messages in one transaction (in id order); quarantine what fails.

    Never raises for a mail: a mail that fails is quarantined; when even that cannot be
    written (the database went away), its result says ``stored`` and the row waits for the
    next try (``app.mail.tasks``).
    """
    rows = sorted(rows, key=lambda r: r.id)
    if not rows:
        return []
    ids = [row.id for row in rows]
    try:
        with acting_as(None):
            return _Batch(rows).run()
    except Exception as exc:
        db.session.rollback()
        failed = exc if isinstance(exc, _MailFailed) else None
        cause = exc.__cause__ if failed is not None else exc
    if isinstance(cause, IntegrityError) and not retried:
        # e.g. two processes created the same customer at once: the second run finds him
        # (cheaper than a savepoint around every new customer)
        return _again(ids, retried=True)
    if len(ids) == 1:
        return [_quarantine(ids[0], cause)]
    if failed is not None:
        # Done again without the mail that failed, which then gets a transaction of its own.
        index = failed.index
        return (
            _again(ids[:index], retried=retried)
            + _again([ids[index]], retried=False)
            + _again(ids[index + 1 :], retried=retried)
        )
    log.warning("intake batch of %d failed (%s); one mail at a time", len(ids), cause)
    return [result for raw_id in ids for result in _again([raw_id], retried=False)]


def _again(ids: list[int], *, retried: bool) -> list[IntakeResult]:
    """``process_many`` once more for rows of a batch that was rolled back."""
    if not ids:
        return []
    try:
        rows = db.session.scalars(
            select(RawMessage)
            .where(RawMessage.id.in_(ids))
            .execution_options(populate_existing=True)
        ).all()
    except Exception as exc:  # the database went away: the rows stay stored for later
        db.session.rollback()
        log.warning("raw messages %s left stored: %s", ids, exc)
        return [
            IntakeResult(raw_id, RawMessageStatus.STORED, error=_error_text(exc)) for raw_id in ids
        ]
    return process_many(rows, retried=retried)


def _quarantine(row_id: int, exc: BaseException) -> IntakeResult:
    error = _error_text(exc)
    log.warning("raw message #%s quarantined: %s", row_id, error)
    try:
        db.session.execute(
            update(RawMessage)
            .where(RawMessage.id == row_id)
            .values(status=RawMessageStatus.QUARANTINED, error=error, processed_at=utcnow())
        )
        db.session.commit()
    except Exception:  # the database went away: the row stays 'stored' for a retry
        db.session.rollback()
        log.exception("could not quarantine raw message #%s", row_id)
        return IntakeResult(row_id, RawMessageStatus.STORED, error=error)
    return IntakeResult(row_id, RawMessageStatus.QUARANTINED, error=error)


def _error_text(exc: BaseException) -> str:
    error = str(exc) if isinstance(exc, Quarantine) else f"{type(exc).__name__}: {exc}"
    return error.replace("\x00", "")[:4000]


class _MailFailed(Exception):
    """Mail number ``index`` of a batch raised while it was being applied (the cause)."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


def _attachment_cap() -> int:
    return int(setting("INTAKE_ATTACHMENTS_MAX_BYTES"))


def _parse(row: RawMessage):
    cap = _attachment_cap()
    if row.content is not None:
        return parse_bytes(row.content, attachment_cap=cap), row.content
    with store.open_path(row.path) as fh:
        return parse_stream(fh, attachment_cap=cap), None


@dataclass
class _Mail:
    """One raw row on its way through a batch."""

    row: RawMessage
    parsed: object = None
    raw_bytes: bytes | None = None
    flags: set = field(default_factory=set)
    report: object = None  # BounceReport of a bounce
    extra_ids: list = field(default_factory=list)
    duplicate_of: object = None  # the earlier raw row (id, sha256, case_id) with these bytes
    error: BaseException | None = None  # quarantined before anything was written
    case: Case | None = None
    new_case: bool = False
    automatic: bool = False  # machine mail that threads to no case: it opens none
    message: Message | None = None
    cids_pending: bool = False  # HTML with cid: links, cleaned once attachments have ids


class _Batch:
    """Processes stored raw rows in one transaction; see the module docstring."""

    def __init__(self, rows: Sequence[RawMessage], *, open_automatic: bool = False):
        self.mails = [_Mail(row) for row in rows]
        # True when a person opens automatic mail as a case (``open_automatic_as_case``).
        self.open_automatic = open_automatic
        self.lookups = IntakeLookups()
        self.new_cases: list[Case] = []
        self.case_of_raw: dict[int, Case] = {}  # raw row id -> case (duplicates in the batch)

    def run(self) -> list[IntakeResult]:
        session = db.session()
        self._prepare()
        self.lookups.load(self.mails)
        with session.no_autoflush:  # one flush for the batch, not one per query
            for index, mail in enumerate(self.mails):
                if mail.error is not None:
                    continue
                try:
                    self._apply(mail)
                except Exception as exc:
                    raise _MailFailed(index) from exc
        numbers = services.reserve_case_numbers(
            len(self.new_cases), own_transaction=len(self.mails) > 1
        )
        for case, number in zip(self.new_cases, numbers, strict=True):
            case.number = number
        session.flush()
        with session.no_autoflush:
            for index, mail in enumerate(self.mails):
                try:
                    self._finish(mail)
                except Exception as exc:
                    raise _MailFailed(index) from exc
        _commit()
        return [self._result(mail) for mail in self.mails]

    # -- before anything is written: what each mail is --------------------------------------

    def _prepare(self) -> None:
        """Duplicates, parsing, hygiene flags and bounce reports of every mail of the batch.
        Nothing is written yet, so a mail that fails here is simply quarantined."""
        earlier = self.lookups.load_earlier_copies([m.row for m in self.mails])
        for mail in self.mails:
            row = mail.row
            if row.mailbox is None:
                mail.error = Quarantine(
                    "no mailbox: the recipient address is not one of our mailboxes "
                    "(choose one and re-process, or import with --mailbox)"
                )
                continue
            mail.duplicate_of, reused_message_id = earlier.get(row.id, (None, False))
            if mail.duplicate_of is not None:
                continue
            if reused_message_id:
                mail.flags.add("reused_message_id")
            try:
                mail.parsed, mail.raw_bytes = _parse(row)
                mail.flags |= hygiene.classify(mail.parsed)
                if mail.parsed.oversize:
                    mail.flags.add("oversize")
                if "bounce" in mail.flags:
                    mail.report = bounces.analyse(mail.parsed, mail.raw_bytes)
                    if mail.report.original_message_id:
                        mail.extra_ids.append(mail.report.original_message_id)
            except SQLAlchemyError:
                raise  # the database, not the mail
            except Exception as exc:
                mail.error = exc

    # -- the mail's case, message, attachments and events ------------------------------------

    def _apply(self, mail: _Mail) -> None:
        row = mail.row
        if mail.duplicate_of is not None:
            same = mail.duplicate_of
            case = self.case_of_raw.get(same.id)
            if case is None and same.case_id is not None:
                case = self.lookups.case(same.case_id)
            mail.case = case
            return
        parsed, flags = mail.parsed, mail.flags
        match = mail_threading.find_case(
            parsed, recipient=row.recipient, extra_ids=mail.extra_ids, lookups=self.lookups
        )
        case, follows, reopened = match.case, None, False
        if case is not None and case.status == CaseStatus.CLOSED:
            if flags & KEEPS_STATE:
                pass  # an out-of-office or bounce joins the closed case as it is
            elif case.closed_at and case.closed_at >= utcnow() - timedelta(
                days=case.pool.reopen_days if case.pool else 14
            ):
                transition(case, CaseStatus.IN_PROGRESS.value, reason="reopened by a customer mail")
                reopened = True
            else:
                follows, case = case, None
        if case is None and hygiene.is_automatic(flags) and not self.open_automatic:
            self._keep_automatic(mail)
            return
        mailbox = row.mailbox
        routing = None
        mail.new_case = case is None
        if mail.new_case:
            routing = category_rules.route(parsed, mailbox, row.recipient)
            customer = (
                self.lookups.customer(parsed.from_address, parsed.from_name)
                if parsed.from_address
                else None
            )
            case = services.open_case(
                pool=routing.pool,
                subject=parsed.subject or "(no subject)",
                customer=customer,
                mailbox=mailbox,
                topic=routing.topic,
                required_skill=routing.skill,
                priority=routing.priority,
                follows_case=follows,
                commit=False,
                number_later=True,
            )
            self.new_cases.append(case)
        mail.case = case
        if self.open_automatic:  # who decided that this machine mail needs a case
            _record(
                db.session,
                case,
                "opened from automatic mail" if mail.new_case else "automatic mail added",
                details={"raw_message": row.id, "flags": sorted(flags)},
            )
        self.case_of_raw[row.id] = case

        message = Message(
            case=case,
            direction=MessageDirection.INBOUND,
            from_address=parsed.from_address,
            to_addresses=", ".join(parsed.to) or None,
            cc_addresses=", ".join(parsed.cc) or None,
            subject=parsed.subject or None,
            body_text=parsed.text,
            message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to,
            references=parsed.references,
            raw_message=row,
        )
        db.session.add(message)
        mail.message = message
        self.lookups.note_message(message, case)
        if parsed.attachments:
            _store_attachments(message, parsed.attachments)
        if parsed.html:
            if "cid:" in parsed.html.lower() and any(a.content_id for a in message.attachments):
                mail.cids_pending = True  # the links need the attachments' ids (after flush)
            else:
                self._clean_html(mail, {})

        details = {"raw_message": row.id, "flags": sorted(flags)}
        if match.rule:
            details["threaded_by"] = match.rule
        if match.refused:
            _record(db.session, case, "subject tag refused", details={"reason": match.refused})
        if routing is not None and routing.rule is not None:
            _record(db.session, case, "category rule", new=routing.rule.name)
        report = mail.report
        if report is not None and report.permanent:
            marked = self.lookups.mark_undeliverable(report.permanent)
            _record(
                db.session,
                case,
                "bounce",
                new=", ".join(sorted(report.permanent)),
                details={"permanent": sorted(report.permanent), "marked": marked},
            )
        if flags & {"ooo", "auto_reply"} and not mail.new_case:
            _record(db.session, case, "auto-reply received", details=details)
        if "reused_message_id" in flags:
            _record(db.session, case, "reused Message-ID", new=parsed.message_id, details=details)
        if "oversize" in flags:
            _record(
                db.session,
                case,
                "attachments too large",
                details={"raw_message": row.id, "limit_bytes": _attachment_cap()},
            )
        if reopened:
            details["reopened"] = True

    def _keep_automatic(self, mail: _Mail) -> None:
        """Machine mail that belongs to no case opens none: no customer, no case, no SLA. A
        bounce still marks the addresses that failed for good as undeliverable (recorded on
        the raw mail, which stays in the Automatic mail list)."""
        mail.automatic = True
        report = mail.report
        if report is not None and report.permanent:
            marked = self.lookups.mark_undeliverable(report.permanent)
            _record(
                db.session,
                mail.row,
                "bounce",
                new=", ".join(sorted(report.permanent)),
                details={"permanent": sorted(report.permanent), "marked": marked},
            )

    def _clean_html(self, mail: _Mail, cids: dict[str, int]) -> None:
        from app.mail.sanitize import clean_html

        mail.message.body_html = clean_html(
            mail.parsed.html,
            cid_url=lambda cid: f"/mail/attachment/{cids[cid]}" if cid in cids else "",
            allow_remote_images=bool(setting("MAIL_ALLOW_REMOTE_IMAGES")),
        )

    # -- after the flush (every case has its id and number): mail out, the raw row -----------

    def _finish(self, mail: _Mail) -> None:
        row = mail.row
        row.processed_at = utcnow()
        if mail.error is not None:
            row.status, row.error = RawMessageStatus.QUARANTINED, _error_text(mail.error)
            log.warning("raw message #%s quarantined: %s", row.id, row.error)
            return
        if mail.duplicate_of is not None:
            row.status, row.outcome, row.case = (
                RawMessageStatus.DUPLICATE,
                RawMessageOutcome.DUPLICATE,
                mail.case,
            )
            row.error = f"identical to raw message #{mail.duplicate_of.id}"
            return
        if mail.automatic:
            row.status, row.outcome, row.error = (
                RawMessageStatus.AUTOMATIC,
                RawMessageOutcome.AUTOMATIC,
                None,
            )
            row.add_flags(*mail.flags)
            return
        if mail.cids_pending:
            self._clean_html(
                mail, {a.content_id: a.id for a in mail.message.attachments if a.content_id}
            )
        if not hygiene.suppresses_auto_response(mail.flags):
            mailbox = row.mailbox
            if "oversize" in mail.flags:
                autoresponse.queue_oversize_notice(
                    mail.case, mail.parsed, mailbox, _attachment_cap()
                )
            if mail.new_case:
                autoresponse.queue_auto_response(mail.case, mail.parsed, mailbox)
        row.status, row.error, row.case = RawMessageStatus.PROCESSED, None, mail.case
        row.outcome = RawMessageOutcome.NEW_CASE if mail.new_case else RawMessageOutcome.THREADED
        row.add_flags(*mail.flags)

    def _result(self, mail: _Mail) -> IntakeResult:
        row = mail.row
        return IntakeResult(
            row.id,
            row.status,
            case_id=mail.case.id if mail.case is not None else None,
            message_id=mail.message.id if mail.message is not None else None,
            error=row.error if row.status == RawMessageStatus.QUARANTINED else None,
        )


# --- what a batch asks the database ---------------------------------------------------------


@dataclass(frozen=True)
class _Copy:
    id: int
    sha256: str
    case_id: int | None


class IntakeLookups(mail_threading.DatabaseLookups):
    """The database's answers for a whole batch, read with a handful of queries.

    ``load`` collects every key the batch's mails can ask about (Message-IDs they refer to,
    case ids in our signed marks, case numbers in subjects, sender addresses) and reads them
    at once; what the batch adds as it goes (messages, customers) is noted here, so a later
    mail of the batch finds it without a flush. Questions nobody foresaw still get an answer,
    from the database, one query each (the parent class).
    """

    def __init__(self):
        self.cases: dict[int, Case | None] = {}
        self.cases_by_number: dict[str, Case | None] = {}
        self.by_message_id: dict[str, tuple[int, int]] = {}  # id -> (message pk, case id)
        self.by_outbox_id: dict[str, int] = {}  # id -> case id
        self.loaded_ids: set[str] = set()
        self.batch_ids: dict[str, tuple[int, Case]] = {}  # ids of this batch's messages
        self.participants: set[tuple[int, str]] = set()  # (id(case), sender) in this batch
        self.customers: dict[str, Customer | None] = {}

    # loading

    def load_earlier_copies(self, rows) -> dict[int, tuple[_Copy | None, bool]]:
        """For each row: (the first earlier raw row of its mailbox with exactly its bytes,
        whether an earlier raw row of its mailbox has its Message-ID).

        Two exact questions, each answered by its own index: identical bytes are looked up
        by (sha256, mailbox), however many stored mails share the Message-ID; the Message-ID
        only needs to be known to have been seen (``reused_message_id``).
        """
        rows = [r for r in rows if r.mailbox_id is not None]
        if not rows:
            return {}
        mailbox_ids = {r.mailbox_id for r in rows}
        newest = max(r.id for r in rows)
        copies: dict[tuple, list[_Copy]] = {}
        for chunk in _chunks({r.sha256 for r in rows}):
            for f in db.session.execute(
                select(RawMessage.id, RawMessage.mailbox_id, RawMessage.sha256, RawMessage.case_id)
                .where(
                    RawMessage.sha256.in_(chunk),
                    RawMessage.mailbox_id.in_(mailbox_ids),
                    RawMessage.id < newest,
                )
                .order_by(RawMessage.id)
            ):
                copies.setdefault((f.mailbox_id, f.sha256), []).append(
                    _Copy(f.id, f.sha256, f.case_id)
                )
        first_seen: dict[tuple, int] = {}  # (mailbox, Message-ID) -> lowest raw id
        for chunk in _chunks({r.message_id_header for r in rows if r.message_id_header}):
            for mailbox_id, mid, first_id in db.session.execute(
                select(RawMessage.mailbox_id, RawMessage.message_id_header, func.min(RawMessage.id))
                .where(
                    RawMessage.message_id_header.in_(chunk),
                    RawMessage.mailbox_id.in_(mailbox_ids),
                )
                .group_by(RawMessage.mailbox_id, RawMessage.message_id_header)
            ):
                first_seen[(mailbox_id, mid)] = first_id
        out: dict[int, tuple[_Copy | None, bool]] = {}
        for row in rows:
            same = copies.get((row.mailbox_id, row.sha256), ())
            duplicate_of = next((c for c in same if c.id < row.id), None)
            seen = first_seen.get((row.mailbox_id, row.message_id_header))
            out[row.id] = (duplicate_of, seen is not None and seen < row.id)
        return out

    def load(self, mails) -> None:
        """Read what the batch's mails will ask about (threading, customers, mail limits).
        A single mail asks its few questions as they come instead (fewer queries: a reply
        that names its case needs no customer and no mail limits)."""
        auto_mail_limiter().know_customers(self.customers)
        if len(mails) < 2:
            return
        ids: set[str] = set()
        case_ids: set[int] = set()
        numbers: set[str] = set()
        addresses: set[str] = set()
        recipients: set[str] = set()
        for mail in mails:
            parsed = mail.parsed
            if parsed is None or mail.error is not None:
                continue
            ids.update(mail_threading.references_of(parsed, mail.extra_ids))
            case_ids |= mail_threading.case_ids_named_by(parsed, mail.row.recipient, mail.extra_ids)
            number = identity.find_case_number(parsed.subject)
            if number:
                numbers.add(number)
            if parsed.from_address:
                addresses.add(parsed.from_address)
            to = parsed.reply_to or parsed.from_address
            if to and not hygiene.suppresses_auto_response(mail.flags):
                recipients.add(to.strip().lower())
            if mail.report is not None:
                addresses |= set(mail.report.permanent)
        for mail in mails:
            if mail.duplicate_of is not None and mail.duplicate_of.case_id:
                case_ids.add(mail.duplicate_of.case_id)
        self._load_message_ids(ids)
        case_ids |= {case_id for _, case_id in self.by_message_id.values()}
        case_ids |= set(self.by_outbox_id.values())
        self._load_cases(case_ids, numbers)
        self._load_customers(addresses | recipients)
        auto_mail_limiter().load(recipients)

    def _load_message_ids(self, ids: set[str]) -> None:
        from app.outbox.models import OutboxMail

        ids = ids - self.loaded_ids
        self.loaded_ids |= ids
        for chunk in _chunks(ids):
            for pk, mid, case_id in db.session.execute(
                select(Message.id, Message.message_id, Message.case_id).where(
                    Message.message_id.in_(chunk)
                )
            ):
                if mid not in self.by_message_id or self.by_message_id[mid][0] < pk:
                    self.by_message_id[mid] = (pk, case_id)
        missing = ids - set(self.by_message_id)
        for chunk in _chunks(missing):
            for mid, case_id in db.session.execute(
                select(OutboxMail.message_id, OutboxMail.case_id)
                .where(OutboxMail.message_id.in_(chunk), OutboxMail.case_id.is_not(None))
                .order_by(OutboxMail.id)
            ):
                self.by_outbox_id.setdefault(mid, case_id)

    def _load_cases(self, case_ids: set[int], numbers: set[str]) -> None:
        case_ids = case_ids - set(self.cases)
        numbers = numbers - set(self.cases_by_number)
        for case_id in case_ids:
            self.cases[case_id] = None
        for number in numbers:
            self.cases_by_number[number] = None
        if not case_ids and not numbers:
            return
        conditions = []
        if case_ids:
            conditions.append(Case.id.in_(case_ids))
        if numbers:
            conditions.append(Case.number.in_(numbers))
        for case in db.session.scalars(select(Case).where(or_(*conditions))):
            self.cases[case.id] = case
            self.cases_by_number[case.number] = case

    def _load_customers(self, addresses: set[str]) -> None:
        addresses = {a for a in addresses if a} - set(self.customers)
        for address in addresses:
            self.customers[address] = None
        for chunk in _chunks(addresses):
            for customer in db.session.scalars(select(Customer).where(Customer.email.in_(chunk))):
                self.customers[customer.email] = customer

    # answering (threading: see DatabaseLookups)

    def case(self, case_id: int) -> Case | None:
        if case_id not in self.cases:
            self.cases[case_id] = super().case(case_id)
        return self.cases[case_id]

    def case_by_number(self, number: str) -> Case | None:
        if number not in self.cases_by_number:
            self.cases_by_number[number] = super().case_by_number(number)
        return self.cases_by_number[number]

    def case_by_message_ids(self, ids: list[str]) -> Case | None:
        ids = ids[-mail_threading.MAX_REFERENCES :]
        in_batch = [self.batch_ids[i] for i in ids if i in self.batch_ids]
        if in_batch:  # newer than anything in the database
            return max(in_batch, key=lambda hit: hit[0])[1]
        if not set(ids) <= self.loaded_ids:
            return super().case_by_message_ids(ids)
        stored = [self.by_message_id[i] for i in ids if i in self.by_message_id]
        if stored:
            return self.case(max(stored)[1])
        case_id = next((self.by_outbox_id[i] for i in ids if i in self.by_outbox_id), None)
        return self.case(case_id) if case_id is not None else None

    def takes_part(self, case: Case, address: str | None) -> bool:
        if address and (id(case), address.lower()) in self.participants:
            return True
        return super().takes_part(case, address)

    def note_message(self, message: Message, case: Case) -> None:
        """A message of this batch: later mails may refer to it or to its sender."""
        if message.message_id:
            self.batch_ids[message.message_id] = (len(self.batch_ids), case)
        if message.from_address:
            self.participants.add((id(case), message.from_address.lower()))

    # customers

    def customer(self, address: str, name: str | None) -> Customer:
        """The customer of an address, created when new. If another process creates him at
        the same moment, the flush fails with IntegrityError and the batch runs again."""
        if address not in self.customers:
            self._load_customers({address})
        customer = self.customers[address]
        if customer is None:
            customer = Customer(email=address, name=(name or None) and name[:256])
            db.session.add(customer)
            self.customers[address] = customer
        return customer

    def mark_undeliverable(self, addresses) -> list[str]:
        self._load_customers(set(addresses))
        marked = []
        for address in sorted(addresses):
            customer = self.customers.get(address)
            if customer is not None and not customer.undeliverable:
                customer.undeliverable = True
                marked.append(address)
        return marked


def _chunks(values, size: int = 500):
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- attachments ---------------------------------------------------------------------------


def _store_attachments(message: Message, attachments) -> None:
    """Files into the store, rows into ``attachment``; winmail.dat expanded beside itself."""
    rows = []
    for att in attachments:
        sha = att.sha256 or store.put_file(att.data or b"")
        row = Attachment(
            message=message,
            sha256=sha,
            size=att.size,
            content_type=(att.content_type or "application/octet-stream")[:255],
            filename=att.filename,
            content_id=(att.content_id or None) and att.content_id[:512],
            inline=bool(att.inline),
        )
        rows.append(row)
        is_tnef = att.content_type == "application/ms-tnef" or (
            (att.filename or "").lower() == "winmail.dat"
        )
        if is_tnef:
            rows.extend(_expand_tnef(message, att, sha))
    db.session.add_all(rows)


def _expand_tnef(message: Message, att, sha: str) -> list[Attachment]:
    try:
        from tnefparse import TNEF

        data = att.data if att.data is not None else store.read_blob(sha)
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:  # keep winmail.dat itself; say why it was not expanded
        log.info("winmail.dat not expanded: %s", exc)
        return []
    out = []
    for inner in tnef.attachments:
        try:
            name = inner.long_filename() or inner.name
        except Exception:
            name = None
        content = inner.data or b""
        out.append(
            Attachment(
                message=message,
                sha256=store.put_file(content),
                size=len(content),
                content_type="application/octet-stream",
                filename=(name or "attachment")[:500],
                inline=False,
            )
        )
    return out


def mailbox_for(address: str | None):
    """The mailbox of an address, ``support+token@desk`` included; None when unknown."""
    if not address:
        return None
    address = address.strip().lower()
    local, _, domain = address.partition("@")
    base = f"{local.split('+', 1)[0]}@{domain}"
    return db.session.scalar(select(Mailbox).where(Mailbox.address.in_({address, base})))


def case_of(result: IntakeResult):
    return db.session.get(Case, result.case_id) if result.case_id else None

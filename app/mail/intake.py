"""The intake service: every channel (IMAP, POP3, pipe, webhook, import) hands raw bytes here.

The interface is fixed (channels are written against it)::

    receive(raw, *, mailbox, source, source_ref=None, recipient=None) -> IntakeResult

**Store first, then process.** ``receive`` commits the RawMessage row (small mail in the row,
big mail as a file in the content-addressed store) *before* it parses anything. Processing runs
in a second transaction: duplicate check, parsing, hygiene, threading, case, message,
attachments, auto-response. Any exception while processing rolls that transaction back and
marks the raw row ``quarantined`` with the error, so the mail is listed in the admin UI and can
be re-processed (``reprocess``); it is never lost. ``receive`` raises only when the bytes could
not be stored at all; the caller must then keep the mail (IMAP does not flag it, the pipe exits
75, the webhook answers 5xx).

``raw`` may be bytes or a binary stream (big mail is streamed to disk, never held twice).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.actor import acting_as
from app.audit.tracking import _record
from app.cases import services
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus, transition
from app.core.timeutil import utcnow
from app.customers.models import Customer
from app.extensions import db
from app.mail import autoresponse, bounces, hygiene, store
from app.mail import rules as category_rules
from app.mail import threading as mail_threading
from app.mail.models import Attachment, Mailbox, RawMessage
from app.mail.parsing import parse_bytes, parse_stream
from app.mail.settings import setting

log = logging.getLogger(__name__)

DEFAULT_ATTACHMENTS_MAX_BYTES = 30 << 20
# Machine mail is added to its case but never changes the case's state (no reopen).
KEEPS_STATE = frozenset({"ooo", "auto_reply", "bounce", "bulk", "loop", "own_loop"})


@dataclass
class IntakeResult:
    raw_id: int
    status: str  # processed, duplicate, quarantined, stored
    case_id: int | None = None
    message_id: int | None = None
    error: str | None = None


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
    """Commit without expiring the loaded rows: the intake keeps using the raw row, mailbox,
    pool and case after the commit, and re-loading each of them costs a query per message."""
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


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


def store_raw(
    raw, *, mailbox, source: str, source_ref: str | None = None, recipient: str | None = None
) -> RawMessage:
    """Commit the raw bytes; raise if that is impossible (nothing half-stored remains)."""
    stored = None
    try:
        if isinstance(raw, (bytes, bytearray, memoryview)):
            stored = store.put_bytes(bytes(raw))
        else:
            stored = store.put_stream(raw, max_bytes=int(setting("INBOUND_MAX_BYTES")))
        if stored.content is not None:
            head = stored.content[:65536]
        else:
            with store.open_path(stored.path) as fh:
                head = fh.read(65536)
        mailbox_id = mailbox.id if isinstance(mailbox, Mailbox) else mailbox
        row = RawMessage(
            mailbox_id=mailbox_id,
            source=(source or "unknown").replace("\x00", "")[:32],
            source_ref=(source_ref or None) and str(source_ref).replace("\x00", "")[:256],
            sha256=stored.sha256,
            size=stored.size,
            content=stored.content,
            path=stored.path,
            message_id_header=quick_message_id(head),
            status="stored",
            recipient=(recipient or None) and recipient.strip().lower().replace("\x00", "")[:320],
        )
        db.session.add(row)
        _commit()
    except BaseException:
        db.session.rollback()
        if stored is not None:
            stored.discard()  # no row, no file: nothing half-stored
        raise
    return row


def reprocess(raw_id: int) -> IntakeResult:
    """Run processing again for a stored or quarantined raw message (button and CLI)."""
    row = db.session.get(RawMessage, raw_id)
    if row is None:
        raise Quarantine(f"no raw message #{raw_id}")
    if row.status in ("processed", "duplicate"):
        return IntakeResult(row.id, row.status, case_id=row.case_id, error="already processed")
    return process_raw(row)


def process_raw(row: RawMessage) -> IntakeResult:
    """Process a stored raw message; on any error quarantine it (committed) instead."""
    row_id = row.id
    try:
        with acting_as(None):
            try:
                return _process(row)
            except IntegrityError:  # e.g. two processes created the same customer at once
                db.session.rollback()
                return _process(db.session.get(RawMessage, row_id))
    except Exception as exc:
        db.session.rollback()
        error = str(exc) if isinstance(exc, Quarantine) else f"{type(exc).__name__}: {exc}"
        error = error.replace("\x00", "")[:4000]
        log.warning("raw message #%s quarantined: %s", row_id, error)
        try:
            db.session.execute(
                update(RawMessage)
                .where(RawMessage.id == row_id)
                .values(status="quarantined", error=error, processed_at=utcnow())
            )
            db.session.commit()
        except Exception:  # the database went away: the row stays 'stored' for a retry
            db.session.rollback()
            log.exception("could not quarantine raw message #%s", row_id)
            return IntakeResult(row_id, "stored", error=error)
        return IntakeResult(row_id, "quarantined", error=error)


def _attachment_cap() -> int:
    return int(setting("INTAKE_ATTACHMENTS_MAX_BYTES"))


def _parse(row: RawMessage):
    cap = _attachment_cap()
    if row.content is not None:
        return parse_bytes(row.content, attachment_cap=cap), row.content
    with store.open_path(row.path) as fh:
        return parse_stream(fh, attachment_cap=cap), None


def _process(row: RawMessage) -> IntakeResult:
    row_id = row.id
    mailbox = row.mailbox
    if mailbox is None:
        raise Quarantine(
            "no mailbox: the recipient address is not one of our mailboxes "
            "(choose one and re-process, or import with --mailbox)"
        )
    # 1. Duplicate check on (mailbox, Message-ID, sha256).
    flags: set[str] = set()
    conditions = [RawMessage.sha256 == row.sha256]
    if row.message_id_header:
        conditions.append(RawMessage.message_id_header == row.message_id_header)
    earlier = db.session.execute(
        select(RawMessage.id, RawMessage.sha256, RawMessage.case_id)
        .where(RawMessage.mailbox_id == row.mailbox_id, RawMessage.id < row_id, or_(*conditions))
        .order_by(RawMessage.id)
        .limit(10)
    ).all()
    same = next((e for e in earlier if e.sha256 == row.sha256), None)
    if same is not None:
        row.status, row.outcome, row.case_id = "duplicate", "duplicate", same.case_id
        row.error = f"identical to raw message #{same.id}"
        row.processed_at = utcnow()
        _commit()
        return IntakeResult(row_id, "duplicate", case_id=same.case_id)
    if earlier:
        flags.add("reused_message_id")

    # 2. Parse and classify.
    parsed, raw_bytes = _parse(row)
    flags |= hygiene.classify(parsed)
    if parsed.oversize:
        flags.add("oversize")
    report = None
    extra_ids = []
    if "bounce" in flags:
        report = bounces.analyse(parsed, raw_bytes)
        if report.original_message_id:
            extra_ids.append(report.original_message_id)

    # 3. Thread.
    match = mail_threading.find_case(parsed, recipient=row.recipient, extra_ids=extra_ids)
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
    new_case = case is None
    routing = None
    if new_case:
        routing = category_rules.route(parsed, mailbox, row.recipient)
        customer = _customer(parsed.from_address, parsed.from_name) if parsed.from_address else None
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
        )

    # 4. The message and its attachments.
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
        raw_message_id=row_id,
    )
    db.session.add(message)
    if parsed.attachments or parsed.html:
        # Attachment ids are only needed for the cid: links of an HTML body; without such
        # links the rows are written with the commit's flush (no extra flush per message).
        need_ids = bool(parsed.html) and "cid:" in parsed.html.lower()
        cids = _store_attachments(message, parsed.attachments, need_ids=need_ids)
        if parsed.html:
            from app.mail.sanitize import clean_html

            message.body_html = clean_html(
                parsed.html,
                cid_url=lambda cid: f"/mail/attachment/{cids[cid]}" if cid in cids else "",
                allow_remote_images=bool(setting("MAIL_ALLOW_REMOTE_IMAGES")),
            )

    # 5. Hygiene consequences, events, auto-response.
    details = {"raw_message": row_id, "flags": sorted(flags)}
    if match.rule:
        details["threaded_by"] = match.rule
    if match.refused:
        _record(db.session, case, "subject tag refused", details={"reason": match.refused})
    if routing is not None and routing.rule is not None:
        _record(db.session, case, "category rule", new=routing.rule.name)
    if report is not None and report.permanent:
        marked = _mark_undeliverable(report.permanent)
        _record(
            db.session,
            case,
            "bounce",
            new=", ".join(sorted(report.permanent)),
            details={"permanent": sorted(report.permanent), "marked": marked},
        )
    if flags & {"ooo", "auto_reply"} and not new_case:
        _record(db.session, case, "auto-reply received", details=details)
    if "reused_message_id" in flags:
        _record(db.session, case, "reused Message-ID", new=parsed.message_id, details=details)
    if case.id is None and not hygiene.suppresses_auto_response(flags):
        # An automatic mail will be queued: give the new case its id now, so the outbox row
        # is written complete (signed Message-ID, case tag) with the commit, instead of
        # being inserted with a placeholder and updated by a second flush.
        db.session.flush()
    if "oversize" in flags:
        _record(
            db.session,
            case,
            "attachments too large",
            details={"raw_message": row_id, "limit_bytes": _attachment_cap()},
        )
        if not hygiene.suppresses_auto_response(flags):
            autoresponse.queue_oversize_notice(case, parsed, mailbox, _attachment_cap())
    if reopened:
        details["reopened"] = True
    if new_case and not hygiene.suppresses_auto_response(flags):
        autoresponse.queue_auto_response(case, parsed, mailbox)

    row.status, row.error, row.processed_at = "processed", None, utcnow()
    row.case = case
    row.outcome = "new_case" if new_case else "threaded"
    row.add_flags(*flags)
    _commit()
    return IntakeResult(row_id, "processed", case_id=case.id, message_id=message.id)


def _customer(address: str, name: str | None) -> Customer:
    """The customer of an address, created when new. If another process creates him at the
    same moment, the commit fails with IntegrityError and ``process_raw`` runs once more and
    finds him (cheaper than a savepoint around every new customer)."""
    customer = db.session.scalar(select(Customer).where(Customer.email == address))
    if customer is None:
        customer = Customer(email=address, name=(name or None) and name[:256])
        db.session.add(customer)
    return customer


def _mark_undeliverable(addresses) -> list[str]:
    marked = []
    for customer in db.session.scalars(select(Customer).where(Customer.email.in_(addresses))):
        if not customer.undeliverable:
            customer.undeliverable = True
            marked.append(customer.email)
    return marked


def _store_attachments(message: Message, attachments, need_ids: bool = True) -> dict[str, int]:
    """Files into the store, rows into ``attachment``; winmail.dat expanded beside itself.
    Returns {content-id: attachment id} for the cid: links of the HTML body (flushing for
    the ids only when ``need_ids``)."""
    cids: dict[str, int] = {}
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
    if not need_ids or not any(row.content_id for row in rows):
        return cids
    db.session.flush()
    for row in rows:
        if row.content_id:
            cids[row.content_id] = row.id
    return cids


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

"""Deliver due outbox rows over SMTP, with retries, back-off and no double sending.

One delivery round:

1. **Claim** up to ``OUTBOX_BATCH_SIZE`` due rows and commit: ``SELECT id … WHERE
   status='queued' AND next_attempt_at<=now … LIMIT n FOR UPDATE SKIP LOCKED``, then
   ``UPDATE outbox_mail SET status='sending', claim_token=…, attempts=attempts+1,
   next_attempt_at=now+lease WHERE id IN (…) AND <still due> RETURNING id``. On PostgreSQL
   the row locks make concurrent workers pick different rows; on SQLite (one writer at a
   time, FOR UPDATE ignored) the UPDATE re-checks that each row is still due, so a row another
   worker took in between is simply not returned. Either way two workers never own a row.
2. **Hand over** the rows to SMTP, one connection per relay (the global relay or a mailbox's
   own), in groups of ``OUTBOX_HANDOVER_GROUP``: one commit before each group records the
   outcomes of the previous group, stamps ``handed_over_at`` on the rows about to be sent and
   renews the lease. So a round costs one commit per group, not per mail.
3. **Outcome** per row, each with an Event on the case: ``sent`` (with the relay's answer);
   temporary failure (relay down, 4xx) → back to ``queued`` with exponential back-off
   (``mail.deferred``, with the error and the next try), or ``failed`` after
   ``OUTBOX_MAX_ATTEMPTS``; permanent failure (5xx) → ``failed`` at once.

**Interrupted deliveries.** A worker that dies between the relay's "250 OK" and the commit that
marks the row sent leaves it in ``sending``. Nobody touches it while its lease runs. After the
lease, a row that never reached the hand-over step (``handed_over_at`` empty) is simply sent;
a row that did may or may not have been delivered, and ``OUTBOX_INTERRUPTED`` decides:

* ``fail`` (default, *at most once*): the row becomes ``failed`` with a message saying it may
  have been delivered; it shows on the case and in the Outbox view, and a person decides with
  the Retry button. The customer never gets the same mail twice.
* ``resend`` (*at least once*): the row is sent again with the SAME bytes and Message-ID, so
  the receiving side (our own intake, and clients that thread by Message-ID) sees one mail.

Only the rows of one hand-over group (at most ``OUTBOX_HANDOVER_GROUP``) can ever be in that
state after a crash. An exception inside a live worker is not a crash: the rows it already
handed over keep their outcome and are marked in the ``finally`` step.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, bindparam, or_, select, update

from app.audit.models import Event
from app.core.timeutil import utcnow
from app.extensions import db
from app.mailcore.models import Mailbox
from app.outbox.models import OutboxMail, OutboxStatus
from app.outbox.settings import setting
from app.outbox.smtp import (
    HeldForReconnect,
    PermanentFailure,
    SmtpSession,
    TemporaryFailure,
    relay_for,
)

log = logging.getLogger(__name__)

T = OutboxMail.__table__
INTERRUPTED_MESSAGE = (
    "Delivery was interrupted during the SMTP hand-over (the worker stopped); the mail may "
    "have reached the customer. Check before pressing Retry."
)


@dataclass
class RoundReport:
    """What one or more delivery rounds did."""

    claimed: int = 0
    sent: int = 0
    deferred: int = 0  # temporary failure, will be retried
    failed: int = 0
    interrupted: int = 0  # rows of a dead worker resolved as failed (at most once)
    held: int = 0  # their mailbox needs an OAuth2 reconnect: queued again, no attempt counted

    def add(self, other: RoundReport) -> None:
        for name in ("claimed", "sent", "deferred", "failed", "interrupted", "held"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        return {
            n: getattr(self, n)
            for n in ("claimed", "sent", "deferred", "failed", "interrupted", "held")
        }


@dataclass
class _Row:
    id: int
    case_id: int | None
    mailbox_id: int | None
    kind: str
    sender: str
    envelope_from: str | None
    recipients: list[str]
    recipient: str
    content: bytes | None
    attempts: int


def backoff_seconds(attempts: int) -> int:
    """Wait before the next try after ``attempts`` tries: 30 s, 60 s, 120 s, … capped."""
    base = int(setting("OUTBOX_RETRY_BASE_SECONDS"))
    return min(base * 2 ** max(attempts - 1, 0), int(setting("OUTBOX_RETRY_MAX_SECONDS")))


# --- claiming ---------------------------------------------------------------------------------


def _due(now):
    """Rows to claim: queued and due, or 'sending' with an expired lease (a dead worker's)."""
    stale = and_(T.c.status == OutboxStatus.SENDING, T.c.next_attempt_at <= now)
    if setting("OUTBOX_INTERRUPTED") != "resend":
        stale = and_(stale, T.c.handed_over_at.is_(None))
    return or_(and_(T.c.status == OutboxStatus.QUEUED, T.c.next_attempt_at <= now), stale)


def claim(limit: int, *, only_ids=None) -> tuple[str, list[int]]:
    """Atomically take up to ``limit`` due rows for this round; commit; return (token, ids)."""
    now = utcnow()
    token = secrets.token_hex(16)
    due = _due(now)
    candidates = select(T.c.id).where(due)
    if only_ids is not None:
        candidates = candidates.where(T.c.id.in_(list(only_ids)))
    candidates = (
        candidates.order_by(T.c.next_attempt_at, T.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    try:
        # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT … SKIP LOCKED): PostgreSQL
        # may re-run such a sub-select per row and then ignore the LIMIT.
        claimed = []
        for _race in range(5):  # SQLite: another worker took all candidates; look again
            ids = list(db.session.execute(candidates).scalars())
            if not ids:
                break
            stmt = (
                update(T)
                .where(T.c.id.in_(ids), due)  # re-checked: a row another worker took is skipped
                .values(
                    status=OutboxStatus.SENDING,
                    claim_token=token,
                    attempts=T.c.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=int(setting("OUTBOX_LEASE_SECONDS"))),
                    handed_over_at=None,
                )
                .returning(T.c.id)
            )
            claimed = sorted(db.session.execute(stmt).scalars())
            if claimed:
                break
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return token, claimed


def resolve_interrupted() -> int:
    """Rows a dead worker left mid-hand-over: fail them (at most once) so a person decides.

    With ``OUTBOX_INTERRUPTED = "resend"`` they are claimed again by ``claim`` instead.
    """
    if setting("OUTBOX_INTERRUPTED") == "resend":
        return 0
    now = utcnow()
    stuck = and_(
        T.c.status == OutboxStatus.SENDING,
        T.c.next_attempt_at <= now,
        T.c.handed_over_at.is_not(None),
    )
    rows = db.session.execute(
        select(T.c.id, T.c.case_id, T.c.recipient, T.c.kind, T.c.claim_token).where(stuck)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    done = []
    for row in rows:
        result = db.session.execute(
            update(T)
            .where(T.c.id == row.id, T.c.claim_token == row.claim_token, stuck)
            .values(status=OutboxStatus.FAILED, last_error=INTERRUPTED_MESSAGE, claim_token=None)
        )
        if result.rowcount:
            done.append(row)
    _events(
        [
            (
                r.id,
                r.case_id,
                "mail.interrupted",
                r.recipient,
                {"kind": r.kind, "error": INTERRUPTED_MESSAGE},
            )
            for r in done
        ]
    )
    db.session.commit()
    return len(done)


# --- outcomes ---------------------------------------------------------------------------------


def _events(items) -> None:
    """Insert Events (id, case_id, action, value, details) for rows, as the system."""
    if not items:
        return
    now = utcnow()
    db.session.execute(
        Event.__table__.insert(),
        [
            {
                "created_at": now,
                "actor_id": None,
                "actor_name": "system",
                "case_id": case_id,
                "object_type": "outbox_mail",
                "object_id": row_id,
                "action": action,
                "field": None,
                "old_value": None,
                "new_value": value,
                "details": details,
            }
            for row_id, case_id, action, value, details in items
        ],
    )


@dataclass
class _Outcomes:
    """Outcomes collected during a round, written with the next commit."""

    token: str
    report: RoundReport
    sent: list = field(default_factory=list)
    retry: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    held: list = field(default_factory=list)

    def mark_held(self, row: _Row, error: str) -> None:
        """Back to the queue without counting the attempt: never fails for this reason."""
        self.held.append((row, error))

    def mark_sent(self, row: _Row, reply: str) -> None:
        self.sent.append((row, reply))

    def mark_temporary(self, row: _Row, error: str) -> None:
        if row.attempts >= int(setting("OUTBOX_MAX_ATTEMPTS")):
            self.failed.append((row, f"gave up after {row.attempts} attempts: {error}"))
        else:
            self.retry.append((row, error))

    def mark_permanent(self, row: _Row, error: str) -> None:
        self.failed.append((row, error))

    def write(self, *, handover_ids=(), renew: bool = True) -> None:
        """One commit: outcomes so far, the hand-over stamp of the next group, the lease."""
        now = utcnow()
        mine = and_(
            T.c.id == bindparam("b_id"),
            T.c.claim_token == self.token,
            T.c.status == OutboxStatus.SENDING,
        )
        if self.sent:
            db.session.execute(
                update(T)
                .where(mine)
                .values(
                    status=OutboxStatus.SENT,
                    sent_at=now,
                    smtp_reply=bindparam("b_reply"),
                    last_error=None,
                    claim_token=None,
                ),
                [{"b_id": r.id, "b_reply": reply} for r, reply in self.sent],
            )
        next_tries = {
            r.id: now + timedelta(seconds=backoff_seconds(r.attempts)) for r, _ in self.retry
        }
        if self.retry:
            db.session.execute(
                update(T)
                .where(mine)
                .values(
                    status=OutboxStatus.QUEUED,
                    next_attempt_at=bindparam("b_next"),
                    last_error=bindparam("b_error"),
                    claim_token=None,
                    handed_over_at=None,
                ),
                [
                    {"b_id": r.id, "b_error": error[:2000], "b_next": next_tries[r.id]}
                    for r, error in self.retry
                ],
            )
        if self.held:
            db.session.execute(
                update(T)
                .where(mine)
                .values(
                    status=OutboxStatus.QUEUED,
                    attempts=T.c.attempts - 1,
                    next_attempt_at=now + timedelta(seconds=int(setting("OAUTH_HOLD_SECONDS"))),
                    last_error=bindparam("b_error"),
                    claim_token=None,
                    handed_over_at=None,
                ),
                [{"b_id": r.id, "b_error": error[:2000]} for r, error in self.held],
            )
        if self.failed:
            db.session.execute(
                update(T)
                .where(mine)
                .values(
                    status=OutboxStatus.FAILED, last_error=bindparam("b_error"), claim_token=None
                ),
                [{"b_id": r.id, "b_error": error[:2000]} for r, error in self.failed],
            )
        _events(
            [
                (r.id, r.case_id, "mail.sent", r.recipient, {"kind": r.kind, "smtp": reply})
                for r, reply in self.sent
            ]
            + [
                (
                    r.id,
                    r.case_id,
                    "mail.deferred",
                    r.recipient,
                    {
                        "kind": r.kind,
                        "error": error[:2000],
                        "attempts": r.attempts,
                        "next_attempt_at": next_tries[r.id].isoformat(sep=" ", timespec="seconds"),
                    },
                )
                for r, error in self.retry
            ]
            + [
                (r.id, r.case_id, "mail.failed", r.recipient, {"kind": r.kind, "error": error})
                for r, error in self.failed
            ]
        )
        if handover_ids:
            db.session.execute(
                update(T)
                .where(T.c.id.in_(list(handover_ids)), T.c.claim_token == self.token)
                .values(handed_over_at=now)
            )
        if renew:
            lease = now + timedelta(seconds=int(setting("OUTBOX_LEASE_SECONDS")))
            db.session.execute(
                update(T)
                .where(T.c.claim_token == self.token, T.c.status == OutboxStatus.SENDING)
                .values(next_attempt_at=lease)
            )
        db.session.commit()
        self.report.sent += len(self.sent)
        self.report.deferred += len(self.retry)
        self.report.failed += len(self.failed)
        self.report.held += len(self.held)
        self.sent, self.retry, self.failed, self.held = [], [], [], []


# --- the round --------------------------------------------------------------------------------


def _load(ids: list[int]) -> tuple[list[_Row], dict]:
    rows = [
        _Row(
            r.id,
            r.case_id,
            r.mailbox_id,
            r.kind,
            r.sender,
            r.envelope_from,
            [a.strip() for a in (r.recipients or "").split(",") if a.strip()],
            r.recipient,
            r.content,
            r.attempts,
        )
        for r in db.session.execute(
            select(
                T.c.id,
                T.c.case_id,
                T.c.mailbox_id,
                T.c.kind,
                T.c.sender,
                T.c.envelope_from,
                T.c.recipients,
                T.c.recipient,
                T.c.content,
                T.c.attempts,
            )
            .where(T.c.id.in_(ids))
            .order_by(T.c.id)
        )
    ]
    relays = {}
    mailbox_ids = {r.mailbox_id for r in rows if r.mailbox_id}
    mailboxes = (
        {m.id: m for m in db.session.scalars(select(Mailbox).where(Mailbox.id.in_(mailbox_ids)))}
        if mailbox_ids
        else {}
    )
    for r in rows:
        try:
            relays[r.id] = relay_for(mailboxes.get(r.mailbox_id))
        except (PermanentFailure, TemporaryFailure, HeldForReconnect) as exc:
            relays[r.id] = exc
    db.session.rollback()  # end the read transaction before talking SMTP
    return rows, relays


def deliver_claimed(token: str, ids: list[int], report: RoundReport | None = None) -> RoundReport:
    """Send the rows of one claim; every outcome is committed, even if this raises."""
    report = report or RoundReport()
    report.claimed += len(ids)
    rows, relays = _load(ids)
    outcomes = _Outcomes(token, report)
    group_size = max(int(setting("OUTBOX_HANDOVER_GROUP")), 1)
    by_relay: dict = {}
    for row in rows:
        relay = relays[row.id]
        if isinstance(relay, HeldForReconnect):
            outcomes.mark_held(row, str(relay))
        elif isinstance(relay, TemporaryFailure):
            outcomes.mark_temporary(row, str(relay))
        elif isinstance(relay, Exception):
            outcomes.mark_permanent(row, str(relay))
        elif row.content is None:
            outcomes.mark_permanent(row, "no message content to send (row was not built)")
        else:
            by_relay.setdefault(relay, []).append(row)
    try:
        for relay, group in by_relay.items():
            _send_group(relay, group, outcomes, group_size)
    finally:
        outcomes.write(renew=False)
    return report


def _send_group(relay, rows: list[_Row], outcomes: _Outcomes, group_size: int) -> None:
    session = SmtpSession(relay)
    down: str | None = None
    try:
        try:
            session.open()
        except TemporaryFailure as exc:
            down = str(exc)
        for start in range(0, len(rows), group_size):
            chunk = rows[start : start + group_size]
            if down is None:
                outcomes.write(handover_ids=[r.id for r in chunk])
            for row in chunk:
                if down is None and not session.alive:
                    try:
                        session.open()
                    except TemporaryFailure as exc:
                        down = str(exc)
                if down is not None:
                    outcomes.mark_temporary(row, down)
                    continue
                try:
                    envelope_from = row.sender if row.envelope_from is None else row.envelope_from
                    reply = session.send(envelope_from, row.recipients, row.content)
                except TemporaryFailure as exc:
                    outcomes.mark_temporary(row, str(exc))
                except PermanentFailure as exc:
                    outcomes.mark_permanent(row, str(exc))
                else:
                    outcomes.mark_sent(row, reply)
    finally:
        session.close()


def deliver_due(*, max_rows: int | None = None, batch_size: int | None = None) -> RoundReport:
    """Deliver everything that is due now (or up to ``max_rows``); return what happened."""
    report = RoundReport()
    report.interrupted += resolve_interrupted()
    batch_size = batch_size or int(setting("OUTBOX_BATCH_SIZE"))
    while max_rows is None or report.claimed < max_rows:
        limit = batch_size if max_rows is None else min(batch_size, max_rows - report.claimed)
        token, ids = claim(limit)
        if not ids:
            break
        deliver_claimed(token, ids, report)
    return report


def deliver_one(outbox_id: int) -> RoundReport:
    """Deliver one row now if it is due (and nobody else is sending it)."""
    report = RoundReport()
    token, ids = claim(1, only_ids=[outbox_id])
    if ids:
        deliver_claimed(token, ids, report)
    return report

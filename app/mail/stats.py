"""Intake counters since the start, derived from database rows so they survive restarts and
count every process (pipe, webhook, import, fetch) alike."""

from __future__ import annotations

from sqlalchemy import case, func, select

from app.extensions import db
from app.mail.models import RawMessage, RawMessageOutcome, RawMessageStatus
from app.outbox.models import OutboxMail, OutboxStatus


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def intake_stats() -> dict[str, int]:
    """``new_cases`` counts only mail that opened a case; ``automatic`` is machine mail
    (auto-replies, bounces, bulk, loops) that threaded to no case and so opened none, while
    ``auto_replies_detected`` and ``bounces`` count such mail wherever it went."""
    flags = func.coalesce(RawMessage.flags, "")
    row = db.session.execute(
        select(
            func.count(RawMessage.id),
            _count(RawMessage.outcome == RawMessageOutcome.NEW_CASE),
            _count(RawMessage.outcome == RawMessageOutcome.THREADED),
            _count(RawMessage.status == RawMessageStatus.AUTOMATIC),
            _count(RawMessage.status == RawMessageStatus.DUPLICATE),
            _count(RawMessage.status == RawMessageStatus.QUARANTINED),
            _count(RawMessage.status == RawMessageStatus.STORED),
            _count(flags.like("%auto_reply%") | flags.like("%ooo%")),
            _count(flags.like("%bounce%")),
        )
    ).one()
    sent, suppressed = db.session.execute(
        select(
            _count(OutboxMail.status != OutboxStatus.SUPPRESSED),
            _count(OutboxMail.status == OutboxStatus.SUPPRESSED),
        ).where(OutboxMail.kind == "auto_response")
    ).one()
    names = (
        "received",
        "new_cases",
        "threaded",
        "automatic",
        "duplicates",
        "quarantined",
        "pending",
        "auto_replies_detected",
        "bounces",
    )
    stats = {name: int(value or 0) for name, value in zip(names, row, strict=True)}
    # Every received message is stored before anything else happens (store first).
    stats["stored"] = stats["received"]
    stats["auto_responses_sent"] = int(sent or 0)
    stats["auto_responses_suppressed"] = int(suppressed or 0)
    return stats

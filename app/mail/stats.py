"""Intake counters since the start, derived from database rows so they survive restarts and
count every process (pipe, webhook, import, fetch) alike."""

from __future__ import annotations

from sqlalchemy import case, func, select

from app.extensions import db


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def intake_stats() -> dict[str, int]:
    from app.mail.models import RawMessage
    from app.outbox.models import OutboxMail, OutboxStatus

    flags = func.coalesce(RawMessage.flags, "")
    row = db.session.execute(
        select(
            func.count(RawMessage.id),
            _count(RawMessage.status != "stored"),
            _count(RawMessage.outcome == "new_case"),
            _count(RawMessage.outcome == "threaded"),
            _count(RawMessage.status == "duplicate"),
            _count(RawMessage.status == "quarantined"),
            _count(RawMessage.status == "stored"),
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
        "processed_or_held",
        "new_cases",
        "threaded",
        "duplicates",
        "quarantined",
        "pending",
        "auto_replies_detected",
        "bounces",
    )
    stats = {name: int(value or 0) for name, value in zip(names, row, strict=True)}
    # Every received message is stored before anything else happens (store first).
    stats["stored"] = stats["received"]
    del stats["processed_or_held"]
    stats["auto_responses_sent"] = int(sent or 0)
    stats["auto_responses_suppressed"] = int(suppressed or 0)
    return stats

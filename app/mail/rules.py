"""Category rules: supervisors route new cases from mail without code.

A rule names conditions (sender, recipient, subject, body keywords, a header value; all
case-insensitive, every filled-in condition must match) and actions (pool, topic, skill,
priority). Active rules are tried by ``position``; the first that matches decides. A rule
owned by a pool applies only to mail that arrives in that pool's mailboxes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import or_, select

from app.extensions import db
from app.mail.models import CategoryRule


@dataclass
class Routing:
    pool: object
    topic: object = None
    skill: object = None
    priority: int | None = None
    rule: CategoryRule | None = None


def _contains(needle: str | None, *haystacks: str | None) -> bool:
    if not needle:
        return True
    needle = needle.strip().lower()
    return any(needle in (h or "").lower() for h in haystacks)


def matches(rule: CategoryRule, parsed, recipient: str | None = None) -> bool:
    if not _contains(rule.sender_contains, parsed.from_address, parsed.from_name):
        return False
    if rule.recipient_contains and not _contains(
        rule.recipient_contains, recipient, *parsed.to, *parsed.cc
    ):
        return False
    if not _contains(rule.subject_contains, parsed.subject):
        return False
    if rule.body_keywords:
        words = [w.strip().lower() for w in rule.body_keywords.split(",") if w.strip()]
        body = (parsed.text or "").lower()
        if words and not any(w in body for w in words):
            return False
    if rule.header_name:
        values = parsed.headers.get(rule.header_name.strip().lower(), [])
        if not values:
            return False
        if rule.header_value and not any(_contains(rule.header_value, v) for v in values):
            return False
    return True


def _active_rule_ids(pool_id: int) -> list[int]:
    """Ids of the rules that apply to a pool's mailboxes, in order; cached on the session for
    a few seconds (a session lives for one request, job or import run)."""
    cache = db.session.info.setdefault("loopdesk_category_rules", {})
    hit = cache.get(pool_id)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    stmt = (
        select(CategoryRule.id)
        .where(
            CategoryRule.active.is_(True),
            or_(CategoryRule.owner_pool_id.is_(None), CategoryRule.owner_pool_id == pool_id),
        )
        .order_by(CategoryRule.position, CategoryRule.id)
    )
    ids = list(db.session.scalars(stmt))
    cache[pool_id] = (now + 5, ids)
    return ids


def route(parsed, mailbox, recipient: str | None = None) -> Routing:
    """Pool, topic, skill and priority for a new case from ``parsed`` in ``mailbox``."""
    for rule_id in _active_rule_ids(mailbox.pool_id):
        rule = db.session.get(CategoryRule, rule_id)
        if rule is not None and rule.active and matches(rule, parsed, recipient):
            return Routing(
                pool=rule.set_pool or mailbox.pool,
                topic=rule.set_topic,
                skill=rule.set_skill,
                priority=rule.set_priority,
                rule=rule,
            )
    return Routing(pool=mailbox.pool)

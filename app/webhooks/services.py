"""Subscriptions and deliveries: what the admin's pages (and the CLI, and tests) call.

Only admins manage webhooks: they reach every case's summary, customers' addresses
included, in a system outside the desk. Every change is an Event.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select

from app.audit.actor import current_actor, is_system
from app.audit.tracking import record_event
from app.core.timeutil import utcnow
from app.errors import AccessDenied, DeskError, Forbidden
from app.extensions import db
from app.jobs.queue import enqueue
from app.security.roles import ADMIN, role_names
from app.security.rules import visible
from app.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
)
from app.webhooks.tasks import QUEUE, deliver_webhook

SECRET_PREFIX = "whsec_"
NAME_MAX = 128
URL_MAX = 2000


def ensure_admin(user=None) -> None:
    user = current_actor() if user is None else user
    if user is None and is_system():
        return
    if ADMIN not in role_names(user):
        raise Forbidden("Only an admin manages webhooks.")


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _clean(name, url, event_types) -> tuple[str, str, list[str]]:
    problems = []
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        problems.append("a name")
    elif len(name) > NAME_MAX:
        problems.append(f"a name of at most {NAME_MAX} characters")
    url = (url or "").strip() if isinstance(url, str) else ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > URL_MAX:
        problems.append("an http:// or https:// URL")
    known = {t.value for t in WebhookEventType}
    types = [str(t) for t in (event_types or [])]
    unknown = sorted(set(types) - known)
    if unknown:
        problems.append(f"known event types (not {', '.join(unknown)})")
    elif not types:
        problems.append("at least one event type")
    if problems:
        raise DeskError("A webhook needs " + "; ".join(problems) + ".")
    return name, url, [t.value for t in WebhookEventType if t.value in types]


def subscribe(
    name, url, event_types: Iterable[str], *, secret: str | None = None, active: bool = True
) -> tuple[WebhookSubscription, str]:
    """A new subscription; returns it and its secret (shown to the admin once)."""
    ensure_admin()
    name, url, types = _clean(name, url, event_types)
    secret = (secret or "").strip() or new_secret()
    if len(secret) < 16:
        raise DeskError("A webhook secret needs at least 16 characters.")
    actor = current_actor()
    subscription = WebhookSubscription(
        name=name,
        url=url,
        secret=secret,
        event_types=types,
        active=bool(active),
        created_at=utcnow(),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(subscription)
    db.session.flush()
    record_event(db.session, subscription, "webhook.subscribed", new=url, details={"events": types})
    db.session.commit()
    return subscription, secret


def change(subscription: WebhookSubscription, *, name, url, event_types, active) -> None:
    ensure_admin()
    name, url, types = _clean(name, url, event_types)
    before = {
        "name": subscription.name,
        "url": subscription.url,
        "events": subscription.event_types,
        "active": subscription.active,
    }
    subscription.name, subscription.url = name, url
    subscription.event_types, subscription.active = types, bool(active)
    after = {"name": name, "url": url, "events": types, "active": bool(active)}
    if before != after:
        record_event(
            db.session, subscription, "webhook.changed", details={"before": before, "after": after}
        )
    db.session.commit()


def rotate_secret(subscription: WebhookSubscription) -> str:
    """A new secret (returned once); deliveries signed from now on use it."""
    ensure_admin()
    secret = new_secret()
    subscription.secret = secret
    record_event(db.session, subscription, "webhook.secret_rotated")
    db.session.commit()
    return secret


def subscriptions() -> list[WebhookSubscription]:
    ensure_admin()
    stmt = visible(select(WebhookSubscription), WebhookSubscription).order_by(
        WebhookSubscription.id
    )
    return list(db.session.scalars(stmt))


def get_subscription(pk) -> WebhookSubscription:
    ensure_admin()
    stmt = visible(
        select(WebhookSubscription).where(WebhookSubscription.id == pk), WebhookSubscription
    )
    found = db.session.scalars(stmt).first()
    if found is None:
        raise AccessDenied("No such webhook.")
    return found


def deliveries(subscription: WebhookSubscription, limit: int = 100) -> list[WebhookDelivery]:
    ensure_admin()
    stmt = (
        visible(select(WebhookDelivery), WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def get_delivery(pk) -> WebhookDelivery:
    ensure_admin()
    stmt = visible(select(WebhookDelivery).where(WebhookDelivery.id == pk), WebhookDelivery)
    found = db.session.scalars(stmt).first()
    if found is None:
        raise AccessDenied("No such delivery.")
    return found


def replay(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now: a new attempt with the same body and a fresh signature.

    A delivered one becomes pending again; a pending one (its receiver was down) is tried
    now instead of at its back-off time. Either way the attempt is logged as a replay."""
    ensure_admin()
    if not delivery.subscription.active:
        raise DeskError("This webhook is inactive: activate it to replay its deliveries.")
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = utcnow()
    delivery.claim_token = None
    delivery.replay_requested = True
    record_event(db.session, delivery, "webhook.replayed", new=delivery.event_type)
    db.session.commit()
    try:
        enqueue(deliver_webhook, delivery.id, queue=QUEUE, job_result_ttl=60)
    except Exception:  # noqa: BLE001 - Redis down: the periodic round sends it
        pass
    return delivery

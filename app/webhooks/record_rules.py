"""Record rules of the webhooks: admins only (and the desk itself, whose jobs deliver).

Not ``record_rule``'s common head: that lets managers see every row, and a delivery's body
holds customers' addresses and mail texts bound for another system."""

from __future__ import annotations

from sqlalchemy import false, true

from app.audit.actor import is_system
from app.security.roles import ADMIN, role_names
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


def admins_only(user):
    if user is None:
        return true() if is_system() else false()
    return true() if ADMIN in role_names(user) else false()


RULES = {
    WebhookSubscription: admins_only,
    WebhookDelivery: admins_only,
    WebhookAttempt: admins_only,
}

"""The signed link to a case in the customer portal, and what the customer sees there.

Replies in "link" mode mail only a notice with this link; the portal page shows the case's
mail thread read-only, never internal notes or consultations.
"""

from __future__ import annotations

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from app.cases.models import Case, Message, MessageDirection
from app.extensions import db

PORTAL_CASE_PATH = "/portal/case/"


def _portal_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="loopdesk-portal-case")


def portal_token(case: Case) -> str:
    return _portal_serializer().dumps({"case": case.id})


def case_from_portal_token(token: str) -> Case | None:
    """The case a signed portal token names, or None for a forged or damaged token."""
    try:
        data = _portal_serializer().loads(token)
    except BadSignature:
        return None
    case_id = data.get("case") if isinstance(data, dict) else None
    return db.session.get(Case, case_id) if isinstance(case_id, int) else None


def portal_link(case: Case) -> str:
    """Absolute link to the case in the customer portal (``DESK_BASE_URL`` outside requests)."""
    token = portal_token(case)
    base = current_app.config.get("DESK_BASE_URL")
    if base:
        return base.rstrip("/") + PORTAL_CASE_PATH + token
    if has_request_context():
        return url_for("answering_portal.case", token=token, _external=True)
    return "http://localhost:5000" + PORTAL_CASE_PATH + token


def portal_thread(case: Case) -> list[Message]:
    """What the customer sees: mail in and out, never internal notes or consultations."""
    return list(
        db.session.scalars(
            select(Message)
            .where(
                Message.case_id == case.id,
                Message.direction.in_((MessageDirection.INBOUND, MessageDirection.OUTBOUND)),
            )
            .order_by(Message.created_at, Message.id)
        )
    )

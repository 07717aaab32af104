"""The signed link to a case in the customer portal, and what the customer sees there.

Replies in "link" mode mail only a notice with this link; the portal page shows the case's
mail thread read-only, never internal notes or consultations, lets the customer close his
case, and, once it is closed, offers the exit survey (``<link>/survey``, answered once).

A link is signed and dated: it opens the case for ``PORTAL_LINK_MAX_AGE_DAYS`` days (90 by
default), so a mail forwarded or found years later does not open the case. An expired link
(or one from before links were dated) still names its case, so its page offers a fresh link,
mailed to the customer's address on file, never to an address the visitor types.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import inspect, select

from app.answering.settings import setting
from app.cases.models import Case, Message, MessageDirection
from app.core.urls import desk_base_url
from app.extensions import db
from app.questionnaires import services as questionnaires

PORTAL_CASE_PATH = "/portal/case/"
SURVEY_SUFFIX = "/survey"
_SALT = "loopdesk-portal-case"


@dataclass(frozen=True)
class PortalLink:
    """What a portal token says: the case it names, and whether it is past its age."""

    case: Case
    expired: bool


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _undated_serializer() -> URLSafeSerializer:
    """Links mailed before they carried a date: still recognised, always expired."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def portal_token(case: Case) -> str:
    # The id from the identity map: a case just committed is not loaded again for it.
    identity = inspect(case).identity
    return _serializer().dumps({"case": identity[0] if identity else case.id})


def max_age_seconds() -> int:
    return setting("PORTAL_LINK_MAX_AGE_DAYS") * 86400


def read_portal_token(token: str) -> PortalLink | None:
    """The case a signed portal token names and whether the link has expired, or None for a
    forged or damaged token (and for a case that does not exist)."""
    expired = False
    try:
        data = _serializer().loads(token, max_age=max_age_seconds())
    except SignatureExpired as exc:  # the signature is good: only its age is over
        data, expired = _serializer().load_payload(exc.payload), True
    except BadSignature:
        try:
            data, expired = _undated_serializer().loads(token), True
        except BadSignature:
            return None
    case_id = data.get("case") if isinstance(data, dict) else None
    case = db.session.get(Case, case_id) if isinstance(case_id, int) else None
    return PortalLink(case, expired) if case is not None else None


def case_from_portal_token(token: str) -> Case | None:
    """The case a valid, unexpired portal token names; None otherwise."""
    link = read_portal_token(token)
    return link.case if link is not None and not link.expired else None


def portal_link(case: Case) -> str:
    """Absolute link to the case in the customer portal, valid for the configured days: at
    ``DESK_BASE_URL``, else at the address the desk is reached at (``app.core.urls``)."""
    return desk_base_url() + PORTAL_CASE_PATH + portal_token(case)


def survey_link(case: Case) -> str:
    """Absolute link to the exit survey of the case in the portal, or "" when its pool (or
    mailbox) has none, or the customer answered it already."""
    if not questionnaires.has_exit_survey(case) or questionnaires.survey_answered(case):
        return ""
    return portal_link(case) + SURVEY_SUFFIX


def rating_links(case: Case) -> str:
    """Five lines ``N: <survey link>?rating=N`` (1 to 5) for the closing notice, or "" when
    there is no survey to answer. A rating link only opens the survey with that rating
    ticked; nothing is recorded until the customer submits the form (mail scanners follow
    links)."""
    link = survey_link(case)
    if not link:
        return ""
    return "\n".join(f"{n}: {link}?rating={n}" for n in range(1, 6))


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

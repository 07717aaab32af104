"""Make, list, revoke and check API keys. Only admins make and revoke keys.

A key is ``ldk_`` and 32 random bytes (url-safe base64). The desk stores its SHA-256, looks
a presented key up by that hash and compares in constant time (``hmac.compare_digest``):
the key has 256 random bits, so a fast hash is enough, and the plain key exists nowhere but
with the client. ``authenticate`` is handed to the REST API's door
(``app.security.api_key_auth``) when a desk starts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from app.apikeys.models import DeskApiKey
from app.audit.actor import current_actor, is_system
from app.audit.tracking import record_event
from app.core.timeutil import utcnow
from app.errors import AccessDenied, Conflict, DeskError, Forbidden
from app.extensions import appbuilder, db
from app.security import api_key_auth
from app.security.roles import ADMIN, DESK_ROLES, role_names

PREFIX_LENGTH = 12  # "ldk_" and 8 characters of the key, shown in lists
NAME_MAX = 128
LAST_USED_EVERY = timedelta(minutes=1)  # at most one write per key and minute


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_admin() -> None:
    user = current_actor()
    if user is None and is_system():
        return
    if ADMIN not in role_names(user):
        raise Forbidden("Only an admin manages API keys.")


def create_key(name, user, role_name) -> tuple[DeskApiKey, str]:
    """A new key for ``user`` acting as ``role_name`` (one of his desk roles); returns the
    row and the key, which is shown once and never stored."""
    ensure_admin()
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX:
        raise DeskError(f"An API key needs a name of 1 to {NAME_MAX} characters.")
    if user is None:
        raise DeskError("An API key needs an owner.")
    if role_name not in DESK_ROLES:
        raise DeskError(f"An API key's role is one of {', '.join(DESK_ROLES)}.")
    role = next((r for r in user.roles if r.name == role_name), None)
    if role is None:
        raise DeskError(
            f"{user.username} does not hold the role {role_name}: a key acts within one of "
            "its owner's roles."
        )
    key = api_key_auth.PREFIX + secrets.token_urlsafe(32)
    actor = current_actor()
    row = DeskApiKey(
        name=name,
        user_id=user.id,
        role_id=role.id,
        prefix=key[:PREFIX_LENGTH],
        key_hash=key_hash(key),
        created_at=utcnow(),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    record_event(
        db.session,
        row,
        "api_key.created",
        new=f"{row.prefix}… for {user.username} as {role_name}",
    )
    db.session.commit()
    return row, key


def revoke(row: DeskApiKey) -> DeskApiKey:
    ensure_admin()
    if row.revoked_at is not None:
        raise Conflict("This API key is revoked already.")
    row.revoked_at = utcnow()
    record_event(db.session, row, "api_key.revoked", old=f"{row.prefix}…")
    db.session.commit()
    return row


def keys() -> list[DeskApiKey]:
    ensure_admin()
    return list(db.session.scalars(select(DeskApiKey).order_by(DeskApiKey.id.desc())))


def get_key(pk) -> DeskApiKey:
    ensure_admin()
    row = db.session.get(DeskApiKey, pk)
    if row is None:
        raise AccessDenied("No such API key.")
    return row


def owners() -> list:
    """Users who may own a key: active ones with a desk role."""
    ensure_admin()
    user_model = appbuilder().sm.user_model
    users = db.session.scalars(select(user_model).order_by(user_model.username))
    return [u for u in users if u.active and {r.name for r in u.roles} & set(DESK_ROLES)]


def authenticate(key: str):
    """(owner, role name) of a valid key, or None (unknown, revoked, owner inactive or no
    longer in the key's role)."""
    if not key.startswith(api_key_auth.PREFIX) or len(key) > 200:
        return None
    digest = key_hash(key)
    row = db.session.scalars(select(DeskApiKey).where(DeskApiKey.key_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if row.revoked_at is not None:
        return None
    user, role = row.user, row.role
    if user is None or not user.active or role is None or role not in user.roles:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        db.session.execute(
            update(DeskApiKey).where(DeskApiKey.id == row.id).values(last_used_at=now)
        )
        db.session.commit()
    return user, role.name


def install() -> None:
    """The manifest's ``setup``: the REST API's door checks keys here."""
    api_key_auth.install_authenticator(authenticate)

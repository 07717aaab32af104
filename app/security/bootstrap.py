"""Create the desk roles and accounts. Used by ``flask desk init``, the demo seed and tests."""

from __future__ import annotations

import secrets

from flask import current_app

from app.extensions import appbuilder
from app.security.roles import DESK_ROLES


def ensure_roles() -> dict:
    """Make sure the role rows exist (their permissions live in code, see roles.py)."""
    sm = appbuilder().sm
    roles = {}
    for name in (*DESK_ROLES, sm.auth_role_public):
        roles[name] = sm.find_role(name) or sm.add_role(name)
    return roles


def create_user(
    username: str,
    role: str,
    *,
    password: str | None = None,
    email: str | None = None,
    first_name: str = "",
    last_name: str = "",
):
    """Create a login with one desk role; returns the user (existing users are returned as is)."""
    sm = appbuilder().sm
    existing = sm.find_user(username=username)
    if existing:
        return existing
    role_row = sm.find_role(role) or ensure_roles()[role]
    user = sm.add_user(
        username=username,
        first_name=first_name or username,
        last_name=last_name or "",
        email=email or f"{username}@{current_app.config['MAIL_DOMAIN']}",
        role=role_row,
        password=password or secrets.token_urlsafe(12),
    )
    if not user:
        raise RuntimeError(f"could not create user {username!r}")
    return user

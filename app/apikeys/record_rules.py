"""Record rule of API keys: admins only (managers, who see every row elsewhere, do not see
who holds which key)."""

from __future__ import annotations

from sqlalchemy import false, true

from app.apikeys.models import DeskApiKey
from app.audit.actor import is_system
from app.security.roles import ADMIN, role_names


def admins_only(user):
    if user is None:
        return true() if is_system() else false()
    return true() if ADMIN in role_names(user) else false()


RULES = {DeskApiKey: admins_only}

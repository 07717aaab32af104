"""The agent's side of the desk, written once: which pools a user works in and supervises.

Record rules, routing, approval and the configuration views all ask these functions instead
of joining memberships themselves.
"""

from __future__ import annotations

from sqlalchemy import select

from app.agents.models import AgentProfile, PoolMembership
from app.audit.actor import current_actor
from app.errors import AccessDenied
from app.extensions import db
from app.organisation.models import Pool
from app.security.roles import ADMIN, SUPERVISOR, role_names
from app.security.rules import request_cached, sees_everything


def member_pool_ids(user) -> list[int]:
    """Ids of the pools the user works in (any membership)."""
    if user is None or getattr(user, "id", None) is None:
        return []

    def compute():
        stmt = (
            select(PoolMembership.pool_id)
            .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
            .where(AgentProfile.user_id == user.id)
        )
        return sorted(set(db.session.scalars(stmt)))

    return request_cached("member_pools", user, compute)


def supervised_pool_ids(user) -> list[int]:
    """Ids of the pools the user may configure: all for admins and the desk itself, his own
    for supervisors, none for anyone else."""
    roles = role_names(user)
    if ADMIN in roles or (user is None and sees_everything(None)):
        return list(db.session.scalars(select(Pool.id)))
    if SUPERVISOR not in roles:
        return []

    def compute():
        stmt = (
            select(PoolMembership.pool_id)
            .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
            .where(AgentProfile.user_id == user.id, PoolMembership.is_supervisor.is_(True))
        )
        return sorted(set(db.session.scalars(stmt)))

    return request_cached("supervised_pools", user, compute)


def ensure_can_configure_pool(pool_id, user=None) -> None:
    """Refuse a change to pool ``pool_id``'s configuration unless ``user`` supervises it."""
    user = current_actor() if user is None else user
    if pool_id not in supervised_pool_ids(user):
        raise AccessDenied("Only a supervisor of this pool (or an admin) may change it.")

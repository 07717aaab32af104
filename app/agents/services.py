"""The agent's side of the desk, written once: which pools a user works in and supervises,
who may be given a case, and who may change a pool's configuration.

Record rules, routing, approval, the case actions and the configuration write rules all ask
these functions instead of joining memberships themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.agents.models import AgentProfile, PoolMembership
from app.audit.actor import current_actor
from app.errors import DeskError, Forbidden
from app.extensions import db
from app.organisation.models import Pool
from app.security.roles import ADMIN, SUPERVISOR, role_names
from app.security.rules import cached_until_write, request_cached, sees_everything


def member_pool_ids(user) -> list[int]:
    """Ids of the pools the user works in (any membership)."""
    if user is None or getattr(user, "id", None) is None:
        return []

    def compute():
        profile = profile_of(user)
        return sorted({m.pool_id for m in profile.memberships}) if profile else []

    return request_cached("member_pools", user, compute)


def skill_ids_of(user) -> set[int]:
    """Ids of the skills the user has (none without a desk profile)."""
    profile = profile_of(user)
    return {skill.id for skill in profile.skills} if profile else set()


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


def supervises(pool_id, user=None) -> bool:
    user = current_actor() if user is None else user
    return pool_id is not None and pool_id in supervised_pool_ids(user)


def ensure_can_configure_pool(pool_id, user=None) -> None:
    """Refuse a change to pool ``pool_id``'s configuration unless ``user`` supervises it."""
    if not supervises(pool_id, user):
        raise Forbidden("Only a supervisor of this pool (or an admin) may change it.")


def profile_of(user) -> AgentProfile | None:
    """The desk profile of a login (None for admins and managers without one), with his pool
    memberships and skills: a page asks for all three (the record rules, the desk bar's
    queue, the composer), so they come in one statement, read once per request until the
    session writes."""
    if user is None or getattr(user, "id", None) is None:
        return None
    stmt = (
        select(AgentProfile)
        .where(AgentProfile.user_id == user.id)
        .options(joinedload(AgentProfile.memberships), joinedload(AgentProfile.skills))
    )
    return cached_until_write(
        ("agent_profile", user.id), lambda: db.session.scalars(stmt).unique().first()
    )


def assignable_user(user_id: int, pool: Pool) -> User:
    """The active colleague ``user_id`` if he works in ``pool`` (active login and profile);
    otherwise a DeskError that says which of the two is missing."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise DeskError(f"No active colleague #{user_id}.")
    works = db.session.execute(
        select(PoolMembership.id)
        .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
        .where(
            AgentProfile.user_id == user.id,
            AgentProfile.active.is_(True),
            PoolMembership.pool_id == pool.id,
        )
    ).first()
    if works is None:
        raise DeskError(f"{user.username} does not work in pool {pool.name}.")
    return user


def works_in(user_id, pool_id) -> bool:
    """True when user ``user_id`` is a member of pool ``pool_id``."""
    if user_id is None or pool_id is None:
        return False
    return (
        db.session.execute(
            select(PoolMembership.id)
            .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
            .where(AgentProfile.user_id == user_id, PoolMembership.pool_id == pool_id)
        ).first()
        is not None
    )


# --- write rules: who may change a row of the configuration ------------------------------------
#
# A write rule is ``rule(row, user)`` and raises Forbidden with the reason; the base classes of
# every view and REST API (``app.core.views``) call it for the row as loaded and again for the
# row as it would be saved, so moving a row from someone else's pool into one's own is refused
# as well. Features list their rules next to their record rules (``WRITE_RULES``).


def _pool_id(row, attribute: str):
    related = getattr(row, attribute, None)
    if related is not None:
        return related.id
    return getattr(row, f"{attribute}_id", None)


def pool_write_rule(attribute: str = "pool", *, without_pool: str = "anyone") -> Callable:
    """Rows that belong to a pool through ``attribute``: only supervisors of that pool (and
    admins) change them. Rows without a pool: ``"anyone"`` whose role may edit the model, or
    ``"admins"`` only."""

    def rule(row, user) -> None:
        pool_id = _pool_id(row, attribute)
        if pool_id is None:
            if without_pool == "admins" and not (
                ADMIN in role_names(user) or (user is None and sees_everything(None))
            ):
                raise Forbidden("Choose the pool this belongs to; only admins keep desk-wide ones.")
            return
        ensure_can_configure_pool(pool_id, user)

    rule.__doc__ = f"Only a supervisor of the row's {attribute} (or an admin) may change it."
    return rule


def pool_itself_rule(row, user) -> None:
    """A pool: only its supervisors (and admins) change it; new pools are for admins."""
    if row.id is None:
        if ADMIN not in role_names(user) and not (user is None and sees_everything(None)):
            raise Forbidden("Only admins create pools.")
        return
    ensure_can_configure_pool(row.id, user)


def agent_write_rule(attribute: str | None = None) -> Callable:
    """An agent's settings (or a row hanging off an agent through ``attribute``): a supervisor
    changes those of the agents who work in a pool he supervises; an agent without any pool
    yet may be set up by any supervisor (who then adds him to a pool)."""

    def rule(row, user) -> None:
        agent = getattr(row, attribute) if attribute else row
        if agent is None:
            return
        pools = {m.pool_id for m in agent.memberships if m.pool_id is not None}
        if not pools:
            return
        if not pools & set(supervised_pool_ids(user)):
            raise Forbidden(
                f"Only a supervisor of one of {agent}'s pools (or an admin) may change this."
            )

    return rule


def absence_write_rule(row, user) -> None:
    """An absence: the agent records his own; a supervisor those of the agents of his pools
    (as ``agent_write_rule``); nobody else's."""
    agent = row.agent
    if agent is None and row.agent_id is not None:
        agent = db.session.get(AgentProfile, row.agent_id)
    if agent is not None and user is not None and agent.user_id == getattr(user, "id", None):
        return
    if agent is not None and ADMIN not in role_names(user) and SUPERVISOR not in role_names(user):
        if not (user is None and sees_everything(None)):
            raise Forbidden(f"Only {agent} himself or a supervisor of his pools may change this.")
    agent_write_rule("agent")(row, user)

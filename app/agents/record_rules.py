"""Record rules of pools, memberships, agents, absences and user accounts: colleagues see
each other through the pools they share."""

from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import or_, select

from app.agents.models import Absence, AgentProfile, PoolMembership
from app.agents.services import (
    absence_write_rule,
    agent_write_rule,
    ensure_can_configure_pool,
    member_pool_ids,
    pool_itself_rule,
    pool_write_rule,
)
from app.errors import Forbidden
from app.organisation.models import Pool, Topic
from app.organisation.topics import effective_pool_id
from app.security.roles import ADMIN, role_names
from app.security.rules import record_rule, sees_everything


@record_rule
def pool_criterion(user):
    return Pool.id.in_(member_pool_ids(user))


@record_rule
def membership_criterion(user):
    return PoolMembership.pool_id.in_(member_pool_ids(user))


@record_rule
def agent_criterion(user):
    """Agents visible to a user: colleagues who share a pool with him, and himself."""
    colleagues = select(PoolMembership.agent_id).where(
        PoolMembership.pool_id.in_(member_pool_ids(user))
    )
    return or_(AgentProfile.id.in_(colleagues), AgentProfile.user_id == user.id)


@record_rule
def absence_criterion(user):
    """Absences of the agents one sees (who is away, and who stands in)."""
    return Absence.agent_id.in_(select(AgentProfile.id).where(agent_criterion(user)))


@record_rule
def user_criterion(user):
    """Users offered in pickers such as the assignee dropdown: colleagues of shared pools."""
    colleagues = (
        select(AgentProfile.user_id)
        .join(PoolMembership, PoolMembership.agent_id == AgentProfile.id)
        .where(PoolMembership.pool_id.in_(member_pool_ids(user)))
    )
    return or_(User.id.in_(colleagues), User.id == user.id)


def topic_write_rule(row, user) -> None:
    """A topic belongs to the pool it names or inherits from its nearest ancestor: only that
    pool's supervisors (and admins) change it; one without a pool anywhere up the tree is
    desk-wide, for admins."""
    pool_id = effective_pool_id(row)
    if pool_id is None:
        if ADMIN not in role_names(user) and not (user is None and sees_everything(None)):
            raise Forbidden(
                "Choose the pool this topic belongs to; only admins keep desk-wide ones."
            )
        return
    ensure_can_configure_pool(pool_id, user)


RULES = {
    Pool: pool_criterion,
    PoolMembership: membership_criterion,
    AgentProfile: agent_criterion,
    Absence: absence_criterion,
    User: user_criterion,
}

# Only a supervisor of the pool (or an admin) changes a pool, its memberships, the settings of
# the agents who work in it and the topics it handles (organisation sits below agents, so its
# topics' rule lives here).
WRITE_RULES = {
    Pool: pool_itself_rule,
    Topic: topic_write_rule,
    PoolMembership: pool_write_rule("pool"),
    AgentProfile: agent_write_rule(),
    Absence: absence_write_rule,
}

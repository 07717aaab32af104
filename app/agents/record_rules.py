"""Record rules of pools, memberships, agents, absences and user accounts: colleagues see
each other through the pools they share."""

from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import or_, select

from app.agents.models import Absence, AgentProfile, PoolMembership
from app.agents.services import (
    absence_write_rule,
    agent_write_rule,
    member_pool_ids,
    pool_itself_rule,
    pool_write_rule,
)
from app.organisation.models import Pool, Topic
from app.security.rules import record_rule


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
    Topic: pool_write_rule("pool"),
    PoolMembership: pool_write_rule("pool"),
    AgentProfile: agent_write_rule(),
    Absence: absence_write_rule,
}

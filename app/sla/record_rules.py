"""Record and write rules of SLA: calendars are shared reference data every desk role reads
and only admins change; a policy belongs to its pool (its supervisors change it)."""

from __future__ import annotations

from app.agents.services import member_pool_ids, pool_write_rule
from app.errors import Forbidden
from app.security.roles import ADMIN, role_names
from app.security.rules import any_desk_role, record_rule, sees_everything
from app.sla.models import SlaCalendar, SlaClosure, SlaOpeningHours, SlaPolicy


@record_rule
def policy_criterion(user):
    return SlaPolicy.pool_id.in_(member_pool_ids(user))


def admins_only(row, user) -> None:
    """Calendars serve many pools: only admins change them (and their hours, closures)."""
    if ADMIN in role_names(user) or (user is None and sees_everything(None)):
        return
    raise Forbidden("Only admins change business calendars.")


RULES = {
    SlaCalendar: any_desk_role,
    SlaOpeningHours: any_desk_role,
    SlaClosure: any_desk_role,
    SlaPolicy: policy_criterion,
}

WRITE_RULES = {
    SlaCalendar: admins_only,
    SlaOpeningHours: admins_only,
    SlaClosure: admins_only,
    SlaPolicy: pool_write_rule("pool"),
}

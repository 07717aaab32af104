"""Push routing, optional per pool (``Pool.routing``): a new case is assigned at once.

A new case of a "round_robin" or "least_loaded" pool (opened by the intake or by an agent)
goes to the next eligible member (``push_case``): an active agent (not a supervisor
membership) who is not absent now, has the case's required skill and is under the pool's cap
of open cases per agent (``Pool.max_open_per_agent``). Round robin takes the members in turn
after the one who got the pool's last case (``Pool.last_routed_user_id``, read under a row
lock on PostgreSQL and moved with a guarded update on SQLite); least loaded the one with the
fewest open cases assigned to him (in every pool; ties: the lowest id). Without an eligible
member the case waits unassigned for Get next, and a periodic job pushes such waiting cases
again (``push_waiting_cases``), e.g. when an agent is back. "pull" pools (the default) leave
every case to Get next (``app.cases.routing``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.agents.absences import absent_user_ids
from app.agents.models import AgentProfile, PoolMembership, agent_skill
from app.audit.actor import acting_as
from app.audit.tracking import record_event
from app.cases.models import Case
from app.cases.workflow import OPEN_STATUSES, CaseStatus
from app.core.timeutil import utcnow
from app.extensions import db
from app.organisation.models import Pool, PoolRouting

#: Statuses of a case that waits for an agent to work on it.
WAITING = (CaseStatus.RECEIVED.value, CaseStatus.IN_PROGRESS.value)
#: Statuses of an open case (what the cap and the load count).
OPEN = sorted(s.value for s in OPEN_STATUSES)


_BY = {PoolRouting.ROUND_ROBIN: "round robin", PoolRouting.LEAST_LOADED: "least loaded"}


def eligible_user_ids(
    pool: Pool,
    required_skill_id: int | None,
    now: datetime | None = None,
    *,
    supervisors: bool = False,
    capped: bool = True,
) -> list[int]:
    """Logins of the pool's members who may be given one of its cases now, by id: active
    (login and profile), not absent, with the required skill and (``capped``) under the
    pool's cap. Supervisor memberships only with ``supervisors`` (push routing leaves them
    out; a substitute may be one)."""
    now = now or utcnow()
    stmt = (
        select(AgentProfile.user_id)
        .join(PoolMembership, PoolMembership.agent_id == AgentProfile.id)
        .join(User, User.id == AgentProfile.user_id)
        .where(
            PoolMembership.pool_id == pool.id,
            AgentProfile.active.is_(True),
            User.active.is_(True),
            AgentProfile.user_id.not_in(absent_user_ids(now)),
        )
        .order_by(AgentProfile.user_id)
    )
    if not supervisors:
        stmt = stmt.where(PoolMembership.is_supervisor.is_(False))
    if required_skill_id is not None:
        stmt = stmt.where(
            AgentProfile.id.in_(
                select(agent_skill.c.agent_id).where(agent_skill.c.skill_id == required_skill_id)
            )
        )
    if capped and pool.max_open_per_agent:
        open_here = (
            select(func.count(Case.id))
            .where(
                Case.assignee_id == AgentProfile.user_id,
                Case.pool_id == pool.id,
                Case.status.in_(OPEN),
            )
            .scalar_subquery()
        )
        stmt = stmt.where(open_here < pool.max_open_per_agent)
    return list(dict.fromkeys(db.session.scalars(stmt)))


def open_load(user_ids: Iterable[int]) -> dict[int, int]:
    """Open cases assigned to each of ``user_ids``, in every pool (least loaded)."""
    ids = list(user_ids)
    rows = db.session.execute(
        select(Case.assignee_id, func.count(Case.id))
        .where(Case.assignee_id.in_(ids), Case.status.in_(OPEN))
        .group_by(Case.assignee_id)
    ).all()
    loads = dict.fromkeys(ids, 0)
    loads.update({user_id: count for user_id, count in rows})
    return loads


def _next_in_turn(pool: Pool, candidates: list[int]) -> int:
    """Round robin: the first candidate after the pool's last one (wrapping round), and the
    pool remembers him. PostgreSQL: under a row lock on the pool, so concurrent pushes take
    turns; SQLite: a guarded update that fails when another push moved the turn meanwhile."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    chosen = candidates[0]
    for _attempt in range(10):
        read = select(Pool.last_routed_user_id).where(Pool.id == pool.id)
        if postgres:
            read = read.with_for_update()
        last = db.session.execute(read).scalar()
        chosen = next((u for u in candidates if last is None or u > last), candidates[0])
        guard = (
            Pool.last_routed_user_id.is_(None) if last is None else Pool.last_routed_user_id == last
        )
        moved = db.session.execute(
            update(Pool)
            .where(Pool.id == pool.id, guard)
            .values(last_routed_user_id=chosen)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 1:
            break
    set_committed_value(pool, "last_routed_user_id", chosen)
    return chosen


def push_case(case: Case, now: datetime | None = None) -> User | None:
    """Assign an unassigned waiting case of a push pool to its next eligible member, in the
    caller's transaction (the caller commits); who got it, or None (a pull pool, nobody
    eligible: the case waits for Get next)."""
    pool = case.pool
    if pool is None or pool.routing not in _BY:
        return None
    if case.assignee_id is not None or case.status not in WAITING:
        return None
    candidates = eligible_user_ids(pool, case.required_skill_id, now)
    if not candidates:
        return None
    if pool.routing == PoolRouting.LEAST_LOADED:
        loads = open_load(candidates)
        chosen = min(candidates, key=lambda user_id: (loads[user_id], user_id))
    else:
        chosen = _next_in_turn(pool, candidates)
    taken = db.session.execute(
        update(Case)
        .where(Case.id == case.id, Case.assignee_id.is_(None))
        .values(assignee_id=chosen)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None  # someone took it meanwhile
    user = db.session.get(User, chosen)
    set_committed_value(case, "assignee_id", chosen)
    set_committed_value(case, "assignee", user)
    # The UPDATE bypassed the ORM's change tracking: one Event says who got it and how.
    record_event(
        db.session,
        case,
        f"assigned by {_BY[PoolRouting(pool.routing)]}",
        "assignee",
        None,
        user.username if user is not None else chosen,
    )
    return user


def push_new_cases(cases: Iterable[Case]) -> None:
    """Push routing for cases just opened (flushed, so they have ids), in the caller's
    transaction; cases of pull pools cost nothing."""
    for case in cases:
        if case.pool is not None and case.pool.routing in _BY:
            push_case(case)


def push_waiting_cases(now: datetime | None = None) -> list[str]:
    """The periodic job: push the unassigned waiting cases of every push pool again, the
    most urgent first, as the desk (committed); the case numbers assigned. Idempotent: an
    assigned case is not touched again."""
    now = now or utcnow()
    pushed = []
    with acting_as(None):
        pools = db.session.scalars(
            select(Pool).where(Pool.active.is_(True), Pool.routing.in_([p.value for p in _BY]))
        ).all()
        for pool in pools:
            nobody: set[int | None] = set()  # skills nobody eligible has (this run)
            waiting = db.session.scalars(
                select(Case)
                .where(
                    Case.pool_id == pool.id,
                    Case.assignee_id.is_(None),
                    Case.status.in_(WAITING),
                )
                .order_by(Case.sla_due_at.asc().nulls_last(), Case.received_at, Case.id)
            ).all()
            for case in waiting:
                if case.required_skill_id in nobody:
                    continue
                if push_case(case, now) is not None:
                    pushed.append(case.number)
                elif not eligible_user_ids(pool, case.required_skill_id, now):
                    nobody.add(case.required_skill_id)
        db.session.commit()
    return pushed

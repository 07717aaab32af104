"""Get next case: the most urgent case an agent may take, made his in one atomic step.

Order: his pools in his own pick priority (``PoolMembership.priority``, lower first), then the
earliest SLA due time (cases without one last), then first come first served. Only cases
nobody has, that are waiting for work (received, or in progress after a release: not
postponed, under consultation or awaiting approval), and whose required skill he has.

Atomic under many agents pressing at once: no case goes to two agents and none is skipped.
On PostgreSQL one statement picks and takes the case (a CTE with ``FOR UPDATE SKIP LOCKED``,
then ``UPDATE … FROM`` it ``RETURNING`` the id), so concurrent agents each lock a different
row instead of queueing on the same one. The pick runs per priority level of the agent's
pools, in the order of the partial index ``ix_case_waiting`` (pool, due time, arrival, id),
so it reads a few index entries however many cases wait.
SQLite writes one transaction at a time: there a guarded ``UPDATE … WHERE assignee_id IS NULL``
on the best candidates, one after the other, gives the same answer.

An agent marked absent gets no case (he is told until when he is away), and a pool's cap of
open cases per agent (``Pool.max_open_per_agent``) keeps an agent at the cap from getting more
of that pool.

Push routing (``app.cases.push``) assigns new cases of some pools at once instead.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import (
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import JSON

from app.agents.models import Absence, AgentProfile, PoolMembership, agent_skill
from app.audit.actor import actor_label
from app.audit.models import Event
from app.audit.tracking import display_value, record_event
from app.cases.actions import acting_user, start_work
from app.cases.models import Case
from app.cases.push import OPEN, WAITING
from app.cases.workflow import CaseStatus
from app.core.timeutil import utcnow
from app.errors import Conflict
from app.extensions import db
from app.organisation.models import Pool

_SQLITE_CANDIDATES = 20  # tried one after the other when another agent was faster
_SQLITE_ROUNDS = 10  # fresh looks when others took all of them meanwhile


def pick_levels(user_id: int) -> list[list[int]]:
    """The agent's pools grouped by his pick priority, first level first: ``[[3], [1, 7]]``;
    without the pools whose cap of open cases per agent he has reached."""
    return pick_plan(user_id)[0]


def pick_plan(user_id: int) -> tuple[list[list[int]], datetime | None]:
    """``pick_levels`` and, read by the same statement, the end of the absence the agent is
    in now (None when he is at work): Get next asks both for every press."""
    now = utcnow()
    absent_until = (
        select(func.max(Absence.ends_at))
        .where(
            Absence.agent_id == AgentProfile.id,
            Absence.starts_at <= now,
            Absence.ends_at > now,
        )
        .correlate(AgentProfile)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            PoolMembership.priority,
            PoolMembership.pool_id,
            Pool.max_open_per_agent,
            absent_until,
        )
        .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
        .join(Pool, Pool.id == PoolMembership.pool_id)
        .where(AgentProfile.user_id == user_id)
        .order_by(PoolMembership.priority, PoolMembership.pool_id)
    ).all()
    capped = {pool_id: cap for _, pool_id, cap, _until in rows if cap}
    full = set()
    if capped:
        counts = dict(
            db.session.execute(
                select(Case.pool_id, func.count(Case.id))
                .where(
                    Case.assignee_id == user_id,
                    Case.pool_id.in_(capped),
                    Case.status.in_(OPEN),
                )
                .group_by(Case.pool_id)
            ).all()
        )
        full = {pool_id for pool_id, cap in capped.items() if counts.get(pool_id, 0) >= cap}
    levels: dict[int, list[int]] = {}
    for priority, pool_id, _cap, _until in rows:
        if pool_id not in full:
            levels.setdefault(priority, []).append(pool_id)
    return list(levels.values()), (rows[0][3] if rows else None)


def _candidates(user_id, pool_ids):
    """The ordered pick among ``pool_ids`` (one priority level) for the agent ``user_id``: a
    SELECT of case ids that the partial index ``ix_case_waiting`` serves in its own order."""
    profile = select(AgentProfile.id).where(AgentProfile.user_id == user_id).scalar_subquery()
    skills = select(agent_skill.c.skill_id).where(agent_skill.c.agent_id == profile)
    if isinstance(pool_ids, BindParameter):  # the PostgreSQL claim's prepared shape
        pools = Case.pool_id.in_(pool_ids) if pool_ids.expanding else Case.pool_id == pool_ids
    else:
        pools = Case.pool_id == pool_ids[0] if len(pool_ids) == 1 else Case.pool_id.in_(pool_ids)
    return (
        select(Case.id)
        .where(
            pools,
            Case.assignee_id.is_(None),
            # Written into the SQL, not bound: a prepared statement's generic plan could not
            # prove that a bound list matches the partial index's predicate, and would sort
            # every case of the pool instead (100,000 cases: 24 instead of 160 claims/s).
            Case.status.in_(
                bindparam("waiting", list(WAITING), expanding=True, literal_execute=True)
            ),
            or_(Case.required_skill_id.is_(None), Case.required_skill_id.in_(skills)),
        )
        .order_by(Case.sla_due_at.asc().nulls_last(), Case.received_at, Case.id)
    )


@functools.cache
def _pg_claim_statement(several_pools: bool):
    """The PostgreSQL claim as one statement (built once per process; its parameters are the
    agent, his label, the time and the level's pool or pools): pick the case, make it the
    agent's and in progress, write the two Events the ORM's tracker would (the assignee; the
    status when it was received), and return the case row.

    ``SKIP LOCKED`` lets fifty agents each lock a different row instead of queueing on the
    first; the row lock re-reads the row, so the status written into the Events is the one
    the claim replaced.
    """
    # Parameter names differ from the case's column names: an UPDATE would take a parameter
    # named like a column ("pool_id") for a value to SET.
    agent: BindParameter = bindparam("agent_id")
    pools: BindParameter = (
        bindparam("level_pools", expanding=True) if several_pools else bindparam("level_pool")
    )
    now: BindParameter = bindparam("now")
    pick = (
        _candidates(agent, pools)
        .add_columns(Case.status.label("was"))
        .limit(1)
        .with_for_update(skip_locked=True, of=Case)
        .cte("pick")
    )
    taken = (
        update(Case.__table__)
        .where(Case.id == pick.c.id, Case.assignee_id.is_(None))
        .values(assignee_id=agent, status=CaseStatus.IN_PROGRESS.value, updated_at=now)
        .returning(*Case.__table__.c, pick.c.was)
        .cte("taken")
    )
    who = {
        "created_at": now,
        "actor_id": agent,
        "actor_name": bindparam("actor_name"),
        "object_type": literal("case"),
    }
    # One INSERT of both rows, the assignee first, as the tracker would write them.
    events = insert(Event.__table__).from_select(
        [*who, "case_id", "action", "field", "old_value", "new_value", "details"],
        union_all(
            select(
                *who.values(),
                taken.c.id,
                literal("changed"),
                literal("assignee"),
                null(),
                bindparam("assignee_shown"),
                cast(null(), JSON),
            ),
            select(
                *who.values(),
                taken.c.id,
                literal("status"),
                null(),
                taken.c.was,
                literal(CaseStatus.IN_PROGRESS.value),
                cast(literal('{"reason": "get next"}'), JSON),
            ).where(taken.c.was == CaseStatus.RECEIVED.value),
        ),
    )
    rows = select(*(taken.c[column.name] for column in Case.__table__.c)).add_cte(
        events.cte("events")
    )
    return (
        select(Case).from_statement(rows).execution_options(populate_existing=True, autoflush=False)
    )


def _take_pg(actor, pool_ids: list[int]) -> Case | None:
    """Run the PostgreSQL claim statement for one priority level: the case, or None."""
    several = len(pool_ids) > 1
    return db.session.scalars(
        _pg_claim_statement(several),
        {
            "agent_id": actor.id,
            "actor_name": actor_label(actor),
            "assignee_shown": display_value(actor),
            "now": utcnow(),
            "level_pools" if several else "level_pool": pool_ids if several else pool_ids[0],
        },
    ).first()


def _take_guarded(user_id: int, pool_ids: list[int]) -> int | None:
    """SQLite: try the best candidates with a guarded update each. The candidates come from
    the transaction's snapshot, which other processes may have overtaken: when all of them
    were gone, look again with a fresh one (nothing has been written yet) rather than tell
    the agent that nothing waits."""
    for _round in range(_SQLITE_ROUNDS):
        candidates = db.session.scalars(
            _candidates(user_id, pool_ids).limit(_SQLITE_CANDIDATES)
        ).all()
        if not candidates:
            return None
        for case_id in candidates:
            taken = db.session.execute(
                update(Case)
                .where(Case.id == case_id, Case.assignee_id.is_(None))
                .values(assignee_id=user_id)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:
                return case_id
        db.session.rollback()
    return None


def claim_next_case() -> Case | None:
    """Give the acting agent the most urgent case he may take (see the module docstring):
    it becomes his and "in progress", recorded, committed at once. None when nothing waits
    for him. Raises Forbidden for a role that may not claim cases."""
    actor = acting_user("claim", person=True)
    levels, absent_until = pick_plan(actor.id)
    if absent_until is not None:
        raise Conflict(
            f"You are marked absent until {absent_until:%Y-%m-%d %H:%M} (UTC); "
            "end or shorten the absence to take cases."
        )
    if db.session.get_bind().dialect.name == "postgresql":
        return _claim_pg(actor, levels)
    for pool_ids in levels:
        case_id = _take_guarded(actor.id, pool_ids)
        if case_id is not None:
            case = db.session.get(Case, case_id, populate_existing=True)
            # The UPDATE bypassed the ORM's change tracking: record the assignment as it would.
            record_event(db.session, case, "changed", "assignee", None, actor)
            start_work(case, "get next")
            db.session.commit()
            return case
    db.session.rollback()
    return None


def _claim_pg(actor, levels: list[list[int]]) -> Case | None:
    """The PostgreSQL claim: the statement of ``_take_pg`` per priority level, then a commit
    that keeps the loaded objects (the case just returned, the agent's account and roles): a
    claim changed no other row they hold, and the next press needs them again."""
    for pool_ids in levels:
        case = _take_pg(actor, pool_ids)
        if case is not None:
            break
    else:
        db.session.rollback()
        return None
    session = db.session()
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
    return case

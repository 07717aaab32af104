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

Push routing (optional per pool, ``Pool.routing``): a new case of a "round_robin" or
"least_loaded" pool is assigned at once to the next eligible member (``push_case``): an active
agent (not a supervisor membership) who is not absent, has the case's required skill and is
under the pool's cap. Round robin takes the members in turn after the one who got the pool's
last case (``Pool.last_routed_user_id``, read under a row lock on PostgreSQL and moved with a
guarded update on SQLite); least loaded the one with the fewest open cases assigned to him.
Without an eligible member the case waits unassigned for Get next, and a periodic job pushes
such waiting cases again (``push_waiting_cases``), e.g. when an agent is back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.agents.absences import absence_of_user, absent_user_ids
from app.agents.models import AgentProfile, PoolMembership, agent_skill
from app.audit.actor import acting_as
from app.audit.tracking import record_event
from app.cases.actions import acting_user, start_work
from app.cases.models import Case
from app.cases.workflow import OPEN_STATUSES, CaseStatus
from app.core.timeutil import utcnow
from app.errors import Conflict
from app.extensions import db
from app.organisation.models import Pool, PoolRouting

#: Statuses of a case that waits for an agent to work on it.
WAITING = (CaseStatus.RECEIVED.value, CaseStatus.IN_PROGRESS.value)
_SQLITE_CANDIDATES = 20  # tried one after the other when another agent was faster
_SQLITE_ROUNDS = 10  # fresh looks when others took all of them meanwhile


_OPEN = [s.value for s in OPEN_STATUSES]


def pick_levels(user_id: int) -> list[list[int]]:
    """The agent's pools grouped by his pick priority, first level first: ``[[3], [1, 7]]``;
    without the pools whose cap of open cases per agent he has reached."""
    rows = db.session.execute(
        select(PoolMembership.priority, PoolMembership.pool_id, Pool.max_open_per_agent)
        .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
        .join(Pool, Pool.id == PoolMembership.pool_id)
        .where(AgentProfile.user_id == user_id)
        .order_by(PoolMembership.priority, PoolMembership.pool_id)
    ).all()
    capped = {pool_id: cap for _, pool_id, cap in rows if cap}
    full = set()
    if capped:
        counts = dict(
            db.session.execute(
                select(Case.pool_id, func.count(Case.id))
                .where(
                    Case.assignee_id == user_id,
                    Case.pool_id.in_(capped),
                    Case.status.in_(_OPEN),
                )
                .group_by(Case.pool_id)
            ).all()
        )
        full = {pool_id for pool_id, cap in capped.items() if counts.get(pool_id, 0) >= cap}
    levels: dict[int, list[int]] = {}
    for priority, pool_id, _cap in rows:
        if pool_id not in full:
            levels.setdefault(priority, []).append(pool_id)
    return list(levels.values())


def _candidates(user_id: int, pool_ids: list[int]):
    """The ordered pick among ``pool_ids`` (one priority level) for the agent ``user_id``: a
    SELECT of case ids that the partial index ``ix_case_waiting`` serves in its own order."""
    profile = select(AgentProfile.id).where(AgentProfile.user_id == user_id).scalar_subquery()
    skills = select(agent_skill.c.skill_id).where(agent_skill.c.agent_id == profile)
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


def _take_next(user_id: int) -> int | None:
    """Assign the best waiting case to ``user_id`` in the database; its id, or None. The
    priority levels are tried in turn, so each pick is one short index scan."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for pool_ids in pick_levels(user_id):
        case_id = _take_pg(user_id, pool_ids) if postgres else _take_guarded(user_id, pool_ids)
        if case_id is not None:
            return case_id
    return None


def _take_pg(user_id: int, pool_ids: list[int]) -> int | None:
    pick = (
        _candidates(user_id, pool_ids)
        .limit(1)
        .with_for_update(skip_locked=True, of=Case)
        .cte("next_case")
    )
    return db.session.execute(
        update(Case)
        .where(Case.id == pick.c.id, Case.assignee_id.is_(None))
        .values(assignee_id=user_id)
        .returning(Case.id)
        .execution_options(synchronize_session=False)
    ).scalar()


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
    absence = absence_of_user(actor.id)
    if absence is not None:
        raise Conflict(
            f"You are marked absent until {absence.ends_at:%Y-%m-%d %H:%M} (UTC); "
            "end or shorten the absence to take cases."
        )
    case_id = _take_next(actor.id)
    if case_id is None:
        db.session.rollback()
        return None
    case = db.session.get(Case, case_id, populate_existing=True)
    # The UPDATE bypassed the ORM's change tracking: record the assignment as it would.
    record_event(db.session, case, "changed", "assignee", None, actor)
    start_work(case, "get next")
    db.session.commit()
    return case


# --- push routing ------------------------------------------------------------------------------

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
                Case.status.in_(_OPEN),
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
        .where(Case.assignee_id.in_(ids), Case.status.in_(_OPEN))
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
            Pool.last_routed_user_id.is_(None)
            if last is None
            else Pool.last_routed_user_id == last
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

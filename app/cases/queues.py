"""The agent's lists: **My cases** (his open cases) and **My pools' queue** (the cases of his
pools that wait for an agent, the ones Get next picks from), and their counts for the
navigation.

Cheap by construction, because every page shows the counts:

* the agent's own cases are counted per pool by **one grouped statement** that also names
  his pools (``counts``), memoised for the request, whatever the number of pools or cases;
* the waiting cases of the whole desk are counted per pool and required skill by one grouped
  statement that every agent's page shares, kept a few seconds in Redis
  (``queue_counts``, ``QUEUE_COUNTS_CACHE_SECONDS``): counting 30,000 waiting cases took
  40 ms, on every page of every agent;
* a list is one statement for its rows, with the customer and the pool joined in, so the
  rows need no further query; its total comes from the counts (no ``COUNT`` of its own).

Who sees what: an agent or supervisor the pools he is a member of (the record rules say the
same), admins and managers every active pool. An agent's queue shows what Get next could give
him: cases without a required skill or with one he has (``app.cases.routing._candidates``);
supervisors, admins and managers see every waiting case of the pool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from app.agents.models import AgentProfile, agent_skill
from app.agents.services import member_pool_ids, skill_ids_of
from app.audit.actor import current_actor
from app.cases.intake_answers import cases_with_answer
from app.cases.models import Case
from app.cases.routing import WAITING
from app.cases.workflow import OPEN_STATUSES, CaseStatus
from app.core.timeutil import utcnow
from app.errors import AccessDenied
from app.extensions import db
from app.jobs.queue import connection
from app.organisation.models import Pool
from app.security.roles import ADMIN, MANAGER, SUPERVISOR, role_names
from app.security.rules import request_cached, sees_everything, visible

#: Rows per page of a list.
PAGE_SIZE = 50
OPEN = sorted(s.value for s in OPEN_STATUSES)


@dataclass
class PoolCount:
    """One pool of the queue menu: its cases waiting for an agent, how many are overdue."""

    id: int
    name: str
    waiting: int = 0
    overdue: int = 0


@dataclass
class Counts:
    """What the navigation shows: the agent's open cases and each pool's queue."""

    mine: int = 0
    mine_overdue: int = 0
    pools: list[PoolCount] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return sum(p.waiting for p in self.pools)

    @property
    def overdue(self) -> int:
        return sum(p.overdue for p in self.pools)

    def as_json(self) -> dict:
        return {
            "mine": self.mine,
            "mine_overdue": self.mine_overdue,
            "waiting": self.waiting,
            "overdue": self.overdue,
            "pools": [
                {"id": p.id, "name": p.name, "waiting": p.waiting, "overdue": p.overdue}
                for p in self.pools
            ],
        }


def _user(user):
    return current_actor() if user is None else user


def _queue_pools(user):
    """A criterion on ``Pool.id``: the pools whose queue ``user`` sees."""
    if sees_everything(user):
        return Pool.active.is_(True)
    return Pool.id.in_(member_pool_ids(user))


def _queue_pool_ids(user) -> list[int]:
    """Ids of the pools whose queue ``user`` sees (memoised for the request)."""
    if not sees_everything(user):
        return member_pool_ids(user)
    return request_cached(
        "queue_pools",
        user,
        lambda: list(db.session.scalars(select(Pool.id).where(Pool.active.is_(True)))),
    )


def _skill_condition(user):
    """An agent's queue holds only cases whose required skill he has (as Get next picks);
    None for roles that see every waiting case of their pools."""
    if role_names(user) & {ADMIN, MANAGER, SUPERVISOR} or user is None:
        return None
    profile = select(AgentProfile.id).where(AgentProfile.user_id == user.id).scalar_subquery()
    skills = select(agent_skill.c.skill_id).where(agent_skill.c.agent_id == profile)
    return or_(Case.required_skill_id.is_(None), Case.required_skill_id.in_(skills))


def _waiting(user, pool_criterion):
    """A criterion on Case: waits for an agent in one of the pools ``pool_criterion`` picks."""
    parts = [
        Case.assignee_id.is_(None),
        Case.status.in_(WAITING),
        pool_criterion,
    ]
    skill = _skill_condition(user)
    if skill is not None:
        parts.append(skill)
    return and_(*parts)


def _overdue(now: datetime):
    return and_(
        Case.sla_due_at.is_not(None),
        Case.sla_due_at < now,
        Case.status != CaseStatus.POSTPONED.value,
    )


def counts(user=None) -> Counts:
    """The navigation's counts for ``user`` (default: the acting user), memoised for the
    request: his own open cases (exact, one statement with the names of his pools) and the
    waiting cases of each of his pools, from the desk's queue counts (``queue_counts``)."""
    user = _user(user)
    if user is None or getattr(user, "id", None) is None:
        return Counts()
    return request_cached("case_counts", user, lambda: _count(user))


def queue_counts() -> dict[tuple[int, int | None], tuple[int, int]]:
    """``{(pool id, required skill id): (waiting, overdue)}`` of the whole desk: one grouped
    statement, kept ``QUEUE_COUNTS_CACHE_SECONDS`` (default 5) in the desk's store (Redis,
    shared by every web process), so a busy desk counts its queues once in a while rather
    than on every page of every agent. The lists themselves are never cached."""
    seconds = int(current_app.config.get("QUEUE_COUNTS_CACHE_SECONDS") or 0)
    store = connection() if seconds else None
    if store is not None:
        cached = store.get(COUNTS_KEY)
        if cached is not None:
            return {(p, k): (w, o) for p, k, w, o in json.loads(cached)}
    waiting = and_(Case.assignee_id.is_(None), Case.status.in_(WAITING))
    stmt = (
        select(
            Case.pool_id,
            Case.required_skill_id,
            func.count(Case.id),
            func.count(Case.id).filter(_overdue(utcnow())),
        )
        .where(waiting)
        .group_by(Case.pool_id, Case.required_skill_id)
    )
    rows = [tuple(row) for row in db.session.execute(stmt)]
    if store is not None:
        store.set(COUNTS_KEY, json.dumps(rows), ex=seconds)
    return {(p, k): (w, o) for p, k, w, o in rows}


#: Where ``queue_counts`` keeps the desk's counts.
COUNTS_KEY = "loopdesk:cases:queue-counts"


def _skill_ids(user) -> set[int] | None:
    """The skills an agent has (his queue holds cases without a required skill or with one
    of these, as Get next picks); None for roles that see every waiting case."""
    if role_names(user) & {ADMIN, MANAGER, SUPERVISOR}:
        return None
    return skill_ids_of(user)


def _count(user) -> Counts:
    now = utcnow()
    mine = and_(Case.assignee_id == user.id, Case.status.in_(OPEN))
    stmt = (
        select(
            Pool.id,
            Pool.name,
            func.count(Case.id),
            func.count(Case.id).filter(_overdue(now)),
        )
        .select_from(Pool)
        .outerjoin(Case, and_(Case.pool_id == Pool.id, mine))
        .where(or_(_queue_pools(user), Pool.id.in_(select(Case.pool_id).where(mine))))
        .group_by(Pool.id, Pool.name)
        .order_by(Pool.name)
    )
    rows = db.session.execute(stmt).all()
    queue_ids = set(_queue_pool_ids(user))
    skills = _skill_ids(user)
    desk = queue_counts() if queue_ids else {}
    result = Counts()
    for pool_id, name, n_mine, n_mine_overdue in rows:
        result.mine += n_mine
        result.mine_overdue += n_mine_overdue
        if pool_id not in queue_ids:
            continue
        pool = PoolCount(pool_id, name)
        for (counted_pool, skill), (n_waiting, n_overdue) in desk.items():
            if counted_pool == pool_id and (skills is None or skill is None or skill in skills):
                pool.waiting += n_waiting
                pool.overdue += n_overdue
        result.pools.append(pool)
    return result


@dataclass
class Page:
    """One page of a list: its cases, the page number, the total and the pool filter."""

    cases: list[Case]
    page: int
    total: int
    pool: PoolCount | None = None
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _page_number(page) -> int:
    try:
        number = int(page or 0)
    except (TypeError, ValueError):
        number = 0
    return max(0, min(number, 100_000))


def _rows(stmt, user, page: int) -> list[Case]:
    stmt = (
        visible(stmt, Case, user)
        .options(joinedload(Case.customer), joinedload(Case.pool))
        .order_by(Case.sla_due_at.asc().nulls_last(), Case.received_at, Case.id)
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
    )
    return list(db.session.scalars(stmt))


def _filtered_total(stmt, user) -> int:
    """The count of a list narrowed by an answer (the counts do not know answers)."""
    counted = visible(stmt.with_only_columns(func.count(Case.id)).order_by(None), Case, user)
    return db.session.scalar(counted) or 0


def my_cases(user=None, page=0, answer=None) -> Page:
    """The acting agent's open cases, most urgent first (due time, then arrival);
    ``answer``: only those with such an intake answer (``intake_answers.cases_with_answer``)."""
    user = _user(user)
    number = _page_number(page)
    if user is None or getattr(user, "id", None) is None:
        return Page([], number, 0)
    stmt = select(Case).where(Case.assignee_id == user.id, Case.status.in_(OPEN))
    by_answer = cases_with_answer(answer)
    if by_answer is not None:
        stmt = stmt.where(by_answer)
        return Page(_rows(stmt, user, number), number, _filtered_total(stmt, user))
    return Page(_rows(stmt, user, number), number, counts(user).mine)


def queue(user=None, pool_id=None, page=0, answer=None) -> Page:
    """The cases waiting for an agent in the user's pools (or in one of them,
    ``pool_id``), most urgent first; ``answer``: only those with such an intake answer. A
    pool outside his queue: AccessDenied (404)."""
    user = _user(user)
    number = _page_number(page)
    if user is None or getattr(user, "id", None) is None:
        return Page([], number, 0)
    summary = counts(user)
    chosen = None
    if pool_id not in (None, ""):
        chosen = next((p for p in summary.pools if str(p.id) == str(pool_id).strip()), None)
        if chosen is None:
            raise AccessDenied("No such pool, or it is not one of your pools.")
        criterion = Case.pool_id == chosen.id
        total = chosen.waiting
    else:
        criterion = Case.pool_id.in_([p.id for p in summary.pools])
        total = summary.waiting
    stmt = select(Case).where(_waiting(user, criterion))
    by_answer = cases_with_answer(answer)
    if by_answer is not None:
        stmt = stmt.where(by_answer)
        total = _filtered_total(stmt, user)
    return Page(_rows(stmt, user, number), number, total, chosen)

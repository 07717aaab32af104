"""Absence hand-over: an absent agent's open cases go to his substitute or back to the pool.

When an absence has started (the periodic job, or at once when such an absence is saved:
``app.agents.absences``), every open case assigned to the agent moves, each with an Event
"handed over" (who, from, to, why: "absence of X"):

* to the substitute (the absence's own, else the agent's usual one) when the case's pool hands
  over to substitutes (``Pool.absence_handover`` = "substitute") and the substitute may take
  it: he works in the pool, has the case's required skill, is active, not absent himself and
  under the pool's cap of open cases per agent (``Pool.max_open_per_agent``; the cases he is
  handed in this same hand-over count);
* otherwise back to the pool, unassigned, where Get next (or push routing) finds it; the
  Event says why not to the substitute.

Idempotent: a moved case is no longer the absent agent's, so a second run moves nothing. On
return nothing moves back: the cases stay where they went, and the agent's page lists what
was handed over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.agents import absences
from app.agents.models import Absence
from app.audit.actor import acting_as
from app.audit.tracking import record_event
from app.cases import push
from app.cases.models import Case
from app.cases.workflow import OPEN_STATUSES
from app.core.timeutil import utcnow
from app.extensions import db
from app.organisation.models import AbsenceHandover

HANDED_OVER = absences.HANDED_OVER


def _substitute_refusal(case: Case, substitute, now: datetime) -> str | None:
    """Why ``substitute`` cannot take ``case`` (None: he can)."""
    if case.pool.absence_handover != AbsenceHandover.SUBSTITUTE:
        return "the pool hands cases back to the pool"
    if substitute is None:
        return "no substitute"
    eligible = push.eligible_user_ids(
        case.pool, case.required_skill_id, now, supervisors=True, capped=False
    )
    if substitute.user_id in eligible:
        return _over_cap(case, substitute)
    if absences.is_absent(substitute.user_id, now):
        return f"{substitute} is absent too"
    if not substitute.active or substitute.user is None or not substitute.user.active:
        return f"{substitute} is not active"
    if case.pool_id not in {m.pool_id for m in substitute.memberships}:
        return f"{substitute} does not work in pool {case.pool.name}"
    if case.required_skill is not None:
        return f"{substitute} lacks the skill {case.required_skill.name}"
    return f"{substitute} may not take cases of pool {case.pool.name}"


def _over_cap(case: Case, substitute) -> str | None:
    """Why ``substitute`` is at the pool's cap of open cases per agent (None: he is not)."""
    cap = case.pool.max_open_per_agent
    if not cap:
        return None
    open_here = db.session.scalar(
        select(func.count(Case.id)).where(
            Case.assignee_id == substitute.user_id,
            Case.pool_id == case.pool_id,
            Case.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )
    if open_here < cap:
        return None
    return (
        f"{substitute} already has {open_here} open cases in pool {case.pool.name} "
        f"(the pool's cap is {cap})"
    )


def _without_empty(**details) -> dict:
    return {key: value for key, value in details.items() if value is not None}


def hand_over(absence: Absence, now: datetime) -> list[str]:
    """Move the open cases of ``absence``'s agent (see the module docstring), in the caller's
    transaction; the case numbers moved."""
    agent = absence.agent
    user = agent.user if agent is not None else None
    if user is None:
        return []
    cases = db.session.scalars(
        select(Case)
        .where(Case.assignee_id == user.id, Case.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(Case.id)
    ).all()
    substitute = absences.substitute_of(absence)
    moved = []
    for case in cases:
        refusal = _substitute_refusal(case, substitute, now)
        target = substitute.user if refusal is None and substitute is not None else None
        taken = db.session.execute(
            update(Case)
            .where(Case.id == case.id, Case.assignee_id == user.id)
            .values(assignee_id=target.id if target is not None else None)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            continue  # someone else moved it meanwhile
        set_committed_value(case, "assignee_id", target.id if target is not None else None)
        set_committed_value(case, "assignee", target)
        record_event(
            db.session,
            case,
            HANDED_OVER,
            "assignee",
            user.username,
            target.username if target is not None else None,
            details=_without_empty(
                why=f"absence of {agent}",
                to="substitute" if target is not None else "pool",
                not_to_substitute=refusal if substitute is not None else None,
                absence_id=absence.id,
                absent_until=absence.ends_at.isoformat(sep=" ", timespec="minutes"),
            ),
        )
        moved.append(case.number)
        if target is None:
            push.push_case(case, now)
    return moved


def hand_over_absences(now: datetime | None = None) -> list[str]:
    """The periodic job: hand over the open cases of every agent absent now, as the desk
    (committed); the case numbers moved."""
    now = now or utcnow()
    moved = []
    with acting_as(None):
        for absence in absences.current_absences(now):
            moved.extend(hand_over(absence, now))
        db.session.commit()
    return moved


def connect() -> None:
    """Absences hand over through this module (see ``app.agents.absences``)."""
    absences.install_handover(hand_over)

"""Absences: who is away now, the checks every absence passes, and what happens when one starts.

An absence (agent, from, until, substitute) takes the agent out of routing while it lasts:
Get next tells him he is marked absent, push routing skips him, and his open cases go to the
substitute or back to the pool (``app.cases.handover``). Every absence is saved through
``save_absence`` or, from the generated pages and the REST API, through ``check_absence``
before and ``absence_saved`` after the save, so no door skips the rules: the period is valid,
the substitute is someone else, and an absence that has already started hands the cases over
at once (the periodic job does it for the ones that start later).

Cases sit above agents, so the hand-over is installed here by cases when a desk starts
(``install_handover``, the ``setup`` of the cases manifest); imports stay one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect, select

from app.agents.models import Absence, AgentProfile
from app.audit.models import Event
from app.core.inputs import parse_text
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db
from app.security.rules import ensure_may_change

NOTE_MAX = 512
#: The Event of each case moved away from an absent agent (``app.cases.handover``).
HANDED_OVER = "handed over"

# handover(absence, now) -> the case numbers it moved (the caller commits)
Handover = Callable[[Absence, datetime], list[str]]

_handover: Handover | None = None


def install_handover(handover: Handover) -> None:
    """Make ``handover`` what runs when an absence has started (cases' hand-over)."""
    global _handover
    _handover = handover


def is_current(absence: Absence, now: datetime | None = None) -> bool:
    """The absence has started and not ended yet."""
    now = now or utcnow()
    return absence.starts_at <= now < absence.ends_at


def current_absences(now: datetime | None = None) -> list[Absence]:
    """Every absence going on at ``now``, the earliest start first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Absence)
            .where(Absence.starts_at <= now, Absence.ends_at > now)
            .order_by(Absence.starts_at, Absence.id)
        )
    )


def absent_user_ids(now: datetime | None = None):
    """A SELECT of the user ids of the agents absent at ``now`` (for routing's queries)."""
    now = now or utcnow()
    return (
        select(AgentProfile.user_id)
        .join(Absence, Absence.agent_id == AgentProfile.id)
        .where(Absence.starts_at <= now, Absence.ends_at > now)
    )


def absence_of_user(user_id: int | None, now: datetime | None = None) -> Absence | None:
    """The absence of the agent with login ``user_id`` going on at ``now`` (the one that ends
    last, when several overlap), or None."""
    if user_id is None:
        return None
    now = now or utcnow()
    return db.session.scalars(
        select(Absence)
        .join(AgentProfile, AgentProfile.id == Absence.agent_id)
        .where(AgentProfile.user_id == user_id, Absence.starts_at <= now, Absence.ends_at > now)
        .order_by(Absence.ends_at.desc())
    ).first()


def is_absent(user_id: int | None, now: datetime | None = None) -> bool:
    return absence_of_user(user_id, now) is not None


def substitute_of(absence: Absence) -> AgentProfile | None:
    """Who stands in: the absence's own substitute, else the agent's usual one."""
    if absence.substitute is not None:
        return absence.substitute
    agent = absence.agent
    return agent.substitute if agent is not None else None


def check_absence(absence: Absence) -> None:
    """The rules every absence obeys, whichever door saves it; DeskError (400) otherwise."""
    if absence.agent is None and absence.agent_id is None:
        raise DeskError("Say who is absent.")
    if absence.starts_at is None or absence.ends_at is None:
        raise DeskError("An absence needs a start and an end.")
    if absence.ends_at <= absence.starts_at:
        raise DeskError("An absence ends after it starts.")
    agent_id = absence.agent.id if absence.agent is not None else absence.agent_id
    substitute_id = (
        absence.substitute.id if absence.substitute is not None else absence.substitute_id
    )
    if substitute_id is not None and substitute_id == agent_id:
        raise DeskError("An agent cannot be his own substitute.")
    substitute = absence.substitute
    if substitute is None and substitute_id is not None:
        substitute = db.session.get(AgentProfile, substitute_id)
    if substitute_id is not None and (substitute is None or not substitute.active):
        raise DeskError("The substitute must be an active agent.")
    absence.note = parse_text(absence.note, field="note", max_length=NOTE_MAX)
    if absence.id is None and absence.ends_at <= utcnow():
        # Recorded afterwards (a sick day entered later): he was back before it existed,
        # there is nothing to welcome him back from.
        absence.return_noticed_at = absence.ends_at


def check_substitute(profile: AgentProfile) -> None:
    """An agent's usual substitute is someone else."""
    substitute_id = (
        profile.substitute.id if profile.substitute is not None else profile.substitute_id
    )
    if profile.id is not None and substitute_id == profile.id:
        raise DeskError("An agent cannot be his own substitute.")


def absence_saved(absence: Absence, now: datetime | None = None) -> list[str]:
    """After an absence was saved: if it has started already, hand the agent's open cases
    over now (committed); the case numbers moved."""
    if _handover is None or not is_current(absence, now):
        return []
    moved = _handover(absence, now or utcnow())
    db.session.commit()
    return moved


def save_absence(absence: Absence, now: datetime | None = None) -> list[str]:
    """Check and save an absence (new or changed) as the acting user, then hand over what
    must be (see ``absence_saved``); the case numbers moved."""
    db.session.add(absence)
    try:
        with db.session.no_autoflush:
            check_absence(absence)
            ensure_may_change(absence)
            # Moved from another agent: that one's supervisor (or himself) must agree too.
            for earlier in inspect(absence).attrs.agent.history.deleted:
                if earlier is not None:
                    ensure_may_change(Absence(agent_id=earlier.id))
    except DeskError:
        db.session.rollback()
        raise
    db.session.commit()
    return absence_saved(absence, now)


def handed_over_from(user, limit: int = 50) -> list[Event]:
    """The hand-over Events of the cases taken from ``user`` during his absences, newest
    first: what his agent page lists when he is back (nothing moves back by itself)."""
    if user is None:
        return []
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.action == HANDED_OVER, Event.old_value == user.username)
            .order_by(Event.id.desc())
            .limit(limit)
        )
    )


@dataclass
class ReturnNotice:
    """What an agent back from an absence is told once: the absence and the hand-over Events
    of the cases taken from him during it (they stay where they went)."""

    absence: Absence
    handed_over: list[Event]

    @property
    def to_substitute(self) -> list[Event]:
        return [e for e in self.handed_over if e.new_value]

    @property
    def to_pool(self) -> list[Event]:
        return [e for e in self.handed_over if not e.new_value]


def return_notice(user, now: datetime | None = None) -> ReturnNotice | None:
    """The notice for ``user``'s first page after an absence of his ended, or None; shown
    once: the absence is marked noticed (committed). Several ended unseen absences are one
    notice, from the first start to the last end."""
    if user is None or getattr(user, "id", None) is None:
        return None
    now = now or utcnow()
    ended = list(
        db.session.scalars(
            select(Absence)
            .join(AgentProfile, AgentProfile.id == Absence.agent_id)
            .where(
                AgentProfile.user_id == user.id,
                Absence.ends_at <= now,
                Absence.return_noticed_at.is_(None),
            )
            .order_by(Absence.ends_at)
        )
    )
    if not ended:
        return None
    starts = min(a.starts_at for a in ended)
    moved = list(
        db.session.scalars(
            select(Event)
            .where(
                Event.action == HANDED_OVER,
                Event.old_value == user.username,
                Event.created_at >= starts,
            )
            .order_by(Event.id)
        )
    )
    for absence in ended:
        absence.return_noticed_at = now
    db.session.commit()
    return ReturnNotice(ended[-1], moved)


def next_absence_end(user, now: datetime | None = None) -> datetime | None:
    """When ``user``'s current or next absence ends (the earliest), or None: until then no
    return notice can be due, so pages need not ask."""
    if user is None or getattr(user, "id", None) is None:
        return None
    now = now or utcnow()
    return db.session.scalar(
        select(Absence.ends_at)
        .join(AgentProfile, AgentProfile.id == Absence.agent_id)
        .where(AgentProfile.user_id == user.id, Absence.ends_at > now)
        .order_by(Absence.ends_at)
        .limit(1)
    )

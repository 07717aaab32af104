"""SLA services: which policy a case falls under, its due times on its business calendar, and
the warnings before (and the record of) a breach.

The SLA clock (``SlaClock``) is what cases measure due times with (``app.cases.due``): this
feature installs it when a desk starts (``connect``). Cases decide when due times change
(opening, a change of pool, topic or priority, the first response, a wait and its end); this
module decides how much business time a case has.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.agents.models import AgentProfile, PoolMembership
from app.audit.actor import acting_as
from app.audit.tracking import record_event
from app.cases import due
from app.cases.models import Case
from app.cases.workflow import CLOCK_PAUSED_STATUSES, OPEN_STATUSES
from app.core.settings import setting
from app.core.timeutil import utcnow
from app.core.urls import desk_base_url
from app.errors import DeskError
from app.extensions import appbuilder, db
from app.organisation.models import Pool, Topic
from app.organisation.topics import ancestors
from app.outbox import services as outbox
from app.security.roles import ADMIN
from app.sla.calendar import BusinessCalendar, CalendarError, Closure, parse_clock
from app.sla.models import SlaAlert, SlaCalendar, SlaClosure, SlaOpeningHours, SlaPolicy

log = logging.getLogger(__name__)

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
TARGET_LABELS = {FIRST_RESPONSE: "first response", RESOLUTION: "resolution"}
WARNING = "warning"
BREACH = "breach"
ROUND_THE_CLOCK = BusinessCalendar.always_open()


# --- calendars -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _calendar(weekly, time_zone, country, subdivision, closures) -> BusinessCalendar:
    """One calendar value per definition, so its cached days outlive a request."""
    return BusinessCalendar(
        weekly=weekly,
        time_zone=time_zone,
        country=country,
        subdivision=subdivision,
        closures=closures,
    )


def business_calendar(row: SlaCalendar | None) -> BusinessCalendar:
    """The ``BusinessCalendar`` of a calendar row (round the clock, UTC, for none)."""
    if row is None:
        return ROUND_THE_CLOCK
    weekly: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for hours in row.hours:
        weekly[hours.weekday].append(
            (parse_clock(hours.opens), parse_clock(hours.closes, end=True))
        )
    closures = []
    for closure in row.closures:
        if closure.day is not None:
            start = datetime.combine(closure.day, time())
            closures.append(Closure(start, start + timedelta(days=1), closure.reason or ""))
        elif closure.starts_at is not None and closure.ends_at is not None:
            closures.append(Closure(closure.starts_at, closure.ends_at, closure.reason or ""))
    return _calendar(
        tuple(tuple(sorted(spans)) for spans in weekly),
        row.time_zone or "UTC",
        (row.holiday_country or "").upper() or None,
        (row.holiday_subdivision or "").upper() or None,
        tuple(sorted(closures, key=lambda c: (c.starts, c.ends))),
    )


def check_calendar(row: SlaCalendar) -> None:
    """Refuse a calendar that cannot work: an unknown zone or country, bad hours."""
    try:
        with db.session.no_autoflush:  # the row being saved is not in the session yet
            business_calendar(row)
    except CalendarError as exc:
        raise DeskError(str(exc)) from None


def check_hours(row: SlaOpeningHours) -> None:
    """Normalise "8:00" to "08:00"; refuse times that are none and hours that close first."""
    if row.weekday is None or not 0 <= int(row.weekday) <= 6:
        raise DeskError("Choose a weekday.")
    opens = parse_clock(row.opens)
    closes = parse_clock(row.closes, end=True)
    if closes <= opens:
        raise DeskError(f"{row.opens}-{row.closes}: the hours must close after they open.")
    row.opens = f"{opens // 60:02d}:{opens % 60:02d}"
    row.closes = f"{closes // 60:02d}:{closes % 60:02d}"
    if row.calendar is not None:
        check_calendar(row.calendar)  # overlapping hours of the same day


def check_closure(row: SlaClosure) -> None:
    if row.day is None and (row.starts_at is None or row.ends_at is None):
        raise DeskError("A closure is a whole day, or a range from … until.")
    if row.day is not None and (row.starts_at is not None or row.ends_at is not None):
        raise DeskError("Give either a whole day or a range from … until, not both.")
    if row.day is None and row.ends_at <= row.starts_at:
        raise DeskError("A closure ends after it starts.")


@dataclass(frozen=True)
class PreviewDay:
    day: date
    hours: list[tuple[datetime, datetime]]  # local wall times
    note: str | None  # the holiday's name or the closure's reason


def preview(row: SlaCalendar, start: date | None = None, days: int = 7) -> list[PreviewDay]:
    """The opening hours of the next ``days`` local days, with holidays and closures."""
    cal = business_calendar(row)
    first = start or cal.local_date(utcnow())
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        note = cal.holiday(day)
        closure = cal.closure_on(day)
        if note is None and closure is not None:
            note = f"closed: {closure.reason}" if closure.reason else "closure"
        result.append(PreviewDay(day, cal.hours_on(day), note))
    return result


# --- policies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """What a case has to meet, and on which hours."""

    first_response: timedelta
    resolution: timedelta
    calendar: BusinessCalendar
    warn_before: timedelta | None  # None: the desk's SLA_WARN_BEFORE_MINUTES, read when used
    policy: SlaPolicy | None


def _topic_of(case):
    """The case's topic as it will be saved (see ``_pool_of``)."""
    state = inspect(case)
    if state.attrs.topic_id.history.has_changes() or (
        case.topic is None and case.topic_id is not None
    ):
        return db.session.get(Topic, case.topic_id) if case.topic_id is not None else None
    return case.topic


def policy_for(case, policies: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The active policy of the case's pool that its case follows, the nearest topic first:

    * the policy a topic links (``Topic.sla_policy``, set on the tree page), the case's topic
      or its nearest ancestor's, when it is one of the pool's active policies (a policy is a
      pool's: a case moved to another pool follows that pool's);
    * else the most specific of the pool's policies by scope: pool + topic + priority, pool +
      topic, pool + priority, pool (a topic's policy covers its subtopics, nearest first).
    """
    pool = _pool_of(case)
    if pool is None:
        return None
    if policies is None:
        policies = pool_policies(pool.id)
    chain = ancestors(_topic_of(case))
    ids = [node.id for node in chain]
    by_id = {policy.id: policy for policy in policies}
    best, best_rank = None, None
    for depth, node in enumerate(chain):
        linked = by_id.get(node.sla_policy_id) if node.sla_policy_id is not None else None
        if linked is not None:
            best, best_rank = linked, (depth, 0, False, linked.id)
            break
    for policy in policies:
        if policy.priority is not None and policy.priority != case.priority:
            continue
        if policy.topic_id is not None and policy.topic_id not in ids:
            continue
        # Lower is more specific: a nearer topic beats a farther one, a topic beats a
        # priority, and a topic's own link beats the policies scoped to it.
        topic_rank = ids.index(policy.topic_id) if policy.topic_id is not None else len(ids)
        rank = (topic_rank, 1, policy.priority is None, policy.id)
        if best_rank is None or rank < best_rank:
            best, best_rank = policy, rank
    return best


_POLICIES = "loopdesk_sla_policies"  # session.info: {pool id: active policies}
# session.info: {(pool id, topic id, priority): Targets} of unchanged cases, so a list page
# that marks fifty cases reads each pool's policies, topics and calendar once.
_TARGETS = "loopdesk_sla_targets"


def pool_policies(pool_id: int) -> list[SlaPolicy]:
    """The pool's active policies, read once per transaction (an intake batch opens many
    cases; a list page asks each row's due state)."""
    cache = db.session.info.get(_POLICIES)
    if cache is None:
        # Every pool's at once: a desk has a handful of policies, and a list of cases from
        # several pools then reads them in one statement.
        cache = {}
        with db.session.no_autoflush:
            for policy in db.session.scalars(
                select(SlaPolicy).where(SlaPolicy.active.is_(True)).order_by(SlaPolicy.id)
            ):
                cache.setdefault(policy.pool_id, []).append(policy)
        db.session.info[_POLICIES] = cache
    return cache.get(pool_id, [])


def _forget_policies(session: Session, *args) -> None:
    session.info.pop(_POLICIES, None)
    session.info.pop(_TARGETS, None)


def _forget_changed_policies(session: Session, flush_context, instances) -> None:
    # A topic's link to a policy (or its place in the tree) decides targets as well.
    if any(
        isinstance(obj, (SlaPolicy, Topic))
        for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        _forget_policies(session)


def _pool_of(case):
    """The case's pool as it will be saved: the relationship, unless the code set the
    column itself (before a flush the other one still shows the old value)."""
    state = inspect(case)
    if state.attrs.pool_id.history.has_changes() or case.pool is None:
        return db.session.get(Pool, case.pool_id) if case.pool_id is not None else None
    return case.pool


def default_warn_before() -> timedelta:
    return timedelta(minutes=setting("SLA_WARN_BEFORE_MINUTES"))


def targets_for(case, policies: list[SlaPolicy] | None = None) -> Targets:
    """The case's targets: its policy's, else the pool's hours (``DEFAULT_SLA_HOURS``) for
    both; on the policy's calendar, else the pool's, else round the clock. Kept for the
    transaction per pool, topic and priority (a case whose fields wait for a flush is
    worked out afresh)."""
    state = inspect(case)
    changed = any(
        state.attrs[name].history.has_changes()
        for name in ("pool_id", "pool", "topic_id", "topic", "priority")
    )
    if policies is not None or changed or state.transient or state.pending:
        return _targets(case, policies)
    cache = db.session.info.setdefault(_TARGETS, {})
    key = (case.pool_id, case.topic_id, case.priority)
    if key not in cache:
        cache[key] = _targets(case, None)
    return cache[key]


def _targets(case, policies: list[SlaPolicy] | None) -> Targets:
    pool = _pool_of(case)
    policy = policy_for(case, policies)
    calendar_row = (policy.calendar if policy is not None else None) or (
        getattr(pool, "sla_calendar", None) if pool is not None else None
    )
    calendar = business_calendar(calendar_row)
    warn = None
    if policy is not None:
        if policy.warn_minutes is not None:
            warn = timedelta(minutes=policy.warn_minutes)
        return Targets(
            timedelta(minutes=policy.first_response_minutes),
            timedelta(minutes=policy.resolution_minutes),
            calendar,
            warn,
            policy,
        )
    hours = (pool.sla_hours if pool is not None else None) or current_app.config[
        "DEFAULT_SLA_HOURS"
    ]
    return Targets(timedelta(hours=hours), timedelta(hours=hours), calendar, warn, None)


def _add(calendar: BusinessCalendar, start: datetime, delta: timedelta) -> datetime:
    """``add_business``, or round the clock when the calendar cannot answer (a calendar
    without hours): a case must get a due time, and the log says why it is not on hours."""
    try:
        return calendar.add_business(start, delta)
    except CalendarError as exc:
        log.warning("SLA calendar unusable (%s); counting round the clock", exc)
        return ROUND_THE_CLOCK.add_business(start, delta)


def _between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    return calendar.business_between(a, b) if calendar.has_hours else b - a


def compute_due(case, policies: list[SlaPolicy] | None = None) -> tuple[datetime, datetime]:
    """(first response due, resolution due) of the case: from its arrival, on its calendar,
    moved on by the business time it waited."""
    targets = targets_for(case, policies)
    received = case.received_at or utcnow()
    waited = timedelta(seconds=case.sla_paused_business_seconds or 0)
    return (
        _add(targets.calendar, received, targets.first_response + waited),
        _add(targets.calendar, received, targets.resolution + waited),
    )


def warn_threshold(targets: Targets, now: datetime) -> datetime:
    """Cases due up to this moment are due soon: ``warn_before`` of business time ahead."""
    before = targets.warn_before if targets.warn_before is not None else default_warn_before()
    return _add(targets.calendar, now, before)


def current_target(case) -> str:
    return FIRST_RESPONSE if case.first_response_at is None else RESOLUTION


class SlaClock:
    """The clock cases measure due times with (``app.cases.due.DueClock``)."""

    def due_times(self, case):
        return compute_due(case)

    def elapsed(self, case, start, end):
        return _between(targets_for(case).calendar, start, end)

    def add(self, case, start, delta):
        return _add(targets_for(case).calendar, start, delta)

    def due_soon(self, case, now):
        if case.sla_due_at is None or case.sla_due_at < now:
            return False
        return case.sla_due_at <= warn_threshold(targets_for(case), now)

    def first_response_target(self, case):
        return targets_for(case).first_response


_connected = False


def connect() -> None:
    """Make the SLA clock the one that measures cases (the feature's ``setup``)."""
    global _connected
    due.install_clock(SlaClock())
    if not _connected:
        for name in ("after_commit", "after_rollback"):
            event.listen(Session, name, _forget_policies)
        event.listen(Session, "before_flush", _forget_changed_policies, insert=True)
        _connected = True


def due_state(case, now: datetime | None = None) -> str:
    """``'overdue'``, ``'due_soon'``, ``'ok'`` or ``'paused'`` (``Case.due_state``)."""
    return case.due_state_at(now or utcnow())


# --- warnings and breaches -----------------------------------------------------------------


@dataclass
class AlertReport:
    warned: list[str]
    breached: list[str]


def supervisor_addresses(pool_id: int) -> list[str]:
    """E-mail addresses of the pool's active supervisors (the admins' if it has none)."""
    User = appbuilder().sm.user_model
    stmt = (
        select(User.email)
        .join(AgentProfile, AgentProfile.user_id == User.id)
        .join(PoolMembership, PoolMembership.agent_id == AgentProfile.id)
        .where(
            PoolMembership.pool_id == pool_id,
            PoolMembership.is_supervisor.is_(True),
            User.active.is_(True),
        )
    )
    addresses = sorted({a for a in db.session.scalars(stmt) if a})
    if not addresses:
        Role = appbuilder().sm.role_model
        admins = select(User.email).where(User.roles.any(Role.name == ADMIN), User.active.is_(True))
        addresses = sorted({a for a in db.session.scalars(admins) if a})
    return addresses


def _claim_alert(case, target: str, kind: str, due_at: datetime, now: datetime) -> bool:
    """Record that this alert is sent; False when it was already (a second run, another
    worker at the same time: ``INSERT … ON CONFLICT DO NOTHING``)."""
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(SlaAlert)
        .values(case_id=case.id, target=target, kind=kind, due_at=due_at, created_at=now)
        .on_conflict_do_nothing(index_elements=["case_id", "target", "kind"])
        .returning(SlaAlert.id)
    )
    return db.session.execute(stmt).scalar() is not None


def _warn(case, target: str, now: datetime) -> None:
    what = TARGET_LABELS[target]
    due_text = f"{case.sla_due_at:%Y-%m-%d %H:%M} UTC"
    link = f"{desk_base_url()}/cases/show/{case.id}"
    text = (
        f"Case {case.number} ({case.subject}) in pool {case.pool.name} is due for its {what} "
        f"at {due_text}.\n\n{link}\n\n"
        "You get this warning once per target; the case is not yet overdue.\n"
    )
    mails = []
    for address in supervisor_addresses(case.pool_id):
        try:
            row = outbox.queue_mail(
                kind="alert",
                to=address,
                subject=f"SLA warning: {case.number} due {due_text} ({what})",
                text=text,
                automatic=True,
            )
            mails.append(row)
        except DeskError:  # one bad address must not hide the warning from the others
            log.exception("cannot queue SLA warning to %s", address)
    db.session.flush()
    record_event(
        db.session,
        case,
        "sla warning",
        details={
            "target": target,
            "due": case.sla_due_at.isoformat(sep=" ", timespec="minutes"),
            "to": [m.recipient for m in mails],
            "outbox_ids": [m.id for m in mails],
        },
    )


def check_due_cases(now: datetime | None = None) -> AlertReport:
    """Warn the supervisors of every case due soon, and record every breach, once per
    target of a case (the periodic job; running it twice changes nothing)."""
    now = now or utcnow()
    report = AlertReport([], [])
    open_statuses = [s.value for s in OPEN_STATUSES - CLOCK_PAUSED_STATUSES]
    with acting_as(None):
        for pool in db.session.scalars(select(Pool).order_by(Pool.id)):
            policies = pool_policies(pool.id)
            # Cases due before the farthest threshold of the pool's policies (and default).
            probes = [targets_for_pool(pool, p) for p in policies] + [targets_for_pool(pool, None)]
            horizon = max(warn_threshold(t, now) for t in probes)
            cases = db.session.scalars(
                select(Case)
                .where(
                    Case.pool_id == pool.id,
                    Case.status.in_(open_statuses),
                    Case.sla_due_at.is_not(None),
                    Case.sla_due_at <= horizon,
                )
                .order_by(Case.sla_due_at, Case.id)
            ).all()
            for case in cases:
                target = current_target(case)
                if case.sla_due_at <= now:
                    if _claim_alert(case, target, BREACH, case.sla_due_at, now):
                        record_event(
                            db.session,
                            case,
                            "sla breached",
                            details={
                                "target": target,
                                "due": case.sla_due_at.isoformat(sep=" ", timespec="minutes"),
                            },
                        )
                        report.breached.append(case.number)
                    continue
                if case.sla_due_at > warn_threshold(targets_for(case, policies), now):
                    continue
                if _claim_alert(case, target, WARNING, case.sla_due_at, now):
                    _warn(case, target, now)
                    report.warned.append(case.number)
        db.session.commit()
    return report


def targets_for_pool(pool, policy: SlaPolicy | None) -> Targets:
    """The targets a case of ``pool`` under ``policy`` (None: no policy) would have."""
    calendar_row = (policy.calendar if policy is not None else None) or getattr(
        pool, "sla_calendar", None
    )
    warn = default_warn_before()
    if policy is not None and policy.warn_minutes is not None:
        warn = timedelta(minutes=policy.warn_minutes)
    return Targets(timedelta(0), timedelta(0), business_calendar(calendar_row), warn, policy)


def check_policy(row: SlaPolicy) -> None:
    """Targets of at least a minute, resolution not before the first response, and one
    active policy per scope (pool, topic, priority)."""
    if not row.priority:
        row.priority = None  # "Any"
    for name, label in (
        ("first_response_minutes", "first response"),
        ("resolution_minutes", "resolution"),
    ):
        value = getattr(row, name)
        if value is None or int(value) < 1:
            raise DeskError(f"The {label} target is at least one business minute.")
    if row.resolution_minutes < row.first_response_minutes:
        raise DeskError("The resolution target cannot come before the first response target.")
    if row.warn_minutes is not None and row.warn_minutes < 1:
        raise DeskError("Warn at least one business minute before, or leave it empty.")
    pool_id = row.pool.id if row.pool is not None else row.pool_id
    topic_id = row.topic.id if row.topic is not None else row.topic_id
    if pool_id is None:
        raise DeskError("A policy belongs to a pool.")
    if row.active is not False:  # a new row is active by default
        with db.session.no_autoflush:
            clash = db.session.scalars(
                select(SlaPolicy).where(
                    SlaPolicy.pool_id == pool_id,
                    SlaPolicy.topic_id.is_(None)
                    if topic_id is None
                    else SlaPolicy.topic_id == topic_id,
                    SlaPolicy.priority.is_(None)
                    if row.priority is None
                    else SlaPolicy.priority == row.priority,
                    SlaPolicy.active.is_(True),
                    SlaPolicy.id != (row.id or 0),
                )
            ).first()
        if clash is not None:
            raise DeskError(
                f"The active policy '{clash.name}' already covers this pool, topic and priority."
            )

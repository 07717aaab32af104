"""The dashboard's figures: today, this week and this month, the backlog now per pool, and
the volume per day and per hour, for managers (the whole desk) and supervisors (their pools).

Everything is counted in the database (COUNT … FILTER, GROUP BY) with one statement per
figure group, each reading a range of one timestamp column, so a desk of a million cases
answers in a few grouped scans; only the first-response times of the month are read as rows
(a median needs them). The result is plain data (numbers, dates as ISO text) kept
``REPORTS_DASHBOARD_CACHE_SECONDS`` in the desk's store (Redis) per scope, so a room of
managers reloading the page counts once.

The definitions follow the report's (``reports.metrics``, README *Reports*): closed means
closed now with its last close in the window, SLA attainment is the closed cases' share
closed by their resolution due time, overdue a case not closed, past its due time, with its
clock running. Two differences, both said on the page: the first-response median is elapsed
time (not business hours, which need each pool's calendar per case), and the hourly counts
are grouped in UTC hours then moved to the desk's time zone (exact for zones a whole number
of hours from UTC).
"""

from __future__ import annotations

import hashlib
import json
import statistics
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, func, or_, select

from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CLOCK_PAUSED_STATUSES, OPEN_STATUSES, CaseStatus
from app.core.settings import setting as core_setting
from app.extensions import db
from app.jobs.queue import connection
from app.organisation.models import Pool
from app.questionnaires.models import Answer, Moment, Question, QuestionKind
from reports.settings import setting

CLOSED = CaseStatus.CLOSED.value
OPEN = tuple(sorted(s.value for s in OPEN_STATUSES))
PAUSED = tuple(s.value for s in CLOCK_PAUSED_STATUSES)
WINDOWS = (("today", "Today"), ("week", "This week"), ("month", "This month"))
DAYS_SHOWN = 30
PROFILE_WEEKS = 4
CACHE_KEY = "loopdesk:reports:dashboard"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def window_starts(now: datetime, zone: ZoneInfo) -> dict[str, tuple[date, datetime]]:
    """Local first day and naive UTC start of today, this week (from Monday) and this month."""
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
    firsts = {
        "today": today,
        "week": today - timedelta(days=today.weekday()),
        "month": today.replace(day=1),
    }
    return {k: (d, _utc(datetime.combine(d, time()), zone)) for k, d in firsts.items()}


def _scoped(stmt, pool_ids):
    return stmt if pool_ids is None else stmt.where(Case.pool_id.in_(pool_ids))


def hour_bucket(column):
    """The column truncated to its (UTC) hour, in the database's own dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", column)
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _source(base, pool_ids):
    """What a count reads: ``base`` (messages joined to their cases, for the pool), or the
    messages alone when the whole desk counts (no join for a million rows)."""
    if base is None:
        return Case.__table__
    return base if pool_ids is not None else Message.__table__


def _pct(part, whole) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _counts_per_window(column, starts, lo, now, pool_ids, *extra, base=None, where=()):
    """One row: for each window, COUNT of rows whose ``column`` lies from its start to
    ``now`` (and each ``extra`` condition counted alongside)."""
    columns = []
    for _, start in starts.values():
        columns.append(func.count().filter(column >= start))
        for condition in extra:
            columns.append(func.count().filter(and_(column >= start, condition)))
    stmt = select(*columns).select_from(_source(base, pool_ids))
    stmt = _scoped(stmt.where(column >= lo, column <= now, *where), pool_ids)
    return list(db.session.execute(stmt).one())


def compute(pool_ids: list[int] | None, now: datetime, time_zone: str) -> dict[str, Any]:
    """The dashboard's data for the pools ``pool_ids`` (None: the whole desk) at ``now``."""
    zone = ZoneInfo(time_zone)
    starts = window_starts(now, zone)
    lo = min(start for _, start in starts.values())
    keys = list(starts)
    windows: dict[str, dict[str, Any]] = {
        key: {"key": key, "title": title, "since": starts[key][0].isoformat()}
        for key, title in WINDOWS
    }

    since = volume_since(now, zone, lo)
    inbound = to_local(inbound_hours(pool_ids, since, now), zone)
    opened = _counts_per_window(Case.received_at, starts, lo, now, pool_ids)
    on_time = or_(Case.resolution_due_at.is_(None), Case.closed_at <= Case.resolution_due_at)
    closed = _counts_per_window(
        Case.closed_at, starts, lo, now, pool_ids, on_time, where=(Case.status == CLOSED,)
    )
    fr_on_time = or_(
        Case.first_response_due_at.is_(None), Case.first_response_at <= Case.first_response_due_at
    )
    firsts = _counts_per_window(Case.first_response_at, starts, lo, now, pool_ids, fr_on_time)
    for n, key in enumerate(keys):
        w = windows[key]
        local_start = pd.Timestamp(starts[key][0])
        w["received"] = int(inbound[inbound.index >= local_start].sum()) if len(inbound) else 0
        w["opened"] = int(opened[n])
        w["closed"], closed_on_time = int(closed[2 * n]), int(closed[2 * n + 1])
        w["sla_pct"] = _pct(closed_on_time, w["closed"])
        w["first_responses"], fr_in_sla = int(firsts[2 * n]), int(firsts[2 * n + 1])
        w["first_response_sla_pct"] = _pct(fr_in_sla, w["first_responses"])

    for key, median in first_response_medians(starts, lo, now, pool_ids).items():
        windows[key]["first_response_median_h"] = median

    # Survey score: mean rating of the exit-survey answers given in the window.
    score_columns = []
    for _, start in starts.values():
        score_columns.append(func.avg(Answer.value_number).filter(Answer.answered_at >= start))
        score_columns.append(func.count(Answer.id).filter(Answer.answered_at >= start))
    survey = db.session.execute(
        _scoped(
            select(*score_columns)
            .select_from(Answer)
            .join(Question, Question.id == Answer.question_id)
            .join(Case, Case.id == Answer.case_id)
            .where(
                Answer.context == Moment.SURVEY.value,
                Question.kind == QuestionKind.RATING.value,
                Answer.value_number.is_not(None),
                Answer.answered_at >= lo,
                Answer.answered_at <= now,
            ),
            pool_ids,
        )
    ).one()
    for n, key in enumerate(keys):
        mean, count = survey[2 * n], survey[2 * n + 1]
        windows[key]["survey_score"] = None if mean is None else round(float(mean), 2)
        windows[key]["surveys"] = int(count or 0)

    pools = backlog_per_pool(pool_ids, now)
    totals = {
        "backlog": sum(p["backlog"] for p in pools),
        "overdue": sum(p["overdue"] for p in pools),
        "unassigned": sum(p["unassigned"] for p in pools),
    }
    volume = volume_by_hour(inbound, pool_ids, now, zone, since)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "time_zone": time_zone,
        "windows": [windows[k] for k in keys],
        "now": totals,
        "pools": pools,
        **volume,
    }


def first_response_medians(starts, lo, now, pool_ids) -> dict[str, float | None]:
    """Median elapsed hours from arrival to first reply of each window's first replies:
    PostgreSQL's ``percentile_cont`` per window in one statement; elsewhere the month's
    pairs of times are read and the medians taken here."""
    first, received = Case.first_response_at, Case.received_at
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", first - received)
        columns = [
            func.percentile_cont(0.5).within_group(seconds).filter(first >= start)
            for _, start in starts.values()
        ]
        row = db.session.execute(
            _scoped(select(*columns).where(first >= lo, first <= now), pool_ids)
        ).one()
        return {
            key: None if value is None else round(float(value) / 3600, 2)
            for key, value in zip(starts, row, strict=True)
        }
    pairs = db.session.execute(
        _scoped(select(received, first).where(first >= lo, first <= now), pool_ids)
    ).all()
    result: dict[str, float | None] = {}
    for key, (_, start) in starts.items():
        hours = [(b - a).total_seconds() / 3600 for a, b in pairs if b >= start]
        result[key] = round(statistics.median(hours), 2) if hours else None
    return result


def backlog_per_pool(pool_ids: list[int] | None, now: datetime) -> list[dict[str, Any]]:
    """Every pool in scope with its open cases now: in total, unassigned, in progress,
    overdue (clock running, past due) and the age of the oldest unassigned case."""
    open_ = Case.status.in_(OPEN)  # IN, not !=: the status index finds the few open ones
    unassigned = and_(Case.assignee_id.is_(None), Case.status == CaseStatus.RECEIVED.value)
    overdue = and_(Case.sla_due_at.is_not(None), Case.sla_due_at < now, Case.status.not_in(PAUSED))
    stmt = _scoped(
        select(
            Case.pool_id,
            func.count(),
            func.count().filter(unassigned),
            func.count().filter(Case.status == CaseStatus.IN_PROGRESS.value),
            func.count().filter(overdue),
            func.min(Case.received_at).filter(unassigned),
        )
        .where(open_)
        .group_by(Case.pool_id),
        pool_ids,
    )
    counts = {row[0]: row[1:] for row in db.session.execute(stmt)}
    pool_stmt = select(Pool.id, Pool.name).order_by(Pool.name)
    if pool_ids is not None:
        pool_stmt = pool_stmt.where(Pool.id.in_(pool_ids))
    result = []
    for pool_id, name in db.session.execute(pool_stmt):
        total, waiting, working, late, oldest = counts.get(pool_id, (0, 0, 0, 0, None))
        if isinstance(oldest, str):  # SQLite hands MIN() of a filtered column back as text
            oldest = datetime.fromisoformat(oldest)
        result.append(
            {
                "id": pool_id,
                "name": name,
                "backlog": int(total),
                "unassigned": int(waiting),
                "in_progress": int(working),
                "other": int(total) - int(waiting) - int(working),
                "overdue": int(late),
                "oldest_unassigned_h": (
                    round((now - oldest).total_seconds() / 3600, 1) if oldest else None
                ),
            }
        )
    return result


def per_hour(column, pool_ids, since: datetime, until: datetime, *where, base=None) -> pd.Series:
    """Rows per UTC hour (a Series indexed by the naive UTC hour) whose ``column`` is at or
    after ``since`` and before ``until``, grouped in the database."""
    bucket = hour_bucket(column).label("bucket")
    stmt = select(bucket, func.count()).select_from(_source(base, pool_ids))
    stmt = _scoped(stmt.where(column >= since, column < until, *where), pool_ids)
    stmt = stmt.group_by(bucket)
    rows = db.session.execute(stmt).all()
    if not rows:
        return pd.Series([], index=pd.DatetimeIndex([]), dtype="int64")
    index = pd.to_datetime([r[0] for r in rows])
    return pd.Series([int(r[1]) for r in rows], index=index).groupby(level=0).sum()


def to_local(series: pd.Series, zone: ZoneInfo) -> pd.Series:
    """A series indexed by naive UTC moments, re-indexed by the naive local ones."""
    if series.empty:
        return series
    moved = series.copy()
    moved.index = series.index.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    return moved.groupby(level=0).sum()


def volume_since(now: datetime, zone: ZoneInfo, lo: datetime) -> datetime:
    """The naive UTC start of the hourly counts: the first of the days shown, of the four
    full weeks of the profile, and of the windows, whichever is earliest."""
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
    first_day = today - timedelta(days=DAYS_SHOWN - 1)
    profile_start = today - timedelta(days=today.weekday() + 7 * PROFILE_WEEKS)
    return min(lo, _utc(datetime.combine(min(first_day, profile_start), time()), zone))


INBOUND = Message.direction == MessageDirection.INBOUND.value


def inbound_hours(pool_ids: list[int] | None, since: datetime, now: datetime) -> pd.Series:
    """Inbound e-mails per UTC hour from ``since``. The whole desk counts the messages
    alone; a set of pools needs each message's case, so the desk's counts per pool and
    hour are read in one statement, kept ``REPORTS_DASHBOARD_CACHE_SECONDS`` for every
    supervisor alike, and the scope's pools summed (a join of the month's mail to its
    cases per supervisor and page would cost more than the rest of the page)."""
    if pool_ids is None:
        return per_hour(Message.created_at, None, since, now, INBOUND, base=Message.__table__)
    seconds = int(setting("REPORTS_DASHBOARD_CACHE_SECONDS") or 0)
    store = connection() if seconds else None
    key = f"{CACHE_KEY}:inbound-per-pool:{since.isoformat()}"
    rows = None
    if store is not None:
        cached = store.get(key)
        if cached is not None:
            rows = json.loads(cached)
    if rows is None:
        bucket = hour_bucket(Message.created_at).label("bucket")
        stmt = (
            select(Case.pool_id, bucket, func.count())
            .select_from(Message.__table__.join(Case.__table__, Case.id == Message.case_id))
            .where(Message.created_at >= since, Message.created_at < now, INBOUND)
            .group_by(Case.pool_id, bucket)
        )
        rows = [[p, str(b), int(n)] for p, b, n in db.session.execute(stmt)]
        if store is not None:
            store.set(key, json.dumps(rows), ex=seconds)
    wanted = set(pool_ids)
    mine = [(b, n) for p, b, n in rows if p in wanted]
    if not mine:
        return pd.Series([], index=pd.DatetimeIndex([]), dtype="int64")
    index = pd.to_datetime([b for b, _ in mine])
    return pd.Series([n for _, n in mine], index=index).groupby(level=0).sum()


def volume_by_hour(
    inbound: pd.Series, pool_ids: list[int] | None, now: datetime, zone: ZoneInfo, since
) -> dict[str, Any]:
    """E-mails received (``inbound``: per local hour) and cases closed per local day (the
    last 30 days), e-mails per hour today against the same weekday's mean of the four weeks
    before, and the mean e-mails per hour of the week over the last four full weeks."""
    local_now = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    today = local_now.date()
    first_day = today - timedelta(days=DAYS_SHOWN - 1)
    profile_start = today - timedelta(days=today.weekday() + 7 * PROFILE_WEEKS)
    closed = to_local(per_hour(Case.closed_at, pool_ids, since, now, Case.status == CLOSED), zone)
    day_index = pd.date_range(first_day, today, freq="D")

    def per_day(series: pd.Series) -> pd.Series:
        if series.empty:
            return pd.Series(0, index=day_index)
        return series.groupby(series.index.normalize()).sum().reindex(day_index, fill_value=0)

    received_day, closed_day = per_day(inbound), per_day(closed)
    days = [
        {"day": d.date().isoformat(), "received": int(r), "closed": int(c)}
        for d, r, c in zip(day_index, received_day, closed_day, strict=True)
    ]

    def hours_of(day: date) -> list[int]:
        start = pd.Timestamp(day)
        part = inbound[(inbound.index >= start) & (inbound.index < start + pd.Timedelta(days=1))]
        counts = [0] * 24
        for at, n in part.items():
            counts[at.hour] += int(n)
        return counts

    today_counts = hours_of(today)
    earlier = [hours_of(today - timedelta(days=7 * k)) for k in range(1, PROFILE_WEEKS + 1)]
    today_hours = [
        {
            "hour": h,
            "received": today_counts[h] if h <= local_now.hour else None,
            "typical": round(sum(e[h] for e in earlier) / PROFILE_WEEKS, 1),
        }
        for h in range(24)
    ]
    week_start = pd.Timestamp(profile_start)
    week_end = week_start + pd.Timedelta(days=7 * PROFILE_WEEKS)
    part = inbound[(inbound.index >= week_start) & (inbound.index < week_end)]
    grid = [[0.0] * 24 for _ in range(7)]
    for at, n in part.items():
        grid[at.weekday()][at.hour] += n / PROFILE_WEEKS
    week_hours = [
        {"weekday": WEEKDAYS[d], "hour": h, "mean": round(grid[d][h], 2)}
        for d in range(7)
        for h in range(24)
    ]
    return {
        "days": days,
        "today_hours": today_hours,
        "week_hours": week_hours,
        "profile_since": profile_start.isoformat(),
    }


def _cache_key(pool_ids: list[int] | None, time_zone: str) -> str:
    scope = "all" if pool_ids is None else ",".join(str(p) for p in sorted(pool_ids))
    digest = hashlib.sha1(f"{scope}|{time_zone}".encode()).hexdigest()[:16]
    return f"{CACHE_KEY}:{digest}"


def dashboard(
    pool_ids: list[int] | None, now: datetime, time_zone: str | None = None
) -> dict[str, Any]:
    """``compute``, kept ``REPORTS_DASHBOARD_CACHE_SECONDS`` in the desk's store per scope
    (0: counted on every request)."""
    zone = time_zone or str(core_setting("DESK_TIMEZONE") or "UTC")
    seconds = int(setting("REPORTS_DASHBOARD_CACHE_SECONDS") or 0)
    store = connection() if seconds else None
    key = _cache_key(pool_ids, zone)
    if store is not None:
        cached = store.get(key)
        if cached is not None:
            data = json.loads(cached)
            data["cached"] = True
            return data
    data = compute(pool_ids, now, zone)
    if store is not None:
        store.set(key, json.dumps(data), ex=seconds)
    data["cached"] = False
    return data

"""The desk's figures for a period, globally and per agent, pool, topic and mailbox.

Read with SQLAlchemy (only the columns a figure needs; counts that need no per-row work are
grouped in the database), shaped with pandas. Every fact is a frame with the four keys
``pool_id``, ``topic_id``, ``mailbox_id``, ``agent_id`` and its measures, so one group-by per
breakdown gives every figure of that breakdown. The definitions are in the README
(*Reports*); in short:

* a case's **agent** is its assignee, except for replies sent and cases handled, which
  belong to whoever wrote the reply or closed the case;
* **closed** means closed now, with its last close in the period (Zendesk's full
  resolution); **reopened** means a status change closed → in progress in the period
  (Zammad); **backlog** is every case not closed, and **overdue** those of them past their
  due time with their clock running, both at the moment the report runs (Freshdesk);
* times are business hours on the calendar of the case's pool (round the clock without one).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy import column as table_column
from sqlalchemy import table as named_table

from app.audit.models import Event
from app.cases.models import Case, CaseIntakeAnswer, Message, MessageDirection
from app.cases.workflow import CLOCK_PAUSED_STATUSES, CaseStatus
from app.consultation.models import Consultation, Department
from app.extensions import db
from app.knowledge.models import KnowledgeArticleUse, KnowledgeArticleVersion
from app.mailcore.models import Mailbox
from app.organisation.models import Pool, Topic
from app.questionnaires.models import (
    Answer,
    DictionaryValue,
    Moment,
    Question,
    QuestionKind,
    Questionnaire,
)
from app.sla.calendar import BusinessCalendar
from app.sla.services import business_calendar
from reports.business_time import BusinessClock, clock_for

log = logging.getLogger(__name__)
_TRACE = bool(os.environ.get("LOOPDESK_TRACE_REPORTS"))
KEYS = ("pool_id", "topic_id", "mailbox_id", "agent_id")
BREAKDOWNS = {"agent": "agent_id", "pool": "pool_id", "topic": "topic_id", "mailbox": "mailbox_id"}
BREAKDOWN_TITLES = {"agent": "Agent", "pool": "Pool", "topic": "Topic", "mailbox": "Mailbox"}
# Statuses in which an agent works on the case (Zendesk's agent work time: new and open).
WORKING_STATUSES = frozenset({CaseStatus.RECEIVED.value, CaseStatus.IN_PROGRESS.value})
CLOSED = CaseStatus.CLOSED.value
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NONE_LABEL = "(none)"
# Intake form fields whose answers are free text (or a file's name): one value per case, so
# they are left out of the counts per value, like the questionnaires' text questions.
FREE_TEXT_FIELD_TYPES = frozenset({"short_text", "long_text", "email", "phone", "file"})
# The forms designer's versions, read by table name: the designer and the reports are
# independent features of the same layer (pyproject.toml), and the report needs only the
# field types of the schemas.
_FORM_VERSIONS = named_table(
    "intake_form_version", table_column("id", Integer), table_column("schema", JSON)
)

# (column, title) of the figures every breakdown shows, in sheet order.
FIGURES: tuple[tuple[str, str], ...] = (
    ("emails_received", "E-mails received"),
    ("cases_opened", "Cases opened"),
    ("cases_closed", "Cases closed"),
    ("cases_reopened", "Cases reopened"),
    ("backlog_now", "Open backlog now"),
    ("overdue_now", "Overdue now"),
    ("closed_on_time_without_consultation", "Closed on time, no consultation"),
    ("closed_on_time_with_consultation", "Closed on time, with consultation"),
    ("closed_late_with_consultation", "Closed late, with consultation"),
    ("closed_late_without_consultation", "Closed late, no consultation"),
    ("surveys_answered", "Surveys answered"),
    ("survey_rate_pct", "Surveys answered, % of closed"),
    ("first_responses", "First responses"),
    ("first_response_median_h", "First response median (business h)"),
    ("first_response_p90_h", "First response p90 (business h)"),
    ("first_response_sla_pct", "First response within SLA %"),
    ("resolution_median_h", "Resolution median (business h)"),
    ("resolution_p90_h", "Resolution p90 (business h)"),
    ("resolution_sla_pct", "Resolution within SLA %"),
    ("cases_handled", "Cases handled"),
    ("replies_sent", "Replies sent"),
    ("handling_median_h", "Handling time per case, median (business h)"),
    ("handling_mean_h", "Handling time per case, mean (business h)"),
    ("one_touch_resolutions", "One-touch resolutions"),
)

Progress = Callable[[int, str], None]


class ReportParameterError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """Local days ``since`` to ``until`` (both included) in ``time_zone``; ``start`` and
    ``end`` (exclusive) are the naive UTC moments the desk stores."""

    since: date
    until: date
    time_zone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _utc(self, day: date) -> datetime:
        local = datetime.combine(day, time(), tzinfo=self.zone)
        return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    @property
    def start(self) -> datetime:
        return self._utc(self.since)

    @property
    def end(self) -> datetime:
        return self._utc(self.until + timedelta(days=1))

    def contains(self, column):
        return and_(column >= self.start, column < self.end)


@dataclass
class Sheet:
    """One table of the report: its columns (key, title), its rows and, optionally, what the
    spreadsheet charts (``chart``: kind, title, category column, value columns)."""

    name: str
    columns: list[tuple[str, str]]
    frame: pd.DataFrame
    chart: dict | None = None


@dataclass
class ReportResult:
    period: Period
    sheets: list[Sheet] = field(default_factory=list)

    def sheet(self, name: str) -> Sheet:
        return next(s for s in self.sheets if s.name == name)


# --- reading -----------------------------------------------------------------------------------


def _frame(stmt, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The statement's rows as a frame. On PostgreSQL the rows come as CSV through
    ``COPY (SELECT …) TO STDOUT`` and pandas' C parser reads them: building a Python object
    per value costs far more than the query when a month has hundreds of thousands of rows.
    Elsewhere (SQLite) the rows are read through SQLAlchemy, column by column."""
    names = list(columns) if columns is not None else [c.key for c in stmt.selected_columns]
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy_frame(stmt, names)
    result = db.session.execute(stmt)
    rows = result.tuples().all()
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    values = list(zip(*rows, strict=True))
    return pd.DataFrame({name: pd.Series(col) for name, col in zip(names, values, strict=True)})


def _copy_frame(stmt, names: list[str]) -> pd.DataFrame:
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    cursor = connection.connection.driver_connection.cursor()
    # For this transaction: sorts and hashes of a month stay in memory, and no JIT (it costs
    # more to compile these one-off statements than it saves).
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("SET LOCAL jit = off")
    _started = perf_counter()
    buffer = io.BytesIO()
    with cursor.copy(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)", params) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    if _TRACE:
        log.info(
            "%.3f s, %d bytes: %s",
            perf_counter() - _started,
            buffer.getbuffer().nbytes,
            " ".join(compiled.string.split())[:120],
        )
    dates, strings = [], []
    for name, column in zip(names, stmt.selected_columns, strict=True):
        kind = column.type
        if isinstance(kind, (DateTime, Date)):
            dates.append(name)
        elif isinstance(kind, (String, Text)):
            strings.append(name)
    if not buffer.getbuffer().nbytes:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    frame = pd.read_csv(
        buffer,
        header=None,
        names=names,
        dtype={name: object for name in strings},
        keep_default_na=False,
        na_values={name: [""] for name in names if name not in strings},
    )
    for name in dates:
        frame[name] = pd.to_datetime(frame[name], format="ISO8601")
    for name in strings:
        frame[name] = frame[name].where(frame[name] != "", None)
    return frame


class Engine:
    """Computes one report; ``pool_ids`` None is the whole desk, else only those pools."""

    def __init__(
        self,
        period: Period,
        *,
        pool_ids: Iterable[int] | None = None,
        now: datetime,
        progress: Progress | None = None,
    ):
        self.period = period
        self.pool_ids = sorted(set(pool_ids)) if pool_ids is not None else None
        self.now = now
        self.progress = progress or (lambda pct, step: None)
        self._calendars: dict[int, BusinessCalendar] = {}
        self._clocks: dict[BusinessCalendar, BusinessClock] = {}

    def scoped(self, stmt, pool_column=Case.pool_id):
        if self.pool_ids is None:
            return stmt
        return stmt.where(pool_column.in_(self.pool_ids))

    # --- business time -------------------------------------------------------------------------

    def calendar(self, pool_id) -> BusinessCalendar:
        if pool_id not in self._calendars:
            pool = db.session.get(Pool, int(pool_id))
            row = getattr(pool, "sla_calendar", None) if pool is not None else None
            self._calendars[pool_id] = business_calendar(row)
        return self._calendars[pool_id]

    def business_hours(self, pools, a, b) -> np.ndarray:
        """Business hours from each ``a`` to its ``b`` on the calendar of its pool (elapsed
        time without opening hours; NaN where ``a`` or ``b`` is missing), whole columns at
        once: per calendar one cumulative clock looked up with ``searchsorted``
        (``reports.business_time``), never a walk per row."""
        pools = np.asarray(pools)
        a = pd.to_datetime(pd.Series(np.asarray(a))).to_numpy()
        b = pd.to_datetime(pd.Series(np.asarray(b))).to_numpy()
        out = np.full(len(pools), np.nan)
        if not len(pools):
            return out
        for pool_id in pd.unique(pools):
            mask = pools == pool_id
            moments = pd.Series(np.concatenate([a[mask], b[mask]]))
            span = [moments.min(), moments.max()]  # NaT skipped
            clock = clock_for(self._clocks, self.calendar(pool_id), span)
            out[mask] = clock.hours(a[mask], b[mask])
        return out

    # --- facts ---------------------------------------------------------------------------------

    def cases(self) -> pd.DataFrame:
        """One row per case the period or the present touches, with its flags."""
        p = self.period
        reopened_ids = self.reopened_case_ids()
        reopened = set(db.session.scalars(reopened_ids))
        stmt = self.scoped(
            select(
                Case.id,
                Case.pool_id,
                Case.topic_id,
                Case.mailbox_id,
                Case.assignee_id.label("agent_id"),
                Case.status,
                Case.received_at,
                Case.first_response_at,
                Case.closed_at,
                Case.first_response_due_at,
                Case.resolution_due_at,
                Case.sla_due_at,
            ).where(
                or_(
                    p.contains(Case.received_at),
                    p.contains(Case.closed_at),
                    p.contains(Case.first_response_at),
                    Case.status != CLOSED,
                    Case.id.in_(reopened_ids),
                )
            )
        )
        frame = _frame(stmt)
        for column in ("received_at", "first_response_at", "closed_at"):
            frame[column] = pd.to_datetime(frame[column])
        start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)

        def within(column):
            return frame[column].notna() & (frame[column] >= start) & (frame[column] < end)

        frame["cases_opened"] = within("received_at")
        frame["closed"] = (frame["status"] == CLOSED) & within("closed_at")
        frame["backlog_now"] = frame["status"] != CLOSED
        paused = {s.value for s in CLOCK_PAUSED_STATUSES}
        due = pd.to_datetime(frame["sla_due_at"])
        frame["overdue_now"] = (
            frame["backlog_now"]
            & ~frame["status"].isin(paused)
            & due.notna()
            & (due < pd.Timestamp(self.now))
        )
        frame["cases_reopened"] = frame["id"].isin(reopened)
        consulted = self.consulted_case_ids()
        frame["consulted"] = frame["id"].isin(consulted)
        res_due = pd.to_datetime(frame["resolution_due_at"])
        frame["on_time"] = frame["closed"] & (res_due.isna() | (frame["closed_at"] <= res_due))
        frame["late"] = frame["closed"] & ~frame["on_time"]
        frame["closed_on_time_without_consultation"] = frame["on_time"] & ~frame["consulted"]
        frame["closed_on_time_with_consultation"] = frame["on_time"] & frame["consulted"]
        frame["closed_late_with_consultation"] = frame["late"] & frame["consulted"]
        frame["closed_late_without_consultation"] = frame["late"] & ~frame["consulted"]
        frame["first_responded"] = within("first_response_at")
        fr_due = pd.to_datetime(frame["first_response_due_at"])
        frame["first_response_in_sla"] = frame["first_responded"] & (
            fr_due.isna() | (frame["first_response_at"] <= fr_due)
        )
        frame["surveyed"] = frame["closed"] & frame["id"].isin(self.surveyed_case_ids())
        frame["first_response_h"] = self.business_hours(
            frame["pool_id"],
            frame["received_at"],
            frame["first_response_at"].where(frame["first_responded"]),
        )
        frame["resolution_h"] = self.business_hours(
            frame["pool_id"], frame["received_at"], frame["closed_at"].where(frame["closed"])
        )
        replies = self.replies_per_closed_case()
        frame["agent_replies"] = frame["id"].map(replies).fillna(0).astype(int)
        frame["one_touch"] = frame["closed"] & (frame["agent_replies"] == 1)
        frame["handling_h"] = frame["id"].map(self.working_hours(frame[frame["closed"]]))
        return frame

    def reopened_case_ids(self):
        """``SELECT case_id``: cases moved from closed back to in progress in the period."""
        return select(Event.case_id).where(
            Event.action == "status",
            Event.old_value == CLOSED,
            Event.case_id.is_not(None),
            self.period.contains(Event.created_at),
        )

    def _closed_in_period(self):
        return self.scoped(
            select(Case.id).where(Case.status == CLOSED, self.period.contains(Case.closed_at))
        )

    def consulted_case_ids(self) -> set[int]:
        """Closed cases of the period with any consultation of a department."""
        stmt = select(Consultation.case_id).where(
            Consultation.case_id.in_(self._closed_in_period())
        )
        return set(db.session.scalars(stmt.distinct()))

    def surveyed_case_ids(self) -> set[int]:
        """Closed cases of the period whose customer answered the exit survey."""
        stmt = select(Answer.case_id).where(
            Answer.context == Moment.SURVEY.value, Answer.case_id.in_(self._closed_in_period())
        )
        return set(db.session.scalars(stmt.distinct()))

    def replies_per_closed_case(self) -> dict[int, int]:
        """Replies agents sent on each closed case of the period (any time)."""
        stmt = (
            select(Message.case_id, func.count(Message.id))
            .where(
                Message.direction == MessageDirection.OUTBOUND.value,
                Message.author_id.is_not(None),
                Message.case_id.in_(self._closed_in_period()),
            )
            .group_by(Message.case_id)
        )
        return dict(db.session.execute(stmt).tuples().all())

    def working_hours(self, closed: pd.DataFrame) -> pd.Series:
        """Per closed case (indexed by id): business hours it spent received or in progress,
        from its arrival to its close (its status Events replayed, all cases at once)."""
        if closed.empty:
            return pd.Series(dtype=float)
        stmt = select(Event.case_id, Event.created_at, Event.id, Event.new_value).where(
            Event.action == "status", Event.case_id.in_(self._closed_in_period())
        )
        changes = _frame(stmt, ["id", "at", "event_id", "new"])
        changes["at"] = pd.to_datetime(changes["at"])
        # in the order they happened (sorted here: the database would sort on disk)
        changes = changes.sort_values(["id", "at", "event_id"], kind="stable", ignore_index=True)
        changes["order"] = np.arange(1, len(changes) + 1)
        changes = changes.drop(columns="event_id")
        # Each case starts received at its arrival; then one segment per status change.
        starts = pd.DataFrame(
            {
                "id": closed["id"].to_numpy(),
                "at": closed["received_at"].to_numpy(),
                "new": CaseStatus.RECEIVED.value,
                "order": 0,
            }
        )
        segments = pd.concat([starts, changes], ignore_index=True)
        segments = segments.sort_values(["id", "order"], kind="stable", ignore_index=True)
        bounds = closed.set_index("id")[["pool_id", "received_at", "closed_at"]]
        segments = segments.join(bounds, on="id", how="inner")
        at = segments["at"].clip(lower=segments["received_at"], upper=segments["closed_at"])
        following = at.groupby(segments["id"]).shift(-1)
        until = following.fillna(segments["closed_at"])
        working = segments["new"].isin(WORKING_STATUSES).to_numpy()
        hours = self.business_hours(
            segments["pool_id"].to_numpy()[working], at[working], until[working]
        )
        return (
            pd.Series(hours, index=segments["id"].to_numpy()[working])
            .groupby(level=0)
            .sum()
            .reindex(closed["id"].to_numpy(), fill_value=0.0)
        )

    def emails(self) -> pd.DataFrame:
        """Inbound mails of the period: one row each, with its case's keys and its moment
        (``received``): the breakdowns count them, the volume sheets place them in time. One
        read for both (and only these five columns)."""
        stmt = self.scoped(
            select(
                Case.pool_id,
                Case.topic_id,
                Case.mailbox_id,
                Case.assignee_id.label("agent_id"),
                Message.created_at.label("received"),
            )
            .join(Case, Case.id == Message.case_id)
            .where(
                Message.direction == MessageDirection.INBOUND.value,
                self.period.contains(Message.created_at),
            )
        )
        frame = _frame(stmt)
        frame["received"] = pd.to_datetime(frame["received"])
        frame["emails_received"] = 1
        return frame

    def handled(self) -> pd.DataFrame:
        """(agent, case) pairs of the period: replies he sent on it, or his closing of it."""
        replies = (
            select(
                Message.author_id.label("agent_id"),
                Message.case_id.label("case_id"),
                func.count(Message.id).label("replies_sent"),
            )
            .where(
                Message.direction == MessageDirection.OUTBOUND.value,
                Message.author_id.is_not(None),
                self.period.contains(Message.created_at),
            )
            .group_by(Message.author_id, Message.case_id)
        )
        closings = (
            select(
                Event.actor_id.label("agent_id"),
                Event.case_id.label("case_id"),
                literal(0).label("replies_sent"),
            )
            .where(
                Event.action == "status",
                Event.new_value == CLOSED,
                Event.actor_id.is_not(None),
                Event.case_id.is_not(None),
                self.period.contains(Event.created_at),
            )
            .distinct()
        )
        pairs = union_all(replies, closings).subquery()
        stmt = self.scoped(
            select(
                Case.pool_id,
                Case.topic_id,
                Case.mailbox_id,
                pairs.c.agent_id,
                pairs.c.case_id,
                func.sum(pairs.c.replies_sent).label("replies_sent"),
            )
            .join(Case, Case.id == pairs.c.case_id)
            .group_by(
                Case.pool_id, Case.topic_id, Case.mailbox_id, pairs.c.agent_id, pairs.c.case_id
            )
        )
        return _frame(stmt)

    # --- figures -------------------------------------------------------------------------------

    def summarise(
        self, cases: pd.DataFrame, emails: pd.DataFrame, handled: pd.DataFrame, key: str | None
    ) -> pd.DataFrame:
        """The figures (``FIGURES``) per value of ``key`` (None: one row for the desk).

        A period where no case had a first reply (or a close) gives empty medians and
        percentiles, not an error: the hours are made floats first (NaN where there are none),
        since pandas refuses percentiles of an ``object`` column, which a column of nothing
        but missing values can be."""
        cases = cases.assign(
            **{
                c: pd.to_numeric(cases[c], errors="coerce").astype(float)
                for c in ("first_response_h", "resolution_h", "handling_h")
            }
        )

        def groups(frame: pd.DataFrame):
            if key is None:
                return frame.assign(_all=0).groupby("_all", dropna=False)
            return frame.groupby(key, dropna=False)

        counts = groups(cases)[
            [
                "cases_opened",
                "closed",
                "cases_reopened",
                "backlog_now",
                "overdue_now",
                "closed_on_time_without_consultation",
                "closed_on_time_with_consultation",
                "closed_late_with_consultation",
                "closed_late_without_consultation",
                "surveyed",
                "first_responded",
                "first_response_in_sla",
                "on_time",
                "one_touch",
            ]
        ].sum()
        counts = counts.rename(
            columns={
                "closed": "cases_closed",
                "surveyed": "surveys_answered",
                "first_responded": "first_responses",
                "one_touch": "one_touch_resolutions",
            }
        )
        fr = groups(cases[cases["first_responded"]])["first_response_h"]
        res = groups(cases[cases["closed"]])["resolution_h"]
        handling = groups(cases[cases["closed"]])["handling_h"]
        out = counts.join(
            pd.DataFrame(
                {
                    "first_response_median_h": fr.median(),
                    "first_response_p90_h": fr.quantile(0.9),
                    "resolution_median_h": res.median(),
                    "resolution_p90_h": res.quantile(0.9),
                    "handling_median_h": handling.median(),
                    "handling_mean_h": handling.mean(),
                }
            ),
            how="outer",
        )
        out = out.join(groups(emails)["emails_received"].sum(), how="outer")
        agents = (
            handled.groupby(key, dropna=False) if key else handled.assign(_all=0).groupby("_all")
        )
        out = out.join(
            pd.DataFrame(
                {
                    "cases_handled": agents["case_id"].nunique(),
                    "replies_sent": agents["replies_sent"].sum(),
                }
            ),
            how="outer",
        )
        count_columns = [c for c, _ in FIGURES if not c.endswith(("_h", "_pct"))]
        for column in count_columns:
            out[column] = out[column].fillna(0).astype(int) if column in out else 0
        closed = out["cases_closed"].where(out["cases_closed"] > 0)
        firsts = out["first_responses"].where(out["first_responses"] > 0)
        out["survey_rate_pct"] = out["surveys_answered"] / closed * 100
        out["first_response_sla_pct"] = out["first_response_in_sla"] / firsts * 100
        out["resolution_sla_pct"] = out["on_time"] / closed * 100
        for column, _ in FIGURES:
            if column.endswith(("_h", "_pct")):
                out[column] = pd.to_numeric(out[column], errors="coerce").round(2)
        return out[[c for c, _ in FIGURES]]

    def labels(self, breakdown: str) -> dict:
        if breakdown == "agent":
            rows = db.session.execute(select(User.id, User.username))
        elif breakdown == "pool":
            rows = db.session.execute(select(Pool.id, Pool.name))
        elif breakdown == "topic":
            rows = db.session.execute(select(Topic.id, Topic.name))
        else:
            rows = db.session.execute(select(Mailbox.id, Mailbox.address))
        return dict(rows.tuples().all())

    def breakdown_sheet(self, breakdown, cases, emails, handled) -> Sheet:
        key = BREAKDOWNS[breakdown]
        table = self.summarise(cases, emails, handled, key)
        labels = self.labels(breakdown)
        table.index = [
            labels.get(int(i), f"#{int(i)}") if pd.notna(i) else NONE_LABEL for i in table.index
        ]
        table = table.sort_index(key=lambda idx: idx.str.lower())
        table.index.name = breakdown
        title = BREAKDOWN_TITLES[breakdown]
        frame = table.reset_index()
        return Sheet(
            name=f"By {breakdown}",
            columns=[(breakdown, title), *FIGURES],
            frame=frame,
            chart={
                "kind": "column",
                "title": f"Cases opened and closed per {breakdown}",
                "category": breakdown,
                "values": ["cases_opened", "cases_closed"],
            },
        )

    def consultations(self) -> Sheet:
        """Consultations sent in the period, per department: answered before or after their
        deadline, and those still unanswered (past the deadline or not) now."""
        answered = Consultation.answered_at.is_not(None)
        stmt = self.scoped(
            select(
                Department.name,
                func.count(Consultation.id),
                func.sum(
                    case(
                        (and_(answered, Consultation.answered_at <= Consultation.deadline_at), 1),
                        else_=0,
                    )
                ),
                func.sum(
                    case(
                        (and_(answered, Consultation.answered_at > Consultation.deadline_at), 1),
                        else_=0,
                    )
                ),
                func.sum(case((and_(~answered, Consultation.deadline_at < self.now), 1), else_=0)),
                func.sum(case((and_(~answered, Consultation.deadline_at >= self.now), 1), else_=0)),
            )
            .join(Department, Department.id == Consultation.department_id)
            .join(Case, Case.id == Consultation.case_id)
            .where(self.period.contains(Consultation.sent_at))
            .group_by(Department.name)
            .order_by(Department.name)
        )
        columns = [
            ("department", "Department"),
            ("sent", "Consultations sent"),
            ("answered_before_deadline", "Answered before the deadline"),
            ("answered_after_deadline", "Answered after the deadline"),
            ("open_past_deadline", "Unanswered, past the deadline"),
            ("open_within_deadline", "Unanswered, within the deadline"),
        ]
        frame = _frame(stmt, [c for c, _ in columns])
        for column, _ in columns[1:]:
            frame[column] = frame[column].fillna(0).astype(int)
        return Sheet(
            "Consultations",
            columns,
            frame,
            chart={
                "kind": "column",
                "title": "Consultations before and after the deadline",
                "category": "department",
                "values": ["answered_before_deadline", "answered_after_deadline"],
            },
        )

    def survey(self) -> Sheet:
        """Exit-survey scores per question, for the cases closed in the period."""
        stmt = (
            select(
                Questionnaire.name,
                Question.text,
                func.count(Answer.id),
                func.avg(Answer.value_number),
                func.min(Answer.value_number),
                func.max(Answer.value_number),
            )
            .join(Question, Question.id == Answer.question_id)
            .join(Questionnaire, Questionnaire.id == Answer.questionnaire_id)
            .where(
                Answer.context == Moment.SURVEY.value,
                Answer.case_id.in_(self._closed_in_period()),
                Question.kind.in_(
                    [
                        QuestionKind.RATING.value,
                        QuestionKind.NUMBER.value,
                        QuestionKind.YES_NO.value,
                    ]
                ),
            )
            .group_by(Questionnaire.name, Question.text, Question.id)
            .order_by(Questionnaire.name, Question.id)
        )
        columns = [
            ("questionnaire", "Questionnaire"),
            ("question", "Question"),
            ("answers", "Answers"),
            ("mean_score", "Mean score"),
            ("lowest", "Lowest"),
            ("highest", "Highest"),
        ]
        frame = _frame(stmt, [c for c, _ in columns])
        frame["mean_score"] = pd.to_numeric(frame["mean_score"]).round(2)
        return Sheet(
            "Survey",
            columns,
            frame,
            chart={
                "kind": "bar",
                "title": "Mean score per question",
                "category": "question",
                "values": ["mean_score"],
            },
        )

    def answers(self) -> Sheet:
        """Answers given in the period to intake forms, wrap-ups and surveys, per value."""
        value = func.coalesce(
            DictionaryValue.value, Answer.value_text, func.cast(Answer.value_number, db.String)
        )
        stmt = self.scoped(
            select(
                Questionnaire.name,
                Question.text,
                value.label("value"),
                func.count(Answer.id),
            )
            .join(Question, Question.id == Answer.question_id)
            .join(Questionnaire, Questionnaire.id == Answer.questionnaire_id)
            .join(Case, Case.id == Answer.case_id)
            .outerjoin(DictionaryValue, DictionaryValue.id == Answer.dictionary_value_id)
            .where(
                self.period.contains(Answer.answered_at),
                Question.kind != QuestionKind.TEXT.value,
            )
            .group_by(Questionnaire.name, Question.text, Question.id, value)
            .order_by(Questionnaire.name, Question.id, value)
        )
        columns = [
            ("questionnaire", "Questionnaire"),
            ("question", "Question"),
            ("value", "Value"),
            ("count", "Answers"),
        ]
        return Sheet("Answers", columns, _frame(stmt, [c for c, _ in columns]))

    def free_text_field_keys(self) -> list[str]:
        """Keys of the intake form fields that are free text in any form version (a few
        small JSON documents; the answers themselves are only counted in the database)."""
        keys: set[str] = set()
        for schema in db.session.scalars(select(_FORM_VERSIONS.c.schema)):
            fields = schema.get("fields") if isinstance(schema, dict) else schema
            for f in fields if isinstance(fields, list) else []:
                if isinstance(f, dict) and f.get("type") in FREE_TEXT_FIELD_TYPES:
                    keys.add(str(f.get("key")))
        return sorted(keys)

    def intake_answers(self, breakdowns: Iterable[str] = ()) -> list[Sheet]:
        """The intake form answers of the cases received in the period, counted per field and
        value (a multiple choice counts each chosen value): for the desk, and per pool and
        per topic when the report breaks down by them. One grouped statement (pool, topic,
        field, value) gives all of them; free-text fields are left out."""
        shown = func.coalesce(func.max(CaseIntakeAnswer.value_label), CaseIntakeAnswer.value_key)
        stmt = self.scoped(
            select(
                Case.pool_id,
                Case.topic_id,
                CaseIntakeAnswer.field_key,
                func.max(CaseIntakeAnswer.label).label("field"),
                CaseIntakeAnswer.value_key,
                shown.label("value"),
                func.count(CaseIntakeAnswer.id).label("count"),
            )
            .join(Case, Case.id == CaseIntakeAnswer.case_id)
            .where(self.period.contains(Case.received_at))
            .group_by(
                Case.pool_id, Case.topic_id, CaseIntakeAnswer.field_key, CaseIntakeAnswer.value_key
            )
        )
        free_text = self.free_text_field_keys()
        if free_text:
            stmt = stmt.where(CaseIntakeAnswer.field_key.not_in(free_text))
        rows = _frame(stmt)
        rows["count"] = pd.to_numeric(rows["count"]).fillna(0).astype(int)
        value_columns = [
            ("field_key", "Field key"),
            ("field", "Field"),
            ("value", "Value"),
            ("count", "Answers"),
        ]

        def counted(keys: list[str]) -> pd.DataFrame:
            names = [*keys, "field_key", "value_key", "field", "value", "count"]
            if rows.empty:
                return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
            frame = rows.assign(**{k: rows[k].astype(object) for k in keys})
            grouped = frame.groupby([*keys, "field_key", "value_key"], dropna=False, sort=False)
            out = grouped.agg(
                field=("field", "max"), value=("value", "max"), count=("count", "sum")
            )
            return out.reset_index()[names]

        def labelled(frame: pd.DataFrame, breakdown: str | None) -> pd.DataFrame:
            order = ["field_key", "value"]
            if breakdown is not None:
                labels = self.labels(breakdown)
                frame[breakdown] = [
                    labels.get(int(i), f"#{int(i)}") if pd.notna(i) else NONE_LABEL
                    for i in frame[BREAKDOWNS[breakdown]]
                ]
                order = [breakdown, *order]
            if frame.empty:
                return frame
            sort_keys = frame[order].astype(str).apply(lambda c: c.str.lower())
            return frame.loc[sort_keys.sort_values(order).index].reset_index(drop=True)

        desk = labelled(counted([]), None)
        sheets = [Sheet("Intake answers", value_columns, desk)]
        for breakdown in ("pool", "topic"):
            if breakdown in breakdowns:
                frame = labelled(counted([BREAKDOWNS[breakdown]]), breakdown)
                sheets.append(
                    Sheet(
                        f"Intake answers by {breakdown}",
                        [(breakdown, BREAKDOWN_TITLES[breakdown]), *value_columns],
                        frame,
                    )
                )
        return sheets

    def knowledge_use(self) -> Sheet:
        """Knowledge base articles inserted into replies in the period, per article, language
        and pool of the case (one grouped statement; the title is the version's in that
        language)."""
        title = func.coalesce(
            KnowledgeArticleVersion.title,
            literal("Article ") + func.cast(KnowledgeArticleUse.article_id, db.String),
        )
        stmt = self.scoped(
            select(
                title.label("article"),
                KnowledgeArticleUse.language,
                Pool.name.label("pool"),
                func.count(KnowledgeArticleUse.id).label("uses"),
            )
            .join(Case, Case.id == KnowledgeArticleUse.case_id)
            .join(Pool, Pool.id == Case.pool_id)
            .outerjoin(
                KnowledgeArticleVersion,
                and_(
                    KnowledgeArticleVersion.article_id == KnowledgeArticleUse.article_id,
                    KnowledgeArticleVersion.language == KnowledgeArticleUse.language,
                ),
            )
            .where(self.period.contains(KnowledgeArticleUse.at))
            .group_by(
                KnowledgeArticleUse.article_id,
                KnowledgeArticleVersion.title,
                KnowledgeArticleUse.language,
                Pool.name,
            )
        )
        columns = [
            ("article", "Article"),
            ("language", "Language"),
            ("pool", "Pool"),
            ("uses", "Times inserted"),
        ]
        frame = _frame(stmt, [c for c, _ in columns])
        frame["uses"] = pd.to_numeric(frame["uses"]).fillna(0).astype(int)
        if not frame.empty:
            frame = frame.sort_values(
                ["uses", "article", "language", "pool"],
                ascending=[False, True, True, True],
                ignore_index=True,
            )
        return Sheet("Knowledge base use", columns, frame)

    def volume(self, cases: pd.DataFrame, emails: pd.DataFrame) -> tuple[Sheet, Sheet]:
        zone = self.period.time_zone

        def local(series: pd.Series) -> pd.Series:
            return series.dt.tz_localize("UTC").dt.tz_convert(zone)

        mails = local(emails["received"].astype("datetime64[ns]"))
        opened = local(cases.loc[cases["cases_opened"], "received_at"])
        closed = local(cases.loc[cases["closed"], "closed_at"])
        days = pd.date_range(self.period.since, self.period.until, freq="D").date
        by_day = pd.DataFrame(
            {
                "emails_received": mails.dt.date.value_counts(),
                "cases_opened": opened.dt.date.value_counts(),
                "cases_closed": closed.dt.date.value_counts(),
            }
        ).reindex(days, fill_value=0)
        by_day = by_day.fillna(0).astype(int)
        by_day.index.name = "day"
        by_day = by_day.reset_index()
        day_sheet = Sheet(
            "By day",
            [
                ("day", "Day"),
                ("emails_received", "E-mails received"),
                ("cases_opened", "Cases opened"),
                ("cases_closed", "Cases closed"),
            ],
            by_day,
            chart={
                "kind": "line",
                "title": "Volume per day",
                "category": "day",
                "values": ["emails_received", "cases_opened", "cases_closed"],
            },
        )
        slots = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])

        def per_slot(series: pd.Series) -> pd.Series:
            if series.empty:
                return pd.Series(0, index=slots)
            return (
                series.groupby([series.dt.weekday, series.dt.hour])
                .size()
                .reindex(slots, fill_value=0)
            )

        week = (
            pd.DataFrame(
                {"emails_received": per_slot(mails), "cases_opened": per_slot(opened)}, index=slots
            )
            .fillna(0)
            .astype(int)
        )
        week = week.reset_index()
        week.insert(
            0,
            "slot",
            [
                f"{WEEKDAY_NAMES[d]} {h:02d}"
                for d, h in zip(week["weekday"], week["hour"], strict=True)
            ],
        )
        week["weekday"] = [WEEKDAY_NAMES[d] for d in week["weekday"]]
        week_sheet = Sheet(
            "By hour of week",
            [
                ("slot", "Slot"),
                ("weekday", "Weekday"),
                ("hour", "Hour"),
                ("emails_received", "E-mails received"),
                ("cases_opened", "Cases opened"),
            ],
            week,
            chart={
                "kind": "column",
                "title": "E-mails per hour of the week",
                "category": "slot",
                "values": ["emails_received"],
            },
        )
        return day_sheet, week_sheet

    def run(self, breakdowns: Iterable[str]) -> ReportResult:
        result = ReportResult(self.period)
        self.progress(5, "reading cases")
        cases = self.cases()
        self.progress(35, "reading mails and replies")
        emails = self.emails()
        handled = self.handled()
        self.progress(50, "summing up")
        summary = self.summarise(cases, emails, handled, None)
        values = []
        for column, _ in FIGURES:
            value: Any = summary.iloc[0][column] if len(summary) else float("nan")
            if column.endswith(("_h", "_pct")):
                values.append(None if pd.isna(value) else float(value))
            else:
                values.append(0 if pd.isna(value) else int(value))
        overview = pd.DataFrame(
            {"figure": [title for _, title in FIGURES], "value": pd.Series(values, dtype=object)}
        )
        result.sheets.append(Sheet("Summary", [("figure", "Figure"), ("value", "Value")], overview))
        wanted = list(breakdowns)
        for n, breakdown in enumerate(wanted):
            self.progress(50 + 20 * n // max(len(wanted), 1), f"breakdown by {breakdown}")
            result.sheets.append(self.breakdown_sheet(breakdown, cases, emails, handled))
        self.progress(70, "consultations and surveys")
        result.sheets.append(self.consultations())
        result.sheets.append(self.survey())
        result.sheets.append(self.answers())
        result.sheets.extend(self.intake_answers(wanted))
        result.sheets.append(self.knowledge_use())
        self.progress(80, "volume per day and hour")
        result.sheets.extend(self.volume(cases, emails))
        return result


def compute(
    period: Period,
    breakdowns: Iterable[str] = tuple(BREAKDOWNS),
    *,
    pool_ids: Iterable[int] | None = None,
    now: datetime,
    progress: Progress | None = None,
) -> ReportResult:
    """The desk report for ``period`` (see the module docstring and the README)."""
    unknown = set(breakdowns) - set(BREAKDOWNS)
    if unknown:
        raise ReportParameterError(f"unknown breakdown(s): {', '.join(sorted(unknown))}")
    return Engine(period, pool_ids=pool_ids, now=now, progress=progress).run(breakdowns)

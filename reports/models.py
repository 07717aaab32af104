"""ReportRun: the database record of a report job, so a lost job is run again; report
subscriptions and their deliveries (one per period)."""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import relationship

from app.audit.models import Event
from app.cases.models import Case, Message
from app.core.timeutil import utcnow
from app.questionnaires.models import Answer

# The dashboard reads the month's first responses by their time (reports.dashboard); the
# index belongs to the case table but is the reports' need, so it is declared here.
ix_case_first_response_at = Index("ix_case_first_response_at", Case.__table__.c.first_response_at)


class ReportRunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


UNFINISHED = (ReportRunStatus.QUEUED.value, ReportRunStatus.RUNNING.value)


class ReportRun(Model):
    """A requested report: who asked, with which parameters, how far it got, and where the
    file lies (under the desk's file store, so it outlives RQ's result storage).

    The queue only carries the run's id; the row is the truth. A running job touches
    ``heartbeat_at`` as it goes; the scheduled check (``reports.services.recover_lost_runs``)
    queues again a run whose job is gone from RQ or whose heartbeat stopped, up to
    ``REPORTS_MAX_ATTEMPTS`` times, then marks it failed with the reason: never left hanging.
    """

    __tablename__ = "report_run"
    __table_args__ = (Index("ix_report_run_status", "status"),)

    id = Column(Integer, primary_key=True)
    report = Column(String(64), nullable=False)
    # period (since, until: local dates, both included), time_zone, breakdowns, format and
    # the scope fixed when it was asked for (pool_ids: None = the whole desk).
    parameters = Column(JSON, nullable=True)
    status = Column(String(16), nullable=False, default=ReportRunStatus.QUEUED.value)
    progress = Column(Integer, nullable=False, default=0)
    step = Column(String(128), nullable=True)  # what the job is doing, for the progress bar
    path = Column(String(512), nullable=True)  # relative to FILE_STORE
    error = Column(Text, nullable=True)
    job_id = Column(String(64), nullable=True)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    requested_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    requested_by = relationship("User")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    started_at = Column(DateTime, nullable=True)
    heartbeat_at = Column(DateTime, nullable=True)
    finished_at = Column(DateTime, nullable=True)

    def __repr__(self) -> str:
        return f"Report run #{self.id} ({self.report}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in UNFINISHED

    @property
    def status_label(self) -> str:
        return ReportRunStatus(self.status).label

    @property
    def file_format(self) -> str:
        return (self.parameters or {}).get("format", "xlsx")


class Frequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ReportSubscription(Model):
    """A user's standing order for a report mailed to him as an attachment, weekly (the
    last Monday-to-Sunday week) or monthly (the last calendar month), in the time zone given
    (the desk's when empty). Its figures cover what he may see when it runs
    (``reports.services.scope_for``: a supervisor's pools only). Stopped, never deleted: its
    deliveries keep pointing at it."""

    __tablename__ = "report_subscription"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    user = relationship("User")
    report = Column(String(64), nullable=False, default="desk")
    frequency = Column(String(16), nullable=False, default=Frequency.MONTHLY.value)
    file_format = Column(String(8), nullable=False, default="xlsx")
    breakdowns = Column(JSON, nullable=True)  # None: every breakdown
    time_zone = Column(String(64), nullable=True)
    active = Column(Boolean, nullable=False, default=True, server_default=true())
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"{Frequency(self.frequency).label} report for {getattr(self.user, 'username', '?')}"

    @property
    def frequency_label(self) -> str:
        return Frequency(self.frequency).label


class DeliveryStatus(StrEnum):
    RUNNING = "running"  # its report run is queued or running
    MAILED = "mailed"  # the mail with the file is in the outbox (delivered from there)
    FAILED = "failed"  # the run failed for good; the reason is on the run


class ReportDelivery(Model):
    """One period of one subscription: at most one (the unique key), so the scheduler may run
    as often as it likes and twice at once: one report run and one mail per period."""

    __tablename__ = "report_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "since", name="uq_report_delivery_period"),
        Index("ix_report_delivery_status", "status"),
    )

    id = Column(Integer, primary_key=True)
    subscription_id = Column(
        Integer, ForeignKey("report_subscription.id"), nullable=False, index=True
    )
    subscription = relationship("ReportSubscription")
    since = Column(Date, nullable=False)
    until = Column(Date, nullable=False)
    status = Column(String(16), nullable=False, default=DeliveryStatus.RUNNING.value)
    run_id = Column(Integer, ForeignKey("report_run.id"), nullable=True)
    run = relationship("ReportRun")
    outbox_id = Column(Integer, ForeignKey("outbox_mail.id"), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    mailed_at = Column(DateTime, nullable=True)


# Indexes the reports need on other features' tables (they read a period by the moment things
# happened); declared here, next to the reads they serve, and attached to those tables.
REPORT_INDEXES = (
    # A period's mails, read from the index alone (direction, case and author included).
    Index(
        "ix_message_created",
        Message.created_at,
        Message.direction,
        Message.case_id,
        Message.author_id,
    ),
    # The status changes of the period's closed cases (handling time), from the index alone.
    Index(
        "ix_event_status_case",
        Event.case_id,
        Event.created_at,
        Event.id,
        Event.new_value,
        postgresql_where=text("action = 'status'"),
        sqlite_where=text("action = 'status'"),
    ),
    Index("ix_case_closed_at", Case.closed_at),
    Index("ix_questionnaire_answer_answered_at", Answer.answered_at),
)

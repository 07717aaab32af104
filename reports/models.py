"""ReportRun: the database record of a report job, so a lost job is run again."""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from app.cases.models import Case
from app.core.timeutil import utcnow

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

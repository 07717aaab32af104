"""ReportRun: the database record of a report job, so a lost job can be re-run."""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from app.core.timeutil import utcnow


class ReportRunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportRun(Model):
    """A requested report: who asked, with which parameters, and where the file lies.

    The queue only carries the run's id; the row is the truth, so a job lost with Redis is
    rebuilt from rows still in 'queued' state.
    """

    __tablename__ = "report_run"

    id = Column(Integer, primary_key=True)
    report = Column(String(64), nullable=False)
    parameters = Column(JSON, nullable=True)
    status = Column(String(16), nullable=False, default=ReportRunStatus.QUEUED.value)
    progress = Column(Integer, nullable=False, default=0)
    path = Column(String(512), nullable=True)
    error = Column(Text, nullable=True)
    job_id = Column(String(64), nullable=True)
    requested_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    requested_by = relationship("User")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    finished_at = Column(DateTime, nullable=True)

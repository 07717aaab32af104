"""Departments the desk consults, and each consultation of one from a case."""

from enum import StrEnum

from flask_appbuilder import Model
from markupsafe import Markup
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from app.audit.tracking import NeverDeleted
from app.core.timeutil import utcnow


class Department(Model):
    """A department outside the desk that agents consult by mail (kept by admins).

    ``response_hours`` is the time it has to answer (see ``app.consultation.deadline``); a
    department in use is deactivated, never deleted (``app.core.retire``).
    """

    __tablename__ = "department"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, unique=True)
    email = Column(String(320), nullable=False)
    response_hours = Column(Integer, nullable=False, default=24)
    # The language of its reminders (system template notice.consultation_reminder).
    language = Column(String(16), nullable=False, default="en")
    active = Column(Boolean, nullable=False, default=True)

    def __repr__(self) -> str:
        return self.name


class ConsultationStatus(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"  # past its deadline: the department was reminded
    ANSWERED = "answered"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Consultation(NeverDeleted, Model):
    """One question from a case to a department, with its times (sent, deadline, answered,
    reminded) for the reports: answered on time when ``answered_at <= deadline_at``."""

    __tablename__ = "consultation"
    __table_args__ = (Index("ix_consultation_status_deadline", "status", "deadline_at"),)

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False, index=True)
    case = relationship("Case")
    department_id = Column(Integer, ForeignKey("department.id"), nullable=False, index=True)
    department = relationship("Department")
    asked_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    asked_by = relationship("User", foreign_keys=[asked_by_id])
    question = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default=ConsultationStatus.OPEN.value)
    sent_at = Column(DateTime, nullable=False, default=utcnow)
    deadline_at = Column(DateTime, nullable=False)
    answered_at = Column(DateTime, nullable=True)
    reminded_at = Column(DateTime, nullable=True)
    # The thread entry of what was sent, and of the department's (first) answer.
    message_row_id = Column(Integer, ForeignKey("message.id"), nullable=True)
    message = relationship("Message", foreign_keys=[message_row_id])
    answer_message_row_id = Column(Integer, ForeignKey("message.id"), nullable=True)
    answer_message = relationship("Message", foreign_keys=[answer_message_row_id])
    # Message-IDs of the mail to the department and of its reminder: replies thread by them.
    message_id = Column(String(998), nullable=True, index=True)
    reminder_message_id = Column(String(998), nullable=True, index=True)

    def __repr__(self) -> str:
        return f"Consultation #{self.id} ({self.department})"

    @property
    def is_open(self) -> bool:
        return self.status != ConsultationStatus.ANSWERED

    @property
    def is_overdue(self) -> bool:
        return bool(self.is_open and self.deadline_at and self.deadline_at < utcnow())

    @property
    def answered_on_time(self) -> bool | None:
        if self.answered_at is None:
            return None
        return self.answered_at <= self.deadline_at

    @property
    def status_label(self) -> str:
        if self.status == ConsultationStatus.OPEN and self.is_overdue:
            return "Overdue"
        return ConsultationStatus(self.status).label

    def deadline_badge(self) -> Markup:
        text = f"{self.deadline_at:%Y-%m-%d %H:%M}" if self.deadline_at else "–"
        if self.is_overdue:
            return Markup(
                '<span class="ld-overdue" title="Overdue"><i class="fa fa-exclamation-triangle">'
                "</i> {}</span>"
            ).format(text)
        return Markup("<span>{}</span>").format(text)

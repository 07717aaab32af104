"""The Event model: one row per recorded step. Rows are never updated or deleted."""

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from app.audit import labels
from app.core.timeutil import utcnow


class Event(Model):
    """A recorded step: a status change, a tracked field change, an action or a system event.

    ``actor_id`` is empty for steps taken by the system (intake, jobs); ``actor_name`` keeps the
    name readable even if the user is renamed later.
    """

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_case_created", "case_id", "created_at"),
        # The event tracker's filters (app.audit.tracker), each in time order.
        Index("ix_event_actor_created", "actor_id", "created_at"),
        Index("ix_event_action_created", "action", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    actor = relationship("User", foreign_keys=[actor_id])
    actor_name = Column(String(256), nullable=False, default="system")
    case_id = Column(Integer, ForeignKey("case.id"), nullable=True)
    case = relationship("Case", back_populates="events")
    object_type = Column(String(64), nullable=False, default="case")
    object_id = Column(Integer, nullable=True)
    action = Column(String(64), nullable=False)
    field = Column(String(64), nullable=True)
    old_value = Column(Text, nullable=True)
    new_value = Column(Text, nullable=True)
    details = Column(JSON, nullable=True)

    def __repr__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name}: {self.summary}"

    @property
    def wrap_up_answers(self) -> list[tuple[str, str]]:
        """(question, answer) pairs of a wrap-up Event (empty for other Events)."""
        return labels.wrap_up_answers(self) if self.action == "wrap_up" else []

    @property
    def summary(self) -> str:
        """One line in words, as shown in the case history (``app.audit.labels``)."""
        return labels.summary(self)

"""IntakeForm: a versioned JSON description of the questions a topic asks."""

from flask_appbuilder import Model
from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, String, UniqueConstraint

from app.core.timeutil import utcnow


class IntakeForm(Model):
    """One version of an intake form; the designer (roadmap) edits ``schema`` by drag and drop.

    ``schema`` is a list of fields: ``{"name", "label", "type", "required", "choices"}``.
    """

    __tablename__ = "intake_form"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_intake_form_name_version"),)

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    version = Column(Integer, nullable=False, default=1)
    schema = Column(JSON, nullable=False, default=list)
    published = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"{self.name} v{self.version}"

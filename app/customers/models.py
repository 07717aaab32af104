"""The Customer model."""

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, DateTime, Integer, String, Text

from app.audit.labels import describe_fields
from app.core.timeutil import utcnow


class Customer(Model):
    """A person who writes to the desk, known by e-mail address (stored lower-case).

    Supervisors and admins correct names and addresses; each change is an Event. ``language``
    is the language of every mail to him (and of his portal pages); he changes it there.
    """

    __tablename__ = "customer"
    __tracked__ = ("name", "email", "language")

    id = Column(Integer, primary_key=True)
    email = Column(String(320), nullable=False, unique=True)
    name = Column(String(256), nullable=True)
    organisation = Column(String(256), nullable=True)
    language = Column(String(16), nullable=False, default="en")
    # Set when a permanent bounce says the address no longer receives mail.
    undeliverable = Column(Boolean, nullable=False, default=False)
    notes = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


describe_fields({"email": "E-mail address"})

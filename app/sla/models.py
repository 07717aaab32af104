"""Business calendars, SLA policies and the alerts sent before and at a breach."""

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import relationship

from app.core.priority import priority_label
from app.core.timeutil import utcnow
from app.sla.calendar import WEEKDAYS


class SlaCalendar(Model):
    """When a pool is open: weekly hours in a time zone, public holidays, closures."""

    __tablename__ = "sla_calendar"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, unique=True)
    time_zone = Column(String(64), nullable=False, default="UTC")
    # Public holidays from the ``holidays`` package: an ISO country code ("PL") and
    # optionally its subdivision ("BY" for Bavaria in "DE").
    holiday_country = Column(String(8), nullable=True)
    holiday_subdivision = Column(String(16), nullable=True)
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    hours = relationship(
        "SlaOpeningHours",
        back_populates="calendar",
        cascade="all, delete-orphan",
        order_by="SlaOpeningHours.weekday, SlaOpeningHours.opens",
    )
    closures = relationship(
        "SlaClosure",
        back_populates="calendar",
        cascade="all, delete-orphan",
        order_by="SlaClosure.day, SlaClosure.starts_at",
    )
    # Gives every pool its ``sla_calendar`` (organisation sits below this feature).
    pools = relationship("Pool", backref="sla_calendar")

    def __repr__(self) -> str:
        return self.name


class SlaOpeningHours(Model):
    """One open interval of a weekday, local time: "Monday 08:00-16:00"."""

    __tablename__ = "sla_opening_hours"

    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("sla_calendar.id"), nullable=False, index=True)
    calendar = relationship("SlaCalendar", back_populates="hours")
    weekday = Column(Integer, nullable=False)  # 0 = Monday … 6 = Sunday
    opens = Column(String(5), nullable=False)  # "HH:MM"
    closes = Column(String(5), nullable=False)  # "HH:MM"; "24:00" = midnight

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday] if self.weekday in range(7) else "?"

    def __repr__(self) -> str:
        return f"{self.weekday_name} {self.opens}-{self.closes}"


class SlaClosure(Model):
    """A day (or a range of local times) a calendar is closed besides its holidays."""

    __tablename__ = "sla_closure"

    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("sla_calendar.id"), nullable=False, index=True)
    calendar = relationship("SlaCalendar", back_populates="closures")
    # Either a whole local day, or a range of local times (from, until).
    day = Column(Date, nullable=True)
    starts_at = Column(DateTime, nullable=True)
    ends_at = Column(DateTime, nullable=True)
    reason = Column(String(256), nullable=True)

    def __repr__(self) -> str:
        when = (
            f"{self.day:%Y-%m-%d}"
            if self.day
            else f"{self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"
            if self.starts_at and self.ends_at
            else "?"
        )
        return f"{when} {self.reason or ''}".strip()


class SlaPolicy(Model):
    """The targets of a pool's cases, optionally only those of a topic and/or a priority.

    The most specific active policy wins: pool + topic + priority, then pool + topic, then
    pool + priority, then pool alone (a topic's policy also covers its subtopics, the nearest
    topic first). Without one, the pool's hours (``Pool.sla_hours``) apply to both targets.
    """

    __tablename__ = "sla_policy"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=False, index=True)
    pool = relationship("Pool")
    topic_id = Column(Integer, ForeignKey("topic.id"), nullable=True)
    # Topics refer to policies as well (``Topic.sla_policy``): say which key this one follows.
    topic = relationship("Topic", foreign_keys=[topic_id])
    priority = Column(Integer, nullable=True)  # app.core.priority.Priority; empty: any
    first_response_minutes = Column(Integer, nullable=False)
    resolution_minutes = Column(Integer, nullable=False)
    # The hours the targets count on; empty: the pool's calendar (round the clock without).
    calendar_id = Column(Integer, ForeignKey("sla_calendar.id"), nullable=True)
    calendar = relationship("SlaCalendar")
    # Warn the pool's supervisors this many business minutes before a target; empty: the
    # desk's SLA_WARN_BEFORE_MINUTES.
    warn_minutes = Column(Integer, nullable=True)
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    @property
    def priority_label(self) -> str:
        return priority_label(self.priority) if self.priority else "Any"

    def __repr__(self) -> str:
        return self.name


class SlaAlert(Model):
    """A warning (before) or a breach (after) of one target of one case, sent once."""

    __tablename__ = "sla_alert"
    __table_args__ = (UniqueConstraint("case_id", "target", "kind", name="uq_sla_alert_once"),)

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False)
    case = relationship("Case")
    target = Column(String(16), nullable=False)  # "first_response" | "resolution"
    kind = Column(String(8), nullable=False)  # "warning" | "breach"
    due_at = Column(DateTime, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

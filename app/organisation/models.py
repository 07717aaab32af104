"""Pool, Skill and Topic."""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import relationship

from app.core.priority import Priority


class Pool(Model):
    """A theme pool: combines several mailboxes; agents are members with a pick priority."""

    __tablename__ = "pool"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, unique=True)
    description = Column(Text, nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    # Hours until a new case of this pool is due (first answer); empty: the desk default.
    sla_hours = Column(Integer, nullable=True)
    # The business calendar its due times count on (``app.sla``: its ``SlaCalendar.pools``
    # gives the pool ``sla_calendar``); empty: round the clock.
    sla_calendar_id = Column(
        Integer, ForeignKey("sla_calendar.id", name="fk_pool_sla_calendar_id"), nullable=True
    )
    # Mail to a closed case reopens it within this many days, else opens a linked new case.
    reopen_days = Column(Integer, nullable=False, default=14)
    # How customers hear of a reply, a NotificationMode: "full" (the reply itself by mail) or
    # "link" (a notice with a signed link to the case in the customer portal).
    notification_mode = Column(String(8), nullable=False, default="full", server_default="full")
    # Who may close its cases, a ClosePolicy: the agents, or only supervisors and the
    # customer (the wrap-up questions are questionnaires: app.questionnaires).
    close_policy = Column(String(16), nullable=False, default="agents", server_default="agents")
    # Acknowledge new cases from mail with an automatic answer (app.mail.autoresponse).
    auto_response_enabled = Column(Boolean, nullable=False, default=False)
    auto_response_text = Column(Text, nullable=True)
    # How new cases reach agents, a PoolRouting: "pull" (they wait for Get next), or pushed at
    # once to the next eligible member by "round_robin" or "least_loaded" (app.cases.push).
    routing = Column(String(16), nullable=False, default="pull", server_default="pull")
    # At most this many open cases of this pool per agent (push routing and Get next); empty:
    # no cap.
    max_open_per_agent = Column(Integer, nullable=True)
    # Round robin: the login id of the member who got the pool's last pushed case (updated
    # atomically). A memo, not a reference: no foreign key, so removing a user never waits on it.
    last_routed_user_id = Column(Integer, nullable=True)
    # Where an absent agent's open cases go, an AbsenceHandover: "substitute" (his substitute,
    # when he may take them; else back to the pool) or "pool" (unassigned, for Get next).
    absence_handover = Column(
        String(16), nullable=False, default="substitute", server_default="substitute"
    )
    # Cases waiting on the customer: reminder mails after these many days ("7,14"; empty:
    # none) and closing after ``inactivity_close_days`` (empty: never), app.cases.inactivity.
    inactivity_reminder_days = Column(
        String(64), nullable=True, default="7,14", server_default="7,14"
    )
    inactivity_close_days = Column(Integer, nullable=True, default=21, server_default="21")

    mailboxes = relationship("Mailbox", back_populates="pool")
    memberships = relationship(
        "PoolMembership", back_populates="pool", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return self.name


class NotificationMode(StrEnum):
    """How a pool's customers hear of a reply (``Pool.notification_mode``)."""

    FULL = "full"  # the reply itself, by mail
    LINK = "link"  # a notice with a signed link to the case in the portal


NOTIFICATION_MODE_LABELS = {
    NotificationMode.FULL: "Full reply by mail",
    NotificationMode.LINK: "Link-only notice (portal)",
}


class PoolRouting(StrEnum):
    """How a pool's new cases reach its agents (``Pool.routing``)."""

    PULL = "pull"  # they wait for Get next
    ROUND_ROBIN = "round_robin"  # pushed to the members in turn
    LEAST_LOADED = "least_loaded"  # pushed to the member with the fewest open cases


POOL_ROUTING_LABELS = {
    PoolRouting.PULL: "Get next only (pull)",
    PoolRouting.ROUND_ROBIN: "Assign at once, round robin",
    PoolRouting.LEAST_LOADED: "Assign at once, least loaded",
}


class AbsenceHandover(StrEnum):
    """Where an absent agent's open cases of a pool go (``Pool.absence_handover``)."""

    SUBSTITUTE = "substitute"
    POOL = "pool"


ABSENCE_HANDOVER_LABELS = {
    AbsenceHandover.SUBSTITUTE: "To his substitute (else back to the pool)",
    AbsenceHandover.POOL: "Back to the pool (Get next)",
}


def day_list(value: str | None) -> list[int]:
    """``"7, 14"`` → ``[7, 14]``: the reminder days of ``Pool.inactivity_reminder_days``,
    sorted, positive whole numbers only (ValueError otherwise)."""
    days = []
    for part in (value or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) <= 0:
            raise ValueError(f"{part!r} is not a number of days")
        days.append(int(part))
    return sorted(set(days))


class ClosePolicy(StrEnum):
    """Who closes a pool's cases (``Pool.close_policy``)."""

    AGENTS = "agents"  # agents (and supervisors, and the customer in the portal)
    SUPERVISORS = "supervisors"  # only supervisors of the pool and the customer


CLOSE_POLICY_LABELS = {
    ClosePolicy.AGENTS: "Agents may close",
    ClosePolicy.SUPERVISORS: "Only supervisors and the customer close",
}


class Skill(Model):
    """Something an agent can do and a case may need (a language, a product, a tariff)."""

    __tablename__ = "skill"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, unique=True)
    description = Column(Text, nullable=True)
    # A skill that cases, topics or agents refer to is deactivated instead of deleted.
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    def __repr__(self) -> str:
        return self.name


class Topic(Model):
    """A node of the topic tree that customers pick in the portal.

    A topic links an intake form (forms designer), the pool that handles it, a required skill,
    a priority and an SLA policy; children inherit what they leave empty
    (``app.organisation.topics.effective_settings``). Topics that cases use are deactivated,
    never deleted. Every change of a field below is an Event (``__tracked__``).
    """

    __tablename__ = "topic"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_topic_parent_name"),)
    __tracked__ = (
        "name",
        "description",
        "parent",
        "pool",
        "skill",
        "form",
        "priority",
        "sla_policy",
        "active",
        "position",
        "name_translations",
        "description_translations",
    )

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    description = Column(Text, nullable=True)
    parent_id = Column(Integer, ForeignKey("topic.id"), nullable=True)
    parent = relationship("Topic", remote_side=[id], back_populates="children")
    children = relationship("Topic", back_populates="parent")
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=True)
    pool = relationship("Pool")
    skill_id = Column(Integer, ForeignKey("skill.id"), nullable=True)
    skill = relationship("Skill")
    form_id = Column(Integer, ForeignKey("intake_form.id"), nullable=True)
    form = relationship("IntakeForm")
    priority = Column(Integer, nullable=True)  # app.core.priority.Priority
    # The SLA policy of its cases (``app.sla``), when set here or on an ancestor: it wins over
    # the policies the pool has by topic and priority. A table-name reference: organisation sits
    # below the SLA feature (``use_alter``: policies refer to topics too).
    sla_policy_id = Column(
        Integer,
        ForeignKey("sla_policy.id", name="fk_topic_sla_policy_id", use_alter=True),
        nullable=True,
    )
    sla_policy = relationship("SlaPolicy", foreign_keys=[sla_policy_id])
    active = Column(Boolean, nullable=False, default=True)
    position = Column(Integer, nullable=False, default=0)
    # What the portal shows in the customer's language: {"pl": "Faktury", "de": "Rechnungen"};
    # a language without an entry shows ``name`` / ``description``.
    name_translations = Column(JSON, nullable=True)
    description_translations = Column(JSON, nullable=True)

    def __repr__(self) -> str:
        return self.path

    def name_in(self, language: str | None) -> str:
        """The topic's name in ``language`` ("pl", "pt-br": also "pt"), else ``name``."""
        return _translated(self.name_translations, language) or self.name

    def description_in(self, language: str | None) -> str | None:
        return _translated(self.description_translations, language) or self.description

    @property
    def path(self) -> str:
        """'Billing / Refunds' style name with every ancestor."""
        names, node, seen = [], self, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))

    def effective(self, attribute: str):
        """The value of ``pool``, ``skill`` or ``priority`` here or at the nearest ancestor."""
        node, seen = self, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            value = getattr(node, attribute)
            if value is not None:
                return value
            node = node.parent
        return None


def _translated(texts, language: str | None) -> str | None:
    if not texts or not language or not isinstance(texts, dict):
        return None
    language = language.lower()
    text = texts.get(language) or texts.get(language.split("-")[0])
    return text.strip() if isinstance(text, str) and text.strip() else None


__all__ = ["Pool", "Skill", "Topic", "Priority"]

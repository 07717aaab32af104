"""Case, Message and the counter behind case numbers."""

from enum import StrEnum

from flask_appbuilder import Model
from markupsafe import Markup
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import object_session, relationship, validates

from app.audit.labels import describe_fields
from app.audit.tracking import NeverDeleted
from app.cases import due
from app.cases.workflow import CLOCK_PAUSED_STATUSES, OPEN_STATUSES, CaseStatus, check_transition
from app.core.priority import Priority, priority_label
from app.core.timeutil import utcnow


class CaseNumberCounter(Model):
    """One row per prefix; incremented atomically to hand out case numbers without gaps."""

    __tablename__ = "case_number_counter"

    prefix = Column(String(16), primary_key=True)
    value = Column(Integer, nullable=False, default=0)


class Case(NeverDeleted, Model):
    """A customer enquiry, from the first mail or form until it is answered and closed."""

    __tablename__ = "case"
    __tracked__ = (
        "status",
        "priority",
        "subject",
        "pool",
        "topic",
        "required_skill",
        "assignee",
        "customer",
        "sla_due_at",
        "postponed_until",
        "archived_at",
    )
    __table_args__ = (
        Index("ix_case_pool_status_due", "pool_id", "status", "sla_due_at"),
        Index("ix_case_assignee_status", "assignee_id", "status"),
        # Get next case (app.cases.routing): the cases waiting for an agent, in pick order.
        Index(
            "ix_case_waiting",
            "pool_id",
            "sla_due_at",
            "received_at",
            "id",
            postgresql_where=text("assignee_id IS NULL AND status IN ('received', 'in_progress')"),
            sqlite_where=text("assignee_id IS NULL AND status IN ('received', 'in_progress')"),
        ),
        # My pools' queue (app.cases.queues): the same cases across pools, most urgent first.
        Index(
            "ix_case_waiting_due",
            "sla_due_at",
            "received_at",
            "id",
            postgresql_where=text("assignee_id IS NULL AND status IN ('received', 'in_progress')"),
            sqlite_where=text("assignee_id IS NULL AND status IN ('received', 'in_progress')"),
        ),
        # The retention job (app.cases.retention): closed cases not yet archived, oldest first.
        Index(
            "ix_case_archive_due",
            "closed_at",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
    )

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)
    subject = Column(String(998), nullable=False, default="")
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=True, index=True)
    customer = relationship("Customer", active_history=True)
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=False)
    pool = relationship("Pool", active_history=True)
    mailbox_id = Column(Integer, ForeignKey("mailbox.id"), nullable=True)
    mailbox = relationship("Mailbox")
    topic_id = Column(Integer, ForeignKey("topic.id"), nullable=True)
    topic = relationship("Topic", active_history=True)
    required_skill_id = Column(Integer, ForeignKey("skill.id"), nullable=True)
    required_skill = relationship("Skill", active_history=True)
    status = Column(String(32), nullable=False, default=CaseStatus.RECEIVED.value, index=True)
    priority = Column(Integer, nullable=False, default=int(Priority.NORMAL))
    sla_due_at = Column(DateTime, nullable=True)
    assignee_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    assignee = relationship("User", foreign_keys=[assignee_id], active_history=True)
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    first_response_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    # Closed longer than CASE_ARCHIVE_AFTER_DAYS: kept and found when asked, but out of the
    # daily lists (app.cases.retention). Reopening the case takes it out of the archive.
    archived_at = Column(DateTime, nullable=True)
    postponed_until = Column(DateTime, nullable=True)
    # The two targets (``app.cases.due``); ``sla_due_at`` is the next of them: the first
    # response due while the case is unanswered, then the resolution due.
    first_response_due_at = Column(DateTime, nullable=True)
    resolution_due_at = Column(DateTime, nullable=True)
    # While the case waits (``CLOCK_PAUSED_STATUSES``) its clock stands still since
    # ``sla_paused_at``, with the business seconds its next target had left then
    # (``app.cases.due.pause``); the business time of its finished waits, summed, counts
    # when the targets are computed again.
    sla_paused_at = Column(DateTime, nullable=True)
    sla_paused_seconds = Column(Integer, nullable=True)
    sla_paused_business_seconds = Column(Integer, nullable=False, default=0, server_default="0")
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # A case opened by mail to a long-closed case points at it.
    follows_case_id = Column(Integer, ForeignKey("case.id"), nullable=True)
    follows_case = relationship("Case", remote_side=[id])

    messages = relationship(
        "Message", back_populates="case", order_by="Message.created_at, Message.id"
    )
    events = relationship("Event", back_populates="case", order_by="Event.id")

    @validates("status")
    def _validate_status(self, key, value):
        """Enforce the state machine even for code that assigns ``status`` directly; a case
        that leaves "closed" leaves the archive too (an Event says so: ``archived_at`` is
        tracked)."""
        checked = check_transition(self.status, value).value
        if checked != CaseStatus.CLOSED and self.archived_at is not None:
            self.archived_at = None
        return checked

    def __repr__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def version_token(self) -> str:
        """What the case looked like when a page or client read it: changes when the case row
        changes (``updated_at``) or a message is added (the last message's id). Forms carry
        it (``case_version``), the REST API takes it as ``If-Match``; the actions refuse a
        change written for an older version (``app.cases.actions.check_version``)."""
        session = object_session(self)
        last = None
        if session is not None and self.id is not None:
            last = session.scalar(select(func.max(Message.id)).where(Message.case_id == self.id))
        return version_token(self.updated_at, last)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_postponed(self) -> bool:
        return self.status == CaseStatus.POSTPONED

    @property
    def is_overdue(self) -> bool:
        """Past its due time and still open; a postponed case, or one waiting on the
        customer, is not overdue: its clock waits (``CLOCK_PAUSED_STATUSES``)."""
        return self.due_state == "overdue"

    @property
    def is_due_soon(self) -> bool:
        """Open, its clock running, and its next target within the SLA's warning time (in
        business time: ``app.cases.due``), the moment the pool's supervisors are warned."""
        return self.due_state == "due_soon"

    @property
    def due_state(self) -> str:
        """How the case stands against its next target, for the lists' marks: ``'paused'``
        (its clock waits), ``'overdue'``, ``'due_soon'`` (within the warning time of its SLA
        policy, in business time) or ``'ok'`` (also closed cases and those without a due
        time)."""
        return self.due_state_at(utcnow())

    def due_state_at(self, now) -> str:
        """``due_state`` as it is (or was) at ``now`` (naive UTC)."""
        if not self.is_open or self.sla_due_at is None:
            return "ok"
        if self.status in CLOCK_PAUSED_STATUSES:
            return "paused"
        if self.sla_due_at < now:
            return "overdue"
        return "due_soon" if due.clock().due_soon(self, now) else "ok"

    @property
    def status_label(self) -> str:
        return CaseStatus(self.status).label

    @property
    def priority_label(self) -> str:
        return priority_label(self.priority)

    def due_badge(self) -> Markup:
        """The due time with its mark, by colour and by icon and words (not colour alone):
        overdue red with a warning icon, due soon (``is_due_soon``) amber with a clock; a
        postponed case shows when it comes back instead, with a pause icon."""
        if self.is_postponed and self.postponed_until is not None:
            return Markup(
                '<span class="ld-postponed" title="Postponed: the due time waits">'
                '<i class="fa fa-pause-circle" aria-hidden="true"></i> postponed until {}</span>'
            ).format(f"{self.postponed_until:%Y-%m-%d %H:%M}")
        if self.sla_due_at is None:
            return Markup("–")
        text = f"{self.sla_due_at:%Y-%m-%d %H:%M}"  # digits only: nothing to escape
        state = self.due_state
        if state == "overdue":
            return Markup(
                '<span class="ld-overdue" title="Overdue">'
                '<i class="fa fa-exclamation-triangle" aria-hidden="true"></i>'
                f'<span class="sr-only">Overdue:</span> {text}</span>'
            )
        if state == "due_soon":
            return Markup(
                '<span class="ld-due-soon" title="Due soon">'
                '<i class="fa fa-clock-o" aria-hidden="true"></i>'
                f'<span class="sr-only">Due soon:</span> {text}</span>'
            )
        return Markup(f"<span>{text}</span>")


VERSION_TIME_FORMAT = "%Y%m%d%H%M%S%f"


def version_token(updated_at, last_message_id) -> str:
    """``<updated_at as digits>.<last message id or 0>``, e.g. ``20261203141502123456.42``."""
    stamp = updated_at.strftime(VERSION_TIME_FORMAT) if updated_at is not None else "0"
    return f"{stamp}.{last_message_id or 0}"


describe_fields(
    {
        "sla_due_at": "Due",
        "required_skill": "Skill",
        "postponed_until": "Postponed until",
        "first_response_at": "First response",
        "first_response_due_at": "First response due",
        "resolution_due_at": "Resolution due",
        "archived_at": "Archived",
    },
    {
        "status": lambda value: CaseStatus(value).label,
        "priority": priority_label,
    },
)


class MessageDirection(StrEnum):
    """What an entry of a case thread is: a mail in or out, an internal note, a consultation."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"
    CONSULTATION = "consultation"


class Message(NeverDeleted, Model):
    """One entry of a case thread: a mail in or out, an internal note or a consultation."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_case_created", "case_id", "created_at"),)

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False)
    case = relationship("Case", back_populates="messages")
    direction = Column(String(16), nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    author = relationship("User", foreign_keys=[author_id])
    from_address = Column(String(998), nullable=True)
    to_addresses = Column(Text, nullable=True)
    cc_addresses = Column(Text, nullable=True)
    subject = Column(String(998), nullable=True)
    body_text = Column(Text, nullable=True)
    body_html = Column(Text, nullable=True)  # sanitised before it is stored
    message_id = Column(String(998), nullable=True, index=True)
    in_reply_to = Column(String(998), nullable=True)
    references = Column(Text, nullable=True)
    raw_message_id = Column(Integer, ForeignKey("raw_message.id"), nullable=True)
    raw_message = relationship("RawMessage")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    attachments = relationship("Attachment", back_populates="message")

    @validates("direction")
    def _validate_direction(self, key, value):
        if value not in set(MessageDirection):
            raise ValueError(f"unknown message direction {value!r}")
        return value

    def __repr__(self) -> str:
        return f"{self.direction} {self.created_at:%Y-%m-%d %H:%M} {self.subject or ''}".strip()


class InactivityNotice(Model):
    """One step of the inactivity rule sent for a case (``app.cases.inactivity``): a reminder
    after ``days`` days waiting on the customer, or the close. Unique per case, waiting period
    (``waiting_since``: when the case started to wait) and step, so the job never sends the
    same step twice; a new waiting period starts the count again."""

    __tablename__ = "inactivity_notice"
    __table_args__ = (
        UniqueConstraint("case_id", "waiting_since", "days", name="uq_inactivity_step"),
    )

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False, index=True)
    case = relationship("Case")
    waiting_since = Column(DateTime, nullable=False)
    days = Column(Integer, nullable=False)
    step = Column(String(16), nullable=False)  # "reminder" or "closed"
    sent_at = Column(DateTime, nullable=False, default=utcnow)
    outbox_id = Column(Integer, nullable=True)


class CaseIntakeAnswer(NeverDeleted, Model):
    """One answer the customer gave in the topic's intake form when he opened the case: a row
    per field, and per selected value of a multiple choice (``app.cases.intake_answers``).

    Kept as it was submitted: ``label`` is the field's label in the desk's language at that
    moment, ``form_version_id`` the published form version filled in (the forms designer's
    ``IntakeFormVersion``, referred to by its table: the designer sits above cases). For reports, count per
    ``field_key`` and ``value_text`` (``value_key`` is its first 191 characters, indexed with
    the key, so long free texts do not overflow a PostgreSQL index row). Never deleted.
    """

    __tablename__ = "case_intake_answer"
    __table_args__ = (
        Index("ix_case_intake_answer_field_value", "field_key", "value_key"),
        Index("ix_case_intake_answer_case", "case_id", "position"),
    )

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False)
    case = relationship("Case")
    # The designer's table, by name: cases sit below the forms designer.
    form_version_id = Column(
        Integer,
        ForeignKey("intake_form_version.id", name="fk_case_intake_answer_form_version_id"),
        nullable=True,
    )
    field_key = Column(String(64), nullable=False)
    label = Column(String(500), nullable=False)
    # As submitted: the option's value for a choice ("copy"), "yes"/"no" for a checkbox, an
    # ISO date, the file's name for an upload.
    value_text = Column(Text, nullable=False)
    # A choice's option label in the desk language ("Copy of an invoice"); empty otherwise.
    value_label = Column(String(500), nullable=True)
    value_key = Column(String(191), nullable=False)
    position = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    @property
    def shown(self) -> str:
        return self.value_label or self.value_text

"""Dictionary, DictionaryValue, Questionnaire, Question and Answer.

A dictionary ("Which product?", "Which partner?") is a list of values kept once and reused by
any number of questions. A questionnaire belongs to a pool or a mailbox and says when it is
asked: a wrap-up on reply, on close or both, or the exit survey a customer answers in the
portal. Answers are rows, one per selected value, so a report counts them per value with one
``GROUP BY dictionary_value_id`` (or ``value_text`` for a question's own options).
"""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import relationship

from app.audit.tracking import NeverDeleted
from app.core.timeutil import utcnow


class Purpose(StrEnum):
    WRAP_UP = "wrap_up"  # asked of the agent (on reply, on close)
    EXIT_SURVEY = "exit_survey"  # asked of the customer in the portal once his case closed


class AskedOn(StrEnum):
    """When a wrap-up questionnaire is asked (an exit survey: when the customer opens it)."""

    CLOSE = "close"
    REPLY = "reply"
    BOTH = "both"


class Moment(StrEnum):
    """Where an answer was given (``Answer.context``)."""

    CLOSE = "close"
    REPLY = "reply"
    SURVEY = "survey"


class QuestionKind(StrEnum):
    CHOICE = "choice"  # one value of a dictionary
    MULTIPLE = "multiple"  # several values of a dictionary or of the question's own options
    YES_NO = "yes_no"
    NUMBER = "number"  # between min_value and max_value when given
    TEXT = "text"
    RATING = "rating"  # 1 to 5


PURPOSE_LABELS = {
    Purpose.WRAP_UP: "Wrap-up (agents)",
    Purpose.EXIT_SURVEY: "Exit survey (customer)",
}
ASKED_ON_LABELS = {
    AskedOn.CLOSE: "On close",
    AskedOn.REPLY: "On reply",
    AskedOn.BOTH: "On reply and on close",
}
KIND_LABELS = {
    QuestionKind.CHOICE: "Choice from a dictionary",
    QuestionKind.MULTIPLE: "Multiple choice",
    QuestionKind.YES_NO: "Yes / no",
    QuestionKind.NUMBER: "Number",
    QuestionKind.TEXT: "Free text",
    QuestionKind.RATING: "Rating 1-5",
}


class Dictionary(Model):
    """A reusable list of values ("Which product?"): desk-wide, kept by admins and supervisors."""

    __tablename__ = "dictionary"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, unique=True)
    description = Column(Text, nullable=True)
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    values = relationship(
        "DictionaryValue",
        back_populates="dictionary",
        order_by="DictionaryValue.position, DictionaryValue.id",
    )

    def __repr__(self) -> str:
        return self.name


class DictionaryValue(Model):
    """One value of a dictionary; a value answers refer to is deactivated, never deleted."""

    __tablename__ = "dictionary_value"
    __table_args__ = (UniqueConstraint("dictionary_id", "value", name="uq_dictionary_value"),)

    id = Column(Integer, primary_key=True)
    dictionary_id = Column(Integer, ForeignKey("dictionary.id"), nullable=False, index=True)
    dictionary = relationship("Dictionary", back_populates="values")
    value = Column(String(256), nullable=False)
    position = Column(Integer, nullable=False, default=0, server_default="0")
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    def __repr__(self) -> str:
        return self.value


class Questionnaire(Model):
    """Questions asked of a pool's (or one mailbox's) cases: a wrap-up, or the exit survey."""

    __tablename__ = "questionnaire"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    purpose = Column(String(16), nullable=False, default=Purpose.WRAP_UP.value)
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=True, index=True)
    pool = relationship("Pool")
    mailbox_id = Column(Integer, ForeignKey("mailbox.id"), nullable=True, index=True)
    mailbox = relationship("Mailbox")
    asked_on = Column(String(8), nullable=False, default=AskedOn.CLOSE.value)
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    questions = relationship(
        "Question", back_populates="questionnaire", order_by="Question.position, Question.id"
    )

    def __repr__(self) -> str:
        return self.name

    @property
    def scope_label(self) -> str:
        if self.mailbox is not None:
            return f"mailbox {self.mailbox.address}"
        return f"pool {self.pool.name}" if self.pool is not None else "-"


class Question(Model):
    """One question of a questionnaire, of a kind (``QuestionKind``)."""

    __tablename__ = "question"

    id = Column(Integer, primary_key=True)
    questionnaire_id = Column(Integer, ForeignKey("questionnaire.id"), nullable=False, index=True)
    questionnaire = relationship("Questionnaire", back_populates="questions")
    position = Column(Integer, nullable=False, default=0, server_default="0")
    text = Column(String(500), nullable=False)
    kind = Column(String(16), nullable=False, default=QuestionKind.TEXT.value)
    # Choice: the dictionary; multiple choice: a dictionary or the own options below.
    dictionary_id = Column(Integer, ForeignKey("dictionary.id"), nullable=True)
    dictionary = relationship("Dictionary")
    options = Column(Text, nullable=True)  # multiple choice without a dictionary: one per line
    min_value = Column(Float, nullable=True)
    max_value = Column(Float, nullable=True)
    required = Column(Boolean, nullable=False, default=False, server_default="0")
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    def __repr__(self) -> str:
        return self.text

    @property
    def own_options(self) -> list[str]:
        return [line.strip() for line in (self.options or "").splitlines() if line.strip()]

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value sent, label) of a choice question: its dictionary's active values, else its
        own options."""
        if self.dictionary is not None:
            return [(str(v.id), v.value) for v in self.dictionary.values if v.active]
        return [(o, o) for o in self.own_options]

    @property
    def kind_label(self) -> str:
        try:
            return KIND_LABELS[QuestionKind(self.kind)]
        except ValueError:
            return self.kind


class Answer(NeverDeleted, Model):
    """One answer to one question of one case; multiple choice: one row per selected value."""

    __tablename__ = "questionnaire_answer"
    __table_args__ = (Index("ix_answer_question_value", "question_id", "dictionary_value_id"),)

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False, index=True)
    case = relationship("Case")
    question_id = Column(Integer, ForeignKey("question.id"), nullable=False)
    question = relationship("Question")
    questionnaire_id = Column(Integer, ForeignKey("questionnaire.id"), nullable=False, index=True)
    questionnaire = relationship("Questionnaire")
    value_text = Column(Text, nullable=True)
    value_number = Column(Float, nullable=True)
    dictionary_value_id = Column(Integer, ForeignKey("dictionary_value.id"), nullable=True)
    dictionary_value = relationship("DictionaryValue")
    # Empty for the customer (exit survey) and the desk itself.
    answered_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    answered_by = relationship("User")
    answered_at = Column(DateTime, nullable=False, default=utcnow)
    context = Column(String(8), nullable=False)  # a Moment

    def __repr__(self) -> str:
        return f"{self.question}: {self.value_text}"

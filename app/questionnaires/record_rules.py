"""Record rules of questionnaires, their questions and answers, and the dictionaries.

Dictionaries are shared reference data: every desk role sees them (admins and supervisors
edit them, as their permissions say). A questionnaire belongs to a pool or to one mailbox of a
pool: one sees those of one's pools and changes those of the pools one supervises. Answers
are seen with their case.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from app.agents.services import ensure_can_configure_pool, member_pool_ids
from app.cases.record_rules import visible_case_ids
from app.errors import DeskError
from app.mailcore.models import Mailbox
from app.questionnaires.models import (
    Answer,
    Dictionary,
    DictionaryValue,
    Question,
    Questionnaire,
)
from app.security.rules import any_desk_role, record_rule


@record_rule
def questionnaire_criterion(user):
    pools = member_pool_ids(user)
    return or_(
        Questionnaire.pool_id.in_(pools),
        Questionnaire.mailbox_id.in_(select(Mailbox.id).where(Mailbox.pool_id.in_(pools))),
    )


@record_rule
def question_criterion(user):
    return Question.questionnaire_id.in_(
        select(Questionnaire.id).where(questionnaire_criterion(user))
    )


@record_rule
def answer_criterion(user):
    return Answer.case_id.in_(visible_case_ids(user))


RULES = {
    Dictionary: any_desk_role,
    DictionaryValue: any_desk_role,
    Questionnaire: questionnaire_criterion,
    Question: question_criterion,
    Answer: answer_criterion,
}


def pool_of(questionnaire: Questionnaire | None) -> int | None:
    """The pool a questionnaire belongs to: its own, or its mailbox's."""
    if questionnaire is None:
        return None
    if questionnaire.mailbox is not None:
        return questionnaire.mailbox.pool_id
    if questionnaire.pool is not None:
        return questionnaire.pool.id
    return questionnaire.pool_id


def questionnaire_write_rule(row, user) -> None:
    """Only a supervisor of the questionnaire's pool (or an admin) changes it."""
    pool_id = pool_of(row)
    if pool_id is None:
        raise DeskError("A questionnaire belongs to a pool or to a mailbox: choose one.")
    ensure_can_configure_pool(pool_id, user)


def question_write_rule(row, user) -> None:
    """A question changes with its questionnaire's rule."""
    if row.questionnaire is None:
        raise DeskError("A question belongs to a questionnaire: choose one.")
    questionnaire_write_rule(row.questionnaire, user)


WRITE_RULES = {
    Questionnaire: questionnaire_write_rule,
    Question: question_write_rule,
}

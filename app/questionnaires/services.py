"""What a case is asked, and the one place that checks and stores answers.

``questions_for(case, moment)`` lists the questions of the case's pool's (and mailbox's)
questionnaires for a moment: on close and on reply the wrap-up questionnaires asked then, in
the portal the exit survey. ``record_answers(case, moment, given)`` checks every answer
against its question's kind (required, number ranges, dictionary values only, 1-5 ratings)
and refuses them all with one ``DeskError`` listing every problem, or stores them as
``Answer`` rows (one per selected value) with one Event naming the answer set. Cases ask
through ``app.cases.questions`` (``connect`` installs this module there); answering's reply
service and portal call it directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select

from app.audit.actor import current_actor
from app.audit.models import Event
from app.audit.tracking import record_event
from app.cases import questions as case_questions
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.errors import Conflict, DeskError
from app.extensions import db
from app.questionnaires.models import (
    Answer,
    AskedOn,
    DictionaryValue,
    Moment,
    Purpose,
    Question,
    QuestionKind,
    Questionnaire,
)
from app.security import rules

TEXT_MAX = 5000
RATING_RANGE = (1, 5)
YES = {"yes", "y", "true", "1", "on", "ja"}
NO = {"no", "n", "false", "0", "off", "nein"}

# The Event each answer set leaves, by moment.
EVENT_ACTIONS = {
    Moment.CLOSE: "wrap_up",
    Moment.REPLY: "reply questions",
    Moment.SURVEY: "exit survey",
}
_WHAT = {
    Moment.CLOSE: "Answer the wrap-up questions before closing",
    Moment.REPLY: "Answer the questions of the reply",
    Moment.SURVEY: "Please check your answers",
}


class AnswerProblems(DeskError):
    """Answers that do not fit their questions; ``problems`` lists each one."""

    def __init__(self, intro: str, problems: list[str]):
        super().__init__(f"{intro}: " + "; ".join(problems))
        self.problems = problems


def _moment(moment) -> Moment:
    try:
        return Moment(moment)
    except ValueError:
        raise DeskError(
            f"Questions are asked on close, on reply or in the survey, not {moment!r}."
        ) from None


def questionnaires_for(case: Case, moment) -> list[Questionnaire]:
    """The active questionnaires of the case's pool and mailbox asked at ``moment``."""
    moment = _moment(moment)
    if moment is Moment.SURVEY:
        return [qn for qn in _active_questionnaires(case) if qn.purpose == Purpose.EXIT_SURVEY]
    asked = (AskedOn.BOTH.value, moment.value)
    return [
        qn
        for qn in _active_questionnaires(case)
        if qn.purpose == Purpose.WRAP_UP and qn.asked_on in asked
    ]


def _active_questionnaires(case: Case) -> list[Questionnaire]:
    """Every active questionnaire of the case's pool and mailbox, the pool's first, then the
    mailbox's: one statement per request (the case page asks for the close and the reply
    questions) until the session writes."""
    scope = [Questionnaire.pool_id == case.pool_id]
    if case.mailbox_id is not None:
        scope.append(Questionnaire.mailbox_id == case.mailbox_id)
    query = (
        select(Questionnaire)
        .where(Questionnaire.active.is_(True), or_(*scope))
        .order_by(Questionnaire.mailbox_id.is_not(None), Questionnaire.id)
    )
    return rules.cached_until_write(
        ("questionnaires", case.pool_id, case.mailbox_id),
        lambda: list(db.session.scalars(query)),
    )


def questions_for(case: Case, moment) -> list[Question]:
    """The active questions to ask on ``case`` at ``moment``, in order."""
    return [q for qn in questionnaires_for(case, moment) for q in qn.questions if q.active]


def has_exit_survey(case: Case) -> bool:
    return bool(questions_for(case, Moment.SURVEY))


def survey_answered(case: Case) -> bool:
    """The customer answered the exit survey of the case's last closure already (it is
    answered once per closure: a case reopened and closed again asks again)."""
    query = select(Event.id).where(
        Event.case_id == case.id, Event.action == EVENT_ACTIONS[Moment.SURVEY]
    )
    if case.closed_at is not None:
        query = query.where(Event.created_at >= case.closed_at)
    return db.session.scalar(query.limit(1)) is not None


# --- checking one answer --------------------------------------------------------------------


def _empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return all(_empty(v) for v in value)
    return False


def _as_list(value) -> list:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in items if not _empty(v)]


def _scalar(question: Question, value):
    if isinstance(value, (list, tuple)):
        items = _as_list(value)
        if len(items) > 1:
            raise ValueError("give one answer")
        value = items[0]
    if isinstance(value, bool) or isinstance(value, (str, int, float)):
        return value
    raise ValueError("must be text or a number")


def _number(value) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = (
            float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
        )
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a number")
    return number


def _show(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def _dictionary_value(question: Question, value) -> DictionaryValue:
    values = [v for v in question.dictionary.values if v.active]
    text = str(value).strip()
    for v in values:
        if (text.isdigit() and int(text) == v.id) or text.casefold() == v.value.casefold():
            return v
    raise ValueError(f"{text!r} is not a value of {question.dictionary.name}")


def _rows(question: Question, value) -> list[dict[str, Any]]:
    """The Answer rows' values for one answer (raises ValueError with what is wrong)."""
    kind = QuestionKind(question.kind)
    if kind is QuestionKind.MULTIPLE:
        rows, seen = [], set()
        for item in _as_list(value):
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                raise ValueError("each choice must be text")
            if question.dictionary is not None:
                v = _dictionary_value(question, item)
                key, row = v.id, {"dictionary_value_id": v.id, "value_text": v.value}
            else:
                text = str(item).strip()
                match = next(
                    (o for o in question.own_options if o.casefold() == text.casefold()), None
                )
                if match is None:
                    raise ValueError(f"{text!r} is not one of the choices")
                key, row = match, {"value_text": match}
            if key not in seen:
                seen.add(key)
                rows.append(row)
        return rows
    value = _scalar(question, value)
    if kind is QuestionKind.CHOICE:
        if question.dictionary is None:
            raise ValueError("the question has no dictionary (ask a supervisor)")
        v = _dictionary_value(question, value)
        return [{"dictionary_value_id": v.id, "value_text": v.value}]
    if kind is QuestionKind.YES_NO:
        word = (
            str(value).strip().casefold()
            if not isinstance(value, bool)
            else ("yes" if value else "no")
        )
        if word in YES:
            return [{"value_text": "yes", "value_number": 1.0}]
        if word in NO:
            return [{"value_text": "no", "value_number": 0.0}]
        raise ValueError("answer yes or no")
    if kind is QuestionKind.NUMBER:
        number = _number(value)
        if question.min_value is not None and number < question.min_value:
            raise ValueError(f"{_show(number)} is below the minimum {_show(question.min_value)}")
        if question.max_value is not None and number > question.max_value:
            raise ValueError(f"{_show(number)} is above the maximum {_show(question.max_value)}")
        return [{"value_text": _show(number), "value_number": number}]
    if kind is QuestionKind.RATING:
        number = _number(value)
        low, high = RATING_RANGE
        if not number.is_integer() or not low <= number <= high:
            raise ValueError(f"rate from {low} to {high}")
        return [{"value_text": _show(number), "value_number": number}]
    text = str(value).strip()
    if len(text) > TEXT_MAX:
        raise ValueError(f"at most {TEXT_MAX} characters")
    return [{"value_text": text}]


def _key_of(questions: Sequence[Question], key) -> Question | None:
    text = str(key).strip()
    for q in questions:
        if (isinstance(key, int) and key == q.id) or text == str(q.id) or text == q.text.strip():
            return q
    return None


# --- recording -------------------------------------------------------------------------------


def record_answers(case: Case, moment, given: Mapping | None) -> list[Answer]:
    """Check ``given`` (question id or text → answer; a list for multiple choice) against the
    questions of ``moment`` and add the Answer rows and their Event (the caller commits).

    Every problem (a required answer missing, a number out of range, a value not in the
    dictionary, an unknown question) is named in one ``AnswerProblems``; nothing is stored
    then.
    """
    moment = _moment(moment)
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise DeskError("'answers' must be an object of question: answer.")
    questions = questions_for(case, moment)
    by_question: dict[int, Any] = {}
    problems: list[str] = []
    unknown = []
    for key, value in given.items():
        question = _key_of(questions, key)
        if question is None:
            unknown.append(str(key))
        else:
            by_question[question.id] = value
    if unknown:
        problems.append("unknown question(s): " + ", ".join(unknown))
    planned: list[tuple[Question, list[dict[str, Any]]]] = []
    for question in questions:
        value = by_question.get(question.id)
        if _empty(value):
            if question.required:
                problems.append(f"{question.text} (required)")
            planned.append((question, []))
            continue
        try:
            planned.append((question, _rows(question, value)))
        except ValueError as exc:
            problems.append(f"{question.text}: {exc}")
    if problems:
        raise AnswerProblems(_WHAT[moment], problems)
    if not questions:
        return []
    if case.id is None:
        db.session.flush()
    actor = current_actor()
    now = utcnow()
    stored = []
    for question, rows in planned:
        for values in rows:
            answer = Answer(
                case_id=case.id,
                question_id=question.id,
                questionnaire_id=question.questionnaire_id,
                answered_by_id=getattr(actor, "id", None),
                answered_at=now,
                context=moment.value,
                **values,
            )
            db.session.add(answer)
            stored.append(answer)
    record_event(
        db.session,
        case,
        EVENT_ACTIONS[moment],
        details={
            "answers": {q.text: ", ".join(r["value_text"] for r in rows) for q, rows in planned},
            "questionnaires": sorted({q.questionnaire.name for q, _ in planned}),
        },
    )
    db.session.flush()
    return stored


def record_survey(case: Case, given: Mapping | None) -> list[Answer]:
    """The customer's exit survey, answered once (the caller commits)."""
    if not has_exit_survey(case):
        raise Conflict("There is no survey for this case.")
    if survey_answered(case):
        raise Conflict("You have answered this survey already. Thank you!")
    return record_answers(case, Moment.SURVEY, given)


def answers_of(case: Case, moment=None) -> list[Answer]:
    query = select(Answer).where(Answer.case_id == case.id)
    if moment is not None:
        query = query.where(Answer.context == _moment(moment).value)
    return list(db.session.scalars(query.order_by(Answer.id)))


def question_json(question: Question) -> dict[str, Any]:
    """A question as the REST API shows it (what a client needs to answer it)."""
    return {
        "id": question.id,
        "question": question.text,
        "kind": question.kind,
        "required": bool(question.required),
        "questionnaire": question.questionnaire.name,
        "choices": [{"value": v, "label": label} for v, label in question.choices],
        "min": question.min_value,
        "max": question.max_value,
    }


class _Asker:
    """What cases ask through (``app.cases.questions``)."""

    @staticmethod
    def questions_for(case, moment: str) -> list[Question]:
        return questions_for(case, moment)

    @staticmethod
    def record_answers(case, moment: str, given: Mapping) -> list[Answer]:
        return record_answers(case, moment, given)


def connect() -> None:
    """Questionnaires ask the questions of the case actions (see ``app.cases.questions``)."""
    case_questions.install_asker(_Asker())

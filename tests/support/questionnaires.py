"""Building questionnaires and dictionaries for tests."""

from __future__ import annotations


def make_dictionary(name: str, values):
    from app.extensions import db
    from app.questionnaires.models import Dictionary, DictionaryValue

    dictionary = Dictionary(name=name)
    db.session.add(dictionary)
    db.session.flush()
    for position, value in enumerate(values, start=1):
        db.session.add(DictionaryValue(dictionary=dictionary, value=value, position=position))
    db.session.flush()
    return dictionary


def make_questionnaire(
    questions, *, pool=None, mailbox=None, name="Wrap-up", purpose="wrap_up", asked_on="close"
):
    """``questions``: (text, kind, required) or (text, kind, required, extras) with extras
    the Question's other fields (dictionary, options, min_value, max_value)."""
    from app.extensions import db
    from app.questionnaires.models import Question, Questionnaire

    questionnaire = Questionnaire(
        name=name, purpose=purpose, pool=pool, mailbox=mailbox, asked_on=asked_on
    )
    db.session.add(questionnaire)
    for position, spec in enumerate(questions, start=1):
        text, kind, required, *rest = spec
        db.session.add(
            Question(
                questionnaire=questionnaire,
                position=position,
                text=text,
                kind=kind,
                required=required,
                **(rest[0] if rest else {}),
            )
        )
    db.session.flush()
    return questionnaire

"""Fixtures of the questionnaire tests: pool A of the small desk with a "Which product?"
dictionary, a wrap-up questionnaire of every kind asked on close, and an exit survey."""

from __future__ import annotations

import pytest

from tests.support.questionnaires import make_dictionary, make_questionnaire


@pytest.fixture
def asked(desk):
    from app.extensions import db

    products = make_dictionary("Which product?", ["Basic", "Pro", "Enterprise"])
    channels = make_dictionary("Which channel?", ["Phone", "Mail", "Chat"])
    wrap_up = make_questionnaire(
        [
            ("Which product?", "choice", True, {"dictionary": products}),
            ("Channels used", "multiple", False, {"dictionary": channels}),
            ("Causes", "multiple", False, {"options": "Bug\nUser error\nOther"}),
            ("Solved?", "yes_no", True),
            ("Minutes spent", "number", True, {"min_value": 0, "max_value": 600}),
            ("Notes", "text", False),
        ],
        pool=desk.pool_a,
        name="Pool A wrap-up",
    )
    survey = make_questionnaire(
        [("How did we do?", "rating", True), ("Anything else?", "text", False)],
        pool=desk.pool_a,
        name="Pool A exit survey",
        purpose="exit_survey",
    )
    db.session.commit()
    desk.products, desk.channels, desk.wrap_up, desk.survey = products, channels, wrap_up, survey
    desk.q = {q.text: q for q in wrap_up.questions + survey.questions}
    return desk


GOOD = {
    "Which product?": "Pro",
    "Channels used": ["Phone", "Chat"],
    "Causes": ["Bug"],
    "Solved?": "yes",
    "Minutes spent": "25",
}

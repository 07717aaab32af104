"""The questions a case action asks (wrap-up on close), without cases importing questionnaires.

Cases decide *when* questions are asked: closing asks the pool's wrap-up questionnaire (and
the reply service of answering asks those "on reply"). What is asked and how answers are
checked and stored belongs to ``app.questionnaires``, which depends on cases; so it hands its
asker to ``install_asker`` when a desk starts (the ``setup`` entry of its manifest), the way
answering hands cases its notice sender (``app.cases.notices``). Imports stay one way.

Without an asker (a desk without questionnaires) nothing is asked and answers are refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from app.errors import DeskError

CLOSE = "close"
REPLY = "reply"


class Asker(Protocol):
    def questions_for(self, case, moment: str) -> Sequence[Any]: ...

    def record_answers(self, case, moment: str, given: Mapping) -> list[Any]: ...


_asker: Asker | None = None


def install_asker(asker: Asker | None) -> None:
    """Make ``asker`` the one that lists, checks and stores the answers (questionnaires)."""
    global _asker
    _asker = asker


def questions_for(case, moment: str) -> list:
    """The questions to ask on ``case`` at ``moment`` (``CLOSE``, ``REPLY``); [] without any."""
    return list(_asker.questions_for(case, moment)) if _asker is not None else []


def record_answers(case, moment: str, given: Mapping | None) -> list:
    """Check ``given`` against the questions of ``moment`` and store them (the caller
    commits); one DeskError names every problem."""
    if given is not None and not isinstance(given, Mapping):
        raise DeskError("'answers' must be an object of question: answer.")
    if _asker is None:
        if given:
            raise DeskError("This desk asks no questions; send no answers.")
        return []
    return _asker.record_answers(case, moment, given or {})

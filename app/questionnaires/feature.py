"""Manifest of questionnaires: dictionaries, wrap-up questionnaires and exit surveys, answers
(see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="questionnaires",
    models=("app.questionnaires.models",),
    views="app.questionnaires.views:register",
    record_rules="app.questionnaires.record_rules:RULES",
    write_rules="app.questionnaires.record_rules:WRITE_RULES",
    setup="app.questionnaires.services:connect",
    permissions={
        # Dictionaries are desk-wide; supervisors keep them with the admins.
        AGENT: [["Answer", READ]],
        SUPERVISOR: [
            ["(Questionnaire|Question|Dictionary|DictionaryValue)", WRITE],
            ["Answer", READ],
        ],
        MANAGER: [["(Questionnaire|Question|Dictionary|DictionaryValue|Answer)", READ]],
    },
)

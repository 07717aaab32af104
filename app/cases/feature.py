"""Manifest of cases and their messages (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR

# What agents and supervisors do with cases (the case page, its list actions and the API).
CASE_WORK = "can_(list|show|get|info|edit|put|transition|claim|release|close|case_action|thread)"

FEATURE = Feature(
    name="cases",
    models=("app.cases.models",),
    views="app.cases.views:register",
    cli="app.cases.cli:register",
    record_rules="app.cases.record_rules:RULES",
    permissions={
        AGENT: [["Case", CASE_WORK], ["Message", READ]],
        SUPERVISOR: [["Case", CASE_WORK], ["Message", READ]],
        MANAGER: [["(Case|Message)", READ]],
    },
)

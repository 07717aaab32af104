"""Manifest of cases, their messages and the case actions (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR

# What agents and supervisors do with cases (the case page, its list actions and the API).
CASE_WORK = "can_(list|show|get|info|edit|put|transition|claim|release|close|case_action|thread)"
# The case action forms and their API (``CaseAction``; answering adds reply and approve).
AGENT_ACTIONS = "can_(note|forward|reroute|postpone|close|reopen|open)"
SUPERVISOR_ACTIONS = "can_(note|forward|reroute|postpone|close|reopen|open|assign)"

FEATURE = Feature(
    name="cases",
    models=("app.cases.models",),
    views="app.cases.views:register",
    cli="app.cases.cli:register",
    jobs="app.cases.tasks:periodic_jobs",
    record_rules="app.cases.record_rules:RULES",
    settings="app.cases.settings:SETTINGS",
    # Due times follow the SLA calendars (app.cases.due) and absences hand over an absent
    # agent's cases (app.cases.handover; agents sit below cases).
    setup="app.cases.setup:connect",
    permissions={
        AGENT: [["Case", CASE_WORK], ["Message", READ], ["CaseAction", AGENT_ACTIONS]],
        SUPERVISOR: [
            ["Case", CASE_WORK],
            ["Message", READ],
            ["CaseAction", SUPERVISOR_ACTIONS],
        ],
        MANAGER: [["(Case|Message)", READ]],
    },
)

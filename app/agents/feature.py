"""Manifest of agents, pool memberships and absences (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="agents",
    models=("app.agents.models",),
    views="app.agents.views:register",
    record_rules="app.agents.record_rules:RULES",
    write_rules="app.agents.record_rules:WRITE_RULES",
    permissions={
        # Agents record their own absences (the write rule) and see their agent page with
        # what was handed over while they were away.
        AGENT: [["Agent", "can_(show|me)"], ["Absence", WRITE]],
        SUPERVISOR: [["(Agent|Membership|Absence)", WRITE], ["Agent", "can_me"]],
        MANAGER: [["(Agent|Membership|Absence)", READ]],
    },
)

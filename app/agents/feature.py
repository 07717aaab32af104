"""Manifest of agents, pool memberships and absences (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="agents",
    models=("app.agents.models",),
    views="app.agents.views:register",
    record_rules="app.agents.record_rules:RULES",
    write_rules="app.agents.record_rules:WRITE_RULES",
    permissions={
        SUPERVISOR: [["(Agent|Membership|Absence)", WRITE]],
        MANAGER: [["(Agent|Membership|Absence)", READ]],
    },
)

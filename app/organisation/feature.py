"""Manifest of pools, skills and the topic tree (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="organisation",
    models=("app.organisation.models",),
    views="app.organisation.views:register",
    record_rules="app.organisation.record_rules:RULES",
    permissions={
        AGENT: [["(Pool|Skill|Topic)", READ]],
        SUPERVISOR: [["Pool", "can_(list|show|get|info|edit|put)"], ["(Skill|Topic)", WRITE]],
        MANAGER: [["(Pool|Skill|Topic)", READ]],
    },
)

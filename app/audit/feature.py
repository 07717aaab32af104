"""Manifest of the event tracker (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR

FEATURE = Feature(
    name="audit",
    models=("app.audit.models",),
    views="app.audit.views:register",
    permissions={
        AGENT: [["Event", "can_(get|info)"]],  # a case's history through the API; no menu
        SUPERVISOR: [["Event", READ]],
        MANAGER: [["Event", READ]],
    },
)

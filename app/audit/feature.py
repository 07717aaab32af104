"""Manifest of the event tracker (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR

FEATURE = Feature(
    name="audit",
    models=("app.audit.models",),
    views="app.audit.views:register",
    permissions={
        # The event tracker and the API, for the cases he may see (record rules).
        AGENT: [["Event", "can_(list|show|get|info)"]],
        SUPERVISOR: [["Event", READ]],
        MANAGER: [["Event", READ]],
    },
)

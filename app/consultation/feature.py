"""Manifest of consultations of departments (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR

FEATURE = Feature(
    name="consultation",
    models=("app.consultation.models",),
    views="app.consultation.views:register",
    jobs="app.consultation.tasks:periodic_jobs",
    record_rules="app.consultation.record_rules:RULES",
    setup="app.consultation.setup:connect",
    permissions={
        # Consulting is a case action (the case page's form, the API); the list is read-only.
        AGENT: [
            ["CaseAction", "can_consult"],
            ["Consultation", "can_post"],
            ["(Department|Consultation)", READ],
        ],
        SUPERVISOR: [
            ["CaseAction", "can_consult"],
            ["Consultation", "can_post"],
            ["(Department|Consultation)", READ],
        ],
        MANAGER: [["(Department|Consultation)", READ]],
    },
)

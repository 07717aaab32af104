"""Manifest of the intake-form designer (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="forms_designer",
    models=("forms_designer.models",),
    views="forms_designer.views:register",
    record_rules="forms_designer.record_rules:RULES",
    write_rules="forms_designer.record_rules:WRITE_RULES",
    permissions={
        SUPERVISOR: [
            ["IntakeForm", WRITE + "|can_publish|can_new_draft"],
            ["IntakeFormVersion", READ],
        ],
        MANAGER: [["IntakeForm", READ], ["IntakeFormVersion", READ]],
    },
)

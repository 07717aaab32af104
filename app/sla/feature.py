"""Manifest of SLA: business calendars, policies, due times and breach warnings (see
``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="sla",
    models=("app.sla.models",),
    views="app.sla.views:register",
    jobs="app.sla.tasks:periodic_jobs",
    record_rules="app.sla.record_rules:RULES",
    write_rules="app.sla.record_rules:WRITE_RULES",
    settings="app.sla.settings:SETTINGS",
    setup="app.sla.services:connect",
    permissions={
        SUPERVISOR: [["SlaCalendar", READ], ["SlaPolicy", WRITE]],
        MANAGER: [["Sla(Calendar|Policy)", READ]],
    },
)

"""Manifest of the transactional outbox (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import SUPERVISOR

FEATURE = Feature(
    name="outbox",
    models=("app.outbox.models",),
    views="app.outbox.views:register",
    cli="app.outbox.cli:register",
    jobs="app.outbox.tasks:periodic_jobs",
    settings="app.outbox.settings:SETTINGS",
    record_rules="app.outbox.record_rules:RULES",
    permissions={SUPERVISOR: [["Outbox", "can_(list|show|retry)"]]},
)

"""Manifest of the desk's own background machinery: the worker heartbeat and its command
(see ``app.core.features``)."""

from app.core.features import Feature

FEATURE = Feature(
    name="jobs",
    cli="app.jobs.cli:register",
    jobs="app.jobs.tasks:periodic_jobs",
)

"""Manifest of the reports (see ``app.core.features``): report runs as RQ jobs on the
"reports" queue, their pages, the check that restarts lost runs, and who may run them."""

from app.core.features import Feature
from app.security.roles import MANAGER, SUPERVISOR

FEATURE = Feature(
    name="reports",
    models=("reports.models",),
    views="reports.views:register",
    jobs="reports.jobs:periodic_jobs",
    record_rules="reports.record_rules:RULES",
    settings="reports.settings:SETTINGS",
    permissions={
        # Running a report changes nothing on the desk; managers (read-only otherwise) may.
        MANAGER: [["Report", "can_(list|show|add|download)"]],
        SUPERVISOR: [["Report", "can_(list|show|add|download)"]],
    },
)

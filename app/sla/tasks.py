"""Jobs of SLA: warn before a breach, record the breach."""

from __future__ import annotations

from app.core.features import PeriodicJob
from app.jobs.context import in_app_context
from app.sla import services


@in_app_context
def check_due_cases() -> dict:
    """Warn the supervisors of cases due soon, record breaches (every five minutes)."""
    report = services.check_due_cases()
    return {"warned": report.warned, "breached": report.breached}


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob(check_due_cases, "default", 300)]

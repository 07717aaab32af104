"""Jobs of cases: postponed cases come back on their date."""

from __future__ import annotations

from app.cases import actions
from app.core.features import PeriodicJob
from app.jobs.context import in_app_context


@in_app_context
def return_postponed_cases() -> list[str]:
    """Bring back postponed cases whose date has come (scheduled every five minutes)."""
    return actions.return_postponed_cases()


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob(return_postponed_cases, "default", 300)]

"""Jobs of the answering feature."""

from __future__ import annotations

from app.core.features import PeriodicJob
from app.jobs.context import in_app_context


@in_app_context
def return_postponed_cases() -> list[str]:
    """Bring back postponed cases whose date has come (scheduled every few minutes)."""
    from app.answering import services

    return services.return_postponed_cases()


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob(return_postponed_cases, "default", 300)]

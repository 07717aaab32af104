"""Jobs of consultations: remind departments whose answer is overdue (once each)."""

from __future__ import annotations

from app.consultation import services
from app.core.features import PeriodicJob
from app.jobs.context import in_app_context


@in_app_context
def remind_overdue_consultations() -> list[int]:
    """Remind the departments of overdue consultations (every five minutes; idempotent)."""
    return services.send_reminders()


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob(remind_overdue_consultations, "default", 300)]

"""Jobs of the answering feature."""

from __future__ import annotations

from app.jobs.context import in_app_context


@in_app_context
def return_postponed_cases() -> list[str]:
    """Bring back postponed cases whose date has come (scheduled every few minutes)."""
    from app.answering import services

    return services.return_postponed_cases()

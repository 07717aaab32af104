"""Jobs of cases: postponed cases come back on their date, absent agents' cases are handed
over, waiting cases of push pools are assigned, and cases waiting on the customer are
reminded and closed (each idempotent: running it twice does nothing more)."""

from __future__ import annotations

from app.cases import actions, handover, inactivity, push, retention
from app.core.features import PeriodicJob
from app.jobs.context import in_app_context


@in_app_context
def return_postponed_cases() -> list[str]:
    """Bring back postponed cases whose date has come (scheduled every five minutes)."""
    return actions.return_postponed_cases()


@in_app_context
def hand_over_absences() -> list[str]:
    """Hand over the open cases of agents whose absence has started (every five minutes)."""
    return handover.hand_over_absences()


@in_app_context
def push_waiting_cases() -> list[str]:
    """Assign waiting cases of push pools that nobody could take before (every five
    minutes), e.g. when an agent is back."""
    return push.push_waiting_cases()


@in_app_context
def remind_inactive_cases() -> list[str]:
    """Remind and close cases waiting on the customer (every fifteen minutes)."""
    return inactivity.run_inactivity()


@in_app_context
def archive_closed_cases() -> int:
    """Move cases closed longer than the retention period to the archive (hourly; in
    batches, idempotent)."""
    return retention.archive_closed_cases()


def periodic_jobs() -> list[PeriodicJob]:
    return [
        PeriodicJob(return_postponed_cases, "default", 300),
        PeriodicJob(hand_over_absences, "default", 300),
        PeriodicJob(push_waiting_cases, "default", 300),
        PeriodicJob(remind_inactive_cases, "default", 900),
        PeriodicJob(archive_closed_cases, "default", 3600),
    ]

"""RQ jobs of the reports: the run of one report (on the "reports" queue), the scheduled
check that restarts runs whose job was lost, and the scheduler of subscribed reports. They
carry only a run's id: the row is the truth (``reports.services``)."""

from __future__ import annotations

from app.core.features import PeriodicJob
from app.jobs.context import in_app_context
from reports import services, subscriptions
from reports.settings import setting


@in_app_context
def run_report_job(run_id: int, job_id: str | None = None) -> dict:
    run = services.run_report(run_id, job_id)
    # A subscribed report leaves for the outbox as soon as its file is there.
    subscriptions.mail_finished(run_id)
    return {"run": run_id, "status": getattr(run, "status", None)}


@in_app_context
def recover_lost_report_runs() -> dict:
    return services.recover_lost_runs()


@in_app_context
def deliver_scheduled_reports() -> dict:
    return subscriptions.deliver_scheduled()


def periodic_jobs() -> list[PeriodicJob]:
    return [
        PeriodicJob(recover_lost_report_runs, "reports", int(setting("REPORTS_CHECK_INTERVAL"))),
        PeriodicJob(
            deliver_scheduled_reports, "reports", int(setting("REPORTS_SCHEDULE_INTERVAL"))
        ),
    ]

"""RQ jobs of the outbox. They carry no mail, only the wish to deliver what the database holds,
so a job lost with Redis costs a few seconds, never a mail."""

from __future__ import annotations

import time

from app.core.features import PeriodicJob
from app.jobs.context import in_app_context
from app.outbox.settings import setting

ROUND_BUDGET_SECONDS = 50  # a scheduled round stops claiming after this; the next one goes on


@in_app_context
def deliver_outbox() -> dict:
    """Deliver every due outbox row (scheduled every few seconds, and after new mail commits)."""
    # not at the top: the delivery (and its SMTP client, ~10 ms) loads only where mail is sent; the
    # services import this module to name the job on every start of the desk
    from app.outbox.delivery import RoundReport, deliver_due

    report = RoundReport()
    started = time.monotonic()
    while time.monotonic() - started < ROUND_BUDGET_SECONDS:
        batch = deliver_due(max_rows=500)
        report.add(batch)
        if batch.claimed < 500:
            break
    return report.as_dict()


@in_app_context
def deliver_mail(outbox_id: int) -> dict:
    """Deliver one outbox row now, if it is due and nobody else is sending it."""
    # not at the top: see deliver_outbox
    from app.outbox.delivery import deliver_one

    return deliver_one(int(outbox_id)).as_dict()


def periodic_jobs() -> list[PeriodicJob]:
    interval = int(setting("OUTBOX_DELIVERY_INTERVAL"))
    return [PeriodicJob(deliver_outbox, "mail", interval)]

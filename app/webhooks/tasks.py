"""RQ jobs of the webhooks. They carry no payload, only the wish to deliver what the
database holds, so a job lost with Redis costs a delay, never a delivery."""

from __future__ import annotations

import time

from app.core.features import PeriodicJob
from app.jobs.context import in_app_context
from app.webhooks.settings import setting

QUEUE = "webhooks"
ROUND_BUDGET_SECONDS = 50  # a round stops claiming after this; the next one goes on


@in_app_context
def deliver_due_webhooks() -> dict:
    """Deliver every due delivery (scheduled, and enqueued after commits that wrote some)."""
    # not at the top: the HTTP client loads only where webhooks are sent; capture imports
    # this module to name the job in every process that records changes
    from app.webhooks.delivery import RoundReport, deliver_due

    report = RoundReport()
    started = time.monotonic()
    while time.monotonic() - started < ROUND_BUDGET_SECONDS:
        batch = deliver_due(limit=50)
        report.add(batch)
        if batch.claimed < 50:
            break
    return report.as_dict()


@in_app_context
def deliver_webhook(delivery_id: int) -> dict:
    """Deliver one delivery now, if it is due and no other round owns it (replays)."""
    from app.webhooks.delivery import deliver_due  # not at the top: see deliver_due_webhooks

    return deliver_due(only_ids=[int(delivery_id)]).as_dict()


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob(deliver_due_webhooks, QUEUE, int(setting("WEBHOOK_DELIVERY_INTERVAL")))]

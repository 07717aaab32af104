"""The periodic jobs of the desk, in one list used by ``rq cron`` and the embedded worker.

Later features add their entries here (mail fetch every minute, outbox delivery, SLA checks).
"""

from __future__ import annotations

from app.answering import tasks as answering_tasks
from app.jobs import tasks
from app.mail import fetch as mail_fetch
from app.mail import tasks as mail_tasks
from app.outbox import tasks as outbox_tasks
from app.outbox.settings import setting as outbox_setting

# (function, queue name, interval in seconds)
PERIODIC_JOBS = [
    (tasks.heartbeat, "default", 300),
    (answering_tasks.return_postponed_cases, "default", 300),
    (outbox_tasks.deliver_outbox, "mail", int(outbox_setting("OUTBOX_DELIVERY_INTERVAL"))),
    (mail_fetch.enqueue_fetch_jobs, "mail", mail_fetch.fetch_interval()),
    (mail_tasks.process_stale_stored_job, "mail", mail_tasks.INTERVAL_SECONDS),
]

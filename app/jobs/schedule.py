"""The periodic jobs of the desk, in one list used by ``rq cron`` and the embedded worker.

Later features add their entries here (mail fetch every minute, outbox delivery, SLA checks).
"""

from __future__ import annotations

from app.jobs import tasks

# (function, queue name, interval in seconds)
PERIODIC_JOBS = [
    (tasks.heartbeat, "default", 300),
]

"""The in-process worker of the embedded default: a thread that runs jobs and the schedule.

Used only when ``REDIS_URL`` is unset and ``LOOPDESK_EMBEDDED_WORKER`` is on (``make run``). It
serves the app's fakeredis queues, so it must live in the same process as the web server: one
process only (production runs real ``rq worker`` processes instead).
"""

from __future__ import annotations

import logging
import threading

from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.timeouts import TimerDeathPenalty

from app.jobs.queue import connection

log = logging.getLogger(__name__)


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that can live in a thread: no signal handlers, timer-based timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):  # signals only work in the main thread
        pass


class EmbeddedWorker(threading.Thread):
    def __init__(self, app, periodic_jobs, poll_interval: float = 0.5):
        super().__init__(name="loopdesk-embedded-worker", daemon=True)
        self.app = app
        self.periodic_jobs = list(periodic_jobs)
        self.poll_interval = poll_interval
        self.stopping = threading.Event()

    def run(self):
        conn = connection(self.app)
        queues = [Queue(name, connection=conn) for name in self.app.config["RQ_QUEUES"]]
        cron = CronScheduler(connection=conn, logging_level=logging.WARNING)
        for func, queue_name, interval in self.periodic_jobs:
            cron.register(func, queue_name, interval=interval)
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    cron.enqueue_jobs()
                    ThreadWorker(queues, connection=conn).work(
                        burst=True, with_scheduler=True, logging_level="WARNING"
                    )
            except Exception:  # keep serving: one bad round must not stop the desk's jobs
                log.exception("embedded worker round failed")
            self.stopping.wait(self.poll_interval)

    def stop(self):
        self.stopping.set()


def start_embedded_worker(app, periodic_jobs) -> EmbeddedWorker:
    """Serve the app's queues and schedule ``periodic_jobs`` in a thread of this process."""
    worker = EmbeddedWorker(app, periodic_jobs)
    worker.start()
    app.extensions["loopdesk_embedded_worker"] = worker
    return worker

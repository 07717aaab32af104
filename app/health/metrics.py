"""``/metrics``: the desk's figures in Prometheus' text format (``prometheus-client``).

The figures are counted from the database (and Redis) at scrape time by a custom collector in
a registry of its own, not kept in process memory: gunicorn runs several processes, each would
count only what it saw, and a scrape reaches one of them at random. Counting is a handful of
``GROUP BY`` queries on indexed status columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rq import Queue, Worker
from sqlalchemy import func, select

from app.cases.models import Case
from app.cases.workflow import CaseStatus
from app.extensions import db
from app.health.checks import EMBEDDED_QUEUE, EMBEDDED_WORKER
from app.jobs.queue import connection
from app.mail.models import RawMessage
from app.mailcore.models import Mailbox
from app.outbox.models import OutboxMail, OutboxStatus

PREFIX = "loopdesk"
# Statuses of raw mail that are always reported, with 0 when none is in them (a series that
# appears only once it is non-zero breaks rate() and alerts).
RAW_STATUSES = ("stored", "processed", "duplicate", "quarantined")
_EPOCH = datetime(1970, 1, 1)  # stored times are naive UTC


def _counts(column, known: Iterable[str] = ()) -> dict[str, int]:
    counts = {str(value): 0 for value in known}
    for value, count in db.session.execute(select(column, func.count()).group_by(column)).all():
        counts[str(value) if value is not None else "none"] = count
    return counts


def _gauge(name: str, doc: str, label: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family


class DeskCollector(Collector):
    """Every figure, computed when Prometheus asks (within the request's app context)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield _gauge(
            "raw_messages",
            "Raw mails stored by the intake, by status.",
            "status",
            _counts(RawMessage.status, RAW_STATUSES),
        )
        yield _gauge(
            "raw_message_outcomes",
            "Processed raw mails by what processing found (new_case, threaded, duplicate, ...).",
            "outcome",
            _counts(RawMessage.outcome),
        )
        quarantine = db.session.scalar(
            select(func.count(RawMessage.id)).where(RawMessage.status == "quarantined")
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_quarantine_size",
            "Raw mails in quarantine, waiting for a person.",
            value=quarantine or 0,
        )
        yield _gauge(
            "outbox_mails",
            "Outgoing mails by status.",
            "status",
            _counts(OutboxMail.status, [s.value for s in OutboxStatus]),
        )
        yield _gauge(
            "cases",
            "Cases by status.",
            "status",
            _counts(Case.status, [s.value for s in CaseStatus]),
        )
        yield from self._mailboxes()
        yield from self._jobs()

    def _mailboxes(self) -> Iterator[GaugeMetricFamily]:
        last_success = GaugeMetricFamily(
            f"{PREFIX}_mailbox_last_success_timestamp_seconds",
            "When an active IMAP/POP3 mailbox was last fetched successfully (Unix time).",
            labels=["mailbox"],
        )
        failures = GaugeMetricFamily(
            f"{PREFIX}_mailbox_fetch_failures",
            "Failed fetch rounds in a row of an active mailbox.",
            labels=["mailbox"],
        )
        for box in db.session.scalars(select(Mailbox).where(Mailbox.active.is_(True))):
            if box.last_success_at is not None:
                stamp = (box.last_success_at - _EPOCH).total_seconds()
                last_success.add_metric([box.address], stamp)
            failures.add_metric([box.address], box.fetch_failures or 0)
        yield last_success
        yield failures

    def _jobs(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(f"{PREFIX}_queue_up", "1 when the job queue answers.")
        queued = GaugeMetricFamily(
            f"{PREFIX}_job_queue_length", "Jobs waiting in each queue.", labels=["queue"]
        )
        failed = GaugeMetricFamily(
            f"{PREFIX}_jobs_failed", "Failed jobs kept in each queue's registry.", labels=["queue"]
        )
        workers = GaugeMetricFamily(f"{PREFIX}_workers", "Job workers alive.")
        app = current_app
        if not app.config.get("REDIS_URL") and EMBEDDED_QUEUE not in app.extensions:
            # The embedded queue was never used in this process: it is empty, and building it
            # for a scrape would cost a third of a second.
            up.add_metric([], 1)
            for name in app.config["RQ_QUEUES"]:
                queued.add_metric([name], 0)
                failed.add_metric([name], 0)
            workers.add_metric([], self._embedded_workers())
            yield from (up, queued, failed, workers)
            return
        try:
            conn = connection()
            conn.ping()
            for name in app.config["RQ_QUEUES"]:
                queue = Queue(name, connection=conn)
                queued.add_metric([name], queue.count)
                failed.add_metric([name], queue.failed_job_registry.count)
            alive = (
                len(Worker.all(connection=conn))
                if app.config.get("REDIS_URL")
                else self._embedded_workers()
            )
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        workers.add_metric([], alive)
        yield from (up, queued, failed, workers)

    @staticmethod
    def _embedded_workers() -> int:
        thread = current_app.extensions.get(EMBEDDED_WORKER)
        return int(thread is not None and thread.is_alive())


def render() -> bytes:
    """The text a scrape gets: a registry of its own per scrape, holding only the desk's
    collector (no process or platform figures of whichever gunicorn process answered)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeskCollector())
    return generate_latest(registry)

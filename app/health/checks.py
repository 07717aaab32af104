"""What ``/health`` reports: the database, the queue and its workers, and the mailboxes.

A load balancer takes a desk out of rotation on a 503, which only a database it cannot reach
justifies (nothing works without it). A queue that is down or a worker that stopped delays
mail and notices but does not stop agents working: that is ``degraded``, still 200, for
monitoring to alert on. Every figure is read when asked, from the database and Redis, so each
gunicorn process answers the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask import current_app
from rq import Worker
from sqlalchemy import func, select, text

from app.audit.models import Event
from app.extensions import db
from app.jobs.queue import connection
from app.mail.models import RawMessage
from app.mailcore.models import Mailbox

log = logging.getLogger(__name__)
# Where app.jobs keeps the embedded worker thread and the embedded queue's fakeredis.
EMBEDDED_WORKER = "loopdesk_embedded_worker"
EMBEDDED_QUEUE = "loopdesk_redis_embedded"
HEARTBEAT_ACTION = "worker.heartbeat"  # the Event the heartbeat job writes (app.jobs.tasks)


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # the queue or its workers are away: mail and notices wait
    DOWN = "down"  # the database is unreachable: the desk cannot serve


@dataclass
class Health:
    status: HealthStatus
    report: dict[str, Any]

    @property
    def serving(self) -> bool:
        """Whether a load balancer should send requests here (the database answers)."""
        return self.status != HealthStatus.DOWN


def iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its zone, for machines."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def database_state() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"up": True, "backend": db.engine.dialect.name}
    except Exception as exc:
        db.session.rollback()
        return {"up": False, "error": _reported(exc)}


def queue_state() -> dict[str, Any]:
    """Redis answers a ping (``REDIS_URL`` set), or the embedded in-process queue."""
    if not current_app.config.get("REDIS_URL"):
        return {"kind": "embedded", "up": True}
    try:
        connection().ping()
        return {"kind": "redis", "up": True}
    except Exception as exc:
        return {"kind": "redis", "up": False, "error": _reported(exc)}


def workers_state(queue_up: bool) -> dict[str, Any]:
    """The RQ workers with their last heartbeat (Redis), or the embedded worker thread; and
    when the heartbeat job last ran against this database (every five minutes)."""
    state: dict[str, Any] = {}
    if current_app.config.get("REDIS_URL"):
        workers = []
        if queue_up:
            try:
                for worker in Worker.all(connection=connection()):
                    workers.append(
                        {
                            "name": worker.name,
                            "state": str(worker.get_state()),
                            "queues": worker.queue_names(),
                            "last_heartbeat": iso(_naive(worker.last_heartbeat)),
                        }
                    )
            except Exception as exc:
                state["error"] = _reported(exc)
        state.update(kind="rq", count=len(workers), workers=workers)
    else:
        thread = current_app.extensions.get(EMBEDDED_WORKER)
        alive = bool(thread is not None and thread.is_alive())
        state.update(kind="embedded", count=int(alive), running=alive)
    state["last_heartbeat_job"] = iso(
        db.session.scalar(
            select(func.max(Event.created_at)).where(Event.action == HEARTBEAT_ACTION)
        )
    )
    return state


def mailboxes_state() -> list[dict[str, Any]]:
    """Each active mailbox: its last fetch and last successful fetch (IMAP and POP3 rounds
    record them), and the last mail it received by any channel (pipe and webhook too)."""
    last_received = dict(
        db.session.execute(
            select(RawMessage.mailbox_id, func.max(RawMessage.received_at))
            .where(RawMessage.mailbox_id.is_not(None))
            .group_by(RawMessage.mailbox_id)
        ).all()
    )
    boxes = db.session.scalars(
        select(Mailbox).where(Mailbox.active.is_(True)).order_by(Mailbox.address)
    )
    return [
        {
            "address": box.address,
            "protocol": box.inbound_protocol,
            "last_fetch": iso(box.last_fetch_at),
            "last_success": iso(box.last_success_at),
            "failures_in_a_row": box.fetch_failures or 0,
            "last_error": box.last_error if box.fetch_failures else None,
            "last_received": iso(last_received.get(box.id)),
            "needs_reconnect": bool(box.oauth_needs_reconnect),
            "reconnect_reason": box.oauth_reconnect_reason if box.oauth_needs_reconnect else None,
        }
        for box in boxes
    ]


def check() -> Health:
    database = database_state()
    queue = queue_state()
    report: dict[str, Any] = {"database": database, "queue": queue}
    if not database["up"]:
        report["status"] = HealthStatus.DOWN
        return Health(HealthStatus.DOWN, report)
    try:
        report["workers"] = workers_state(queue["up"])
        report["mailboxes"] = mailboxes_state()
    except Exception as exc:  # the database went away between the two
        db.session.rollback()
        report["database"] = {"up": False, "error": _reported(exc)}
        report["status"] = HealthStatus.DOWN
        return Health(HealthStatus.DOWN, report)
    # A revoked OAuth2 grant stops a mailbox until an admin reconnects it: monitoring alerts.
    degraded = (
        not queue["up"]
        or not report["workers"]["count"]
        or any(box["needs_reconnect"] for box in report["mailboxes"])
    )
    status = HealthStatus.DEGRADED if degraded else HealthStatus.OK
    report["status"] = status
    return Health(status, report)


def _naive(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=None) if moment and moment.tzinfo else moment


def _reported(exc: BaseException) -> str:
    """What the public report says about a failure: the kind of error only (its text may name
    hosts and users); the whole of it goes to the log."""
    log.warning("health: %s", exc)
    return type(exc).__name__

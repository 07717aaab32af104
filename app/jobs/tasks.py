"""Desk-wide jobs."""

from __future__ import annotations

import os
import socket

from app.audit.models import Event
from app.core.features import PeriodicJob
from app.extensions import db
from app.jobs.context import in_app_context


@in_app_context
def heartbeat(token: str | None = None) -> dict:
    """Record that a worker is alive and can reach the database.

    Scheduled every few minutes; the production smoke test enqueues it by hand and waits for
    the Event it writes.
    """
    where = f"{socket.gethostname()}:{os.getpid()}"
    db.session.add(
        Event(
            action="worker.heartbeat",
            object_type="system",
            actor_name="system",
            new_value=where,
            details={"token": token} if token else None,
        )
    )
    db.session.commit()
    return {"worker": where, "token": token}


def periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob(heartbeat, "default", 300)]

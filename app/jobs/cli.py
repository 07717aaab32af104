"""``flask --app run jobs heartbeat``: prove that a worker runs jobs against this database."""

from __future__ import annotations

import secrets
import sys
import time

import click
from flask.cli import AppGroup

from app.jobs.queue import enqueue
from app.jobs.tasks import heartbeat

jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("heartbeat")
@click.option("--wait", is_flag=True, help="Wait for a worker to run it (embedded: run it now).")
def jobs_heartbeat(wait: bool):
    """Enqueue the heartbeat job; prove that a worker runs jobs against this database."""
    job = enqueue(heartbeat, secrets.token_hex(4))
    click.echo(f"enqueued {job.id}")
    if wait:
        status = None
        for _ in range(600):
            status = str(getattr(job.get_status(refresh=True), "value", "unknown"))
            if status in ("finished", "failed"):
                break
            time.sleep(0.1)
        click.echo(f"job {job.id}: {status}")
        sys.exit(0 if status == "finished" else 1)


def register(app) -> None:
    app.cli.add_command(jobs_cli)

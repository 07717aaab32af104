"""``flask --app run outbox deliver|list``: the outbox from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.audit.actor import acting_as
from app.extensions import db
from app.outbox.models import OutboxMail, OutboxStatus

outbox_cli = AppGroup("outbox", help="Outgoing mail: deliver due mail, list the outbox.")


@outbox_cli.command("deliver")
@click.option("--max", "max_rows", type=int, default=None, help="Send at most this many.")
def outbox_deliver(max_rows: int | None):
    """Run one delivery round: send every due mail (the scheduled job does the same)."""
    from app.outbox.delivery import deliver_due  # not at the top: ~10 ms, only when run

    with acting_as(None):
        report = deliver_due(max_rows=max_rows)
    click.echo(
        f"claimed {report.claimed}, sent {report.sent}, deferred {report.deferred}, "
        f"failed {report.failed}, interrupted {report.interrupted}"
    )


@outbox_cli.command("list")
@click.option(
    "--status",
    default=None,
    type=click.Choice([s.value for s in OutboxStatus]),
)
@click.option("--limit", default=50, show_default=True)
def outbox_list(status: str | None, limit: int):
    """List the newest outbox rows (all of them: this is an operator's command)."""
    stmt = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OutboxMail.status == status)
    rows = list(db.session.scalars(stmt))
    if not rows:
        click.echo("no outbox mail" + (f" with status {status}" if status else ""))
    for row in rows:
        case = row.case.number if row.case is not None else "-"
        when = row.sent_at or row.next_attempt_at
        click.echo(
            f"#{row.id:<6} {row.status:<10} {row.kind:<14} {case:<10} {row.recipient:<32} "
            f"tries {row.attempts}  {when:%Y-%m-%d %H:%M:%S}  {row.last_error or ''}".rstrip()
        )


def register(app) -> None:
    app.cli.add_command(outbox_cli)

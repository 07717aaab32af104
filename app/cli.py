"""Command-line interface: ``flask --app run desk|demo|case|jobs ...``.

Commands call the same services as the views and the API. There is deliberately no command
that deletes a case, message, raw message or event.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

desk_cli = AppGroup("desk", help="Set up and inspect the desk.")
demo_cli = AppGroup("demo", help="Demo data for a living desk.")
case_cli = AppGroup("case", help="Work on cases from the shell (same rules as the UI).")
jobs_cli = AppGroup("jobs", help="Background jobs.")


def _credentials_file() -> Path:
    from config import INSTANCE_DIR

    return INSTANCE_DIR / "admin-credentials.txt"


@desk_cli.command("init")
@click.option("--admin", "admin_name", default="admin", show_default=True)
@click.option("--password", default=None, help="Admin password (default: generated once).")
@click.option("--demo/--no-demo", default=False, help="Seed demo data into an empty desk.")
def desk_init(admin_name: str, password: str | None, demo: bool):
    """Create the roles and an admin account (once); optionally seed the demo desk."""
    from app.cases.models import Case
    from app.extensions import db
    from app.security.bootstrap import create_user, ensure_roles

    ensure_roles()
    sm = current_app.appbuilder.sm
    creds = _credentials_file()
    if sm.find_user(username=admin_name) is None:
        password = password or secrets.token_urlsafe(9)
        create_user(admin_name, "Admin", password=password, first_name="Desk", last_name="Admin")
        creds.parent.mkdir(parents=True, exist_ok=True)
        creds.write_text(f"{admin_name}\n{password}\n")
        creds.chmod(0o600)
        click.echo(f"Created admin account {admin_name!r}.")
    if demo and db.session.query(Case.id).first() is None:
        from app.demo.seed import seed_demo

        summary = seed_demo(password=_read_credentials()[1])
        click.echo(f"Seeded demo desk: {summary}")


def _read_credentials() -> tuple[str, str]:
    try:
        name, password = _credentials_file().read_text().split("\n")[:2]
        return name, password
    except (FileNotFoundError, ValueError):
        return "admin", "(set with flask --app run fab reset-password)"


@desk_cli.command("credentials")
def desk_credentials():
    """Print the admin login created by ``desk init``."""
    name, password = _read_credentials()
    click.echo(f"user: {name}\npassword: {password}")


@demo_cli.command("seed")
@click.option("--cases", default=300, show_default=True, help="How many cases to create.")
@click.option("--seed", "random_seed", default=7, show_default=True)
def demo_seed(cases: int, random_seed: int):
    """Create pools, mailboxes, agents of every role, topics and cases with threads."""
    from app.demo.seed import seed_demo
    from app.security.bootstrap import ensure_roles

    ensure_roles()
    summary = seed_demo(cases=cases, random_seed=random_seed, password=_read_credentials()[1])
    click.echo(f"Seeded demo desk: {summary}")
    click.echo("Demo users (password as the admin's): supervisor, manager, agent1 .. agent6")


def _as_user(username: str | None):
    from app.audit.actor import acting_as

    if username is None:
        return acting_as(None)
    user = current_app.appbuilder.sm.find_user(username=username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return acting_as(user)


def _find_case(number: str):
    from app.cases.models import Case
    from app.extensions import db

    case = db.session.query(Case).filter(Case.number == number).one_or_none()
    if case is None:
        raise click.ClickException(f"no case {number}")
    return case


@case_cli.command("show")
@click.argument("number")
@click.option("--as", "username", default=None, help="Act as this user (record rules apply).")
def case_show(number: str, username: str | None):
    """Print a case with its thread and history."""
    from app.cases import services
    from app.errors import DeskError

    with _as_user(username):
        try:
            case = services.get_case(_find_case(number).id)  # the desk itself sees every case
        except DeskError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{case.number} [{case.status}] {case.subject}")
        click.echo(f"pool: {case.pool}  assignee: {case.assignee or '-'}  due: {case.sla_due_at}")
        for m in case.messages:
            click.echo(f"  {m.created_at:%Y-%m-%d %H:%M} {m.direction:<12} {m.subject or ''}")
        for e in case.events:
            click.echo(f"  * {e.created_at:%Y-%m-%d %H:%M} {e.actor_name}: {e.summary}")


@case_cli.command("transition")
@click.argument("number")
@click.argument("status")
@click.option("--as", "username", default=None, help="Act as this user (record rules apply).")
@click.option("--reason", default=None)
def case_transition(number: str, status: str, username: str | None, reason: str | None):
    """Move a case to STATUS through the state machine."""
    from app.cases import services
    from app.errors import DeskError

    with _as_user(username):
        case = _find_case(number)
        try:
            services.change_status(case, status, reason=reason)
        except DeskError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{case.number} is now {case.status}")


@jobs_cli.command("heartbeat")
@click.option("--wait", is_flag=True, help="Wait for a worker to run it (embedded: run it now).")
def jobs_heartbeat(wait: bool):
    """Enqueue the heartbeat job; prove that a worker runs jobs against this database."""
    from app.jobs.queue import enqueue
    from app.jobs.tasks import heartbeat

    job = enqueue(heartbeat, secrets.token_hex(4))
    click.echo(f"enqueued {job.id}")
    if wait:
        import time

        status = None
        for _ in range(600):
            status = str(getattr(job.get_status(refresh=True), "value", "unknown"))
            if status in ("finished", "failed"):
                break
            time.sleep(0.1)
        click.echo(f"job {job.id}: {status}")
        sys.exit(0 if status == "finished" else 1)


def register_cli(app) -> None:
    for group in (desk_cli, demo_cli, case_cli, jobs_cli):
        app.cli.add_command(group)
    from app.mail.cli import register as register_mail_intake

    register_mail_intake(app)  # mail pipe|import|reprocess|stats, mailbox create
    from app.outbox.cli import outbox_cli

    app.cli.add_command(outbox_cli)
    # `mail fetch` (IMAP/POP3): joins the intake's `mail` group, or creates it; keep it last.
    from app.mail.channels.cli import register as register_mail_fetch

    register_mail_fetch(app)

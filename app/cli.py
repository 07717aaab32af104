"""Command-line interface of the installation: ``flask --app run desk|demo ...``; every
feature adds its own command groups (``case``, ``mail``, ``outbox``, ``jobs``, …) through its
manifest.

Commands call the same services as the views and the API. There is deliberately no command
that deletes a case, message, raw message or event.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_appbuilder import Model

from app.core.encryption import rotate_secrets
from app.extensions import appbuilder, db
from app.features import register_cli as register_feature_cli

desk_cli = AppGroup("desk", help="Set up and inspect the desk.")
demo_cli = AppGroup("demo", help="Demo data for a living desk.")


def _credentials_file() -> Path:
    from config import INSTANCE_DIR  # not at the top: config imports app, which imports this

    return INSTANCE_DIR / "admin-credentials.txt"


@desk_cli.command("init")
@click.option("--admin", "admin_name", default="admin", show_default=True)
@click.option("--password", default=None, help="Admin password (default: generated once).")
@click.option("--demo/--no-demo", default=False, help="Seed demo data into an empty desk.")
def desk_init(admin_name: str, password: str | None, demo: bool):
    """Create the roles and an admin account (once); optionally seed the demo desk."""
    # Not at the top: the app package imports this module first thing, before any model.
    from app.cases.models import Case
    from app.security.bootstrap import create_user, ensure_roles

    ensure_roles()
    sm = appbuilder().sm
    creds = _credentials_file()
    if sm.find_user(username=admin_name) is None:
        password = password or secrets.token_urlsafe(9)
        create_user(admin_name, "Admin", password=password, first_name="Desk", last_name="Admin")
        creds.parent.mkdir(parents=True, exist_ok=True)
        creds.write_text(f"{admin_name}\n{password}\n")
        creds.chmod(0o600)
        click.echo(f"Created admin account {admin_name!r}.")
    if demo and db.session.query(Case.id).first() is None:
        from app.demo.seed import seed_demo  # not at the top: heavy, only for --demo

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


@desk_cli.command("rotate-secrets")
def desk_rotate_secrets():
    """Re-encrypt every stored secret (mailbox passwords and tokens) under the first key of
    SECRETS_KEY; afterwards the older keys may be removed from it."""
    with db.engine.begin() as connection:
        count = rotate_secrets(connection, Model.metadata)
    click.echo(f"Re-encrypted {count} secret(s) under the first key of SECRETS_KEY.")


@demo_cli.command("seed")
@click.option("--cases", default=300, show_default=True, help="How many cases to create.")
@click.option("--seed", "random_seed", default=7, show_default=True)
def demo_seed(cases: int, random_seed: int):
    """Create pools, mailboxes, agents of every role, topics and cases with threads."""
    # Not at the top: the demo data loads every feature's models, only when this runs.
    from app.demo.seed import seed_demo
    from app.security.bootstrap import ensure_roles

    ensure_roles()
    summary = seed_demo(cases=cases, random_seed=random_seed, password=_read_credentials()[1])
    click.echo(f"Seeded demo desk: {summary}")
    click.echo("Demo users (password as the admin's): supervisor, manager, agent1 .. agent6")


def register_cli(app) -> None:
    for group in (desk_cli, demo_cli):
        app.cli.add_command(group)
    register_feature_cli(app)

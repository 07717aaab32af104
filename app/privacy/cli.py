"""``flask --app run privacy export|erase``: the customer's rights from the shell, as an admin
(``--as``), through the same services as the customer's page."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import appbuilder, db
from app.privacy import services

privacy_cli = AppGroup("privacy", help="A customer's rights: export and erasure (admins).")


def _admin(username: str):
    user = appbuilder().sm.find_user(username=username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _customer(address: str) -> Customer:
    customer = db.session.scalars(
        select(Customer).where(func.lower(Customer.email) == address.strip().lower())
    ).first()
    if customer is None:
        raise click.ClickException(f"no customer {address}")
    return customer


@privacy_cli.command("export")
@click.argument("address")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@click.option("--as", "username", required=True, help="The admin who exports.")
def export(address: str, target: str, username: str):
    """Write everything held about the customer into a ZIP file."""
    try:
        data = services.export_customer(_customer(address), _admin(username))
    except DeskError as exc:
        raise click.ClickException(str(exc)) from None
    Path(target).write_bytes(data)
    click.echo(f"{target}: {len(data)} bytes")


@privacy_cli.command("erase")
@click.argument("address")
@click.option("--reason", required=True, help="Why: the request, its date or reference.")
@click.option("--confirm", "confirm", required=True, help="The customer's address again.")
@click.option("--as", "username", required=True, help="The admin who erases.")
def erase(address: str, reason: str, confirm: str, username: str):
    """Erase the customer's personal data (cannot be undone)."""
    if confirm.strip().lower() != address.strip().lower():
        raise click.ClickException("--confirm must repeat the address")
    try:
        done = services.erase_customer(_customer(address), _admin(username), reason)
    except DeskError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"erased: {done}")


def register(app) -> None:
    app.cli.add_command(privacy_cli)

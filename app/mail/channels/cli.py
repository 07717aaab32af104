"""``flask --app run mail fetch [--mailbox ADDRESS]``: one fetching round by hand.

The ``mail`` command group belongs to the intake (app/mail/cli.py); ``register`` adds the
``fetch`` command to whichever ``mail`` group the app has, creating the group when the intake's
is not registered (yet), so both work in either order of registration.
"""

from __future__ import annotations

import importlib
import sys

import click
from flask.cli import AppGroup, with_appcontext


@click.command("fetch")
@click.option("--mailbox", "address", default=None, help="Only this mailbox (its address).")
@with_appcontext
def fetch_command(address: str | None):
    """Fetch new mail from IMAP/POP3 mailboxes once and print a summary."""
    from app.mail.fetch import fetch_all

    results = fetch_all(address)
    if address and not results:
        raise click.ClickException(f"no mailbox {address}")
    if not results:
        click.echo("no active IMAP or POP3 mailbox to fetch")
        return
    for result in results:
        click.echo(result.summary())
    stored = sum(r.stored for r in results)
    failed = [r for r in results if r.error]
    click.echo(f"{len(results)} mailbox(es), {stored} message(s) stored, {len(failed)} failed")
    if failed:
        sys.exit(1)


def register(app) -> None:
    """Add ``fetch`` to the app's ``mail`` group (made here if nobody registered one)."""
    group = app.cli.commands.get("mail") or _intake_group()
    if group is None:
        group = AppGroup("mail", help="Mail intake: fetch, pipe, import, stats.")
    app.cli.add_command(group)
    group.add_command(fetch_command)


def _intake_group():
    """The intake's module-level ``mail`` group, so a later registration of it keeps fetch."""
    try:
        module = importlib.import_module("app.mail.cli")
    except Exception:  # not written yet, or broken: fetch must still be available
        return None
    for value in vars(module).values():
        if isinstance(value, click.Group) and value.name == "mail":
            return value
    return None

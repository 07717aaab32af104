"""``flask --app run mail fetch [--mailbox ADDRESS]``: one fetching round by hand (the
``mail`` command group of app/mail/cli.py carries it)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.command("fetch")
@click.option("--mailbox", "address", default=None, help="Only this mailbox (its address).")
@with_appcontext
def fetch_command(address: str | None):
    """Fetch new mail from IMAP/POP3 mailboxes once and print a summary."""
    # not at the top: the fetch and its IMAP/POP3 clients load only when the command runs
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

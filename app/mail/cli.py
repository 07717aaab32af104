"""``flask --app run mail …`` and ``flask --app run mailbox …``: the MTA pipe, bulk import,
re-processing, intake statistics and scripted mailbox set-up. They call the intake service
like every other channel."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import json
import mailbox as mailbox_lib
import sys
from collections import Counter
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.errors import DeskError
from app.extensions import appbuilder, db
from app.mail.channels.cli import fetch_command
from app.mail.models import RawMessage, RawMessageStatus
from app.mail.stats import intake_stats
from app.mailcore.addresses import forget_own_addresses
from app.mailcore.models import Mailbox
from app.organisation.models import Pool

EX_TEMPFAIL = 75

mail_cli = AppGroup("mail", help="Mail intake: pipe, import, reprocess, stats.")
mailbox_cli = AppGroup("mailbox", help="Supervised mailboxes.")


@mail_cli.command("pipe")
@click.option("--mailbox", "address", required=True, help="Address of the receiving mailbox.")
@click.option(
    "--recipient", default=None, help="Envelope recipient (plus-address tokens thread by it)."
)
def mail_pipe(address: str, recipient: str | None):
    """Read one message on stdin (MTA pipe). Exit 0 once stored (a quarantined message is
    stored), 75 (EX_TEMPFAIL) when it could not be stored, so the MTA keeps it and retries."""
    # not at the top: create_app loads every command module, the intake only when it runs
    from app.mail.intake import mailbox_for, receive

    try:
        box = mailbox_for(address) or mailbox_for(recipient)
        result = receive(
            sys.stdin.buffer, mailbox=box, source="pipe", recipient=recipient or address
        )
    except Exception as exc:
        click.echo(
            f"loopdesk: could not store the message, the MTA should retry: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            err=True,
        )
        sys.exit(EX_TEMPFAIL)
    click.echo(
        f"raw #{result.raw_id}: {result.status}"
        + (f" (case id {result.case_id})" if result.case_id else "")
        + (f": {result.error}" if result.error else "")
    )
    sys.exit(0)


@mail_cli.command("drain-spool")
def mail_drain_spool():
    """Bring the mail ``bin/loopdesk-pipe`` spooled (``MAIL_SPOOL_DIR``) into the desk; exit 1
    when some could not be stored (they stay in the spool for the next round)."""
    # not at the top: the spool loads the intake, only when the command runs
    from app.mail import spool

    directory = spool.spool_dir()
    if directory is None:
        raise click.ClickException("MAIL_SPOOL_DIR is not set")
    result = spool.drain(directory)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items()))
    click.echo(f"Drained {directory}: {summary or 'nothing'}")
    if result.rejected:
        click.echo(f"{result.rejected} too large, moved to {directory / spool.REJECTED}", err=True)
    if result.error:
        click.echo(f"{result.left} left in the spool: {result.error}", err=True)
        sys.exit(1)


def _messages(paths):
    """Yield (reference, read) for every message in .eml files, folders, Maildirs, mboxes;
    ``read()`` returns its bytes (so counting them does not load them)."""
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            if (path / "cur").is_dir() or (path / "new").is_dir():
                md = mailbox_lib.Maildir(str(path), factory=None, create=False)
                for key in md.iterkeys():
                    yield f"{path}:{key}", _reader(md, key)
                continue
            for child in sorted(path.iterdir()):
                if (
                    child.is_dir()
                    or child.suffix.lower() in (".eml", ".msg", ".mbox", "")
                    or child.name.endswith(".mbx")
                ):
                    yield from _messages([child])
            continue
        with open(path, "rb") as fh:
            head = fh.read(5)
        if head == b"From ":
            box = mailbox_lib.mbox(str(path), factory=None, create=False)
            for key in box.iterkeys():
                yield f"{path}#{key}", _reader(box, key)
            continue
        yield str(path), path.read_bytes


def _reader(box, key):
    def read() -> bytes:
        with box.get_file(key) as fh:
            return fh.read()

    return read


def _recipient_mailbox(raw: bytes, cache: dict):
    """The mailbox of the first of our addresses among Delivered-To, X-Original-To, To, Cc."""
    # not at the top: create_app loads every command module, the intake only when it runs
    from app.mail.intake import mailbox_for

    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        values = []
        for name in ("delivered-to", "x-original-to", "envelope-to", "to", "cc"):
            values.extend(str(v) for v in headers.get_all(name, []))
        addresses = [a.lower() for _, a in email.utils.getaddresses(values) if "@" in a]
    except Exception:
        return None, None
    for address in addresses:
        if address not in cache:
            cache[address] = mailbox_for(address)
        if cache[address] is not None:
            return cache[address], address
    return None, None


@mail_cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--mailbox",
    "address",
    default=None,
    help="Put everything into this mailbox (default: the mailbox of each "
    "message's recipient; unknown recipients are quarantined).",
)
def mail_import(paths, address: str | None):
    """Import .eml files, folders, Maildirs and mbox files through the intake.

    Messages are read one at a time and handed over in batches of at most ``BATCH_SIZE``
    messages or ``BATCH_BYTES``: one commit stores a batch, one transaction processes it.
    """
    # not at the top: create_app loads every command module, the intake only when it runs
    from app.mail.intake import BATCH_BYTES, BATCH_SIZE, IncomingMail, mailbox_for

    box = None
    if address:
        box = mailbox_for(address)
        if box is None:
            raise click.ClickException(f"no mailbox {address}")
    items = list(_messages(paths))
    counts: Counter = Counter()
    cache: dict = {}
    batch: list[IncomingMail] = []
    size = 0
    with click.progressbar(length=len(items), label="Importing", show_pos=True) as bar:
        for ref, read in items:
            raw = read()
            target, recipient = (box, None) if box is not None else _recipient_mailbox(raw, cache)
            batch.append(IncomingMail(raw, target, "import", ref[-256:], recipient))
            size += len(raw)
            if len(batch) >= BATCH_SIZE or size >= BATCH_BYTES:
                _import_batch(batch, counts)
                bar.update(len(batch))
                batch, size = [], 0
        _import_batch(batch, counts)
        bar.update(len(batch))
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing"
    click.echo(f"Imported {len(items)} messages: {summary}")
    if counts["failed"]:
        sys.exit(1)


def _import_batch(batch, counts: Counter) -> None:
    """Store a batch (one commit), then process it. If the batch cannot be stored, its
    messages are tried one by one, so that one bad message does not keep its neighbours out."""
    # not at the top: create_app loads every command module, the intake only when it runs
    from app.mail.intake import process_in_batches, receive, store_many

    if not batch:
        return
    try:
        rows = store_many(batch)
    except Exception:
        rows = None
    if rows is not None:
        counts.update(result.status for result in process_in_batches(rows))
        return
    for mail in batch:
        try:
            result = receive(
                mail.raw,
                mailbox=mail.mailbox,
                source=mail.source,
                source_ref=mail.source_ref,
                recipient=mail.recipient,
            )
            counts[result.status] += 1
        except Exception as exc:
            counts["failed"] += 1
            click.echo(f"\n{mail.source_ref}: not stored: {exc}", err=True)


@mail_cli.command("reprocess")
@click.argument("raw_ids", nargs=-1, type=int)
@click.option("--quarantined", is_flag=True, help="Re-process every quarantined message.")
def mail_reprocess(raw_ids, quarantined: bool):
    """Run the intake again for stored or quarantined raw messages."""
    # not at the top: create_app loads every command module, the intake only when it runs
    from app.mail.intake import Quarantine, reprocess

    ids = list(raw_ids)
    if quarantined:
        ids += list(
            db.session.scalars(
                select(RawMessage.id)
                .where(RawMessage.status == RawMessageStatus.QUARANTINED)
                .order_by(RawMessage.id)
            )
        )
    if not ids:
        raise click.UsageError("name raw message ids or use --quarantined")
    failed = 0
    for raw_id in ids:
        try:
            result = reprocess(raw_id)
        except Quarantine as exc:
            raise click.ClickException(str(exc)) from None
        failed += result.status == RawMessageStatus.QUARANTINED
        click.echo(
            f"raw #{raw_id}: {result.status}" + (f": {result.error}" if result.error else "")
        )
    sys.exit(1 if failed else 0)


@mail_cli.command("open-as-case")
@click.argument("raw_id", type=int)
@click.option("--as", "username", default=None, help="Act as this user (record rules apply).")
def mail_open_as_case(raw_id: int, username: str | None):
    """Open a case for automatic mail (status automatic) that opened none."""
    # not at the top: create_app loads every command module, the intake only when it runs
    from app.mail.intake import open_automatic_as_case

    actor = None
    if username is not None:
        actor = appbuilder().sm.find_user(username=username)
        if actor is None:
            raise click.ClickException(f"no user {username!r}")
    raw = db.session.get(RawMessage, raw_id)
    if raw is None:
        raise click.ClickException(f"no raw message #{raw_id}")
    try:
        case = open_automatic_as_case(raw, actor)
    except DeskError as exc:
        raise click.ClickException(f"raw #{raw_id}: {exc}") from None
    click.echo(f"raw #{raw_id}: case {case.number} opened")


@mail_cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def mail_stats(as_json: bool):
    """Intake counts since the start (from the database)."""
    stats = intake_stats()
    if as_json:
        click.echo(json.dumps(stats, sort_keys=True))
        return
    for name, value in stats.items():
        click.echo(f"{name:<26} {value}")


@mailbox_cli.command("create")
@click.argument("address")
@click.option("--pool", "pool_name", required=True, help="Pool name (created when missing).")
@click.option(
    "--protocol",
    default="pipe",
    show_default=True,
    type=click.Choice(["imap", "pop3", "pipe", "webhook", "none"]),
)
@click.option("--webhook-secret", default=None)
@click.option("--display-name", default=None)
def mailbox_create(
    address: str,
    pool_name: str,
    protocol: str,
    webhook_secret: str | None,
    display_name: str | None,
):
    """Create a mailbox in a pool (for scripted set-ups)."""
    address = address.strip().lower()
    if "@" not in address:
        raise click.BadParameter("not an e-mail address", param_hint="ADDRESS")
    if db.session.scalar(select(Mailbox).where(Mailbox.address == address)) is not None:
        raise click.ClickException(f"mailbox {address} exists already")
    pool = db.session.scalar(select(Pool).where(Pool.name == pool_name))
    created_pool = pool is None
    if created_pool:
        pool = Pool(name=pool_name)
        db.session.add(pool)
    db.session.add(
        Mailbox(
            address=address,
            pool=pool,
            inbound_protocol=protocol,
            webhook_secret=webhook_secret,
            display_name=display_name,
        )
    )
    db.session.commit()
    forget_own_addresses()
    click.echo(
        f"Created mailbox {address} in pool {pool_name!r}" + (" (new pool)" if created_pool else "")
    )


def register(app) -> None:
    mail_cli.add_command(fetch_command)  # IMAP and POP3 (app.mail.channels)
    app.cli.add_command(mail_cli)
    app.cli.add_command(mailbox_cli)

"""Fetch benchmark: messages per second from a real Dovecot (IMAP and POP3) into the desk.

Starts Debian's Dovecot on loopback (needs root and dovecot-imapd/dovecot-pop3d, like the
tests), drops N realistic messages into a mailbox, and times one fetching round through the
whole path: download, the intake (each batch stored with one commit, then parsed, threaded
and turned into cases in one transaction) and the server action (\\Seen flag for IMAP, UIDL
bookkeeping for POP3).

    .venv/bin/python bench/fetch.py [--quick] [-n 2000] [--database-url postgresql://...]

A second pair of rounds leaves out the intake's processing (the raw rows are only stored), to
show what the channel itself costs. The last line is JSON: imap_msgs_per_s, pop3_msgs_per_s (full intake),
imap_channel_msgs_per_s, pop3_channel_msgs_per_s (channel only) and the sizes used.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def realistic_message(n: int, rng: random.Random) -> bytes:
    """A customer enquiry: a few paragraphs, every fifth with a small PDF-like attachment."""
    words = (
        "invoice order delivery refund account password printer tariff contract "
        "address payment reminder broken missing please thanks urgent question"
    ).split()
    paragraphs = [
        " ".join(rng.choice(words) for _ in range(rng.randint(20, 80)))
        for _ in range(rng.randint(1, 5))
    ]
    body = "\r\n\r\n".join(paragraphs) + "\r\n\r\nKind regards\r\nCustomer {n}\r\n"
    head = (
        f"From: Customer {n} <customer{n}@customer.test>\r\n"
        f"To: support@desk.test\r\nSubject: Enquiry {n}: {rng.choice(words)}\r\n"
        f"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <bench-{n}-{rng.getrandbits(32)}@customer.test>\r\n"
        "MIME-Version: 1.0\r\n"
    )
    if n % 5:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()
    blob = base64.encodebytes(rng.randbytes(15000)).decode().replace("\n", "\r\n")
    return (
        head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n--b1\r\n"
        'Content-Type: application/pdf; name="scan.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + blob + "--b1--\r\n"
    ).encode()


def build_app(database_url: str | None, workdir: Path):
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from app import create_app, freeze_startup_objects
    from app.security.bootstrap import ensure_roles

    if database_url:
        name = f"ld_bench_fetch_{os.getpid()}"
        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": None,
            "EMBEDDED_WORKER": False,
            "FILE_STORE": str(workdir / "files"),
            "SECRET_KEY": "bench",
            "MAIL_SUPPRESS_SEND": True,
        }
    )
    with app.app_context():
        upgrade()
        ensure_roles()
    freeze_startup_objects()  # as the rq worker that runs fetch rounds does
    return app


def one_round(app, server, protocol: str, messages: list[bytes]) -> dict:
    from app.extensions import db
    from app.mail.fetch import fetch_mailbox
    from app.mailcore.models import Mailbox
    from app.organisation.models import Pool

    user = server.add_user()
    print(f"{protocol}: delivering {len(messages)} messages into Maildir ...", flush=True)
    user.deliver_files(messages)
    with app.app_context():
        pool = db.session.query(Pool).filter_by(name="Bench").one_or_none() or Pool(name="Bench")
        mailbox = Mailbox(
            address=f"{protocol}-{user.address}",
            pool=pool,
            inbound_protocol=protocol,
            inbound_host="127.0.0.1",
            inbound_port=server.imap_port if protocol == "imap" else server.pop3_port,
            inbound_security="none",
            inbound_username=user.address,
            inbound_secret=user.password,
        )
        db.session.add(mailbox)
        db.session.commit()
        print(f"{protocol}: fetching ...", flush=True)
        started = time.perf_counter()
        result = fetch_mailbox(mailbox.id)
        seconds = time.perf_counter() - started
        if result.error or result.stored != len(messages):
            raise SystemExit(f"{protocol} round failed: {result.summary()}")
        rate = len(messages) / seconds
        print(
            f"{protocol}: {result.stored} messages in {seconds:.2f}s = {rate:.0f} msgs/s",
            flush=True,
        )
        return {"msgs_per_s": round(rate, 1), "seconds": round(seconds, 2)}


@contextlib.contextmanager
def store_only_intake():
    """Leave out the intake's processing (mail is stored, not parsed): the channel alone."""
    from app.mail import intake

    real = intake.process_in_batches
    intake.process_in_batches = lambda rows: []
    try:
        yield
    finally:
        intake.process_in_batches = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 messages")
    parser.add_argument("-n", type=int, default=2000, help="messages per protocol")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL server URL (a scratch database is created)",
    )
    args = parser.parse_args()
    n = 200 if args.quick else args.n

    from tests.servers.dovecot import start_dovecot, unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"bench/fetch.py: {reason}")
    rng = random.Random(42)
    messages = [realistic_message(i, rng) for i in range(n)]
    mean_kb = sum(map(len, messages)) / len(messages) / 1024
    print(
        f"{n} messages, mean {mean_kb:.1f} KB; "
        f"database: {'PostgreSQL' if args.database_url else 'SQLite'}",
        flush=True,
    )
    server = start_dovecot()
    try:
        with tempfile.TemporaryDirectory(prefix="ld-bench-fetch-") as workdir:
            app = build_app(args.database_url, Path(workdir))
            imap = one_round(app, server, "imap", messages)
            pop3 = one_round(app, server, "pop3", messages)
            print("channel only (mail is stored, not processed):", flush=True)
            with store_only_intake():
                imap_raw = one_round(app, server, "imap", messages)
                pop3_raw = one_round(app, server, "pop3", messages)
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "messages": n,
                "mean_message_kb": round(mean_kb, 1),
                "database": "postgresql" if args.database_url else "sqlite",
                "imap_msgs_per_s": imap["msgs_per_s"],
                "pop3_msgs_per_s": pop3["msgs_per_s"],
                "imap_channel_msgs_per_s": imap_raw["msgs_per_s"],
                "pop3_channel_msgs_per_s": pop3_raw["msgs_per_s"],
            }
        )
    )


if __name__ == "__main__":
    main()

"""Outbox delivery throughput: queue N mails, deliver them to a local aiosmtpd sink.

Runs twice on a fresh database: once with one delivery worker process, once with two (each
queues N mails first, then times the delivery). Prints progress; the last line is JSON with
``mails_per_s_1_worker`` and ``mails_per_s_2_workers``.

    .venv/bin/python bench/outbox.py [--quick] [--mails N] [--database-url URL]

``--database-url`` names a PostgreSQL server/database to connect to; the benchmark creates
and drops its own scratch database there. Without it a SQLite file in a temp dir is used.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_sink(port: int, ready, counter) -> None:
    """An SMTP sink in its own process: accepts and counts every mail."""
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def config(db_url: str, port: int, tmp: str) -> dict:
    return {
        "SECRET_KEY": "bench-secret",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        "FILE_STORE": os.path.join(tmp, "files"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_DOMAIN": "bench.test",
        "OUTBOX_ENQUEUE_ON_COMMIT": False,
        "OUTBOX_BATCH_SIZE": 200,
        "OUTBOX_HANDOVER_GROUP": 25,
    }


def prepare(cfg: dict) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.mailcore.models import Mailbox
    from app.organisation.models import Pool

    app = create_app(cfg)
    with app.app_context():
        upgrade()
        pool = Pool(name="Bench")
        db.session.add(pool)
        db.session.add(Mailbox(address="support@bench.test", pool=pool, sender_name="Support"))
        db.session.commit()
        db.engine.dispose()


def queue(cfg: dict, n: int, label: str) -> None:
    """Open cases and queue one reply per case, committing in chunks."""
    from app import create_app
    from app.audit.actor import acting_as
    from app.cases import services
    from app.extensions import db
    from app.mailcore.models import Mailbox
    from app.outbox.services import queue_mail

    app = create_app(cfg)
    with app.app_context(), acting_as(None):
        mailbox = db.session.query(Mailbox).one()
        started = time.perf_counter()
        for i in range(n):
            case = services.open_case(
                pool=mailbox.pool, subject=f"Question {label} {i}", mailbox=mailbox, commit=False
            )
            queue_mail(
                kind="reply",
                to=f"customer{i}@example.test",
                subject="Re: question",
                text=f"Dear customer,\n\nthe answer to question {i} is 42.\n\nRegards",
                case=case,
            )
            if i % 500 == 499:
                db.session.commit()
                print(f"  queued {i + 1}/{n}", flush=True)
        db.session.commit()
        print(f"  queued {n} mails in {time.perf_counter() - started:.1f} s", flush=True)
        db.engine.dispose()


def worker(cfg: dict, start, result) -> None:
    from app import create_app, freeze_startup_objects
    from app.audit.actor import acting_as
    from app.extensions import db
    from app.outbox.delivery import deliver_due

    app = create_app(cfg)
    freeze_startup_objects()  # as an rq worker's app does
    with app.app_context(), acting_as(None):
        start.wait()
        report = deliver_due()
        result.put(report.as_dict())
        db.engine.dispose()


def deliver(cfg: dict, workers: int, n: int, counter) -> float:
    start = mp.Event()
    result = mp.Queue()
    procs = [mp.Process(target=worker, args=(cfg, start, result)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(3)  # let the workers build their apps before the clock starts
    before = counter.value
    t0 = time.perf_counter()
    start.set()
    reports = [result.get(timeout=1800) for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    sent = sum(r["sent"] for r in reports)
    received = counter.value - before
    assert sent == n == received, (sent, n, received, reports)
    rate = n / elapsed
    print(
        f"  {workers} worker(s): {n} mails in {elapsed:.2f} s = {rate:.0f} mails/s "
        f"(per worker: {[r['sent'] for r in reports]})",
        flush=True,
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 mails instead of 10,000")
    parser.add_argument("--mails", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n = args.mails or (400 if args.quick else 10000)

    tmp = tempfile.mkdtemp(prefix="ld-bench-outbox-")
    admin = scratch = None
    if args.database_url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        base = make_url(args.database_url)
        scratch = f"ld_bench_outbox_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        db_url = base.set(database=scratch).render_as_string(hide_password=False)
        backend = "postgresql"
    else:
        db_url = f"sqlite:///{tmp}/bench.db"
        backend = "sqlite"

    ctx = mp.get_context("spawn")
    counter = ctx.Value("l", 0)
    ready = ctx.Event()
    port = free_port()
    sink = ctx.Process(target=run_sink, args=(port, ready, counter), daemon=True)
    sink.start()
    ready.wait(30)
    cfg = config(db_url, port, tmp)
    try:
        print(f"outbox bench: {n} mails per run, {backend}", flush=True)
        prepare(cfg)
        rates = {}
        for workers in (1, 2):
            print(f"run with {workers} worker(s):", flush=True)
            queue(cfg, n, f"w{workers}")
            rates[workers] = deliver(cfg, workers, n, counter)
    finally:
        sink.terminate()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            admin.dispose()
    print(
        json.dumps(
            {
                "mails": n,
                "backend": backend,
                "mails_per_s_1_worker": round(rates[1], 1),
                "mails_per_s_2_workers": round(rates[2], 1),
            }
        )
    )


if __name__ == "__main__":
    mp.set_start_method("spawn")
    main()

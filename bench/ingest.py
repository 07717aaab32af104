"""Benchmark of the mail intake: messages per second and memory for a big message.

Generates N realistic messages (new enquiries, replies to existing cases, auto-replies,
bounces, some with attachments) and ingests them through the intake service:

* as the bulk channels hand mail over (import, IMAP and POP3 rounds: ``receive_many`` with
  batches of ``--batch`` mails), in one process and in two processes at once (each with its
  own app: both cores);
* one ``receive`` call per mail (what the webhook and the pipe do), in one process;
* through ``flask --app run mail pipe``, one process per message (a small N);
* through the thin MTA pipe client ``bin/loopdesk-pipe`` to the desk served by gunicorn on
  ``--port``, one process per message (``msgs_per_s_pipe_client``; ``bench/pipe.py`` has the
  details: the spool, the drain, where the time goes);
* one 25 MB message streamed through the intake in a child process, measuring the peak growth
  of its resident memory (``peak_rss_mb_25mb_message``: the whole growth, message included,
  so never negative; ``rss_mb_above_message_size``: max(0, growth - size), the target's measure).

Runs on SQLite (a temp file) and, with ``--database-url postgresql://…`` (a user that may
create databases), on PostgreSQL. The last line is one JSON object with the figures;
``msgs_per_s`` is the two-process figure on PostgreSQL when a URL is given.

    .venv/bin/python bench/ingest.py --quick
    .venv/bin/python bench/ingest.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAILBOX = "support@bench.test"
SECRET = "bench-secret-key"
BASE_CASES = 50


def log(text: str) -> None:
    print(text, flush=True)


# --- databases ---------------------------------------------------------------------------


class Database:
    """A fresh, migrated database for one run; dropped afterwards."""

    def __init__(self, kind: str, workdir: Path, admin_url: str | None = None):
        self.kind = kind
        self.workdir = workdir
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            self.name = f"ld_bench_{uuid.uuid4().hex[:8]}"
            self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = (
                make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)
            )

    def drop(self) -> None:
        if self.kind == "postgresql":
            from sqlalchemy import text

            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


def config_for(url: str, store: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET,
        "FILE_STORE": str(store),
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        "TESTING": False,
        "AUTO_MAIL_LIMITS": ((10, 1000),),
    }


def make_app(url: str, store: Path):
    logging.disable(logging.WARNING)
    from app import create_app

    return create_app(config_for(url, store))


def prepare(url: str, store: Path) -> list[int]:
    """Migrate, create the pool and mailbox and some cases for replies; return case ids."""
    from flask_migrate import upgrade

    from app.audit.actor import acting_as
    from app.cases import services
    from app.extensions import db
    from app.mailcore.models import Mailbox
    from app.organisation.models import Pool
    from app.security.bootstrap import ensure_roles

    app = make_app(url, store)
    with app.app_context():
        upgrade()
        ensure_roles()
        pool = Pool(name="Support", auto_response_enabled=True)
        db.session.add_all([pool, Mailbox(address=MAILBOX, pool=pool)])
        db.session.commit()
        with acting_as(None):
            cases = [
                services.open_case(pool=pool, subject=f"Existing {n}", commit=False)
                for n in range(BASE_CASES)
            ]
        db.session.commit()
        ids = [c.id for c in cases]
        db.session.remove()
        db.engine.dispose()
    return ids


# --- messages ------------------------------------------------------------------------------


def generate(n: int, case_ids: list[int], seed: int = 7) -> list[bytes]:
    """The mix: 55 % new enquiries, 25 % replies, 8 % auto-replies, 5 % bounces, 7 % with
    an attachment (20-200 kB)."""
    from app import create_app

    app = create_app(config_for("sqlite://", Path(tempfile.gettempdir())), check_services=False)
    rnd = random.Random(seed)
    words = (
        "order invoice delivery refund account password printer broken late wrong "
        "please help thanks question contract address change cancel"
    ).split()
    out = []
    with app.app_context():
        from app.mailcore import identity

        for i in range(n):
            kind = rnd.random()
            sender = f"customer{i}@example{rnd.randint(1, 50)}.test"
            subject = " ".join(rnd.choice(words) for _ in range(5)).capitalize()
            body = "\n".join(" ".join(rnd.choice(words) for _ in range(12)) for _ in range(8))
            headers = [
                f"From: Customer {i} <{sender}>",
                f"To: {MAILBOX}",
                f"Subject: {subject}",
                f"Message-ID: <bench.{i}.{seed}@example.test>",
                "Date: Sun, 22 Nov 2026 10:00:00 +0000",
                "MIME-Version: 1.0",
            ]
            if kind < 0.55:
                out.append(_text_mail(headers, body))
            elif kind < 0.80:
                case_id = rnd.choice(case_ids)
                headers.append(f"In-Reply-To: {identity.make_message_id('reply', case_id)}")
                out.append(_text_mail(headers, body + "\n\n> earlier text\n> more"))
            elif kind < 0.88:
                headers += ["Auto-Submitted: auto-replied", "X-Autoreply: yes"]
                out.append(_text_mail(headers, "I am out of the office until Monday."))
            elif kind < 0.93:
                out.append(_bounce(i, identity.make_message_id("reply", rnd.choice(case_ids))))
            else:
                size = rnd.randint(20_000, 200_000)
                out.append(_attachment_mail(headers, body, rnd.randbytes(size)))
    return out


def _text_mail(headers, body: str) -> bytes:
    return (
        "\r\n".join(headers + ["Content-Type: text/plain; charset=utf-8", "", body, ""])
    ).encode()


def _attachment_mail(headers, body: str, data: bytes) -> bytes:
    b64 = base64.encodebytes(data).decode()
    return (
        "\r\n".join(
            headers
            + [
                "Content-Type: multipart/mixed; boundary=BENCH",
                "",
                "--BENCH",
                "Content-Type: text/plain; charset=utf-8",
                "",
                body,
                "--BENCH",
                "Content-Type: application/pdf",
                'Content-Disposition: attachment; filename="doc.pdf"',
                "Content-Transfer-Encoding: base64",
                "",
                b64,
                "--BENCH--",
                "",
            ]
        )
    ).encode()


def _bounce(i: int, original: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.test\r\nTo: support@bench.test\r\nSubject: Undelivered\r\n"
        f"Message-ID: <bounce.{i}@mx.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/"
        "report; report-type=delivery-status; boundary=R\r\n\r\n--R\r\nContent-Type: text/plain"
        "\r\n\r\nDelivery failed.\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; gone@example.test\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n\r\n--R\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: support@bench.test\r\nMessage-ID: {original}\r\nSubject: Re\r\n\r\nx\r\n--R--\r\n"
    ).encode()


# --- runs ----------------------------------------------------------------------------------


def _ingest(url: str, store: str, messages: list[bytes], batch: int, barrier=None, queue=None):
    """Ingest ``messages``: ``receive_many`` with ``batch`` mails per call (``batch`` > 1),
    else one ``receive`` per mail."""
    from app import freeze_startup_objects

    app = make_app(url, Path(store))
    freeze_startup_objects()  # as the worker and CLI processes that run the intake do
    with app.app_context():
        from sqlalchemy import event

        from app.extensions import db
        from app.mail.intake import IncomingMail, receive, receive_many
        from app.mailcore.models import Mailbox

        box = db.session.query(Mailbox).filter_by(address=MAILBOX).one()
        statements = [0]

        def count(*_args):
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        if barrier is not None:
            barrier.wait()
        start, cpu_start = time.perf_counter(), time.process_time()
        statements[0] = 0
        statuses: dict[str, int] = {}
        if batch > 1:
            for first in range(0, len(messages), batch):
                chunk = [IncomingMail(raw, box, "bench") for raw in messages[first : first + batch]]
                for result in receive_many(chunk):
                    status = str(result.status)
                    statuses[status] = statuses.get(status, 0) + 1
        else:
            for raw in messages:
                status = str(receive(raw, mailbox=box, source="bench").status)
                statuses[status] = statuses.get(status, 0) + 1
        elapsed = time.perf_counter() - start
        statuses["_cpu_s"] = time.process_time() - cpu_start
        statuses["_statements"] = statements[0]
        event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()
        db.engine.dispose()
    if queue is not None:
        queue.put((elapsed, statuses))
    return elapsed, statuses


def junk_cases(url: str, store: Path, existing: list[int]) -> int:
    """Cases the run opened whose first message is automatic mail (out-of-office, bounce,
    bulk, loop): the cases machine mail opened. The intake opens none: the target is 0.
    ``existing`` are the cases made before the run (replies and bounces thread to them)."""
    app = make_app(url, store)
    with app.app_context():
        from sqlalchemy import func, select

        from app.cases.models import Message
        from app.extensions import db
        from app.mail import hygiene
        from app.mail.models import RawMessage

        first = (
            select(func.min(Message.id).label("id"))
            .where(Message.case_id.notin_(existing))
            .group_by(Message.case_id)
            .subquery()
        )
        flags = db.session.scalars(
            select(RawMessage.flags)
            .join(Message, Message.raw_message_id == RawMessage.id)
            .where(Message.id.in_(select(first.c.id)))
        ).all()
        junk = sum(hygiene.is_automatic(set((f or "").split(","))) for f in flags)
        db.session.remove()
        db.engine.dispose()
    return junk


def count_cases(url: str, store: Path) -> int:
    app = make_app(url, store)
    with app.app_context():
        from sqlalchemy import func, select

        from app.cases.models import Case
        from app.extensions import db

        count = db.session.scalar(select(func.count(Case.id)))
        db.session.remove()
        db.engine.dispose()
    return count


def run_reimport(url, store, messages, batch) -> int:
    """The same mails once more (as a second import of the same corpus): every one must be a
    duplicate and no case may be opened. Returns the cases opened (the target is 0)."""
    before = count_cases(url, store)
    elapsed, statuses = _ingest(url, str(store), messages, batch)
    opened = count_cases(url, store) - before
    log(
        f"  re-import of the same {len(messages)} messages: {_describe(statuses, len(messages))};"
        f" {opened} new cases"
    )
    if statuses.get("duplicate", 0) != len(messages):
        log("  NOT ALL DUPLICATES on re-import")
    return opened


def _describe(statuses: dict, n: int) -> str:
    """Outcome counts, and per message: CPU time of the ingesting process and SQL statements
    (BEGIN/COMMIT and connection pings not counted)."""
    shown = {k: v for k, v in statuses.items() if not k.startswith("_")}
    return (
        f"{shown}; per message {1000 * statuses['_cpu_s'] / n:.1f} ms CPU in the intake "
        f"process, {statuses['_statements'] / n:.1f} SQL statements"
    )


def run_one_process(url, store, messages, batch) -> float:
    elapsed, statuses = _ingest(url, str(store), messages, batch)
    how = f"batches of {batch}" if batch > 1 else "one receive() per mail"
    log(
        f"  one process, {how}: {len(messages)} messages in {elapsed:.2f} s "
        f"= {len(messages) / elapsed:.0f} msgs/s {_describe(statuses, len(messages))}"
    )
    label = "batch" if batch > 1 else "one_mail_per_call"
    DIAGNOSTICS[f"cpu_ms_per_msg_{label}"] = round(1000 * statuses["_cpu_s"] / len(messages), 2)
    DIAGNOSTICS[f"sql_statements_per_msg_{label}"] = round(
        statuses["_statements"] / len(messages), 2
    )
    return len(messages) / elapsed


DIAGNOSTICS: dict[str, float] = {}  # of the headline backend's one-process runs


def run_two_processes(url, store, messages, batch) -> float:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(3), ctx.Queue()
    halves = [messages[0::2], messages[1::2]]
    procs = [
        ctx.Process(target=_ingest, args=(url, str(store), half, batch, barrier, queue))
        for half in halves
    ]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    results = [queue.get() for _ in procs]
    wall = time.perf_counter() - start
    for p in procs:
        p.join()
    statuses: dict[str, int] = {}
    for _, s in results:
        for k, v in s.items():
            statuses[k] = statuses.get(k, 0) + v
    log(
        f"  two processes, batches of {batch} (wall clock from the common start until both "
        f"finished): {len(messages)} messages in {wall:.2f} s = {len(messages) / wall:.0f} "
        f"msgs/s {_describe(statuses, len(messages))}"
    )
    return len(messages) / wall


def run_pipe(url, store, messages, instance: Path) -> float:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        FILE_STORE=str(store),
        LOOPDESK_INSTANCE=str(instance),
    )
    env.pop("REDIS_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "run", "mail", "pipe", "--mailbox", MAILBOX]
    start = time.perf_counter()
    for raw in messages:
        proc = subprocess.run(flask, input=raw, cwd=ROOT, env=env, capture_output=True)
        if proc.returncode != 0:
            raise SystemExit(f"mail pipe failed ({proc.returncode}): {proc.stderr.decode()}")
    elapsed = time.perf_counter() - start
    log(
        f"  mail pipe: {len(messages)} processes in {elapsed:.2f} s "
        f"= {len(messages) / elapsed:.2f} msgs/s"
    )
    return len(messages) / elapsed


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _big_message_child(url: str, store: str, path: str, queue) -> None:
    app = make_app(url, Path(store))
    with app.app_context():
        from app.extensions import db
        from app.mail.intake import receive
        from app.mailcore.models import Mailbox

        box = db.session.query(Mailbox).filter_by(address=MAILBOX).one()
        receive(
            _text_mail(["From: warm@up.test", f"To: {MAILBOX}", "Subject: warm up"], "x"),
            mailbox=box,
            source="bench",
        )
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM)
        except OSError:
            pass
        before = _rss_mb("VmRSS")
        with open(path, "rb") as fh:
            result = receive(fh, mailbox=box, source="bench")
        peak = _rss_mb("VmHWM")
        queue.put((before, peak, result.status))


def run_big_message(url, store, workdir: Path, size_mb: int = 25) -> tuple[float, float]:
    path = workdir / "big.eml"
    payload = (size_mb << 20) * 3 // 4 - 4096
    with open(path, "wb") as fh:
        fh.write(
            (
                "\r\n".join(
                    [
                        "From: big@example.test",
                        f"To: {MAILBOX}",
                        "Subject: big attachment",
                        "Message-ID: <big@example.test>",
                        "MIME-Version: 1.0",
                        "Content-Type: multipart/mixed; boundary=B",
                        "",
                        "--B",
                        "Content-Type: text/plain",
                        "",
                        "see attached",
                        "--B",
                        "Content-Type: application/octet-stream",
                        'Content-Disposition: attachment; filename="big.bin"',
                        "Content-Transfer-Encoding: base64",
                        "",
                        "",
                    ]
                )
            ).encode()
        )
        rnd = random.Random(1)
        chunk = 57 * 1024
        left = payload
        while left > 0:
            n = min(chunk, left)
            fh.write(base64.encodebytes(rnd.randbytes(n)).replace(b"\n", b"\r\n"))
            left -= n
        fh.write(b"--B--\r\n")
    size = path.stat().st_size / (1 << 20)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_big_message_child, args=(url, str(store), str(path), queue))
    proc.start()
    before, peak, status = queue.get()
    proc.join()
    growth = max(0.0, peak - before)
    above = max(0.0, growth - size)
    log(
        f"  {size:.1f} MB message: {status}; RSS {before:.0f} MB -> peak {peak:.0f} MB: "
        f"growth {growth:.1f} MB, {above:.1f} MB above the message size (target: at most 40)"
    )
    return growth, above


def bench_backend(kind: str, args, n: int, pipe_n: int, big: bool) -> dict:
    """Each run gets a fresh database with the same starting point (50 cases to reply to)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ld-bench-{kind}-"))
    figures = {}
    runs = (
        ("one", lambda url, store, msgs: run_one_process(url, store, msgs, args.batch), 11),
        ("two", lambda url, store, msgs: run_two_processes(url, store, msgs, args.batch), 13),
        ("single", lambda url, store, msgs: run_one_process(url, store, msgs, 1), 19),
    )
    try:
        for label, runner, seed in runs:
            (workdir / label).mkdir(exist_ok=True)
            db = Database(kind, workdir / label, args.database_url)
            store = workdir / label / "files"
            case_ids = prepare(db.url, store)
            count = n if label != "single" else max(1, n // 4)
            messages = generate(count, case_ids, seed=seed)
            log(f"{kind}: {label}, {count} messages ({sum(map(len, messages)) / (1 << 20):.1f} MB)")
            figures[label] = runner(db.url, store, messages)
            if label == "one":
                figures["junk_cases"] = junk_cases(db.url, store, case_ids)
                log(f"  cases opened by automatic mail: {figures['junk_cases']}")
                figures["reimport_new_cases"] = run_reimport(db.url, store, messages, args.batch)
            if label == "one" and pipe_n:
                figures["pipe"] = run_pipe(
                    db.url, store, generate(pipe_n, case_ids, seed=17), workdir / label
                )
            if label == "one" and args.pipe_client_n:
                # bench/pipe.py builds on this module: imported here, not at the top.
                from bench.pipe import run_pipe_client

                figures["pipe_client"] = run_pipe_client(
                    db.url,
                    store,
                    generate(args.pipe_client_n, case_ids, seed=37),
                    workdir / label,
                    args.port,
                )
            if label == "one" and big:
                figures["big"] = run_big_message(db.url, store, workdir / label)
            db.drop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def _rounded(figure: float | None) -> float | None:
    return round(figure, 1) if figure is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("-n", type=int, default=None, help="messages per run")
    parser.add_argument("--pipe-n", type=int, default=None, help="messages through mail pipe")
    parser.add_argument(
        "--pipe-client-n",
        type=int,
        default=None,
        help="messages through bin/loopdesk-pipe (0: skip that phase)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("BENCH_PORT", 5104)),
        help="port of the gunicorn desk the pipe client talks to",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL URL of a user that may create databases",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="mails per receive_many call (default: the intake's BATCH_SIZE)",
    )
    args = parser.parse_args()
    if args.batch is None:
        from app.mail.intake import BATCH_SIZE

        args.batch = BATCH_SIZE
    n = args.n or (300 if args.quick else 4000)
    pipe_n = args.pipe_n if args.pipe_n is not None else (2 if args.quick else 20)
    if args.pipe_client_n is None:
        args.pipe_client_n = 40 if args.quick else 200
    result: dict = {"n": n, "batch": args.batch}
    # The 25 MB message runs on PostgreSQL when a URL is given (the target backend).
    big_backend = "postgresql" if args.database_url else "sqlite"
    sqlite = bench_backend("sqlite", args, n, pipe_n, big=big_backend == "sqlite")
    result.update(
        sqlite_msgs_per_s=round(sqlite["two"], 1),
        sqlite_msgs_per_s_one_process=round(sqlite["one"], 1),
        sqlite_msgs_per_s_one_mail_per_call=round(sqlite["single"], 1),
        sqlite_msgs_per_s_pipe=round(sqlite["pipe"], 2) if "pipe" in sqlite else None,
        sqlite_msgs_per_s_pipe_client=_rounded(sqlite.get("pipe_client")),
    )
    big = sqlite.get("big")
    if args.database_url:
        DIAGNOSTICS.clear()  # the headline backend's
        pg = bench_backend("postgresql", args, n, pipe_n, big=True)
        big = pg["big"]
        result.update(
            msgs_per_s=round(pg["two"], 1),
            msgs_per_s_one_process=round(pg["one"], 1),
            msgs_per_s_one_mail_per_call=round(pg["single"], 1),
            msgs_per_s_pipe=round(pg["pipe"], 2) if "pipe" in pg else None,
            msgs_per_s_pipe_client=_rounded(pg.get("pipe_client")),
            backend="postgresql",
        )
    else:
        result.update(
            msgs_per_s=result["sqlite_msgs_per_s"],
            msgs_per_s_one_process=result["sqlite_msgs_per_s_one_process"],
            msgs_per_s_one_mail_per_call=result["sqlite_msgs_per_s_one_mail_per_call"],
            msgs_per_s_pipe=result["sqlite_msgs_per_s_pipe"],
            msgs_per_s_pipe_client=result["sqlite_msgs_per_s_pipe_client"],
            backend="sqlite",
        )
    # The whole peak RSS growth while one 25 MB message is ingested (the message included,
    # so it is never negative); the target is at most the message size + 40 MB.
    result["peak_rss_mb_25mb_message"] = round(big[0], 1)
    result["rss_mb_above_message_size"] = round(big[1], 1)
    result["big_message_backend"] = big_backend
    # Of the headline backend's one-process run: cases whose first message is automatic mail.
    headline = pg if args.database_url else sqlite
    result["junk_cases"] = headline["junk_cases"]
    # Cases opened when the same corpus is imported a second time (all duplicates: 0).
    result["reimport_new_cases"] = headline["reimport_new_cases"]
    # CPU time and SQL statements per message of the headline backend's one-process runs.
    result.update(DIAGNOSTICS)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

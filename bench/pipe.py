"""Benchmark of the thin MTA pipe client: messages per second per pipe process.

Serves a desk with gunicorn (two workers, as on the 2-core machine) on ``--port`` and runs
``bin/loopdesk-pipe`` once per message, one after the other, exactly as an MTA's pipe
transport with one delivery agent does: a fresh Python process per mail, the mail on stdin,
the webhook storing and processing it. Then the same mails with the desk stopped, into the
spool, and ``flask mail drain-spool`` bringing them in.

* ``msgs_per_s_pipe_client``: mails per second through one pipe process at a time (target
  at least 20); where the time goes: ``ms_per_mail_client_alone``, a whole run of the client
  against a port nobody listens on (its start-up, the interpreter's included), and
  ``ms_per_mail_desk_answer``, the desk's answer to the client's request code called in the
  benchmark's own process (the webhook answers once the mail is stored; processing follows);
* ``msgs_per_s_pipe_spool``: the same with the desk down (the spool path);
* ``msgs_per_s_drain``: the drain of that spool.

SQLite (a temp file) by default; ``--database-url postgresql://…`` (a user that may create
databases) runs it on PostgreSQL. The last line is one JSON object with the figures.

    .venv/bin/python bench/pipe.py --quick
    .venv/bin/python bench/pipe.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import MAILBOX, SECRET, Database, generate, log, prepare  # noqa: E402

CLIENT = ROOT / "bin" / "loopdesk-pipe"
TOKEN = "bench-pipe-token"
# The client as the README's pipe line runs it: the system's interpreter (not the desk's
# virtualenv: it needs no package) without site-packages (-S).
INTERPRETER = [str(Path(sys.base_prefix) / "bin" / "python3"), "-S"]


def desk_env(url: str, store: Path, instance: Path, spool: Path) -> dict:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        FILE_STORE=str(store),
        LOOPDESK_INSTANCE=str(instance),
        MAIL_SPOOL_DIR=str(spool),
        AUTO_MAIL_LIMITS="10:1000",
    )
    env.pop("REDIS_URL", None)
    return env


def enable_webhook(url: str, store: Path) -> None:
    from bench.ingest import make_app

    app = make_app(url, store)
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.mailcore.models import Mailbox

        box = db.session.scalar(select(Mailbox).where(Mailbox.address == MAILBOX))
        box.webhook_secret = TOKEN
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def start_desk(env: dict, port: int, workers: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "run:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return proc
        except urllib.error.HTTPError:
            return proc  # it answers (a desk without /health answers 404)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not answer on port {port}")


def stop_desk(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_client(messages: list[bytes], args: list[str], label: str) -> float:
    """One pipe process per mail, one at a time; mails per second."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPDESK_")}
    command = [*INTERPRETER, str(CLIENT), *args]
    start = time.perf_counter()
    for raw in messages:
        proc = subprocess.run(command, input=raw, env=env, capture_output=True)
        if proc.returncode != 0:
            raise SystemExit(f"loopdesk-pipe exited {proc.returncode}: {proc.stderr.decode()}")
    elapsed = time.perf_counter() - start
    rate = len(messages) / elapsed
    log(
        f"  {label}: {len(messages)} processes in {elapsed:.2f} s = {rate:.1f} msgs/s "
        f"({1000 * elapsed / len(messages):.1f} ms per mail)"
    )
    return rate


def client_startup_ms(port: int, runs: int = 20) -> float:
    """The client's own cost: a whole run against a port nobody listens on (it reads the
    mail, is refused at once, has no spool, exits 75); the interpreter's start-up included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPDESK_")}
    command = [*INTERPRETER, str(CLIENT), "--mailbox", MAILBOX, "--url", f"http://127.0.0.1:{port}"]
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run(command, input=b"Subject: x\r\n\r\n", env=env, capture_output=True)
    ms = 1000 * (time.perf_counter() - start) / runs
    log(f"  client start-up and exit (interpreter included): {ms:.1f} ms")
    return ms


def desk_answer_ms(messages: list[bytes], port: int) -> float:
    """The desk's share: the client's own request code, called in this process (no process
    start-up), each mail once the previous one is processed; milliseconds until the answer."""
    loader = importlib.machinery.SourceFileLoader("loopdesk_pipe", str(CLIENT))
    client = types.ModuleType(loader.name)
    loader.exec_module(client)
    config = client.options(
        ["--url", f"http://127.0.0.1:{port}", "--mailbox", MAILBOX, "--token", TOKEN], {}
    )
    spent = 0.0
    for raw in messages:
        start = time.perf_counter()
        client.post(config, raw)
        spent += time.perf_counter() - start
        time.sleep(0.1)  # the processing after the answer is done before the next mail
    ms = 1000 * spent / len(messages)
    log(f"  the desk's answer (stored; processed after it), in-process client: {ms:.1f} ms")
    return ms


def raw_count(url: str, store: Path) -> dict:
    from bench.ingest import make_app

    app = make_app(url, store)
    with app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from app.mail.models import RawMessage

        counts = dict(
            db.session.execute(
                select(RawMessage.status, func.count(RawMessage.id)).group_by(RawMessage.status)
            ).all()
        )
        db.session.remove()
        db.engine.dispose()
    return counts


def run_pipe_client(
    url: str, store: Path, messages: list[bytes], instance: Path, port: int, workers: int = 2
) -> float:
    """The pipe phase of ``bench/ingest.py``: ``messages`` through the thin client against a
    gunicorn desk on ``port``, one process per mail; mails per second per pipe process."""
    enable_webhook(url, store)
    desk = start_desk(desk_env(url, store, instance, instance / "spool"), free_port(port), workers)
    try:
        webhook = ["--url", f"http://127.0.0.1:{port}", "--token", TOKEN, "--mailbox", MAILBOX]
        return run_client(messages, webhook, "loopdesk-pipe to gunicorn")
    finally:
        stop_desk(desk)


def free_port(port: int) -> int:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"port {port} is busy: --port another one") from None
    return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("-n", type=int, default=None, help="messages per phase")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 5104)))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL URL of a user that may create databases",
    )
    args = parser.parse_args()
    n = args.n or (60 if args.quick else 300)
    port = free_port(args.port)
    kind = "postgresql" if args.database_url else "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="ld-bench-pipe-"))
    result: dict = {"n": n, "backend": kind, "workers": args.workers}
    try:
        database = Database(kind, workdir, args.database_url)
        store, spool = workdir / "files", workdir / "spool"
        try:
            case_ids = prepare(database.url, store)
            enable_webhook(database.url, store)
            env = desk_env(database.url, store, workdir, spool)
            messages = generate(n, case_ids, seed=23)
            log(f"{kind}: {n} messages ({sum(map(len, messages)) / (1 << 20):.1f} MB)")
            result["ms_per_mail_client_alone"] = round(client_startup_ms(port), 1)

            desk = start_desk(env, port, args.workers)
            try:
                warm = generate(max(10, n // 5), case_ids, seed=31)
                result["ms_per_mail_desk_answer"] = round(desk_answer_ms(warm, port), 1)
                time.sleep(1)  # let the processing that follows those answers finish
                webhook = ["--url", f"http://127.0.0.1:{port}", "--token", TOKEN]
                result["msgs_per_s_pipe_client"] = round(
                    run_client(messages, [*webhook, "--mailbox", MAILBOX], "pipe to the desk"), 1
                )
            finally:
                stop_desk(desk)

            down = ["--url", f"http://127.0.0.1:{port}", "--spool", str(spool)]
            spooled = generate(n, case_ids, seed=29)
            result["msgs_per_s_pipe_spool"] = round(
                run_client(spooled, [*down, "--mailbox", MAILBOX], "pipe, desk down: spool"), 1
            )
            start = time.perf_counter()
            drained = subprocess.run(
                [sys.executable, "-m", "flask", "--app", "run", "mail", "drain-spool"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - start
            if drained.returncode != 0:
                raise SystemExit(f"drain-spool failed: {drained.stderr}")
            log(f"  {drained.stdout.strip()} in {elapsed:.2f} s (start-up included)")
            result["msgs_per_s_drain"] = round(n / elapsed, 1)
            counts = raw_count(database.url, store)
            log(f"  raw mail in the desk: {counts}")
            expected = 2 * n + len(warm)
            if sum(counts.values()) != expected or counts.get("stored"):
                raise SystemExit(f"expected {expected} processed raw mails, found {counts}")
        finally:
            database.drop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["msgs_per_s"] = result["msgs_per_s_pipe_client"]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""The thin MTA pipe client ``bin/loopdesk-pipe``: it runs as its own process (as the MTA runs
it), hands mail to a desk served over HTTP, spools it when the desk is down, and answers with
the exit status an MTA acts on (0 stored, 65 never storable, 75 retry later)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from app.mail import spool
from app.mail.models import RawMessage
from app.mailcore import identity
from tests.mail.helpers import make_mail

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "bin" / "loopdesk-pipe"
TOKEN = "pipe-token-123"


def _raw_count() -> int:
    db.session.rollback()  # see what the server's threads committed
    return db.session.scalar(select(func.count(RawMessage.id)))


def _processed_newest(timeout: float = 20.0) -> RawMessage:
    """The newest raw row once it is no longer ``stored`` (processing follows the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        row = db.session.scalar(select(RawMessage).order_by(RawMessage.id.desc()))
        if row.status != "stored" or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def _free_port() -> int:
    """A port nothing listens on (the 'desk is down' address)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hooked(desk):
    desk.mailbox_a.webhook_secret = TOKEN
    db.session.commit()
    return desk


@pytest.fixture
def served(app, hooked):
    """The test desk behind a real HTTP server (threads, like gunicorn's workers)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def pipe(raw: bytes, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the client the way an MTA does: a fresh process, the mail on stdin."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOPDESK_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, str(CLIENT), *args],
        input=raw,
        env=environ,
        capture_output=True,
        timeout=60,
    )


def test_the_client_imports_neither_flask_nor_the_desk_nor_slow_stdlib_modules():
    """Its start-up is the point: no Flask, no app, and none of the standard library's modules
    that cost tens of milliseconds per mail (urllib and http.client load the email package,
    argparse and json the regular-expression engine, socket its enums)."""
    result = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", str(CLIENT)]
        + ["--mailbox", "a@desk.test", "--url", f"http://127.0.0.1:{_free_port()}"],
        input=make_mail().decode(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 75  # it ran: the desk is down and there is no spool
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "_socket" in imported
    slow = {"flask", "app", "sqlalchemy", "email", "http", "urllib", "argparse", "json", "re"}
    assert not imported & (slow | {"socket", "enum"})


def test_desk_reachable_stores_the_mail_and_exits_zero(served, hooked, tmp_path):
    plus = identity.plus_address("a@desk.test", hooked.case_a.id)
    before = _raw_count()
    result = pipe(
        make_mail(sender="helper@x.test", subject="via the thin pipe"),
        "--mailbox",
        "a@desk.test",
        "--recipient",
        plus,
        LOOPDESK_URL=served,
        LOOPDESK_TOKEN=TOKEN,
        LOOPDESK_SPOOL_DIR=str(tmp_path / "spool"),
    )
    assert result.returncode == 0, result.stderr
    assert b'"status":"stored"' in result.stdout  # the answer came once the mail was safe
    assert _raw_count() == before + 1
    row = _processed_newest()  # and the desk processed it right after answering
    assert row.source == "webhook" and row.status == "processed"
    assert row.recipient == plus and row.case_id == hooked.case_a.id  # the envelope went along
    assert spool.pending(tmp_path / "spool") == []  # nothing spooled when the desk answered


def test_desk_down_spools_durably_then_the_drain_stores_it(hooked, app, runner, tmp_path):
    spool_dir = tmp_path / "spool"
    raw = make_mail(subject="while the desk was down")
    before = _raw_count()
    result = pipe(
        raw,
        "--url",
        f"http://127.0.0.1:{_free_port()}",
        "--mailbox",
        "a@desk.test",
        "--token",
        TOKEN,
        "--spool",
        str(spool_dir),
    )
    assert result.returncode == 0, result.stderr
    (spooled,) = spool.pending(spool_dir)
    assert list((spool_dir / "tmp").iterdir()) == []  # written in tmp/, renamed into new/
    assert spooled.read_bytes().endswith(raw)
    assert _raw_count() == before

    app.config["MAIL_SPOOL_DIR"] = str(spool_dir)
    drained = runner.invoke(args=["mail", "drain-spool"])
    assert drained.exit_code == 0, drained.output
    assert "1 processed" in drained.output
    assert not spooled.exists()
    row = db.session.scalar(select(RawMessage).order_by(RawMessage.id.desc()))
    assert row.content == raw  # the bytes as the MTA gave them, without the envelope line
    assert row.mailbox_id == hooked.mailbox_a.id and row.case.subject == "while the desk was down"


def test_a_desk_answering_503_counts_as_down(hooked, app, tmp_path, monkeypatch):
    """The desk is up but cannot store (its database is away): the client spools."""
    from app.mail import intake

    def cannot_store(*args, **kwargs):
        raise OSError("database unreachable")

    monkeypatch.setattr(intake, "receive", cannot_store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = pipe(
            make_mail(),
            "--mailbox",
            "a@desk.test",
            LOOPDESK_URL=f"http://127.0.0.1:{server.server_port}",
            LOOPDESK_TOKEN=TOKEN,
            LOOPDESK_SPOOL_DIR=str(tmp_path / "spool"),
        )
    finally:
        server.shutdown()
        thread.join(5)
    assert result.returncode == 0, result.stderr
    assert b"503" in result.stdout
    assert len(spool.pending(tmp_path / "spool")) == 1


def test_the_drain_keeps_the_file_when_the_mail_cannot_be_stored(
    hooked, app, tmp_path, monkeypatch
):
    from app.mail import intake

    spool_dir = tmp_path / "spool"
    pipe(make_mail(), "--mailbox", "a@desk.test", "--spool", str(spool_dir))
    (spooled,) = spool.pending(spool_dir)

    def cannot_store(*args, **kwargs):
        raise OSError("database unreachable")

    monkeypatch.setattr(intake, "receive", cannot_store)
    result = spool.drain(spool_dir)
    assert result.left == 1 and "database unreachable" in result.error
    assert spooled.exists()
    monkeypatch.undo()
    assert spool.drain(spool_dir).statuses == {"processed": 1}
    assert not spooled.exists()


def test_the_periodic_job_drains_the_spool(hooked, app, tmp_path):
    from app.mail.tasks import periodic_jobs

    spool_dir = tmp_path / "spool"
    pipe(make_mail(subject="scheduled"), "--mailbox", "a@desk.test", "--spool", str(spool_dir))
    app.config["MAIL_SPOOL_DIR"] = str(spool_dir)
    (job,) = [j for j in periodic_jobs() if j.func is spool.drain_spool_job]
    assert job.func() == {
        "statuses": {"processed": 1},
        "rejected": 0,
        "left": 0,
        "error": None,
    }
    assert spool.pending(spool_dir) == []


def test_over_size_is_65_whether_the_client_or_the_desk_finds_it(served, app, tmp_path):
    spool_dir = tmp_path / "spool"
    big = make_mail(body="y" * 5000)
    common = ("--url", served, "--mailbox", "a@desk.test", "--token", TOKEN)
    mine = pipe(big, *common, "--max-bytes", "2000", "--spool", str(spool_dir))
    assert mine.returncode == 65, mine.stderr
    assert b"larger than 2000" in mine.stderr

    app.config["INBOUND_MAX_BYTES"] = 1024  # the desk's own limit: it answers 413
    before = _raw_count()
    desks = pipe(big, *common, "--spool", str(spool_dir))
    assert desks.returncode == 65, desks.stderr
    assert b"too large" in desks.stderr
    assert _raw_count() == before
    assert spool.pending(spool_dir) == []  # never spooled: it can never fit


def test_desk_down_and_spool_unwritable_is_75(tmp_path):
    blocked = tmp_path / "spool"
    blocked.write_text("a file where the spool folder should be")  # unwritable even for root
    result = pipe(
        make_mail(),
        "--url",
        f"http://127.0.0.1:{_free_port()}",
        "--mailbox",
        "a@desk.test",
        "--spool",
        str(blocked / "inner"),
    )
    assert result.returncode == 75
    assert b"cannot write to the spool" in result.stderr


def test_desk_down_without_a_spool_is_75(tmp_path):
    result = pipe(
        make_mail(), "--url", f"http://127.0.0.1:{_free_port()}", "--mailbox", "a@desk.test"
    )
    assert result.returncode == 75
    assert b"should retry" in result.stderr


def test_a_refused_token_is_75_not_a_spooled_mail(served, tmp_path):
    result = pipe(
        make_mail(),
        "--url",
        served,
        "--mailbox",
        "a@desk.test",
        "--token",
        "wrong",
        "--spool",
        str(tmp_path / "spool"),
    )
    assert result.returncode == 75
    assert b"403" in result.stderr
    assert spool.pending(tmp_path / "spool") == []


def test_a_bad_command_line_keeps_the_mail_queued():
    result = pipe(make_mail(), "--max-bytes", "lots")
    assert result.returncode == 75


def test_webhook_process_later_answers_once_stored_then_processes(hooked, client):
    """What the client asks for: 202 with ``stored`` as soon as the mail is safe; the case is
    opened after the answer has gone out."""
    response = client.post(
        "/inbound/a@desk.test?process=later",
        data=make_mail(subject="answered before processing"),
        headers={"X-Loopdesk-Token": TOKEN},
    )
    assert response.status_code == 202
    assert response.json["status"] == "stored" and response.json["case_id"] is None
    response.close()  # the server is done sending: now the desk processes it
    row = db.session.get(RawMessage, response.json["raw_id"])
    db.session.refresh(row)
    assert row.status == "processed" and row.case.subject == "answered before processing"

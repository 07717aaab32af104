"""Mail through a real MTA: Postfix delivers to ``flask --app run mail pipe`` or to the thin
client ``bin/loopdesk-pipe``, retries what the desk could not store (exit 75) and bounces what
it can never store (65)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.mail.models import RawMessage
from app.mailcore import identity
from tests.mail.helpers import separate_desk
from tests.servers.postfix import start_postfix, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "support@desk.test"


@pytest.fixture
def mta(databases, tmp_path):
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    app, url, pipe_env = separate_desk(databases, tmp_path, ADDRESS)

    def deliver(recipient: str, sender: str, raw: bytes) -> int:
        """What the MTA's pipe transport runs, with the envelope on the command line."""
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "run", "mail", "pipe"]
            + ["--mailbox", recipient, "--recipient", recipient],
            cwd=ROOT,
            env=pipe_env,
            input=raw,
            capture_output=True,
            timeout=120,
        ).returncode

    server = start_postfix(deliver)
    try:
        with app.app_context():
            yield server, pipe_env
            db.session.remove()
            db.engine.dispose()
    finally:
        server.stop()
        databases.drop(url)


def _rows():
    db.session.rollback()  # see what the pipe processes committed
    return db.session.scalars(select(RawMessage).order_by(RawMessage.id)).all()


def _settled(count: int):
    """A wait condition: ``count`` raw rows, each processed (not just stored)."""
    return lambda: [r.status for r in _rows()] == ["processed"] * count


def test_postfix_delivers_through_the_pipe_and_retries_when_the_desk_is_down(mta):
    server, pipe_env = mta

    # 1. A new enquiry becomes a case; the pipe got the envelope and the Return-Path line.
    server.send(
        "carol@customer.test",
        [ADDRESS],
        b"From: Carol <carol@customer.test>\r\nTo: support@desk.test\r\n"
        b"Subject: Kettle broken\r\nMessage-ID: <k1@customer.test>\r\n\r\nIt leaks.\r\n",
    )
    server.wait_for(_settled(1), "the first mail in the desk")
    first = _rows()[0]
    assert first.source == "pipe" and first.status == "processed"
    assert first.recipient == ADDRESS
    assert first.content.startswith(b"Return-Path: <carol@customer.test>")
    assert first.case.subject == "Kettle broken"

    # 2. A reply to the plus-address of that case (Postfix keeps +token in the recipient)
    #    joins it, from a sender the desk never saw and without any threading header.
    plus = identity.plus_address(ADDRESS, first.case_id)
    server.send(
        "dave@elsewhere.test",
        [plus],
        b"From: dave@elsewhere.test\r\nTo: support@desk.test\r\nSubject: for Carol\r\n\r\n"
        b"Her neighbour here.\r\n",
    )
    server.wait_for(_settled(2), "the plus-address reply in the desk")
    reply = _rows()[1]
    assert reply.recipient == plus and reply.case_id == first.case_id
    assert reply.outcome == "threaded"

    # 3. The desk cannot store (its database is unreachable): the pipe answers 75 and
    #    Postfix keeps the mail in its queue instead of bouncing it.
    working_url = pipe_env["DATABASE_URL"]
    pipe_env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    server.send(
        "erin@customer.test",
        [ADDRESS],
        b"From: erin@customer.test\r\nTo: support@desk.test\r\nSubject: Still there?\r\n\r\n"
        b"Hello?\r\n",
    )
    server.wait_for(lambda: (ADDRESS, 75) in server.deliveries, "a deferred delivery")
    server.wait_for(lambda: "status=deferred" in server.log(), "postfix to log the deferral")
    assert "erin@customer.test" in server.queue()
    assert len(_rows()) == 2

    # 4. The desk is back: the queued mail arrives when Postfix retries, exactly once.
    pipe_env["DATABASE_URL"] = working_url
    server.flush()
    server.wait_for(_settled(3), "the retried mail in the desk")
    server.wait_for(lambda: "Mail queue is empty" in server.queue(), "an empty queue")
    retried = _rows()[2]
    assert retried.status == "processed" and retried.case.subject == "Still there?"
    assert db.session.scalar(select(func.count(RawMessage.id))) == 3
    assert "status=bounced" not in server.log()


# --- the thin client ----------------------------------------------------------------------------

CLIENT = ROOT / "bin" / "loopdesk-pipe"
TOKEN = "postfix-pipe-token"


@pytest.fixture
def thin_mta(databases, tmp_path):
    """Postfix whose pipe transport runs ``bin/loopdesk-pipe`` against the desk served over
    HTTP; ``desk.up()``/``desk.down()`` start and stop the desk's web server."""
    import threading

    from werkzeug.serving import make_server

    from app.mailcore.models import Mailbox

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    app, url, _pipe_env = separate_desk(databases, tmp_path, ADDRESS)
    with app.app_context():
        db.session.scalar(select(Mailbox)).webhook_secret = TOKEN
        db.session.commit()

    class Desk:
        server = None
        port = None
        spool = tmp_path / "spool"
        max_bytes = 50 << 20

        def up(self):
            self.server = make_server("127.0.0.1", self.port or 0, app, threaded=True)
            self.port = self.server.server_port
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

        def down(self):
            self.server.shutdown()
            self.server.server_close()

    desk = Desk()
    desk.up()

    def deliver(recipient: str, sender: str, raw: bytes) -> int:
        """The pipe line of the README: ``--mailbox ${user}@${domain} --recipient ${recipient}``."""
        local, _, domain = recipient.partition("@")
        return subprocess.run(
            [sys.executable, "-S", str(CLIENT), "--url", f"http://127.0.0.1:{desk.port}"]
            + ["--token", TOKEN, "--spool", str(desk.spool), "--max-bytes", str(desk.max_bytes)]
            + ["--mailbox", f"{local.split('+', 1)[0]}@{domain}", "--recipient", recipient],
            input=raw,
            capture_output=True,
            timeout=120,
        ).returncode

    server = start_postfix(deliver)
    try:
        with app.app_context():
            yield server, desk, app
            db.session.remove()
            db.engine.dispose()
    finally:
        server.stop()
        desk.down()
        databases.drop(url)


def test_postfix_through_the_thin_client_spools_bounces_and_retries(thin_mta):
    from app.mail import spool

    server, desk, app = thin_mta

    # 1. The desk answers: the mail is stored (and processed right after the answer).
    server.send(
        "carol@customer.test",
        [ADDRESS],
        b"From: carol@customer.test\r\nTo: support@desk.test\r\nSubject: Kettle broken\r\n"
        b"Message-ID: <t1@customer.test>\r\n\r\nIt leaks.\r\n",
    )
    server.wait_for(_settled(1), "the first mail in the desk")
    assert _rows()[0].source == "webhook" and _rows()[0].case.subject == "Kettle broken"

    # 2. The desk is down: the client spools, Postfix counts the mail as delivered.
    desk.down()
    server.send(
        "dave@customer.test",
        [ADDRESS],
        b"From: dave@customer.test\r\nTo: support@desk.test\r\nSubject: While down\r\n\r\nHi\r\n",
    )
    server.wait_for(lambda: (ADDRESS, 0) in server.deliveries[1:], "the spooled delivery")
    assert len(spool.pending(desk.spool)) == 1 and len(_rows()) == 1
    app.config["MAIL_SPOOL_DIR"] = str(desk.spool)
    assert spool.drain().statuses == {"processed": 1}
    assert _rows()[1].case.subject == "While down" and spool.pending(desk.spool) == []

    # 3. Too large for the pipe: 65, Postfix bounces it at once instead of retrying for days.
    desk.max_bytes = 2000
    server.send(
        "erin@customer.test",
        [ADDRESS],
        b"From: erin@customer.test\r\nTo: support@desk.test\r\nSubject: Huge\r\n\r\n"
        + b"x" * 5000
        + b"\r\n",
    )
    server.wait_for(lambda: (ADDRESS, 65) in server.deliveries, "the refused delivery")
    server.wait_for(lambda: "status=bounced" in server.log(), "postfix to bounce it")
    desk.max_bytes = 50 << 20

    # 4. Desk down and the spool unwritable: 75, Postfix keeps the mail and retries later.
    blocked = desk.spool.parent / "blocked"
    blocked.write_text("a file where the spool's folder should be")
    desk.spool = blocked / "spool"
    server.send(
        "fred@customer.test",
        [ADDRESS],
        b"From: fred@customer.test\r\nTo: support@desk.test\r\nSubject: Retried\r\n\r\nHi\r\n",
    )
    server.wait_for(lambda: (ADDRESS, 75) in server.deliveries, "a deferred delivery")
    server.wait_for(lambda: "status=deferred" in server.log(), "postfix to defer it")
    assert "fred@customer.test" in server.queue()

    desk.up()  # back on the same port: the retry reaches it
    server.flush()
    server.wait_for(_settled(3), "the retried mail in the desk")
    assert _rows()[2].case.subject == "Retried"
    assert db.session.scalar(select(func.count(RawMessage.id))) == 3

"""Mail through a real MTA: Postfix delivers to ``flask --app run mail pipe`` and retries what
the desk could not store (exit 75)."""

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

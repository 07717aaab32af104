"""Two help desks whose auto-responses reach each other: the loop stops at the limit."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app.cases.models import Case
from app.extensions import db
from app.mail.intake import receive
from app.mail.models import RawMessage
from app.mailcore.models import Mailbox
from app.organisation.models import Pool
from app.outbox.models import OutboxMail

LIMIT = 3
_ids = itertools.count(1)


@pytest.fixture
def second_desk(databases, tmp_path):
    from app import create_app
    from tests.support.databases import base_config

    url = databases.new()
    config = base_config(url, tmp_path / "desk-b")
    config.update(
        CASE_NUMBER_PREFIX="LB", SECRET_KEY="another-desk-secret", AUTO_MAIL_LIMITS=((60, LIMIT),)
    )
    other = create_app(config)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


def _setup(address: str) -> None:
    pool = Pool(name="Support", auto_response_enabled=True)
    db.session.add_all([pool, Mailbox(address=address, pool=pool)])
    db.session.commit()


def _outgoing(app, seen: set[int], *, keep_headers: bool):
    """The other side's view of new automatic mail: as a careless desk would send it (no
    threading headers, no Auto-Submitted, its own subject without our case tag) unless
    ``keep_headers``; then as Loopdesk's outbox sends it."""
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxMail).where(
                OutboxMail.kind == "auto_response",
                OutboxMail.status != "suppressed",
                OutboxMail.id.notin_(seen) if seen else True,
            )
        ).all()
        out = []
        for row in rows:
            seen.add(row.id)
            n = next(_ids)
            subject = row.subject if keep_headers else f"Ticket received ({n})"
            headers = [
                f"From: {row.sender}",
                f"To: {row.recipient}",
                f"Subject: {subject}",
                f"Message-ID: <careless.{n}@relay.test>",
            ]
            if keep_headers:
                headers += ["Auto-Submitted: auto-replied", f"In-Reply-To: {row.message_id}"]
            out.append(("\r\n".join(headers) + "\r\n\r\nWe got your mail.\r\n").encode())
        return out


def _deliver(app, address: str, mails) -> None:
    with app.app_context():
        box = db.session.scalar(select(Mailbox).where(Mailbox.address == address))
        for raw in mails:
            result = receive(raw, mailbox=box, source="test")
            # An auto-response that reaches a desk where it threads to no case opens none.
            assert result.status in ("processed", "automatic"), result


def _run(desk_a, desk_b, *, keep_headers: bool) -> int:
    with desk_a.app_context():
        _setup("support@a.test")
    with desk_b.app_context():
        _setup("help@b.test")
    first = (
        b"From: help@b.test\r\nTo: support@a.test\r\nSubject: Hello\r\n"
        b"Message-ID: <start@b.test>\r\n\r\nHello desk A\r\n"
    )
    _deliver(desk_a, "support@a.test", [first])
    seen_a, seen_b = set(), set()
    for rounds in range(1, 60):
        to_b = _outgoing(desk_a, seen_a, keep_headers=keep_headers)
        _deliver(desk_b, "help@b.test", to_b)
        to_a = _outgoing(desk_b, seen_b, keep_headers=keep_headers)
        _deliver(desk_a, "support@a.test", to_a)
        if not to_a and not to_b:
            return rounds
    pytest.fail("the two desks never stopped mailing each other")


def _sent_and_suppressed(app):
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxMail).where(OutboxMail.kind == "auto_response")
        ).all()
        return (
            [r for r in rows if r.status != "suppressed"],
            [r for r in rows if r.status == "suppressed"],
        )


def test_careless_desks_stop_at_the_sliding_window_limit(app, second_desk):
    app.config["AUTO_MAIL_LIMITS"] = ((60, LIMIT),)
    _run(app, second_desk, keep_headers=False)
    sent_a, suppressed_a = _sent_and_suppressed(app)
    sent_b, suppressed_b = _sent_and_suppressed(second_desk)
    assert len(sent_a) == len(sent_b) == LIMIT
    # Desk A answered first, so it is the one that hits the limit and stops the exchange.
    assert len(suppressed_a) == 1 and "loop protection" in suppressed_a[0].last_error
    assert suppressed_b == []


def test_auto_submitted_header_stops_the_loop_at_once(app, second_desk):
    app.config["AUTO_MAIL_LIMITS"] = ((60, LIMIT),)
    rounds = _run(app, second_desk, keep_headers=True)
    assert rounds <= 2
    assert len(_sent_and_suppressed(app)[0]) == 1  # desk A acknowledged the first mail
    assert _sent_and_suppressed(second_desk)[0] == []  # desk B never answered a robot
    with second_desk.app_context():  # nor opened a case for it
        assert db.session.scalars(select(Case)).all() == []
        assert [r.status for r in db.session.scalars(select(RawMessage))] == ["automatic"]

"""Mailboxes that fetch from the test Dovecot, and the messages the channel tests deliver."""

from __future__ import annotations


def make_mailbox(desk, server, user, protocol: str = "imap", **settings):
    """A mailbox of pool A that fetches ``user``'s mail from the test server."""
    from app.extensions import db
    from app.mailcore.models import Mailbox

    port = server.imap_port if protocol == "imap" else server.pop3_port
    mailbox = Mailbox(
        address=f"{protocol}-{user.address}",
        pool=desk.pool_a,
        inbound_protocol=protocol,
        inbound_host="127.0.0.1",
        inbound_port=port,
        inbound_security="none",
        inbound_username=user.address,
        inbound_secret=user.password,
        **settings,
    )
    db.session.add(mailbox)
    db.session.commit()
    return mailbox


def message(n: int, *, subject: str | None = None, body: str | None = None) -> bytes:
    """A small RFC 5322 message with CRLF line ends, unique by ``n``."""
    subject = subject or f"Question number {n}"
    body = body or f"Hello,\r\nthis is enquiry {n}.\r\n.A line starting with a dot\r\n"
    return (
        f"From: Customer {n} <customer{n}@customer.test>\r\n"
        f"To: support@desk.test\r\n"
        f"Subject: {subject}\r\n"
        f"Date: Sun, 22 Nov 2026 10:{n % 60:02d}:00 +0000\r\n"
        f"Message-ID: <enquiry-{n}@customer.test>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}"
    ).encode()


def raw_rows(mailbox):
    from sqlalchemy import select

    from app.extensions import db
    from app.mail.models import RawMessage

    return list(
        db.session.scalars(
            select(RawMessage).where(RawMessage.mailbox_id == mailbox.id).order_by(RawMessage.id)
        )
    )

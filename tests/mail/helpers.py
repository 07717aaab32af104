"""Building test mail: small RFC 5322 messages with just the headers a test cares about."""

from __future__ import annotations

import itertools

_counter = itertools.count(1)


def make_mail(
    *,
    sender="carol@customer.test",
    to="a@desk.test",
    subject="Hello",
    body="Please help.",
    message_id: str | None = "auto",
    headers=None,
    in_reply_to=None,
    references=None,
) -> bytes:
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Sun, 22 Nov 2026 10:00:00 +0000",
    ]
    if message_id == "auto":
        message_id = f"<m{next(_counter)}.{id(lines)}@customer.test>"
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    if references:
        lines.append(f"References: {references}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode("utf-8")


def admin_of():
    """The desk's admin user (the ``desk`` fixture creates one named ``admin``)."""
    from flask import current_app

    return current_app.appbuilder.sm.find_user(username="admin")


def separate_desk(databases, tmp_path, address: str = "support@desk.test"):
    """A desk in a database of its own with one pool and one mailbox, for tests that run
    ``flask --app run …`` in other processes: returns (app, url, env), where ``env`` is the
    environment those processes need (the embedded queue, no Redis)."""
    import os

    from app import create_app
    from app.extensions import db
    from app.mailcore.models import Mailbox
    from app.organisation.models import Pool
    from tests.support.databases import base_config

    url = databases.new()
    config = base_config(url, tmp_path)
    app = create_app(config)
    with app.app_context():
        pool = Pool(name="Support")
        db.session.add_all([pool, Mailbox(address=address, pool=pool)])
        db.session.commit()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=config["SECRET_KEY"],
        FILE_STORE=config["FILE_STORE"],
        LOOPDESK_INSTANCE=str(tmp_path),
    )
    env.pop("REDIS_URL", None)
    return app, url, env


# Hard header starts for the fuzz tests: broken boundaries, bad encoded words, an unusable
# charset, NUL bytes, references that point at themselves or at a case tag, a bare rfc822.
HOSTILE_HEADS = [
    b"Content-Type: multipart/mixed; boundary=x",
    b"Subject: =?utf-8?b?////?=\r\nFrom: <<@>>",
    b'Content-Type: text/plain; charset="\xff"',
    b"Message-ID: <\x00>\r\nReferences: <<<",
    b"Message-ID: <same@x>\r\nIn-Reply-To: <same@x>",
    b"From: a@b.test\r\nSubject: [LD-000001]",
    b"Content-Type: message/rfc822",
]


def garbage_mail(max_size: int = 3000):
    """A hypothesis strategy: random bytes, or a hostile header block over random bytes."""
    from hypothesis import strategies as st

    return st.one_of(
        st.binary(max_size=max_size),
        st.builds(
            lambda head, body: head + b"\r\n\r\n" + body,
            st.sampled_from(HOSTILE_HEADS),
            st.binary(max_size=max_size * 2 // 3),
        ),
    )

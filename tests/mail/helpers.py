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

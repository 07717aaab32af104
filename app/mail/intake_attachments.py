"""Attachments of incoming mail: files into the content-addressed store, rows into
``attachment``; a ``winmail.dat`` (TNEF) is expanded beside itself and kept."""

from __future__ import annotations

import logging

from tnefparse import TNEF

from app.cases.models import Message
from app.extensions import db
from app.mail import store
from app.mail.models import Attachment

log = logging.getLogger(__name__)


def store_attachments(message: Message, attachments) -> None:
    """Files into the store, rows into ``attachment``; winmail.dat expanded beside itself."""
    rows = []
    for att in attachments:
        sha = att.sha256 or store.put_file(att.data or b"")
        row = Attachment(
            message=message,
            sha256=sha,
            size=att.size,
            content_type=(att.content_type or "application/octet-stream")[:255],
            filename=att.filename,
            content_id=(att.content_id or None) and att.content_id[:512],
            inline=bool(att.inline),
        )
        rows.append(row)
        is_tnef = att.content_type == "application/ms-tnef" or (
            (att.filename or "").lower() == "winmail.dat"
        )
        if is_tnef:
            rows.extend(_expand_tnef(message, att, sha))
    db.session.add_all(rows)


def _expand_tnef(message: Message, att, sha: str) -> list[Attachment]:
    try:
        data = att.data if att.data is not None else store.read_blob(sha)
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:  # keep winmail.dat itself; say why it was not expanded
        log.info("winmail.dat not expanded: %s", exc)
        return []
    out = []
    for inner in tnef.attachments:
        try:
            name = inner.long_filename() or inner.name
        except Exception:
            name = None
        content = inner.data or b""
        out.append(
            Attachment(
                message=message,
                sha256=store.put_file(content),
                size=len(content),
                content_type="application/octet-stream",
                filename=(name or "attachment")[:500],
                inline=False,
            )
        )
    return out

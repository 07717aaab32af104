"""POP3 fetching with poplib and UIDL bookkeeping.

POP3 has no flags, so the desk remembers every UIDL it stored (``pop3_seen_uidl``); a round
downloads only the others. Mail stays on the server unless the mailbox's after-fetch action is
``delete``: then DELE is sent only after the message was stored, and takes effect at QUIT.
"""

from __future__ import annotations

import base64
import poplib

from sqlalchemy import select

from app.extensions import db
from app.mail.channels.common import (
    ChannelError,
    FetchReport,
    login_secret,
    max_size,
    process_batch,
    quarantine_oversize,
    server_address,
    store_batch,
    timeout,
    tls_context,
    xoauth2_string,
)
from app.mail.channels.models import Pop3SeenUidl

SOURCE = "pop3"
# Downloaded mail is stored (one commit) once a batch has this many messages or bytes.
BATCH_MESSAGES = 50
BATCH_BYTES = 8 * 1024 * 1024


def connect(mailbox) -> poplib.POP3:
    host, port, security = server_address(mailbox, ssl_port=995, plain_port=110)
    try:
        if security == "ssl":
            return poplib.POP3_SSL(host, port, timeout=timeout(), context=tls_context())
        conn = poplib.POP3(host, port, timeout=timeout())
        if security == "starttls":
            conn.stls(context=tls_context())
        return conn
    except Exception as exc:
        raise ChannelError(
            f"cannot connect to POP3 server {host}:{port} ({security}): {_reason(exc)}"
        ) from exc


def _reason(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    text = str(text).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def login(conn: poplib.POP3, mailbox) -> None:
    username = mailbox.inbound_username or mailbox.address
    secret = login_secret(mailbox)
    try:
        if (mailbox.inbound_auth or "password") == "xoauth2":
            token = base64.b64encode(xoauth2_string(username, secret).encode()).decode()
            answer = conn._shortcmd(f"AUTH XOAUTH2 {token}")
            if not answer.startswith(b"+OK"):
                # A refused token comes back as a SASL challenge ("+ <base64 details>"),
                # which poplib takes for success; answer it empty to get the final -ERR.
                conn._shortcmd("")
                raise ChannelError(f"POP3 login as {username} failed: XOAUTH2 refused")
        else:
            conn.user(username)
            conn.pass_(secret)
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"POP3 login as {username} failed: {_reason(exc)}") from exc


def _listing(lines) -> dict[int, str]:
    result = {}
    for line in lines:
        parts = line.decode(errors="replace").split()
        if len(parts) >= 2 and parts[0].isdigit():
            result[int(parts[0])] = parts[1]
    return result


def seen_uidls(mailbox) -> set[str]:
    return set(
        db.session.scalars(select(Pop3SeenUidl.uidl).where(Pop3SeenUidl.mailbox_id == mailbox.id))
    )


def fetch(mailbox, report: FetchReport | None = None) -> FetchReport:
    """One POP3 round for ``mailbox``; raises ChannelError with a readable reason."""
    report = report or FetchReport()
    policy = (mailbox.inbound_after_fetch or "keep").strip().lower()
    delete = policy == "delete"  # flag and move have no meaning in POP3: keep
    conn = connect(mailbox)
    finished = False
    try:
        login(conn, mailbox)
        try:
            uidls = _listing(conn.uidl()[1])
        except poplib.error_proto as exc:
            raise ChannelError(f"POP3 server does not support UIDL: {_reason(exc)}") from exc
        sizes = {n: int(s) for n, s in _listing(conn.list()[1]).items() if s.isdigit()}
        seen = seen_uidls(mailbox)
        limit = max_size(mailbox)
        batch: list[tuple[int, str, bytes]] = []  # (number, uidl, bytes) downloaded, not stored
        for number in sorted(uidls):
            uidl = uidls[number]
            if uidl in seen:
                if delete:  # stored earlier, but that round did not reach QUIT
                    conn.dele(number)
                    report.server_actions += 1
                continue
            size = sizes.get(number, 0)
            if size > limit:
                headers = b"\r\n".join(conn.top(number, 0)[1]) + b"\r\n"
                raw_id = quarantine_oversize(
                    headers,
                    size,
                    mailbox=mailbox,
                    source=SOURCE,
                    source_ref=f"UIDL:{uidl}",
                    report=report,
                )
                # The body exists only on the server: never delete it.
                db.session.add(
                    Pop3SeenUidl(mailbox_id=mailbox.id, uidl=uidl, raw_message_id=raw_id)
                )
                seen.add(uidl)
                continue
            batch.append((number, uidl, b"\r\n".join(conn.retr(number)[1]) + b"\r\n"))
            seen.add(uidl)
            if len(batch) >= BATCH_MESSAGES or sum(len(m[2]) for m in batch) >= BATCH_BYTES:
                _store(conn, mailbox, batch, delete, report)
                batch = []
        _store(conn, mailbox, batch, delete, report)
        db.session.commit()
        conn.quit()  # DELEs take effect only here, after the UIDLs are committed
        finished = True
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"POP3 fetch failed: {_reason(exc)}") from exc
    finally:
        if not finished:
            try:
                conn.close()  # without QUIT the server forgets pending DELEs
            except Exception:
                pass
    return report


def _store(conn, mailbox, batch, delete: bool, report: FetchReport) -> None:
    """Store downloaded mail (one commit), remember the UIDLs, DELE, then process it."""
    if not batch:
        return
    raw_ids, to_process = store_batch(
        [(raw, f"UIDL:{uidl}") for _, uidl, raw in batch],
        mailbox=mailbox,
        source=SOURCE,
        report=report,
    )
    for (number, uidl, _), raw_id in zip(batch, raw_ids, strict=True):
        db.session.add(Pop3SeenUidl(mailbox_id=mailbox.id, uidl=uidl, raw_message_id=raw_id))
        if delete:
            conn.dele(number)  # takes effect at QUIT, after the UIDLs are committed
            report.server_actions += 1
    # A crash before this commit only means the next round finds the bytes stored already
    # and records the UIDLs then.
    db.session.commit()
    process_batch(to_process)

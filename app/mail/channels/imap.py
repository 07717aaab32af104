"""IMAP fetching with imap-tools: read new mail without \\Seen, store it, then flag or move it.

One round on one mailbox:

1. connect (TLS with a verifying context, STARTTLS, or plain text to loopback only) and log in
   with a password or XOAUTH2 (``Mailbox.inbound_auth``; the secret is then the access token);
2. SELECT the folder and compare its UIDVALIDITY with the stored state; another value resets
   the state to UID 0 and the folder is re-read (copies already stored are recognised);
3. ask for UID, RFC822.SIZE of every message above the last stored UID; oversize mail is
   quarantined from its headers (BODY.PEEK[HEADER]), the rest is downloaded with
   BODY.PEEK[] (which never sets \\Seen) in batches;
4. per batch: the intake stores the batch (one commit), then the server action (flag / move
   / keep) runs for the batch, the state's last UID is raised (committed), and the intake
   processes the batch (cases, threads, auto-responses).

A crash anywhere leaves at worst stored but unflagged messages, which the next round finds
stored already: it only flags them, and processes those whose processing never ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError
from imap_tools.utils import encode_folder
from sqlalchemy import select

from app.audit.tracking import record_event
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
)
from app.mail.channels.models import ImapFolderState

SOURCE = "imap"
BATCH_MESSAGES = 50
BATCH_BYTES = 8 * 1024 * 1024
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")


@dataclass
class ServerMessage:
    uid: int
    size: int
    flags: tuple[str, ...] = ()


def connect(mailbox):
    """An imap-tools mailbox object, connected but not logged in."""
    host, port, security = server_address(mailbox, ssl_port=993, plain_port=143)
    try:
        if security == "ssl":
            return MailBox(host, port, timeout=timeout(), ssl_context=tls_context())
        if security == "starttls":
            return MailBoxStartTls(host, port, timeout=timeout(), ssl_context=tls_context())
        return MailBoxUnencrypted(host, port, timeout=timeout())
    except Exception as exc:
        raise ChannelError(
            f"cannot connect to IMAP server {host}:{port} ({security}): {_reason(exc)}"
        ) from exc


def login(conn, mailbox) -> None:
    """Password LOGIN or SASL XOAUTH2, without selecting a folder yet."""
    username = mailbox.inbound_username or mailbox.address
    secret = login_secret(mailbox)
    try:
        if (mailbox.inbound_auth or "password") == "xoauth2":
            conn.xoauth2(username, secret, initial_folder=None)
        else:
            conn.login(username, secret, initial_folder=None)
    except MailboxLoginError as exc:
        raise ChannelError(f"IMAP login as {username} failed: {_reason(exc)}") from exc
    except Exception as exc:
        raise ChannelError(f"IMAP login as {username} failed: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    """A one-line reason from imap-tools / imaplib / socket errors."""
    text = str(exc)
    match = re.search(r"\[b'(.*?)'\]", text)
    if match:
        text = match.group(1)
    text = text.strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def _check(result, what: str):
    typ, data = result
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise ChannelError(f"IMAP {what} failed: {detail or typ}")
    return data


def select_folder(conn, folder: str) -> int:
    """SELECT (read-write, flags will be set) and return the folder's UIDVALIDITY."""
    client = conn.client
    _check(client.select(encode_folder(folder)), f"SELECT {folder}")
    typ, data = client.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    status = conn.folder.status(folder, ["UIDVALIDITY"])
    return int(status["UIDVALIDITY"])


def list_new(conn, after_uid: int) -> list[ServerMessage]:
    """Messages with a UID above ``after_uid``, with their size, in UID order."""
    data = _check(
        conn.client.uid("FETCH", f"{after_uid + 1}:*", "(UID RFC822.SIZE FLAGS)"), "FETCH sizes"
    )
    found: dict[int, ServerMessage] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid is None:
            continue
        flags = _FLAGS.search(line)
        message = ServerMessage(
            int(uid.group(1)),
            int(size.group(1)) if size else 0,
            tuple(flags.group(1).decode().split()) if flags else (),
        )
        if message.uid > after_uid:  # "n:*" always includes the last message, even below n
            found[message.uid] = message
    return [found[uid] for uid in sorted(found)]


def fetch_parts(conn, uids: list[int], part: str) -> dict[int, bytes]:
    """UID FETCH of ``part`` (e.g. BODY.PEEK[]) for several messages: {uid: bytes}."""
    if not uids:
        return {}
    data = _check(
        conn.client.uid("FETCH", ",".join(map(str, uids)), f"(UID {part})"), f"FETCH {part}"
    )
    result: dict[int, bytes] = {}
    pending: bytes | None = None
    pending_meta = b""
    for item in data:
        if isinstance(item, tuple):
            if pending is not None:
                _remember(result, pending_meta, pending)
            pending_meta, pending = item[0], item[1]
        elif isinstance(item, bytes) and pending is not None:
            pending_meta += item  # the UID may come after the literal
    if pending is not None:
        _remember(result, pending_meta, pending)
    return result


def _remember(result: dict[int, bytes], meta: bytes, literal: bytes) -> None:
    uid = _UID.search(meta)
    if uid is not None:
        result[int(uid.group(1))] = literal


def batches(messages: list[ServerMessage]):
    """Groups of messages to download with one FETCH, bounded in count and bytes."""
    batch, size = [], 0
    for message in messages:
        if batch and (len(batch) >= BATCH_MESSAGES or size + message.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.size
    if batch:
        yield batch


def _capabilities(conn) -> set[str]:
    """Capabilities after login (imaplib keeps only the smaller pre-login list)."""
    try:
        typ, data = conn.client.capability()
        if typ == "OK" and data and data[0]:
            return set(data[0].decode(errors="replace").upper().split())
    except Exception:  # fall back to what imaplib saw at connect time
        pass
    return {c.upper() for c in (getattr(conn.client, "capabilities", ()) or ())}


class ServerActions:
    """Flag, move or keep a stored message, as the mailbox says."""

    def __init__(self, conn, mailbox):
        self.conn = conn
        self.policy = (mailbox.inbound_after_fetch or "flag").strip().lower()
        self.flag = (mailbox.inbound_flag or "\\Seen").strip()
        self.folder = (mailbox.inbound_processed_folder or "").strip()
        if self.policy not in ("flag", "move", "keep"):
            raise ChannelError(
                f"IMAP mailbox {mailbox.address}: after-fetch action {self.policy!r} is not "
                "possible over IMAP (choose flag, move or keep)"
            )
        if self.policy == "move" and not self.folder:
            raise ChannelError(f"IMAP mailbox {mailbox.address}: 'move' needs a processed folder")
        caps = _capabilities(conn) if self.policy == "move" else set()
        self.can_move = "MOVE" in caps
        self.can_uid_expunge = "UIDPLUS" in caps

    def prepare(self) -> None:
        if self.policy == "move":
            # CREATE fails when the folder exists; the MOVE below then reports real errors.
            self.conn.client._simple_command("CREATE", encode_folder(self.folder))

    def after_store(self, uids: list[int]) -> int:
        """Flag or move stored messages (one command for a batch); return how many."""
        if not uids or self.policy == "keep":
            return 0
        client = self.conn.client
        uid_set = ",".join(map(str, uids))
        if self.policy == "flag":
            # Not imap-tools' flag(): it EXPUNGEs the folder afterwards, which would also
            # remove mail that someone else marked \Deleted.
            _check(
                client.uid("STORE", uid_set, "+FLAGS.SILENT", f"({self.flag})"),
                f"STORE {self.flag}",
            )
            return len(uids)
        target = encode_folder(self.folder)
        if self.can_move:
            _check(client.uid("MOVE", uid_set, target), f"MOVE to {self.folder}")
        else:
            _check(client.uid("COPY", uid_set, target), f"COPY to {self.folder}")
            _check(client.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
            if self.can_uid_expunge:
                _check(client.uid("EXPUNGE", uid_set), "UID EXPUNGE")
        return len(uids)


def folder_state(mailbox, folder: str) -> ImapFolderState:
    state = db.session.scalar(
        select(ImapFolderState).where(
            ImapFolderState.mailbox_id == mailbox.id, ImapFolderState.folder == folder
        )
    )
    if state is None:
        state = ImapFolderState(mailbox_id=mailbox.id, folder=folder, last_uid=0)
        db.session.add(state)
    return state


def fetch(mailbox, report: FetchReport | None = None) -> FetchReport:
    """One IMAP round for ``mailbox``; raises ChannelError with a readable reason."""
    report = report or FetchReport()
    conn = connect(mailbox)
    try:
        login(conn, mailbox)
        _fetch_folder(conn, mailbox, report)
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"IMAP fetch failed: {_reason(exc)}") from exc
    finally:
        try:
            conn.logout()
        except Exception:  # the connection may already be gone; nothing left to tell
            pass
    return report


def _fetch_folder(conn, mailbox, report: FetchReport) -> None:
    folder = (mailbox.inbound_folder or "INBOX").strip() or "INBOX"
    actions = ServerActions(conn, mailbox)
    uidvalidity = select_folder(conn, folder)
    actions.prepare()
    state = folder_state(mailbox, folder)
    if state.uidvalidity != uidvalidity:
        if state.uidvalidity is not None:
            report.uidvalidity_reset = True
            record_event(
                db.session,
                mailbox,
                "mail.uidvalidity_changed",
                old=state.uidvalidity,
                new=uidvalidity,
                details={"folder": folder, "last_uid": state.last_uid},
            )
        state.uidvalidity, state.last_uid = uidvalidity, 0
    db.session.commit()

    limit = max_size(mailbox)
    for batch in batches(list_new(conn, state.last_uid)):
        small = [m.uid for m in batch if m.size <= limit]
        bodies = fetch_parts(conn, small, "BODY.PEEK[]")
        big = [m.uid for m in batch if m.size > limit]
        headers = fetch_parts(conn, big, "BODY.PEEK[HEADER]")
        # else (neither): expunged by someone else between listing and fetching.
        fetched = [uid for uid in small if uid in bodies]
        stored: list[int] = []
        broken_off: BaseException | None = None
        try:
            _, to_process = store_batch(
                [(bodies[uid], f"{folder}:{uidvalidity}:{uid}") for uid in fetched],
                mailbox=mailbox,
                source=SOURCE,
                report=report,
            )
            stored = fetched
            for uid in big:
                if uid in headers:
                    size = next(m.size for m in batch if m.uid == uid)
                    quarantine_oversize(
                        headers[uid],
                        size,
                        mailbox=mailbox,
                        source=SOURCE,
                        source_ref=f"{folder}:{uidvalidity}:{uid}",
                        report=report,
                    )
        except BaseException as exc:
            broken_off = exc
            raise
        finally:
            # Only stored messages are flagged or moved, also when the batch broke off; a
            # failure here must not hide the error that broke it off.
            try:
                report.server_actions += actions.after_store(stored)
            except Exception:
                if broken_off is None:
                    raise
        state.last_uid = batch[-1].uid
        db.session.commit()
        process_batch(to_process)

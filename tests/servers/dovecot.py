"""A real Dovecot (IMAP and POP3) on loopback for the fetch tests and the fetch benchmark.

Debian's dovecot 2.3 is started as root with a private configuration in a temporary directory
(the set-up of /work/shared/notes/email.md §3 "A. Started by root"): plain-text logins on two
free loopback ports, Maildir storage owned by uid/gid 65534. Every test gets its own user
(``add_user``), so one server can serve a whole session without tests seeing each other's mail.

Mail is delivered the way an MTA would, with ``doveadm save``; ``deliver_files`` writes many
messages straight into Maildir/new for benchmarks (one process per message is too slow there).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

MAIL_UID = MAIL_GID = 65534
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
auth_failure_delay = 0
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
  mechanisms = plain login
}}
{oauth2_passdb}userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


# XOAUTH2 / OAUTHBEARER (``DovecotServer(oauth2_introspection_url=...)``): Dovecot asks the
# URL (RFC 7662 token introspection, POST token=...) whether a bearer token is good and whose.
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""
OAUTH2_CONFIG = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""


def unavailable_reason() -> str | None:
    """Why a Dovecot cannot be started here, or None when it can."""
    if not (os.path.exists(DOVECOT) and os.path.exists(DOVEADM)):
        return (
            "dovecot is not installed (Debian: dovecot-imapd dovecot-pop3d; "
            "run scripts/install-test-packages.sh as root)"
        )
    if os.geteuid() != 0:
        return "dovecot test server must be started as root (CI runs as root)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DovecotUser:
    server: DovecotServer
    address: str
    password: str

    @property
    def maildir(self) -> Path:
        return self.server.root / "mail" / self.address / "Maildir"

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Store one message as an MTA would (doveadm save)."""
        self.server.doveadm("save", "-u", self.address, "-m", folder, input=raw)

    def deliver_files(self, messages: list[bytes]) -> None:
        """Drop many messages into Maildir/new at once (fast path for benchmarks)."""
        new = self.maildir / "new"
        for i, raw in enumerate(messages):
            name = f"{time.time():.6f}.{uuid.uuid4().hex}{i}.bench"
            path = new / name
            path.write_bytes(raw)
            os.chown(path, MAIL_UID, MAIL_GID)

    def create_folder(self, folder: str) -> None:
        self.server.doveadm("mailbox", "create", "-u", self.address, folder)

    def delete_folder(self, folder: str) -> None:
        self.server.doveadm("mailbox", "delete", "-u", self.address, folder)

    def set_uidvalidity(self, folder: str, uidvalidity: int) -> None:
        self.server.doveadm(
            "mailbox", "update", "-u", self.address, "--uid-validity", str(uidvalidity), folder
        )


class DovecotServer:
    """One Dovecot instance under a temporary directory; ``start()`` / ``stop()``."""

    def __init__(self, oauth2_introspection_url: str | None = None):
        self.oauth2_introspection_url = oauth2_introspection_url
        self.root = Path(tempfile.mkdtemp(prefix="ld-dovecot-"))
        os.chmod(self.root, 0o755)
        self.conf = self.root / "dovecot.conf"
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self._users = itertools.count(1)
        self.process_started = False

    def start(self) -> DovecotServer:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        os.chown(self.root / "mail", MAIL_UID, MAIL_GID)
        (self.root / "users").write_text("")
        oauth2 = self.oauth2_introspection_url
        if oauth2:
            (self.root / "dovecot-oauth2.conf.ext").write_text(OAUTH2_CONFIG.format(url=oauth2))
        self.conf.write_text(
            CONFIG.format(
                root=self.root,
                imap_port=self.imap_port,
                pop3_port=self.pop3_port,
                oauth2_mechanisms=" xoauth2 oauthbearer" if oauth2 else "",
                oauth2_passdb=OAUTH2_PASSDB.format(root=self.root) if oauth2 else "",
            )
        )
        # dovecot daemonises; its child must not inherit our pipes (run() would wait forever).
        with open(self.root / "startup.log", "wb") as out:
            subprocess.run(
                [DOVECOT, "-c", str(self.conf)],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=30,
            )
        self.process_started = True
        self._wait_for_port(self.imap_port)
        self._wait_for_port(self.pop3_port)
        return self

    def _wait_for_port(self, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {port}; log: {self.log()}")

    def log(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text()[-4000:]
        except FileNotFoundError:
            return "(no log)"

    def add_user(self, password: str = "secret") -> DovecotUser:
        """A new account with an empty Maildir; passwd-file is re-read on change."""
        address = f"user{next(self._users)}-{uuid.uuid4().hex[:6]}@example.test"
        home = self.root / "mail" / address
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        for path in [home, home / "Maildir", *(home / "Maildir").iterdir()]:
            os.chown(path, MAIL_UID, MAIL_GID)
        with open(self.root / "users", "a") as fh:
            fh.write(f"{address}:{{PLAIN}}{password}:{MAIL_UID}:{MAIL_GID}::{home}\n")
        self._wait_for_user(address)
        return DovecotUser(self, address, password)

    def _wait_for_user(self, address: str, timeout: float = 5.0) -> None:
        """The auth process re-reads passwd-file at most about once a second; wait for it."""
        deadline = time.monotonic() + timeout
        while True:
            found = subprocess.run(
                [DOVEADM, "-c", str(self.conf), "user", address], capture_output=True, timeout=30
            )
            if found.returncode == 0 or time.monotonic() > deadline:
                return
            time.sleep(0.2)

    def doveadm(self, *args: str, input: bytes | None = None) -> str:
        result = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args], input=input, capture_output=True, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed: {result.stderr.decode(errors='replace')}"
            )
        return result.stdout.decode(errors="replace")

    def stop(self) -> None:
        if self.process_started:
            subprocess.run(
                [DOVEADM, "-c", str(self.conf), "stop"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
            )
            self.process_started = False
        shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot(oauth2_introspection_url: str | None = None) -> DovecotServer:
    return DovecotServer(oauth2_introspection_url).start()

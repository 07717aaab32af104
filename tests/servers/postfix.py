"""A real Postfix on loopback that delivers into the desk through ``mail pipe``.

Debian's Postfix 3.7 is started as root with a private configuration in a temporary directory
(``postfix -c DIR``; the system's own instance is neither configured nor started): one
``smtpd`` on a free loopback port, every recipient of ``desk.test`` delivered by a ``pipe``
transport with ``flags=Rq`` (a Return-Path line, the envelope recipient on the command
line, one recipient per delivery), as the set-up in /work/shared/notes/email.md §3 does.

Postfix runs pipe commands as an unprivileged user (``nobody`` here), and refuses root. On
machines where the project's interpreter lives in a directory that user cannot enter (pyenv
under /root), the pipe command is a small stdlib client for Debian's /usr/bin/python3: it
hands the envelope and the message over a Unix socket to the test, which runs the real
``flask --app run mail pipe`` and sends its exit status back, so Postfix sees exactly what
the desk answered (0: delivered, 75: deferred and retried later).
"""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"
PIPE_PYTHON = "/usr/bin/python3"
DOMAIN = "desk.test"

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
maillog_file_prefixes = {root}
maillog_file = {root}/postfix.log
myhostname = mx.{domain}
mydestination = {domain}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
local_transport = loopdesk
recipient_delimiter = +
loopdesk_destination_recipient_limit = 1
smtputf8_enable = no
message_size_limit = 52428800
queue_run_delay = 300s
minimal_backoff_time = 300s
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
loopdesk  unix  -       n       n       -       -       pipe
  flags=Rq user=nobody argv={python} {root}/deliver.py {root}/pipe.sock ${{recipient}} ${{sender}}
"""

# The pipe command (run by Postfix as nobody): envelope line, message, then the status back.
DELIVER_PY = """\
import socket, sys
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(("\\0".join(sys.argv[2:]) + "\\n").encode())
    while True:
        chunk = sys.stdin.buffer.read(65536)
        if not chunk:
            break
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    answer = s.makefile("rb").read()
    sys.exit(int(answer.split(b"\\n", 1)[0]))
except SystemExit:
    raise
except Exception as exc:
    print(f"pipe bridge: {exc}", file=sys.stderr)
    sys.exit(75)
"""


def unavailable_reason() -> str | None:
    """Why a Postfix cannot be started here, or None when it can."""
    if not os.path.exists(POSTFIX):
        return "postfix is not installed (Debian: postfix; run scripts/install-test-packages.sh)"
    if os.geteuid() != 0:
        return "the postfix test server must be started as root (CI runs as root)"
    if not os.access(PIPE_PYTHON, os.X_OK):
        return f"{PIPE_PYTHON} (Debian's python3) is needed for the pipe command"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# deliver(recipient, sender, raw bytes) -> exit status of the desk's pipe command
Deliver = Callable[[str, str, bytes], int]


class PostfixServer:
    def __init__(self, deliver: Deliver):
        self.deliver = deliver
        self.root = Path(tempfile.mkdtemp(prefix="ld-postfix-"))
        self.root.chmod(0o755)  # the pipe user must reach deliver.py and the socket
        self.port = free_port()
        self.config = self.root / "etc"
        self.deliveries: list[tuple[str, int]] = []  # (recipient, status) as answered
        self._listener: socket.socket | None = None

    # set-up ---------------------------------------------------------------------------

    def start(self) -> PostfixServer:
        for sub in ("etc", "spool", "data"):
            (self.root / sub).mkdir()
        shutil.chown(self.root / "data", user="postfix")
        values = {"root": self.root, "domain": DOMAIN, "port": self.port, "python": PIPE_PYTHON}
        (self.config / "main.cf").write_text(MAIN_CF.format(**values))
        (self.config / "master.cf").write_text(MASTER_CF.format(**values))
        (self.root / "deliver.py").write_text(DELIVER_PY)
        self._serve_pipe()
        self._postfix("start")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"postfix did not listen on {self.port}:\n{self.log()}")

    def _postfix(self, *args: str) -> None:
        result = subprocess.run(
            [POSTFIX, "-c", str(self.config), *args], capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)} failed: {result.stderr}{self.log()}")

    def _serve_pipe(self) -> None:
        path = self.root / "pipe.sock"
        self._listener = socket.socket(socket.AF_UNIX)
        self._listener.bind(str(path))
        path.chmod(0o777)
        self._listener.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = conn.makefile("rb").read()
            head, _, raw = data.partition(b"\n")
            recipient, _, sender = head.decode().partition("\0")
            try:
                status = self.deliver(recipient, sender, raw)
            except Exception:
                status = 75
            self.deliveries.append((recipient, status))
            conn.sendall(f"{status}\n".encode())

    def stop(self) -> None:
        try:
            self._postfix("stop")
        except RuntimeError:
            pass
        if self._listener is not None:
            self._listener.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # use -------------------------------------------------------------------------------

    def send(self, sender: str, recipients: list[str], raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.sendmail(sender, recipients, raw)

    def queue(self) -> str:
        return subprocess.run(
            [POSTQUEUE, "-c", str(self.config), "-p"], capture_output=True, text=True, timeout=30
        ).stdout

    def flush(self) -> None:
        """Retry deferred mail now (``postqueue -f``), as an admin would."""
        subprocess.run([POSTQUEUE, "-c", str(self.config), "-f"], check=True, timeout=30)

    def log(self) -> str:
        path = self.root / "postfix.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log()[-3000:]}")


def start_postfix(deliver: Deliver) -> PostfixServer:
    return PostfixServer(deliver).start()

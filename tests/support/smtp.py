"""An SMTP sink on loopback (aiosmtpd) for the tests that deliver mail."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email import policy


def free_port() -> int:
    # aiosmtpd's Controller cannot use port 0 (stack.md §4): pick a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """Collects every accepted envelope; ``refuse`` makes it answer RCPT/DATA with a code."""

    def __init__(self):
        self.envelopes = []
        self.lock = threading.Lock()
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.delay = 0.0  # seconds per accepted mail, to make a relay slow
        self.port = free_port()
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.envelopes.append(envelope)
        return f"250 2.0.0 Ok: queued as Q{len(self.envelopes)}"

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

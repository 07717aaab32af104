"""A real HTTP receiver on 127.0.0.1:5110 in a thread (the CRM end of a webhook), and a
subscription of the test desk pointing at it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.audit.actor import acting_as
from app.webhooks import services
from app.webhooks.models import WebhookEventType
from app.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

PORT = 5110
SECRET = "whsec_test-secret-of-the-receiver"


@dataclass
class Received:
    body: bytes
    headers: dict

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def verified(self, secret: str = SECRET, **kwargs) -> bool:
        return verify(
            secret,
            self.body,
            self.headers.get(TIMESTAMP_HEADER),
            self.headers.get(SIGNATURE_HEADER),
            **kwargs,
        )


@dataclass
class Receiver:
    """Answers each POST with the next of ``answers`` (then 200), keeps what it got; refuses
    (401) a POST whose signature does not verify, as a real receiver would."""

    url: str
    answers: list = field(default_factory=list)
    received: list = field(default_factory=list)
    refused: int = 0


@pytest.fixture
def receiver():
    state = Receiver(url=f"http://127.0.0.1:{PORT}/hooks/loopdesk")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got = Received(body, dict(self.headers.items()))
            if not got.verified():
                state.refused += 1
                status, text = 401, b"bad signature"
            else:
                state.received.append(got)
                status = state.answers.pop(0) if state.answers else 200
                text = b"ok, thanks" if status < 300 else b"receiver is having a bad day"
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


ALL_EVENTS = [t.value for t in WebhookEventType]


def subscribe(url: str, events=ALL_EVENTS, secret: str = SECRET):
    with acting_as(None):
        subscription, _ = services.subscribe("CRM", url, events, secret=secret)
    return subscription

"""Cloud mailboxes with OAuth2: the code flow from the mailbox page (state and PKCE checked),
refresh before expiry with rotation, SMTP and IMAP logging in by XOAUTH2, and a revoked grant
stopping fetching and holding the outbox. Against a fake token endpoint on loopback (which
also answers the test Dovecot's token introspection) and an aiosmtpd relay with XOAUTH2."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, text

from app.audit.models import Event
from app.core.timeutil import utcnow
from app.extensions import db
from app.mail import fetch
from app.mail.channels import imap
from app.mail.channels.common import ChannelError
from app.mailcore import oauth
from app.mailcore.models import Mailbox
from app.outbox.models import OutboxMail, OutboxStatus
from tests.support.desk import Auth
from tests.support.smtp import Sink

TOKEN_PORT = 5117


class FakeTokenEndpoint:
    """A token endpoint: checks PKCE for codes, hands out numbered tokens, rotates refresh
    tokens, and answers invalid_grant for refresh tokens marked revoked."""

    def __init__(self):
        self.codes: dict[str, str] = {}  # code -> code_challenge
        self.revoked: set[str] = set()
        self.requests: list[dict] = []
        self.rotate = True
        self.count = 0
        self.valid: dict[str, str] = {}  # access token -> user, for Dovecot's introspection
        self.user = "a@desk.test"  # whose tokens are handed out
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path == "/introspect":  # RFC 7662, asked by the test Dovecot
                    user = endpoint.valid.get(form.get("token", ""))
                    status, answer = 200, {"active": user is not None, "username": user}
                else:
                    endpoint.requests.append(form)
                    status, answer = endpoint.answer(form)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", TOKEN_PORT), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, form):
        if form.get("client_id") != "desk-client" or form.get("client_secret") != "desk-secret":
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            challenge = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if challenge is None or computed != challenge:
                return 400, {"error": "invalid_grant", "error_description": "bad code or PKCE"}
            return 200, self.tokens(refresh=True)
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") in self.revoked:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "AADSTS50173: the grant was revoked",
                }
            return 200, self.tokens(refresh=self.rotate)
        return 400, {"error": "unsupported_grant_type"}

    def tokens(self, refresh: bool):
        self.count += 1
        answer = {
            "access_token": f"access-{self.count}",
            "expires_in": 3600,
            "token_type": "Bearer",
        }
        self.valid[answer["access_token"]] = self.user
        if refresh:
            answer["refresh_token"] = f"refresh-{self.count}"
        return answer


@pytest.fixture
def endpoint():
    server = FakeTokenEndpoint()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def app_config(app_config):
    app_config.update(
        OAUTH_MICROSOFT_CLIENT_ID="desk-client",
        OAUTH_MICROSOFT_CLIENT_SECRET="desk-secret",
        OAUTH_MICROSOFT_AUTHORIZE_URL="https://login.example.test/authorize",
        OAUTH_MICROSOFT_TOKEN_URL=f"http://127.0.0.1:{TOKEN_PORT}/token",
        OUTBOX_ENQUEUE_ON_COMMIT=False,
        OUTBOX_SMTP_TIMEOUT=5,
    )
    return app_config


def _connect(client, desk, endpoint):
    """Press Connect, let the fake provider approve, and follow its redirect back."""
    response = client.post(f"/mailboxes/oauth/connect/{desk.mailbox_a.id}/microsoft")
    assert response.status_code == 302
    target = urllib.parse.urlsplit(response.headers["Location"])
    assert target.netloc == "login.example.test"
    params = dict(urllib.parse.parse_qsl(target.query))
    assert params["code_challenge_method"] == "S256" and params["client_id"] == "desk-client"
    assert params["redirect_uri"].endswith("/mailboxes/oauth/callback")
    endpoint.codes["the-code"] = params["code_challenge"]
    return params["state"]


def _connected(desk, endpoint, expires_in_minutes=60):
    box = desk.mailbox_a
    box.oauth_provider = "microsoft"
    box.inbound_auth = "xoauth2"
    box.inbound_secret = "access-old"
    box.oauth_refresh_token = "refresh-old"
    box.oauth_expires_at = utcnow() + timedelta(minutes=expires_in_minutes)
    db.session.commit()
    return box


def test_the_code_flow_stores_the_tokens_encrypted_and_the_state_is_single_use(
    client, auth, desk, endpoint
):
    auth.login("admin")
    page = client.get(f"/mailboxes/show/{desk.mailbox_a.id}").data.decode()
    assert "Connect with Microsoft 365" in page
    state = _connect(client, desk, endpoint)

    response = client.get(f"/mailboxes/oauth/callback?state={state}&code=the-code")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/mailboxes/show/{desk.mailbox_a.id}")
    db.session.expire_all()
    box = db.session.get(Mailbox, desk.mailbox_a.id)
    assert box.inbound_auth == "xoauth2" and box.oauth_provider == "microsoft"
    assert box.oauth_refresh_token == "refresh-1" and box.inbound_secret == "access-1"
    assert box.oauth_expires_at > utcnow() + timedelta(minutes=55)
    stored = db.session.execute(
        text("SELECT oauth_refresh_token, inbound_secret FROM mailbox WHERE id = :id"),
        {"id": box.id},
    ).one()
    assert all(v.startswith("fernet:") and "refresh-1" not in v for v in stored)
    page = client.get(f"/mailboxes/show/{box.id}").data.decode()
    assert "refresh-1" not in page and "access-1" not in page and "Connected with" in page
    event = db.session.scalar(select(Event).where(Event.action == "mail.oauth_connected"))
    assert event is not None and event.object_id == box.id

    # The same state a second time (a replayed redirect) changes nothing.
    endpoint.codes["the-code"] = "whatever"
    response = client.get(f"/mailboxes/oauth/callback?state={state}&code=the-code")
    assert response.status_code == 302
    assert "used already" in client.get("/mailboxes/list/").data.decode()
    assert len([r for r in endpoint.requests if r["grant_type"] == "authorization_code"]) == 1


def test_a_forged_or_foreign_state_is_refused(client, auth, desk, endpoint, app):
    auth.login("admin")
    state = _connect(client, desk, endpoint)
    forged = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
    client.get(f"/mailboxes/oauth/callback?state={forged}&code=the-code")
    assert "forged" in client.get("/mailboxes/list/").data.decode()

    # The right state from another browser session (the same admin logged in elsewhere).
    other = app.test_client()
    Auth(other).login("admin")
    other.get(f"/mailboxes/oauth/callback?state={state}&code=the-code")
    assert "not started in your session" in other.get("/mailboxes/list/").data.decode()
    assert endpoint.requests == []  # no code was traded
    db.session.expire_all()
    assert db.session.get(Mailbox, desk.mailbox_a.id).oauth_refresh_token is None


def test_only_admins_connect_a_mailbox(client, auth, desk, endpoint):
    auth.login("supervisor_a")
    page = client.get(f"/mailboxes/show/{desk.mailbox_a.id}").data.decode()
    assert "Connect with" not in page
    response = client.post(f"/mailboxes/oauth/connect/{desk.mailbox_a.id}/microsoft")
    assert response.status_code in (302, 403)
    assert "login.example.test" not in response.headers.get("Location", "")
    assert db.session.scalar(select(Event).where(Event.action == "mail.oauth_started")) is None


def test_refresh_before_expiry_stores_the_rotated_refresh_token(desk, endpoint):
    box = _connected(desk, endpoint, expires_in_minutes=30)
    assert oauth.fresh_access_token(box) == "access-old"  # far from expiry: no request
    assert endpoint.requests == []

    box.oauth_expires_at = utcnow() + timedelta(minutes=3)  # inside the 5-minute margin
    db.session.commit()
    assert oauth.fresh_access_token(box) == "access-1"
    assert endpoint.requests[-1]["refresh_token"] == "refresh-old"
    db.session.expire_all()
    box = db.session.get(Mailbox, box.id)
    assert box.oauth_refresh_token == "refresh-1" and box.inbound_secret == "access-1"
    assert box.oauth_expires_at > utcnow() + timedelta(minutes=55)
    event = db.session.scalar(select(Event).where(Event.action == "mail.oauth_refreshed"))
    assert event.details["rotated"] is True

    # Without rotation the refresh token stays.
    endpoint.rotate = False
    box.oauth_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert oauth.fresh_access_token(box) == "access-2"
    assert box.oauth_refresh_token == "refresh-1"


class _RecordingImap:
    def __init__(self):
        self.calls = []

    def xoauth2(self, username, token, initial_folder=None):
        self.calls.append((username, token))


def test_imap_logs_in_by_xoauth2_with_a_refreshed_token(desk, endpoint):
    box = _connected(desk, endpoint, expires_in_minutes=1)
    conn = _RecordingImap()
    imap.login(conn, box)
    assert conn.calls == [("a@desk.test", "access-1")]


@pytest.fixture(scope="module")
def oauth_dovecot():
    """A Dovecot that verifies XOAUTH2 bearer tokens by asking the fake endpoint."""
    from tests.servers.dovecot import start_dovecot, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = start_dovecot(oauth2_introspection_url=f"http://127.0.0.1:{TOKEN_PORT}/introspect")
    yield server
    server.stop()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_fetching_from_dovecot_by_xoauth2_refreshes_an_expired_token(
    desk, endpoint, oauth_dovecot, protocol
):
    from tests.mail.channels.helpers import make_mailbox, message, raw_rows

    user = oauth_dovecot.add_user()
    user.deliver(message(1))
    endpoint.user = user.address
    endpoint.valid["access-stale"] = user.address
    box = make_mailbox(desk, oauth_dovecot, user, protocol, inbound_auth="xoauth2")
    box.oauth_provider, box.oauth_refresh_token = "microsoft", "refresh-old"
    box.inbound_secret = "access-expired"  # Dovecot does not know it
    box.oauth_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    result = fetch.fetch_mailbox(box.id)
    assert result.ok and result.stored == 1, result.summary()
    assert [r["grant_type"] for r in endpoint.requests] == ["refresh_token"]
    assert len(raw_rows(box)) == 1

    # A token Dovecot refuses is a failed login, told on the mailbox.
    box.inbound_secret, box.oauth_expires_at = "access-forged", utcnow() + timedelta(hours=1)
    db.session.commit()
    result = fetch.fetch_mailbox(box.id)
    assert not result.ok and "login" in result.error.lower()


class _XoauthSink(Sink):
    def __init__(self, token):
        super().__init__()
        self.token = token
        self.logins = []

    async def auth_XOAUTH2(self, server, args):
        from aiosmtpd.smtp import AuthResult

        decoded = base64.b64decode(args[1]).decode()
        self.logins.append(decoded)
        return AuthResult(
            success=decoded == f"user=a@desk.test\x01auth=Bearer {self.token}\x01\x01"
        )

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, auth_require_tls=False
        )
        self.controller.start()


@pytest.fixture
def xoauth_sink():
    sink = _XoauthSink("access-1")
    sink.start()
    yield sink
    sink.stop()


def _queue(desk):
    from app.outbox import services as outbox

    row = outbox.queue_mail(
        kind="reply", to="customer@example.com", subject="Hello", text="Hi", mailbox=desk.mailbox_a
    )
    db.session.commit()
    return row


def test_smtp_sends_by_xoauth2_with_a_refreshed_token(desk, endpoint, xoauth_sink):
    from app.outbox.delivery import deliver_due

    box = _connected(desk, endpoint, expires_in_minutes=1)
    box.smtp_host, box.smtp_port, box.smtp_security = "127.0.0.1", xoauth_sink.port, "none"
    db.session.commit()
    row = _queue(desk)
    report = deliver_due()
    assert report.sent == 1, report.as_dict()
    assert xoauth_sink.logins == ["user=a@desk.test\x01auth=Bearer access-1\x01\x01"]
    assert db.session.get(OutboxMail, row.id).status == OutboxStatus.SENT


def test_a_revoked_grant_marks_the_mailbox_stops_fetching_and_holds_the_outbox(
    client, auth, desk, endpoint, xoauth_sink
):
    from app.outbox.delivery import deliver_due

    box = _connected(desk, endpoint, expires_in_minutes=-1)
    box.inbound_protocol, box.inbound_host = "imap", "127.0.0.1"
    box.smtp_host, box.smtp_port, box.smtp_security = "127.0.0.1", xoauth_sink.port, "none"
    db.session.commit()
    endpoint.revoked.add("refresh-old")
    row = _queue(desk)

    with pytest.raises(ChannelError, match="revoked"):
        imap.login(_RecordingImap(), box)
    db.session.expire_all()
    box = db.session.get(Mailbox, box.id)
    assert box.oauth_needs_reconnect and "AADSTS50173" in box.oauth_reconnect_reason
    assert db.session.scalar(select(Event).where(Event.action == "mail.oauth_revoked"))

    # Fetching leaves it alone until an admin reconnects it.
    assert box not in fetch.fetchable_mailboxes()
    assert "needs reconnecting" in fetch.fetch_mailbox(box.id).skipped
    requests_before = len(endpoint.requests)

    # Its mail waits: queued, no attempt used up, however often the outbox runs.
    for _ in range(3):
        db.session.execute(
            OutboxMail.__table__.update().values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        report = deliver_due()
        assert report.held == 1 and report.failed == 0
    db.session.expire_all()
    held = db.session.get(OutboxMail, row.id)
    assert held.status == OutboxStatus.QUEUED and held.attempts == 0
    assert "needs reconnecting" in held.last_error and held.next_attempt_at > utcnow()
    assert xoauth_sink.envelopes == [] and len(endpoint.requests) == requests_before

    # Shown on the list and the page, and in the health check.
    auth.login("admin")
    assert "needs reconnect" in client.get("/mailboxes/list/").data.decode()
    assert "Needs reconnect." in client.get(f"/mailboxes/show/{box.id}").data.decode()
    health = client.get("/health").json
    assert health["status"] == "degraded"
    assert [m for m in health["mailboxes"] if m["address"] == box.address][0]["needs_reconnect"]

    # Connecting again clears it and the held mail goes out.
    state = _connect(client, desk, endpoint)
    client.get(f"/mailboxes/oauth/callback?state={state}&code=the-code")
    db.session.expire_all()
    box = db.session.get(Mailbox, box.id)
    assert not box.oauth_needs_reconnect and box.oauth_reconnect_reason is None
    xoauth_sink.token = box.inbound_secret
    db.session.execute(
        OutboxMail.__table__.update().values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert deliver_due().sent == 1
    assert len(xoauth_sink.envelopes) == 1

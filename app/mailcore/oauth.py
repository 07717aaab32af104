"""OAuth2 for cloud mailboxes (Microsoft 365, Google): connect, refresh, notice a revoked grant.

**Connecting** (the authorisation-code flow with PKCE, from the mailbox page): an admin presses
"Connect with …"; ``start_authorization`` stores an ``OAuthState`` (a random nonce, the PKCE
verifier encrypted, the admin, a hash of a random value kept in his session) and returns the
provider's authorisation URL whose ``state`` is the nonce signed with ``SECRET_KEY``. The
provider sends the browser back to ``/mailboxes/oauth/callback``; ``complete_authorization``
checks the signature and age of ``state``, that the nonce is unused, and that the same admin
in the same session started it, marks it used, and trades the code (with the verifier) for
tokens: the refresh token is stored encrypted, the access token (in ``inbound_secret``,
encrypted too) with its expiry, the mailbox logs in by XOAUTH2 from then on, and an Event
tells who connected it.

**Refreshing**: ``fresh_access_token(mailbox)`` is what IMAP, POP3 and SMTP ask for; it
refreshes ``OAUTH_REFRESH_MINUTES`` before the expiry and stores a rotated refresh token.

**Revoked**: a token endpoint answering ``invalid_grant`` (password changed, consent revoked,
refresh token expired) marks the mailbox "needs reconnect" with the reason and an Event; the
fetch rounds skip it and the outbox holds its mail (delayed, never dropped) until an admin
connects it again. Other failures (endpoint down, 5xx) are temporary: ``OAuthUnavailable``.

Client id, secret and endpoints are the desk's settings ``OAUTH_<PROVIDER>_*``; the secret is
never shown and may be given as a ``fernet:`` token (``app.core.encryption``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from app.audit.tracking import record_event
from app.core.encryption import decrypt
from app.core.settings import setting
from app.core.timeutil import utcnow
from app.errors import ConfigurationError, DeskError
from app.extensions import db
from app.mailcore.models import Mailbox, OAuthState

PROVIDERS = {"microsoft": "Microsoft 365", "google": "Google"}
STATE_MAX_AGE = 600  # seconds between pressing "Connect" and the provider's redirect
SESSION_KEY = "mailbox_oauth_binding"
_SALT = "loopdesk mailbox oauth state"
_HTTP_TIMEOUT = 20


class OAuthError(DeskError):
    """The connection could not be made (bad state, provider refused the code)."""


class ReconnectNeeded(DeskError):
    """The mailbox's grant is gone (invalid_grant): an admin must connect it again."""

    status_code = 409


class OAuthUnavailable(DeskError):
    """The token endpoint could not be reached or failed: try again later."""

    status_code = 503


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scopes: str


def provider(name: str) -> Provider:
    if name not in PROVIDERS:
        raise OAuthError(f"unknown OAuth2 provider {name!r} (choose {', '.join(PROVIDERS)})")
    key = f"OAUTH_{name.upper()}_"
    client_id = setting(key + "CLIENT_ID")
    if not client_id:
        raise ConfigurationError(
            f"{PROVIDERS[name]} is not set up: set {key}CLIENT_ID and {key}CLIENT_SECRET"
        )
    return Provider(
        name,
        PROVIDERS[name],
        client_id,
        decrypt(setting(key + "CLIENT_SECRET") or ""),
        setting(key + "AUTHORIZE_URL"),
        setting(key + "TOKEN_URL"),
        setting(key + "SCOPES"),
    )


def configured_providers() -> list[tuple[str, str]]:
    """(name, label) of the providers whose client id is set: the page's buttons."""
    return [(n, label) for n, label in PROVIDERS.items() if setting(f"OAUTH_{n.upper()}_CLIENT_ID")]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def start_authorization(
    mailbox: Mailbox, provider_name: str, *, user, session, redirect_uri: str
) -> str:
    """Record a new authorisation for ``mailbox`` and return the URL to send the admin to.

    ``session`` is the admin's (Flask) session: it gets a random binding value, of which the
    state row keeps only the hash."""
    chosen = provider(provider_name)
    binding = session.get(SESSION_KEY)
    if not binding:
        binding = secrets.token_urlsafe(32)
        session[SESSION_KEY] = binding
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    db.session.add(
        OAuthState(
            nonce=nonce,
            mailbox_id=mailbox.id,
            provider=chosen.name,
            user_id=user.id,
            session_binding=_digest(binding),
            code_verifier=verifier,
            created_at=utcnow(),
        )
    )
    record_event(db.session, mailbox, "mail.oauth_started", new=chosen.label)
    db.session.commit()
    params = {
        "response_type": "code",
        "client_id": chosen.client_id,
        "redirect_uri": redirect_uri,
        "scope": chosen.scopes,
        "state": _serializer().dumps(nonce),
        "code_challenge": _pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "login_hint": mailbox.inbound_username or mailbox.address,
    }
    if chosen.name == "google":  # Google hands out a refresh token only when asked so
        params.update(access_type="offline", prompt="consent")
    separator = "&" if "?" in chosen.authorize_url else "?"
    return chosen.authorize_url + separator + urllib.parse.urlencode(params)


def complete_authorization(state: str, code: str, *, user, session, redirect_uri: str) -> Mailbox:
    """Check ``state``, trade ``code`` for tokens and store them on the mailbox."""
    try:
        nonce = _serializer().loads(state or "", max_age=STATE_MAX_AGE)
    except SignatureExpired:
        raise OAuthError("the connection took too long; press Connect again") from None
    except BadSignature:
        raise OAuthError("the state parameter is forged or damaged; nothing was changed") from None
    row = db.session.scalar(select(OAuthState).where(OAuthState.nonce == nonce))
    binding = session.get(SESSION_KEY) or ""
    if (
        row is None
        or row.user_id != getattr(user, "id", None)
        or not binding
        or not secrets.compare_digest(row.session_binding, _digest(binding))
    ):
        raise OAuthError("this connection was not started in your session; press Connect again")
    if row.used_at is not None:
        raise OAuthError("this connection link was used already; press Connect again")
    row.used_at = utcnow()
    db.session.commit()  # single use, whatever the provider answers
    if not code:
        raise OAuthError("the provider sent no authorisation code")
    chosen = provider(row.provider)
    answer = _token_request(
        chosen,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": row.code_verifier,
        },
    )
    if "error" in answer:
        raise OAuthError(f"{chosen.label} refused the connection: {_error_text(answer)}")
    if not answer.get("refresh_token"):
        raise OAuthError(
            f"{chosen.label} sent no refresh token (check the scopes: offline access is needed)"
        )
    mailbox = row.mailbox
    _store_tokens(mailbox, answer)
    mailbox.oauth_provider = chosen.name
    mailbox.inbound_auth = "xoauth2"
    was_waiting = mailbox.oauth_needs_reconnect
    mailbox.oauth_needs_reconnect = False
    mailbox.oauth_reconnect_reason = None
    mailbox.fetch_failures = 0
    mailbox.last_error = None
    record_event(
        db.session,
        mailbox,
        "mail.oauth_connected",
        new=chosen.label,
        details={
            "reconnected": bool(was_waiting),
            "expires_at": mailbox.oauth_expires_at.isoformat(),
        },
    )
    db.session.commit()
    return mailbox


def xoauth2_string(username: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (Google, Microsoft 365), before base64."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01"


def is_oauth(mailbox: Mailbox | None) -> bool:
    return bool(mailbox is not None and mailbox.oauth_provider and mailbox.oauth_refresh_token)


def fresh_access_token(mailbox: Mailbox) -> str:
    """An access token good for at least ``OAUTH_REFRESH_MINUTES``: the stored one, or a new
    one from the token endpoint (a rotated refresh token is stored too).

    Raises ``ReconnectNeeded`` for a mailbox whose grant is gone and ``OAuthUnavailable``
    when the endpoint fails. A mailbox with a token but no refresh token (typed in by hand)
    gets that token as it is."""
    if mailbox.oauth_needs_reconnect:
        raise ReconnectNeeded(
            f"mailbox {mailbox.address} needs reconnecting: {mailbox.oauth_reconnect_reason}"
        )
    if not is_oauth(mailbox):
        return mailbox.inbound_secret or ""
    margin = timedelta(minutes=int(setting("OAUTH_REFRESH_MINUTES")))
    expires = mailbox.oauth_expires_at
    if mailbox.inbound_secret and expires is not None and expires - margin > utcnow():
        return mailbox.inbound_secret
    return refresh(mailbox)


def refresh(mailbox: Mailbox) -> str:
    """Trade the refresh token for a new access token now (and store both)."""
    # On PostgreSQL the row lock makes a second worker wait and then see the new token:
    # with rotation, refreshing twice with the same refresh token may revoke the grant.
    db.session.refresh(mailbox, with_for_update=db.engine.dialect.name == "postgresql")
    margin = timedelta(minutes=int(setting("OAUTH_REFRESH_MINUTES")))
    if (
        mailbox.oauth_expires_at is not None
        and mailbox.inbound_secret
        and mailbox.oauth_expires_at - margin > utcnow()
    ):
        db.session.commit()
        return mailbox.inbound_secret  # refreshed by another worker meanwhile
    chosen = provider(mailbox.oauth_provider)
    answer = _token_request(
        chosen, {"grant_type": "refresh_token", "refresh_token": mailbox.oauth_refresh_token}
    )
    if answer.get("error") == "invalid_grant":
        reason = f"{chosen.label} revoked the grant: {_error_text(answer)}"
        mark_needs_reconnect(mailbox, reason)
        raise ReconnectNeeded(f"mailbox {mailbox.address} needs reconnecting: {reason}")
    if "error" in answer or not answer.get("access_token"):
        db.session.rollback()
        raise OAuthUnavailable(f"{chosen.label} token refresh failed: {_error_text(answer)}")
    rotated = bool(answer.get("refresh_token")) and (
        answer["refresh_token"] != mailbox.oauth_refresh_token
    )
    _store_tokens(mailbox, answer)
    record_event(
        db.session,
        mailbox,
        "mail.oauth_refreshed",
        details={"expires_at": mailbox.oauth_expires_at.isoformat(), "rotated": rotated},
    )
    db.session.commit()
    return mailbox.inbound_secret


def mark_needs_reconnect(mailbox: Mailbox, reason: str) -> None:
    mailbox.oauth_needs_reconnect = True
    mailbox.oauth_reconnect_reason = reason[:2000]
    record_event(db.session, mailbox, "mail.oauth_revoked", new=reason[:1000])
    db.session.commit()


def _store_tokens(mailbox: Mailbox, answer: dict[str, Any]) -> None:
    mailbox.inbound_secret = answer["access_token"]
    try:
        lifetime = int(answer.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600
    mailbox.oauth_expires_at = utcnow() + timedelta(seconds=lifetime)
    if answer.get("refresh_token"):
        mailbox.oauth_refresh_token = answer["refresh_token"]


def _error_text(answer: dict[str, Any]) -> str:
    text = str(answer.get("error") or "no access token in the answer")
    if answer.get("error_description"):
        text += f" ({str(answer['error_description']).splitlines()[0][:300]})"
    return text


def _token_request(chosen: Provider, fields: dict[str, str]) -> dict[str, Any]:
    """POST to the token endpoint; the parsed JSON answer (errors included: OAuth2 answers
    400 with ``{"error": ...}``). Raises OAuthUnavailable when there is no usable answer."""
    body = urllib.parse.urlencode(
        {**fields, "client_id": chosen.client_id, "client_secret": chosen.client_secret}
    ).encode()
    request = urllib.request.Request(
        chosen.token_url,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        if exc.code >= 500 or not raw:
            raise OAuthUnavailable(f"{chosen.label} token endpoint answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise OAuthUnavailable(f"{chosen.label} token endpoint unreachable: {exc}") from None
    try:
        answer = json.loads(raw)
    except ValueError:
        raise OAuthUnavailable(f"{chosen.label} token endpoint sent no JSON") from None
    if not isinstance(answer, dict):
        raise OAuthUnavailable(f"{chosen.label} token endpoint sent no JSON object")
    return answer

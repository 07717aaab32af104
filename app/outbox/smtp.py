"""SMTP relays: the desk's global relay (the MAIL_* settings) and per-mailbox overrides.

Sending uses ``smtplib`` directly rather than Flask-Mail's ``send``: the outbox already holds
the finished bytes, each mailbox may name its own relay and credentials, and Flask-Mail's
STARTTLS takes no SSL context. The global relay is configured with Flask-Mail's ``MAIL_*``
keys, so one set of settings serves both.

TLS is always verified (``ssl.create_default_context()``, optionally with ``MAIL_TLS_CA_FILE``):
Python's smtplib would otherwise skip the certificate check.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

from flask import current_app

from app.errors import DeskError
from app.mailcore import oauth
from app.outbox.settings import setting

SECURITY_SSL = "ssl"  # implicit TLS (port 465)
SECURITY_STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587)
SECURITY_NONE = "none"  # plain SMTP (loopback relays, tests)
_DEFAULT_PORTS = {SECURITY_SSL: 465, SECURITY_STARTTLS: 587, SECURITY_NONE: 25}
_SECURITY_ALIASES = {
    "ssl": SECURITY_SSL,
    "tls": SECURITY_SSL,
    "smtps": SECURITY_SSL,
    "starttls": SECURITY_STARTTLS,
    "none": SECURITY_NONE,
    "plain": SECURITY_NONE,
    "": None,
}


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    security: str
    username: str | None = None
    password: str | None = None
    xoauth2: bool = False  # password is an OAuth2 access token (AUTH XOAUTH2)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


class TemporaryFailure(Exception):
    """Try again later: the relay is down, busy, or answered 4xx."""


class PermanentFailure(Exception):
    """Do not try again: the relay refused the mail or its recipients with 5xx."""


class HeldForReconnect(Exception):
    """The mailbox's OAuth2 grant is revoked: its mail waits (no attempt counted) until an
    admin connects the mailbox again."""


def global_relay() -> Relay:
    cfg = current_app.config
    if cfg.get("MAIL_USE_SSL"):
        security = SECURITY_SSL
    elif cfg.get("MAIL_USE_TLS"):
        security = SECURITY_STARTTLS
    else:
        security = SECURITY_NONE
    return Relay(
        cfg.get("MAIL_SERVER") or "127.0.0.1",
        int(cfg.get("MAIL_PORT") or 25),
        security,
        cfg.get("MAIL_USERNAME") or None,
        cfg.get("MAIL_PASSWORD") or None,
    )


def relay_for(mailbox) -> Relay:
    """The mailbox's own relay when it names a host, else the global one."""
    if mailbox is None or not (mailbox.smtp_host or "").strip():
        return global_relay()
    raw = (mailbox.smtp_security or "").strip().lower()
    security = _SECURITY_ALIASES.get(raw, "?") or SECURITY_STARTTLS
    if security == "?":
        raise PermanentFailure(
            f"mailbox {mailbox.address}: unknown smtp_security {mailbox.smtp_security!r} "
            "(use ssl, starttls or none)"
        )
    host, port = mailbox.smtp_host.strip(), int(mailbox.smtp_port or _DEFAULT_PORTS[security])
    if oauth.is_oauth(mailbox):
        # The same grant serves fetching and sending (XOAUTH2); refreshed when due.
        try:
            token = oauth.fresh_access_token(mailbox)
        except oauth.ReconnectNeeded as exc:
            raise HeldForReconnect(str(exc)) from None
        except DeskError as exc:  # the token endpoint is down: like a relay that is down
            raise TemporaryFailure(str(exc)) from None
        username = mailbox.smtp_username or mailbox.inbound_username or mailbox.address
        return Relay(host, port, security, username, token, xoauth2=True)
    return Relay(host, port, security, mailbox.smtp_username or None, mailbox.smtp_secret or None)


def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=setting("MAIL_TLS_CA_FILE") or None)


class SmtpSession:
    """One connection to one relay, reused for every mail of a delivery round."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        relay, timeout = self.relay, setting("OUTBOX_SMTP_TIMEOUT")
        try:
            if relay.security == SECURITY_SSL:
                smtp = smtplib.SMTP_SSL(
                    relay.host, relay.port, timeout=timeout, context=tls_context()
                )
            else:
                smtp = smtplib.SMTP(relay.host, relay.port, timeout=timeout)
            smtp.ehlo_or_helo_if_needed()
            if relay.security == SECURITY_STARTTLS:
                smtp.starttls(context=tls_context())
                smtp.ehlo()
            if relay.xoauth2:
                initial = oauth.xoauth2_string(relay.username or "", relay.password or "")
                # On a refused token the server sends a 334 with details; answer it empty.
                smtp.auth("XOAUTH2", lambda challenge=None: "" if challenge else initial)
            elif relay.username:
                smtp.login(relay.username, relay.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(f"{relay.label}: login refused: {_reply(exc)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TemporaryFailure(f"{relay.label}: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, timeout, TLS, 4xx greeting
            raise TemporaryFailure(f"{relay.label}: cannot connect: {_describe(exc)}") from None
        self.smtp = smtp

    def send(self, envelope_from: str, recipients: list[str], content: bytes) -> str:
        """Hand one mail to the relay; return its answer to DATA ('250 ...')."""
        smtp = self.smtp
        try:
            code, resp = smtp.mail(envelope_from)
            if code != 250:
                self._reset()
                raise _failure(code, f"sender {envelope_from or '<>'} refused", resp)
            refused = {}
            for rcpt in recipients:
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, resp)
            if len(refused) == len(recipients):
                self._reset()
                codes = [c for c, _ in refused.values()]
                text = "; ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in refused.items())
                if all(c >= 500 for c in codes):
                    raise PermanentFailure(f"all recipients refused: {text}")
                raise TemporaryFailure(f"recipients refused: {text}")
            code, resp = smtp.data(content)
            if code != 250:
                self._reset()
                raise _failure(code, "message refused", resp)
        except (TemporaryFailure, PermanentFailure):
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TemporaryFailure(f"{self.relay.label}: {_describe(exc)}") from None
        reply = f"{code} {_text(resp)}"
        if refused:
            reply += "; refused: " + ", ".join(f"{r} ({c})" for r, (c, _) in refused.items())
        return reply[:512]

    @property
    def alive(self) -> bool:
        return self.smtp is not None

    def _reset(self) -> None:
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            try:
                self.smtp.close()
            except OSError:
                pass
        self.smtp = None


def _text(resp) -> str:
    if isinstance(resp, bytes):
        return resp.decode("utf-8", "replace")
    return str(resp)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message or exc}"
    if isinstance(exc, socket.timeout):
        return "timed out"
    return str(exc) or type(exc).__name__


def _failure(code: int, what: str, resp) -> Exception:
    text = f"{what}: {code} {_text(resp)}"
    return PermanentFailure(text) if code >= 500 else TemporaryFailure(text)

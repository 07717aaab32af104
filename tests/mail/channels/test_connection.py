"""How the channels connect: verified TLS, no clear-text passwords off loopback, XOAUTH2."""

from __future__ import annotations

import base64
import ssl

import pytest
from imap_tools.mailbox import BaseMailBox

from app.mail.channels import imap, pop3
from app.mail.channels.common import ChannelError, server_address, tls_context
from app.mailcore.models import Mailbox


def mailbox(**settings) -> Mailbox:
    values = dict(
        address="support@desk.test",
        inbound_protocol="imap",
        inbound_host="imap.example.test",
        inbound_security="ssl",
        inbound_username="support@desk.test",
        inbound_secret="token-123",
        inbound_auth="password",
    )
    values.update(settings)
    return Mailbox(**values)


def test_tls_context_verifies_certificate_and_host_name(app):
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_imap_ssl_connection_gets_the_verifying_context(app, monkeypatch):
    seen = {}

    class FakeMailBox:
        def __init__(self, host, port, timeout=None, ssl_context=None):
            seen.update(host=host, port=port, context=ssl_context)

    monkeypatch.setattr(imap, "MailBox", FakeMailBox)
    imap.connect(mailbox())
    assert seen["host"] == "imap.example.test" and seen["port"] == 993
    assert seen["context"].verify_mode == ssl.CERT_REQUIRED and seen["context"].check_hostname


def test_pop3_ssl_connection_gets_the_verifying_context(app, monkeypatch):
    seen = {}

    class FakePop3:
        def __init__(self, host, port, timeout=None, context=None):
            seen.update(host=host, port=port, context=context)

    monkeypatch.setattr(pop3.poplib, "POP3_SSL", FakePop3)
    pop3.connect(mailbox(inbound_protocol="pop3"))
    assert seen["port"] == 995
    assert seen["context"].verify_mode == ssl.CERT_REQUIRED and seen["context"].check_hostname


def test_clear_text_is_refused_for_a_remote_host(app):
    with pytest.raises(ChannelError, match="only allowed for loopback"):
        server_address(mailbox(inbound_security="none"), ssl_port=993, plain_port=143)
    assert server_address(
        mailbox(inbound_security="none", inbound_host="127.0.0.1"), ssl_port=993, plain_port=143
    ) == ("127.0.0.1", 143, "none")


def test_unknown_security_and_missing_host_are_clear_errors(app):
    with pytest.raises(ChannelError, match="unknown inbound security 'tls13'"):
        server_address(mailbox(inbound_security="tls13"), ssl_port=993, plain_port=143)
    with pytest.raises(ChannelError, match="has no inbound host"):
        server_address(mailbox(inbound_host=""), ssl_port=993, plain_port=143)


class FakeImapClient:
    """Just enough imaplib for imap-tools' login paths."""

    def __init__(self):
        self.calls = []
        self.state = "NONAUTH"

    def authenticate(self, mechanism, callback):
        self.calls.append(("AUTHENTICATE", mechanism, callback(None)))
        return "OK", [b"Logged in"]

    def _simple_command(self, name, *args):
        self.calls.append((name, *args))
        return "OK", [b"Logged in"]

    def _quote(self, value):
        return f'"{value}"'


class FakeMailBox(BaseMailBox):
    def _get_mailbox_client(self):
        return FakeImapClient()


def test_imap_xoauth2_sends_the_sasl_string_with_the_access_token(app):
    conn = FakeMailBox()
    imap.login(
        conn,
        mailbox(
            inbound_auth="xoauth2", inbound_username="desk@corp.test", inbound_secret="ya29.token"
        ),
    )
    assert conn.client.calls == [
        ("AUTHENTICATE", "XOAUTH2", "user=desk@corp.test\x01auth=Bearer ya29.token\x01\x01")
    ]


def test_imap_password_login_uses_login(app):
    conn = FakeMailBox()
    imap.login(conn, mailbox(inbound_secret="s3cret"))
    assert conn.client.calls == [("LOGIN", '"support@desk.test"', '"s3cret"')]


def test_pop3_xoauth2_sends_base64_sasl(app):
    class FakePop3:
        def __init__(self):
            self.commands = []

        def _shortcmd(self, line):
            self.commands.append(line)
            return b"+OK"

    conn = FakePop3()
    pop3.login(conn, mailbox(inbound_auth="xoauth2", inbound_secret="tok"))
    (command,) = conn.commands
    verb, mechanism, payload = command.split()
    assert (verb, mechanism) == ("AUTH", "XOAUTH2")
    assert base64.b64decode(payload) == b"user=support@desk.test\x01auth=Bearer tok\x01\x01"


def test_imap_delete_policy_is_refused_with_a_reason(app):
    with pytest.raises(ChannelError, match="not possible over IMAP"):
        imap.ServerActions(FakeMailBox(), mailbox(inbound_after_fetch="delete"))

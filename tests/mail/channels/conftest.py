"""Fixtures for the fetch tests: a real Dovecot on loopback and mailboxes that point at it."""

from __future__ import annotations

import pytest

from tests.servers.dovecot import start_dovecot, unavailable_reason


@pytest.fixture(scope="session")
def dovecot():
    """One Dovecot (IMAP + POP3) for the session; each test adds its own user."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture
def dovecot_user(dovecot):
    return dovecot.add_user()

"""The outbox tests deliver to an SMTP sink on loopback (tests/support/smtp.py)."""

from __future__ import annotations

import pytest

from tests.support.smtp import Sink

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="needs aiosmtpd (requirements-dev)")


@pytest.fixture
def sink():
    server = Sink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, sink):
    app_config.update(
        {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": sink.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_DOMAIN": "desk.test",
            "OUTBOX_ENQUEUE_ON_COMMIT": False,
            "OUTBOX_SMTP_TIMEOUT": 5,
        }
    )
    return app_config

"""Consultation tests: the small desk plus two departments, and delivery to an SMTP sink on
loopback (tests/support/smtp.py), so the department's mail is the one a relay accepted."""

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


@pytest.fixture
def departments(desk):
    """Legal (answers within 48 hours, German reminders) and Finance (4 hours)."""
    from app.consultation.models import Department
    from app.extensions import db

    desk.legal = Department(
        name="Legal", email="legal@company.test", response_hours=48, language="de"
    )
    desk.finance = Department(name="Finance", email="finance@company.test", response_hours=4)
    db.session.add_all([desk.legal, desk.finance])
    db.session.commit()
    return desk

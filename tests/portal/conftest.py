"""Fixtures of the portal tests: the small desk, the mails it queued, and a way to read them."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from app.extensions import db
from app.outbox.models import OutboxMail
from tests.support.questionnaires import make_questionnaire


def mail_text(mail: OutboxMail) -> str:
    message = email.message_from_bytes(mail.content, policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def mails_to(address: str) -> list[OutboxMail]:
    return db.session.query(OutboxMail).filter_by(recipient=address).order_by(OutboxMail.id).all()


def link_in(mail: OutboxMail, path: str) -> str:
    """The path of the first link to ``path`` in the mail (``/portal/login/`` …)."""
    found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\S+)", mail_text(mail))
    assert found, mail_text(mail)
    return found.group(1)


def csrf_free(app):
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def surveyed(desk):
    """The small desk with an exit survey on pool A: a rating (required) and a free text."""
    questionnaire = make_questionnaire(
        [("How did we do?", "rating", True), ("Anything else?", "text", False)],
        pool=desk.pool_a,
        name="Exit survey",
        purpose="exit_survey",
    )
    db.session.commit()
    desk.rating = questionnaire.questions[0]
    desk.free_text = questionnaire.questions[1]
    return desk

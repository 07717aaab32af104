"""Fixtures of the answering tests: a desk with templates, layouts, a signature with a JPEG,
library documents, and a spy on ``queue_mail`` that records every mail handed to the outbox."""

from __future__ import annotations

import pytest

from tests.support.questionnaires import make_questionnaire
from tests.support.records import TINY_JPEG, agent_profile


class MailSpy:
    """Records the keyword arguments of each ``queue_mail`` call (and still queues it)."""

    def __init__(self):
        self.calls: list[dict] = []

    def of_kind(self, kind: str) -> list[dict]:
        return [c for c in self.calls if c["kind"] == kind]


@pytest.fixture
def mails(monkeypatch):
    from app.outbox import services as outbox

    spy = MailSpy()
    original = outbox.queue_mail

    def recording_queue_mail(**kwargs):
        spy.calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(outbox, "queue_mail", recording_queue_mail)
    return spy


@pytest.fixture
def answering(desk):
    """The small desk plus: a greeting template (en, de), pool A's header and footer, agent_a's
    signature with a JPEG, a document with two versions, a wrap-up questionnaire on pool A."""
    from app.answering.models import (
        AgentSignature,
        Document,
        DocumentVersion,
        PoolLayout,
        ResponseTemplate,
    )
    from app.extensions import db

    db.session.add_all(
        [
            ResponseTemplate(
                name="greeting",
                language="en",
                subject="About {{ case_subject }}",
                body="Thanks for case {{ case_number }}, {{ customer_name }}. Due {{ due_date }}.",
            ),
            ResponseTemplate(
                name="greeting",
                language="de",
                subject="Zu {{ case_subject }}",
                body="Danke für Fall {{ case_number }}, {{ customer_name }}.",
            ),
            PoolLayout(
                pool=desk.pool_a,
                language="en",
                header="Dear {{ customer_name }},",
                footer="Kind regards, {{ pool_name }}\nPolicy: we never ask for passwords.",
            ),
            PoolLayout(
                pool=desk.pool_a,
                language="de",
                header="Hallo {{ customer_name }},",
                footer="Viele Grüße, {{ pool_name }}",
            ),
        ]
    )
    sig = AgentSignature(
        agent=agent_profile(desk.user("agent_a")), text="{{ agent_name }}, Printer support"
    )
    from app.answering.documents import set_signature_image

    set_signature_image(sig, TINY_JPEG)
    db.session.add(sig)
    doc = Document(name="Price list")
    db.session.add(doc)
    db.session.flush()
    for number, content in ((1, b"old prices"), (2, b"new prices")):
        db.session.add(
            DocumentVersion(
                document=doc,
                version=number,
                filename=f"prices-v{number}.txt",
                content_type="text/plain",
                size=len(content),
                sha256=f"{number:064d}",
                content=content,
            )
        )
    make_questionnaire(
        [("Was the customer satisfied?", "text", True), ("Follow-up needed?", "text", False)],
        pool=desk.pool_a,
    )
    db.session.commit()
    desk.document = doc
    return desk

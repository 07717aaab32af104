"""GDPR erasure leaves no trace of the person: a scan of every text and binary column of every
table, of every file under FILE_STORE (inside ZIPs too) and of the mail spool finds neither his
name, nor his address, nor a phrase only his mail contained; everybody else's data stays, no
row is deleted, and one Event says who erased and why."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask_appbuilder import Model
from sqlalchemy import JSON, LargeBinary, String, Text, func, select, text

from app.answering import replies
from app.audit.actor import acting_as
from app.audit.models import Event
from app.cases import actions
from app.cases.models import Case, CaseIntakeAnswer, Message
from app.core.timeutil import utcnow
from app.customers.models import Customer
from app.customers.signals import personal_data_erased
from app.errors import Forbidden
from app.extensions import db
from app.mail import intake
from app.mail.models import Attachment, RawMessage
from app.portal.models import PortalLoginLink
from app.privacy import services
from app.questionnaires.models import Answer
from app.webhooks.models import WebhookEventType, WebhookSubscription
from reports.models import ReportRun
from tests.mail.helpers import make_mail
from tests.support.questionnaires import make_questionnaire

NAME = "Zelda Quixote"
ADDRESS = "zelda.quixote@windmill.test"
PHRASE = "the purple lighthouse sings at dawn"
NEEDLES = (NAME, "Quixote", ADDRESS, PHRASE)
# Bob's (desk.customer_b) mail: it must survive Zelda's erasure.
BOB_PHRASE = "Help with: Invoice wrong"


@pytest.fixture
def app_config(app_config, tmp_path):
    app_config["MAIL_SPOOL_DIR"] = str(tmp_path / "spool")
    return app_config


def _first_mail() -> bytes:
    """A mail from Zelda with an attachment, large enough to be kept as a file in the store."""
    msg = EmailMessage()
    msg["From"] = f"{NAME} <{ADDRESS}>"
    msg["To"] = "a@desk.test"
    msg["Subject"] = "Lighthouse invoice for Quixote"
    msg["Message-ID"] = "<first-zelda@windmill.test>"
    msg["Date"] = "Sun, 22 Nov 2026 10:00:00 +0000"
    msg.set_content(f"Hello, {PHRASE}. Regards, {NAME}\n")
    msg.add_attachment(
        (f"{PHRASE}\npassport of {NAME}\n" + "x" * (1 << 20)).encode(),
        maintype="application",
        subtype="octet-stream",
        filename="quixote-passport.txt",
    )
    return msg.as_bytes()


def _scan(app) -> list[str]:
    """Where the person's strings still are: ``table.column`` or a file's path."""
    needles = [n.lower() for n in NEEDLES]
    hits: set[str] = set()

    def look(where: str, data) -> None:
        if isinstance(data, bytes):
            if zipfile.is_zipfile(io.BytesIO(data)):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for name in archive.namelist():
                        look(f"{where}!{name}", archive.read(name))
            data = data.decode("utf-8", "replace")
        elif not isinstance(data, str):
            data = json.dumps(data)
        lowered = data.lower()
        for needle in needles:
            if needle in lowered:
                hits.add(where)

    with db.engine.connect() as conn:
        for table in Model.metadata.sorted_tables:
            columns = [
                c for c in table.columns if isinstance(c.type, (String, Text, JSON, LargeBinary))
            ]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        look(f"{table.name}.{column.name}", value)
    for folder in (app.config["FILE_STORE"], app.config["MAIL_SPOOL_DIR"]):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                look(str(path.relative_to(folder)), path.read_bytes())
    return sorted(hits)


def _row_counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar()
            for t in Model.metadata.sorted_tables
        }


def _build_zelda(app, desk):
    """Zelda's history: mails in (one large, with an attachment; a reply; an auto-reply that
    reached no case), a reply out, a note, a consultation quoting her, a corrected name,
    intake and survey answers, a report file covering her case, a spooled mail."""
    agent = desk.user("agent_a")
    # A CRM subscribed to everything: the webhook outbox gets his data too.
    db.session.add(
        WebhookSubscription(
            name="CRM",
            url="http://127.0.0.1:9/hook",
            secret="s3cret",
            event_types=list(WebhookEventType),
        )
    )
    db.session.commit()
    with acting_as(None):
        first = intake.receive(_first_mail(), mailbox=desk.mailbox_a, source="test")
    case = db.session.get(Case, first.case_id)
    customer = case.customer
    assert customer.email == ADDRESS
    with acting_as(agent):
        actions.claim(case)
        replies.reply(case, text=f"Dear {NAME}, about '{PHRASE}': it is fixed.")
        actions.add_note(case, f"{NAME} called again about {PHRASE}.")
        db.session.commit()
    with acting_as(None):
        intake.receive(
            make_mail(
                sender=f"{NAME} <{ADDRESS}>",
                subject="Re: Lighthouse invoice",
                body=f"Thanks! Still: {PHRASE}.",
                in_reply_to="<first-zelda@windmill.test>",
            ),
            mailbox=desk.mailbox_a,
            source="test",
        )
        intake.receive(
            make_mail(
                sender=ADDRESS,
                subject=f"Automatic reply: {NAME} is away",
                body=f"I am away. {PHRASE}",
                headers={"Auto-Submitted": "auto-replied"},
            ),
            mailbox=desk.mailbox_a,
            source="test",
        )
    with acting_as(desk.user("admin")):
        customer.name = "Zelda Q. Quixote"  # an Event keeps the old and the new name
        db.session.commit()
    survey = make_questionnaire(
        [("Anything else?", "text", False)], name="Exit", purpose="exit_survey"
    )
    db.session.add_all(
        [
            CaseIntakeAnswer(
                case=case, field_key="details", label="Details", value_text=PHRASE, value_key=PHRASE
            ),
            Answer(
                case=case,
                question=survey.questions[0],
                questionnaire=survey,
                value_text=f"{PHRASE}, says {NAME}",
                context="survey",
            ),
        ]
    )
    today = utcnow().date()
    reports = Path(app.config["FILE_STORE"]) / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "covering.csv").write_text(f"customer,{NAME},{ADDRESS}\n")
    (reports / "old.csv").write_text("cases,3\n")
    covering = ReportRun(
        report="desk",
        status="done",
        path="reports/covering.csv",
        parameters={"since": (today - timedelta(days=7)).isoformat(), "until": today.isoformat()},
    )
    old = ReportRun(
        report="desk",
        status="done",
        path="reports/old.csv",
        parameters={"since": "2020-01-01", "until": "2020-01-31"},
    )
    db.session.add_all([covering, old])
    db.session.add(
        PortalLoginLink(
            customer=customer,
            secret_sha256="0" * 64,
            expires_at=utcnow() + timedelta(hours=1),
            requested_from="203.0.113.7",
        )
    )
    db.session.commit()
    rejected = Path(app.config["MAIL_SPOOL_DIR"]) / "rejected"
    rejected.mkdir(parents=True)
    (rejected / "1.mail").write_bytes(
        b'LOOPDESK-SPOOL/1 {"mailbox": "a@desk.test"}\n'
        + make_mail(sender=ADDRESS, body=PHRASE, subject="Spooled")
    )
    return case, customer, covering, old


def test_erasure_leaves_no_trace_of_the_person(app, desk):
    case, customer, covering, old = _build_zelda(app, desk)
    before = _scan(app)
    # The scan finds him everywhere he was put (else it would prove nothing).
    for where in (
        "customer.email",
        "case.subject",
        "message.body_text",
        "message.from_address",
        "raw_message.content",
        "outbox_mail.content",
        "event.old_value",
        "reply.body",
        "webhook_delivery.body",
        "case_intake_answer.value_text",
        "questionnaire_answer.value_text",
        "reports/covering.csv",
        "rejected/1.mail",
    ):
        assert where in before, (where, before)
    assert any(len(Path(w).name) == 64 for w in before), "an attachment or raw file in the store"
    counts = _row_counts()
    received = []
    personal_data_erased.connect(lambda sender, **kw: received.append((sender.id, kw)), weak=False)

    done = services.erase_customer(customer, desk.user("admin"), f"Request of {NAME}, 2026-12-01")

    assert _scan(app) == []
    assert done.counts["cases"] == 1 and done.counts["raw mails"] >= 3
    # Nothing deleted: every table has as many rows as before, plus the erasure's Event.
    after = _row_counts()
    assert after.pop("event") == counts.pop("event") + 1
    assert after == counts
    # The case stays, as statistics know it; the customer row too, without him.
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.number and case.status and case.subject == services.ERASED
    customer = db.session.get(Customer, customer.id)
    assert customer.email == services.erased_address(customer.id) and customer.name is None
    assert case.customer_id == customer.id
    # Bob's mail is untouched.
    assert db.session.scalar(select(Message.id).where(Message.body_text == BOB_PHRASE))
    # Attachments point at the placeholder file, which the desk can still serve.
    attachment = db.session.scalars(
        select(Attachment).join(Message).where(Message.case_id == case.id)
    ).one()
    assert attachment.filename == services.PLACEHOLDER_FILENAME
    from app.mail import store

    assert store.read_blob(attachment.sha256) == services.PLACEHOLDER_FILE
    link = db.session.scalars(select(PortalLoginLink)).one()
    assert link.requested_from is None and link.customer_id == customer.id
    # The report run covering her lost its file and says why; the old one kept its file.
    covering, old = db.session.get(ReportRun, covering.id), db.session.get(ReportRun, old.id)
    assert covering.path is None and "erased" in covering.error
    assert old.path == "reports/old.csv"
    assert (Path(app.config["FILE_STORE"]) / "reports/old.csv").exists()
    # One Event: who, when, why (the reason cleaned of his name), never what.
    event = db.session.scalars(select(Event).where(Event.action == "personal_data_erased")).one()
    assert event.actor_id == desk.user("admin").id and event.object_id == customer.id
    assert event.details["reason"] == f"Request of {services.ERASED}, 2026-12-01"
    # The search index's hook was told, with his cases.
    assert received == [(customer.id, {"case_ids": [case.id]})]
    # The workspace still opens (placeholders, no error).
    client = app.test_client()
    client.post("/login/", data={"username": "admin", "password": "pw-admin"})
    page = client.get(f"/cases/show/{case.id}")
    assert page.status_code == 200
    assert services.PLACEHOLDER_BODY.replace("'", "&#39;") in page.get_data(as_text=True)


def test_erasure_is_for_admins_and_needs_a_reason(app, desk):
    customer = desk.customer_a
    for username in ("manager", "supervisor_a", "agent_a"):
        with pytest.raises(Forbidden):
            services.erase_customer(customer, desk.user(username), "asked")
    with pytest.raises(Exception, match="Say why"):
        services.erase_customer(customer, desk.user("admin"), "  ")
    assert db.session.get(Customer, customer.id).email == "alice@customer.test"


def test_events_stay_unchangeable_outside_an_erasure(app, desk):
    """The trigger's exception is narrow: outside the permit an Event cannot be edited, by
    the ORM or by SQL; deletes stay refused inside the permit too."""
    from app.core.permits import erasure_permit

    event_id = db.session.scalar(select(Event.id).limit(1))
    with pytest.raises(Exception, match="never edited|permanent"):
        db.session.execute(
            text("UPDATE event SET actor_name = 'x' WHERE id = :id"), {"id": event_id}
        )
    db.session.rollback()
    with erasure_permit(db.session):
        db.session.execute(
            text("UPDATE event SET actor_name = 'x' WHERE id = :id"), {"id": event_id}
        )
        with pytest.raises(Exception, match="never deleted"):
            db.session.execute(text("DELETE FROM message"))
    db.session.rollback()
    with pytest.raises(Exception, match="never edited|permanent"):
        db.session.execute(
            text("UPDATE event SET actor_name = 'y' WHERE id = :id"), {"id": event_id}
        )
    db.session.rollback()


def test_the_erase_page_asks_for_the_address_and_is_admins_only(app, desk, client, auth):
    customer = desk.customer_a
    url = f"/privacy/customer/{customer.id}/erase"
    for username in ("manager", "supervisor_a", "agent_a"):
        auth.login(username)
        assert client.get(url).status_code == 403
        assert (
            client.post(url, data={"reason": "r", "confirm_address": customer.email}).status_code
            == 403
        )
        auth.logout()
    auth.login("admin")
    page = client.get(url)
    assert page.status_code == 200 and b"Type his address" in page.data
    wrong = client.post(url, data={"reason": "asked by mail", "confirm_address": "alice@x.test"})
    assert wrong.status_code == 400 and b"exactly" in wrong.data
    assert db.session.get(Customer, customer.id).email == "alice@customer.test"
    done = client.post(
        url, data={"reason": "asked by mail", "confirm_address": "ALICE@customer.test"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).email.endswith("@erased.invalid")
    shown = client.get(f"/customers/show/{customer.id}")
    assert b"Personal data erased" in shown.data or shown.status_code == 200


def test_raw_mail_rows_are_kept_with_a_placeholder(app, desk):
    with acting_as(None):
        result = intake.receive(
            make_mail(sender=ADDRESS, body=PHRASE, subject="Hi"), mailbox=desk.mailbox_a, source="t"
        )
    customer = db.session.scalars(select(Customer).where(Customer.email == ADDRESS)).one()
    services.erase_customer(customer, desk.user("admin"), "asked")
    raw = db.session.get(RawMessage, result.raw_id)
    assert raw.case_id == result.case_id and raw.status == "processed"
    assert PHRASE.encode() not in raw.content and b"erased" in raw.content

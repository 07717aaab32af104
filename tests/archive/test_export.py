"""Right of access: the export is a ZIP with everything held about the customer (his details,
his cases with their messages, answers and history, his raw mails and attachments), for
admins only, and leaves an Event."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from app.audit.actor import acting_as
from app.audit.models import Event
from app.cases.models import Case
from app.errors import Forbidden
from app.extensions import db
from app.mail import intake
from app.privacy import services
from tests.archive.test_erasure import ADDRESS, NAME, PHRASE, _first_mail


def _zelda(desk):
    with acting_as(None):
        result = intake.receive(_first_mail(), mailbox=desk.mailbox_a, source="test")
    return db.session.get(Case, result.case_id)


def test_the_export_holds_his_data(app, desk):
    case = _zelda(desk)
    data = services.export_customer(case.customer, desk.user("admin"))
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    customer = json.loads(archive.read("customer.json"))
    assert customer["email"] == ADDRESS and customer["name"] == NAME
    cases = json.loads(archive.read("cases.json"))
    assert [c["number"] for c in cases] == [case.number]
    message = cases[0]["messages"][0]
    assert PHRASE in message["body_text"]
    assert cases[0]["history"][0]["what"] == "Case opened"
    raw = [n for n in names if n.startswith("raw/")]
    assert len(raw) == 1 and PHRASE.encode() in archive.read(raw[0])
    attachment = message["attachments"][0]
    assert attachment["filename"] == "quixote-passport.txt"
    assert archive.read(attachment["file"]).startswith(PHRASE.encode())
    # Bob's case is not in Zelda's export.
    assert desk.case_b.number not in archive.read("cases.json").decode()
    event = db.session.scalars(select(Event).where(Event.action == "personal_data_exported")).one()
    assert event.object_id == case.customer_id and event.actor_id == desk.user("admin").id


@pytest.mark.parametrize("username", ["manager", "supervisor_a", "agent_a"])
def test_only_admins_export(app, desk, username):
    with pytest.raises(Forbidden):
        services.export_customer(desk.customer_a, desk.user(username))


def test_the_export_door(app, desk, client, auth):
    url = f"/privacy/customer/{desk.customer_a.id}/export"
    auth.login("agent_a")
    assert client.post(url).status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get(url).status_code == 405  # a POST (CSRF-protected form), not a link
    response = client.post(url)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert json.loads(archive.read("customer.json"))["email"] == "alice@customer.test"
    page = client.get(f"/customers/show/{desk.customer_a.id}")
    assert b'id="customer-export"' in page.data and b'id="customer-erase"' in page.data

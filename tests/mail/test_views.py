"""Quarantine, raw mail, attachments and category rules in the UI: record rules apply."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.cases.models import Case
from app.extensions import db
from app.mail import intake_batch
from app.mail.intake import receive
from app.mail.models import CategoryRule, RawMessage
from app.organisation.models import Skill
from tests.mail.helpers import make_mail
from tests.mail.test_parsing import mail_with_attachment


@pytest.fixture
def quarantined(desk, monkeypatch):
    """One quarantined mail in mailbox A (pool A) and one in mailbox B (pool B)."""

    def boom(*args, **kwargs):
        raise RuntimeError("cannot parse this one")

    monkeypatch.setattr(intake_batch, "parse_stored", boom)
    a = receive(make_mail(subject="qa"), mailbox=desk.mailbox_a, source="t")
    b = receive(make_mail(subject="qb"), mailbox=desk.mailbox_b, source="t")
    monkeypatch.undo()
    return a.raw_id, b.raw_id


def test_supervisor_sees_and_downloads_quarantine_of_his_pools_only(quarantined, auth, client):
    raw_a, raw_b = quarantined
    auth.login("supervisor_a")
    page = client.get("/quarantine/list/")
    assert page.status_code == 200
    assert b"cannot parse this one" in page.data
    assert f"/quarantine/show/{raw_a}".encode() in page.data
    assert f"/quarantine/show/{raw_b}".encode() not in page.data
    download = client.get(f"/raw-mail/download/{raw_a}")
    assert download.status_code == 200 and b"Subject: qa" in download.data
    assert client.get(f"/raw-mail/download/{raw_b}").status_code == 404


def test_agent_cannot_see_or_download_raw_mail(quarantined, auth, client):
    raw_a, _ = quarantined
    auth.login("agent_a")
    for url in (
        "/quarantine/list/",
        "/raw-mail/list/",
        f"/raw-mail/download/{raw_a}",
        f"/raw-mail/show/{raw_a}",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Subject: qa" not in response.data, url
        assert b"cannot parse this one" not in response.data, url


def test_supervisor_reprocesses_from_the_quarantine(quarantined, auth, client):
    raw_a, raw_b = quarantined
    auth.login("supervisor_a")
    response = client.post(f"/raw-mail/action/reprocess/{raw_a}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(RawMessage, raw_a).status == "processed"
    assert client.post(f"/raw-mail/action/reprocess/{raw_b}").status_code == 404
    db.session.expire_all()
    assert db.session.get(RawMessage, raw_b).status == "quarantined"


def test_attachment_download_follows_the_case_rules(desk, auth, client):
    result = receive(
        mail_with_attachment("plan.pdf", "application/pdf", b"%PDF-1.4 plan"),
        mailbox=desk.mailbox_a,
        source="t",
    )
    att_id = db.session.get(Case, result.case_id).messages[0].attachments[0].id
    auth.login("agent_a")
    response = client.get(f"/mail/attachment/{att_id}")
    assert response.status_code == 200 and response.data == b"%PDF-1.4 plan"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    auth.logout()
    auth.login("agent_b")
    assert client.get(f"/mail/attachment/{att_id}").status_code == 404


def test_category_rule_routes_new_cases(desk):
    skill = Skill(name="Refunds")
    db.session.add(skill)
    db.session.add(
        CategoryRule(
            name="refunds to B",
            position=1,
            owner_pool=desk.pool_a,
            body_keywords="refund, money back",
            set_pool=desk.pool_b,
            set_skill=skill,
            set_priority=4,
        )
    )
    db.session.add(
        CategoryRule(name="inactive", position=0, active=False, subject_contains="", set_priority=1)
    )
    db.session.commit()
    hit = db.session.get(
        Case,
        receive(make_mail(body="I want my money back"), mailbox=desk.mailbox_a, source="t").case_id,
    )
    assert hit.pool == desk.pool_b and hit.required_skill == skill and hit.priority == 4
    miss = db.session.get(
        Case,
        receive(make_mail(body="Where is my parcel?"), mailbox=desk.mailbox_a, source="t").case_id,
    )
    assert miss.pool == desk.pool_a and miss.priority == 2
    # A rule of pool A does not route mail that arrives in pool B's mailbox.
    other = db.session.get(
        Case, receive(make_mail(body="refund please"), mailbox=desk.mailbox_b, source="t").case_id
    )
    assert other.required_skill is None


def test_category_rules_view_is_for_supervisors_of_the_pool(desk, auth, client):
    db.session.add(
        CategoryRule(
            name="rule of A",
            position=1,
            owner_pool=desk.pool_a,
            header_name="X-Tier",
            header_value="gold",
        )
    )
    db.session.add(CategoryRule(name="rule of B", position=1, owner_pool=desk.pool_b))
    db.session.commit()
    auth.login("supervisor_a")
    page = client.get("/category-rules/list/")
    assert b"rule of A" in page.data and b"rule of B" not in page.data
    created = client.post(
        "/category-rules/add",
        data={
            "name": "vip",
            "position": "5",
            "active": "y",
            "owner_pool": str(desk.pool_a.id),
            "subject_contains": "VIP",
            "set_priority": "4",
        },
        follow_redirects=True,
    )
    assert created.status_code == 200
    assert db.session.scalar(select(CategoryRule).where(CategoryRule.name == "vip"))
    auth.logout()
    auth.login("agent_a")
    assert b"rule of A" not in client.get("/category-rules/list/").data


def test_admin_sees_every_quarantined_mail_and_its_details(quarantined, auth, client):
    raw_a, raw_b = quarantined
    auth.login("admin")
    page = client.get("/quarantine/list/")
    assert f"/quarantine/show/{raw_a}".encode() in page.data
    assert f"/quarantine/show/{raw_b}".encode() in page.data
    detail = client.get(f"/quarantine/show/{raw_b}")
    assert detail.status_code == 200 and b"cannot parse this one" in detail.data

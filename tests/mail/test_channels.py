"""The channels into the intake: MTA pipe, webhook, bulk import, scripted mailboxes, stats."""

from __future__ import annotations

import json
import mailbox as mailbox_lib

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.mail.models import RawMessage
from app.mail.webhook import sign
from app.mailcore import identity
from app.mailcore.models import Mailbox
from app.organisation.models import Pool
from tests.mail.helpers import make_mail


def _raw_count():
    return db.session.scalar(select(func.count(RawMessage.id)))


# --- pipe -------------------------------------------------------------------------------------


def test_pipe_stores_and_exits_zero(desk, runner):
    result = runner.invoke(
        args=["mail", "pipe", "--mailbox", "a@desk.test"], input=make_mail(subject="via pipe")
    )
    assert result.exit_code == 0, result.output
    assert "processed" in result.output
    row = db.session.scalar(select(RawMessage).order_by(RawMessage.id.desc()))
    assert row.source == "pipe" and row.case.subject == "via pipe"


def test_pipe_honours_plus_address_recipient(desk, runner):
    plus = identity.plus_address("a@desk.test", desk.case_a.id)
    result = runner.invoke(
        args=["mail", "pipe", "--mailbox", "a@desk.test", "--recipient", plus],
        input=make_mail(sender="helper@x.test", subject="about it"),
    )
    assert result.exit_code == 0, result.output
    row = db.session.scalar(select(RawMessage).order_by(RawMessage.id.desc()))
    assert row.case_id == desk.case_a.id


def test_pipe_quarantined_counts_as_stored(desk, runner):
    result = runner.invoke(
        args=["mail", "pipe", "--mailbox", "unknown@nowhere.test"], input=make_mail()
    )
    assert result.exit_code == 0
    assert "quarantined" in result.output


def test_pipe_returns_75_when_the_database_fails_and_stores_nothing(desk, runner, monkeypatch, app):
    from sqlalchemy.exc import OperationalError

    from app.mail import store

    before = _raw_count()

    def failing_commit():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    from sqlalchemy.orm import Session

    monkeypatch.setattr(Session, "commit", lambda self: failing_commit())
    big = make_mail(body="x" * (2 << 20))  # big enough for the file store
    result = runner.invoke(args=["mail", "pipe", "--mailbox", "a@desk.test"], input=big)
    assert result.exit_code == 75
    assert "retry" in result.output
    monkeypatch.undo()
    db.session.rollback()
    assert _raw_count() == before
    # The 2 MB mail went through the file store (it made the folder), and left no file there:
    # neither the temporary file nor the renamed one of the failed store.
    assert store.root().is_dir()
    assert [p for p in store.root().rglob("*") if p.is_file()] == []


def test_pipe_returns_75_when_the_database_is_unreachable(tmp_path):
    from app import create_app
    from tests.support.databases import base_config

    config = base_config("postgresql://nobody@127.0.0.1:1/none", tmp_path)
    app = create_app(config, check_services=False)
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["mail", "pipe", "--mailbox", "a@desk.test"], input=make_mail()
        )
    assert result.exit_code == 75


# --- webhook ------------------------------------------------------------------------------


@pytest.fixture
def hooked(desk):
    desk.mailbox_a.webhook_secret = "s3cret-token"
    db.session.commit()
    return desk


def test_webhook_with_token_stores_the_mail(hooked, client):
    response = client.post(
        "/inbound/a@desk.test",
        data=make_mail(subject="hooked"),
        headers={"X-Loopdesk-Token": "s3cret-token", "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 202, response.data
    row = db.session.get(RawMessage, response.json["raw_id"])
    assert row.source == "webhook" and row.case.subject == "hooked"


def test_webhook_with_hmac_signature_by_mailbox_id(hooked, client):
    body = make_mail(subject="signed")
    response = client.post(
        f"/inbound/{hooked.mailbox_a.id}",
        data=body,
        headers={"X-Loopdesk-Signature": sign("s3cret-token", body)},
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({"X-Loopdesk-Token": "wrong"}, 403),
        ({"X-Loopdesk-Signature": "sha256=00"}, 403),
    ],
)
def test_webhook_refuses_without_the_secret(hooked, client, headers, status):
    before = _raw_count()
    response = client.post("/inbound/a@desk.test", data=make_mail(), headers=headers)
    assert response.status_code == status
    assert _raw_count() == before


def test_webhook_without_secret_configured_accepts_nothing(desk, client):
    response = client.post(
        "/inbound/b@desk.test", data=make_mail(), headers={"X-Loopdesk-Token": ""}
    )
    assert response.status_code == 404


def test_webhook_oversize_is_413(hooked, client, app):
    app.config["INBOUND_MAX_BYTES"] = 1000
    before = _raw_count()
    response = client.post(
        "/inbound/a@desk.test",
        data=make_mail(body="y" * 5000),
        headers={"X-Loopdesk-Token": "s3cret-token"},
    )
    assert response.status_code == 413
    assert b"larger than 1000" in response.data
    assert _raw_count() == before


# --- import -------------------------------------------------------------------------------


def test_import_eml_folder_maildir_and_mbox(desk, runner, tmp_path):
    (tmp_path / "one.eml").write_bytes(make_mail(subject="eml one", to="a@desk.test"))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "two.eml").write_bytes(make_mail(subject="in folder", to="b@desk.test"))
    md = mailbox_lib.Maildir(str(tmp_path / "Maildir"), create=True)
    md.add(make_mail(subject="from maildir", to="a@desk.test"))
    mb = mailbox_lib.mbox(str(tmp_path / "box.mbox"), create=True)
    mb.add(make_mail(subject="from mbox 1", to="a@desk.test"))
    mb.add(make_mail(subject="from mbox 2", to="nobody@elsewhere.test"))
    mb.flush()
    result = runner.invoke(
        args=[
            "mail",
            "import",
            str(tmp_path / "one.eml"),
            str(folder),
            str(tmp_path / "Maildir"),
            str(tmp_path / "box.mbox"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Imported 5 messages: 4 processed, 1 quarantined" in result.output
    rows = db.session.scalars(select(RawMessage).where(RawMessage.source == "import")).all()
    by_subject = {r.case.subject if r.case else None: r for r in rows}
    assert by_subject["in folder"].mailbox.address == "b@desk.test"
    assert by_subject["from maildir"].mailbox.address == "a@desk.test"
    assert by_subject[None].status == "quarantined"


def test_import_into_a_named_mailbox(desk, runner, tmp_path):
    (tmp_path / "x.eml").write_bytes(make_mail(to="nobody@elsewhere.test"))
    result = runner.invoke(args=["mail", "import", str(tmp_path), "--mailbox", "b@desk.test"])
    assert result.exit_code == 0 and "1 processed" in result.output


# --- mailbox create, reprocess, stats ----------------------------------------------------


def test_mailbox_create_makes_the_pool_when_missing(app, runner):
    result = runner.invoke(args=["mailbox", "create", "Sales@Desk.test", "--pool", "Sales"])
    assert result.exit_code == 0, result.output
    box = db.session.scalar(select(Mailbox).where(Mailbox.address == "sales@desk.test"))
    assert box.pool.name == "Sales"
    again = runner.invoke(args=["mailbox", "create", "sales@desk.test", "--pool", "Sales"])
    assert again.exit_code != 0 and "exists already" in again.output
    runner.invoke(args=["mailbox", "create", "info@desk.test", "--pool", "Sales"])
    assert db.session.scalar(select(func.count(Pool.id)).where(Pool.name == "Sales")) == 1


def test_reprocess_and_stats_commands(desk, runner):
    runner.invoke(args=["mail", "pipe", "--mailbox", "nobody@x.test"], input=make_mail())
    runner.invoke(args=["mail", "pipe", "--mailbox", "a@desk.test"], input=make_mail())
    stats = json.loads(runner.invoke(args=["mail", "stats", "--json"]).output)
    assert stats["received"] == 2 and stats["quarantined"] == 1 and stats["new_cases"] == 1
    row = db.session.scalar(select(RawMessage).where(RawMessage.status == "quarantined"))
    row.mailbox_id = desk.mailbox_a.id  # the supervisor fixed the mailbox
    db.session.commit()
    result = runner.invoke(args=["mail", "reprocess", str(row.id)])
    assert result.exit_code == 0 and "processed" in result.output
    stats = json.loads(runner.invoke(args=["mail", "stats", "--json"]).output)
    assert stats["quarantined"] == 0 and stats["new_cases"] == 2
    assert set(stats) >= {
        "received",
        "stored",
        "new_cases",
        "threaded",
        "duplicates",
        "quarantined",
        "auto_replies_detected",
        "bounces",
        "auto_responses_sent",
    }

"""Secrets at rest (issue 8 item 7): mailbox passwords, OAuth tokens and webhook tokens were
plain text in the database. Now the stored value is a Fernet token under SECRETS_KEY, the
desk still uses the plain value (fetching, sending, the webhook), no page or API answer
contains it, and keys rotate: the old key decrypts until ``desk rotate-secrets`` has run."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from app.core.encryption import PREFIX, SecretUnreadable, install_encryption
from app.extensions import db
from app.mailcore.models import Mailbox
from tests.support.forms import submit_form

SECRETS = {
    "inbound_secret": "imap-password-123",
    "smtp_secret": "smtp-password-456",
    "webhook_secret": "hook-token-789",
}
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw(mailbox_id: int) -> dict:
    row = db.session.execute(
        text("SELECT inbound_secret, smtp_secret, webhook_secret FROM mailbox WHERE id = :id"),
        {"id": mailbox_id},
    ).one()
    return dict(zip(SECRETS, row, strict=True))


def _store_secrets(mailbox) -> int:
    for column, value in SECRETS.items():
        setattr(mailbox, column, value)
    db.session.commit()
    return mailbox.id


def _reload(mailbox_id: int) -> Mailbox:
    db.session.expire_all()
    return db.session.get(Mailbox, mailbox_id)


def test_the_database_holds_no_plain_secret(app, desk):
    box_id = _store_secrets(desk.mailbox_a)
    raw = _raw(box_id)
    for column, value in SECRETS.items():
        assert raw[column].startswith(PREFIX), column
        assert value not in raw[column]
    box = _reload(box_id)
    assert {c: getattr(box, c) for c in SECRETS} == SECRETS


def test_the_webhook_still_takes_its_token(client, desk):
    _store_secrets(desk.mailbox_a)
    response = client.post(
        "/inbound/a@desk.test",
        data=b"From: carol@customer.test\r\nTo: a@desk.test\r\nSubject: Hi\r\n\r\nHello\r\n",
        headers={"X-Loopdesk-Token": SECRETS["webhook_secret"]},
    )
    assert response.status_code == 202


def test_no_page_or_api_answer_contains_a_secret(client, auth, desk):
    box_id = _store_secrets(desk.mailbox_a)
    stored = _raw(box_id)
    auth.login("admin")
    headers = auth.token("admin")
    answers = [
        client.get(f"/mailboxes/edit/{box_id}"),
        client.get(f"/mailboxes/show/{box_id}"),
        client.get("/mailboxes/list/"),
        client.get(f"/cases/show/{desk.case_a.id}"),
        client.get(f"/api/v1/case/{desk.case_a.id}", headers=headers),
        client.get("/api/v1/case/", headers=headers),
        client.get("/api/v1/case/_info", headers=headers),
        client.get("/api/v1/_openapi", headers=headers),
    ]
    for response in answers:
        assert response.status_code == 200, response.request.path
        body = response.get_data(as_text=True)
        for column, value in SECRETS.items():
            assert value not in body, (response.request.path, column)
            assert stored[column] not in body, (response.request.path, column)
    edit = answers[0].get_data(as_text=True)
    assert edit.count("Leave empty to keep the stored one.") == 3


def test_an_empty_field_keeps_the_webhook_token_and_a_typed_one_replaces_it(client, auth, desk):
    box_id = _store_secrets(desk.mailbox_a)
    auth.login("supervisor_a")
    url = f"/mailboxes/edit/{box_id}"
    assert submit_form(client, url, {"display_name": "Support"}).status_code == 302
    assert _reload(box_id).webhook_secret == SECRETS["webhook_secret"]
    assert submit_form(client, url, {"new_webhook_secret": "fresh-token"}).status_code == 302
    box = _reload(box_id)
    assert box.webhook_secret == "fresh-token"
    assert box.inbound_secret == SECRETS["inbound_secret"]
    assert "fresh-token" not in _raw(box_id)["webhook_secret"]


@pytest.fixture
def app_config(app_config):
    app_config["SECRETS_KEY"] = OLD_KEY
    return app_config


def test_rotation_reencrypts_under_the_first_key_and_the_old_one_reads_until_then(app, desk):
    box_id = _store_secrets(desk.mailbox_a)
    before = _raw(box_id)

    # A new key first, the old one kept: everything still reads.
    app.config["SECRETS_KEY"] = (NEW_KEY, OLD_KEY)
    install_encryption(app)
    assert _reload(box_id).inbound_secret == SECRETS["inbound_secret"]

    result = app.test_cli_runner().invoke(args=["desk", "rotate-secrets"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted" in result.output
    after = _raw(box_id)
    for column, value in SECRETS.items():
        assert after[column] != before[column]
        assert Fernet(NEW_KEY.encode()).decrypt(after[column][len(PREFIX) :]).decode() == value

    # The old key can go now.
    app.config["SECRETS_KEY"] = (NEW_KEY,)
    install_encryption(app)
    box = _reload(box_id)
    assert {c: getattr(box, c) for c in SECRETS} == SECRETS

    # With only the old key, the rotated secrets are unreadable, and the error says why.
    app.config["SECRETS_KEY"] = (OLD_KEY,)
    install_encryption(app)
    with pytest.raises(SecretUnreadable, match="rotate-secrets"):
        _reload(box_id).inbound_secret  # noqa: B018


def test_a_bad_key_stops_the_desk_with_one_line(app_config):
    from app import create_app
    from app.errors import ConfigurationError

    app_config["SECRETS_KEY"] = "not-a-fernet-key"
    with pytest.raises(ConfigurationError, match="SECRETS_KEY=\\*\\*\\*: each key must be"):
        create_app(app_config)


def test_without_secrets_key_the_key_is_derived_from_secret_key(
    app_config, db_url, caplog, monkeypatch
):
    import logging

    from app import create_app

    # Alembic's fileConfig (the session's migrations) disables the loggers that exist then.
    monkeypatch.setattr(logging.getLogger("app.core.encryption"), "disabled", False)

    app_config.update(SECRETS_KEY=None, SQLALCHEMY_DATABASE_URI=db_url, TESTING=False)
    first = create_app(app_config)
    with first.app_context():
        from app.organisation.models import Pool

        pool = Pool(name="P")
        box = Mailbox(address="x@desk.test", pool=pool, smtp_secret="derived-one")
        db.session.add_all([pool, box])
        db.session.commit()
        box_id = box.id
        assert _raw(box_id)["smtp_secret"].startswith(PREFIX)
        assert "SECRETS_KEY is unset" in caplog.text
        db.session.remove()
    again = create_app(app_config)  # same SECRET_KEY: same key, the secret reads
    with again.app_context():
        assert db.session.get(Mailbox, box_id).smtp_secret == "derived-one"
        db.session.remove()


def test_the_migration_encrypts_plain_secrets_and_the_downgrade_decrypts_them(tmp_path):
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from app.organisation.models import Pool
    from tests.support.databases import base_config

    config = base_config(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)
    config["SECRETS_KEY"] = OLD_KEY
    migrating = create_app(config)
    with migrating.app_context():
        upgrade()
        pool = Pool(name="P")
        box = Mailbox(address="m@desk.test", pool=pool, **SECRETS)
        db.session.add_all([pool, box])
        db.session.commit()
        box_id = box.id
        db.session.remove()

        downgrade(revision="0008")
        assert _raw(box_id) == SECRETS  # plain, as before encryption
        db.session.remove()

        upgrade()
        raw = _raw(box_id)
        assert all(raw[c].startswith(PREFIX) and v not in raw[c] for c, v in SECRETS.items())
        box = db.session.get(Mailbox, box_id)
        assert {c: getattr(box, c) for c in SECRETS} == SECRETS
        db.session.remove()
        db.engine.dispose()

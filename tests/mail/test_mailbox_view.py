"""Mailbox settings in the admin UI: secrets are never shown, an empty field keeps them."""

import re

from app.extensions import db
from app.mailcore.models import Mailbox
from tests.support.forms import submit_form


def test_mailbox_secrets_stay_secret_and_survive_an_edit(client, auth, desk):
    desk.mailbox_a.inbound_secret = "imap-password-123"
    desk.mailbox_a.smtp_secret = "smtp-password-456"
    db.session.commit()
    auth.login("supervisor_a")
    url = f"/mailboxes/edit/{desk.mailbox_a.id}"
    page = client.get(url).data.decode()
    assert "imap-password-123" not in page and "smtp-password-456" not in page
    assert 'type="password"' in page

    response = submit_form(client, url, {"inbound_protocol": "imap", "inbound_host": "mx.test"})
    assert response.status_code == 302
    db.session.expire_all()
    box = db.session.get(Mailbox, desk.mailbox_a.id)
    assert box.inbound_host == "mx.test" and box.inbound_protocol == "imap"
    assert box.inbound_secret == "imap-password-123"  # empty field kept it

    response = submit_form(client, url, {"new_inbound_secret": "rotated-789"})
    assert response.status_code == 302
    db.session.expire_all()
    box = db.session.get(Mailbox, desk.mailbox_a.id)
    assert box.inbound_secret == "rotated-789" and box.smtp_secret == "smtp-password-456"


def test_supervisor_cannot_move_a_mailbox_into_a_foreign_pool(client, auth, desk):
    auth.login("supervisor_a")
    url = f"/mailboxes/edit/{desk.mailbox_a.id}"
    response = submit_form(client, url, {"pool": str(desk.pool_b.id)})
    assert response.status_code == 200  # rejected: pool B is not a choice
    db.session.expire_all()
    assert db.session.get(Mailbox, desk.mailbox_a.id).pool_id == desk.pool_a.id
    assert client.get(f"/mailboxes/edit/{desk.mailbox_b.id}").status_code == 404


def test_saving_the_form_unchanged_keeps_each_auto_response_state(client, auth, desk):
    """The mailbox's auto-response is as the pool (empty), on or off; a checkbox saved every
    untouched "as the pool" as off."""
    auth.login("supervisor_a")
    url = f"/mailboxes/edit/{desk.mailbox_a.id}"
    for state in (None, True, False):
        desk.mailbox_a = db.session.get(Mailbox, desk.mailbox_a.id)
        desk.mailbox_a.auto_response_enabled = state
        db.session.commit()
        page = client.get(url).get_data(as_text=True)
        assert re.search(r'<select[^>]*name="auto_response_enabled"', page)
        response = submit_form(client, url, {})
        assert response.status_code == 302
        db.session.expire_all()
        assert db.session.get(Mailbox, desk.mailbox_a.id).auto_response_enabled is state


def test_the_auto_response_select_sets_each_state(client, auth, desk):
    auth.login("supervisor_a")
    url = f"/mailboxes/edit/{desk.mailbox_a.id}"
    for value, state in (("on", True), ("off", False), ("", None)):
        assert submit_form(client, url, {"auto_response_enabled": value}).status_code == 302
        db.session.expire_all()
        assert db.session.get(Mailbox, desk.mailbox_a.id).auto_response_enabled is state
        page = client.get(url).get_data(as_text=True)
        assert f'<option selected value="{value}">' in page

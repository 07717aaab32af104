"""Nothing is ever deleted: not through the UI, the API, the CLI, the ORM or raw SQL."""

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from app.audit.models import Event
from app.cases.models import Case, Message
from app.errors import DeletionForbidden
from app.extensions import db
from app.mail.models import RawMessage


@pytest.mark.parametrize("username", ["admin", "supervisor_a", "agent_a", "manager"])
def test_no_role_can_delete_a_case_message_or_event_in_the_ui(client, auth, desk, username):
    auth.login(username)
    event = db.session.query(Event).filter_by(case_id=desk.case_a.id).first()
    for url in (f"/cases/delete/{desk.case_a.id}", f"/events/delete/{event.id}"):
        assert client.post(url).status_code in (403, 404, 405)
        assert client.get(url).status_code in (403, 404, 405)
    page = client.get(f"/cases/show/{desk.case_a.id}").data.decode()
    assert "/cases/delete/" not in page
    listing = client.get("/cases/list/").data.decode()
    assert "/cases/delete/" not in listing
    db.session.expire_all()
    assert db.session.get(Case, desk.case_a.id) is not None
    assert db.session.get(Event, event.id) is not None


@pytest.mark.parametrize("username", ["admin", "supervisor_a", "agent_a"])
def test_no_role_can_delete_through_the_api(client, auth, desk, username):
    headers = auth.token(username)
    message = desk.case_a.messages[0]
    event = db.session.query(Event).filter_by(case_id=desk.case_a.id).first()
    for url in (
        f"/api/v1/case/{desk.case_a.id}",
        f"/api/v1/message/{message.id}",
        f"/api/v1/event/{event.id}",
    ):
        assert client.delete(url, headers=headers).status_code in (404, 405)
    db.session.expire_all()
    assert db.session.get(Case, desk.case_a.id) and db.session.get(Message, message.id)
    spec = client.get("/api/v1/_openapi", headers=auth.token("admin")).json
    for path, operations in spec["paths"].items():
        if path.startswith(("/api/v1/case/", "/api/v1/message/", "/api/v1/event/")):
            assert "delete" not in operations, path


def test_the_cli_has_no_delete_command(app):
    def walk(group, prefix=""):
        for name, command in getattr(group, "commands", {}).items():
            yield f"{prefix}{name}"
            yield from walk(command, f"{prefix}{name} ")

    names = list(walk(app.cli))
    assert "case transition" in names
    offending = [
        n
        for n in names
        if any(w in n.split()[-1] for w in ("delete", "purge", "remove"))
        and n.split()[0] in ("case", "desk", "demo", "jobs", "mail", "outbox")
    ]
    assert offending == []


@pytest.mark.parametrize("model", [Case, Message, RawMessage, Event])
def test_the_orm_refuses_to_delete_closed_loop_records(desk, model):
    from app.mail.intake import receive

    receive(b"Subject: x\r\n\r\nbody", mailbox=desk.mailbox_a, source="test")
    row = db.session.query(model).first()
    assert row is not None
    db.session.delete(row)
    with pytest.raises(DeletionForbidden):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(DeletionForbidden):
        db.session.execute(delete(model))
    db.session.rollback()


def test_events_cannot_be_edited(desk):
    event = db.session.query(Event).filter_by(case_id=desk.case_a.id).first()
    event.new_value = "forged"
    with pytest.raises(DeletionForbidden, match="cannot be edited"):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("table", ["case", "message", "event"])
def test_the_database_itself_refuses_deletes(desk, table):
    """Even raw SQL from another client cannot break the loop (migration triggers)."""
    with pytest.raises(DatabaseError, match="closed loop"):
        db.session.execute(text(f'DELETE FROM "{table}"'))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="closed loop"):
        db.session.execute(update(Event).values(new_value="forged"))
    db.session.rollback()
    assert db.session.query(Case).count() == 2

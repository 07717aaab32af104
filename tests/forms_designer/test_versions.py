"""Forms and their versions: drafts, publishing, immutability, Events, and who may do what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.actor import acting_as
from app.audit.models import Event
from app.errors import Conflict, DeletionForbidden, DeskError, Forbidden
from app.extensions import db
from app.security.rules import visible
from forms_designer import services
from forms_designer.models import IntakeForm, IntakeFormVersion
from tests.forms_designer.schemas import DICTIONARIES, full

SMALL = {
    "languages": ["en"],
    "fields": [{"key": "order_no", "type": "short_text", "label": {"en": "Order"}}],
}


def small(text="Order"):
    return {**SMALL, "fields": [{**SMALL["fields"][0], "label": {"en": text}}]}


@pytest.fixture
def form(desk):
    with acting_as(desk.user("supervisor_a")):
        made = services.create_form("Invoices", desk.pool_a)
    db.session.commit()
    return made


def _as(desk, name):
    return acting_as(desk.user(name))


def _events(form):
    return list(
        db.session.scalars(
            select(Event.action).where(
                Event.object_type == "intake_form", Event.object_id == form.id
            )
        )
    )


def test_save_publish_and_start_again(desk, form):
    supervisor = desk.user("supervisor_a")
    with _as(desk, "supervisor_a"):
        draft = services.save_draft(form, small("Order v1"), supervisor)
        again = services.save_draft(form, small("Order number"), supervisor)
        assert again.id == draft.id and again.number == 1  # one draft per form
        v1 = services.publish(form, supervisor)
        db.session.commit()
        assert v1.status == "current" and v1.published_by_id == supervisor.id
        assert v1.published_at is not None and v1.created_by_id == supervisor.id
        assert services.current_version(form).id == v1.id
        v2 = services.new_draft_from_current(form, supervisor)
        assert v2.number == 2 and v2.status == "draft"
        assert v2.schema == v1.schema and v2.schema is not v1.schema
        services.save_draft(form, full(), supervisor, dictionaries=DICTIONARIES)
        services.publish(form, supervisor, dictionaries=DICTIONARIES)
        db.session.commit()
    db.session.expire_all()
    statuses = [(v.number, v.status) for v in form.versions]
    assert statuses == [(1, "obsolete"), (2, "current")]
    assert form.versions_label == "v1 obsolete, v2 current"
    assert _events(form) == [
        "created",
        "draft saved",
        "draft saved",
        "published",
        "draft started",
        "draft saved",
        "published",
    ]


def test_an_invalid_schema_is_refused_with_every_problem(desk, form):
    bad = small()
    bad["fields"].append({"key": "order_no", "type": "slider", "label": {"en": "X"}})
    with _as(desk, "supervisor_a"), pytest.raises(services.SchemaProblems) as refused:
        services.save_draft(form, bad)
    assert any("used by an earlier field" in p for p in refused.value.problems)
    assert any("unknown type 'slider'" in p for p in refused.value.problems)
    assert services.draft_version(form) is None


def test_publish_needs_a_draft_with_fields(desk, form):
    with _as(desk, "supervisor_a"):
        with pytest.raises(Conflict, match="no draft"):
            services.publish(form)
        services.save_draft(form, {"languages": ["en"], "fields": []})
        with pytest.raises(DeskError, match="without fields"):
            services.publish(form)


def test_a_published_version_cannot_be_changed_or_deleted(desk, form):
    with _as(desk, "supervisor_a"):
        services.save_draft(form, small())
        version = services.publish(form)
    db.session.commit()
    version.schema = small("Changed afterwards")
    with pytest.raises(Conflict, match="immutable"):
        db.session.flush()
    db.session.rollback()
    version.status = "draft"
    with pytest.raises(Conflict, match="immutable"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(version)
    with pytest.raises(DeletionForbidden):
        db.session.flush()
    db.session.rollback()
    with _as(desk, "supervisor_a"):
        services.new_draft_from_current(form)
        services.publish(form)  # current → obsolete is the one change allowed
    db.session.commit()
    db.session.refresh(version)
    assert version.status == "obsolete" and version.schema == small()
    version.status = "current"
    with pytest.raises(Conflict, match="obsolete and cannot be changed"):
        db.session.flush()
    db.session.rollback()


def test_the_database_keeps_one_draft_and_one_current_per_form(desk, form):
    with _as(desk, "supervisor_a"):
        services.save_draft(form, small())
    db.session.commit()
    db.session.add(IntakeFormVersion(form=form, number=9, status="draft", schema=small()))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.flush()
    db.session.rollback()


def test_a_supervisor_designs_only_the_forms_of_his_pools(desk, form):
    with _as(desk, "admin"):
        other = services.create_form("Sales form", desk.pool_b)
        desk_wide = services.create_form("Desk-wide", None)
    db.session.commit()
    with _as(desk, "supervisor_a"):
        with pytest.raises(Forbidden):
            services.create_form("Not mine", desk.pool_b)
        with pytest.raises(Forbidden, match="desk-wide"):
            services.create_form("Not mine either", None)
        with pytest.raises(DeskError):  # not even visible: reported as not found
            services.save_draft(other, small())
        with pytest.raises(Forbidden):
            services.save_draft(desk_wide, small())  # sees it (to link it), may not change it
        names = {f.name for f in visible(db.session.query(IntakeForm), IntakeForm)}
    assert names == {"Invoices", "Desk-wide"}


@pytest.mark.parametrize("role", ["agent_a", "agent_b", "manager"])
def test_agents_and_managers_design_nothing(desk, form, role):
    with _as(desk, role):
        with pytest.raises(DeskError):
            services.save_draft(form, small())
        with pytest.raises(DeskError):
            services.publish(form)
        with pytest.raises(DeskError):
            services.create_form("Mine", desk.pool_a)
        seen = {f.name for f in visible(db.session.query(IntakeForm), IntakeForm)}
    assert seen == (set() if role.startswith("agent") else {"Invoices"})


def test_an_admin_designs_every_form(desk, form):
    with _as(desk, "admin"):
        services.save_draft(form, small())
        assert services.publish(form).status == "current"


def test_the_version_rows_follow_their_forms_rules(desk, form):
    with _as(desk, "admin"):
        other = services.create_form("Sales form", desk.pool_b)
        services.save_draft(other, small())
        services.save_draft(form, small())
    db.session.commit()
    for role, expected in (
        ("supervisor_a", {form.id}),
        ("agent_a", set()),
        ("admin", {form.id, other.id}),
    ):
        with _as(desk, role):
            rows = visible(db.session.query(IntakeFormVersion), IntakeFormVersion)
            assert {v.form_id for v in rows} == expected, role


def test_the_forms_list_shows_versions_and_actions_publish(client, auth, desk, form):
    with _as(desk, "supervisor_a"):
        services.save_draft(form, small())
    db.session.commit()
    auth.login("supervisor_a")
    page = client.get("/intake-forms/list/").get_data(as_text=True)
    assert "Invoices" in page and "v1 draft" in page
    response = client.post(
        "/intake-forms/action_post", data={"action": "publish", "rowid": [str(form.id)]}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert services.current_version(form).number == 1
    shown = client.get(f"/intake-forms/show/{form.id}").get_data(as_text=True)
    assert "v1 current" in shown and "Form version" in shown
    auth.logout()
    auth.login("manager")
    assert "Invoices" in client.get("/intake-forms/list/").get_data(as_text=True)
    client.post("/intake-forms/action_post", data={"action": "new_draft", "rowid": [str(form.id)]})
    db.session.expire_all()
    assert services.draft_version(form) is None  # FAB: "Access is Denied", nothing done
    auth.logout()
    auth.login("agent_a")
    assert client.get("/intake-forms/list/").status_code == 403

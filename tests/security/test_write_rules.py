"""Write rules ("only a supervisor of this pool may change it") on every door, and deleting
configuration that cases depend on: deactivated, with a clear message, never an
IntegrityError.

Supervisor A supervises pool A and, in these tests, also works in pool B without supervising
it: he sees pool B's mailbox but may not change it, nor move it into his own pool.
"""

from __future__ import annotations

import pytest
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import DeskModelRestApi, DeskModelView
from app.errors import Forbidden
from app.extensions import db
from app.mailcore.models import Mailbox
from tests.support.forms import submit_form
from tests.support.records import agent_profile, refresh


def _works_in_pool_b(desk, username="supervisor_a"):
    from app.agents.models import PoolMembership

    db.session.add(
        PoolMembership(
            agent_id=agent_profile(desk.user(username)).id, pool_id=desk.pool_b.id, priority=2
        )
    )
    db.session.commit()


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [text for _category, text in session.pop("_flashes", [])]


# --- the pages ---------------------------------------------------------------------------------


def test_a_member_who_does_not_supervise_the_pool_may_not_change_its_mailbox(client, auth, desk):
    _works_in_pool_b(desk)
    auth.login("supervisor_a")
    assert desk.mailbox_b.address in client.get("/mailboxes/list/").get_data(as_text=True)
    page = client.get(f"/mailboxes/edit/{desk.mailbox_b.id}")
    assert page.status_code == 403
    assert "Only a supervisor of this pool" in page.get_data(as_text=True)
    # nor may he pull it into the pool he supervises
    moved = client.post(
        f"/mailboxes/edit/{desk.mailbox_b.id}",
        data={"address": desk.mailbox_b.address, "pool": desk.pool_a.id, "active": "y"},
    )
    assert moved.status_code == 403
    assert refresh(desk.mailbox_b).pool_id == desk.pool_b.id


def test_moving_ones_own_row_into_another_pool_is_refused_too(client, auth, desk):
    _works_in_pool_b(desk)
    auth.login("supervisor_a")
    submit_form(client, f"/mailboxes/edit/{desk.mailbox_a.id}", {"pool": str(desk.pool_b.id)})
    assert any("Only a supervisor of this pool" in f for f in _flashes(client))
    submit_form(
        client,
        "/answering/templates/add",
        {"name": "x", "language": "en", "pool": str(desk.pool_b.id), "body": "x"},
    )
    assert any("Only a supervisor of this pool" in f for f in _flashes(client))
    assert refresh(desk.mailbox_a).pool_id == desk.pool_a.id


def test_supervisor_edits_agents_of_his_pools_only(client, auth, desk):
    _works_in_pool_b(desk)  # agent_b becomes visible through pool B ...
    auth.login("supervisor_a")
    mine = agent_profile(desk.user("agent_a"))
    assert client.get(f"/agents/edit/{mine.id}").status_code == 200
    other = agent_profile(desk.user("agent_b"))
    assert client.get(f"/agents/show/{other.id}").status_code == 200
    # ... but works in no pool supervisor_a supervises
    assert client.get(f"/agents/edit/{other.id}").status_code == 403


def test_the_write_rule_holds_for_a_direct_call(desk):
    from app.security.rules import ensure_may_change

    _works_in_pool_b(desk)
    with pytest.raises(Forbidden):
        ensure_may_change(desk.mailbox_b, desk.user("supervisor_a"))
    ensure_may_change(desk.mailbox_a, desk.user("supervisor_a"))
    ensure_may_change(desk.mailbox_b, desk.user("admin"))


def test_every_view_checks_write_rules_where_it_saves(app):
    """Views prepare rows in ``clean``; none overrides pre_add/pre_update and so skips the
    write rule."""
    views = [v for v in app.appbuilder.baseviews if isinstance(v, DeskModelView)]
    assert len(views) > 10
    for view in views:
        for hook in ("pre_add", "pre_update", "_delete"):
            assert getattr(type(view), hook) is getattr(DeskModelView, hook), (view, hook)


# --- a REST API for the same model keeps the rules ---------------------------------------------


class MailboxApi(DeskModelRestApi):
    """A REST endpoint the desk does not have (yet): declared like any other."""

    resource_name = "testmailbox"
    datamodel = SQLAInterface(Mailbox)
    class_permission_name = "Mailbox"
    list_columns = show_columns = ["id", "address", "active", "pool.id"]
    add_columns = edit_columns = ["address", "pool", "active"]


@pytest.fixture
def api_app(app_config):
    app_config["TEST_MAILBOX_API"] = True  # an app of its own: the API is added before use
    return app_config


def test_a_rest_api_for_the_same_model_keeps_the_write_rules(api_app, app, client, auth, desk):
    app.appbuilder.add_api(MailboxApi)
    _works_in_pool_b(desk)
    headers = auth.token("supervisor_a")
    url = "/api/v1/testmailbox/"
    other = client.put(f"{url}{desk.mailbox_b.id}", json={"active": False}, headers=headers)
    assert other.status_code == 403 and "supervisor" in other.json["message"]
    pulled = client.put(f"{url}{desk.mailbox_b.id}", json={"pool": desk.pool_a.id}, headers=headers)
    assert pulled.status_code == 403
    pushed = client.put(f"{url}{desk.mailbox_a.id}", json={"pool": desk.pool_b.id}, headers=headers)
    assert pushed.status_code == 403
    ok = client.put(f"{url}{desk.mailbox_a.id}", json={"address": "a2@desk.test"}, headers=headers)
    assert ok.status_code == 200, ok.json
    assert refresh(desk.mailbox_b).active and refresh(desk.mailbox_a).pool_id == desk.pool_a.id
    # an admin's DELETE of a mailbox in use deactivates it
    gone = client.delete(f"{url}{desk.mailbox_b.id}", headers=auth.token("admin"))
    assert gone.status_code == 200 and "deactivated" in gone.json["message"]
    assert refresh(desk.mailbox_b) is not None and not refresh(desk.mailbox_b).active


# --- configuration in use is deactivated, not deleted -----------------------------------------


def test_deleting_a_pool_with_mailboxes_deactivates_it_with_a_clear_message(client, auth, desk):
    from app.organisation.models import Pool

    auth.login("admin")
    response = client.post(f"/pools/delete/{desk.pool_b.id}", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "is in use" in page and "mailbox" in page and "deactivated instead of deleted" in page
    assert "IntegrityError" not in page
    pool = db.session.get(Pool, desk.pool_b.id)
    assert pool is not None and pool.active is False
    assert refresh(desk.mailbox_b).pool_id == desk.pool_b.id


def test_an_unused_pool_is_deleted(client, auth, desk):
    from app.organisation.models import Pool

    spare = Pool(name="Created by mistake")
    db.session.add(spare)
    db.session.commit()
    spare_id = spare.id
    auth.login("admin")
    client.post(f"/pools/delete/{spare_id}")
    assert any("Deleted" in f for f in _flashes(client))
    db.session.expire_all()
    assert db.session.get(Pool, spare_id) is None


@pytest.mark.parametrize("what", ["skill", "topic", "mailbox", "agent"])
def test_configuration_in_use_is_deactivated(client, auth, desk, what):
    from app.organisation.models import Skill, Topic

    skill = Skill(name="French")
    topic = Topic(name="Billing", pool=desk.pool_a)
    db.session.add_all([skill, topic])
    db.session.flush()
    desk.case_a.required_skill, desk.case_a.topic = skill, topic
    db.session.commit()
    row, url = {
        "skill": (skill, "/skills"),
        "topic": (topic, "/topics"),
        "mailbox": (desk.mailbox_a, "/mailboxes"),
        "agent": (agent_profile(desk.user("agent_a")), "/agents"),
    }[what]
    auth.login("admin")
    client.post(f"{url}/delete/{row.id}")
    [message] = _flashes(client)
    assert "is in use" in message and "deactivated" in message
    row = refresh(row)
    assert row is not None and row.active is False


def test_configuration_in_use_without_an_active_flag_stays(client, auth, desk):
    from app.organisation.models import Topic
    from forms_designer.models import IntakeForm

    form = IntakeForm(name="Refund request")
    db.session.add(form)
    db.session.flush()
    db.session.add(Topic(name="Refunds", form=form))
    db.session.commit()
    auth.login("admin")
    client.post(f"/intake-forms/delete/{form.id}")
    [message] = _flashes(client)
    assert "is in use (1 topic)" in message and "cannot be deleted" in message
    assert refresh(form) is not None


def test_topics_of_a_pool_are_changed_by_its_supervisors_only(client, auth, desk):
    from app.organisation.models import Topic

    _works_in_pool_b(desk)
    auth.login("supervisor_a")
    for pool, refused in ((desk.pool_b, True), (desk.pool_a, False)):
        submit_form(client, "/topics/add", {"name": f"Topic of {pool.name}", "pool": str(pool.id)})
        flashes = _flashes(client)
        assert any("Only a supervisor of this pool" in f for f in flashes) is refused, flashes
    db.session.expire_all()
    names = {t.name for t in db.session.query(Topic)}
    assert names == {"Topic of Pool A"}

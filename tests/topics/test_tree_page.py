"""The topic tree page: the tree as supervisors see it, its forms, and who may use them."""

from __future__ import annotations

import pytest

from app.audit.actor import acting_as
from app.extensions import db
from app.organisation.models import Topic
from app.topics import services
from tests.support.records import refresh


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [text for _category, text in session.pop("_flashes", [])]


@pytest.fixture
def tree(desk):
    with acting_as(desk.user("admin")):
        invoices = services.add_topic("Invoices", pool_id=desk.pool_a.id)
        copy = services.add_topic("Copy of an invoice", parent_id=invoices.id)
        delivery = services.add_topic("Delivery", pool_id=desk.pool_b.id)
    return invoices, copy, delivery


def test_the_page_shows_the_tree_with_inherited_settings(client, auth, tree):
    invoices, copy, delivery = tree
    auth.login("supervisor_a")
    page = client.get(f"/topic-tree/?topic={copy.id}").get_data(as_text=True)
    assert page.index("Invoices") < page.index("Copy of an invoice") < page.index("Delivery")
    assert 'aria-level="2"' in page  # the subtopic, one level down
    # Pool A comes from the parent: marked as inherited, offered as "Inherit: Pool A".
    assert "inherited from Invoices" in page and "Inherit: Pool A" in page
    # His pool's topics have move buttons; pool B's topic is read only.
    assert f"/topic-tree/{copy.id}/shift" in page
    assert f"/topic-tree/{delivery.id}/shift" not in page


def test_a_supervisor_builds_the_tree_through_the_page(client, auth, desk, tree):
    invoices, copy, _delivery = tree
    auth.login("supervisor_a")
    response = client.post(
        "/topic-tree/add", data={"name": "Wrong invoice", "parent_id": str(invoices.id)}
    )
    assert response.status_code == 302
    wrong = db.session.query(Topic).filter_by(name="Wrong invoice").one()
    client.post(f"/topic-tree/{wrong.id}/shift", data={"delta": "-1"})
    assert [t.name for t in sorted(refresh(invoices).children, key=lambda t: t.position)] == [
        "Wrong invoice",
        "Copy of an invoice",
    ]
    client.post(
        f"/topic-tree/{copy.id}/update",
        data={"name": "Invoice copy", "description": "", "name_pl": "Kopia faktury"},
    )
    client.post(f"/topic-tree/{copy.id}/link", data={"priority": "3", "skill_id": ""})
    client.post(f"/topic-tree/{copy.id}/activate", data={"active": "0"})
    copy = refresh(copy)
    assert (copy.name, copy.name_in("pl"), copy.priority, copy.active) == (
        "Invoice copy",
        "Kopia faktury",
        3,
        False,
    )
    # A refusal is a message on the page, not an error page.
    client.post(f"/topic-tree/{invoices.id}/move", data={"parent_id": str(copy.id)})
    assert any("under itself" in f for f in _flashes(client))


def test_agents_see_the_tree_but_change_nothing(client, auth, tree):
    invoices, copy, _delivery = tree
    auth.login("agent_a")
    page = client.get("/topic-tree/")
    assert page.status_code == 200 and b"Copy of an invoice" in page.data
    assert f"/topic-tree/{copy.id}/shift".encode() not in page.data
    for url, data in (
        ("/topic-tree/add", {"name": "Mine", "parent_id": str(invoices.id)}),
        (f"/topic-tree/{copy.id}/update", {"name": "Mine"}),
        (f"/topic-tree/{copy.id}/activate", {"active": "0"}),
    ):
        assert client.post(url, data=data).status_code == 403
    assert refresh(copy).name == "Copy of an invoice" and refresh(copy).active


def test_a_supervisor_of_another_pool_is_refused(client, auth, tree):
    _invoices, _copy, delivery = tree
    auth.login("supervisor_a")
    response = client.post(f"/topic-tree/{delivery.id}/update", data={"name": "Shipping"})
    assert response.status_code == 403
    assert b"supervisor of this pool" in response.data
    assert refresh(delivery).name == "Delivery"

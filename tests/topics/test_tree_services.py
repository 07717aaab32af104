"""The topic tree's changes (app.topics.services): add, rename, reorder, move, activate, link;
what subtopics inherit; who may change which topic; an Event for every change."""

from __future__ import annotations

import pytest

from app.agents.models import PoolMembership
from app.audit.actor import acting_as
from app.audit.models import Event
from app.core.priority import Priority
from app.errors import DeskError, Forbidden
from app.extensions import db
from app.organisation.models import Skill, Topic
from app.organisation.topics import (
    build_tree,
    effective_settings,
    flatten,
    is_offered,
    offered_tree,
)
from app.sla.models import SlaPolicy
from app.topics import services
from forms_designer.models import IntakeForm
from tests.support.records import agent_profile, refresh


def _tree(desk):
    with acting_as(desk.user("admin")):
        invoices = services.add_topic("Invoices", pool_id=desk.pool_a.id)
        copy = services.add_topic("Copy of an invoice", parent_id=invoices.id)
        wrong = services.add_topic("Wrong invoice", parent_id=invoices.id)
        delivery = services.add_topic("Delivery", pool_id=desk.pool_b.id)
    return invoices, copy, wrong, delivery


def _names(parent):
    db.session.expire_all()
    return [t.name for t in sorted(refresh(parent).children, key=lambda t: t.position)]


def _paths():
    return [n.topic.path for n in flatten(build_tree(db.session.query(Topic).all()))]


def test_subtopics_inherit_what_they_leave_empty(desk):
    invoices, copy, _wrong, _delivery = _tree(desk)
    skill = Skill(name="Accounting")
    form = IntakeForm(name="Invoice copy")
    policy = SlaPolicy(
        name="Invoices", pool=desk.pool_a, first_response_minutes=60, resolution_minutes=600
    )
    db.session.add_all([skill, form, policy])
    db.session.commit()
    with acting_as(desk.user("supervisor_a")):
        services.link_topic(
            invoices.id,
            skill_id=skill.id,
            form_id=form.id,
            priority=int(Priority.HIGH),
            sla_policy_id=policy.id,
        )
        services.link_topic(copy.id, priority=int(Priority.LOW))

    settings = effective_settings(refresh(copy))
    assert settings.pool.name == "Pool A" and settings.skill.name == "Accounting"
    assert settings.form.name == "Invoice copy" and settings.sla_policy.name == "Invoices"
    assert settings.priority == Priority.LOW  # its own
    assert settings.inherited("pool", copy) and not settings.inherited("priority", copy)
    assert settings.sources["pool"].name == "Invoices"
    # "Inherit" again: the parent's value comes back.
    with acting_as(desk.user("supervisor_a")):
        services.link_topic(copy.id, priority="")
    assert effective_settings(refresh(copy)).priority == Priority.HIGH


def test_add_rename_reorder_move_and_deactivate(desk):
    invoices, copy, wrong, delivery = _tree(desk)
    assert _paths() == [
        "Invoices",
        "Invoices / Copy of an invoice",
        "Invoices / Wrong invoice",
        "Delivery",
    ]
    with acting_as(desk.user("admin")):
        services.shift_topic(wrong.id, -1)
        assert _names(invoices) == ["Wrong invoice", "Copy of an invoice"]
        services.shift_topic(wrong.id, -1)  # already first: stays
        assert _names(invoices) == ["Wrong invoice", "Copy of an invoice"]
        services.update_topic(copy.id, name="Invoice copy", name_translations={"pl": "Kopia"})
        services.move_topic(copy.id, delivery.id)
        services.move_topic(delivery.id, None, 0)  # to the top
        services.set_active(invoices.id, False)
    assert _paths() == [
        "Delivery",
        "Delivery / Invoice copy",
        "Invoices",
        "Invoices / Wrong invoice",
    ]
    moved = refresh(copy)
    assert moved.name_in("pl") == "Kopia" and moved.name_in("sv") == "Invoice copy"
    assert effective_settings(moved).pool.name == "Pool B"  # inherits its new parent's
    # An inactive parent hides its subtopics from customers; nothing was deleted.
    assert not is_offered(refresh(wrong)) and is_offered(moved)
    assert db.session.query(Topic).count() == 4


def test_the_tree_refuses_cycles_duplicates_and_bad_links(desk):
    invoices, copy, _wrong, delivery = _tree(desk)
    other_pool_policy = SlaPolicy(
        name="B standard", pool=desk.pool_b, first_response_minutes=60, resolution_minutes=60
    )
    db.session.add(other_pool_policy)
    db.session.commit()
    with acting_as(desk.user("admin")):
        with pytest.raises(DeskError, match="under itself"):
            services.move_topic(invoices.id, copy.id)
        with pytest.raises(DeskError, match="already"):
            services.add_topic("copy of an INVOICE", parent_id=invoices.id)
        with pytest.raises(DeskError, match="already"):
            services.update_topic(delivery.id, name="Invoices")
        with pytest.raises(DeskError, match="one of pool Pool B's"):
            services.link_topic(copy.id, sla_policy_id=other_pool_policy.id)
        with pytest.raises(DeskError, match="Priority"):
            services.link_topic(copy.id, priority="7")
        with pytest.raises(DeskError, match="No active pool"):
            services.link_topic(copy.id, pool_id=999)
    db.session.rollback()
    assert refresh(copy).sla_policy_id is None and refresh(invoices).parent_id is None


def test_every_change_is_an_event(desk):
    invoices, copy, _wrong, _delivery = _tree(desk)
    with acting_as(desk.user("supervisor_a")):
        services.update_topic(copy.id, name="Invoice copy")
        services.link_topic(copy.id, priority=int(Priority.HIGH))
        services.set_active(copy.id, False)
    rows = (
        db.session.query(Event)
        .filter(Event.object_type == "topic", Event.object_id == copy.id)
        .order_by(Event.id)
        .all()
    )
    changes = [(e.action, e.field, e.new_value, e.actor_name.split()[0]) for e in rows]
    assert changes[0][0] == "created"
    assert ("changed", "name", "Invoice copy", "supervisor_a") in changes
    assert ("changed", "priority", "3", "supervisor_a") in changes
    assert ("changed", "active", "False", "supervisor_a") in changes


@pytest.mark.parametrize("username", ["agent_a", "manager", "agent_b"])
def test_roles_without_the_pool_cannot_change_topics(desk, username):
    invoices, copy, _wrong, _delivery = _tree(desk)
    with acting_as(desk.user(username)):
        for change in (
            lambda: services.update_topic(copy.id, name="Mine now"),
            lambda: services.shift_topic(copy.id, 1),
            lambda: services.set_active(invoices.id, False),
            lambda: services.add_topic("New", parent_id=invoices.id),
            lambda: services.link_topic(copy.id, priority=4),
        ):
            with pytest.raises(Forbidden):
                change()
            db.session.rollback()
    assert refresh(copy).name == "Copy of an invoice" and refresh(invoices).active


def test_a_supervisor_changes_only_the_topics_of_his_pools(desk):
    invoices, copy, _wrong, delivery = _tree(desk)
    supervisor = desk.user("supervisor_a")
    with acting_as(supervisor):
        # His pool's topics, inherited pool included.
        services.update_topic(copy.id, name="Invoice copy")
        # Another pool's topic, and moving his into it, or giving it another pool: refused.
        for change in (
            lambda: services.update_topic(delivery.id, name="Shipping"),
            lambda: services.add_topic("Lost parcel", parent_id=delivery.id),
            lambda: services.move_topic(copy.id, delivery.id),
            lambda: services.link_topic(invoices.id, pool_id=desk.pool_b.id),
            lambda: services.add_topic("Elsewhere", pool_id=desk.pool_b.id),
        ):
            with pytest.raises(Forbidden, match="supervisor of this pool"):
                change()
            db.session.rollback()
        # A desk-wide (pool-less) root is for admins only.
        with pytest.raises(Forbidden, match="only admins"):
            services.add_topic("Everything")
        db.session.rollback()
    assert refresh(delivery).name == "Delivery" and refresh(copy).parent_id == invoices.id
    # Supervising pool B as well, he may move it there.
    db.session.query(PoolMembership).filter_by(
        agent_id=agent_profile(supervisor).id
    ).first().is_supervisor = True
    db.session.add(
        PoolMembership(
            agent_id=agent_profile(supervisor).id,
            pool_id=desk.pool_b.id,
            priority=2,
            is_supervisor=True,
        )
    )
    db.session.commit()
    with acting_as(supervisor):
        services.move_topic(copy.id, delivery.id)
    assert refresh(copy).parent_id == delivery.id


def test_the_portal_gets_the_offered_tree_in_the_customers_language(desk):
    invoices, copy, wrong, delivery = _tree(desk)
    with acting_as(desk.user("admin")):
        services.update_topic(invoices.id, name_translations={"pl": "Faktury", "sv": " "})
        services.set_active(delivery.id, False)
        services.set_active(wrong.id, False)
    roots = offered_tree()
    assert [(n.topic.name, [c.topic.name for c in n.children]) for n in roots] == [
        ("Invoices", ["Copy of an invoice"])
    ]
    topic = roots[0].topic
    assert topic.name_in("pl") == "Faktury" and topic.name_in("PL") == "Faktury"
    assert topic.name_in("pl-PL") == "Faktury"  # the language without its region
    assert topic.name_in("sv") == "Invoices" and topic.name_in(None) == "Invoices"

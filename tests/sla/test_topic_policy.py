"""A topic's own SLA policy (set on the topic tree): its cases' due times follow it, its
subtopics inherit it, and it wins over the pool's policies by topic and priority."""

from __future__ import annotations

from datetime import datetime

from app.audit.actor import acting_as
from app.cases import actions
from app.core.priority import Priority
from app.extensions import db
from app.organisation.models import Topic
from app.sla.models import SlaPolicy
from tests.sla.helpers import office_pool, open_at
from tests.support.records import refresh


def _policy(desk, name, first, resolution, pool=None, **scope):
    policy = SlaPolicy(
        name=name,
        pool=pool or desk.pool_a,
        first_response_minutes=first,
        resolution_minutes=resolution,
        **scope,
    )
    db.session.add(policy)
    db.session.flush()
    return policy


def test_the_due_time_follows_the_topics_policy(desk):
    office_pool(desk)  # Pool A: 2 h / 8 h of Warsaw office hours
    parcels = _policy(desk, "Parcels", 30, 240)
    delivery = Topic(name="Delivery", pool=desk.pool_a, sla_policy=parcels)
    where = Topic(name="Where is my parcel", parent=delivery)
    db.session.add_all([delivery, where])
    db.session.commit()
    tuesday_9 = datetime(2026, 12, 1, 8)  # 09:00 local
    plain = open_at(desk, tuesday_9)
    assert plain.first_response_due_at == datetime(2026, 12, 1, 10)  # the pool's 2 h
    case = open_at(desk, tuesday_9, topic=where)  # inherits Delivery's policy
    assert case.first_response_due_at == datetime(2026, 12, 1, 8, 30)
    assert case.resolution_due_at == datetime(2026, 12, 1, 12)
    assert case.sla_due_at == case.first_response_due_at


def test_the_topics_policy_beats_the_pools_policies_by_topic_and_priority(desk):
    office_pool(desk)
    topic = Topic(name="Refund", pool=desk.pool_a)
    db.session.add(topic)
    db.session.flush()
    _policy(desk, "Urgent refunds", 15, 60, topic=topic, priority=int(Priority.URGENT))
    own = _policy(desk, "Refunds", 240, 960)
    topic.sla_policy = own
    db.session.commit()
    case = open_at(desk, datetime(2026, 12, 1, 8), topic=topic, priority=int(Priority.URGENT))
    assert case.first_response_due_at == datetime(2026, 12, 1, 12)  # 4 h, not 15 min


def test_a_case_that_gets_the_topic_later_moves_to_its_policy(desk):
    office_pool(desk)
    vip = Topic(name="VIP", pool=desk.pool_a, sla_policy=_policy(desk, "VIP", 10, 60))
    db.session.add(vip)
    db.session.commit()
    case = open_at(desk, datetime(2026, 12, 1, 8))
    assert case.first_response_due_at == datetime(2026, 12, 1, 10)
    with acting_as(desk.user("supervisor_a")):
        actions.reroute(case, topic_id=vip.id)
    assert refresh(case).first_response_due_at == datetime(2026, 12, 1, 8, 10)


def test_another_pools_policy_does_not_apply(desk):
    """A policy is one pool's: a case of the topic moved to another pool follows that one's."""
    office_pool(desk)
    foreign = _policy(desk, "Pool B fast", 5, 10, pool=desk.pool_b)
    topic = Topic(name="Odd", pool=desk.pool_a, sla_policy=foreign)
    db.session.add(topic)
    db.session.commit()
    case = open_at(desk, datetime(2026, 12, 1, 8), topic=topic)
    assert case.first_response_due_at == datetime(2026, 12, 1, 10)  # Pool A's own 2 h

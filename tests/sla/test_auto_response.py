"""The auto-response tells the customer the first-response target of the SLA policy that
applies to his case, in business hours, and when that is; without a policy the pool's hours."""

from __future__ import annotations

from datetime import datetime

from app.core.priority import Priority
from app.extensions import db
from app.mail import autoresponse
from app.sla.models import SlaPolicy
from tests.sla.helpers import office_pool, open_at


def _told(case) -> str:
    return autoresponse.render(autoresponse.DEFAULT_TEXT, case, "Carol")


def test_the_auto_response_states_the_policys_first_response_time(desk):
    office_pool(desk, first=120)  # pool A: 2 business hours; the pool itself says 8
    # Tuesday 16:00 local, closing time: due Wednesday 10:00 local.
    case = open_at(desk, datetime(2026, 12, 1, 15))
    text = _told(case)
    assert "within 2 business hours" in text
    assert "by 2026-12-02 09:00 UTC" in text


def test_the_most_specific_policy_is_the_one_quoted(desk):
    office_pool(desk, first=120)
    db.session.add(
        SlaPolicy(
            name="Pool A urgent",
            pool=desk.pool_a,
            priority=Priority.URGENT,
            first_response_minutes=30,
            resolution_minutes=240,
        )
    )
    db.session.commit()
    urgent = open_at(desk, datetime(2026, 12, 1, 9), priority=Priority.URGENT)
    assert "within 0.5 business hours" in _told(urgent)


def test_without_a_policy_the_pools_hours_are_quoted(desk):
    case = open_at(desk, datetime(2026, 12, 1, 9), pool=desk.pool_b)
    assert "within 24 business hours" in _told(case)
    assert "by 2026-12-02 09:00 UTC" in _told(case)

"""A Warsaw office calendar (Mon-Fri 08:00-16:00, Polish holidays) and policies to test on."""

from __future__ import annotations

from datetime import datetime

from app.audit.actor import acting_as
from app.cases import services as case_services
from app.extensions import db
from app.sla.models import SlaCalendar, SlaOpeningHours, SlaPolicy


def warsaw_calendar(name="Warsaw office") -> SlaCalendar:
    calendar = SlaCalendar(name=name, time_zone="Europe/Warsaw", holiday_country="PL")
    calendar.hours = [
        SlaOpeningHours(weekday=day, opens="08:00", closes="16:00") for day in range(5)
    ]
    db.session.add(calendar)
    db.session.flush()
    return calendar


def office_pool(desk, *, first=120, resolution=480, **policy) -> SlaCalendar:
    """Pool A on the Warsaw calendar with a pool-wide policy (business minutes)."""
    calendar = warsaw_calendar()
    desk.pool_a.sla_calendar = calendar
    db.session.add(
        SlaPolicy(
            name="Pool A standard",
            pool=desk.pool_a,
            first_response_minutes=first,
            resolution_minutes=resolution,
            **policy,
        )
    )
    db.session.commit()
    return calendar


def open_at(desk, received_at: datetime, pool=None, **kwargs):
    with acting_as(None):
        case = case_services.open_case(
            pool=pool or desk.pool_a,
            subject="Due time test",
            customer=desk.customer_a,
            mailbox=desk.mailbox_a,
            received_at=received_at,
            commit=True,
            **kwargs,
        )
    return case

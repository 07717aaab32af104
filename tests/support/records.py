"""Reading back what a test did: a case's events, a fresh copy of a row, an agent's profile,
and small files to upload."""

from __future__ import annotations

# A minimal JPEG (SOI, JFIF APP0, SOF0 32×16, EOI): enough for the signature validator.
TINY_JPEG = (
    b"\xff\xd8"
    b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xc0\x00\x11\x08\x00\x10\x00\x20\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    b"\xff\xd9"
)


def agent_profile(user):
    from app.agents.models import AgentProfile
    from app.extensions import db

    return db.session.query(AgentProfile).filter_by(user_id=user.id).one()


def events(case, action=None):
    from app.audit.models import Event
    from app.extensions import db

    query = db.session.query(Event).filter(Event.case_id == case.id)
    if action:
        query = query.filter(Event.action == action)
    return query.order_by(Event.id).all()


def refresh(obj):
    from app.extensions import db

    db.session.expire_all()
    return db.session.get(type(obj), obj.id)

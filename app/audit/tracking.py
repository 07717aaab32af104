"""Automatic recording of changes, and the guards that keep the loop closed.

Models opt in with a ``__tracked__`` tuple of attribute names. On every flush, a change to one of
those attributes becomes an Event with the acting user and the time, so no service, view, API
call or job can change a tracked field without leaving a trace.

Models that mix in ``NeverDeleted`` refuse deletion through the ORM, and Events refuse updates.
Migrations add database triggers with the same rule, so raw SQL cannot do it either.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.audit.actor import actor_label, current_actor
from app.core.permits import erasing
from app.errors import DeletionForbidden


class NeverDeleted:
    """Mixin for records that are part of the closed loop and must never be deleted."""


def display_value(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "value") and not isinstance(value, (str, int)):
        value = value.value  # enums
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="minutes")
    return str(value)


def _changes(obj):
    """Yield (field, old, new) for each tracked attribute that changed on a dirty object."""
    state = inspect(obj)
    for name in getattr(obj, "__tracked__", ()):
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if display_value(old) == display_value(new):
            continue
        yield name, old, new


def record_event(session: Session, obj, action: str, field=None, old=None, new=None, details=None):
    """Add an Event "who did what, when" about ``obj`` (a case, or a row that belongs to one)
    to ``session``, as the acting user (``app.audit.actor``); it commits with the change it
    tells of. Field changes of tracked models are recorded by themselves (``_before_flush``);
    services call this for what is no field change (a reply sent, a link mailed)."""
    from app.audit.models import Event  # not at the top: the models import NeverDeleted from here

    actor = current_actor()
    event_row = Event(
        actor_id=getattr(actor, "id", None),
        actor_name=actor_label(actor),
        object_type=obj.__tablename__,
        action=action,
        field=field,
        old_value=display_value(old),
        new_value=display_value(new),
        details=details,
    )
    case = obj if obj.__tablename__ == "case" else getattr(obj, "case", None)
    if case is not None:
        event_row.case = case
    if obj.__tablename__ != "case":
        event_row.object_id = obj.id
    session.add(event_row)


def _before_flush(session: Session, flush_context, instances):
    from app.audit.models import Event  # not at the top: the models import NeverDeleted from here

    for obj in session.deleted:
        if isinstance(obj, (NeverDeleted, Event)):
            raise DeletionForbidden(
                f"{type(obj).__name__} records are never deleted (closed loop); "
                "close or archive instead."
            )
    for obj in list(session.dirty):
        if (
            isinstance(obj, Event)
            and session.is_modified(obj, include_collections=False)
            and not erasing()  # erasure overwrites what an Event says of a person
        ):
            raise DeletionForbidden("Events are a permanent record and cannot be edited.")
        if not getattr(obj, "__tracked__", None) or obj in session.new:
            continue
        with session.no_autoflush:
            for name, old, new in _changes(obj):
                action = "status" if name == "status" else "changed"
                details = getattr(obj, "_pending_event_details", None) if name == "status" else None
                record_event(
                    session, obj, action, None if name == "status" else name, old, new, details
                )
        if hasattr(obj, "_pending_event_details"):
            obj._pending_event_details = None
    for obj in list(session.new):
        if getattr(obj, "__tracked__", None) and obj.__tablename__ == "case":
            with session.no_autoflush:
                record_event(session, obj, "created", new=getattr(obj, "status", None))


def _refuse_bulk_deletes(orm_execute_state):
    """Bulk ``delete(Case)`` statements skip the flush hooks; refuse them here."""
    if not orm_execute_state.is_delete:
        return
    from app.audit.models import Event  # not at the top: the models import NeverDeleted from here

    mapper = orm_execute_state.bind_mapper
    cls = mapper.class_ if mapper is not None else None
    if cls is not None and (issubclass(cls, NeverDeleted) or cls is Event):
        raise DeletionForbidden(f"{cls.__name__} records are never deleted (closed loop).")


_installed = False


def install_tracking() -> None:
    """Hook the listeners into every SQLAlchemy session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "do_orm_execute", _refuse_bulk_deletes)
    for mapper in Model.registry.mappers:
        for name in getattr(mapper.class_, "__tracked__", ()):
            # active_history: load the old value on assignment even if it was expired, so
            # the Event can say "from 2 to 4" and not "from ? to 4".
            event.listen(getattr(mapper.class_, name), "set", _noop_set, active_history=True)
    _installed = True


def _noop_set(target, value, oldvalue, initiator):
    return value

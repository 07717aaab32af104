"""Removing a configuration row without breaking what refers to it.

Cases, messages, raw mail and events are never deleted (the closed loop). Configuration
(pools, mailboxes, topics, skills, agents, templates, …) may be deleted while nothing refers
to it, e.g. a pool created by mistake. Once any row refers to it, deleting it would fail on the
foreign key (an IntegrityError for the admin) or cut the history loose, so it is deactivated
instead and the message says why; a row in use that has no ``active`` flag stays as it is.
Every view and REST API of the desk deletes through ``retire`` (``app.core.views``).
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import func, inspect, select

from app.errors import Conflict
from app.extensions import db


def _plural(name: str, count: int) -> str:
    words = name.replace("_", " ")
    if count == 1:
        return words
    if words.endswith(("s", "x", "ch", "sh")):
        return words + "es"
    if words.endswith("y") and words[-2:-1] not in "aeiou":
        return words[:-1] + "ies"
    return words + "s"


def references(item) -> list[tuple[str, int]]:
    """What refers to ``item``: ``[("cases", 3), ("mailbox", 1)]``, one entry per referring
    table (foreign keys found in the schema, so a new model is counted without a line here)."""
    table = type(item).__table__
    (key,) = inspect(item).identity or (None,)
    if key is None:
        return []
    found = []
    for other in Model.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            count = db.session.scalar(
                select(func.count()).select_from(other).where(fk.parent == key)
            )
            if count:
                found.append((other.name, count))
    merged: dict[str, int] = {}
    for name, count in found:
        merged[name] = merged.get(name, 0) + count
    return [(_plural(name, count), count) for name, count in merged.items()]


def retire(item) -> str:
    """Delete ``item`` if nothing refers to it, otherwise deactivate it; returns what
    happened, in words for the person who asked. Commits."""
    label = f"{type(item).__name__.lower()} {item}"
    used = references(item)
    if not used:
        db.session.delete(item)
        db.session.commit()
        return f"Deleted {label}."
    what = ", ".join(f"{count} {name}" for name, count in used)
    if "active" not in type(item).__mapper__.columns:
        raise Conflict(f"The {label} is in use ({what}) and cannot be deleted.")
    if not item.active:
        return f"The {label} is in use ({what}); it stays, inactive, and nothing was deleted."
    item.active = False
    db.session.commit()
    return (
        f"The {label} is in use ({what}), so it was deactivated instead of deleted; "
        "what refers to it keeps its history."
    )

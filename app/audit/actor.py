"""Who is acting right now: the logged-in user in a request, or whoever a CLI command or job names.

Services never take the actor from a global they cannot see; they ask ``current_actor()``, which
prefers an explicit ``acting_as`` block (CLI, jobs, tests) over the request's logged-in user.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context

from app.extensions import appbuilder

_explicit_actor: ContextVar[object | None] = ContextVar("loopdesk_actor", default=None)
_SYSTEM = object()


def current_actor():
    """The acting user, or ``None`` for the system (intake, scheduled jobs)."""
    actor = _explicit_actor.get()
    if actor is _SYSTEM:
        return None
    if actor is not None:
        return actor
    if has_request_context():
        # The security manager knows both the session login and the API's JWT identity.
        user = appbuilder().sm.current_user
        if user is not None and getattr(user, "is_authenticated", False):
            return user
    return None


def is_system() -> bool:
    """True inside ``acting_as(None)``: the desk itself acts (intake, jobs, CLI without --as)."""
    return _explicit_actor.get() is _SYSTEM


@contextmanager
def acting_as(user):
    """Run a block as ``user``; ``None`` means the system itself."""
    token = _explicit_actor.set(user if user is not None else _SYSTEM)
    try:
        yield user
    finally:
        _explicit_actor.reset(token)


def actor_label(user) -> str:
    """The name kept on an Event: the user's full name and login, or 'system'."""
    if user is None:
        return "system"
    first = getattr(user, "first_name", "") or ""
    last = getattr(user, "last_name", "") or ""
    full = f"{first} {last}".strip()
    username = getattr(user, "username", None) or str(getattr(user, "id", "?"))
    return f"{full} ({username})" if full else username

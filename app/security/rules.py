"""Record rules: the one engine that decides which rows a user may see.

Every list, detail page, action, related-field dropdown, search, API endpoint, export and
report asks this module. The rules themselves live with the features that own the models
(``app/<feature>/record_rules.py``, registered through the feature's manifest); this module
holds the machinery and the head every rule shares:

* **Admin** and **Manager** see every row (managers cannot change anything: that is a
  permission matter, see ``roles.py``).
* The desk itself (``acting_as(None)``: intake, jobs, CLI without ``--as``) sees everything.
* Anyone else without a desk role (anonymous users included) sees nothing.
* **Deny by default**: a model that no feature gave a rule is visible to admins, managers
  and the desk itself only.

In words, the features' rules are: an **agent** sees cases of the pools he is a member of and
cases assigned to him; messages, attachments and events of those cases; customers who have
such a case; his pools and their mailboxes. A **supervisor** sees what an agent of his pools
sees and configures the pools he supervises (their mailboxes, memberships and topics).

Rules return SQLAlchemy criteria, so lists and counts stay single queries.

Seeing a row is not changing it: **write rules** (``WRITE_RULES`` next to a feature's record
rules) say who may change a row one sees, e.g. "only a supervisor of this pool". Every view
and REST API of the desk asks ``ensure_may_change`` for the row as loaded and as it would be
saved (``app.core.views``), and services ask it too, so no door forgets them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from flask import g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import event, false, select, true
from sqlalchemy.orm import Session

from app.audit.actor import current_actor, is_system
from app.errors import AccessDenied, Forbidden
from app.extensions import db
from app.security.roles import ADMIN, MANAGER, role_names

UNRESTRICTED_ROLES = {ADMIN, MANAGER}

Criterion = Callable[[object], object]
_RULES: dict[type, Criterion] = {}
# rule(row, user) raises Forbidden with the reason, or returns.
WriteRule = Callable[[object, object], None]
_WRITE_RULES: dict[type, WriteRule] = {}


def register(rules: Mapping[type, Criterion]) -> None:
    """Add a feature's rules (``{Model: criterion}``); called by ``app.features``."""
    _RULES.update(rules)


def register_write_rules(rules: Mapping[type, WriteRule]) -> None:
    """Add a feature's write rules (``{Model: rule(row, user)}``); called by ``app.features``."""
    _WRITE_RULES.update(rules)


def request_cached(key: str, user, compute):
    """Per-request memo: a list page asks for the same pool ids many times."""
    if not has_request_context():
        return compute()
    cache = g.setdefault("_record_rule_cache", {})
    cache_key = (key, getattr(user, "id", None))
    if cache_key not in cache:
        cache[cache_key] = compute()
    return cache[cache_key]


def cached_until_write(key, compute):
    """Per-request memo that the session's next write (flush) or rollback forgets: rows that
    several parts of one page ask for (the questionnaires of the case's pool: the close
    dialog and the reply composer), read once while nothing has changed them."""
    if not has_request_context():
        return compute()
    memo = g.setdefault("ld_until_write", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def sees_everything(user) -> bool:
    if user is None:
        return is_system()
    return bool(role_names(user) & UNRESTRICTED_ROLES)


def record_rule(criterion: Criterion) -> Criterion:
    """Decorator for a feature's rule: the common head (the desk itself, admins and managers
    see every row; users without a desk role none); the rule decides the rest."""

    @functools.wraps(criterion)
    def rule(user):
        if sees_everything(user):
            return true()
        if user is None or not role_names(user):
            return false()
        return criterion(user)

    return rule


@record_rule
def any_desk_role(user):
    """A rule for shared reference data (skills, topics): every desk role sees all of it."""
    return true()


def criterion_for(model, user):
    """The visibility criterion of ``model`` for ``user``; a model without a rule is open
    only to those who see everything."""
    rule = _RULES.get(model)
    if rule is None:
        return true() if sees_everything(user) else false()
    return rule(user)


def visible(query_or_select, model, user=None):
    """Restrict a Query or Select on ``model`` to the rows ``user`` (default: actor) may see."""
    user = current_actor() if user is None else user
    return query_or_select.filter(criterion_for(model, user))


def is_visible(obj, user=None) -> bool:
    """True when ``user`` may see the already loaded row ``obj``.

    Within one web request the answer is kept until the session next writes (a page asks
    for the same case from several places: its door, the thread, the composer, the outbox
    panel); a flush may move the row out of the user's reach, so it forgets them all."""
    user = current_actor() if user is None else user
    model = type(obj)
    key = (model, obj.id, getattr(user, "id", None))
    known = _visibility_answers()
    if known is not None and key in known:
        return known[key]
    pk = model.__mapper__.primary_key[0]
    stmt = select(pk).where(pk == obj.id, criterion_for(model, user))
    answer = db.session.execute(stmt).first() is not None
    if known is not None:
        known[key] = answer
    return answer


def get_visible(model, pk, *options, user=None):
    """The row ``model`` with primary key ``pk`` if ``user`` (default: actor) may see it, else
    None; one statement (``options``: loader options, e.g. ``joinedload`` of what the page
    shows). Later ``is_visible`` asks of the request are answered without another query."""
    user = current_actor() if user is None else user
    try:
        key = int(pk)
    except (TypeError, ValueError):
        return None
    column = model.__mapper__.primary_key[0]
    stmt = select(model).where(column == key, criterion_for(model, user)).options(*options)
    obj = db.session.scalars(stmt).unique().first()
    known = _visibility_answers()
    if obj is not None and known is not None:
        known[(model, obj.id, getattr(user, "id", None))] = True
    return obj


def _visibility_answers() -> dict | None:
    if not has_request_context():
        return None
    if "ld_visible" not in g:
        g.ld_visible = {}
    return g.ld_visible


@event.listens_for(Session, "after_flush")
def _forget_visibility(_session, _flush_context=None) -> None:
    if has_request_context():
        g.pop("ld_visible", None)
        g.pop("ld_until_write", None)


event.listen(Session, "after_rollback", _forget_visibility)  # what was flushed is undone


def ensure_visible(obj, user=None):
    """Raise AccessDenied (shown as 'not found') when ``user`` may not see ``obj``."""
    if obj is None or not is_visible(obj, user):
        raise AccessDenied("No such record, or it is outside your pools.")
    return obj


def ensure_may_change(obj, user=None) -> None:
    """Raise Forbidden (with the reason) unless ``user`` may change ``obj``, a row he sees.

    A model without a write rule leaves the decision to the permissions (who may edit the
    model at all); users without any desk role change nothing.
    """
    user = current_actor() if user is None else user
    if user is None and not is_system():
        raise Forbidden("Log in to change this.")
    rule = _WRITE_RULES.get(type(obj))
    if rule is not None:
        rule(obj, user)


class RecordRule(BaseFilter):
    """Flask-AppBuilder filter that applies the record rules of the view's model.

    Use as ``base_filters = [["id", RecordRule, None]]`` and in ``*_query_rel_fields``; the rule
    is evaluated per request, for the logged-in user.
    """

    name = "Record rule"
    arg_name = None

    def apply(self, query, value):
        return query.filter(criterion_for(self.model, current_actor()))

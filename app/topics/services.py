"""Changing the topic tree: add, rename, reorder, move, activate, link settings.

The tree page (``app.topics.views``) and any other door call these. Each change:

* is allowed to a supervisor of the pool the topic belongs to (its own or inherited) and to
  admins; the write rule (``app.agents.record_rules.topic_write_rule``) is checked for the
  topic as it was and as it will be, so moving a topic into or out of someone else's pool,
  or linking it to another pool, needs the right on both sides;
* records an Event per changed field (``Topic.__tracked__``) and one for a new topic;
* never deletes: a topic cases use is deactivated (and shown as such), its history stays.

What a topic inherits is read by ``app.organisation.topics.effective_settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from app.audit.tracking import record_event
from app.cases.models import Case
from app.core.inputs import parse_id, parse_text
from app.core.priority import Priority
from app.errors import DeskError
from app.extensions import db
from app.organisation.models import Pool, Skill, Topic
from app.organisation.topics import ancestors, effective_pool_id, sibling_order
from app.security.rules import ensure_may_change
from app.sla.models import SlaPolicy
from forms_designer.models import IntakeForm

UNCHANGED: Any = object()
#: The settings a topic links (empty: inherited from its parent).
LINKS = ("pool_id", "skill_id", "form_id", "priority", "sla_policy_id")
NAME_LENGTH = 128
LANGUAGE_LENGTH = 16


def get_topic(topic_id) -> Topic:
    number = parse_id(topic_id, field="topic_id")
    topic = db.session.get(Topic, number) if number is not None else None
    if topic is None:
        raise DeskError(f"No topic #{topic_id}.")
    return topic


def _descendants(topic: Topic) -> list[Topic]:
    found, stack = [], list(topic.children)
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.append(node)
        stack.extend(node.children)
    return found


def _ensure_may_change(topic: Topic, *, subtree: bool = False) -> None:
    """The write rule for the topic (and, for a move, each subtopic that goes with it)."""
    ensure_may_change(topic)
    if subtree:
        for node in _descendants(topic):
            ensure_may_change(node)


def _siblings(parent: Topic | None, besides: Topic | None = None) -> list[Topic]:
    parent_id = parent.id if parent is not None else None
    stmt = select(Topic).where(
        Topic.parent_id.is_(None) if parent_id is None else Topic.parent_id == parent_id
    )
    rows = [t for t in db.session.scalars(stmt) if t is not besides]
    return sorted(rows, key=sibling_order)


def _check_name(name, parent: Topic | None, topic: Topic | None = None) -> str:
    text = parse_text(name, field="name", max_length=NAME_LENGTH, required=True, one_line=True)
    for sibling in _siblings(parent, besides=topic):
        if sibling.name.strip().lower() == text.lower():
            where = f"under {parent.path}" if parent is not None else "at the top of the tree"
            raise DeskError(f"There is a topic '{sibling.name}' {where} already.")
    return text


def _translations(value, *, field: str, max_length: int) -> dict[str, str] | None:
    """``{"pl": "Faktury", …}`` with language codes and texts checked; empty texts dropped."""
    if value is None or value == "":
        return None
    if not isinstance(value, Mapping):
        raise DeskError(f'\'{field}\' must map language codes to texts, e.g. {{"pl": "…"}}.')
    cleaned: dict[str, str] = {}
    for language, text in value.items():
        code = str(language).strip().lower()
        if not code or len(code) > LANGUAGE_LENGTH or not code.replace("-", "").isalnum():
            raise DeskError(f"'{language}' in {field} is not a language code such as pl or de.")
        text = parse_text(text, field=f"{field} ({code})", max_length=max_length)
        if text:
            cleaned[code] = text
    return cleaned or None


def _renumber(rows: list[Topic]) -> None:
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position


def _commit(topic: Topic) -> Topic:
    db.session.commit()
    return topic


def add_topic(
    name,
    *,
    parent_id=None,
    description=None,
    name_translations=None,
    description_translations=None,
    commit: bool = True,
    **links,
) -> Topic:
    """A new topic at the end of its parent's children (``parent_id`` empty: a root), with
    its links (``pool_id``, ``skill_id``, ``form_id``, ``priority``, ``sla_policy_id``;
    empty: inherited). A root needs a pool unless an admin makes it."""
    parent = get_topic(parent_id) if parse_id(parent_id, field="parent_id") else None
    checked_name, position = _check_name(name, parent), len(_siblings(parent))
    with db.session.no_autoflush:  # the new row joins the session once it passed the rules
        topic = _new_topic(
            parent,
            checked_name,
            position,
            description,
            name_translations,
            description_translations,
            links,
        )
    db.session.add(topic)
    db.session.flush()
    record_event(db.session, topic, "created", new=topic.path)
    return _commit(topic) if commit else topic


def _new_topic(
    parent, name, position, description, name_translations, description_translations, links
) -> Topic:
    topic = Topic(
        name=name,
        parent=parent,
        description=parse_text(description, field="description", max_length=2000) or None,
        name_translations=_translations(
            name_translations, field="name_translations", max_length=NAME_LENGTH
        ),
        description_translations=_translations(
            description_translations, field="description_translations", max_length=2000
        ),
        active=True,
        position=position,
    )
    try:
        _apply_links(topic, links)
        ensure_may_change(topic)
    except DeskError:
        if parent is not None and topic in parent.children:
            parent.children.remove(topic)
        raise
    return topic


def update_topic(
    topic_id,
    *,
    name=UNCHANGED,
    description=UNCHANGED,
    name_translations=UNCHANGED,
    description_translations=UNCHANGED,
    commit: bool = True,
) -> Topic:
    """Rename a topic or change its description and their translations."""
    topic = get_topic(topic_id)
    _ensure_may_change(topic)
    if name is not UNCHANGED:
        text = _check_name(name, topic.parent, topic)
        if text != topic.name:
            topic.name = text
    if description is not UNCHANGED:
        topic.description = parse_text(description, field="description", max_length=2000) or None
    if name_translations is not UNCHANGED:
        topic.name_translations = _translations(
            name_translations, field="name_translations", max_length=NAME_LENGTH
        )
    if description_translations is not UNCHANGED:
        topic.description_translations = _translations(
            description_translations, field="description_translations", max_length=2000
        )
    return _commit(topic) if commit else topic


def _apply_links(topic: Topic, links: Mapping[str, Any]) -> None:
    unknown = set(links) - set(LINKS)
    if unknown:
        raise DeskError(f"A topic has no setting {', '.join(sorted(unknown))}.")
    if "pool_id" in links:
        pool_id = parse_id(links["pool_id"], field="pool_id")
        pool = db.session.get(Pool, pool_id) if pool_id is not None else None
        if pool_id is not None and (pool is None or not pool.active):
            raise DeskError(f"No active pool #{pool_id}.")
        topic.pool = pool
    if "skill_id" in links:
        skill_id = parse_id(links["skill_id"], field="skill_id")
        skill = db.session.get(Skill, skill_id) if skill_id is not None else None
        if skill_id is not None and (skill is None or not skill.active):
            raise DeskError(f"No active skill #{skill_id}.")
        topic.skill = skill
    if "form_id" in links:
        form_id = parse_id(links["form_id"], field="form_id")
        form = db.session.get(IntakeForm, form_id) if form_id is not None else None
        if form_id is not None and form is None:
            raise DeskError(f"No intake form #{form_id}.")
        topic.form = form
    if "priority" in links:
        topic.priority = _priority(links["priority"])
    if "sla_policy_id" in links:
        policy_id = parse_id(links["sla_policy_id"], field="sla_policy_id")
        policy = db.session.get(SlaPolicy, policy_id) if policy_id is not None else None
        if policy_id is not None and (policy is None or not policy.active):
            raise DeskError(f"No active SLA policy #{policy_id}.")
        topic.sla_policy = policy
    _check_policy_pool(topic)


def _priority(value) -> int | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "0")) or value == 0:
        return None
    try:
        return int(Priority(int(value)))
    except (TypeError, ValueError):
        choices = ", ".join(f"{int(p)} ({p.name.lower()})" for p in Priority)
        raise DeskError(f"Priority must be empty (inherit) or one of {choices}.") from None


def _check_policy_pool(topic: Topic) -> None:
    """A policy is one pool's: the topic's own policy must be of the pool its cases go to."""
    policy = topic.sla_policy
    if policy is None:
        return
    pool_id = effective_pool_id(topic)
    if pool_id is not None and policy.pool_id != pool_id:
        pool = db.session.get(Pool, pool_id)
        raise DeskError(
            f"The SLA policy '{policy.name}' is one of pool {policy.pool.name}'s; this topic's "
            f"cases go to pool {pool.name if pool else pool_id}. Pick one of that pool's."
        )


def link_topic(topic_id, *, commit: bool = True, **links) -> Topic:
    """Set what the topic links (``pool_id``, ``skill_id``, ``form_id``, ``priority``,
    ``sla_policy_id``): each key given is set, an empty value means "inherit"."""
    topic = get_topic(topic_id)
    _ensure_may_change(topic, subtree="pool_id" in links)
    _apply_links(topic, links)
    _ensure_may_change(topic, subtree="pool_id" in links)
    return _commit(topic) if commit else topic


def move_topic(topic_id, parent_id=None, index=None, *, commit: bool = True) -> Topic:
    """Put the topic under ``parent_id`` (empty: at the top) at ``index`` among its new
    siblings (empty: last); its subtopics go with it. Reordering among siblings is a move
    under the same parent."""
    topic = get_topic(topic_id)
    parent = get_topic(parent_id) if parse_id(parent_id, field="parent_id") else None
    if parent is not None and topic in ancestors(parent):
        raise DeskError(f"'{topic.path}' cannot go under itself or one of its subtopics.")
    _ensure_may_change(topic, subtree=True)
    old_parent = topic.parent
    if parent is not old_parent:
        _check_name(topic.name, parent, topic)
    siblings = _siblings(parent, besides=topic)
    place = len(siblings) if index in (None, "") else _index(index, len(siblings))
    siblings.insert(place, topic)
    if parent is not old_parent:
        topic.parent = parent
        _renumber(_siblings(old_parent, besides=topic))
    _renumber(siblings)
    _check_policy_pool(topic)
    _ensure_may_change(topic, subtree=True)
    return _commit(topic) if commit else topic


def _index(value, count: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DeskError("'index' must be a whole number.") from None
    return max(0, min(number, count))


def shift_topic(topic_id, delta, *, commit: bool = True) -> Topic:
    """Move the topic ``delta`` places among its siblings (-1: up, +1: down)."""
    topic = get_topic(topic_id)
    try:
        step = int(delta)
    except (TypeError, ValueError):
        raise DeskError("'delta' must be a whole number (-1: up, 1: down).") from None
    siblings = _siblings(topic.parent)
    here = siblings.index(topic)
    return move_topic(topic.id, topic.parent_id, max(0, here + step), commit=commit)


def set_active(topic_id, active: bool, *, commit: bool = True) -> Topic:
    """Offer the topic again, or stop offering it (and so its subtopics) to customers; a
    topic is never deleted here: cases that have it keep it."""
    topic = get_topic(topic_id)
    _ensure_may_change(topic)
    topic.active = bool(active)
    return _commit(topic) if commit else topic


def cases_per_topic() -> dict[int, int]:
    """How many cases have each topic (one grouped statement, for the tree page)."""
    stmt = select(Case.topic_id, func.count(Case.id)).where(Case.topic_id.is_not(None))
    return {topic_id: count for topic_id, count in db.session.execute(stmt.group_by(Case.topic_id))}

"""Reading the topic tree: what a topic inherits, its place in the tree, whether it is offered.

A topic leaves empty what its parent decides: the pool, the required skill, the intake form,
the priority and the SLA policy come from the topic itself or from its nearest ancestor that
sets them (``effective_settings``). Everyone who needs a topic's settings asks here: the case
opening (``app.cases.services.open_case``), the SLA clock (``app.sla.services``), the portal
and the supervisors' tree page (``app.topics``), so they never disagree.

This module only reads (organisation is the lowest feature: the links to forms and policies
are relationships by name); the changes are ``app.topics.services``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.organisation.models import Topic

#: What a topic passes on to its subtopics, as (setting, relationship or column of Topic).
INHERITED = (
    ("pool", "pool"),
    ("skill", "skill"),
    ("form", "form"),
    ("priority", "priority"),
    ("sla_policy", "sla_policy"),
)


@dataclass
class TopicSettings:
    """The resolved settings of a topic, and which topic gave each (itself or an ancestor)."""

    pool: Any = None
    skill: Any = None
    form: Any = None
    priority: int | None = None
    sla_policy: Any = None
    sources: dict[str, Any] = field(default_factory=dict)

    def inherited(self, name: str, topic) -> bool:
        """True when setting ``name`` comes from an ancestor of ``topic``."""
        source = self.sources.get(name)
        return source is not None and source is not topic

    def as_ids(self) -> dict[str, int | None]:
        """``{"pool_id": …, "skill_id": …, "form_id": …, "priority": …, "sla_policy_id": …}``."""
        return {
            "pool_id": getattr(self.pool, "id", None),
            "skill_id": getattr(self.skill, "id", None),
            "form_id": getattr(self.form, "id", None),
            "priority": self.priority,
            "sla_policy_id": getattr(self.sla_policy, "id", None),
        }


def ancestors(topic) -> list:
    """The topic and its ancestors, nearest first (a cycle, which the services refuse,
    would stop at the first repeat)."""
    chain, seen, node = [], set(), topic
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        chain.append(node)
        node = node.parent
    return chain


def effective_settings(topic) -> TopicSettings:
    """The pool, skill, form, priority and SLA policy of ``topic``: each from the topic itself
    or its nearest ancestor that sets it (None when nobody up the tree does)."""
    settings = TopicSettings()
    if topic is None:
        return settings
    for node in ancestors(topic):
        for name, attribute in INHERITED:
            if name in settings.sources:
                continue
            value = getattr(node, attribute)
            if value is not None:
                setattr(settings, name, value)
                settings.sources[name] = node
    return settings


def effective_pool_id(topic) -> int | None:
    """The id of the pool the topic's cases go to (its own or inherited): whose supervisors
    may change it. Reads the column where the relationship is not set yet."""
    for node in ancestors(topic):
        if node.pool is not None:
            return node.pool.id
        if node.pool_id is not None:
            return node.pool_id
    return None


def is_offered(topic) -> bool:
    """Customers may pick ``topic``: it and every ancestor are active."""
    return all(node.active for node in ancestors(topic))


@dataclass
class TreeNode:
    """One topic on the tree page or in the portal's picker, with its depth and siblings."""

    topic: Any
    depth: int
    index: int  # among its siblings
    siblings: int  # how many siblings it has, itself included
    children: list[TreeNode] = field(default_factory=list)


def sibling_order(topic) -> tuple:
    return (topic.position or 0, topic.name.lower(), topic.id or 0)


def build_tree(topics: list) -> list[TreeNode]:
    """The roots of ``topics`` with their children, each level in position order. A topic
    whose parent is not in the list (filtered out) becomes a root."""
    by_parent: dict[int | None, list] = {}
    ids = {t.id for t in topics}
    for topic in topics:
        parent = topic.parent_id if topic.parent_id in ids else None
        by_parent.setdefault(parent, []).append(topic)

    def level(parent_id, depth, seen) -> list[TreeNode]:
        rows = sorted(by_parent.get(parent_id, []), key=sibling_order)
        nodes = []
        for index, topic in enumerate(rows):
            if topic.id in seen:
                continue
            node = TreeNode(topic, depth, index, len(rows))
            node.children = level(topic.id, depth + 1, seen | {topic.id})
            nodes.append(node)
        return nodes

    return level(None, 0, frozenset())


def flatten(nodes: list[TreeNode]) -> list[TreeNode]:
    """The tree in reading order (a parent before its children)."""
    out: list[TreeNode] = []
    for node in nodes:
        out.append(node)
        out.extend(flatten(node.children))
    return out


def all_topics(*, active_only: bool = False) -> list:
    """Every topic in one statement (the tree is small: a desk has tens, not thousands), with
    the parents then already in the session, so ``effective_settings`` asks nothing more."""
    stmt = select(Topic)
    if active_only:
        stmt = stmt.where(Topic.active.is_(True))
    return list(db.session.scalars(stmt))


def offered_tree() -> list[TreeNode]:
    """The topics customers may pick (active, under active parents), for the portal; a
    node's ``topic.name_in(language)`` is its name in the customer's language."""
    topics = [t for t in all_topics() if is_offered(t)]
    return build_tree(topics)

"""The topic tree page (Configuration → Topic tree): the whole tree at a glance, one topic's
settings beside it, and every change a small CSRF-protected form onto ``app.topics.services``.

Reordering works with buttons and with the keyboard (``topics.js``: arrow keys move the focus,
Alt+↑/↓ move the topic); no script is needed for any change.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.agents.services import supervised_pool_ids
from app.audit.actor import current_actor
from app.audit.models import Event
from app.core.priority import PRIORITY_CHOICES, priority_label
from app.errors import DeskError
from app.extensions import db
from app.organisation.models import Pool, Skill, Topic
from app.organisation.topics import (
    all_topics,
    build_tree,
    effective_settings,
    flatten,
    is_offered,
)
from app.security.rules import ensure_may_change
from app.sla.models import SlaPolicy
from app.topics import services
from forms_designer.models import IntakeForm

#: Languages a topic's name may be given in besides the desk's own (the portal's).
PORTAL_LANGUAGES = ("de", "pl", "sv")


def translation_languages() -> list[str]:
    default = (current_app.config.get("DESK_DEFAULT_LANGUAGE") or "en").lower()
    configured = set(current_app.config.get("LANGUAGES") or {})
    return sorted((configured | set(PORTAL_LANGUAGES)) - {default})


def may_change(topic) -> bool:
    try:
        ensure_may_change(topic)
    except DeskError:
        return False
    return True


def _translations_from(form, prefix: str) -> dict[str, str]:
    return {
        language: form.get(f"{prefix}_{language}", "")
        for language in translation_languages()
        if form.get(f"{prefix}_{language}", "").strip()
    }


class TopicTreeView(BaseView):
    """``/topic-tree/``: the tree; ``?topic=<id>`` opens one topic's settings."""

    route_base = "/topic-tree"
    class_permission_name = "Topic"
    method_permission_name = {
        "tree": "list",
        "add": "add",
        "update": "edit",
        "link": "edit",
        "move": "edit",
        "shift": "edit",
        "activate": "edit",
    }
    default_view = "tree"

    @expose("/", methods=["GET"])
    @has_access
    def tree(self):
        topics = all_topics()
        nodes = flatten(build_tree(topics))
        selected = None
        wanted = request.args.get("topic", "")
        if wanted.isdigit():
            selected = next((t for t in topics if t.id == int(wanted)), None)
        counts = services.cases_per_topic()
        settings = {t.id: effective_settings(t) for t in topics}
        editable = {t.id for t in topics if may_change(t)}
        supervised = set(supervised_pool_ids(current_actor()))
        pools = [
            p
            for p in db.session.scalars(
                select(Pool).where(Pool.active.is_(True)).order_by(Pool.name)
            )
            if p.id in supervised
        ]
        history = []
        if selected is not None:
            history = list(
                db.session.scalars(
                    select(Event)
                    .where(Event.object_type == "topic", Event.object_id == selected.id)
                    .order_by(Event.created_at.desc(), Event.id.desc())
                    .limit(12)
                )
            )
        return self.render_template(
            "topics/tree.html",
            title="Topic tree",
            nodes=nodes,
            selected=selected,
            settings=settings,
            counts=counts,
            editable=editable,
            offered={t.id: is_offered(t) for t in topics},
            may_add_root=bool(pools),
            pools=pools,
            skills=list(
                db.session.scalars(select(Skill).where(Skill.active.is_(True)).order_by(Skill.name))
            ),
            forms=list(
                db.session.scalars(
                    select(IntakeForm)
                    .options(selectinload(IntakeForm.versions), joinedload(IntakeForm.pool))
                    .order_by(IntakeForm.name)
                )
            ),
            policies=list(
                db.session.scalars(
                    select(SlaPolicy)
                    .where(SlaPolicy.active.is_(True))
                    .order_by(SlaPolicy.pool_id, SlaPolicy.name)
                )
            ),
            priorities=PRIORITY_CHOICES,
            priority_label=priority_label,
            languages=translation_languages(),
            history=history,
            descendants=_descendant_ids(selected) if selected is not None else set(),
        )

    def _done(self, run, success: str, topic_id=None):
        """Run a change; flash its outcome and go back to the tree (at the topic)."""
        try:
            topic = run()
        except DeskError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                abort(exc.status_code, str(exc))
            flash(str(exc), "danger")
            return redirect(url_for(".tree", topic=topic_id))
        flash(success.format(topic=topic), "success")
        return redirect(url_for(".tree", topic=topic.id) + f"#topic-{topic.id}")

    @expose("/add", methods=["POST"])
    @has_access
    def add(self):
        form = request.form
        parent_id = form.get("parent_id") or None
        links = {}
        if form.get("pool_id"):
            links["pool_id"] = form.get("pool_id")
        return self._done(
            lambda: services.add_topic(form.get("name"), parent_id=parent_id, **links),
            "Added {topic.path}.",
            parent_id,
        )

    @expose("/<int:pk>/update", methods=["POST"])
    @has_access
    def update(self, pk):
        form = request.form
        return self._done(
            lambda: services.update_topic(
                pk,
                name=form.get("name"),
                description=form.get("description"),
                name_translations=_translations_from(form, "name"),
                description_translations=_translations_from(form, "description"),
            ),
            "Saved {topic.path}.",
            pk,
        )

    @expose("/<int:pk>/link", methods=["POST"])
    @has_access
    def link(self, pk):
        form = request.form
        links = {key: form.get(key) or None for key in services.LINKS if key in form}
        return self._done(
            lambda: services.link_topic(pk, **links), "Saved the settings of {topic.path}.", pk
        )

    @expose("/<int:pk>/move", methods=["POST"])
    @has_access
    def move(self, pk):
        form = request.form
        return self._done(
            lambda: services.move_topic(pk, form.get("parent_id") or None, form.get("index")),
            "Moved {topic.path}.",
            pk,
        )

    @expose("/<int:pk>/shift", methods=["POST"])
    @has_access
    def shift(self, pk):
        delta = request.form.get("delta", "")
        return self._done(
            lambda: services.shift_topic(pk, delta),
            "Moved {topic.name} " + ("up." if delta.startswith("-") else "down."),
            pk,
        )

    @expose("/<int:pk>/activate", methods=["POST"])
    @has_access
    def activate(self, pk):
        active = request.form.get("active") == "1"
        return self._done(
            lambda: services.set_active(pk, active),
            "{topic.path} is " + ("offered again." if active else "no longer offered."),
            pk,
        )


def _descendant_ids(topic: Topic) -> set[int]:
    found, stack = set(), list(topic.children)
    while stack:
        node = stack.pop()
        if node.id not in found:
            found.add(node.id)
            stack.extend(node.children)
    return found


def register(appbuilder) -> None:
    appbuilder.add_view(TopicTreeView, "Topic tree", icon="fa-sitemap", category="Configuration")

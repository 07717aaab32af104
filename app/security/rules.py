"""Record rules: the one place that decides which rows a user may see and change.

Every list, detail page, action, related-field dropdown, search, API endpoint, export and
report asks this module. The rules, in words:

* **Admin** and **Manager** see every row (managers cannot change anything: that is a
  permission matter, see ``roles.py``).
* **Agent** sees cases of the pools he is a member of, and cases assigned to him; messages,
  attachments and events of those cases; customers who have such a case; his pools and
  their mailboxes.
* **Supervisor** sees what an agent of his pools sees, and configures the pools he supervises
  (their mailboxes, memberships and topics).
* The desk itself (``acting_as(None)``: intake, jobs, CLI without ``--as``) sees everything.
* Anyone else (no desk role, anonymous) sees nothing.

The functions return SQLAlchemy criteria, so lists and counts stay single queries.
"""

from __future__ import annotations

import functools

from flask import g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import false, or_, select, true

from app.audit.actor import current_actor
from app.errors import AccessDenied
from app.security.roles import ADMIN, MANAGER, SUPERVISOR, role_names

UNRESTRICTED_ROLES = {ADMIN, MANAGER}


def _cached(key: str, user, compute):
    """Per-request memo: list pages ask for the same pool ids many times."""
    if not has_request_context():
        return compute()
    cache = g.setdefault("_record_rule_cache", {})
    cache_key = (key, getattr(user, "id", None))
    if cache_key not in cache:
        cache[cache_key] = compute()
    return cache[cache_key]


def sees_everything(user) -> bool:
    if user is None:
        from app.audit.actor import is_system

        return is_system()
    return bool(role_names(user) & UNRESTRICTED_ROLES)


def member_pool_ids(user) -> list[int]:
    """Ids of the pools the user works in (any membership)."""
    from app.agents.models import AgentProfile, PoolMembership
    from app.extensions import db

    if user is None or getattr(user, "id", None) is None:
        return []

    def compute():
        stmt = (
            select(PoolMembership.pool_id)
            .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
            .where(AgentProfile.user_id == user.id)
        )
        return sorted(set(db.session.scalars(stmt)))

    return _cached("member_pools", user, compute)


def supervised_pool_ids(user) -> list[int]:
    """Ids of the pools the user may configure: all for admins, his own for supervisors."""
    from app.agents.models import AgentProfile, PoolMembership
    from app.extensions import db
    from app.organisation.models import Pool

    roles = role_names(user)
    if ADMIN in roles or (user is None and sees_everything(None)):
        return list(db.session.scalars(select(Pool.id)))
    if SUPERVISOR not in roles:
        return []

    def compute():
        stmt = (
            select(PoolMembership.pool_id)
            .join(AgentProfile, AgentProfile.id == PoolMembership.agent_id)
            .where(AgentProfile.user_id == user.id, PoolMembership.is_supervisor.is_(True))
        )
        return sorted(set(db.session.scalars(stmt)))

    return _cached("supervised_pools", user, compute)


# --- criteria per model --------------------------------------------------------------------


def _rule(criterion):
    """Common head of every rule: the desk itself and admins/managers see every row, users
    without a desk role (and anonymous ones) see none; the rule decides the rest."""

    @functools.wraps(criterion)
    def rule(user):
        if sees_everything(user):
            return true()
        if user is None or not role_names(user):
            return false()
        return criterion(user)

    return rule


@_rule
def case_criterion(user):
    from app.cases.models import Case

    pools = member_pool_ids(user)
    return or_(Case.pool_id.in_(pools), Case.assignee_id == user.id)


def _visible_case_ids(user):
    from app.cases.models import Case

    return select(Case.id).where(case_criterion(user))


@_rule
def message_criterion(user):
    from app.cases.models import Message

    return Message.case_id.in_(_visible_case_ids(user))


@_rule
def event_criterion(user):
    from app.audit.models import Event

    # Events without a case (system events) are for admins and managers only.
    return Event.case_id.in_(_visible_case_ids(user))


@_rule
def customer_criterion(user):
    from app.cases.models import Case
    from app.customers.models import Customer

    return Customer.id.in_(select(Case.customer_id).where(case_criterion(user)))


@_rule
def pool_criterion(user):
    from app.organisation.models import Pool

    return Pool.id.in_(member_pool_ids(user))


@_rule
def mailbox_criterion(user):
    from app.mail.models import Mailbox

    return Mailbox.pool_id.in_(member_pool_ids(user))


@_rule
def raw_message_criterion(user):
    from app.mail.models import RawMessage

    if SUPERVISOR not in role_names(user):
        return false()
    from app.mail.models import Mailbox

    return RawMessage.mailbox_id.in_(
        select(Mailbox.id).where(Mailbox.pool_id.in_(supervised_pool_ids(user)))
    )


@_rule
def category_rule_criterion(user):
    """Category rules: supervisors see the rules of the pools they supervise."""
    from app.mail.models import CategoryRule

    if SUPERVISOR not in role_names(user):
        return false()
    return CategoryRule.owner_pool_id.in_(supervised_pool_ids(user))


@_rule
def outbox_criterion(user):
    """Outgoing mail of the cases the user sees; mail without a case for admins/managers."""
    from app.outbox.models import OutboxMail

    return OutboxMail.case_id.in_(_visible_case_ids(user))


@_rule
def membership_criterion(user):
    from app.agents.models import PoolMembership

    return PoolMembership.pool_id.in_(member_pool_ids(user))


@_rule
def agent_criterion(user):
    """Agents visible to a user: colleagues who share a pool with him."""
    from app.agents.models import AgentProfile, PoolMembership

    colleagues = select(PoolMembership.agent_id).where(
        PoolMembership.pool_id.in_(member_pool_ids(user))
    )
    return or_(AgentProfile.id.in_(colleagues), AgentProfile.user_id == user.id)


@_rule
def user_criterion(user):
    """Users offered in pickers such as the assignee dropdown: colleagues of shared pools."""
    from flask_appbuilder.security.sqla.models import User

    from app.agents.models import AgentProfile, PoolMembership

    colleagues = (
        select(AgentProfile.user_id)
        .join(PoolMembership, PoolMembership.agent_id == AgentProfile.id)
        .where(PoolMembership.pool_id.in_(member_pool_ids(user)))
    )
    return or_(User.id.in_(colleagues), User.id == user.id)


def _pool_scoped(column, user):
    """Rows of the user's pools, plus rows without a pool (desk-wide)."""
    return or_(column.is_(None), column.in_(member_pool_ids(user)))


@_rule
def response_template_criterion(user):
    from app.answering.models import ResponseTemplate

    return _pool_scoped(ResponseTemplate.pool_id, user)


@_rule
def document_criterion(user):
    from app.answering.models import Document

    return _pool_scoped(Document.pool_id, user)


@_rule
def document_version_criterion(user):
    from app.answering.models import Document, DocumentVersion

    return DocumentVersion.document_id.in_(select(Document.id).where(document_criterion(user)))


@_rule
def pool_layout_criterion(user):
    from app.answering.models import PoolLayout

    return PoolLayout.pool_id.in_(member_pool_ids(user))


@_rule
def agent_signature_criterion(user):
    from app.agents.models import AgentProfile
    from app.answering.models import AgentSignature

    return AgentSignature.agent_id.in_(select(AgentProfile.id).where(agent_criterion(user)))


@_rule
def reply_criterion(user):
    from app.answering.models import Reply

    return Reply.case_id.in_(_visible_case_ids(user))


@_rule
def reply_attachment_criterion(user):
    from app.answering.models import Reply, ReplyAttachment

    return ReplyAttachment.reply_id.in_(select(Reply.id).where(reply_criterion(user)))


def _category_rule_model():
    from app.mail.models import CategoryRule

    return CategoryRule


def _criteria():
    from flask_appbuilder.security.sqla.models import User

    from app.agents.models import AgentProfile, PoolMembership
    from app.audit.models import Event
    from app.cases.models import Case, Message
    from app.customers.models import Customer
    from app.mail.models import Mailbox, RawMessage
    from app.organisation.models import Pool
    from app.outbox.models import OutboxMail

    return {
        Case: case_criterion,
        Message: message_criterion,
        Event: event_criterion,
        Customer: customer_criterion,
        Pool: pool_criterion,
        Mailbox: mailbox_criterion,
        RawMessage: raw_message_criterion,
        OutboxMail: outbox_criterion,
        _category_rule_model(): category_rule_criterion,
        PoolMembership: membership_criterion,
        AgentProfile: agent_criterion,
        User: user_criterion,
        **_answering_criteria(),
    }


def _answering_criteria():
    from app.answering.models import (
        AgentSignature,
        Document,
        DocumentVersion,
        PoolLayout,
        Reply,
        ReplyAttachment,
        ResponseTemplate,
    )

    return {
        ResponseTemplate: response_template_criterion,
        Document: document_criterion,
        DocumentVersion: document_version_criterion,
        PoolLayout: pool_layout_criterion,
        AgentSignature: agent_signature_criterion,
        Reply: reply_criterion,
        ReplyAttachment: reply_attachment_criterion,
    }


def criterion_for(model, user):
    """The visibility criterion of ``model`` for ``user``; models without a rule are open
    to anyone holding a desk role (skills, topics, intake forms)."""
    rule = _criteria().get(model)
    if rule is None:
        return true() if role_names(user) or sees_everything(user) else false()
    return rule(user)


def visible(query_or_select, model, user=None):
    """Restrict a Query or Select on ``model`` to the rows ``user`` (default: actor) may see."""
    user = current_actor() if user is None else user
    return query_or_select.filter(criterion_for(model, user))


def is_visible(obj, user=None) -> bool:
    """True when ``user`` may see the already loaded row ``obj``."""
    from app.extensions import db

    user = current_actor() if user is None else user
    model = type(obj)
    pk = model.__mapper__.primary_key[0]
    stmt = select(pk).where(pk == obj.id, criterion_for(model, user))
    return db.session.execute(stmt).first() is not None


def ensure_visible(obj, user=None):
    """Raise AccessDenied (shown as 'not found') when ``user`` may not see ``obj``."""
    if obj is None or not is_visible(obj, user):
        raise AccessDenied("No such record, or it is outside your pools.")
    return obj


def ensure_can_configure_pool(pool_id, user=None):
    user = current_actor() if user is None else user
    if pool_id not in supervised_pool_ids(user):
        raise AccessDenied("Only a supervisor of this pool (or an admin) may change it.")


class RecordRule(BaseFilter):
    """Flask-AppBuilder filter that applies the record rules of the view's model.

    Use as ``base_filters = [["id", RecordRule, None]]`` and in ``*_query_rel_fields``; the rule
    is evaluated per request, for the logged-in user.
    """

    name = "Record rule"
    arg_name = None

    def apply(self, query, value):
        return query.filter(criterion_for(self.model, current_actor()))

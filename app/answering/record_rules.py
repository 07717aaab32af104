"""Record rules of templates, layouts, signatures, documents and replies."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.agents.models import AgentProfile
from app.agents.record_rules import agent_criterion
from app.agents.services import agent_write_rule, member_pool_ids, pool_write_rule
from app.answering.models import (
    AgentSignature,
    Document,
    DocumentVersion,
    PoolLayout,
    Reply,
    ReplyAttachment,
    ResponseTemplate,
)
from app.cases.record_rules import visible_case_ids
from app.security.rules import record_rule


def _pool_scoped(column, user):
    """Rows of the user's pools, plus rows without a pool (desk-wide)."""
    return or_(column.is_(None), column.in_(member_pool_ids(user)))


@record_rule
def response_template_criterion(user):
    return _pool_scoped(ResponseTemplate.pool_id, user)


@record_rule
def document_criterion(user):
    return _pool_scoped(Document.pool_id, user)


@record_rule
def document_version_criterion(user):
    return DocumentVersion.document_id.in_(select(Document.id).where(document_criterion(user)))


@record_rule
def pool_layout_criterion(user):
    return PoolLayout.pool_id.in_(member_pool_ids(user))


@record_rule
def agent_signature_criterion(user):
    return AgentSignature.agent_id.in_(select(AgentProfile.id).where(agent_criterion(user)))


@record_rule
def reply_criterion(user):
    return Reply.case_id.in_(visible_case_ids(user))


@record_rule
def reply_attachment_criterion(user):
    return ReplyAttachment.reply_id.in_(select(Reply.id).where(reply_criterion(user)))


RULES = {
    ResponseTemplate: response_template_criterion,
    Document: document_criterion,
    DocumentVersion: document_version_criterion,
    PoolLayout: pool_layout_criterion,
    AgentSignature: agent_signature_criterion,
    Reply: reply_criterion,
    ReplyAttachment: reply_attachment_criterion,
}

# Supervisors change the rows of the pools they supervise; desk-wide rows (no pool) are for
# whoever may edit the model. Signatures: those of agents in a pool one supervises.
WRITE_RULES = {
    ResponseTemplate: pool_write_rule("pool"),
    Document: pool_write_rule("pool"),
    PoolLayout: pool_write_rule("pool"),
    AgentSignature: agent_write_rule("agent"),
}

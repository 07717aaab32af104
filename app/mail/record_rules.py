"""Record rules of mailboxes, raw mail, attachments and category rules.

Agents never see raw mail; supervisors see the raw mail of the mailboxes of the pools they
supervise (quarantine, re-processing).
"""

from __future__ import annotations

from sqlalchemy import false, select

from app.agents.services import member_pool_ids, pool_write_rule, supervised_pool_ids
from app.cases.models import Message
from app.cases.record_rules import message_criterion
from app.mail.models import Attachment, CategoryRule, RawMessage
from app.mailcore.models import Mailbox
from app.security.roles import SUPERVISOR, role_names
from app.security.rules import record_rule


@record_rule
def mailbox_criterion(user):
    return Mailbox.pool_id.in_(member_pool_ids(user))


@record_rule
def raw_message_criterion(user):
    if SUPERVISOR not in role_names(user):
        return false()
    return RawMessage.mailbox_id.in_(
        select(Mailbox.id).where(Mailbox.pool_id.in_(supervised_pool_ids(user)))
    )


@record_rule
def attachment_criterion(user):
    """Attachments of the messages one sees."""
    return Attachment.message_id.in_(select(Message.id).where(message_criterion(user)))


@record_rule
def category_rule_criterion(user):
    """Category rules: supervisors see the rules of the pools they supervise."""
    if SUPERVISOR not in role_names(user):
        return false()
    return CategoryRule.owner_pool_id.in_(supervised_pool_ids(user))


RULES = {
    Mailbox: mailbox_criterion,
    RawMessage: raw_message_criterion,
    Attachment: attachment_criterion,
    CategoryRule: category_rule_criterion,
}

# A mailbox belongs to a pool, a category rule to its owner pool: only supervisors of that pool
# (and admins) change them; rules for every pool (no owner) are for admins.
WRITE_RULES = {
    Mailbox: pool_write_rule("pool"),
    CategoryRule: pool_write_rule("owner_pool", without_pool="admins"),
}

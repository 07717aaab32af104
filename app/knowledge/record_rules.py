"""Record and write rules of the knowledge base.

* Seeing: an agent (and a supervisor) sees the articles of his pools and the desk-wide ones
  (no pool); admins and managers see all (``app.security.rules``). Versions follow their
  article; uses follow their case.
* Changing: a supervisor changes an article only when every pool it is offered in is one he
  supervises (before and after the change); desk-wide articles are for admins. Whether a role
  may edit articles at all is its permission (``feature.py``).
* The portal (no desk role) sees no row through these rules: it asks ``search_articles``
  with ``public_only`` for published public articles only.
"""

from __future__ import annotations

from sqlalchemy import select

from app.agents.services import member_pool_ids, supervised_pool_ids
from app.cases.record_rules import visible_case_ids
from app.errors import Forbidden
from app.knowledge.models import KnowledgeArticle, KnowledgeArticleUse, KnowledgeArticleVersion
from app.knowledge.search import pool_scope
from app.security.roles import ADMIN, role_names
from app.security.rules import record_rule, sees_everything


@record_rule
def article_criterion(user):
    return pool_scope(member_pool_ids(user))


@record_rule
def article_version_criterion(user):
    return KnowledgeArticleVersion.article_id.in_(
        select(KnowledgeArticle.id).where(article_criterion(user))
    )


@record_rule
def article_use_criterion(user):
    return KnowledgeArticleUse.case_id.in_(visible_case_ids(user))


RULES = {
    KnowledgeArticle: article_criterion,
    KnowledgeArticleVersion: article_version_criterion,
    KnowledgeArticleUse: article_use_criterion,
}


def may_maintain(pool_ids, user) -> None:
    """Refuse unless ``user`` may maintain an article offered in ``pool_ids`` (empty:
    desk-wide)."""
    if ADMIN in role_names(user) or (user is None and sees_everything(None)):
        return
    if not pool_ids:
        raise Forbidden("Only admins keep desk-wide articles; choose the pools of the article.")
    outside = set(pool_ids) - set(supervised_pool_ids(user))
    if outside:
        raise Forbidden(
            "Only a supervisor of every pool of the article (or an admin) may change it."
        )


def article_write_rule(row, user) -> None:
    may_maintain([p.id for p in row.pools], user)


WRITE_RULES = {
    KnowledgeArticle: article_write_rule,
    KnowledgeArticleVersion: lambda row, user: article_write_rule(row.article, user),
}

"""Models of the knowledge base: articles of standard answers, their language versions, the
pools they are offered in, and every insertion of one into a reply.

* ``KnowledgeArticle``: tags, pool scope (no pool: desk-wide), the public flag and the status
  (draft, published, archived). Never deleted: an article that is no longer wanted is
  archived, so the uses counted for the reports keep their article.
* ``KnowledgeArticleVersion``: the article in one language (en, pl, sv, de): title and body
  (sanitised rich text, ``app.answering.richtext``) and ``search_text``, the folded words of
  title, tags and body that ``search.search_articles`` matches.
* ``KnowledgeArticleUse``: one insertion into a reply (article, language, case, agent, when);
  ``services.usage_counts`` counts them for the reports.
"""

from __future__ import annotations

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.audit.tracking import NeverDeleted
from app.core.timeutil import utcnow


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


article_pool = Table(
    "knowledge_article_pool",
    Model.metadata,
    Column("article_id", Integer, ForeignKey("knowledge_article.id"), primary_key=True),
    Column("pool_id", Integer, ForeignKey("pool.id"), primary_key=True, index=True),
)


class KnowledgeArticle(NeverDeleted, Model):
    """A standard answer, in one or more languages (``versions``)."""

    __tablename__ = "knowledge_article"
    __tracked__ = ("status", "public", "tags")

    id = Column(Integer, primary_key=True)
    # Comma-separated, lower case ("billing, invoice"); searched like the text.
    tags = Column(String(500), nullable=False, default="")
    public = Column(Boolean, nullable=False, default=False)
    status = Column(String(16), nullable=False, default=ArticleStatus.DRAFT, index=True)
    pools = relationship("Pool", secondary=article_pool, order_by="Pool.name")
    versions = relationship(
        "KnowledgeArticleVersion",
        back_populates="article",
        order_by="KnowledgeArticleVersion.language",
        cascade="all, delete-orphan",
    )
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by = relationship("User", foreign_keys=[created_by_id])
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def version(self, language: str | None) -> KnowledgeArticleVersion | None:
        """The version in ``language``, else None."""
        return next((v for v in self.versions if v.language == language), None)

    @property
    def title(self) -> str:
        """The English title, else the first version's (lists show one title per article)."""
        found = self.version("en") or (self.versions[0] if self.versions else None)
        return found.title if found is not None else f"Article {self.id}"

    @property
    def languages(self) -> str:
        return ", ".join(v.language for v in self.versions)

    @property
    def scope(self) -> str:
        return ", ".join(p.name for p in self.pools) or "Desk-wide"

    def __repr__(self) -> str:
        return self.title


class KnowledgeArticleVersion(Model):
    """An article in one language."""

    __tablename__ = "knowledge_article_version"
    __table_args__ = (
        UniqueConstraint("article_id", "language", name="uq_knowledge_article_version"),
    )

    id = Column(Integer, primary_key=True)
    article_id = Column(Integer, ForeignKey("knowledge_article.id"), nullable=False, index=True)
    article = relationship("KnowledgeArticle", back_populates="versions")
    language = Column(String(16), nullable=False)
    title = Column(String(200), nullable=False)
    body_html = Column(Text, nullable=False, default="")  # sanitised (richtext.clean_reply_html)
    body_text = Column(Text, nullable=False, default="")  # its plain text (richtext.html_to_text)
    search_text = Column(Text, nullable=False, default="")  # search.fold(title, tags, text)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"{self.title} ({self.language})"


class KnowledgeArticleUse(NeverDeleted, Model):
    """An article inserted into a reply: which, in which language, on which case, by whom."""

    __tablename__ = "knowledge_article_use"
    __table_args__ = (Index("ix_knowledge_article_use_article_at", "article_id", "at"),)

    id = Column(Integer, primary_key=True)
    article_id = Column(Integer, ForeignKey("knowledge_article.id"), nullable=False)
    article = relationship("KnowledgeArticle")
    language = Column(String(16), nullable=False)
    case_id = Column(Integer, ForeignKey("case.id"), nullable=False, index=True)
    case = relationship("Case")
    agent_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True, index=True)
    agent = relationship("User", foreign_keys=[agent_id])
    at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"use of article {self.article_id} on case {self.case_id}"


__all__ = [
    "ArticleStatus",
    "KnowledgeArticle",
    "KnowledgeArticleUse",
    "KnowledgeArticleVersion",
    "article_pool",
]

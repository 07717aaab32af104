"""Finding articles by the words someone types: the reply editor's picker, the portal's
suggestions and the REST API all call ``search_articles``.

Simple and portable on purpose: a knowledge base holds hundreds or a few thousand articles,
not millions of messages (the case search is ``app.search``'s). Every version keeps
``search_text``, its title, tags and body text *folded* — lower case, accents and strokes
gone (``Zwrot płatności`` → ``zwrot platnosci``, ``Rückgabe`` → ``ruckgabe``) — so one plain
``LIKE '%word%'`` per word finds it on SQLite and PostgreSQL alike, whatever the case and
accents the words were typed with (SQLite's own ``LIKE`` and ``lower`` know ASCII only). Every
word must match (prefixes too: "refu" finds "refund"). The matches are then ranked in Python:
the asked language first, then by how many words the title holds, then by title.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select

from app.extensions import db
from app.knowledge.models import (
    ArticleStatus,
    KnowledgeArticle,
    KnowledgeArticleVersion,
    article_pool,
)

MAX_WORDS = 8
WORD_MAX = 40
CANDIDATES = 200  # rows read before ranking; plenty for a knowledge base
# Letters NFKD does not take apart.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe"})
_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to suggest anything by (folded), when any word may match.
STOP_WORDS = frozenset(
    "the and for you your with have has not but can this that from are was our how what "
    "der die das und ich ist mit nicht ein eine fur mein meine sie wie was bei "
    "nie jak ale jest mam sie czy moje moj dla jest jak ten ta to "
    "och att det som jag har inte for min med den hur var".split()
)


def fold(*parts: str | None) -> str:
    """Text as ``search_text`` holds it: lower case, without accents, single spaces."""
    text = " ".join(p for p in parts if p).casefold().translate(_FOLD)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(_WORD.findall(text))


def words_of(query: str | Iterable[str] | None) -> list[str]:
    """The folded words of a query (text or a list of words), at most ``MAX_WORDS``."""
    if query is None:
        return []
    text = query if isinstance(query, str) else " ".join(str(w) for w in query)
    found: list[str] = []
    for word in fold(text).split():
        word = word[:WORD_MAX]
        if word not in found:
            found.append(word)
    return found[:MAX_WORDS]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class Hit:
    """One matching article version."""

    article: KnowledgeArticle
    version: KnowledgeArticleVersion

    @property
    def snippet(self) -> str:
        text = " ".join(self.version.body_text.split())
        return text if len(text) <= 160 else text[:157].rsplit(" ", 1)[0] + " …"


def pool_scope(pool_ids: Sequence[int] | None):
    """Articles offered in one of ``pool_ids`` or desk-wide (no pool); None: every article."""
    if pool_ids is None:
        return None
    in_pools = exists().where(
        article_pool.c.article_id == KnowledgeArticle.id,
        article_pool.c.pool_id.in_(list(pool_ids)),
    )
    desk_wide = ~exists().where(article_pool.c.article_id == KnowledgeArticle.id)
    return or_(desk_wide, in_pools)


def search_articles(
    words,
    language: str | None,
    pool_ids: Sequence[int] | None,
    public_only: bool,
    *,
    only_language: bool = False,
    match_any: bool = False,
    limit: int = 10,
    criterion=None,
) -> list[Hit]:
    """Published articles whose title, tags or body hold every word of ``words`` (text or a
    list; empty: every article, most recently changed first).

    ``language``: versions in it come first; with ``only_language`` no other is returned.
    ``pool_ids``: articles of these pools and desk-wide ones (None: no pool restriction).
    ``public_only``: only articles marked public (the portal). ``match_any``: an article
    holding any of the words (of three letters or more, common ones left out) is found, the
    more words the better; for a customer's whole sentence. ``criterion``: a further
    condition on ``KnowledgeArticle`` (a record rule). Drafts and archived articles are never
    found.
    """
    folded = words_of(words)
    if match_any:
        folded = [w for w in folded if len(w) >= 3 and w not in STOP_WORDS]
        if not folded:
            return []
    stmt = (
        select(KnowledgeArticleVersion, KnowledgeArticle)
        .join(KnowledgeArticle, KnowledgeArticle.id == KnowledgeArticleVersion.article_id)
        .where(KnowledgeArticle.status == ArticleStatus.PUBLISHED)
    )
    if public_only:
        stmt = stmt.where(KnowledgeArticle.public.is_(True))
    if only_language:
        stmt = stmt.where(KnowledgeArticleVersion.language == (language or ""))
    scope = pool_scope(pool_ids)
    if scope is not None:
        stmt = stmt.where(scope)
    if criterion is not None:
        stmt = stmt.where(criterion)
    if folded:
        likes = [KnowledgeArticleVersion.search_text.like(_like(w), escape="\\") for w in folded]
        stmt = stmt.where(or_(*likes) if match_any else and_(*likes))
    stmt = stmt.order_by(KnowledgeArticle.updated_at.desc(), KnowledgeArticleVersion.id)
    rows = db.session.execute(stmt.limit(CANDIDATES)).all()

    def rank(row):
        version, _article = row
        title = fold(version.title)
        in_title = sum(1 for w in folded if w in title)
        in_text = sum(1 for w in folded if w in version.search_text) if match_any else 0
        return (version.language != language, -in_text, -in_title, title)

    if folded:
        rows = sorted(rows, key=rank)
    else:
        rows = sorted(rows, key=lambda row: row[0].language != language)  # stable: newest first
    return [Hit(article, version) for version, article in rows[:limit]]

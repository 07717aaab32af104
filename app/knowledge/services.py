"""The knowledge base's business rules: writing articles, publishing and archiving them,
inserting one into a reply (counted), and the counts the reports read.

The editor page, the list's actions, the REST API and the tests all call these; the doors
commit. Every change leaves an Event: status, public flag and tags by themselves (tracked
fields of ``KnowledgeArticle``), creation and text changes from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.answering import richtext
from app.answering.rendering import customer_language
from app.audit.actor import current_actor, is_system
from app.audit.tracking import record_event
from app.cases.actions import CASE_ACTION
from app.cases.models import Case
from app.errors import AccessDenied, DeskError, Forbidden
from app.extensions import db
from app.knowledge import search
from app.knowledge.models import (
    ArticleStatus,
    KnowledgeArticle,
    KnowledgeArticleUse,
    KnowledgeArticleVersion,
)
from app.knowledge.record_rules import article_criterion
from app.organisation.models import Pool
from app.security.roles import user_may
from app.security.rules import ensure_may_change, ensure_visible, is_visible

# The languages an article may be written in (the customer portal's).
LANGUAGES = {"en": "English", "pl": "Polski", "sv": "Svenska", "de": "Deutsch"}
PERMISSION_VIEW = "KnowledgeArticle"
TITLE_MAX = 200
TAGS_MAX = 500
BODY_TEXT_MAX = 20_000


@dataclass
class ArticleInput:
    """What the editor (or the API) sends: ``versions`` maps a language to (title, body
    HTML); a language with neither is no version (an existing one is removed)."""

    versions: Mapping[str, tuple[str, str]]
    tags: str = ""
    pool_ids: Sequence[int] = ()
    public: bool = False
    status: str = ArticleStatus.DRAFT
    problems: list[str] = field(default_factory=list)


class ArticleRefused(DeskError):
    """The article cannot be saved as sent; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def _may(permission: str, user) -> bool:
    return (user is None and is_system()) or user_may(user, permission, PERMISSION_VIEW)


def may_edit_articles(user=None) -> bool:
    """Whether ``user``'s role may write articles at all (supervisors, admins)."""
    user = current_actor() if user is None else user
    return _may("can_edit", user)


def may_maintain_article(article: KnowledgeArticle, user=None) -> bool:
    """Whether ``user`` may change this article (role, record and write rules)."""
    user = current_actor() if user is None else user
    if not may_edit_articles(user) or not is_visible(article, user):
        return False
    try:
        ensure_may_change(article, user)
    except DeskError:
        return False
    return True


def normalise_tags(tags: str | Iterable[str] | None) -> str:
    """``"Billing; invoice,billing "`` → ``"billing, invoice"``."""
    if tags is None:
        return ""
    raw = tags if isinstance(tags, str) else ",".join(str(t) for t in tags)
    found: list[str] = []
    for tag in raw.replace(";", ",").split(","):
        tag = " ".join(tag.split()).lower()
        if tag and tag not in found:
            found.append(tag)
    return ", ".join(found)


def _pools(pool_ids: Sequence[int], problems: list[str]) -> list[Pool]:
    ids = []
    for value in pool_ids or ():
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            problems.append(f"{value!r} is not a pool.")
    pools = list(db.session.scalars(select(Pool).where(Pool.id.in_(ids)))) if ids else []
    if len(pools) != len(set(ids)) or not all(is_visible(p) for p in pools):
        problems.append("One of the pools does not exist or is outside your pools.")
    return sorted(pools, key=lambda p: p.name)


def _versions(data: ArticleInput, problems: list[str]) -> dict[str, tuple[str, str, str]]:
    """{language: (title, editor HTML, plain text)} of the versions sent."""
    out: dict[str, tuple[str, str, str]] = {}
    for language, (title, body) in data.versions.items():
        name = LANGUAGES.get(language)
        if name is None:
            problems.append(f"{language!r} is not a language of the knowledge base.")
            continue
        title = " ".join((title or "").split())
        try:
            html = richtext.clean_editor_html(body or "")
        except DeskError as exc:
            problems.append(f"{name}: {exc}")
            continue
        text = richtext.html_to_text(richtext.clean_reply_html(html))
        if not title and not text:
            continue
        if not title:
            problems.append(f"{name}: give the version a title.")
        elif len(title) > TITLE_MAX:
            problems.append(f"{name}: the title is longer than {TITLE_MAX} characters.")
        if not text:
            problems.append(f"{name}: write the text of the answer.")
        elif len(text) > BODY_TEXT_MAX:
            problems.append(f"{name}: the text is longer than {BODY_TEXT_MAX} characters.")
        out[language] = (title, html, text)
    if not out and not problems:
        problems.append("Write the article in at least one language.")
    return out


def save_article(article: KnowledgeArticle | None, data: ArticleInput, user=None):
    """Create (``article`` None) or change an article; raise ArticleRefused with every
    problem, Forbidden when the user may not, AccessDenied for an article he cannot see."""
    user = current_actor() if user is None else user
    creating = article is None
    if not _may("can_add" if creating else "can_edit", user):
        raise Forbidden("Your role may not write knowledge base articles.")
    if article is not None:
        ensure_visible(article, user)
        ensure_may_change(article, user)  # as loaded
    problems = list(data.problems)
    status = str(data.status or ArticleStatus.DRAFT)
    if status not in set(ArticleStatus):
        problems.append(f"{status!r} is not a status (draft, published, archived).")
    tags = normalise_tags(data.tags)
    if len(tags) > TAGS_MAX:
        problems.append(f"The tags are longer than {TAGS_MAX} characters.")
    pools = _pools(data.pool_ids, problems)
    versions = _versions(data, problems)
    if problems:
        raise ArticleRefused(problems)

    with db.session.no_autoflush:
        if article is None:
            article = KnowledgeArticle(created_by_id=getattr(user, "id", None))
            db.session.add(article)
        article.tags = tags
        article.public = bool(data.public)
        article.status = status
        article.pools = pools
        changed: list[str] = []
        for language, (title, html, text) in versions.items():
            version = article.version(language)
            if version is None:
                version = KnowledgeArticleVersion(language=language)
                article.versions.append(version)
                changed.append(language)
            elif (version.title, version.body_html) != (title, html):
                changed.append(language)
            version.title, version.body_html, version.body_text = title, html, text
            version.search_text = search.fold(title, tags, text)
        removed = [v for v in article.versions if v.language not in versions]
        for version in removed:
            article.versions.remove(version)
        ensure_may_change(article, user)  # as it would be saved (its new pools)
    db.session.flush()
    if creating:
        record_event(db.session, article, "created", new=article.title)
    elif changed or removed:
        record_event(
            db.session,
            article,
            "changed",
            "text",
            new=", ".join(changed) or None,
            details={"changed": changed, "removed": [v.language for v in removed]},
        )
    return article


def set_status(article: KnowledgeArticle, status: str, user=None) -> KnowledgeArticle:
    """Publish, archive or take back to draft (the list's actions); an Event by itself."""
    user = current_actor() if user is None else user
    if not _may("can_edit", user):
        raise Forbidden("Your role may not change knowledge base articles.")
    ensure_visible(article, user)
    ensure_may_change(article, user)
    if status not in set(ArticleStatus):
        raise DeskError(f"{status!r} is not a status (draft, published, archived).")
    if status == ArticleStatus.PUBLISHED and not article.versions:
        raise DeskError("An article without text cannot be published.")
    article.status = status
    db.session.flush()
    return article


# --- the reply editor's picker ---------------------------------------------------------------


def picker_pool_ids(case: Case) -> list[int]:
    """Pools whose articles the picker offers on ``case``: the case's own (and desk-wide
    articles always); the user's record rule narrows them further."""
    return [case.pool_id] if case.pool_id is not None else []


def picker_hits(case: Case, words, user=None, *, limit: int = 12) -> list[search.Hit]:
    """Published articles of the case's pool (and desk-wide ones) that ``user`` sees, in the
    customer's language first; one entry per article (its best version)."""
    user = current_actor() if user is None else user
    language = customer_language(case)
    hits = search.search_articles(
        words,
        language,
        picker_pool_ids(case),
        False,
        limit=limit * 4,
        criterion=article_criterion(user),
    )
    seen: set[int] = set()
    best: list[search.Hit] = []
    for hit in hits:
        if hit.article.id not in seen:
            seen.add(hit.article.id)
            best.append(hit)
    return best[:limit]


def record_use(case: Case, article_id: int, language: str, user=None):
    """An agent inserts an article's version into his reply on ``case``: counted (one
    ``KnowledgeArticleUse``), the version returned. Only a published article the user sees,
    offered in the case's pool, on a case he may answer."""
    user = current_actor() if user is None else user
    ensure_visible(case, user)
    if not user_may(user, "can_reply", CASE_ACTION):
        raise Forbidden("Your role may not reply to customers.")
    article = db.session.get(KnowledgeArticle, article_id)
    ensure_visible(article, user)
    assert article is not None
    scope = search.pool_scope(picker_pool_ids(case))
    offered = db.session.scalar(
        select(KnowledgeArticle.id).where(KnowledgeArticle.id == article.id, scope)
    )
    if offered is None or article.status != ArticleStatus.PUBLISHED:
        raise AccessDenied("No such article for this case.")
    version = article.version(language)
    if version is None:
        raise AccessDenied(f"The article has no {language!r} version.")
    use = KnowledgeArticleUse(
        article=article, language=language, case=case, agent_id=getattr(user, "id", None)
    )
    db.session.add(use)
    db.session.flush()
    return use, version


# --- for the reports -------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleUsage:
    article_id: int
    title: str
    uses: int


def usage_counts(
    since: datetime | None = None,
    until: datetime | None = None,
    pool_ids: Sequence[int] | None = None,
) -> list[ArticleUsage]:
    """How often each article was inserted into a reply (``knowledge_article_use``), most
    used first: between ``since`` (inclusive) and ``until`` (exclusive), on cases of
    ``pool_ids`` (None: all). Articles never used are not listed. One grouped query."""
    stmt = select(KnowledgeArticleUse.article_id, func.count(KnowledgeArticleUse.id))
    if since is not None:
        stmt = stmt.where(KnowledgeArticleUse.at >= since)
    if until is not None:
        stmt = stmt.where(KnowledgeArticleUse.at < until)
    if pool_ids is not None:
        stmt = stmt.join(Case, Case.id == KnowledgeArticleUse.case_id).where(
            Case.pool_id.in_(list(pool_ids))
        )
    stmt = stmt.group_by(KnowledgeArticleUse.article_id)
    counts = dict(db.session.execute(stmt).tuples().all())
    if not counts:
        return []
    articles = {
        a.id: a
        for a in db.session.scalars(
            select(KnowledgeArticle).where(KnowledgeArticle.id.in_(list(counts)))
        )
    }
    rows = [ArticleUsage(i, articles[i].title, n) for i, n in counts.items() if i in articles]
    return sorted(rows, key=lambda r: (-r.uses, r.title))


def portal_language(article: KnowledgeArticle, asked: str | None, accepted=()) -> str | None:
    """The language to show a public article in: the asked one, else the first accepted
    one it has, else English, else its first."""
    have = [v.language for v in article.versions]
    for candidate in [asked, *accepted, "en"]:
        if candidate in have:
            return candidate
    return have[0] if have else None

"""REST API of the knowledge base (``/api/v1/knowledge/``), read-only and under the same
record rules as the pages: an agent gets the articles of his pools and the desk-wide ones,
nothing of another pool (404 for its id).

* ``GET /api/v1/knowledge/?page=0&page_size=25&status=published`` — the articles one sees;
* ``GET /api/v1/knowledge/<id>`` — one article with its language versions;
* ``GET /api/v1/knowledge/search?q=words&lang=pl[&case_id=N]`` — published matches, the
  language first; with ``case_id`` exactly the reply picker's (the case's pool, the
  customer's language).

Articles are written on the editor page (``services.save_article``).
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from sqlalchemy import func, select

from app.answering.rendering import customer_language
from app.audit.actor import current_actor
from app.cases.models import Case
from app.core.api import MAX_ID, page_args
from app.errors import AccessDenied, DeskError
from app.extensions import db
from app.knowledge import search, services
from app.knowledge.models import KnowledgeArticle
from app.knowledge.record_rules import article_criterion
from app.security.rules import ensure_visible, is_visible, visible


def article_json(article: KnowledgeArticle, *, with_body: bool = False) -> dict:
    return {
        "id": article.id,
        "status": article.status,
        "public": article.public,
        "tags": [t for t in article.tags.split(", ") if t],
        "pools": [{"id": p.id, "name": p.name} for p in article.pools],
        "updated_at": article.updated_at.isoformat(timespec="seconds"),
        "versions": [
            {
                "language": v.language,
                "title": v.title,
                **({"body_html": v.body_html, "body_text": v.body_text} if with_body else {}),
            }
            for v in article.versions
        ],
    }


def _answer(api: BaseApi, func):
    try:
        return api.response(200, **func())
    except DeskError as exc:
        db.session.rollback()
        if exc.status_code == 404:
            return api.response_404()
        return api.response(exc.status_code, message=str(exc))


class KnowledgeApi(BaseApi):
    resource_name = "knowledge"
    class_permission_name = "KnowledgeArticle"
    method_permission_name = {"get_list": "get", "get": "get", "search": "get"}
    allow_browser_login = True
    openapi_spec_tag = "Knowledge base"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The articles the caller sees, most recently changed first.
        ---
        get:
          parameters:
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1}}
          - {in: query, name: status, schema: {type: string}}
          responses:
            200: {description: "{count, page, page_size, result: [article]}"}
        """

        def run():
            page, size = page_args()  # FAB_API_MAX_PAGE_SIZE at most, like every list
            stmt = visible(select(KnowledgeArticle), KnowledgeArticle)
            status = request.args.get("status")
            if status:
                stmt = stmt.where(KnowledgeArticle.status == status)
            count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = db.session.scalars(
                stmt.order_by(KnowledgeArticle.updated_at.desc(), KnowledgeArticle.id.desc())
                .offset(page * size)
                .limit(size)
            )
            return {
                "count": count,
                "page": page,
                "page_size": size,
                "result": [article_json(a) for a in rows],
            }

        return _answer(self, run)

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get(self, pk):
        """One article with the text of every language version.
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: "{result: article}"}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            article = ensure_visible(db.session.get(KnowledgeArticle, pk))
            return {"result": article_json(article, with_body=True)}

        return _answer(self, run)

    @expose("/search", methods=["GET"])
    @protect()
    @safe
    def search(self):
        """Published articles holding every word of ``q``, ``lang`` first (with ``case_id``:
        the case's pool and the customer's language, as the reply picker offers them).
        ---
        get:
          parameters:
          - {in: query, name: q, schema: {type: string}}
          - {in: query, name: lang, schema: {type: string}}
          - {in: query, name: case_id, schema: {type: integer}}
          responses:
            200: {description: "{result: [{id, language, title, snippet}]}"}
            404: {$ref: '#/components/responses/404'}
        """

        def run():
            query = request.args.get("q", "")[:200]
            case_id = request.args.get("case_id", type=int)
            if case_id is not None:
                # an id beyond the database's integers is no case (SQLite refuses to bind it)
                case = db.session.get(Case, case_id) if 0 < case_id <= MAX_ID else None
                if case is None or not is_visible(case):
                    raise AccessDenied("No such case.")
                hits = services.picker_hits(case, query)
                language = customer_language(case)
            else:
                language = (request.args.get("lang") or "en").lower()
                hits = search.search_articles(
                    query, language, None, False, criterion=article_criterion(current_actor())
                )
            return {
                "language": language,
                "result": [
                    {
                        "id": h.article.id,
                        "language": h.version.language,
                        "title": h.version.title,
                        "snippet": h.snippet,
                    }
                    for h in hits
                ],
            }

        return _answer(self, run)

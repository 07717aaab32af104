"""Pages of the knowledge base.

* ``KnowledgeArticleView`` (``/knowledge/articles``): the list and detail pages (Flask-AppBuilder),
  with Publish and Archive as list actions; "add" and "edit" lead to the editor.
* ``KnowledgeEditorView`` (``/knowledge/editor``): the purpose-built edit page, one tab per
  language with the reply composer's Quill editor (``static/editor.js``), tags, pools, the
  public flag and the status. Without JavaScript each body is a plain textarea.
* ``KnowledgePickerView`` (``/knowledge/picker/<case>``): the "Knowledge base" picker of the
  reply composer. The composer shows only its button (``_composer_tool.html``, handed to
  answering through the ``composer_tools`` hook); the panel loads by htmx when opened, the
  matches as the agent types, and Insert (``static/picker.js``) posts the use, which is
  counted, and puts the body into the editor at the cursor.
* The portal's public doors (``/portal/kb/suggest`` JSON and ``/portal/kb/<id>``), limited
  per client address by Flask-Limiter (``KNOWLEDGE_SUGGEST_RATE_LIMIT``).

Every door is thin: the rules are in ``services``, ``search`` and ``record_rules``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import func, select

from app.agents.services import supervised_pool_ids
from app.answering import richtext
from app.answering.rendering import customer_language
from app.audit.actor import current_actor
from app.cases.models import Case
from app.core.settings import setting
from app.core.views import DeskModelView
from app.errors import AccessDenied, DeskError, Forbidden
from app.extensions import db
from app.knowledge import search, services
from app.knowledge.api import KnowledgeApi
from app.knowledge.models import (
    ArticleStatus,
    KnowledgeArticle,
    KnowledgeArticleUse,
)
from app.organisation.models import Pool
from app.security.roles import ADMIN, role_names
from app.security.rules import ensure_visible, is_visible

LANGUAGES = services.LANGUAGES
STATUS_LABELS = {
    ArticleStatus.DRAFT: "Draft",
    ArticleStatus.PUBLISHED: "Published",
    ArticleStatus.ARCHIVED: "Archived",
}

# Templates of the feature (app/knowledge/templates/knowledge/…) and its static files
# (/static/knowledge/editor.js, picker.js, kb_suggest.js, …).
blueprint = Blueprint(
    "knowledge",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/knowledge",
)


def _status_label(value) -> str:
    return STATUS_LABELS.get(value, str(value))


# --- list and detail ---------------------------------------------------------------------------


class KnowledgeArticleView(DeskModelView):
    datamodel = SQLAInterface(KnowledgeArticle)
    class_permission_name = "KnowledgeArticle"
    route_base = "/knowledge/articles"
    item_name = "Article"
    list_title = "Knowledge base"
    # No delete: articles are archived. Add and edit open the editor page.
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    method_permission_name = {"publish": "edit", "archive": "edit"}
    list_columns = ["title", "languages", "scope", "tags", "public", "status", "updated_at"]
    show_columns = [
        "title",
        "languages",
        "scope",
        "tags",
        "public",
        "status",
        "created_by",
        "created_at",
        "updated_at",
    ]
    search_columns = ["tags", "status", "public", "pools"]
    order_columns = ["tags", "public", "status", "updated_at"]
    base_order = ("updated_at", "desc")
    label_columns = {"scope": "Pools", "languages": "Languages", "public": "Public"}
    formatters_columns = {"status": _status_label}
    show_template = "knowledge/article_show.html"

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return redirect(url_for("KnowledgeEditorView.new"))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return redirect(url_for("KnowledgeEditorView.edit", pk=pk))

    def _status_action(self, items, status: str, done: str):
        def change(item):
            services.set_status(item, status)
            db.session.commit()

        return self.run_service(change, items, done)

    @action("publish", "Publish", "Publish the selected articles?", "fa-check", multiple=True)
    def publish(self, items):
        return self._status_action(items, ArticleStatus.PUBLISHED, "Published: {items}.")

    @action("archive", "Archive", "Archive the selected articles?", "fa-archive", multiple=True)
    def archive(self, items):
        return self._status_action(items, ArticleStatus.ARCHIVED, "Archived: {items}.")


def article_panel(pk) -> dict:
    """What the detail page shows below the fields: each version, the uses, the editor link
    (the page has already checked that the user sees the article)."""
    article = ensure_visible(db.session.get(KnowledgeArticle, int(pk)))
    uses = db.session.scalar(
        select(func.count(KnowledgeArticleUse.id)).where(
            KnowledgeArticleUse.article_id == article.id
        )
    )
    return {
        "versions": [
            (
                v,
                LANGUAGES.get(v.language, v.language),
                Markup(richtext.clean_reply_html(v.body_html)),
            )
            for v in article.versions
        ],
        "uses": uses or 0,
        "may_edit": services.may_maintain_article(article),
    }


# --- the editor page ------------------------------------------------------------------------------


def pools_for_editor(article: KnowledgeArticle | None) -> tuple[list[Pool], bool]:
    """(pools the user may offer the article in, whether he may keep it desk-wide)."""
    user = current_actor()
    allowed = set(supervised_pool_ids(user))
    pools = [
        p
        for p in db.session.scalars(select(Pool).order_by(Pool.name))
        if (p.id in allowed and p.active) or (article is not None and p in article.pools)
    ]
    return pools, ADMIN in role_names(user)


def _posted_input() -> services.ArticleInput:
    versions = {}
    for language in LANGUAGES:
        html = request.form.get(f"body_html_{language}")
        if html is None:  # no JavaScript: the textarea's plain text
            html = richtext.text_to_editor_html(request.form.get(f"text_{language}", "").strip())
        versions[language] = (request.form.get(f"title_{language}", ""), html)
    return services.ArticleInput(
        versions=versions,
        tags=request.form.get("tags", ""),
        pool_ids=request.form.getlist("pool_ids"),
        public=request.form.get("public") == "y",
        status=request.form.get("status", ArticleStatus.DRAFT),
    )


def _first_language(article: KnowledgeArticle) -> str:
    """The tab the editor opens on: English when the article has it, else its first."""
    have = [v.language for v in article.versions]
    return "en" if "en" in have or not have else have[0]


def _text_of(html: str) -> str:
    try:
        return richtext.html_to_text(richtext.clean_reply_html(html))
    except DeskError:
        return ""


class KnowledgeEditorView(BaseView):
    """Write an article: ``/knowledge/editor/new`` and ``/knowledge/editor/<id>``."""

    route_base = "/knowledge/editor"
    class_permission_name = "KnowledgeArticle"
    method_permission_name = {"new": "add", "edit": "edit"}
    default_view = "new"

    def _article(self, pk) -> KnowledgeArticle:
        article = db.session.get(KnowledgeArticle, pk)
        try:
            ensure_visible(article)
        except AccessDenied:
            abort(404)
        if not services.may_maintain_article(article):
            abort(403, description="Only a supervisor of every pool of the article may change it.")
        return article

    def _page(self, article, form, problems=(), status=200):
        pools, may_desk_wide = pools_for_editor(article)
        return self.render_template(
            "knowledge/editor.html",
            article=article,
            form=form,
            problems=list(problems),
            pools=pools,
            may_desk_wide=may_desk_wide,
            languages=LANGUAGES,
            statuses=STATUS_LABELS,
        ), status

    @staticmethod
    def _form_of(article: KnowledgeArticle | None, language: str | None = None) -> dict:
        if article is None:
            return {
                "versions": {},
                "tags": "",
                "pool_ids": set(),
                "public": False,
                "status": ArticleStatus.DRAFT,
                "language": language if language in LANGUAGES else "en",
            }
        return {
            "versions": {v.language: (v.title, v.body_html, v.body_text) for v in article.versions},
            "tags": article.tags,
            "pool_ids": {p.id for p in article.pools},
            "public": article.public,
            "status": article.status,
            "language": language if language in LANGUAGES else _first_language(article),
        }

    @staticmethod
    def _form_posted(data: services.ArticleInput) -> dict:
        return {
            "versions": {
                lang: (title, html, _text_of(html)) for lang, (title, html) in data.versions.items()
            },
            "tags": data.tags,
            "pool_ids": {int(p) for p in data.pool_ids if str(p).isdigit()},
            "public": data.public,
            "status": data.status,
            "language": request.form.get("language")
            if request.form.get("language") in LANGUAGES
            else "en",
        }

    def _save(self, article):
        data = _posted_input()
        try:
            saved = services.save_article(article, data)
        except Forbidden as exc:
            db.session.rollback()
            if article is None or "role" in str(exc):
                abort(403, description=str(exc))
            return self._page(article, self._form_posted(data), [str(exc)], 403)
        except DeskError as exc:
            db.session.rollback()
            problems = getattr(exc, "problems", None) or [str(exc)]
            return self._page(article, self._form_posted(data), problems, 400)
        db.session.commit()
        flash(f"Article “{saved.title}” saved ({_status_label(saved.status).lower()}).", "success")
        return redirect(url_for("KnowledgeEditorView.edit", pk=saved.id))

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        if request.method == "POST":
            return self._save(None)
        return self._page(None, self._form_of(None, request.args.get("language")))

    @expose("/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        article = self._article(pk)
        if request.method == "POST":
            return self._save(article)
        return self._page(article, self._form_of(article, request.args.get("language")))


# --- the reply composer's picker ------------------------------------------------------------------


def composer_tool(case) -> dict | None:
    """What the composer's "Knowledge base" button needs (None: not offered to this user)."""
    if not current_app.appbuilder.sm.has_access("can_use", "KnowledgeArticle"):
        return None
    return {"panel_url": url_for("KnowledgePickerView.panel", case_id=case.id)}


class KnowledgePickerView(BaseView):
    """The picker's fragments and its insert door."""

    route_base = "/knowledge/picker"
    class_permission_name = "KnowledgeArticle"
    method_permission_name = {"panel": "use", "results": "use", "insert": "use"}
    default_view = "panel"

    def _case(self, case_id) -> Case:
        case = db.session.get(Case, case_id)
        if case is None or not is_visible(case):
            abort(404)
        return case

    def _context(self, case, query: str) -> dict:
        language = customer_language(case)
        return {
            "case": case,
            "hits": services.picker_hits(case, query),
            "query": query,
            "language": language,
            "language_name": LANGUAGES.get(language, language),
            "languages": LANGUAGES,
        }

    @expose("/<int:case_id>", methods=["GET"])
    @has_access
    def panel(self, case_id):
        """The panel (a search box and the newest articles for the case), loaded when the
        picker is first opened."""
        case = self._case(case_id)
        return render_template(
            "knowledge/_picker.html", csrf=generate_csrf(), **self._context(case, "")
        )

    @expose("/<int:case_id>/search", methods=["GET"])
    @has_access
    def results(self, case_id):
        """The matches of the words typed (the panel swaps them in as the agent types)."""
        case = self._case(case_id)
        return render_template(
            "knowledge/_picker_results.html",
            **self._context(case, request.args.get("q", "")[:200]),
        )

    @expose("/<int:case_id>/insert/<int:article_id>/<language>", methods=["POST"])
    @has_access
    def insert(self, case_id, article_id, language):
        """Count the use and give the body to insert: ``{"html", "text", "title"}``."""
        case = self._case(case_id)
        try:
            _use, version = services.record_use(case, article_id, language)
        except DeskError as exc:
            db.session.rollback()
            return jsonify(message=str(exc)), exc.status_code
        db.session.commit()
        return jsonify(html=version.body_html, text=version.body_text, title=version.title)


# --- the portal's public doors ---------------------------------------------------------------------


def _portal_language() -> str:
    asked = (request.args.get("lang") or "").strip().lower()[:8]
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def portal_suggest():
    """``GET /portal/kb/suggest?q=words&lang=pl``: public, published articles in that
    language holding the words, as JSON ``{"articles": [{"id", "title", "snippet", "url"}]}``."""
    language = _portal_language()
    query = request.args.get("q", "")[:200]
    words = search.words_of(query)
    hits = []
    if words and sum(len(w) for w in words) >= 3:
        hits = search.search_articles(
            words,
            language,
            None,
            True,
            only_language=True,
            match_any=True,
            limit=setting("KNOWLEDGE_SUGGEST_MAX"),
        )
    response = jsonify(
        language=language,
        articles=[
            {
                "id": h.article.id,
                "title": h.version.title,
                "snippet": h.snippet,
                "url": url_for("knowledge_portal.article", pk=h.article.id, lang=language),
            }
            for h in hits
        ],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def portal_article(pk):
    """``GET /portal/kb/<id>?lang=pl``: a public, published article in the customer's
    language (asked, else his browser's, else English, else the first it has)."""
    article = db.session.get(KnowledgeArticle, pk)
    if article is None or not article.public or article.status != ArticleStatus.PUBLISHED:
        abort(404)
    asked = (request.args.get("lang") or "").strip().lower()[:8]
    accepted = [lang.split("-")[0].lower() for lang, _q in request.accept_languages]
    language = services.portal_language(article, asked or None, accepted)
    version = article.version(language)
    if version is None:
        abort(404)
    return render_template(
        "knowledge/portal_article.html",
        article=article,
        version=version,
        language=language,
        body=Markup(richtext.clean_reply_html(version.body_html)),
        others=[(v.language, LANGUAGES.get(v.language, v.language)) for v in article.versions],
    )


def too_many_requests(error):
    """Over ``KNOWLEDGE_SUGGEST_RATE_LIMIT``: the suggestions answer JSON like always."""
    message = "Too many requests from your address; please try again in a minute."
    if request.endpoint == "knowledge_portal.suggest":
        return jsonify(message=message, articles=[]), 429
    return message, 429, {"Content-Type": "text/plain; charset=utf-8"}


def make_portal_blueprint(limiter) -> Blueprint:
    """The public doors for one app, counted by that app's Flask-Limiter."""
    bp = Blueprint("knowledge_portal", __name__)
    bp.register_error_handler(429, too_many_requests)
    limit = limiter.limit(lambda: setting("KNOWLEDGE_SUGGEST_RATE_LIMIT"))
    bp.add_url_rule("/portal/kb/suggest", "suggest", limit(portal_suggest))
    bp.add_url_rule("/portal/kb/<int:pk>", "article", limit(portal_article))
    return bp


def register(appbuilder) -> None:
    """The knowledge base's pages, API, portal doors, static files and composer hook."""
    app = current_app._get_current_object()  # views are registered inside create_app's context
    app.register_blueprint(blueprint)
    app.register_blueprint(make_portal_blueprint(appbuilder.sm.limiter))
    appbuilder.add_view(
        KnowledgeArticleView, "Knowledge base", icon="fa-lightbulb-o", category="Answering"
    )
    appbuilder.add_view_no_menu(KnowledgeEditorView)
    appbuilder.add_view_no_menu(KnowledgePickerView)
    appbuilder.add_api(KnowledgeApi)
    app.jinja_env.globals["knowledge_panel"] = article_panel
    app.jinja_env.globals["knowledge_tool"] = composer_tool
    # answering's composer includes every tool a higher feature hands it (its hook).
    tools = app.jinja_env.globals.setdefault("composer_tools", [])
    if "knowledge/_composer_tool.html" not in tools:
        tools.append("knowledge/_composer_tool.html")

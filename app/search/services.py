"""Search: one interface, ``search(query, filters, actor, page)``, over two backends.

What is searched: cases (number and subject), messages (subject, sender and body), intake
answers and attachment names, each a row of the index (``app.search.models``, kept by
database triggers); customers (name, address) are listed beside the results.

* **PostgreSQL**: the stored ``tsvector`` with its GIN index, queried with
  ``websearch_to_tsquery`` (quotes for phrases, ``-word`` to exclude, ``or``) read as exact
  words and in each of ``SEARCH_LANGUAGES``' word forms; accents folded by ``unaccent``.
  Results come newest first (an index on the date), so a common word costs no ranking of
  every match; ``sort=relevance`` ranks only the newest ``RANK_WINDOW`` matches
  (``ts_rank``). Snippets are ``ts_headline`` of the page's rows only.
* **SQLite**: the FTS5 table ``search_fts``; the query is translated into FTS5's syntax
  (every word quoted, so no input is an operator), ``bm25`` ranks, ``snippet()`` highlights.

Partial case numbers and addresses ("000123", "alice@exa") match cases by ``LIKE`` (on
PostgreSQL ``pg_trgm`` indexes serve them). The record rules are part of the statement (the
case's rule, ``app.security.rules``), so hits, counts and snippets of cases a user may not
see never leave the database. Snippets are escaped, then marked (``<mark>``): a mail's
``<script>`` shows as text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app, has_app_context
from markupsafe import Markup, escape
from sqlalchemy import Integer, and_, cast, column, func, literal, or_, select, text, union
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import joinedload

from app.cases.models import Case, CaseIntakeAnswer, Message
from app.cases.workflow import CaseStatus
from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import db
from app.mail.models import Attachment
from app.search.languages import config_for, query_configs, sqlite_fold
from app.search.models import EntryKind, SearchEntry
from app.security.rules import criterion_for

MAX_QUERY_LENGTH = 256  # characters of a query that count; the rest is ignored
PAGE_SIZE = 20
# Counted exactly up to here, "200+" beyond: a common word under a selective filter walks the
# date index until COUNT_CAP + 1 rows pass the filter, so the cap is the cost of the query.
COUNT_CAP = 200
MAX_PAGE = COUNT_CAP // PAGE_SIZE
RANK_WINDOW = 200  # sort=relevance ranks the newest this many matches
SNIPPET_SOURCE_LENGTH = 20_000  # characters of a body ts_headline reads
CUSTOMER_HITS = 10
FRAGMENT_CASES = 1000  # cases a partial number or address finds at most (the newest)
FEW_MATCHES = 20_000  # the planner's estimate below which the GIN index is read first
OPEN_MARK, CLOSE_MARK = "\ue000", "\ue001"
SORTS = ("date", "relevance")


@dataclass(frozen=True)
class Filters:
    """What the advanced search narrows the results to; every field optional."""

    statuses: tuple[str, ...] = ()
    pool_id: int | None = None
    agent_id: int | None = None
    topic_id: int | None = None
    customer: str = ""  # a customer's id, or part of his address or name
    date_from: date | None = None
    date_to: date | None = None
    kinds: tuple[str, ...] = ()
    sort: str = "date"

    @property
    def narrows(self) -> bool:
        return bool(
            self.statuses
            or self.pool_id
            or self.agent_id
            or self.topic_id
            or self.customer
            or self.date_from
            or self.date_to
        )

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Filters:
        """From a query string (``status`` and ``kind`` may repeat); a bad value raises
        DeskError saying which."""

        def many(name: str) -> tuple[str, ...]:
            values = args.getlist(name) if hasattr(args, "getlist") else args.get(name) or []
            if isinstance(values, str):
                values = [values]
            return tuple(v for value in values for v in str(value).split(",") if v.strip())

        statuses = many("status")
        known = {s.value for s in CaseStatus}
        if any(s not in known for s in statuses):
            raise DeskError(f"status must be one of {', '.join(sorted(known))}.")
        kinds = many("kind")
        if any(k not in set(EntryKind) for k in kinds):
            raise DeskError(f"kind must be one of {', '.join(k.value for k in EntryKind)}.")
        sort = (args.get("sort") or "date").strip()
        if sort not in SORTS:
            raise DeskError("sort must be date or relevance.")
        date_from, date_to = _date(args, "from"), _date(args, "to")
        if date_from and date_to and date_to < date_from:
            raise DeskError("The date range ends before it starts.")
        return cls(
            statuses=statuses,
            pool_id=_number(args, "pool"),
            agent_id=_number(args, "agent"),
            topic_id=_number(args, "topic"),
            customer=(args.get("customer") or "").strip()[:320],
            date_from=date_from,
            date_to=date_to,
            kinds=kinds,
            sort=sort,
        )


def _number(args: Mapping[str, Any], name: str) -> int | None:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise DeskError(f"{name} must be a number.")
    return int(raw)


def _date(args: Mapping[str, Any], name: str) -> date | None:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DeskError(f"{name} must be a date (YYYY-MM-DD).") from None


@dataclass(frozen=True)
class Query:
    """A query as typed, cleaned: control characters gone, at most ``MAX_QUERY_LENGTH``."""

    text: str
    fts5: str | None  # the SQLite MATCH expression; None when it holds no word to look for
    fragment: str | None  # a partial case number or address, matched with LIKE

    @property
    def has_words(self) -> bool:
        return self.fts5 is not None


TOKENS = re.compile(r'"([^"]*)"?|(\S+)')
WORDS = re.compile(r"\w+")
FRAGMENT = re.compile(r"^[\w.@+\-]{3,100}$")


def parse_query(raw: str | None) -> Query:
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") else ch for ch in raw or ""
    )
    cleaned = " ".join(cleaned.split())[:MAX_QUERY_LENGTH].strip()
    fragment = None
    if FRAGMENT.match(cleaned) and re.search(r"[\d@.]", cleaned):
        fragment = cleaned
    return Query(text=cleaned, fts5=fts5_expression(cleaned), fragment=fragment)


def fts5_expression(cleaned: str) -> str | None:
    """The web-search syntax (words, "phrases", ``-word``, ``or``, ``word*``) in FTS5's,
    every word inside double quotes: FTS5 reads nothing a user typed as an operator."""
    groups: list[list[str]] = []
    negatives: list[str] = []
    join_next = False
    for phrase, bare in TOKENS.findall(cleaned):
        negative = prefix = False
        source = phrase
        if not phrase:
            if bare.lower() == "or":
                join_next = bool(groups)
                continue
            negative = bare.startswith("-") and len(bare) > 1
            prefix = bare.endswith("*")
            source = bare
        words = WORDS.findall(sqlite_fold(source))
        if not words:
            continue
        term = '"' + " ".join(words) + '"' + ("*" if prefix else "")
        if negative:
            negatives.append(term)
        elif join_next and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    if not groups:
        return None
    expression = " AND ".join("(" + " OR ".join(group) + ")" for group in groups)
    for term in negatives:
        expression = f"({expression}) NOT {term}"
    return expression


def like_pattern(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class Hit:
    """One result: what matched (``kind``), in which case, when, with its marked snippet."""

    entry_id: int
    kind: str
    source_id: int
    case: Case
    created_at: datetime
    title: Markup
    snippet: Markup

    @property
    def kind_label(self) -> str:
        return EntryKind(self.kind).label

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.source_id,
            "case_id": self.case.id,
            "case_number": self.case.number,
            "case_subject": self.case.subject,
            "case_status": self.case.status,
            "created_at": self.created_at.isoformat(timespec="seconds") + "Z",
            "title_html": str(self.title),
            "snippet_html": str(self.snippet),
        }


@dataclass
class Results:
    query: str
    filters: Filters
    page: int
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    page_size: int = PAGE_SIZE

    @property
    def total_capped(self) -> bool:
        """More matches than are counted (shown as "200+")."""
        return self.total > COUNT_CAP

    @property
    def shown_total(self) -> str:
        return f"{COUNT_CAP}+" if self.total_capped else str(self.total)

    @property
    def pages(self) -> int:
        counted = min(self.total, COUNT_CAP)
        if self.filters.sort == "relevance":
            counted = min(counted, RANK_WINDOW)
        return max(1, -(-counted // self.page_size))

    def as_json(self) -> dict:
        return {
            "query": self.query,
            "count": min(self.total, COUNT_CAP),
            "count_capped": self.total_capped,
            "page": self.page,
            "page_size": self.page_size,
            "pages": self.pages,
            "result": [hit.as_json() for hit in self.hits],
            "customers": [
                {"id": c.id, "name": c.name, "email": c.email, "organisation": c.organisation}
                for c in self.customers
            ],
        }


def marked(value: str) -> Markup:
    """Escape ``value``, then turn the backends' marks into ``<mark>`` (unbalanced marks,
    which only a text that itself held the private-use characters could make, are dropped)."""
    escaped = str(escape(value))
    if escaped.count(OPEN_MARK) != escaped.count(CLOSE_MARK):
        escaped = escaped.replace(OPEN_MARK, "").replace(CLOSE_MARK, "")
    return Markup(escaped.replace(OPEN_MARK, "<mark>").replace(CLOSE_MARK, "</mark>"))


def _unmarked(value: str | None) -> str:
    return (value or "").replace(OPEN_MARK, "").replace(CLOSE_MARK, "")


def mark_fragment(value: str, fragment: str | None) -> Markup:
    """``value`` escaped, with each occurrence of ``fragment`` (any case) marked."""
    value = _unmarked(value)
    if fragment:
        value = re.sub(
            re.escape(fragment), lambda m: OPEN_MARK + m.group(0) + CLOSE_MARK, value, flags=re.I
        )
    return marked(value)


@dataclass
class Source:
    """The text of one hit as the desk shows it: title and body, and the case's language."""

    entry_id: int
    title: str
    body: str
    config: str


class PostgresBackend:
    name = "postgresql"

    def __init__(self) -> None:
        self._tsqueries: dict[str, str] = {}

    def tsquery_text(self, query: Query) -> str:
        """The query as one ``tsquery``: read in each configuration (one small statement),
        the same reading kept once: four identical alternatives would make the planner
        think a word four times as common as it is (and walk the dates instead of the
        GIN index)."""
        if query.text not in self._tsqueries:
            configs = query_configs(_languages())
            readings = db.session.execute(
                text(
                    "SELECT "
                    + ", ".join(f"websearch_to_tsquery('{config}', :q)::text" for config in configs)
                ),
                {"q": query.text},
            ).one()
            distinct = list(dict.fromkeys(r for r in readings if r))
            self._tsqueries[query.text] = " | ".join(f"( {r} )" for r in distinct)
        return self._tsqueries[query.text]

    def tsquery(self, query: Query):
        return cast(literal(self.tsquery_text(query)), TSQUERY)

    def few(self, matched) -> bool:
        """The planner's estimate of the rows ``matched`` finds is below ``FEW_MATCHES``."""
        stmt = (
            select(SearchEntry.id)
            .where(matched)
            .compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
        )
        plan = (
            db.session.connection()
            .exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(stmt), stmt.params)
            .scalar()
        )
        if isinstance(plan, str):
            plan = json.loads(plan)
        return float(plan[0]["Plan"]["Plan Rows"]) < FEW_MATCHES

    def match(self, query: Query):
        if not query.has_words or not self.tsquery_text(query):
            return None
        return SearchEntry.document.op("@@")(self.tsquery(query))

    def rank(self, ids: list[int], query: Query) -> dict[int, float]:
        if not ids or not query.has_words:
            return {}
        rows = db.session.execute(
            select(SearchEntry.id, func.ts_rank(SearchEntry.document, self.tsquery(query))).where(
                SearchEntry.id.in_(ids)
            )
        )
        return {row[0]: float(row[1]) for row in rows}

    def snippets(self, sources: list[Source], query: Query) -> dict[int, tuple[str, str]]:
        """``ts_headline`` of the page's rows only, in one statement."""
        if not sources or not query.has_words:
            return {}
        texts, configs, options = [], [], []
        title_options = f'StartSel="{OPEN_MARK}", StopSel="{CLOSE_MARK}", HighlightAll=true'
        body_options = (
            f'StartSel="{OPEN_MARK}", StopSel="{CLOSE_MARK}", MaxWords=30, MinWords=12, '
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        for source in sources:
            texts += [_unmarked(source.title), _unmarked(source.body)[:SNIPPET_SOURCE_LENGTH]]
            configs += [source.config, source.config]
            options += [title_options, body_options]
        rows = db.session.execute(
            text(
                "SELECT x.ord, CASE WHEN x.t = '' THEN '' ELSE "
                "ts_headline(x.cfg::regconfig, x.t, q.q, x.opts) END "
                "FROM unnest(CAST(:texts AS text[]), CAST(:cfgs AS text[]), "
                "CAST(:opts AS text[])) WITH ORDINALITY AS x(t, cfg, opts, ord), "
                "(SELECT CAST(:q AS tsquery)) AS q(q)"
            ),
            {"texts": texts, "cfgs": configs, "opts": options, "q": self.tsquery_text(query)},
        )
        headlines = {int(row[0]): row[1] for row in rows}
        return {
            source.entry_id: (headlines.get(2 * i + 1, ""), headlines.get(2 * i + 2, ""))
            for i, source in enumerate(sources)
        }


FTS_ROWIDS = "SELECT rowid FROM search_fts WHERE search_fts MATCH :fts"


class SqliteBackend:
    name = "sqlite"

    def match(self, query: Query):
        if not query.has_words:
            return None
        rowids = text(FTS_ROWIDS).bindparams(fts=query.fts5).columns(column("rowid", Integer))
        return SearchEntry.id.in_(rowids)

    def rank(self, ids: list[int], query: Query) -> dict[int, float]:
        if not ids or not query.has_words:
            return {}
        rows = db.session.execute(
            text(
                "SELECT rowid, bm25(search_fts, 10.0, 1.0) FROM search_fts "
                f"WHERE search_fts MATCH :fts AND rowid IN ({','.join(map(str, ids))})"
            ),
            {"fts": query.fts5},
        )
        return {row[0]: -float(row[1]) for row in rows}  # bm25: lower is better

    def snippets(self, sources: list[Source], query: Query) -> dict[int, tuple[str, str]]:
        if not sources or not query.has_words:
            return {}
        ids = ",".join(str(int(s.entry_id)) for s in sources)
        rows = db.session.execute(
            text(
                "SELECT rowid, highlight(search_fts, 0, :o, :c), "
                "snippet(search_fts, 1, :o, :c, ' … ', 24) FROM search_fts "
                f"WHERE search_fts MATCH :fts AND rowid IN ({ids})"
            ),
            {"fts": query.fts5, "o": OPEN_MARK, "c": CLOSE_MARK},
        )
        return {row[0]: (row[1] or "", row[2] or "") for row in rows}


def backend():
    return PostgresBackend() if db.engine.dialect.name == "postgresql" else SqliteBackend()


def _languages() -> tuple[str, ...]:
    if has_app_context():
        return tuple(current_app.config.get("SEARCH_LANGUAGES") or ())
    return ()


def search(query: str | None, filters: Filters | None, actor, page: int | str | None = 1):
    """One page of what ``actor`` (a user; ``None``: the desk itself inside
    ``acting_as(None)``, anybody else sees nothing) finds for ``query`` under ``filters``,
    newest first (or by relevance), with the count (exact up to ``COUNT_CAP``) and, on the
    first page, the matching customers."""
    filters = filters or Filters()
    parsed = parse_query(query)
    number = _page(page)
    results = Results(query=parsed.text, filters=filters, page=number)
    engine = backend()
    matched = _matched(parsed, engine)
    if matched is None and not (filters.narrows and not parsed.text):
        if number == 1 and parsed.text:
            results.customers = matching_customers(parsed, actor)
        return results
    source: Any = SearchEntry.__table__
    if matched is not None and engine.name == "postgresql" and engine.few(matched):
        # Few matches: take them from the GIN index first (a materialised CTE), then filter
        # and sort them. Walking the date index would read the whole table when, after the
        # filters, fewer than COUNT_CAP of them are left (the planner cannot know that).
        source = (
            select(
                SearchEntry.id,
                SearchEntry.kind,
                SearchEntry.source_id,
                SearchEntry.case_id,
                SearchEntry.created_at,
            )
            .where(matched)
            .cte("found")
            .prefix_with("MATERIALIZED")
        )
        matched = None
    base = (
        select(
            source.c.id,
            source.c.kind,
            source.c.source_id,
            source.c.case_id,
            source.c.created_at,
        )
        .join(Case, Case.id == source.c.case_id)
        .where(criterion_for(Case, actor), *_criteria(filters, source))
    )
    if matched is not None:
        base = base.where(matched)
    # One statement for the page and the count: the newest COUNT_CAP + 1 matches (an index
    # on the date serves common words, the GIN index rare ones), counted by a window.
    newest = (
        base.order_by(source.c.created_at.desc(), source.c.id.desc())
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    counted = select(newest, func.count().over().label("total")).order_by(
        newest.c.created_at.desc(), newest.c.id.desc()
    )
    start = (number - 1) * PAGE_SIZE
    relevance = filters.sort == "relevance" and parsed.has_words
    if relevance:
        rows = list(db.session.execute(counted.limit(RANK_WINDOW)).all())
    else:
        rows = list(db.session.execute(counted.limit(PAGE_SIZE).offset(start)).all())
    if rows:
        results.total = rows[0].total
    elif number > 1:  # past the last page: the count alone
        results.total = db.session.scalar(select(func.count()).select_from(newest))
    if relevance:
        scores = engine.rank([row.id for row in rows], parsed)
        rows.sort(key=lambda row: -scores.get(row.id, 0.0))  # stable: ties stay newest first
        rows = rows[start : start + PAGE_SIZE]
    results.hits = _hits(rows, parsed, engine)
    if number == 1 and parsed.text:
        results.customers = matching_customers(parsed, actor)
    return results


def _page(page) -> int:
    try:
        number = int(page or 1)
    except (TypeError, ValueError):
        raise DeskError("page must be a number.") from None
    if number < 1:
        raise DeskError("page must be 1 or more.")
    if number > MAX_PAGE:
        raise DeskError(
            f"Only the first {COUNT_CAP} results can be paged through; narrow the search."
        )
    return number


def _matched(query: Query, engine):
    """The index rows the words match, or (for a partial number or address) the cases'
    own rows whose number or customer's address contains it; None: nothing to look for."""
    conditions = []
    words = engine.match(query)
    if words is not None:
        conditions.append(words)
    if query.fragment:
        pattern = like_pattern(query.fragment)
        # Two statements' worth of ids in one (a UNION: an OR would hide both indexes).
        by_number = select(Case.id.label("id")).where(Case.number.ilike(pattern, escape="\\"))
        by_address = select(Case.id.label("id")).where(
            Case.customer_id.in_(
                select(Customer.id).where(Customer.email.ilike(pattern, escape="\\"))
            )
        )
        either = union(by_number, by_address).subquery()
        cases = select(either.c.id)
        # The cases first (trigram indexes), so the index's statement gets their ids.
        ids = list(db.session.scalars(cases.order_by(either.c.id.desc()).limit(FRAGMENT_CASES)))
        if ids:
            conditions.append(
                and_(SearchEntry.kind == EntryKind.CASE.value, SearchEntry.source_id.in_(ids))
            )
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def _criteria(filters: Filters, source) -> list:
    criteria: list = []
    if filters.statuses:
        criteria.append(Case.status.in_(filters.statuses))
    if filters.pool_id:
        criteria.append(Case.pool_id == filters.pool_id)
    if filters.agent_id:
        criteria.append(Case.assignee_id == filters.agent_id)
    if filters.topic_id:
        criteria.append(Case.topic_id == filters.topic_id)
    if filters.customer:
        if filters.customer.isdigit():
            criteria.append(Case.customer_id == int(filters.customer))
        else:
            pattern = like_pattern(filters.customer)
            criteria.append(
                Case.customer_id.in_(
                    select(Customer.id).where(
                        or_(
                            Customer.email.ilike(pattern, escape="\\"),
                            Customer.name.ilike(pattern, escape="\\"),
                        )
                    )
                )
            )
    if filters.date_from:
        criteria.append(source.c.created_at >= datetime.combine(filters.date_from, time.min))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min)
        criteria.append(source.c.created_at < end)
    if filters.kinds:
        criteria.append(source.c.kind.in_(filters.kinds))
    return criteria


def _hits(rows, query: Query, engine) -> list[Hit]:
    """The page's rows with their cases and texts (one statement per kind) and snippets."""
    if not rows:
        return []
    by_kind: dict[str, list[int]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.source_id)
    cases = {
        case.id: case
        for case in db.session.scalars(
            select(Case)
            .options(joinedload(Case.customer))
            .where(Case.id.in_({row.case_id for row in rows}))
        )
    }
    loaded: dict[tuple[str, int], Any] = {}
    for kind, model in (
        (EntryKind.MESSAGE, Message),
        (EntryKind.INTAKE, CaseIntakeAnswer),
        (EntryKind.ATTACHMENT, Attachment),
    ):
        if by_kind.get(kind.value):
            for obj in db.session.scalars(select(model).where(model.id.in_(by_kind[kind.value]))):
                loaded[(kind.value, obj.id)] = obj
    sources = []
    for row in rows:
        case = cases[row.case_id]
        title, body = _texts(row.kind, loaded.get((row.kind, row.source_id)), case)
        language = case.customer.language if case.customer is not None else None
        sources.append(Source(row.id, title, body, config_for(language)))
    marks = engine.snippets(sources, query)
    hits = []
    for row, source in zip(rows, sources, strict=True):
        title, snippet = marks.get(row.id, (None, None))
        if row.kind == EntryKind.INTAKE and title is not None and engine.name == "sqlite":
            label = getattr(loaded.get((row.kind, row.source_id)), "label", "")
            title = f"{_unmarked(label)}: {title}"
        hits.append(
            Hit(
                entry_id=row.id,
                kind=row.kind,
                source_id=row.source_id,
                case=cases[row.case_id],
                created_at=row.created_at,
                title=marked(title) if title else mark_fragment(source.title, query.fragment),
                snippet=marked(snippet) if snippet else _plain_snippet(source.body),
            )
        )
    return hits


def _texts(kind: str, obj, case: Case) -> tuple[str, str]:
    if kind == EntryKind.MESSAGE and obj is not None:
        return obj.subject or case.subject or "", obj.body_text or ""
    if kind == EntryKind.INTAKE and obj is not None:
        return f"{obj.label}: {obj.value_label or obj.value_text}", ""
    if kind == EntryKind.ATTACHMENT and obj is not None:
        return obj.filename or "", ""
    return case.subject or "", ""


def _plain_snippet(body: str, length: int = 200) -> Markup:
    flat = " ".join(_unmarked(body).split())
    return escape(flat[:length] + ("…" if len(flat) > length else ""))


def matching_customers(query: Query, actor, limit: int = CUSTOMER_HITS) -> list[Customer]:
    """Customers the actor may see whose name or address contains the query (the trigram
    indexes serve both)."""
    if len(query.text) < 2:
        return []
    pattern = like_pattern(query.text)
    return list(
        db.session.scalars(
            select(Customer)
            .where(
                or_(
                    Customer.email.ilike(pattern, escape="\\"),
                    Customer.name.ilike(pattern, escape="\\"),
                ),
                criterion_for(Customer, actor),
            )
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        )
    )

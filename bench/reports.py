"""The monthly report on a large desk: build it on PostgreSQL with COPY, then time the report.

Builds a desk of ``--cases`` cases (default 1,000,000) with about five messages each over the
twelve months before 2026-12-01, in its own database (``reports_bench`` on the server of
``--database-url``, dropped and created again; never the shared ``test`` database), migrated
with the app's migrations. The reference rows (pools with their SLA calendars, topics,
mailboxes, agents, departments, questionnaires) go in through the ORM; cases, messages,
status Events, consultations, questionnaire answers, intake form answers and knowledge
base article uses are generated with numpy and
bulk-loaded with ``COPY … FROM STDIN`` (psycopg), not through the ORM.

Distributions: mail arrives mostly on weekdays in office hours; most pools count business
hours (Mon-Fri 08:00-17:00 Warsaw with Polish holidays, a split day in Stockholm), two run
round the clock; nearly every case older than a few days is closed (one in ten reopened once),
the rest is the backlog in every open status; one case in twenty consults a department, a
quarter of the closed ones get a survey answer and most a wrap-up answer.

Then it runs what a manager's monthly report run does: November 2026 in Europe/Warsaw with
every breakdown (``reports.metrics.compute``), then the XLSX (``reports.spreadsheet``), in a
fresh process so its peak memory is the report's. The last line is JSON with ``cases``,
``messages``, ``seconds`` (the report), ``xlsx_seconds`` (the file) and ``peak_rss_mb``.

    .venv/bin/python bench/reports.py                 # 1,000,000 cases, about 5,000,000 mails
    .venv/bin/python bench/reports.py --cases 200000
    .venv/bin/python bench/reports.py --quick         # 10,000 cases, under a minute
    .venv/bin/python bench/reports.py --reuse         # keep the database built by a last run

``--database-url`` names the server (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
``--keep`` leaves the database in place afterwards (``--reuse`` needs it).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SECRET = "bench-reports-secret-key-0123456789abcdef"
DB_NAME = "reports_bench"
END = datetime(2026, 12, 1, 6, 0)  # the moment the data ends and the report runs (UTC)
SPAN_DAYS = 365
MONTH = (date(2026, 11, 1), date(2026, 11, 30), "Europe/Warsaw")
POOLS = 8
TOPICS_PER_POOL = 5
MAILBOXES = 12
AGENTS = 150
DEPARTMENTS = ("Legal", "Finance", "Logistics", "Engineering")
PRODUCTS = ("Printer", "Scanner", "Laptop", "Phone", "Router", "Monitor", "Licence")
PARTNERS = tuple(f"partner-{n + 1:02d}" for n in range(30))
ARTICLES = 40
CHUNK = 400_000


def log(text: str) -> None:
    print(text, flush=True)


def server_url(url: str, name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the server of ``url``."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def libpq(url: str, name: str) -> str:
    """The same as a libpq connection string (psycopg's own)."""
    return server_url(url, name).replace("postgresql+psycopg://", "postgresql://")


def config_for(url: str, store: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET,
        "FILE_STORE": store,
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


# --- building -----------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg

    with psycopg.connect(libpq(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def database_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(libpq(url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
    return row is not None


def reference_rows(url: str, store: str) -> dict:
    """Migrate and add the configuration through the ORM; returns the ids the bulk rows use."""
    from flask_migrate import upgrade

    from app import create_app
    from app.agents.models import AgentProfile, PoolMembership
    from app.consultation.models import Department
    from app.extensions import db
    from app.knowledge.models import KnowledgeArticle, KnowledgeArticleVersion
    from app.mailcore.models import Mailbox
    from app.organisation.models import Pool, Topic
    from app.questionnaires.models import (
        Dictionary,
        DictionaryValue,
        Purpose,
        Question,
        QuestionKind,
        Questionnaire,
    )
    from app.security.bootstrap import create_user, ensure_roles
    from app.sla.models import SlaCalendar, SlaOpeningHours

    app = create_app(config_for(url, store))
    with app.app_context():
        upgrade()
        ensure_roles()
        office = SlaCalendar(name="Office Warsaw", time_zone="Europe/Warsaw", holiday_country="PL")
        office.hours = [SlaOpeningHours(weekday=w, opens="08:00", closes="17:00") for w in range(5)]
        split = SlaCalendar(name="Stockholm split", time_zone="Europe/Stockholm")
        split.hours = [
            SlaOpeningHours(weekday=w, opens=o, closes=c)
            for w in range(5)
            for o, c in (("08:00", "12:00"), ("13:00", "17:00"))
        ]
        db.session.add_all([office, split])
        pools = []
        for n in range(POOLS):
            pool = Pool(name=f"Pool {n + 1}")
            pool.sla_calendar = office if n < 5 else (split if n == 5 else None)
            pools.append(pool)
        db.session.add_all(pools)
        db.session.flush()
        topics = [
            Topic(name=f"Topic {p + 1}.{t + 1}", pool=pools[p])
            for p in range(POOLS)
            for t in range(TOPICS_PER_POOL)
        ]
        mailboxes = [
            Mailbox(address=f"desk{n + 1}@bench.test", pool_id=pools[n % POOLS].id)
            for n in range(MAILBOXES)
        ]
        departments = [
            Department(name=name, email=f"{name.lower()}@corp.test", response_hours=24)
            for name in DEPARTMENTS
        ]
        db.session.add_all(topics + mailboxes + departments)
        agent_ids, agent_names, agent_pool = [], [], []
        for n in range(AGENTS):
            user = create_user(f"agent{n + 1}", "Agent", password="bench-password-1")
            profile = AgentProfile(user_id=user.id)
            db.session.add(profile)
            db.session.flush()
            pool = pools[n % POOLS]
            db.session.add(PoolMembership(agent_id=profile.id, pool_id=pool.id, priority=1))
            agent_ids.append(user.id)
            agent_names.append(user.username)
            agent_pool.append(pool.id)
        products = Dictionary(name="Products")
        values = [
            DictionaryValue(dictionary=products, value=v, position=i)
            for i, v in enumerate(PRODUCTS)
        ]
        survey = Questionnaire(name="Exit survey", purpose=Purpose.EXIT_SURVEY.value)
        rating = Question(
            questionnaire=survey, text="How satisfied?", kind=QuestionKind.RATING.value
        )
        solved = Question(questionnaire=survey, text="Solved?", kind=QuestionKind.YES_NO.value)
        wrap = Questionnaire(name="Wrap-up", purpose=Purpose.WRAP_UP.value)
        product = Question(
            questionnaire=wrap, text="Product", kind=QuestionKind.CHOICE.value, dictionary=products
        )
        db.session.add_all([products, *values, survey, rating, solved, wrap, product])
        articles = []
        for n in range(ARTICLES):
            article = KnowledgeArticle(status="published")
            article.versions = [
                KnowledgeArticleVersion(language=language, title=f"Answer {n + 1} ({language})")
                for language in ("en", "pl")
            ]
            articles.append(article)
        db.session.add_all(articles)
        db.session.flush()
        ids = {
            "pools": [p.id for p in pools],
            "topics": [[t.id for t in topics if t.pool_id == p.id] for p in pools],
            "mailboxes": [[m.id for m in mailboxes if m.pool_id == p.id] or [None] for p in pools],
            "departments": [d.id for d in departments],
            "agents": agent_ids,
            "agent_names": agent_names,
            "agent_pool": agent_pool,
            "survey": survey.id,
            "rating": rating.id,
            "solved": solved.id,
            "wrap": wrap.id,
            "product": product.id,
            "products": [v.id for v in values],
            "articles": [a.id for a in articles],
        }
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return ids


def _stamp(values: np.ndarray) -> pd.Series:
    """Seconds after END - SPAN as timestamps (NaN: none)."""
    base = pd.Timestamp(END - timedelta(days=SPAN_DAYS))
    return base + pd.to_timedelta(values, unit="s")


def generate(n: int, ids: dict, seed: int = 11) -> dict[str, pd.DataFrame]:
    """The bulk rows as frames (columns named as the table's)."""
    rng = np.random.default_rng(seed)
    span = SPAN_DAYS * 86400
    # Arrival: a day weighted by weekday (weekends a fifth), an hour of office-heavy shape.
    days = np.arange(SPAN_DAYS)
    weekday = (pd.Timestamp(END - timedelta(days=SPAN_DAYS)).weekday() + days) % 7
    day_weight = np.where(weekday >= 5, 0.2, 1.0) * np.linspace(0.8, 1.2, SPAN_DAYS)
    hour_weight = np.array(
        [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 11, 12, 13, 12, 10, 8, 6, 5, 4, 3, 2, 1], float
    )
    day = rng.choice(days, n, p=day_weight / day_weight.sum())
    hour = rng.choice(24, n, p=hour_weight / hour_weight.sum())
    received = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    received = np.sort(received)  # numbers in arrival order
    pool_index = rng.choice(POOLS, n, p=np.array([5, 4, 4, 3, 3, 2, 2, 1], float) / 24)
    pools = np.array(ids["pools"])[pool_index]
    topics = np.array(ids["topics"])[pool_index, rng.integers(0, TOPICS_PER_POOL, n)].astype(float)
    topics[rng.random(n) < 0.15] = np.nan
    mailbox_choice = [np.array(m, dtype=float) for m in ids["mailboxes"]]
    mailboxes = np.empty(n)
    for p in range(POOLS):
        where = pool_index == p
        mailboxes[where] = rng.choice(mailbox_choice[p], where.sum())
    agents_of_pool = [
        np.array([a for a, ap in zip(ids["agents"], ids["agent_pool"], strict=True) if ap == pid])
        for pid in ids["pools"]
    ]
    assignee = np.empty(n)
    for p in range(POOLS):
        where = pool_index == p
        assignee[where] = rng.choice(agents_of_pool[p], where.sum())
    first_response = received + rng.exponential(5 * 3600, n) + 300
    closed = first_response + rng.exponential(30 * 3600, n) + 600
    now = span
    status = np.full(n, "closed", dtype=object)
    still_open = (closed >= now) | (rng.random(n) < 0.01)
    answered = first_response < now
    status[still_open] = rng.choice(
        [
            "in_progress",
            "waiting_on_customer",
            "postponed",
            "under_consultation",
            "awaiting_approval",
        ],
        still_open.sum(),
        p=[0.45, 0.35, 0.1, 0.05, 0.05],
    )
    fresh = still_open & ~answered
    status[fresh] = "received"
    assignee[fresh & (rng.random(n) < 0.7)] = np.nan
    first_response = np.where(answered & ~(status == "received"), first_response, np.nan)
    closed = np.where(status == "closed", closed, np.nan)
    priority = rng.choice([1, 2, 3, 4], n, p=[0.2, 0.6, 0.15, 0.05])
    fr_due = received + 8 * 3600
    res_due = received + 48 * 3600
    sla_due = np.where(np.isnan(first_response), fr_due, res_due)
    reopened = (status == "closed") & (rng.random(n) < 0.1)
    case_ids = np.arange(1, n + 1)
    cases = pd.DataFrame(
        {
            "id": case_ids,
            "number": [f"LD-{i:07d}" for i in case_ids],
            "subject": "Question about my order",
            "pool_id": pools,
            "mailbox_id": mailboxes,
            "topic_id": topics,
            "status": status,
            "priority": priority,
            "sla_due_at": _stamp(sla_due),
            "assignee_id": assignee,
            "received_at": _stamp(received),
            "first_response_at": _stamp(first_response),
            "closed_at": _stamp(closed),
            "first_response_due_at": _stamp(fr_due),
            "resolution_due_at": _stamp(res_due),
            "sla_paused_business_seconds": 0,
            "updated_at": _stamp(np.where(np.isnan(closed), received, closed)),
        }
    )

    # Messages: the customer's first mail, the first reply, then mails both ways until the
    # close (or now); about five per case.
    count = 1 + rng.poisson(4, n)
    total = int(count.sum())
    case_of = np.repeat(np.arange(n), count)
    position = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    end = np.where(np.isnan(closed), now, closed)
    start = np.where(np.isnan(first_response), received, first_response)
    at = start[case_of] + rng.random(total) * (end - start)[case_of]
    at = np.where(position == 0, received[case_of], at)
    has_reply = ~np.isnan(first_response)[case_of]
    at = np.where((position == 1) & has_reply, first_response[case_of], at)
    inbound = (position % 2 == 0) | ~has_reply
    author = np.where(inbound, np.nan, assignee[case_of])
    outbound_no_agent = ~inbound & np.isnan(author)
    inbound |= outbound_no_agent
    messages = pd.DataFrame(
        {
            "case_id": case_ids[case_of],
            "direction": np.where(inbound, "inbound", "outbound"),
            "author_id": np.where(inbound, np.nan, author),
            "subject": "Re: Question about my order",
            "body_text": "Thank you for your message, we will look into it.",
            "created_at": _stamp(at),
        }
    )

    # Status Events: claim, reply (waiting on the customer), his answer, close; a reopened
    # case closes half-way, is reopened at three quarters and closed again.
    rows = []
    agent_name = dict(zip(ids["agents"], ids["agent_names"], strict=True))

    def events(mask, moment, old, new, by_agent=True):
        idx = np.flatnonzero(mask)
        actor = assignee[idx] if by_agent else np.full(len(idx), np.nan)
        rows.append(
            pd.DataFrame(
                {
                    "created_at": _stamp(moment[idx]),
                    "actor_id": actor,
                    "actor_name": [
                        agent_name.get(a, "system") if a == a else "system" for a in actor
                    ],
                    "case_id": case_ids[idx],
                    "object_type": "case",
                    "action": "status",
                    "old_value": old,
                    "new_value": new,
                }
            )
        )

    replied = ~np.isnan(first_response)
    is_closed = status == "closed"
    claim = received + (np.where(replied, first_response, now) - received) * 0.3
    events(replied | (status != "received"), claim, "received", "in_progress")
    events(replied, first_response, "in_progress", "waiting_on_customer")
    end_closed = np.where(is_closed, closed, now)
    middle = first_response + (end_closed - first_response) * 0.5
    back = replied & (is_closed | (status == "in_progress"))
    events(back & ~reopened, middle, "waiting_on_customer", "in_progress", by_agent=False)
    events(reopened, middle, "waiting_on_customer", "closed", by_agent=False)
    events(
        reopened,
        first_response + (closed - first_response) * 0.75,
        "closed",
        "in_progress",
        by_agent=False,
    )
    events(is_closed, closed, "in_progress", "closed")
    event_frame = pd.concat(rows, ignore_index=True)

    # Consultations: one case in twenty, sent after the first reply, a day's deadline.
    consult = np.flatnonzero(replied & (rng.random(n) < 0.05))
    sent = first_response[consult] + 1800
    deadline = sent + 86400
    answer_in = rng.exponential(16 * 3600, len(consult))
    answered_at = np.where(sent + answer_in < now, sent + answer_in, np.nan)
    consultations = pd.DataFrame(
        {
            "case_id": case_ids[consult],
            "department_id": rng.choice(ids["departments"], len(consult)),
            "question": "Can you confirm?",
            "status": np.where(np.isnan(answered_at), "open", "answered"),
            "sent_at": _stamp(sent),
            "deadline_at": _stamp(deadline),
            "answered_at": _stamp(answered_at),
        }
    )

    # Answers: a survey (rating and yes/no) for a quarter of the closed cases, a wrap-up
    # product for six in ten.
    closed_idx = np.flatnonzero(is_closed)
    surveyed = closed_idx[rng.random(len(closed_idx)) < 0.25]
    score = rng.choice([1, 2, 3, 4, 5], len(surveyed), p=[0.05, 0.05, 0.15, 0.35, 0.4])
    yes = rng.random(len(surveyed)) < 0.8
    survey_at = _stamp(closed[surveyed] + 3600 * 20)
    wrapped = closed_idx[rng.random(len(closed_idx)) < 0.6]
    product = rng.choice(ids["products"], len(wrapped))
    product_name = dict(zip(ids["products"], PRODUCTS, strict=True))
    answers = pd.concat(
        [
            pd.DataFrame(
                {
                    "case_id": case_ids[surveyed],
                    "question_id": ids["rating"],
                    "questionnaire_id": ids["survey"],
                    "value_text": score.astype(str),
                    "value_number": score.astype(float),
                    "dictionary_value_id": np.nan,
                    "answered_by_id": np.nan,
                    "answered_at": survey_at,
                    "context": "survey",
                }
            ),
            pd.DataFrame(
                {
                    "case_id": case_ids[surveyed],
                    "question_id": ids["solved"],
                    "questionnaire_id": ids["survey"],
                    "value_text": np.where(yes, "yes", "no"),
                    "value_number": yes.astype(float),
                    "dictionary_value_id": np.nan,
                    "answered_by_id": np.nan,
                    "answered_at": survey_at,
                    "context": "survey",
                }
            ),
            pd.DataFrame(
                {
                    "case_id": case_ids[wrapped],
                    "question_id": ids["product"],
                    "questionnaire_id": ids["wrap"],
                    "value_text": [product_name[p] for p in product],
                    "value_number": np.nan,
                    "dictionary_value_id": product.astype(float),
                    "answered_by_id": assignee[wrapped],
                    "answered_at": _stamp(closed[wrapped]),
                    "context": "close",
                }
            ),
        ],
        ignore_index=True,
    )
    # Intake form answers for the four in ten cases opened through the portal: a product
    # (a choice), one to two accessories (a multiple choice), the partner (a hidden field).
    portal = np.flatnonzero(rng.random(n) < 0.4)
    accessories = rng.integers(1, 3, len(portal))
    intake_case = np.concatenate([portal, portal, np.repeat(portal, accessories)])
    product_of = rng.choice(len(PRODUCTS), len(portal))
    second = rng.choice(["toner", "cable"], accessories.sum())
    intake = pd.DataFrame(
        {
            "case_id": case_ids[intake_case],
            "form_version_id": np.nan,
            "field_key": ["product"] * len(portal)
            + ["partner"] * len(portal)
            + ["accessories"] * int(accessories.sum()),
            "label": ["Product"] * len(portal)
            + ["Partner"] * len(portal)
            + ["Accessories"] * int(accessories.sum()),
            "value_text": np.concatenate(
                [
                    np.array([p.lower() for p in PRODUCTS])[product_of],
                    np.array(PARTNERS)[rng.choice(len(PARTNERS), len(portal))],
                    second,
                ]
            ),
            "position": np.concatenate(
                [np.zeros(len(portal)), np.ones(len(portal)), np.full(accessories.sum(), 2)]
            ).astype(int),
            "created_at": _stamp(received[intake_case]),
        }
    )
    intake.insert(4, "value_label", None)
    intake.loc[: len(portal) - 1, "value_label"] = np.array(PRODUCTS)[product_of]
    intake["value_key"] = intake["value_text"]
    # Knowledge base articles inserted into one first reply in five.
    used = np.flatnonzero(~np.isnan(first_response) & (rng.random(n) < 0.2))
    article_uses = pd.DataFrame(
        {
            "article_id": rng.choice(ids["articles"], len(used)),
            "language": rng.choice(["en", "pl"], len(used), p=[0.7, 0.3]),
            "case_id": case_ids[used],
            "agent_id": assignee[used],
            "at": _stamp(first_response[used]),
        }
    )
    return {
        "case": cases,
        "message": messages,
        "event": event_frame,
        "consultation": consultations,
        "questionnaire_answer": answers,
        "case_intake_answer": intake,
        "knowledge_article_use": article_uses,
    }


def copy_frame(conn, table: str, frame: pd.DataFrame) -> None:
    """COPY the frame into ``table`` as CSV, in chunks (integers stay integers)."""
    for column in frame.columns:
        if frame[column].dtype == float and column.endswith("_id"):
            frame[column] = frame[column].astype("Int64")
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with conn.cursor() as cur:
        with cur.copy(f'COPY "{table}" ({columns}) FROM STDIN (FORMAT csv)') as copy:
            for first in range(0, len(frame), CHUNK):
                buffer = io.StringIO()
                frame.iloc[first : first + CHUNK].to_csv(
                    buffer, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S"
                )
                copy.write(buffer.getvalue())
                log(f"  {table}: {min(first + CHUNK, len(frame)):,} of {len(frame):,} rows")


def build(url: str, store: str, n: int) -> dict:
    import psycopg

    started = time.perf_counter()
    log(f"creating database {DB_NAME} and migrating it")
    recreate_database(url)
    target = server_url(url, DB_NAME)
    ids = reference_rows(target, store)
    log(f"generating {n:,} cases")
    frames = generate(n, ids)
    sizes = {name: len(frame) for name, frame in frames.items()}
    log("  " + ", ".join(f"{k}: {v:,}" for k, v in sizes.items()))
    with psycopg.connect(libpq(url, DB_NAME)) as conn:
        for table, frame in frames.items():
            copy_frame(conn, table, frame)
            conn.commit()
        conn.execute(f"SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), {n})")
        conn.commit()
    with psycopg.connect(libpq(url, DB_NAME), autocommit=True) as conn:
        log("  VACUUM ANALYZE")
        conn.execute("VACUUM ANALYZE")
    log(f"built in {time.perf_counter() - started:.0f} s")
    return sizes


def _build_process(url, store, n, out) -> None:
    out.put(build(url, store, n))


# --- the report ---------------------------------------------------------------------------------


def counts(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(libpq(url, DB_NAME)) as conn:
        cases = conn.execute('SELECT count(*) FROM "case"').fetchone()[0]
        messages = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    return cases, messages


def run_report(url: str, store: str) -> dict:
    from app import create_app
    from reports import metrics, spreadsheet

    app = create_app(config_for(server_url(url, DB_NAME), store))
    since, until, zone = MONTH
    with app.app_context():
        started = time.perf_counter()
        last = [started]

        def progress(pct, step):
            now = time.perf_counter()
            log(f"  {pct:3d}% {step} (+{now - last[0]:.2f} s)")
            last[0] = now

        result = metrics.compute(
            metrics.Period(since, until, zone),
            list(metrics.BREAKDOWNS),
            now=END,
            progress=progress,
        )
        seconds = time.perf_counter() - started
        log(f"report computed in {seconds:.2f} s")
        target = Path(store) / "report.xlsx"
        started = time.perf_counter()
        spreadsheet.write_xlsx(result, target)
        xlsx_seconds = time.perf_counter() - started
        log(f"XLSX written in {xlsx_seconds:.2f} s ({target.stat().st_size / 1e6:.1f} MB)")
        summary = result.sheet("Summary").frame
        for figure, value in zip(summary["figure"], summary["value"], strict=True):
            log(f"    {figure}: {value}")
    return {"seconds": round(seconds, 2), "xlsx_seconds": round(xlsx_seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="10,000 cases")
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database of a last run")
    parser.add_argument("--keep", action="store_true", help="leave the database in place")
    args = parser.parse_args()
    url = args.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    n = 10_000 if args.quick else args.cases
    store = tempfile.mkdtemp(prefix="loopdesk-bench-reports-")
    if not (args.reuse and database_exists(url)):
        # In a process of its own: the generator's arrays do not count in the report's memory.
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=_build_process, args=(url, store, n, out))
        child.start()
        child.join()
        if child.exitcode:
            sys.exit(f"building the desk failed (exit code {child.exitcode})")
    cases, messages = counts(url)
    log(f"running the monthly report over {cases:,} cases and {messages:,} messages")
    figures = run_report(url, store)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not (args.keep or args.reuse):
        import psycopg

        with psycopg.connect(libpq(url, "postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    print(
        json.dumps(
            {"cases": cases, "messages": messages, **figures, "peak_rss_mb": round(peak, 1)}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

"""Search over millions of messages on PostgreSQL, and the REST API's case list beside it.

Builds a database of its own (``search_bench``, or ``--database``, on the server of ``--database-url``, dropped
and created again; never the shared test database): migrates it, creates 10 pools, 20 agents
(each a member of two pools) and 5 topics with the ORM, then bulk-loads customers (one per 25
messages, in English, German, Polish and Swedish), cases (one per 10 messages, over six
years) and the messages in the order they arrive (``--messages``, default 5,000,000; subject and body drawn from a
20,000-word vocabulary with Zipf frequencies, a few real words such as "Łódź" and "Rechnung"
among them) with ``COPY``. The search index is built afterwards the way the migration's
triggers would build it, but in bulk: the triggers are off during the load, one
``INSERT … SELECT`` per half of the messages (two connections, two cores) writes the
``tsvector``s, then the indexes are made.

Then it measures, in-process (the service the page and the API call, snippets included):

* ``search``: 300 queries as an agent (record rules: two of ten pools) with filters (a pool,
  a status, a year, a customer's address or none besides the rules), words of every
  frequency, two-word queries, phrases, exclusions, partial case numbers and addresses;
* ``api_list``: ``GET /api/v1/case/`` pages (25 rows, newest first) through the REST API with
  the agent's JWT, under the same record rules.

Prints progress; the last line is JSON with ``messages``, ``search_p50_ms``,
``search_p95_ms``, ``api_list_p50_ms``, ``api_list_p95_ms`` and the load's timings.

    .venv/bin/python bench/search.py                     # 5,000,000 messages
    .venv/bin/python bench/search.py --messages 1000000
    .venv/bin/python bench/search.py --quick             # 20,000 messages, under a minute
    .venv/bin/python bench/search.py --reuse             # measure an already loaded database

``--database-url`` names a PostgreSQL server and a user that may create databases (default
``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-search-secret-key-0123456789abcdef"
PASSWORD = "bench-password-1"
DATABASE = "search_bench"
POOLS, AGENTS, TOPICS = 10, 20, 5
VOCABULARY = 20_000
REAL_WORDS = ["Łódź", "Rechnung", "Rechnungen", "räkning", "invoice", "printer", "Göteborg"]
LANGUAGES = ["en"] * 10 + ["de"] * 4 + ["pl"] * 3 + ["sv"] * 3
STATUSES = ["closed"] * 8 + ["in_progress", "received", "waiting_customer"]
START = datetime(2020, 1, 1)
YEARS = 6
CHUNK = 50_000


def log(text: str) -> None:
    print(text, flush=True)


def config_for(url: str, store: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET,
        "FILE_STORE": store,
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


def database_url(server_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)


def use_database(name: str) -> None:
    """Build (or reuse) ``name`` instead of ``search_bench``: two runs side by side."""
    global DATABASE
    DATABASE = name


def create_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return database_url(server_url)


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """20,000 made-up words (a few real ones among the frequent half) and Zipf weights."""
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in "aeiou"] + ["ka", "lo", "ri"]
    words: set[str] = set()
    while len(words) < VOCABULARY - len(REAL_WORDS):
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    for i, word in enumerate(REAL_WORDS):
        ordered.insert(300 + i * 700, word)
    weights, total = [], 0.0
    for rank in range(1, len(ordered) + 1):
        total += 1.0 / rank
        weights.append(total)
    return ordered, weights


def seed_desk(app) -> dict:
    """Pools, topics, agents (two pools each) with the ORM; returns their ids."""
    from app.agents.models import AgentProfile, PoolMembership
    from app.extensions import db
    from app.organisation.models import Pool, Topic
    from app.security.bootstrap import create_user, ensure_roles

    with app.app_context():
        ensure_roles()
        pools = [Pool(name=f"Pool {i}", sla_hours=24) for i in range(POOLS)]
        db.session.add_all(pools)
        db.session.flush()
        topics = [Topic(name=f"Topic {i}", pool_id=pools[i % POOLS].id) for i in range(TOPICS)]
        db.session.add_all(topics)
        agents = []
        for i in range(AGENTS):
            user = create_user(f"agent{i}", "Agent", password=PASSWORD)
            profile = AgentProfile(user_id=user.id)
            db.session.add(profile)
            db.session.flush()
            for pool in (pools[i % POOLS], pools[(i + 1) % POOLS]):
                db.session.add(PoolMembership(agent_id=profile.id, pool_id=pool.id, priority=1))
            agents.append(user.id)
        db.session.commit()
        return {
            "pools": [p.id for p in pools],
            "topics": [t.id for t in topics],
            "agents": agents,
        }


def _copy(cursor, statement: str, rows) -> None:
    """COPY in chunks of preformatted lines (tab-separated, ``\\N`` for NULL)."""
    with cursor.copy(statement) as copy:
        buffer = io.StringIO()
        count = 0
        for line in rows:
            buffer.write(line)
            count += 1
            if count % CHUNK == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def load(url: str, messages: int, desk: dict, rng: random.Random) -> dict:
    """Customers, cases and messages with COPY, then the index in bulk; returns timings."""
    import psycopg

    words, weights = vocabulary(random.Random(7))
    customers = max(100, messages // 25)
    cases = max(100, messages // 10)
    timings: dict[str, float] = {}
    span = YEARS * 365 * 86400
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
        for table in ("customer", '"case"', "message"):
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cur.execute("DROP INDEX IF EXISTS ix_search_entry_document")
        cur.execute("DROP INDEX IF EXISTS ix_search_entry_created")
        cur.execute("DROP INDEX IF EXISTS ix_search_entry_case")
        cur.execute("ALTER TABLE search_entry DROP CONSTRAINT IF EXISTS uq_search_entry_source")

        started = time.perf_counter()
        languages = [rng.choice(LANGUAGES) for _ in range(customers)]

        def customer_rows():
            for i in range(1, customers + 1):
                yield (
                    f"{i}\tcustomer{i}@mail{i % 997}.example\tCustomer {i}\t"
                    f"{languages[i - 1]}\tf\t{START:%Y-%m-%d}\n"
                )

        _copy(
            cur,
            "COPY customer (id, email, name, language, undeliverable, created_at) FROM STDIN",
            customer_rows(),
        )
        log(f"  customers: {customers:,} in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        case_customer = [0] * (cases + 1)
        case_pool = [0] * (cases + 1)
        case_start = [0] * (cases + 1)

        def case_rows():
            pools, topics, agents = desk["pools"], desk["topics"], desk["agents"]
            for i in range(1, cases + 1):
                customer = rng.randint(1, customers)
                pool = pools[i % len(pools)]
                offset = int(span * (i / cases))  # numbers follow time
                case_customer[i], case_pool[i], case_start[i] = customer, pool, offset
                received = START + timedelta(seconds=offset)
                subject = " ".join(rng.choices(words, cum_weights=weights, k=5))
                agent = agents[(i // 7) % len(agents)] if rng.random() < 0.9 else None
                yield (
                    f"{i}\tLD-{i:07d}\t{subject}\t{customer}\t{pool}\t{topics[i % len(topics)]}\t"
                    f"{rng.choice(STATUSES)}\t2\t{agent if agent else chr(92) + 'N'}\t"
                    f"{received:%Y-%m-%d %H:%M:%S}\t{received:%Y-%m-%d %H:%M:%S}\t0\n"
                )

        _copy(
            cur,
            'COPY "case" (id, number, subject, customer_id, pool_id, topic_id, status, '
            "priority, assignee_id, received_at, updated_at, sla_paused_business_seconds) "
            "FROM STDIN",
            case_rows(),
        )
        log(f"  cases: {cases:,} in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()

        def message_rows():
            # In the order they arrive, as a desk stores them: message i comes at its point
            # of the six years, to a case opened at most a few days before.
            for i in range(1, messages + 1):
                offset = int(span * (i / messages))
                case = max(1, min(cases, int(cases * i / messages) - rng.randint(0, 30)))
                when = START + timedelta(seconds=max(offset, case_start[case]))
                subject = " ".join(rng.choices(words, cum_weights=weights, k=5))
                body = " ".join(rng.choices(words, cum_weights=weights, k=40))
                customer = case_customer[case]
                direction = "inbound" if i % 2 else "outbound"
                yield (
                    f"{i}\t{case}\t{direction}\tcustomer{customer}@mail{customer % 997}.example\t"
                    f"{subject}\t{body}\t{when:%Y-%m-%d %H:%M:%S}\n"
                )
                if i % 500_000 == 0:
                    elapsed = time.perf_counter() - started
                    log(f"  messages: {i:,} of {messages:,} ({i / elapsed:,.0f}/s)")

        _copy(
            cur,
            "COPY message (id, case_id, direction, from_address, subject, body_text, "
            "created_at) FROM STDIN",
            message_rows(),
        )
        timings["copy_messages_s"] = round(time.perf_counter() - started, 1)
        log(f"  messages: {messages:,} in {timings['copy_messages_s']} s")
        for table, column in (("customer", "id"), ('"case"', "id"), ("message", "id")):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"(SELECT max({column}) FROM {table}))"
            )

        started = time.perf_counter()
        cur.execute("""
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            SELECT c.id, 'case', c.id, c.received_at,
                   ld_search_vector(ld_search_config(cu.language), c.subject, c.number)
            FROM "case" c LEFT JOIN customer cu ON cu.id = c.customer_id""")
    half = messages // 2
    errors: list[BaseException] = []

    def index_messages(low: int, high: int) -> None:
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(
                    """
                    INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
                    SELECT m.case_id, 'message', m.id, m.created_at,
                           ld_search_vector(ld_search_config(cu.language), m.subject,
                                            concat_ws(' ', m.from_address, m.body_text))
                    FROM message m JOIN "case" c ON c.id = m.case_id
                    LEFT JOIN customer cu ON cu.id = c.customer_id
                    WHERE m.id > %s AND m.id <= %s""",
                    (low, high),
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=index_messages, args=(0, half)),
        threading.Thread(target=index_messages, args=(half, messages)),
    ]
    for thread in threads:
        thread.start()
    shown = time.perf_counter()
    for thread in threads:
        while thread.is_alive():
            thread.join(1)
            if time.perf_counter() - shown > 30:
                shown = time.perf_counter()
                log(f"  tsvectors: building ({shown - started:.0f} s)")
    if errors:
        raise errors[0]
    timings["tsvector_s"] = round(time.perf_counter() - started, 1)
    log(f"  tsvectors: {messages + cases:,} in {timings['tsvector_s']} s")

    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '1GB'")
        started = time.perf_counter()
        cur.execute("CREATE INDEX ix_search_entry_document ON search_entry USING gin (document)")
        timings["gin_index_s"] = round(time.perf_counter() - started, 1)
        log(f"  GIN index in {timings['gin_index_s']} s")
        started = time.perf_counter()
        cur.execute("CREATE INDEX ix_search_entry_created ON search_entry (created_at, id)")
        cur.execute("CREATE INDEX ix_search_entry_case ON search_entry (case_id)")
        cur.execute(
            "ALTER TABLE search_entry ADD CONSTRAINT uq_search_entry_source "
            "UNIQUE (kind, source_id)"
        )
        for table in ("customer", '"case"', "message"):
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        # the customers' and cases' trigram indexes were kept up by COPY itself
        cur.execute("VACUUM ANALYZE")
        timings["other_indexes_and_analyze_s"] = round(time.perf_counter() - started, 1)
        log(f"  other indexes, VACUUM ANALYZE in {timings['other_indexes_and_analyze_s']} s")
    return timings


def queries(rng: random.Random, desk: dict, cases: int, customers: int) -> list[tuple]:
    """(query, filters) pairs as an agent types them: words of every frequency, phrases,
    exclusions, partial numbers and addresses, each with a filter most of the time."""
    from app.search.services import Filters

    words, _ = vocabulary(random.Random(7))
    pools = desk["pools"][:2]  # agent0's pools
    year = START.year
    found: list[tuple] = []
    for n in range(300):
        shape = n % 10
        rank = int(10 ** rng.uniform(1.5, 4.2))  # ranks 30 … 16,000
        word, other = words[min(rank, len(words) - 1)], words[rng.randint(30, 3000)]
        if shape in (0, 1, 2):
            text = word
        elif shape == 3:
            text = f"{word} {other}"
        elif shape == 4:
            text = f'"{word} {other}"'
        elif shape == 5:
            text = f"{word} -{other}"
        elif shape == 6:
            text = rng.choice(REAL_WORDS[:3] + ["lodz", "rakning"])
        elif shape == 7:
            text = f"LD-{rng.randint(1, cases):07d}"[:-2]  # a partial case number
        elif shape == 8:
            text = f"customer{rng.randint(1, customers)}@mail"  # a partial address
        else:
            text = word
        choice = n % 5
        if choice == 0:
            filters = Filters(pool_id=rng.choice(pools))
        elif choice == 1:
            filters = Filters(statuses=("closed",))
        elif choice == 2:
            y = year + rng.randint(0, YEARS - 1)
            filters = Filters(
                date_from=datetime(y, 1, 1).date(), date_to=datetime(y, 12, 31).date()
            )
        elif choice == 3:
            filters = Filters(pool_id=pools[0], statuses=("closed",), sort="relevance")
        else:
            filters = Filters()  # the record rules alone
        found.append((text, filters))
    return found


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)


def measure(app, desk: dict, cases: int, customers: int, rng: random.Random) -> dict:
    from flask_appbuilder.security.sqla.models import User

    from app.extensions import db
    from app.search.services import search

    figures: dict = {}
    with app.app_context():
        agent = db.session.get(User, desk["agents"][0])
        plan = queries(rng, desk, cases, customers)
        for text, filters in plan[:10]:  # warm the caches a little
            search(text, filters, agent, 1)
        times, hits = [], []
        for i, (text, filters) in enumerate(plan, 1):
            started = time.perf_counter()
            results = search(text, filters, agent, 1)
            times.append((time.perf_counter() - started) * 1000)
            hits.append(results.total)
            db.session.rollback()
            if i % 100 == 0:
                log(f"  search: {i} queries, p95 so far {percentile(times, 0.95)} ms")
        figures["search_p50_ms"] = percentile(times, 0.50)
        figures["search_p95_ms"] = percentile(times, 0.95)
        figures["search_max_ms"] = round(max(times), 1)
        figures["search_hits_median"] = int(statistics.median(hits))
        slowest = sorted(zip(times, plan, strict=True), key=lambda x: -x[0])[:3]
        log("  slowest: " + "; ".join(f"{t:.0f} ms {q!r} {f}" for t, (q, f) in slowest))

    client = app.test_client()
    login = client.post(
        "/api/v1/security/login",
        json={"username": "agent0", "password": PASSWORD, "provider": "db"},
    )
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    times = []
    for i in range(200):
        page = i % 20
        query = f"(page:{page},page_size:25,order_column:received_at,order_direction:desc)"
        started = time.perf_counter()
        answer = client.get(f"/api/v1/case/?q={query}", headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    figures["api_list_p50_ms"] = percentile(times[10:], 0.50)
    figures["api_list_p95_ms"] = percentile(times[10:], 0.95)
    figures["api_list_count"] = answer.json.get("count")
    log(f"  api list: p95 {figures['api_list_p95_ms']} ms ({figures['api_list_count']} cases)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 messages, under a minute")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default=DATABASE, help="the bench's own database")
    parser.add_argument("--reuse", action="store_true", help="measure the loaded database")
    args = parser.parse_args()
    use_database(args.database)
    messages = args.messages or (20_000 if args.quick else 5_000_000)
    rng = random.Random(12)

    from app import create_app

    store = tempfile.mkdtemp(prefix="bench-search-")
    timings: dict = {}
    if args.reuse:
        url = database_url(args.database_url)
        app = create_app(config_for(url, store))
        from sqlalchemy import func, select

        from app.agents.models import AgentProfile
        from app.cases.models import Message
        from app.extensions import db
        from app.organisation.models import Pool, Topic

        with app.app_context():
            messages = db.session.scalar(select(func.count()).select_from(Message))
            desk = {
                "pools": list(db.session.scalars(select(Pool.id).order_by(Pool.id))),
                "topics": list(db.session.scalars(select(Topic.id).order_by(Topic.id))),
                "agents": list(
                    db.session.scalars(select(AgentProfile.user_id).order_by(AgentProfile.id))
                ),
            }
        log(f"reusing {DATABASE}: {messages:,} messages")
    else:
        from flask_migrate import upgrade

        log(f"creating {DATABASE} and migrating")
        url = create_database(args.database_url)
        app = create_app(config_for(url, store))
        with app.app_context():
            upgrade()
        desk = seed_desk(app)
        log(f"loading {messages:,} messages with COPY")
        started = time.perf_counter()
        timings = load(url, messages, desk, rng)
        timings["load_total_s"] = round(time.perf_counter() - started, 1)
    cases, customers = max(100, messages // 10), max(100, messages // 25)
    log("measuring")
    figures = measure(app, desk, cases, customers, rng)
    print(json.dumps({"messages": messages, **figures, **timings}), flush=True)


if __name__ == "__main__":
    main()

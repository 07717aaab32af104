"""The customer portal under load: 20 customers at once on gunicorn with PostgreSQL, each
opening a topic's published intake form and submitting it, which opens a case.

Builds a database of its own (``portal_bench`` on the server of ``--database-url``, dropped
and created again; never the shared test database): migrates it and seeds the demo desk's
configuration (``app.demo.seed.seed_configuration``: pools, mailboxes, the topic tree, the
published intake forms in four languages) plus ``--history`` earlier cases and customers
with bulk inserts. Serves the desk with gunicorn (``--workers``, default 5: 2 × cores + 1)
on ``--port`` (default 5114) and lets the customers go at the same moment, one thread per
customer, no think time. Each round is ``GET /portal/new/<topic>?lang=…`` (the form page, in en, pl, sv
and de in turn) and the ``POST`` of that form (contact fields, the form's answers, half of
them making its conditional field visible), answered with the redirect to the "case
created" page; every submission is a new customer, so each one creates a customer, a case,
its message, its answer rows, an Event and the confirmation mail in the outbox.

CSRF and the rate limits stay on. Each submission comes from its own client address (the
bench tells the desk it sits behind one proxy, ``TRUSTED_PROXY_COUNT=1``, and sends
``X-Forwarded-For``), as real customers do; ``PORTAL_RATE_LIMIT`` keeps its default, and the
limiter counts every POST (in each gunicorn process's memory: the bench sets no REDIS_URL).
The outbox queues the confirmations; nothing delivers them during the run.

Prints progress; the last line is JSON with ``page_p50_ms``, ``page_p95_ms``,
``submit_p50_ms``, ``submit_p95_ms``, ``submits_per_s`` (submissions over the wall clock of
the whole run, pages included), ``requests_per_s``, and the CPU one round (page and
submission) cost the gunicorn workers and the database's server processes
(``desk_cpu_ms_per_round``, ``db_cpu_ms_per_round``, read from ``/proc``): on a shared
machine the wall-clock figures fall with the other load, the CPU per round much less.

    .venv/bin/python bench/portal.py            # full size
    .venv/bin/python bench/portal.py --quick    # small size, under a minute

``--database-url`` names a PostgreSQL server and a user that may create databases (default
``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import config_for, log, pct, start_desk, stop_desk  # noqa: E402

DATABASE = "portal_bench"
PASSWORD = "bench-password-1"
TOPIC = "Wrong invoice"  # the demo's form with a condition: "Something else" asks for details
LANGUAGES = ("en", "pl", "sv", "de")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def create_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)


def drop_database(server_url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    admin.dispose()


def prepare(url: str, store: str, history: int) -> int:
    """Migrate, seed the demo configuration and ``history`` earlier cases (as many
    customers); returns the id of the bench's topic."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app import create_app
    from app.cases.models import Case
    from app.core.timeutil import utcnow
    from app.customers.models import Customer
    from app.demo.seed import seed_configuration
    from app.extensions import db
    from app.organisation.models import Pool, Topic
    from app.security.bootstrap import ensure_roles

    app = create_app(config_for(url, store))
    with app.app_context():
        upgrade()
        ensure_roles()
        seed_configuration(PASSWORD)
        topic = db.session.scalars(select(Topic).where(Topic.name == TOPIC)).one()
        assert topic.form is not None, "the demo's topic has a published form"
        pool_ids = list(db.session.scalars(select(Pool.id).order_by(Pool.id)))
        db.session.execute(
            insert(Customer),
            [
                {"email": f"earlier{n}@example.test", "name": f"Earlier {n}", "language": "en"}
                for n in range(history)
            ],
        )
        customer_ids = list(db.session.scalars(select(Customer.id).order_by(Customer.id)))
        now = utcnow()
        rows = [
            {
                "number": f"OLD-{n + 1:07d}",  # not the desk's prefix: its counter stays at 0
                "subject": f"Earlier request {n}",
                "pool_id": pool_ids[n % len(pool_ids)],
                "customer_id": customer_ids[n % len(customer_ids)],
                "topic_id": topic.id if n % 3 == 0 else None,
                "status": "closed" if n % 4 else "received",
                "priority": 2,
                "sla_due_at": now + timedelta(minutes=n % 3000),
                "received_at": now - timedelta(days=30) + timedelta(seconds=n),
                "updated_at": now,
            }
            for n in range(history)
        ]
        for first in range(0, len(rows), 5000):
            db.session.execute(insert(Case), rows[first : first + 5000])
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        topic_id = topic.id
        db.session.remove()
        db.engine.dispose()
    log(f"  demo configuration, {history} earlier cases and customers")
    return topic_id


class Visitor:
    """One browser: its session cookie (which holds the CSRF secret), a kept-alive
    connection, and a client address of its own for each submission."""

    def __init__(self, port: int, number: int):
        self.port = port
        self.number = number
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, form: dict | None = None, address: str = ""):
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if address:
            headers["X-Forwarded-For"] = address
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the sync worker closed a kept-alive connection
                if attempt:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        text = data.decode("utf-8", "replace")
        if response.status >= 400:
            raise RuntimeError(
                f"customer {self.number}: {method} {path} answered {response.status}: {text[:300]}"
            )
        return response.status, response.getheader("Location"), text


def answers(client: int, n: int, token: str, language: str) -> dict:
    """What a customer submits: contact fields and the form's answers; every other one picks
    "Something else", which makes the form ask for (and require) the details."""
    other = (client + n) % 2 == 0
    form = {
        "csrf_token": token,
        "contact_email": f"c{client}-{n}@bench.example",
        "contact_name": f"Bench Customer {client}-{n}",
        "contact_subject": f"Invoice FV/2026/{client:02d}{n:04d} is wrong",
        "contact_text": "Hello,\n\nthe amount on my invoice does not match my order. "
        "Could you check it and send a corrected one?\n\nThank you",
        "invoice_no": f"FV/2026/{client:02d}{n:04d}",
        "what_wrong": "other" if other else "amount",
        "website": "",  # the honeypot, left empty as people do
    }
    if other:
        form["details"] = "The invoice names the wrong company."
    return form


def run(port: int, topic_id: int, clients: int, rounds: int) -> dict:
    timings: dict[str, list[float]] = {"page": [], "submit": []}
    lock = threading.Lock()
    errors: list[str] = []
    customers = [Visitor(port, n) for n in range(clients)]
    ready = threading.Barrier(clients + 1)
    done = [0]

    def timed(kind: str, func):
        start = time.perf_counter()
        result = func()
        with lock:
            timings[kind].append(time.perf_counter() - start)
        return result

    def customer(browser: Visitor) -> None:
        ready.wait()
        try:
            for n in range(rounds):
                language = LANGUAGES[(browser.number + n) % len(LANGUAGES)]
                path = f"/portal/new/{topic_id}?lang={language}"
                address = f"10.{browser.number}.{n // 250}.{n % 250 + 1}"
                _status, _loc, page = timed("page", lambda path=path: browser.request("GET", path))
                if 'name="invoice_no"' not in page:
                    raise RuntimeError(f"customer {browser.number}: the form page has no form")
                token = CSRF.search(page).group(1)
                form = answers(browser.number, n, token, language)
                status, location, _page = timed(
                    "submit",
                    lambda path=path, form=form, address=address: browser.request(
                        "POST", path, form, address
                    ),
                )
                if status != 302 or "/portal/created/" not in (location or ""):
                    raise RuntimeError(
                        f"customer {browser.number}: the submission gave {status} {location}"
                    )
                with lock:
                    done[0] += 1
        except Exception as exc:  # reported at the end: the figures would be wrong
            with lock:
                errors.append(str(exc))

    threads = [threading.Thread(target=customer, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    total = clients * rounds
    while any(t.is_alive() for t in threads):
        time.sleep(2)
        elapsed = time.perf_counter() - start
        log(f"  {done[0]}/{total} submissions, {done[0] / elapsed:.1f}/s")
    wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} customers failed, e.g. {errors[0]}")
    return {"timings": timings, "wall": wall}


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(desk_pid: int, url: str) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by the gunicorn workers and by the database's server
    processes serving the bench database (read from /proc: same machine)."""
    from sqlalchemy import create_engine, text

    children = Path(f"/proc/{desk_pid}/task/{desk_pid}/children")
    workers = [int(p) for p in children.read_text().split()] if children.exists() else []
    engine = create_engine(url)
    with engine.connect() as conn:
        backends = list(
            conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
        )
        own = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    engine.dispose()
    return {
        "desk": {pid: _cpu_seconds(pid) for pid in workers},
        "database": {pid: _cpu_seconds(pid) for pid in backends if pid != own},
    }


def cpu_used(before: dict, after: dict, kind: str) -> float:
    return sum(after[kind][pid] - before[kind].get(pid, 0.0) for pid in after[kind])


def count_cases(url: str) -> tuple[int, int]:
    """(cases opened from the portal, confirmations queued) in the bench database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        cases = conn.execute(text("SELECT count(*) FROM \"case\" WHERE number NOT LIKE 'OLD-%'"))
        opened = cases.scalar_one()
        mails = conn.execute(text("SELECT count(*) FROM outbox_mail WHERE kind='confirmation'"))
        queued = mails.scalar_one()
    engine.dispose()
    return opened, queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server (and a user that may create databases)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 5114)))
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (2 × cores + 1)")
    parser.add_argument("--clients", type=int, default=20, help="customers at once")
    parser.add_argument("--rounds", type=int, default=None, help="submissions per customer")
    parser.add_argument("--history", type=int, default=None, help="earlier cases")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    rounds = args.rounds or (5 if args.quick else 50)
    history = args.history if args.history is not None else (1_000 if args.quick else 20_000)
    workdir = Path(tempfile.mkdtemp(prefix="ld-portal-"))
    log(
        f"postgresql ({DATABASE}): {args.clients} customers, {rounds} submissions each, "
        f"{history} earlier cases, gunicorn with {args.workers} workers on {args.port}"
    )
    url = create_database(args.database_url)
    desk = None
    try:
        started = time.perf_counter()
        topic_id = prepare(url, str(workdir / "files"), history)
        log(f"  seeded in {time.perf_counter() - started:.1f} s")
        desk = start_desk(url, workdir, args.port, args.workers, {"TRUSTED_PROXY_COUNT": "1"})
        before = cpu_snapshot(desk.pid, url)
        outcome = run(args.port, topic_id, args.clients, rounds)
        after = cpu_snapshot(desk.pid, url)
        timings, wall = outcome["timings"], outcome["wall"]
        opened, queued = count_cases(url)
        submissions = len(timings["submit"])
        if opened != submissions or queued != submissions:
            raise SystemExit(f"{submissions} submissions, but {opened} cases, {queued} mails")
        result = {
            "backend": "postgresql",
            "clients": args.clients,
            "workers": args.workers,
            "submissions": submissions,
            "history": history,
            "submits_per_s": round(submissions / wall, 1),
            "requests_per_s": round((submissions + len(timings["page"])) / wall, 1),
            # CPU per round (form page + submission): gunicorn's workers, the database's
            # server processes; on an idle 2-core machine 2000 / their sum bounds rounds/s.
            "desk_cpu_ms_per_round": round(cpu_used(before, after, "desk") * 1000 / submissions, 1),
            "db_cpu_ms_per_round": round(
                cpu_used(before, after, "database") * 1000 / submissions, 1
            ),
        }
        for kind in ("page", "submit"):
            result[f"{kind}_p50_ms"] = pct(timings[kind], 0.50)
            result[f"{kind}_p95_ms"] = pct(timings[kind], 0.95)
        log(
            f"  {submissions} cases opened in {wall:.1f} s = {result['submits_per_s']}/s; "
            f"form page p50 {result['page_p50_ms']} / p95 {result['page_p95_ms']} ms, "
            f"submission p50 {result['submit_p50_ms']} / p95 {result['submit_p95_ms']} ms; "
            f"CPU per round: desk {result['desk_cpu_ms_per_round']} ms, database "
            f"{result['db_cpu_ms_per_round']} ms"
        )
        print(json.dumps(result))
    finally:
        if desk is not None:
            stop_desk(desk)
        if not args.keep:
            drop_database(args.database_url)


if __name__ == "__main__":
    main()

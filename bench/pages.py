"""The agent's pages under load: 20 agents at once on gunicorn with PostgreSQL, each pressing
Get next, opening the case it lands on (a case with 200 messages) and the queue list.

Builds a database of its own (``--database``, default ``bench_pages``, on the server of
``--database-url``, dropped and created again; never the shared test database): migrates it,
seeds pools, agents, customers and open cases with bulk inserts, the cases first in the pick
order with 200 messages each. Serves the desk with gunicorn (``--workers``, default 3) on ``--port``
(default 5103), logs every agent in through the login form (session cookie, CSRF token), and
lets them all go at the same moment, one thread per agent (no think time unless
``--think-ms`` gives one, the pause before each click): each round is
``POST /cases/next`` (Get next, answered with a redirect to the case), ``GET`` of that case
page (the workspace) and ``GET /desk/queue`` (My pools' queue; every page also shows the
navigation's counts). Prints progress; the last line is JSON with ``workspace_p50_ms``,
``workspace_p95_ms``, ``queue_p50_ms``, ``queue_p95_ms``, ``next_p50_ms``, ``next_p95_ms``
and ``requests_per_s`` (every request of every agent, wall clock).

    .venv/bin/python bench/pages.py            # full size
    .venv/bin/python bench/pages.py --quick    # small size, under a minute

``--database-url`` names a PostgreSQL server and a user that may create databases (default
``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-pages-secret-key-0123456789abcdef"
PASSWORD = "bench-password-1"
DATABASE = "bench_pages"
MESSAGES_PER_CASE = 200
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BODY = (
    "Hello, I ordered the blue model last week and it has not arrived yet. The tracking page "
    "says it left the warehouse on Monday. Could you tell me where it is and when I can "
    "expect it? I need it before the weekend.\n\nThanks,\nA customer\n\n"
    "On Tue, 1 Dec 2026 at 10:00, Support wrote:\n> Thank you for your message.\n"
    "> We will answer within a day.\n"
)


def log(text: str) -> None:
    print(text, flush=True)


def config_for(url: str, store: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET,
        "FILE_STORE": store,
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        # stored hashes name their method: logins of the bench's agents check fast
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


def create_database(server_url: str, name: str = DATABASE) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str = DATABASE) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def prepare(url: str, store: str, agents: int, pools: int, cases: int, heavy: int) -> None:
    """Migrate; create the pools, the agents (members of every pool), customers and open
    cases; the ``heavy`` cases first in the pick order get 200 messages each."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app import create_app
    from app.agents.models import AgentProfile, PoolMembership
    from app.cases.models import Case, Message
    from app.core.timeutil import utcnow
    from app.customers.models import Customer
    from app.extensions import db
    from app.organisation.models import Pool
    from app.security.bootstrap import create_user, ensure_roles

    app = create_app(config_for(url, store))
    with app.app_context():
        upgrade()
        ensure_roles()
        pool_ids = []
        for n in range(pools):
            pool = Pool(name=f"Pool {n + 1}", sla_hours=24)
            db.session.add(pool)
            db.session.flush()
            pool_ids.append(pool.id)
        for n in range(agents):
            user = create_user(f"agent{n}", "Agent", password=PASSWORD)
            profile = AgentProfile(user_id=user.id)
            db.session.add(profile)
            db.session.flush()
            for pool_id in pool_ids:
                db.session.add(PoolMembership(agent_id=profile.id, pool_id=pool_id, priority=1))
        db.session.commit()
        n_customers = max(50, cases // 20)
        db.session.execute(
            insert(Customer),
            [
                {"email": f"customer{n}@example.test", "name": f"Customer {n}", "language": "en"}
                for n in range(n_customers)
            ],
        )
        customer_ids = list(db.session.scalars(select(Customer.id).order_by(Customer.id)))
        now = utcnow()
        rows = [
            {
                "number": f"LD-{n + 1:07d}",
                "subject": f"Where is my order {n}?",
                "pool_id": pool_ids[n % pools],
                "customer_id": customer_ids[n % len(customer_ids)],
                "status": "received",
                "priority": 2,
                # the first ``heavy`` cases are due first (some already overdue), then the rest
                "sla_due_at": now + timedelta(minutes=n - heavy // 2),
                "received_at": now - timedelta(hours=24) + timedelta(seconds=n),
                "updated_at": now,
            }
            for n in range(cases)
        ]
        for first in range(0, cases, 5000):
            db.session.execute(insert(Case), rows[first : first + 5000])
        db.session.commit()
        log(f"  {cases} cases in {pools} pools, {agents} agents")
        heavy_ids = list(
            db.session.scalars(select(Case.id).order_by(Case.sla_due_at, Case.id).limit(heavy))
        )
        batch = []
        for number, case_id in enumerate(heavy_ids):
            for m in range(MESSAGES_PER_CASE):
                inbound = m % 2 == 0
                batch.append(
                    {
                        "case_id": case_id,
                        "direction": "inbound" if inbound else "outbound",
                        "from_address": "customer@example.test" if inbound else "desk@example",
                        "subject": f"Re: Where is my order {number}?",
                        "body_text": BODY,
                        "created_at": now - timedelta(hours=24) + timedelta(minutes=m),
                    }
                )
            if len(batch) >= 10_000:
                db.session.execute(insert(Message), batch)
                db.session.commit()
                batch = []
        if batch:
            db.session.execute(insert(Message), batch)
        db.session.commit()
        log(f"  {len(heavy_ids)} cases with {MESSAGES_PER_CASE} messages each")
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def start_desk(
    url: str, workdir: Path, port: int, workers: int, extra_env: dict | None = None
) -> subprocess.Popen:
    """gunicorn serving the desk on ``url``'s database (``extra_env``: more settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPDESK_")}
    env.update(extra_env or {})
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        LOOPDESK_INSTANCE=str(workdir / "instance"),
        FILE_STORE=str(workdir / "files"),
    )
    env.pop("REDIS_URL", None)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "run:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).read()
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"gunicorn did not answer on port {port}")


def stop_desk(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Agent:
    """One browser: a session cookie, the CSRF token of its forms, a kept-alive connection."""

    def __init__(self, port: int, username: str):
        self.port = port
        self.username = username
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
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
        if response.status >= 400:
            raise RuntimeError(f"{self.username}: {method} {path} answered {response.status}")
        return response.status, response.getheader("Location"), data.decode("utf-8", "replace")

    def login(self) -> None:
        _status, _loc, page = self.request("GET", "/login/")
        token = CSRF.search(page).group(1)
        status, _loc, _page = self.request(
            "POST",
            "/login/",
            {"username": self.username, "password": PASSWORD, "csrf_token": token},
        )
        if status != 302:
            raise RuntimeError(f"login of {self.username} failed ({status})")
        _status, _loc, page = self.request("GET", "/desk/queue")
        self.csrf = CSRF.search(page).group(1)


def run(port: int, agents: int, rounds: int, think: float = 0.0) -> dict:
    timings: dict[str, list[float]] = {"next": [], "workspace": [], "queue": []}
    lock = threading.Lock()
    errors: list[str] = []
    browsers = [Agent(port, f"agent{n}") for n in range(agents)]
    for browser in browsers:
        browser.login()
    log(f"  {agents} agents logged in")
    ready = threading.Barrier(agents + 1)
    done = [0]

    def timed(kind: str, func):
        if think:
            time.sleep(think)  # the agent reads before his next click
        start = time.perf_counter()
        result = func()
        with lock:
            timings[kind].append(time.perf_counter() - start)
        return result

    def agent(browser: Agent) -> None:
        ready.wait()
        try:
            for _ in range(rounds):
                status, location, _page = timed(
                    "next",
                    lambda: browser.request("POST", "/cases/next", {"csrf_token": browser.csrf}),
                )
                path = urllib.parse.urlsplit(location or "").path
                # the case page, wherever it lives (not the list: "nothing waits for you")
                if status != 302 or not path or "/list" in path or "/desk/" in path:
                    raise RuntimeError(f"{browser.username}: Get next gave {status} {location}")
                timed("workspace", lambda path=path: browser.request("GET", path))
                timed("queue", lambda: browser.request("GET", "/desk/queue"))
                with lock:
                    done[0] += 1
        except Exception as exc:  # reported at the end: the figures would be wrong
            with lock:
                errors.append(str(exc))

    threads = [threading.Thread(target=agent, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    total = agents * rounds
    while any(t.is_alive() for t in threads):
        time.sleep(2)
        log(f"  {done[0]}/{total} rounds")
    wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} agents failed, e.g. {errors[0]}")
    return {"timings": timings, "wall": wall}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)


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
    parser.add_argument(
        "--database",
        default=DATABASE,
        help=f"name of the benchmark's own database, dropped and created again (default {DATABASE})",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 5103)))
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--pools", type=int, default=3)
    parser.add_argument("--cases", type=int, default=None, help="open cases")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per agent")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="pause of each agent before each request (0: no pause, every agent clicks as "
        "soon as the last page arrived)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    cases = args.cases or (3_000 if args.quick else 30_000)
    rounds = args.rounds or (5 if args.quick else 20)
    heavy = args.agents * rounds + args.agents
    workdir = Path(tempfile.mkdtemp(prefix="ld-pages-"))
    log(
        f"postgresql ({args.database}): {args.agents} agents, {args.pools} pools, {cases} open "
        f"cases, {rounds} rounds each, gunicorn with {args.workers} workers on {args.port}"
    )
    url = create_database(args.database_url, args.database)
    desk = None
    try:
        started = time.perf_counter()
        prepare(url, str(workdir / "files"), args.agents, args.pools, cases, heavy)
        log(f"  seeded in {time.perf_counter() - started:.1f} s")
        desk = start_desk(url, workdir, args.port, args.workers)
        outcome = run(args.port, args.agents, rounds, args.think_ms / 1000)
        timings, wall = outcome["timings"], outcome["wall"]
        requests = sum(len(v) for v in timings.values())
        result = {
            "backend": "postgresql",
            "agents": args.agents,
            "workers": args.workers,
            "cases": cases,
            "messages_per_case": MESSAGES_PER_CASE,
            "rounds": args.agents * rounds,
            "think_ms": args.think_ms,
            "requests_per_s": round(requests / wall, 1),
        }
        for kind in ("workspace", "queue", "next"):
            result[f"{kind}_p50_ms"] = pct(timings[kind], 0.50)
            result[f"{kind}_p95_ms"] = pct(timings[kind], 0.95)
        log(
            f"  {requests} requests in {wall:.1f} s = {result['requests_per_s']}/s; workspace "
            f"p50 {result['workspace_p50_ms']} / p95 {result['workspace_p95_ms']} ms, queue "
            f"p50 {result['queue_p50_ms']} / p95 {result['queue_p95_ms']} ms, Get next "
            f"p50 {result['next_p50_ms']} / p95 {result['next_p95_ms']} ms"
        )
        print(json.dumps(result))
    finally:
        if desk is not None:
            stop_desk(desk)
        if not args.keep:
            drop_database(args.database_url, args.database)


if __name__ == "__main__":
    main()

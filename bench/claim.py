"""Get next case under load: many agents pressing "Get next" at once on PostgreSQL.

Builds a fresh database with one pool, ``--agents`` agents and ``--cases`` open cases, then
lets every agent claim ``--claims``/``--agents`` cases through ``claim_next_case`` (the service
behind the button and ``POST /api/v1/case/next``), all at the same moment: agents are threads,
spread over ``--processes`` processes. Prints progress; the last line is JSON with
``claims_per_s`` (wall clock), ``p50_ms`` and ``p95_ms`` (one claim, as the agent waits for
it), ``double_claims`` (a case that two agents got) and ``skipped_cases`` (a case earlier in
the order than the last one taken that nobody got).

    .venv/bin/python bench/claim.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/claim.py --quick --database-url ...

Without ``--database-url`` the benchmark runs on a SQLite file (one writer at a time).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRET = "bench-claim-secret-key-0123456789abcdef"


def log(text: str) -> None:
    print(text, flush=True)


def config_for(url: str, store: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET,
        "FILE_STORE": store,
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 40},
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


def prepare(url: str, store: str, agents: int, cases: int) -> list[int]:
    """Migrate, create the pool, the agents and the cases; return the agents' user ids."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from app.agents.models import AgentProfile, PoolMembership
    from app.cases.models import Case
    from app.core.timeutil import utcnow
    from app.extensions import db
    from app.organisation.models import Pool
    from app.security.bootstrap import create_user, ensure_roles

    app = create_app(config_for(url, store))
    with app.app_context():
        upgrade()
        ensure_roles()
        pool = Pool(name="Support")
        db.session.add(pool)
        db.session.flush()
        user_ids = []
        for n in range(agents):
            user = create_user(f"agent{n}", "Agent", password="bench-password-1")
            profile = AgentProfile(user_id=user.id)
            db.session.add(profile)
            db.session.flush()
            db.session.add(PoolMembership(agent_id=profile.id, pool_id=pool.id, priority=1))
            user_ids.append(user.id)
        db.session.commit()
        now = utcnow()
        rows = [
            {
                "number": f"LD-{n + 1:07d}",
                "subject": f"Case {n}",
                "pool_id": pool.id,
                "status": "received",
                "priority": 2,
                "sla_due_at": now + timedelta(minutes=(n * 7919) % 20000),
                "received_at": now - timedelta(minutes=n % 5000),
                "updated_at": now,
            }
            for n in range(cases)
        ]
        for first in range(0, cases, 5000):
            db.session.execute(insert(Case), rows[first : first + 5000])
            db.session.commit()
            log(f"  {min(first + 5000, cases)} cases")
        db.session.remove()
        db.engine.dispose()
    return user_ids


def _agents_process(url, store, user_ids, per_agent, barrier, results) -> None:
    """One process: a thread per agent, each pressing Get next ``per_agent`` times."""
    import logging

    logging.disable(logging.WARNING)
    from flask_appbuilder.security.sqla.models import User

    from app import create_app
    from app.audit.actor import acting_as
    from app.cases.routing import claim_next_case
    from app.extensions import db

    app = create_app(config_for(url, store))
    ready = threading.Barrier(len(user_ids) + 1)
    taken: list[tuple[int, int, float]] = []
    lock = threading.Lock()

    def agent(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.commit()
            ready.wait()
            for _ in range(per_agent):
                start = time.perf_counter()
                with acting_as(user):
                    case = claim_next_case()
                elapsed = time.perf_counter() - start
                if case is None:
                    break
                with lock:
                    taken.append((user_id, case.id, elapsed))
            db.session.remove()

    threads = [threading.Thread(target=agent, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    ready.wait()  # every agent of this process has logged in
    barrier.wait()  # and so have those of the other processes
    for thread in threads:
        thread.join()
    results.put(taken)


def run(url: str, store: str, user_ids: list[int], per_agent: int, processes: int) -> dict:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    groups = [user_ids[n::processes] for n in range(processes)]
    procs = [
        ctx.Process(target=_agents_process, args=(url, store, g, per_agent, barrier, results))
        for g in groups
    ]
    for proc in procs:
        proc.start()
    barrier.wait()
    start = time.perf_counter()
    taken = []
    for _ in procs:
        taken.extend(results.get())
    wall = time.perf_counter() - start
    for proc in procs:
        proc.join()
    return {"taken": taken, "wall": wall}


def check(url: str, store: str, taken) -> tuple[int, int]:
    """(double claims, skipped cases): each case id once, and every case earlier in the
    pick order than the last one taken was taken too."""
    from sqlalchemy import select

    from app import create_app
    from app.cases.models import Case
    from app.extensions import db

    ids = [case_id for _user, case_id, _t in taken]
    doubles = len(ids) - len(set(ids))
    app = create_app(config_for(url, store))
    with app.app_context():
        order = db.session.scalars(
            select(Case.id).order_by(Case.sla_due_at.asc().nulls_last(), Case.received_at, Case.id)
        ).all()
        assigned = dict(db.session.execute(select(Case.id, Case.assignee_id)).all())
        db.engine.dispose()
    got = set(ids)
    last = max((order.index(i) for i in got), default=-1)
    skipped = sum(1 for i in order[: last + 1] if i not in got)
    wrong_owner = sum(1 for user, case_id, _t in taken if assigned.get(case_id) != user)
    return doubles + wrong_owner, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--database-url", default=None, help="PostgreSQL that may create databases")
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--claims", type=int, default=None, help="claims in all")
    parser.add_argument("--processes", type=int, default=None)
    args = parser.parse_args()
    agents = args.agents or (10 if args.quick else 50)
    cases = args.cases or (5_000 if args.quick else 100_000)
    claims = args.claims or (500 if args.quick else 10_000)
    processes = args.processes or (2 if args.quick else 5)
    per_agent = max(1, claims // agents)

    work = Path(tempfile.mkdtemp(prefix="ld-claim-"))
    store = str(work / "files")
    admin = None
    if args.database_url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"ld_claim_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
        backend = "postgresql"
    else:
        url, backend = f"sqlite:///{work / 'claim.db'}", "sqlite"
    try:
        log(f"{backend}: {agents} agents, {cases} open cases, {per_agent * agents} claims")
        user_ids = prepare(url, store, agents, cases)
        log(f"claiming: {processes} processes, {agents} agent threads at once")
        outcome = run(url, store, user_ids, per_agent, processes)
        taken, wall = outcome["taken"], outcome["wall"]
        latencies = sorted(t for _u, _c, t in taken)

        def pct(p: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

        doubles, skipped = check(url, store, taken)
        result = {
            "backend": backend,
            "agents": agents,
            "cases": cases,
            "claims": len(taken),
            "claims_per_s": round(len(taken) / wall, 1),
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "double_claims": doubles,
            "skipped_cases": skipped,
        }
        log(
            f"  {len(taken)} claims in {wall:.2f} s = {result['claims_per_s']} claims/s, "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
            f"{doubles} double, {skipped} skipped"
        )
        print(json.dumps(result))
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()

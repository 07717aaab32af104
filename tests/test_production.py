"""Production mode end to end: gunicorn (2 workers) and an `rq worker` on PostgreSQL and Redis.

Starts the processes the README's production section names, logs in through the real login
form (CSRF on), opens the case list, and enqueues a job that the separate worker runs against
the same database.
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.databases import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.support.jobs import check_no_failed_jobs, failed_job_ids, failed_jobs

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL"),
    pytest.mark.skipif(not TEST_REDIS_URL, reason="needs Redis: set TEST_REDIS_URL"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def production(request, tmp_path):
    base = make_url(TEST_DATABASE_URL)
    name = f"ld_prod_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    env = dict(
        os.environ,
        DATABASE_URL=base.set(database=name).render_as_string(hide_password=False),
        REDIS_URL=TEST_REDIS_URL,
        SECRET_KEY="production-smoke-test-secret-key-0123456789",
        LOOPDESK_INSTANCE=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    env.pop("LOOPDESK_EMBEDDED_WORKER", None)
    flask = [sys.executable, "-m", "flask", "--app", "run"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "desk", "init", "--password", "s3cret-admin"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*flask, "demo", "seed", "--cases", "20"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [
        subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "run:app"],
            cwd=ROOT,
            env=env,
            stdout=open(logs / "gunicorn.out", "w"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                str(BIN / "rq"),
                "worker",
                "--with-scheduler",
                "--url",
                TEST_REDIS_URL,
                "default",
                "mail",
                "reports",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(logs / "rq.out", "w"),
            stderr=subprocess.STDOUT,
        ),
    ]
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/login/", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    redis = Redis.from_url(TEST_REDIS_URL)
    earlier = frozenset(failed_job_ids(redis))
    try:
        yield {"url": url, "env": env, "flask": flask, "logs": logs, "db": env["DATABASE_URL"]}
        failed = failed_jobs(redis, before=earlier)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    check_no_failed_jobs(request, failed)  # a job the rq worker ran raised


def test_gunicorn_and_rq_worker_serve_the_desk(production):
    url = production["url"]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(url + "/login/", timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    form = urllib.parse.urlencode(
        {"username": "admin", "password": "s3cret-admin", "csrf_token": token}
    ).encode()
    opener.open(url + "/login/", data=form, timeout=10)
    # several requests, so both gunicorn workers are likely to serve one
    for _ in range(4):
        page = opener.open(url + "/cases/list/", timeout=10).read().decode()
        assert "LD-000001" in page or "LD-0000" in page
    assert "Log out" in page or "logout" in page

    result = subprocess.run(
        [*production["flask"], "jobs", "heartbeat", "--wait"],
        cwd=ROOT,
        env=production["env"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, (
        result.stdout + result.stderr + (production["logs"] / "rq.out").read_text()
    )
    assert "finished" in result.stdout
    engine = create_engine(production["db"])
    with engine.connect() as conn:
        beats = conn.execute(text("SELECT new_value FROM event WHERE action='worker.heartbeat'"))
        rows = beats.fetchall()
    engine.dispose()
    assert rows, "the worker did not write its heartbeat event"


def test_webhook_on_gunicorn_stores_mail_from_several_senders_at_once(production):
    """The inbound webhook served by gunicorn's workers: each POST answers 202 only once its
    mail is stored, and every one of them becomes a case."""
    from concurrent.futures import ThreadPoolExecutor

    subprocess.run(
        [*production["flask"], "mailbox", "create", "hooks@desk.test", "--pool", "Hooks"]
        + ["--protocol", "webhook", "--webhook-secret", "hook-secret-123"],
        cwd=ROOT,
        env=production["env"],
        check=True,
        capture_output=True,
    )

    def post(n: int) -> int:
        body = (
            f"From: sender{n}@customer.test\r\nTo: hooks@desk.test\r\n"
            f"Subject: Webhook mail {n}\r\nMessage-ID: <hook{n}@customer.test>\r\n\r\nHello\r\n"
        ).encode()
        request = urllib.request.Request(
            production["url"] + "/inbound/hooks@desk.test",
            data=body,
            headers={"X-Loopdesk-Token": "hook-secret-123", "Content-Type": "message/rfc822"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(post, range(8)))
    assert statuses == [202] * 8

    forged = urllib.request.Request(
        production["url"] + "/inbound/hooks@desk.test",
        data=b"Subject: forged\r\n\r\nx\r\n",
        headers={"X-Loopdesk-Token": "wrong"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=30)
    assert refused.value.code == 403

    engine = create_engine(production["db"])
    with engine.connect() as conn:
        subjects = (
            conn.execute(text("SELECT subject FROM \"case\" WHERE subject LIKE 'Webhook mail %'"))
            .scalars()
            .all()
        )
        numbers = conn.execute(text('SELECT number FROM "case"')).scalars().all()
    engine.dispose()
    assert sorted(subjects) == sorted(f"Webhook mail {n}" for n in range(8))
    assert len(numbers) == len(set(numbers))

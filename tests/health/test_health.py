"""``/health`` for load balancers and ``/metrics`` for Prometheus: what a monitoring system sees
of a running desk."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.cases.models import Case
from app.extensions import db
from app.jobs.queue import get_queue
from app.mail import intake
from app.outbox.models import OutboxMail
from tests.mail.helpers import make_mail
from tests.support.databases import TEST_REDIS_URL, requires_redis

TOKEN = "scrape-me-please"


class _AliveThread:
    def is_alive(self) -> bool:
        return True


def test_health_reports_database_queue_workers_and_mailboxes_without_login(desk, client, app):
    desk.mailbox_a.inbound_protocol = "imap"
    desk.mailbox_a.last_fetch_at = datetime(2026, 12, 3, 9, 0, 5)
    desk.mailbox_a.last_success_at = datetime(2026, 12, 3, 9, 0, 0)
    db.session.commit()
    intake.receive(make_mail(to="b@desk.test"), mailbox=desk.mailbox_b, source="webhook")

    response = client.get("/health")  # no session: a load balancer has none
    assert response.status_code == 200
    report = response.json
    assert report["database"]["up"] is True
    assert report["queue"] == {"kind": "embedded", "up": True}
    # No worker in this process: the desk serves, but mail and notices wait.
    assert report["workers"]["kind"] == "embedded" and report["workers"]["count"] == 0
    assert report["status"] == "degraded"
    boxes = {box["address"]: box for box in report["mailboxes"]}
    assert set(boxes) == {"a@desk.test", "b@desk.test"}
    assert boxes["a@desk.test"]["last_success"] == "2026-12-03T09:00:00Z"
    assert boxes["a@desk.test"]["last_fetch"] == "2026-12-03T09:00:05Z"
    assert boxes["b@desk.test"]["last_success"] is None
    assert boxes["b@desk.test"]["last_received"] is not None  # the webhook mail

    app.extensions["loopdesk_embedded_worker"] = _AliveThread()
    try:
        report = client.get("/health").json
    finally:
        del app.extensions["loopdesk_embedded_worker"]
    assert report["workers"]["count"] == 1 and report["status"] == "ok"


def test_health_leaves_out_inactive_mailboxes(desk, client):
    desk.mailbox_b.active = False
    db.session.commit()
    addresses = [box["address"] for box in client.get("/health").json["mailboxes"]]
    assert addresses == ["a@desk.test"]


def test_health_reports_when_the_heartbeat_job_last_ran(desk, client):
    from app.jobs.tasks import heartbeat

    assert client.get("/health").json["workers"]["last_heartbeat_job"] is None
    heartbeat("t1")
    assert client.get("/health").json["workers"]["last_heartbeat_job"].endswith("Z")


def test_health_is_503_when_the_database_cannot_be_reached(tmp_path):
    from app import create_app
    from tests.support.databases import base_config

    missing = tmp_path / "no" / "such" / "folder" / "desk.db"
    app = create_app(base_config(f"sqlite:///{missing}", tmp_path), check_services=False)
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "down"
    assert response.json["database"]["up"] is False
    assert str(missing) not in response.get_data(as_text=True)  # no internals published


# --- metrics ---------------------------------------------------------------------------------


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    assert match, f"{series} not in\n{text}"
    return float(match.group(1))


def test_metrics_do_not_exist_without_a_token_setting(app, client):
    app.config["METRICS_TOKEN"] = None
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "headers, query",
    [
        ({}, ""),
        ({"Authorization": "Bearer wrong"}, ""),
        ({}, "?token=wrong"),
        ({"Authorization": TOKEN}, ""),
    ],
)
def test_metrics_refuse_a_missing_or_wrong_token(app, client, headers, query):
    app.config["METRICS_TOKEN"] = TOKEN
    response = client.get(f"/metrics{query}", headers=headers)
    assert response.status_code == 403
    assert b"loopdesk_" not in response.data


def test_metrics_count_intake_quarantine_outbox_cases_and_jobs(desk, app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    desk.pool_a.auto_response_enabled = True  # each new case queues a confirmation
    db.session.commit()
    for n in range(3):
        intake.receive(make_mail(subject=f"new {n}"), mailbox=desk.mailbox_a, source="webhook")
    intake.receive(make_mail(), mailbox=None, source="pipe")  # no mailbox: quarantined
    statuses = dict(
        db.session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
    )

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    text = response.get_data(as_text=True)
    assert _value(text, 'loopdesk_raw_messages{status="processed"}') == 3
    assert _value(text, 'loopdesk_raw_messages{status="quarantined"}') == 1
    assert _value(text, 'loopdesk_raw_messages{status="duplicate"}') == 0  # always present
    assert _value(text, "loopdesk_quarantine_size") == 1
    assert _value(text, 'loopdesk_raw_message_outcomes{outcome="new_case"}') == 3
    assert _value(text, 'loopdesk_cases{status="received"}') == statuses["received"]
    assert _value(text, 'loopdesk_cases{status="closed"}') == statuses.get("closed", 0)
    queued = _value(text, 'loopdesk_outbox_mails{status="queued"}')
    assert queued == db.session.scalar(
        select(func.count(OutboxMail.id)).where(OutboxMail.status == "queued")
    )
    assert queued == 3  # the confirmations of the three new cases
    # Committing the confirmations enqueued their delivery job (nobody runs it here).
    mail_jobs = get_queue("mail").count
    assert mail_jobs >= 1
    assert _value(text, 'loopdesk_job_queue_length{queue="mail"}') == mail_jobs
    assert _value(text, 'loopdesk_jobs_failed{queue="default"}') == 0
    assert _value(text, "loopdesk_queue_up") == 1
    assert "process_cpu_seconds_total" not in text  # the desk's figures, not one process's

    by_query = client.get(f"/metrics?token={TOKEN}")
    assert by_query.status_code == 200
    # Counted at scrape time from the database: a mail stored since shows at once.
    intake.receive(make_mail(subject="one more"), mailbox=desk.mailbox_a, source="webhook")
    text = client.get(f"/metrics?token={TOKEN}").get_data(as_text=True)
    assert _value(text, 'loopdesk_raw_messages{status="processed"}') == 4


def test_metrics_count_jobs_waiting_and_failed_in_the_queue(desk, app, client):
    from app.jobs.tasks import heartbeat

    app.config["METRICS_TOKEN"] = TOKEN
    queue = get_queue("reports")
    queue.enqueue(heartbeat, "waiting")
    queue.enqueue(heartbeat, "waiting too")
    text = client.get(f"/metrics?token={TOKEN}").get_data(as_text=True)
    assert _value(text, 'loopdesk_job_queue_length{queue="reports"}') == 2


# --- with Redis ------------------------------------------------------------------------------


@pytest.fixture
def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_queue_that_does_not_answer_is_degraded_not_down(app_config, _free_port):
    from app import create_app

    app_config["REDIS_URL"] = f"redis://127.0.0.1:{_free_port}/0"
    app_config["METRICS_TOKEN"] = TOKEN
    app = create_app(app_config, check_services=False)
    client = app.test_client()
    response = client.get("/health")
    assert response.status_code == 200  # agents can work: keep it in the load balancer
    assert response.json["queue"] == {"kind": "redis", "up": False, "error": "ConnectionError"}
    assert response.json["status"] == "degraded"
    text = client.get(f"/metrics?token={TOKEN}").get_data(as_text=True)
    assert _value(text, "loopdesk_queue_up") == 0


@requires_redis()
def test_health_lists_rq_workers_with_their_last_heartbeat(app_config, tmp_path):
    from redis import Redis
    from rq import Queue, Worker

    from app import create_app

    app_config["REDIS_URL"] = TEST_REDIS_URL
    app_config["METRICS_TOKEN"] = TOKEN
    app = create_app(app_config)
    conn = Redis.from_url(TEST_REDIS_URL)
    worker = Worker([Queue("mail", connection=conn)], connection=conn, name="health-test-worker")
    worker.register_birth()
    worker.heartbeat()
    try:
        with app.app_context():
            client = app.test_client()
            report = client.get("/health").json
            text = client.get(f"/metrics?token={TOKEN}").get_data(as_text=True)
    finally:
        worker.register_death()
    assert report["queue"] == {"kind": "redis", "up": True}
    (listed,) = [w for w in report["workers"]["workers"] if w["name"] == "health-test-worker"]
    assert listed["queues"] == ["mail"] and listed["last_heartbeat"].endswith("Z")
    assert report["status"] == "ok"
    assert _value(text, "loopdesk_workers") >= 1

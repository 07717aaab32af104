"""Scheduled reports: a subscription is mailed once per period with the file attached, through
the outbox (a dead mail server delays it, never drops it); a supervisor's covers his pools."""

from __future__ import annotations

import email
import io
from datetime import date, datetime, timedelta
from email import policy

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.audit.actor import acting_as
from app.core.timeutil import utcnow
from app.errors import AccessDenied, Forbidden
from app.extensions import db
from app.outbox.delivery import deliver_due
from app.outbox.models import OutboxMail, OutboxStatus
from reports import subscriptions
from reports.models import ReportDelivery, ReportRun, ReportSubscription
from tests.reports.test_runs import work
from tests.support.smtp import Sink

pytest.importorskip("aiosmtpd.controller", reason="needs aiosmtpd (requirements-dev)")

# Thursday 3 December 2026: the last month is November, the last week 23 to 29 November.
NOW = datetime(2026, 12, 3, 7, 0)


@pytest.fixture
def sink():
    server = Sink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, sink):
    app_config.update(
        {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": sink.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_DOMAIN": "desk.test",
            "OUTBOX_ENQUEUE_ON_COMMIT": False,
            "OUTBOX_SMTP_TIMEOUT": 5,
        }
    )
    return app_config


def subscribe(desk, username, **params):
    user = desk.user(username)
    with acting_as(user):
        return subscriptions.subscribe({"frequency": "monthly", "time_zone": "UTC", **params}, user)


def report_mails():
    return db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "report")).all()


def attachment(row: OutboxMail):
    message = email.message_from_bytes(row.content, policy=policy.default)
    [part] = list(message.iter_attachments())
    return message, part.get_filename(), part.get_content()


def test_last_period_is_the_last_complete_week_or_month_in_the_time_zone():
    assert subscriptions.last_period("monthly", NOW, "UTC") == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert subscriptions.last_period("weekly", NOW, "UTC") == (
        date(2026, 11, 23),
        date(2026, 11, 29),
    )
    # 23:30 UTC on Monday 30 November is already Tuesday 1 December in Warsaw.
    late = datetime(2026, 11, 30, 23, 30)
    assert subscriptions.last_period("monthly", late, "UTC") == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert subscriptions.last_period("monthly", late, "Europe/Warsaw") == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )


def test_the_scheduler_run_twice_mails_one_report_with_the_file_attached(synthetic, sink):
    subscription = subscribe(synthetic.desk, "manager")

    first = subscriptions.deliver_scheduled(now=NOW)
    again = subscriptions.deliver_scheduled(now=NOW)  # before the worker ran: no second run
    assert len(first["started"]) == 1 and again["started"] == []
    assert db.session.scalar(select(db.func.count(ReportRun.id))) == 1

    work()  # the report job runs and hands the file to the outbox as it finishes
    later = subscriptions.deliver_scheduled(now=NOW + timedelta(days=5))  # same month
    assert later == {"started": [], "mailed": [], "failed": []}

    [row] = report_mails()
    assert row.recipient == "manager@desk.test"
    message, name, content = attachment(row)
    assert message["Subject"] == "Loopdesk report: Desk figures, 2026-11-01 to 2026-11-30"
    assert name.endswith("-2026-11-01-2026-11-30.xlsx")
    book = load_workbook(io.BytesIO(content))
    assert {"Summary", "By agent", "By pool", "By day"} <= set(book.sheetnames)
    assert book["By day"].max_row == 31  # header and the thirty days of November
    [delivery] = db.session.scalars(select(ReportDelivery)).all()
    assert (delivery.subscription_id, delivery.status, delivery.outbox_id) == (
        subscription.id,
        "mailed",
        row.id,
    )

    assert deliver_due().sent == 1
    [sent] = sink.messages
    assert [p.get_filename() for p in sent.iter_attachments()] == [name]
    # December's report is the next one: a new period, a new run.
    january = subscriptions.deliver_scheduled(now=datetime(2027, 1, 2, 7, 0))
    assert len(january["started"]) == 1


def test_a_dead_mail_server_delays_the_report_but_never_drops_it(synthetic, sink):
    subscribe(synthetic.desk, "manager", frequency="weekly", format="csv")
    sink.stop()
    subscriptions.deliver_scheduled(now=NOW)
    work()

    report = deliver_due()
    assert (report.sent, report.deferred) == (0, 1)
    [row] = report_mails()
    db.session.refresh(row)
    assert row.status == OutboxStatus.QUEUED and row.attempts == 1
    assert "cannot connect" in row.last_error
    _, name, _ = attachment(row)
    assert name.endswith("-2026-11-23-2026-11-29.zip")

    subscriptions.deliver_scheduled(now=NOW)  # the scheduler again: no second mail
    assert len(report_mails()) == 1

    sink.start()
    db.session.execute(update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert deliver_due().sent == 1
    [sent] = sink.messages
    assert [p.get_filename() for p in sent.iter_attachments()] == [name]


def test_a_supervisors_subscription_covers_his_pools_and_only_he_sees_it(synthetic, client, auth):
    desk = synthetic.desk
    own = subscribe(desk, "supervisor_a")
    managers = subscribe(desk, "manager")
    subscriptions.deliver_scheduled(now=NOW)
    runs = {r.requested_by.username: r for r in db.session.scalars(select(ReportRun))}
    assert runs["supervisor_a"].parameters["pool_ids"] == [desk.pool_a.id]
    assert runs["manager"].parameters["pool_ids"] is None

    supervisor = desk.user("supervisor_a")
    with acting_as(supervisor):
        assert [s.id for s in subscriptions.subscriptions(supervisor)] == [own.id]
        with pytest.raises(AccessDenied):
            subscriptions.stop(managers.id, supervisor)
    manager = desk.user("manager")
    with acting_as(manager):
        assert {s.id for s in subscriptions.subscriptions(manager)} == {own.id, managers.id}
    agent = desk.user("agent_a")
    with acting_as(agent), pytest.raises(Forbidden):
        subscriptions.subscribe({"frequency": "weekly"}, agent)

    auth.login("agent_a")
    assert client.post("/reports/subscriptions", data={"frequency": "weekly"}).status_code == 403
    auth.logout()
    auth.login("supervisor_a")
    page = client.get("/reports/")
    assert b'id="report-subscriptions"' in page.data
    assert f'data-id="{own.id}"'.encode() in page.data
    assert f'data-id="{managers.id}"'.encode() not in page.data
    assert client.post(f"/reports/subscriptions/{managers.id}/stop").status_code == 404
    assert client.post(f"/reports/subscriptions/{own.id}/stop").status_code == 302
    db.session.expire_all()
    assert db.session.get(ReportSubscription, own.id).active is False
    assert db.session.get(ReportSubscription, managers.id).active is True


def test_a_manager_subscribes_on_the_reports_page(synthetic, client, auth):
    auth.login("manager")
    response = client.post("/reports/subscriptions", data={"frequency": "weekly", "format": "xlsx"})
    assert response.status_code == 302
    [row] = db.session.scalars(select(ReportSubscription)).all()
    assert (row.user.username, row.frequency, row.file_format, row.active) == (
        "manager",
        "weekly",
        "xlsx",
        True,
    )
    page = client.get("/reports/")
    assert b"Weekly" in page.data and b"manager@desk.test" in page.data
    refused = client.post(
        "/reports/subscriptions", data={"frequency": "daily"}, follow_redirects=True
    )
    assert b"Choose weekly or monthly." in refused.data

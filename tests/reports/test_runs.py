"""Report runs: started by a manager or a supervisor, run by the worker on the "reports"
queue, watched on the page, downloaded; record rules per role; a lost job restarted."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from rq import SimpleWorker
from rq.job import Job

from app.audit.actor import acting_as
from app.audit.models import Event
from app.core.timeutil import utcnow
from app.errors import AccessDenied, Forbidden
from app.extensions import db
from app.jobs.queue import connection, get_queue
from reports import services
from reports.models import ReportRun

WEEK = {"since": "2026-11-02", "until": "2026-11-08", "time_zone": "UTC"}


def work():
    SimpleWorker([get_queue("reports")], connection=connection()).work(burst=True)


def start(desk, username, **params):
    user = desk.user(username)
    with acting_as(user):
        return services.start_run(services.DESK_REPORT, dict(WEEK, **params), user)


def test_a_manager_starts_a_report_watches_it_and_downloads_the_spreadsheet(
    synthetic, client, auth
):
    auth.login("manager")
    page = client.get("/reports/")
    assert page.status_code == 200 and b"the whole desk" in page.data
    response = client.post(
        "/reports/",
        data={**WEEK, "breakdowns": ["agent", "pool"], "format": "xlsx", "csrf_token": ""},
    )
    assert response.status_code == 302
    run = db.session.scalars(db.select(ReportRun)).one()
    assert response.headers["Location"].endswith(f"/reports/{run.id}")
    waiting = client.get(f"/reports/{run.id}/progress")
    assert b'hx-trigger="every 2s"' in waiting.data and b"Queued" in waiting.data
    assert client.get(f"/reports/{run.id}/download").status_code == 404  # no file yet

    work()

    done = client.get(f"/reports/{run.id}/progress")
    assert b"hx-trigger" not in done.data  # the polling stops
    assert b"100%" in done.data and b"report-download" in done.data
    download = client.get(f"/reports/{run.id}/download")
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.data))
    assert {"Summary", "By agent", "By pool", "Consultations"} <= set(book.sheetnames)
    assert "By topic" not in book.sheetnames  # not asked for
    db.session.refresh(run)
    assert (run.status, run.progress, run.error) == ("done", 100, None)
    assert run.path.startswith("reports/")
    assert (
        db.session.scalars(
            db.select(Event).where(Event.object_type == "report_run", Event.object_id == run.id)
        )
        .first()
        .action
        == "report requested"
    )


def test_a_csv_report_is_a_zip_of_one_file_per_table(synthetic, client, auth):
    import zipfile

    run = start(synthetic.desk, "manager", format="csv", breakdowns=["pool"])
    work()
    auth.login("manager")
    download = client.get(f"/reports/{run.id}/download")
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert "by-pool.csv" in archive.namelist()
    text = archive.read("by-pool.csv").decode()
    assert text.splitlines()[0].startswith("Pool,E-mails received,Cases opened")
    assert "Pool A,6,4,3" in text


def test_a_supervisors_report_covers_his_pools_only(synthetic):
    desk = synthetic.desk
    run = start(desk, "supervisor_a")
    assert run.parameters["pool_ids"] == [desk.pool_a.id]
    work()
    db.session.refresh(run)
    assert run.status == "done"
    from flask import current_app

    from app.core import settings  # noqa: F401  (the app context is pushed)

    book = load_workbook(f"{current_app.config['FILE_STORE']}/{run.path}")
    pools = [row[0].value for row in book["By pool"].iter_rows(min_row=2)]
    assert pools == ["Pool A"]


@pytest.mark.parametrize("username", ["agent_a", "agent_b"])
def test_an_agent_may_not_run_or_see_reports(synthetic, client, auth, username):
    manager_run = start(synthetic.desk, "manager")
    with pytest.raises(Forbidden):
        start(synthetic.desk, username)
    user = synthetic.desk.user(username)
    assert services.runs(user) == []
    with pytest.raises(AccessDenied):
        services.get_run(manager_run.id, user)
    auth.login(username)
    assert client.get("/reports/").status_code == 403
    assert client.post("/reports/", data=WEEK).status_code in (400, 403)
    assert client.get(f"/reports/{manager_run.id}/download").status_code == 403


def test_who_sees_which_run(synthetic, client, auth):
    desk = synthetic.desk
    manager_run = start(desk, "manager")
    supervisor_run = start(desk, "supervisor_a")
    assert {r.id for r in services.runs(desk.user("manager"))} == {
        manager_run.id,
        supervisor_run.id,
    }
    assert {r.id for r in services.runs(desk.user("admin"))} == {manager_run.id, supervisor_run.id}
    assert [r.id for r in services.runs(desk.user("supervisor_a"))] == [supervisor_run.id]
    auth.login("supervisor_a")
    assert client.get(f"/reports/{manager_run.id}").status_code == 404
    assert client.get(f"/reports/{supervisor_run.id}").status_code == 200
    page = client.get("/reports/")
    assert b"your pools only (1)" in page.data


def test_a_bad_period_is_refused_with_the_reason(synthetic):
    with pytest.raises(Exception, match="ends before it starts"):
        start(synthetic.desk, "manager", since="2026-11-08", until="2026-11-01")
    with pytest.raises(Exception, match="Unknown breakdown"):
        start(synthetic.desk, "manager", breakdowns=["weather"])


def test_a_run_whose_job_was_lost_is_queued_again_and_finishes(synthetic):
    run = start(synthetic.desk, "manager")
    first_job = run.job_id
    Job.fetch(first_job, connection=connection()).delete()  # Redis lost it
    assert services.recover_lost_runs() == {"restarted": [run.id], "failed": []}
    db.session.refresh(run)
    assert (run.status, run.attempts) == ("queued", 2) and run.job_id != first_job
    work()
    db.session.refresh(run)
    assert run.status == "done"
    assert services.recover_lost_runs() == {"restarted": [], "failed": []}


def test_a_killed_worker_is_noticed_by_its_silent_heartbeat(synthetic):
    run = start(synthetic.desk, "manager")
    killed_job = run.job_id
    # The worker took the job, set the run running and died: RQ still holds the job (as a
    # real Redis would, "started"), but the run's heartbeat stops.
    run.status, run.progress = "running", 40
    run.heartbeat_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert services.recover_lost_runs() == {"restarted": [run.id], "failed": []}
    db.session.refresh(run)
    assert run.job_id != killed_job and run.progress == 0
    work()  # runs the old job too: it finds the run given to another job and leaves it
    db.session.refresh(run)
    assert (run.status, run.attempts) == ("done", 2)
    events = db.session.scalars(
        db.select(Event.action).where(Event.object_type == "report_run", Event.object_id == run.id)
    ).all()
    assert "report restarted" in events


def test_a_run_that_keeps_getting_lost_fails_with_the_reason(synthetic, app):
    app.config["REPORTS_MAX_ATTEMPTS"] = 2
    run = start(synthetic.desk, "manager")
    for _ in range(2):
        Job.fetch(run.job_id, connection=connection()).delete()
        services.recover_lost_runs()
        db.session.refresh(run)
    assert run.status == "failed"
    assert "Given up after 2 attempts: its job is gone from the queue" in run.error


def test_a_fresh_running_run_is_left_alone(synthetic):
    run = start(synthetic.desk, "manager")
    run.status = "running"
    run.heartbeat_at = utcnow()
    db.session.commit()
    assert services.recover_lost_runs() == {"restarted": [], "failed": []}


def test_the_check_is_scheduled_on_the_reports_queue():
    from app.schedule import PERIODIC_JOBS
    from reports.jobs import recover_lost_report_runs

    assert any(
        job.func is recover_lost_report_runs and job.queue == "reports" for job in PERIODIC_JOBS
    )

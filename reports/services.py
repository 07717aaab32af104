"""Report runs: start one, run it (the RQ job's body), and restart those whose job was lost.

The ``report_run`` row is the truth and the queue only carries its id (as the outbox does):
``start_run`` commits the row, then queues the job; the job claims the row, reports its
progress and heartbeat on it and leaves the file under ``FILE_STORE/reports/`` (so the
file outlives RQ's result storage). ``recover_lost_runs``, scheduled every minute, queues
again a run whose job is gone from RQ, failed there, or stopped showing life, and fails it
with the reason after ``REPORTS_MAX_ATTEMPTS``: no run is left hanging.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from app.agents.services import supervised_pool_ids
from app.audit.actor import acting_as, current_actor
from app.audit.tracking import record_event
from app.core.settings import setting as core_setting
from app.core.timeutil import utcnow
from app.errors import AccessDenied, DeskError, Forbidden
from app.extensions import db
from app.jobs.queue import connection, enqueue
from app.security.roles import ADMIN, MANAGER, SUPERVISOR, role_names
from app.security.rules import ensure_visible, visible
from reports import forecast, metrics, spreadsheet
from reports.models import UNFINISHED, ReportRun, ReportRunStatus
from reports.settings import setting

log = logging.getLogger(__name__)

DESK_REPORT = "desk"
REPORTS = {DESK_REPORT: "Desk figures"}
FORMATS = ("xlsx", "csv")
# The file of a run of each format (a CSV report is a zip of one file per table).
MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
}
MAX_DAYS = 366 * 2
JOB_TIMEOUT = 3600
# RQ states in which the job will never run (again): the run needs a new job.
DEAD_JOB_STATES = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED}


class Superseded(Exception):
    """The run was given to another job (this one was taken for lost): stop quietly."""


# --- who may run what --------------------------------------------------------------------------


def scope_for(user) -> list[int] | None:
    """The pools a user's report covers: None (every pool) for admins and managers, the
    pools he supervises for a supervisor; anyone else may not run reports."""
    roles = role_names(user)
    if roles & {ADMIN, MANAGER}:
        return None
    if SUPERVISOR in roles:
        return supervised_pool_ids(user)
    raise Forbidden("Reports are for managers and supervisors.")


def _date(value, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise DeskError(f"{name}: give a date as YYYY-MM-DD.") from None


def clean_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as stored: a period of local dates, its time zone, the breakdowns and
    the file format; refuses what cannot be run, with the reason."""
    since = _date(params.get("since"), "From")
    until = _date(params.get("until"), "To")
    if until < since:
        raise DeskError("The period ends before it starts.")
    if (until - since).days >= MAX_DAYS:
        raise DeskError(f"A report covers at most {MAX_DAYS} days.")
    zone = str(params.get("time_zone") or core_setting("DESK_TIMEZONE") or "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeskError(f"'{zone}' is not a time zone.") from None
    breakdowns = params.get("breakdowns")
    if breakdowns is None:
        breakdowns = list(metrics.BREAKDOWNS)
    unknown = [b for b in breakdowns if b not in metrics.BREAKDOWNS]
    if unknown:
        raise DeskError(f"Unknown breakdown: {', '.join(unknown)}.")
    fmt = str(params.get("format") or "xlsx").lower()
    if fmt not in FORMATS:
        raise DeskError(f"Format must be one of {', '.join(FORMATS)}.")
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "time_zone": zone,
        "breakdowns": [b for b in metrics.BREAKDOWNS if b in breakdowns],
        "format": fmt,
        # The staffing forecast's sheets (reports.forecast), from the history before the run.
        "forecast": _flag(params.get("forecast", True)),
    }


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


# --- starting ----------------------------------------------------------------------------------


def start_run(
    report: str,
    params: dict[str, Any],
    actor=None,
    *,
    on_record: Callable[[ReportRun], None] | None = None,
) -> ReportRun:
    """Record a run of ``report`` for ``actor`` (default: the acting user) and queue it.
    The scope (which pools it covers) is fixed now, from the actor's roles. ``on_record``
    is called with the new row before it is committed (what refers to it commits with it)."""
    actor = current_actor() if actor is None else actor
    if report not in REPORTS:
        raise DeskError(f"No report named '{report}'.")
    pool_ids = scope_for(actor)
    stored = clean_parameters(params)
    stored["pool_ids"] = pool_ids
    run = ReportRun(
        report=report,
        parameters=stored,
        status=ReportRunStatus.QUEUED.value,
        progress=0,
        step="waiting for a worker",
        requested_by_id=getattr(actor, "id", None),
    )
    db.session.add(run)
    db.session.flush()
    with acting_as(actor):
        record_event(db.session, run, "report requested", new=report, details=stored)
    if on_record is not None:
        on_record(run)
    db.session.commit()
    _queue(run)
    return run


def _queue(run: ReportRun) -> None:
    """Give the run a new job (the row is committed first: a job never finds it missing)."""
    run.attempts = (run.attempts or 0) + 1
    run.job_id = f"report-run-{run.id}-{run.attempts}"
    run.heartbeat_at = utcnow()
    db.session.commit()
    # not at the top: the job module imports this one
    from reports.jobs import run_report_job

    enqueue(
        run_report_job,
        run.id,
        run.job_id,
        queue="reports",
        job_id=run.job_id,
        job_timeout=JOB_TIMEOUT,
        job_result_ttl=3600,
        job_failure_ttl=86400,
    )


# --- running -----------------------------------------------------------------------------------


def report_folder() -> Path:
    folder = Path(current_app.config["FILE_STORE"]) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _touch(
    run: ReportRun, job_id: str | None, progress: int | None = None, step: str | None = None
):
    """Record progress and a heartbeat, unless the run went to another job meanwhile."""
    db.session.refresh(run)
    if job_id is not None and run.job_id != job_id:
        raise Superseded(run.job_id)
    if progress is not None:
        run.progress = max(0, min(100, int(progress)))
    if step is not None:
        run.step = step[:128]
    run.heartbeat_at = utcnow()
    db.session.commit()


def run_report(
    run_id: int, job_id: str | None = None, *, now: datetime | None = None
) -> ReportRun | None:
    """Compute the run's report and write its file (the job's body). A run already
    finished, or given to another job, is left alone. A failure is recorded on the row
    (status failed, the reason), not raised: the row is what users see."""
    run = db.session.get(ReportRun, int(run_id))
    if run is None or run.is_finished:
        return run
    if job_id is not None and run.job_id != job_id:
        log.info("report run %s: job %s superseded by %s", run.id, job_id, run.job_id)
        return run
    run.status = ReportRunStatus.RUNNING.value
    run.started_at = utcnow()
    run.error = None
    _touch(run, job_id, 1, "starting")
    params = run.parameters or {}
    try:
        period = metrics.Period(
            date.fromisoformat(params["since"]),
            date.fromisoformat(params["until"]),
            params.get("time_zone") or "UTC",
        )
        result = metrics.compute(
            period,
            params.get("breakdowns") or (),
            pool_ids=params.get("pool_ids"),
            now=now or utcnow(),
            progress=lambda pct, step: _touch(run, job_id, 5 + pct * 80 // 100, step),
        )
        if params.get("forecast"):
            _touch(run, job_id, 86, "staffing forecast")
            result.sheets.extend(forecast_sheets(params.get("pool_ids"), now or utcnow(), period))
        _touch(run, job_id, 88, "writing the file")
        fmt = params.get("format", "xlsx")
        name = f"report-{run.id}-{params['since']}-{params['until']}.{'xlsx' if fmt == 'xlsx' else 'zip'}"
        target = report_folder() / name
        partial = target.with_suffix(target.suffix + ".part")
        if fmt == "xlsx":
            spreadsheet.write_xlsx(result, partial)
        else:
            spreadsheet.write_csv_zip(result, partial)
        _touch(run, job_id)  # still ours before the file is published
        partial.replace(target)
        run.path = str(Path("reports") / name)
        run.status = ReportRunStatus.DONE.value
        run.progress = 100
        run.step = "done"
        run.finished_at = utcnow()
        db.session.commit()
    except Superseded:
        db.session.rollback()
        return run
    except Exception as exc:
        db.session.rollback()
        log.exception("report run %s failed", run_id)
        run = db.session.get(ReportRun, int(run_id))
        if run is None or (job_id is not None and run.job_id != job_id):
            return run
        run.status = ReportRunStatus.FAILED.value
        run.error = str(exc) if isinstance(exc, DeskError) else f"{type(exc).__name__}: {exc}"
        run.step = "failed"
        run.finished_at = utcnow()
        db.session.commit()
    return run


def forecast_sheets(pool_ids, now: datetime, period: metrics.Period) -> list[metrics.Sheet]:
    """The forecast's sheets for the report, or one sheet saying why there is none."""
    try:
        return forecast.sheets(forecast.build(pool_ids, now, period.time_zone))
    except forecast.ForecastError as exc:
        frame = pd.DataFrame({"item": ["No forecast"], "value": [str(exc)]})
        return [metrics.Sheet("Forecast method", [("item", "Item"), ("value", "Value")], frame)]


# --- lost jobs ---------------------------------------------------------------------------------


def job_state(job_id: str | None) -> JobStatus | None:
    """The RQ state of a run's job; None when RQ has no such job (lost with Redis, expired)."""
    if not job_id:
        return None
    try:
        return Job.fetch(job_id, connection=connection()).get_status(refresh=True)
    except NoSuchJobError:
        return None


def lost_reason(run: ReportRun, now: datetime) -> str | None:
    """Why the run's job is taken for lost, or None while it may still do its work."""
    state = job_state(run.job_id)
    if state is None:
        return "its job is gone from the queue"
    if state in DEAD_JOB_STATES:
        return f"its job is {state.value} but the run is still {run.status}"
    if run.status == ReportRunStatus.RUNNING.value:
        silent = timedelta(minutes=setting("REPORTS_LOST_AFTER_MINUTES"))
        last = run.heartbeat_at or run.started_at or run.created_at
        if last is not None and now - last > silent:
            return f"no sign of life since {last:%Y-%m-%d %H:%M} UTC"
    return None


def recover_lost_runs(now: datetime | None = None) -> dict[str, list[int]]:
    """Queue again every unfinished run whose job was lost; fail those out of attempts."""
    now = now or utcnow()
    restarted, failed = [], []
    runs = db.session.scalars(
        select(ReportRun).where(ReportRun.status.in_(UNFINISHED)).order_by(ReportRun.id)
    ).all()
    for run in runs:
        reason = lost_reason(run, now)
        if reason is None:
            continue
        if (run.attempts or 0) >= setting("REPORTS_MAX_ATTEMPTS"):
            run.status = ReportRunStatus.FAILED.value
            run.error = f"Given up after {run.attempts} attempts: {reason}."
            run.step = "failed"
            run.finished_at = now
            record_event(db.session, run, "report failed", new=reason)
            db.session.commit()
            failed.append(run.id)
            continue
        log.warning("report run %s restarted: %s", run.id, reason)
        record_event(db.session, run, "report restarted", new=reason)
        run.status = ReportRunStatus.QUEUED.value
        run.progress = 0
        run.step = f"queued again ({reason})"
        _queue(run)
        restarted.append(run.id)
    return {"restarted": restarted, "failed": failed}


# --- reading -----------------------------------------------------------------------------------


def runs(user=None, limit: int | None = 50) -> list[ReportRun]:
    """The runs the user may see, newest first (all of them with ``limit=None``)."""
    stmt = visible(select(ReportRun), ReportRun, user).order_by(ReportRun.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def get_run(run_id, user=None) -> ReportRun:
    try:
        run = db.session.get(ReportRun, int(run_id))
    except (TypeError, ValueError):
        run = None
    return ensure_visible(run, user)


def result_file(run: ReportRun) -> Path:
    """The file of a finished run (AccessDenied when there is none)."""
    if run.status != ReportRunStatus.DONE.value or not run.path:
        raise AccessDenied("This report has no file (yet).")
    path = Path(current_app.config["FILE_STORE"]) / run.path
    if not path.is_file():
        raise AccessDenied("The report's file is gone; run it again.")
    return path

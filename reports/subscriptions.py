"""Scheduled reports: a user subscribes to a report mailed weekly or monthly as an attachment.

``deliver_scheduled`` is the periodic job's body and may run as often as it likes, or twice
at once: for each active subscription it works out the last complete period (the last
Monday-to-Sunday week, the last calendar month, in the subscription's time zone) and claims
its ``report_delivery`` row, whose unique key (subscription, period start) lets exactly one
claim through; the claimer starts the report run (``services.start_run`` as the subscriber,
so a supervisor's figures cover his pools only). When the run is done (``mail_finished``,
called by the report job as it finishes and by every scheduler pass for runs finished
meanwhile) the file goes into the outbox as an attachment, in the same transaction that marks
the delivery mailed (a guarded update: one mail per delivery). From there the outbox delivers
it with its retries: a dead SMTP server delays the report but never drops it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.audit.actor import acting_as, current_actor
from app.audit.tracking import record_event
from app.core.settings import setting as core_setting
from app.core.timeutil import utcnow
from app.errors import DeskError
from app.extensions import db
from app.outbox.services import queue_mail
from app.security.rules import ensure_visible, visible
from reports import services
from reports.models import (
    DeliveryStatus,
    Frequency,
    ReportDelivery,
    ReportRun,
    ReportRunStatus,
    ReportSubscription,
)

log = logging.getLogger(__name__)

MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
}


def _zone(subscription: ReportSubscription) -> str:
    return subscription.time_zone or core_setting("DESK_TIMEZONE") or "UTC"


def last_period(frequency: str, now: datetime, time_zone: str) -> tuple[date, date]:
    """The last complete week (Monday to Sunday) or calendar month before ``now`` (naive
    UTC), as local dates in ``time_zone``."""
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(time_zone)).date()
    if frequency == Frequency.WEEKLY.value:
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    first = today.replace(day=1)
    last = first - timedelta(days=1)
    return last.replace(day=1), last


# --- subscribing -------------------------------------------------------------------------------


def subscribe(params: dict[str, Any], actor=None) -> ReportSubscription:
    """Subscribe the actor (default: the acting user) to the desk report. Only those who may
    run reports may subscribe (``services.scope_for``); the figures follow his scope."""
    actor = current_actor() if actor is None else actor
    services.scope_for(actor)  # refuses agents and customers
    frequency = str(params.get("frequency") or "").lower()
    if frequency not in {f.value for f in Frequency}:
        raise DeskError("Choose weekly or monthly.")
    report = str(params.get("report") or services.DESK_REPORT)
    if report not in services.REPORTS:
        raise DeskError(f"No report named '{report}'.")
    if not getattr(actor, "email", None):
        raise DeskError("Your account has no e-mail address to send the report to.")
    today = utcnow().date()
    cleaned = services.clean_parameters(
        {
            "since": today,
            "until": today,
            "time_zone": params.get("time_zone") or None,
            "breakdowns": params.get("breakdowns") or None,
            "format": params.get("format"),
        }
    )
    subscription = ReportSubscription(
        user_id=actor.id,
        report=report,
        frequency=frequency,
        file_format=cleaned["format"],
        breakdowns=cleaned["breakdowns"],
        time_zone=params.get("time_zone") or None,
        active=True,
        created_at=utcnow(),
    )
    db.session.add(subscription)
    db.session.flush()
    with acting_as(actor):
        record_event(
            db.session,
            subscription,
            "report subscribed",
            new=f"{frequency} {report} ({cleaned['format']})",
        )
    db.session.commit()
    return subscription


def subscriptions(user=None) -> list[ReportSubscription]:
    """The subscriptions the user may see (his own; admins and managers every one)."""
    stmt = visible(select(ReportSubscription), ReportSubscription, user).order_by(
        ReportSubscription.id.desc()
    )
    return list(db.session.scalars(stmt))


def stop(subscription_id, actor=None) -> ReportSubscription:
    """Stop a subscription (kept, with its deliveries)."""
    actor = current_actor() if actor is None else actor
    try:
        row = db.session.get(ReportSubscription, int(subscription_id))
    except (TypeError, ValueError):
        row = None
    row = ensure_visible(row, actor)  # his own; admins and managers any
    if row.active:
        row.active = False
        with acting_as(actor):
            record_event(db.session, row, "report unsubscribed", old=row.frequency)
    db.session.commit()
    return row


# --- the scheduler -----------------------------------------------------------------------------


def _claim(subscription: ReportSubscription, since: date, until: date) -> ReportDelivery | None:
    """The period's delivery row if this call created it, None if it existed already."""
    found = db.session.scalar(
        select(ReportDelivery.id).where(
            ReportDelivery.subscription_id == subscription.id, ReportDelivery.since == since
        )
    )
    if found is not None:
        return None
    delivery = ReportDelivery(
        subscription_id=subscription.id,
        since=since,
        until=until,
        status=DeliveryStatus.RUNNING.value,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(delivery)
    except IntegrityError:  # another scheduler claimed it a moment ago
        return None
    return delivery


def _link(delivery: ReportDelivery, run: ReportRun) -> None:
    delivery.run_id = run.id


def deliver_scheduled(now: datetime | None = None) -> dict[str, list[int]]:
    """One pass of the scheduler (see the module docstring); idempotent."""
    now = now or utcnow()
    started, mailed, failed = [], [], []
    rows = db.session.scalars(
        select(ReportSubscription)
        .where(ReportSubscription.active.is_(True))
        .order_by(ReportSubscription.id)
    ).all()
    for subscription in rows:
        zone = _zone(subscription)
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("report subscription %s: unknown time zone %r", subscription.id, zone)
            continue
        since, until = last_period(subscription.frequency, now, zone)
        delivery = _claim(subscription, since, until)
        if delivery is None:
            continue
        user = db.session.get(User, subscription.user_id)
        try:
            run = services.start_run(
                subscription.report,
                {
                    "since": since,
                    "until": until,
                    "time_zone": zone,
                    "breakdowns": subscription.breakdowns,
                    "format": subscription.file_format,
                },
                actor=user,
                on_record=partial(_link, delivery),
            )
        except DeskError as exc:  # e.g. no longer a manager or supervisor
            db.session.rollback()
            log.warning("report subscription %s: %s", subscription.id, exc)
            subscription = db.session.get(ReportSubscription, subscription.id)
            delivery = _claim(subscription, since, until)
            if delivery is not None:  # recorded as failed: not tried again every pass
                delivery.status = DeliveryStatus.FAILED.value
                record_event(db.session, subscription, "report delivery failed", new=str(exc))
                db.session.commit()
            failed.append(subscription.id)
            continue
        started.append(run.id)  # committed with its delivery row, which points at it
    waiting = db.session.scalars(
        select(ReportDelivery.run_id).where(
            ReportDelivery.status == DeliveryStatus.RUNNING.value,
            ReportDelivery.run_id.is_not(None),
        )
    ).all()
    for run_id in waiting:
        outcome = mail_finished(run_id)
        if outcome == DeliveryStatus.MAILED:
            mailed.append(run_id)
        elif outcome == DeliveryStatus.FAILED:
            failed.append(run_id)
    return {"started": started, "mailed": mailed, "failed": failed}


def mail_finished(run_id: int) -> DeliveryStatus | None:
    """Mail the file of a finished run to its subscriber (once), or mark the delivery
    failed when the run failed; None while the run is not finished or is no delivery's."""
    delivery = db.session.scalar(select(ReportDelivery).where(ReportDelivery.run_id == run_id))
    run = db.session.get(ReportRun, run_id)
    if delivery is None or run is None or delivery.status != DeliveryStatus.RUNNING.value:
        return None
    if run.status == ReportRunStatus.FAILED.value:
        delivery.status = DeliveryStatus.FAILED.value
        record_event(db.session, delivery.subscription, "report delivery failed", new=run.error)
        db.session.commit()
        return DeliveryStatus.FAILED
    if run.status != ReportRunStatus.DONE.value:
        return None
    subscription = delivery.subscription
    try:
        path = services.result_file(run)
    except DeskError as exc:  # the file is gone: nothing to attach
        delivery.status = DeliveryStatus.FAILED.value
        record_event(db.session, subscription, "report delivery failed", new=str(exc))
        db.session.commit()
        return DeliveryStatus.FAILED
    user = db.session.get(User, subscription.user_id)
    claimed = db.session.execute(
        update(ReportDelivery)
        .where(
            ReportDelivery.id == delivery.id,
            ReportDelivery.status == DeliveryStatus.RUNNING.value,
        )
        .values(status=DeliveryStatus.MAILED.value, mailed_at=utcnow())
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return None
    title = services.REPORTS.get(subscription.report, subscription.report)
    period = f"{delivery.since.isoformat()} to {delivery.until.isoformat()}"
    scope = "the whole desk" if (run.parameters or {}).get("pool_ids") is None else "your pools"
    mail = queue_mail(
        kind="report",
        to=user.email,
        subject=f"Loopdesk report: {title}, {period}",
        text=(
            f"Hello {user.first_name or user.username},\n\n"
            f'attached is your {subscription.frequency} report "{title}" for {period} '
            f"({scope}). The definitions of its figures are in the README, section Reports.\n\n"
            "You receive it because you subscribed on the Reports page, where you can stop it.\n"
        ),
        attachments=[
            (path.name, MIME.get(run.file_format, "application/octet-stream"), path.read_bytes())
        ],
        automatic=False,
    )
    db.session.flush()
    db.session.execute(
        update(ReportDelivery).where(ReportDelivery.id == delivery.id).values(outbox_id=mail.id)
    )
    record_event(db.session, subscription, "report mailed", new=f"{period} to {user.email}")
    db.session.commit()
    return DeliveryStatus.MAILED

"""Fetching rounds: one mailbox (``fetch_mailbox``), every mailbox (``fetch_all``), and the jobs.

Views, the ``mail fetch`` command and the scheduled RQ jobs all call these functions. A round
records on the mailbox when it ran (``last_fetch_at``), when it last worked
(``last_success_at``) and why it failed (``last_error``), so the admin UI's mailbox list shows
a broken mailbox. The first failure of a streak (or a new reason) writes an Event and alerts the
supervisors of the mailbox's pool once; the first success after failures writes an Event too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from app.agents.models import AgentProfile, PoolMembership
from app.audit.actor import acting_as
from app.audit.tracking import record_event
from app.core.timeutil import utcnow
from app.extensions import appbuilder, db
from app.jobs.context import in_app_context
from app.jobs.queue import connection, get_queue
from app.mail.channels import imap, pop3
from app.mail.channels.common import ChannelError, FetchReport
from app.mail.settings import setting
from app.mailcore.models import Mailbox
from app.outbox import services as outbox
from app.security.roles import ADMIN

log = logging.getLogger(__name__)

FETCHED_PROTOCOLS = ("imap", "pop3")


def fetch_interval() -> int:
    """Seconds between scheduled rounds (``MAIL_FETCH_INTERVAL``, default every minute)."""
    return int(setting("MAIL_FETCH_INTERVAL"))


@dataclass
class FetchResult:
    """The outcome of one round on one mailbox, as the CLI prints it and jobs return it."""

    mailbox: str
    protocol: str
    ok: bool = False
    stored: int = 0
    already_stored: int = 0
    oversize: int = 0
    server_actions: int = 0
    uidvalidity_reset: bool = False
    skipped: str | None = None  # why no round ran (another round is running, ...)
    error: str | None = None
    seconds: float = 0.0
    raw_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return f"{self.mailbox} ({self.protocol}): skipped, {self.skipped}"
        head = (
            f"{self.mailbox} ({self.protocol}): {self.stored} stored, "
            f"{self.already_stored} already stored, {self.oversize} oversize quarantined"
        )
        if self.uidvalidity_reset:
            head += ", UIDVALIDITY changed (folder re-read)"
        if self.error:
            return f"{head}; FAILED: {self.error}"
        return f"{head}; ok in {self.seconds:.2f}s"


def fetchable_mailboxes():
    return list(
        db.session.scalars(
            select(Mailbox)
            .where(
                Mailbox.active.is_(True),
                Mailbox.inbound_protocol.in_(FETCHED_PROTOCOLS),
                # A revoked OAuth2 grant: no point asking again until an admin reconnects.
                Mailbox.oauth_needs_reconnect.is_not(True),
            )
            .order_by(Mailbox.id)
        )
    )


def _channel(protocol: str):
    if protocol == "imap":
        return imap

    return pop3


def _lock(mailbox_id: int):
    """A Redis lock so two workers never fetch the same mailbox at once."""
    return connection().lock(
        f"loopdesk:fetch:{mailbox_id}", timeout=max(600, fetch_interval() * 10), blocking=False
    )


def fetch_mailbox(mailbox_id: int) -> FetchResult:
    """One fetching round for one mailbox; never raises for server or mail trouble."""
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return FetchResult(mailbox=f"#{mailbox_id}", protocol="?", error="no such mailbox")
    protocol = (mailbox.inbound_protocol or "").lower()
    result = FetchResult(mailbox=mailbox.address, protocol=protocol)
    if protocol not in FETCHED_PROTOCOLS:
        result.skipped = f"inbound protocol {protocol!r} is not fetched"
        return result
    if not mailbox.active:
        result.skipped = "mailbox is inactive"
        return result
    if mailbox.oauth_needs_reconnect:
        result.skipped = f"needs reconnecting (OAuth2): {mailbox.oauth_reconnect_reason}"
        return result
    lock = _lock(mailbox_id)
    if not lock.acquire():
        result.skipped = "another fetch of this mailbox is running"
        return result
    started = time.monotonic()
    try:
        with acting_as(None):
            mailbox.last_fetch_at = utcnow()
            db.session.commit()
            report = FetchReport()
            try:
                _channel(protocol).fetch(mailbox, report)
            except Exception as exc:  # ChannelError, or a bug: both must show on the mailbox
                db.session.rollback()
                message = (
                    str(exc)
                    if isinstance(exc, ChannelError)
                    else (f"unexpected {type(exc).__name__}: {exc}")
                )
                log.warning("fetch of %s failed: %s", mailbox.address, message)
                result.error = message
                _record_failure(mailbox, message)
            else:
                result.ok = True
                _record_success(mailbox)
            for name in (
                "stored",
                "already_stored",
                "oversize",
                "server_actions",
                "uidvalidity_reset",
                "raw_ids",
            ):
                setattr(result, name, getattr(report, name))
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile; the next round takes a new one
            pass
    result.seconds = time.monotonic() - started
    return result


def _record_failure(mailbox, message: str) -> None:
    first_of_streak = not mailbox.fetch_failures
    changed = (mailbox.last_error or "") != message
    mailbox.fetch_failures = (mailbox.fetch_failures or 0) + 1
    mailbox.last_error = message[:4000]
    if first_of_streak or changed:
        record_event(
            db.session,
            mailbox,
            "mail.fetch_failed",
            new=message[:1000],
            details={
                "failures_in_a_row": mailbox.fetch_failures,
                "last_success_at": mailbox.last_success_at.isoformat()
                if mailbox.last_success_at
                else None,
            },
        )
    if first_of_streak:
        alert_supervisors(mailbox, message)
    db.session.commit()


def _record_success(mailbox) -> None:
    if mailbox.fetch_failures:
        record_event(
            db.session,
            mailbox,
            "mail.fetch_recovered",
            old=mailbox.last_error,
            details={"failures_in_a_row": mailbox.fetch_failures},
        )
    mailbox.fetch_failures = 0
    mailbox.last_error = None
    mailbox.last_success_at = utcnow()
    db.session.commit()


def supervisor_addresses(mailbox) -> list[str]:
    """E-mail addresses of the supervisors of the mailbox's pool (admins if it has none)."""
    User = appbuilder().sm.user_model
    stmt = (
        select(User.email)
        .join(AgentProfile, AgentProfile.user_id == User.id)
        .join(PoolMembership, PoolMembership.agent_id == AgentProfile.id)
        .where(
            PoolMembership.pool_id == mailbox.pool_id,
            PoolMembership.is_supervisor.is_(True),
            User.active.is_(True),
        )
    )
    addresses = sorted({a for a in db.session.scalars(stmt) if a})
    if not addresses:
        Role = appbuilder().sm.role_model
        admins = select(User.email).where(User.roles.any(Role.name == ADMIN), User.active.is_(True))
        addresses = sorted({a for a in db.session.scalars(admins) if a})
    return addresses


def alert_supervisors(mailbox, message: str) -> int:
    """Queue one alert mail per supervisor (in the caller's transaction); return how many."""
    since = (
        mailbox.last_success_at.strftime("%Y-%m-%d %H:%M UTC")
        if mailbox.last_success_at
        else "never"
    )
    text = (
        f"Loopdesk cannot fetch mail for {mailbox.address} "
        f"({mailbox.inbound_protocol} {mailbox.inbound_host or ''}).\n\n"
        f"Error: {message}\n"
        f"Last successful fetch: {since}\n\n"
        "New mail to this address is not reaching the desk until this is fixed. Nothing is lost:\n"
        "mail stays on the server and is fetched as soon as the mailbox works again.\n"
        "You get this alert once; the next one comes only after the mailbox worked again.\n"
    )
    addresses = supervisor_addresses(mailbox)
    queued = 0
    for address in addresses:
        try:
            outbox.queue_mail(
                kind="alert",
                to=address,
                subject=f"Mail fetch failing: {mailbox.address}",
                text=text,
                automatic=True,
            )
            queued += 1
        except Exception:  # one bad address must not hide the failure from the others
            log.exception("cannot queue fetch alert to %s", address)
    return queued


def fetch_all(address: str | None = None) -> list[FetchResult]:
    """One round for every active IMAP/POP3 mailbox (or only ``address``)."""
    mailboxes = fetchable_mailboxes()
    if address is not None:
        mailboxes = [
            m
            for m in db.session.scalars(
                select(Mailbox).where(Mailbox.address == address.strip().lower())
            )
        ]
        if not mailboxes:
            mailboxes = [
                m
                for m in db.session.scalars(
                    select(Mailbox).where(Mailbox.address == address.strip())
                )
            ]
    return [fetch_mailbox(m.id) for m in mailboxes]


# --- RQ jobs ------------------------------------------------------------------------------


def _job_id(mailbox_id: int) -> str:
    return f"loopdesk-fetch-mailbox-{mailbox_id}"


@in_app_context
def fetch_mailbox_job(mailbox_id: int) -> dict:
    """Job: one round for one mailbox (queued by ``enqueue_fetch_jobs``)."""
    return asdict(fetch_mailbox(mailbox_id))


@in_app_context
def enqueue_fetch_jobs() -> list[str]:
    """Periodic job: queue one fetch job per active IMAP/POP3 mailbox on the ``mail`` queue.

    A mailbox whose previous job is still waiting or running gets no second one, so a slow
    server does not pile up jobs.
    """
    queue = get_queue("mail")
    enqueued = []
    for mailbox in fetchable_mailboxes():
        job_id = _job_id(mailbox.id)
        try:
            status = Job.fetch(job_id, connection=connection()).get_status(refresh=False)
        except NoSuchJobError:
            status = None
        if status in ("queued", "started", "deferred", "scheduled"):
            continue
        queue.enqueue(
            fetch_mailbox_job,
            mailbox.id,
            job_id=job_id,
            job_timeout=max(300, fetch_interval() * 5),
            result_ttl=3600,
            failure_ttl=86400,
        )
        enqueued.append(job_id)
    return enqueued

"""Whether the desk may send an automatic mail (auto-response, notification, confirmation …).

The outbox asks ``may_send_automatic(recipient)`` before every automatic mail. Never to our own
mailboxes, no-reply / mailer-daemon / postmaster addresses or undeliverable customers, and never
more than the sliding-window limits per recipient (``AUTO_MAIL_LIMITS``), which is what finally
stops two auto-responders from mailing each other forever.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import case as sql_case
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.core.timeutil import utcnow
from app.customers.models import Customer
from app.extensions import db
from app.mailcore.addresses import base_address, own_mailbox_addresses
from app.outbox.models import OutboxMail, OutboxStatus
from app.outbox.settings import setting

# Zammad's per-ticket loop-protection numbers, applied per recipient: (minutes, at most).
DEFAULT_AUTO_MAIL_LIMITS = ((10, 10), (30, 15), (60, 25), (180, 50), (600, 100))
AUTOMATIC_KINDS = ("auto_response", "notification", "oversize_notice", "confirmation", "alert")
NO_AUTO_RESPONSE_RE = re.compile(
    r"^(mailer-daemon|postmaster|abuse|root|noreply|noreply.+?|no-reply|no-reply.+?|"
    r"do-not-reply|donotreply|bounce.*?)@.+",
    re.IGNORECASE,
)


def auto_mail_limits() -> tuple[tuple[int, int], ...]:
    limits = setting("AUTO_MAIL_LIMITS") or DEFAULT_AUTO_MAIL_LIMITS
    return tuple((int(minutes), int(most)) for minutes, most in limits)


def may_send_automatic(
    recipient: str, *, case=None, kind: str = "auto_response"
) -> tuple[bool, str | None]:
    """(True, None) when an automatic mail to ``recipient`` is allowed now, else (False, why)."""
    address = (recipient or "").strip().lower()
    if "@" not in address:
        return False, f"no usable recipient address ({recipient!r})"
    if NO_AUTO_RESPONSE_RE.match(address):
        return False, f"{address} is a no-reply / system address"
    if base_address(address) in own_mailbox_addresses():
        return False, f"{address} is one of our own mailboxes"
    return limiter().check(address)


_LIMITER = "loopdesk_auto_mail_limiter"  # session.info key; dropped at commit and rollback


def limiter() -> AutoMailLimiter:
    """The limiter of the current transaction (created on first use)."""
    session = db.session()
    found = session.info.get(_LIMITER)
    if found is None:
        found = session.info[_LIMITER] = AutoMailLimiter(session)
    return found


def forget_limiter(session) -> None:
    """Called at commit and rollback: the next transaction asks the database again."""
    session.info.pop(_LIMITER, None)


class AutoMailLimiter:
    """Counts of automatic mail per recipient for one transaction.

    The database is asked once per recipient (or once for a whole batch of recipients, see
    ``load``) for its undeliverable mark and how many automatic mails went to it in each
    window of ``AUTO_MAIL_LIMITS``; mail this transaction queues afterwards is added here
    (``record``), so the count stays right without flushing, and a batch of hundreds of mails
    does not ask the database hundreds of times.
    """

    def __init__(self, session):
        self.session = session
        self.limits = auto_mail_limits()
        self.now = utcnow()
        self.counts: dict[str, list[int]] = {}  # in the database, per window
        self.queued: dict[str, int] = {}  # queued by this transaction (inside every window)
        self.customers: dict[str, Customer] = {}
        self.known_customers: dict[str, Customer | None] = {}  # the caller's, see know_customers

    def load(self, addresses) -> None:
        """Read the undeliverable marks and window counts of ``addresses`` not known yet
        (one query for all of them; the customers the caller named in ``know_customers``
        are not asked for again)."""
        missing = sorted({a for a in addresses if a and a not in self.counts})
        if not missing:
            return
        session = self.session
        for address in missing:
            self.counts[address] = [0] * len(self.limits)
        unknown = [a for a in missing if a not in self.known_customers]
        if unknown:
            # Customers created or marked in this transaction and not yet flushed.
            for obj in session.new:
                if isinstance(obj, Customer) and obj.email in self.counts:
                    self.customers[obj.email] = obj
        with session.no_autoflush:  # one flush per transaction, not one per question
            for start in range(0, len(unknown), 500):
                chunk = unknown[start : start + 500]
                # Loaded as objects: an identity-mapped customer keeps a mark set in this
                # transaction and not yet flushed.
                for customer in session.scalars(select(Customer).where(Customer.email.in_(chunk))):
                    self.customers.setdefault(customer.email, customer)
            if not self.limits:
                return
            longest = max(minutes for minutes, _ in self.limits)
            columns = [
                func.sum(
                    sql_case(
                        (OutboxMail.created_at >= self.now - timedelta(minutes=minutes), 1),
                        else_=0,
                    )
                )
                for minutes, _ in self.limits
            ]
            for start in range(0, len(missing), 500):
                rows = session.execute(
                    select(OutboxMail.recipient, *columns)
                    .where(
                        OutboxMail.recipient.in_(missing[start : start + 500]),
                        OutboxMail.kind.in_(AUTOMATIC_KINDS),
                        OutboxMail.status != OutboxStatus.SUPPRESSED,
                        OutboxMail.created_at >= self.now - timedelta(minutes=longest),
                    )
                    .group_by(OutboxMail.recipient)
                )
                for recipient, *counts in rows:
                    self.counts[recipient] = [int(c or 0) for c in counts]

    def know_customers(self, customers: dict) -> None:
        """{address: Customer or None} the caller keeps up to date (the intake's batch, which
        creates customers as it goes): asked before the database."""
        self.known_customers = customers

    def check(self, address: str) -> tuple[bool, str | None]:
        self.load([address])
        customer = self.known_customers.get(address) or self.customers.get(address)
        if customer is not None and customer.undeliverable:
            return False, f"{address} is marked undeliverable (permanent bounce)"
        queued = self.queued.get(address, 0)
        for (minutes, most), stored in zip(self.limits, self.counts[address], strict=True):
            count = stored + queued
            if count >= most:
                return False, (
                    f"loop protection: {count} automatic mails to {address} "
                    f"in the last {minutes} minutes (limit {most})"
                )
        return True, None

    def record(self, address: str, kind: str) -> None:
        """An automatic mail to ``address`` was queued in this transaction."""
        address = (address or "").strip().lower()
        if kind not in AUTOMATIC_KINDS or not address:
            return
        self.queued[address] = self.queued.get(address, 0) + 1


event.listen(Session, "after_commit", forget_limiter)
event.listen(Session, "after_soft_rollback", lambda session, previous: forget_limiter(session))

"""The customer notices that case actions send, without cases importing answering.

Cases decide *when* a customer is told something (his case was postponed, a case was opened on
his behalf): the notice is queued in the same transaction as the change. What the mail *says*
belongs to answering, whose notice texts supervisors reword per language, pool and topic with
response templates, and which hands the mail to the outbox as it does with replies. Answering
depends on cases, so cases cannot import it; instead answering hands its sender to
``install_sender`` when a desk starts (the ``setup`` entry of its manifest), and cases call
``send``. Imports stay one way: answering → cases, never back.

Notices by name: ``notice.postponed`` (the case waits until ``postponed_until``),
``notice.confirmation`` (a case was opened for the customer), ``notice.closed`` (someone at
the desk closed his case; with the link to the exit survey), ``notice.inactivity_reminder``
(the case waits for his answer) and ``notice.inactivity_closed`` (closed after waiting too
long; his answer reopens it). Answering also has its own ``notice.link`` for replies in link
mode.
"""

from __future__ import annotations

from collections.abc import Callable

from app.errors import ConfigurationError

POSTPONED = "notice.postponed"
CONFIRMATION = "notice.confirmation"
INACTIVITY_REMINDER = "notice.inactivity_reminder"
INACTIVITY_CLOSED = "notice.inactivity_closed"
CLOSED = "notice.closed"

# sender(notice name, case, kind) -> id of the queued outbox mail (the caller commits)
Sender = Callable[[str, object, str], int]

_sender: Sender | None = None


def install_sender(sender: Sender) -> None:
    """Make ``sender`` the one that writes and queues the desk's notices (answering)."""
    global _sender
    _sender = sender


def send(name: str, case, *, kind: str) -> int:
    """Queue notice ``name`` to the case's customer, in his language; returns the outbox id.

    Without a sender (a desk without answering) the action fails with this message rather
    than leaving the customer uninformed without anyone noticing.
    """
    if _sender is None:
        raise ConfigurationError(
            "No notice sender is installed: the answering feature writes customer notices."
        )
    return _sender(name, case, kind)

"""Mail hygiene: may the desk send an automatic mail to this address now?

STUB written by the foundation; the mail-intake work fills in the rules (own mailboxes,
no-reply / mailer-daemon addresses, undeliverable customers, per-recipient sliding windows).
The outbox calls ``may_send_automatic`` for every automatic mail (auto-responses,
notifications) and records a refusal as a 'suppressed' outbox row with the reason.
"""

from __future__ import annotations


def may_send_automatic(recipient: str, *, case=None, kind: str = "auto_response"
                       ) -> tuple[bool, str | None]:
    """(True, None) when allowed, else (False, reason)."""
    return True, None

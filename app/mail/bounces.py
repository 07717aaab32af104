"""Delivery reports (bounces): which addresses failed, for good or for now, and which of our
mails the report is about.

RFC 3464 reports are read from their ``message/delivery-status`` blocks; anything else is given
to flufl.bounce, which knows the formats of many non-standard mailers. The embedded original's
Message-ID (or a ``Message-ID:`` line quoted in the text) threads the bounce to our mail.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field


@dataclass
class BounceReport:
    permanent: set[str] = field(default_factory=set)
    temporary: set[str] = field(default_factory=set)
    original_message_id: str | None = None


def _address(value: str | None) -> str | None:
    if not value:
        return None
    value = value.split(";", 1)[-1].strip().strip("<>").strip().lower()
    return value if "@" in value else None


def analyse(parsed, raw: bytes | None = None) -> BounceReport:
    report = BounceReport(original_message_id=parsed.original_message_id)
    for block in parsed.delivery_status:
        recipient = _address(block.get("final-recipient") or block.get("original-recipient"))
        if recipient is None:
            continue
        action = (block.get("action") or "").strip().lower()
        status = (block.get("status") or "").strip()
        if action == "failed" or status.startswith("5"):
            report.permanent.add(recipient)
        elif action in ("delayed",) or status.startswith("4"):
            report.temporary.add(recipient)
    if not (report.permanent or report.temporary) and raw is not None:
        try:
            # not at the top: 15 ms and 29 modules, needed only for a bounce without a DSN
            from flufl.bounce import all_failures

            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            temporary, permanent = all_failures(msg)
            report.temporary |= {_decode(a) for a in temporary} - {None}
            report.permanent |= {_decode(a) for a in permanent} - {None}
        except Exception:
            pass
    if report.original_message_id is None:
        m = re.search(r"^\s*Message-ID:\s*(<[^<>\s]+>)", parsed.text or "", re.I | re.M)
        if m:
            report.original_message_id = m.group(1)
    return report


def _decode(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _address(str(value)) if value else None

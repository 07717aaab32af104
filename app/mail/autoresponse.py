"""Auto-responses: tell a customer that his mail became a case, and when to expect an answer.

Enabled per pool (``Pool.auto_response_enabled``), overridable per mailbox. The text is a
template with ``{case_number}``, ``{subject}``, ``{due}`` (the first response's due time),
``{hours}`` (the first-response target of the SLA policy that applies to the case, in its
calendar's business hours; without a policy the pool's hours), ``{customer_name}``,
``{case_tag}`` and ``{case_link}`` (a text that leaves the link out gets it as a last line, so
every mail to a customer opens his case in the portal). The mail is queued in the outbox in
the same transaction that creates the case,
so either both exist or neither. Machine mail (auto-replies, bulk, bounces, loops) never gets
one, and the outbox's hygiene check applies the per-recipient limits on top.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from app.cases import due as case_due
from app.mailcore import identity
from app.outbox import services as outbox

DEFAULT_TEXT = (
    "Hello {customer_name},\n\n"
    "thank you for your message. We have registered it as case {case_number} and will answer "
    "by {due} UTC (within {hours} business hours).\n\n"
    "Please keep {case_tag} in the subject when you write to us about this matter.\n"
)


# The signed link to a case in the customer portal; answering signs links and sits above mail,
# so it installs the maker when a desk starts (``app.answering.templates.connect``).
_case_link: Callable[[object], str] | None = None


def install_case_link(maker: Callable[[object], str]) -> None:
    global _case_link
    _case_link = maker


def case_link(case) -> str:
    return _case_link(case) if _case_link is not None and case.id is not None else ""


def with_case_link(text: str, link: str) -> str:
    """``text`` with the case link as its last line, unless it has it already."""
    if not link or link in text:
        return text
    return text.rstrip("\n") + f"\n\nYour case online: {link}\n"


class _Safe(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def settings(mailbox, pool) -> tuple[bool, str]:
    enabled = mailbox.auto_response_enabled if mailbox is not None else None
    if enabled is None:
        enabled = bool(pool is not None and pool.auto_response_enabled)
    text = (
        (mailbox.auto_response_text if mailbox is not None else None)
        or (pool.auto_response_text if pool is not None else None)
        or DEFAULT_TEXT
    )
    return bool(enabled), text


def format_hours(target: timedelta) -> str:
    """A target in hours as a customer reads it: "8", "1.5", "0.25"."""
    hours = target.total_seconds() / 3600
    return f"{hours:.2f}".rstrip("0").rstrip(".") or "0"


def render(text: str, case, customer_name: str | None) -> str:
    first_due = case.first_response_due_at or case.sla_due_at
    values = _Safe(
        case_number=case.number,
        subject=case.subject,
        hours=format_hours(case_due.clock().first_response_target(case)),
        due=f"{first_due:%Y-%m-%d %H:%M}" if first_due else "-",
        customer_name=customer_name or "",
        case_tag=identity.case_tag(case.number),
        case_link=case_link(case),
    )
    try:
        rendered = text.format_map(values)
    except (ValueError, IndexError, AttributeError, KeyError):
        rendered = DEFAULT_TEXT.format_map(values)
    return with_case_link(rendered, values["case_link"])


def queue_auto_response(case, parsed, mailbox):
    """Queue the acknowledgement for a new case; returns the OutboxMail row or None."""
    enabled, text = settings(mailbox, case.pool)
    to = parsed.reply_to or parsed.from_address
    if not enabled or not to:
        return None
    references = " ".join(filter(None, [parsed.references, parsed.message_id])) or None
    return outbox.queue_mail(
        kind="auto_response",
        to=to,
        case=case,
        mailbox=mailbox,
        automatic=True,
        subject=identity.tag_subject(
            f"Re: {parsed.subject}" if parsed.subject else "Your message", case.number
        ),
        text=render(text, case, parsed.from_name),
        in_reply_to=parsed.message_id,
        references=references,
        reply_to=identity.plus_address(mailbox.address, case.id) if mailbox else None,
    )


def queue_oversize_notice(case, parsed, mailbox, cap: int):
    """Tell the sender that attachments were too big to take in (the raw mail is kept)."""
    to = parsed.reply_to or parsed.from_address
    if not to:
        return None
    text = (
        f"Hello {parsed.from_name or ''},\n\nyour message reached us as case {case.number}, but "
        f"its attachments exceed our limit of {cap // (1 << 20)} MB, so we could not take "
        "them in. Please send them in smaller parts or as a download link.\n"
    )
    text = with_case_link(text, case_link(case))
    return outbox.queue_mail(
        kind="oversize_notice",
        to=to,
        case=case,
        mailbox=mailbox,
        automatic=True,
        subject=identity.tag_subject(
            f"Re: {parsed.subject}" if parsed.subject else "Your message", case.number
        ),
        text=text,
        in_reply_to=parsed.message_id,
    )

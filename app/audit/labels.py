"""Human words for recorded steps: what the case history, the Events archive and the CLI show.

Events keep the codes they were written with (``in_progress``, ``wrap_up``, ``sla_due_at``),
so reports and the API stay stable; only their display is translated here. Features add the
labels of their own fields and values (``describe_fields``), e.g. the cases feature says that
``sla_due_at`` is "Due" and that status ``in_progress`` reads "In progress".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

DASH = "–"

ACTION_LABELS = {
    "created": "Case opened",
    "status": "Status",
    "changed": "Changed",
    "wrap_up": "Wrap-up",
    "reply questions": "Questions of the reply",
    "exit survey": "Exit survey answered",
    "mail.sent": "Mail accepted by the relay",
    "mail.deferred": "Mail delivery delayed, will retry",
    "mail.failed": "Mail not delivered",
    "mail.interrupted": "Mail delivery interrupted",
    "mail.suppressed": "Mail not sent",
    "mail.retry": "Mail queued again",
    "mail.fetch_failed": "Fetching mail failed",
    "mail.fetch_recovered": "Fetching mail works again",
    "mail.uidvalidity_changed": "Mail folder was renumbered on the server",
    "worker.heartbeat": "Worker heartbeat",
    "login.failed": "Failed login",
    "archived": "Moved to the archive",
    "personal_data_erased": "Personal data erased on request",
    "personal_data_exported": "Personal data exported on request",
}

# Kinds of outgoing mail (``OutboxMail.kind``) in words.
MAIL_KINDS = {
    "reply": "reply",
    "auto_response": "auto-response",
    "notification": "notice",
    "confirmation": "confirmation",
    "consultation": "consultation",
}

_field_labels: dict[str, str] = {}
_value_labels: dict[str, Callable[[str], str]] = {}


def describe_fields(
    labels: Mapping[str, str], values: Mapping[str, Callable[[str], str]] | None = None
) -> None:
    """Add a feature's field labels and value formatters (stored text → words)."""
    _field_labels.update(labels)
    _value_labels.update(values or {})


def _words(code: str) -> str:
    text = code.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action) or _words(action or "")


def field_label(field: str) -> str:
    return _field_labels.get(field) or _words(field or "")


def value_label(field: str | None, value: str | None) -> str:
    if value in (None, ""):
        return DASH
    formatter = _value_labels.get(field or "")
    if formatter is None:
        return value
    try:
        return formatter(value)
    except (TypeError, ValueError, KeyError):
        return value


def mail_kind(kind: str | None) -> str:
    return MAIL_KINDS.get(kind or "", _words(kind or "mail").lower())


# Events that carry an answer set ({"answers": {question: answer}}): app.questionnaires.
ANSWER_EVENTS = ("wrap_up", "reply questions", "exit survey")


def wrap_up_answers(event) -> list[tuple[str, str]]:
    """(question, answer) pairs of an answer-set Event (wrap-up, reply, exit survey)."""
    answers = (event.details or {}).get("answers") or {}
    return [(str(q), str(a or "")) for q, a in answers.items()]


def summary(event) -> str:
    """One line in words: "Status: Received → In progress (on it)", "Priority: Normal →
    High", "Wrap-up: Solved? yes", "Mail not delivered: reply to a@b.example (550 …)"."""
    details = event.details or {}
    action = event.action or ""
    if action in ANSWER_EVENTS:
        pairs = "; ".join(f"{q} {a or DASH}" for q, a in wrap_up_answers(event))
        return f"{action_label(action)}: {pairs}" if pairs else action_label(action)
    if action == "created":
        return action_label(action)
    if action == "status":
        line = (
            f"{action_label(action)}: {value_label('status', event.old_value)} → "
            f"{value_label('status', event.new_value)}"
        )
        return f"{line} ({details['reason']})" if details.get("reason") else line
    if event.field:
        return (
            f"{field_label(event.field)}: {value_label(event.field, event.old_value)} → "
            f"{value_label(event.field, event.new_value)}"
        )
    if action.startswith("mail.") and "kind" in details:
        line = f"{action_label(action)}: {mail_kind(details.get('kind'))}"
        if event.new_value:
            line += f" to {event.new_value}"
        error = details.get("error") or details.get("reason")
        return f"{line} ({error})" if error else line
    if event.old_value and event.new_value:
        return f"{action_label(action)}: {event.old_value} → {event.new_value}"
    if event.new_value or event.old_value:
        return f"{action_label(action)}: {event.new_value or event.old_value}"
    return action_label(action)

"""What a CRM receives: the event's type, id and time, and a summary of the case (and of the
message, for message events).

Which rows of the desk are which webhook event is decided here, in one place, from what the
desk records anyway (``app.webhooks.capture`` hands over every new Event and Message):

* ``case.created``: the Event "created" of a case;
* ``case.closed``: an Event of a status change to ``closed``;
* ``survey.submitted``: the Event "exit survey" (the customer's answers);
* ``message.received``: a new Message with direction ``inbound`` (the customer's mail);
* ``reply.sent``: a new Message with direction ``outbound`` (an agent's reply that left for
  the outbox, after approval where one is needed).

Internal notes and consultations (directions ``note`` and ``consultation``) are no event:
nothing internal ever leaves in a payload.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from app.audit.models import Event
from app.cases.models import Message, MessageDirection
from app.cases.workflow import CaseStatus
from app.core.urls import desk_base_url
from app.webhooks.models import WebhookEventType

TEXT_MAX = 20_000  # characters of a message body in a payload


@dataclass
class Occurrence:
    """One webhook event, before it is written to each subscription's delivery."""

    type: WebhookEventType
    case: object
    occurred_at: datetime
    message: Message | None = None
    extra: dict = field(default_factory=dict)
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))


def occurrences_of(row) -> list[Occurrence]:
    """The webhook events a newly inserted Event or Message is (mostly none)."""
    if isinstance(row, Message):
        kind = {
            MessageDirection.INBOUND: WebhookEventType.MESSAGE_RECEIVED,
            MessageDirection.OUTBOUND: WebhookEventType.REPLY_SENT,
        }.get(row.direction)
        if kind is None or row.case is None:
            return []
        return [Occurrence(kind, row.case, row.created_at, message=row)]
    if isinstance(row, Event) and row.object_type == "case" and row.case is not None:
        if row.action == "created":
            return [Occurrence(WebhookEventType.CASE_CREATED, row.case, row.created_at)]
        if row.action == "status" and row.new_value == CaseStatus.CLOSED.value:
            reason = (row.details or {}).get("reason")
            extra = {"close_reason": reason} if reason else {}
            return [Occurrence(WebhookEventType.CASE_CLOSED, row.case, row.created_at, extra=extra)]
        if row.action == "exit survey":
            answers = (row.details or {}).get("answers") or {}
            extra = {"survey": {"answers": {str(q): a for q, a in answers.items()}}}
            return [
                Occurrence(WebhookEventType.SURVEY_SUBMITTED, row.case, row.created_at, extra=extra)
            ]
    return []


def iso(value: datetime | None) -> str | None:
    """UTC time as ISO 8601 with a ``Z`` (the desk stores naive UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def case_summary(case) -> dict:
    customer, pool, topic, assignee = case.customer, case.pool, case.topic, case.assignee
    return {
        "id": case.id,
        "number": case.number,
        "subject": case.subject,
        "status": case.status,
        "priority": case.priority,
        "pool": {"id": pool.id, "name": pool.name} if pool is not None else None,
        "topic": {"id": topic.id, "name": topic.name} if topic is not None else None,
        "customer": (
            {"id": customer.id, "email": customer.email, "name": customer.name}
            if customer is not None
            else None
        ),
        "assignee": (
            {"id": assignee.id, "username": assignee.username} if assignee is not None else None
        ),
        "received_at": iso(case.received_at),
        "closed_at": iso(case.closed_at),
        "url": f"{desk_base_url()}/cases/show/{case.id}",
    }


def message_summary(message: Message) -> dict:
    text = message.body_text or ""
    return {
        "id": message.id,
        "direction": message.direction,
        "created_at": iso(message.created_at),
        "from": message.from_address,
        "to": message.to_addresses,
        "subject": message.subject,
        "text": text[:TEXT_MAX],
        "text_truncated": len(text) > TEXT_MAX,
    }


def payload(occurrence: Occurrence) -> dict:
    body: dict = {
        "id": occurrence.uid,
        "type": occurrence.type.value,
        "occurred_at": iso(occurrence.occurred_at),
        "case": case_summary(occurrence.case),
    }
    if occurrence.message is not None:
        body["message"] = message_summary(occurrence.message)
    body.update(occurrence.extra)
    return body


def encode(body: dict) -> str:
    """The JSON text that is stored and sent, byte for byte, on every attempt."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

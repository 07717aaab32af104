"""Which case does an incoming mail belong to?

The checks run in this order (the first hit wins):

1. our own signed Message-ID in In-Reply-To / References (``app.mailcore.identity``);
2. any Message-ID we know (a message of a case, or a mail of our outbox);
3. our reply marker in the body (``[ref:42-abc…]``), for providers that replace Message-IDs;
4. the case tag in the subject (``[LD-000042]``), accepted ONLY when the sender already takes
   part in that case (its customer or an earlier sender), so a stranger who copies a subject
   cannot put mail into someone else's case;
5. a signed plus-address token in the recipient (``support+42-abc…@desk``);
6. otherwise: no case, the intake opens a new one.

The duplicate check comes before all of this, in ``app.mail.intake``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, select

from app.cases.models import Case, Message, MessageDirection
from app.extensions import db
from app.mailcore import identity
from app.outbox.models import OutboxMail


@dataclass
class ThreadMatch:
    case: Case | None
    rule: str | None  # own_message_id, known_message_id, body_marker, subject_tag, plus_address
    refused: str | None = None  # why a subject tag was not accepted


def _ids(*values: str | None) -> list[str]:
    out = []
    for value in values:
        out.extend(re.findall(r"<[^<>\s]+>", value or ""))
    return out


def find_case(
    parsed, *, recipient: str | None = None, extra_ids=(), lookups: DatabaseLookups | None = None
) -> ThreadMatch:
    """The case ``parsed`` belongs to, by the rules of the module docstring (first hit wins).

    ``lookups`` answers the database questions; the intake passes one that read them for a
    whole batch of mails at once.
    """
    lookups = lookups or DatabaseLookups()
    refs = [parsed.in_reply_to, parsed.references, *extra_ids]
    case_id = identity.find_our_case_in_references(*refs)
    if case_id:
        case = lookups.case(case_id)
        if case is not None:
            return ThreadMatch(case, "own_message_id")
    ids = _ids(*refs)
    if ids:
        case = lookups.case_by_message_ids(ids)
        if case is not None:
            return ThreadMatch(case, "known_message_id")
    case_id = body_marker_case_id(parsed)
    if case_id:
        case = lookups.case(case_id)
        if case is not None:
            return ThreadMatch(case, "body_marker")
    refused = None
    number = identity.find_case_number(parsed.subject)
    if number:
        case = lookups.case_by_number(number)
        if case is not None:
            if lookups.takes_part(case, parsed.from_address):
                return ThreadMatch(case, "subject_tag")
            refused = (
                f"subject tag {number} ignored: {parsed.from_address or 'the sender'} "
                "does not take part in that case"
            )
    for address in [recipient, *parsed.to, *parsed.cc]:
        case_id = identity.case_from_plus_address(address)
        if case_id:
            case = lookups.case(case_id)
            if case is not None:
                return ThreadMatch(case, "plus_address", refused)
    return ThreadMatch(None, None, refused)


def body_marker_case_id(parsed) -> int | None:
    return identity.find_body_marker(parsed.text) or (
        identity.find_body_marker(parsed.html) if parsed.html else None
    )


def references_of(parsed, extra_ids=()) -> list[str]:
    """Every Message-ID a mail refers to (rules 1 and 2 look at these)."""
    return _ids(parsed.in_reply_to, parsed.references, *extra_ids)[-MAX_REFERENCES:]


def case_ids_named_by(parsed, recipient: str | None = None, extra_ids=()) -> set[int]:
    """Case ids a mail names by our signed marks (rules 1, 3 and 5), unchecked for existence."""
    found = {
        identity.find_our_case_in_references(parsed.in_reply_to, parsed.references, *extra_ids),
        body_marker_case_id(parsed),
    }
    found.update(identity.case_from_plus_address(a) for a in [recipient, *parsed.to, *parsed.cc])
    return {case_id for case_id in found if case_id}


MAX_REFERENCES = 50  # the newest ids of a long References header are enough to thread


class DatabaseLookups:
    """What ``find_case`` asks the database, one query per question (a single mail)."""

    def case(self, case_id: int) -> Case | None:
        return db.session.get(Case, case_id)

    def case_by_number(self, number: str) -> Case | None:
        return db.session.scalar(select(Case).where(Case.number == number))

    def case_by_message_ids(self, ids: list[str]) -> Case | None:
        """The case of the newest message with one of ``ids``, else of our outbox mail."""
        ids = ids[-MAX_REFERENCES:]
        case_id = db.session.scalar(
            select(Message.case_id)
            .where(Message.message_id.in_(ids))
            .order_by(Message.id.desc())
            .limit(1)
        )
        if case_id is None:
            case_id = db.session.scalar(
                select(OutboxMail.case_id)
                .where(OutboxMail.message_id.in_(ids), OutboxMail.case_id.is_not(None))
                .limit(1)
            )
        return self.case(case_id) if case_id is not None else None

    def takes_part(self, case: Case, address: str | None) -> bool:
        return takes_part(case, address)


def takes_part(case: Case, address: str | None) -> bool:
    """True when ``address`` is the case's customer or has written in this case before."""
    if not address:
        return False
    address = address.lower()
    if case.customer is not None and case.customer.email.lower() == address:
        return True
    if case.id is None:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Message.case_id == case.id,
                    Message.direction == MessageDirection.INBOUND,
                    Message.from_address == address,
                )
            )
        )
    )

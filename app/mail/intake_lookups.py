"""What an intake batch asks the database, read once for all of its mails.

``IntakeLookups`` answers the batch's questions (earlier copies, the Message-IDs and cases its
mails refer to, their senders, the auto-mail counts of the recipients) from a handful of
queries; ``mailbox_for`` finds the mailbox of an address.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.cases.models import Case, Message
from app.customers.models import Customer
from app.extensions import db
from app.mail import hygiene
from app.mail import threading as mail_threading
from app.mail.models import RawMessage
from app.mailcore import identity
from app.mailcore.models import Mailbox
from app.outbox.limits import limiter as auto_mail_limiter
from app.outbox.models import OutboxMail


@dataclass(frozen=True)
class _Copy:
    id: int
    sha256: str
    case_id: int | None


class IntakeLookups(mail_threading.DatabaseLookups):
    """The database's answers for a whole batch, read with a handful of queries.

    ``load`` collects every key the batch's mails can ask about (Message-IDs they refer to,
    case ids in our signed marks, case numbers in subjects, sender addresses) and reads them
    at once; what the batch adds as it goes (messages, customers) is noted here, so a later
    mail of the batch finds it without a flush. Questions nobody foresaw still get an answer,
    from the database, one query each (the parent class).
    """

    def __init__(self):
        self.cases: dict[int, Case | None] = {}
        self.cases_by_number: dict[str, Case | None] = {}
        self.by_message_id: dict[str, tuple[int, int]] = {}  # id -> (message pk, case id)
        self.by_outbox_id: dict[str, int] = {}  # id -> case id
        self.loaded_ids: set[str] = set()
        self.batch_ids: dict[str, tuple[int, Case]] = {}  # ids of this batch's messages
        self.participants: set[tuple[int, str]] = set()  # (id(case), sender) in this batch
        self.customers: dict[str, Customer | None] = {}

    # loading

    def load_earlier_copies(self, rows) -> dict[int, tuple[_Copy | None, bool]]:
        """For each row: (the first earlier raw row of its mailbox with exactly its bytes,
        whether an earlier raw row of its mailbox has its Message-ID).

        Two exact questions, each answered by its own index: identical bytes are looked up
        by (sha256, mailbox), however many stored mails share the Message-ID; the Message-ID
        only needs to be known to have been seen (``reused_message_id``).
        """
        rows = [r for r in rows if r.mailbox_id is not None]
        if not rows:
            return {}
        mailbox_ids = {r.mailbox_id for r in rows}
        newest = max(r.id for r in rows)
        copies: dict[tuple, list[_Copy]] = {}
        for chunk in _chunks({r.sha256 for r in rows}):
            for f in db.session.execute(
                select(RawMessage.id, RawMessage.mailbox_id, RawMessage.sha256, RawMessage.case_id)
                .where(
                    RawMessage.sha256.in_(chunk),
                    RawMessage.mailbox_id.in_(mailbox_ids),
                    RawMessage.id < newest,
                )
                .order_by(RawMessage.id)
            ):
                copies.setdefault((f.mailbox_id, f.sha256), []).append(
                    _Copy(f.id, f.sha256, f.case_id)
                )
        first_seen: dict[tuple, int] = {}  # (mailbox, Message-ID) -> lowest raw id
        for chunk in _chunks({r.message_id_header for r in rows if r.message_id_header}):
            for mailbox_id, mid, first_id in db.session.execute(
                select(RawMessage.mailbox_id, RawMessage.message_id_header, func.min(RawMessage.id))
                .where(
                    RawMessage.message_id_header.in_(chunk),
                    RawMessage.mailbox_id.in_(mailbox_ids),
                )
                .group_by(RawMessage.mailbox_id, RawMessage.message_id_header)
            ):
                first_seen[(mailbox_id, mid)] = first_id
        out: dict[int, tuple[_Copy | None, bool]] = {}
        for row in rows:
            same = copies.get((row.mailbox_id, row.sha256), ())
            duplicate_of = next((c for c in same if c.id < row.id), None)
            seen = first_seen.get((row.mailbox_id, row.message_id_header))
            out[row.id] = (duplicate_of, seen is not None and seen < row.id)
        return out

    def load(self, mails) -> None:
        """Read what the batch's mails will ask about (threading, customers, mail limits).
        A single mail asks its few questions as they come instead (fewer queries: a reply
        that names its case needs no customer and no mail limits)."""
        auto_mail_limiter().know_customers(self.customers)
        if len(mails) < 2:
            return
        ids: set[str] = set()
        case_ids: set[int] = set()
        numbers: set[str] = set()
        addresses: set[str] = set()
        recipients: set[str] = set()
        for mail in mails:
            parsed = mail.parsed
            if parsed is None or mail.error is not None:
                continue
            ids.update(mail_threading.references_of(parsed, mail.extra_ids))
            case_ids |= mail_threading.case_ids_named_by(parsed, mail.row.recipient, mail.extra_ids)
            number = identity.find_case_number(parsed.subject)
            if number:
                numbers.add(number)
            if parsed.from_address:
                addresses.add(parsed.from_address)
            to = parsed.reply_to or parsed.from_address
            if to and not hygiene.suppresses_auto_response(mail.flags):
                recipients.add(to.strip().lower())
            if mail.report is not None:
                addresses |= set(mail.report.permanent)
        for mail in mails:
            if mail.duplicate_of is not None and mail.duplicate_of.case_id:
                case_ids.add(mail.duplicate_of.case_id)
        self._load_message_ids(ids)
        case_ids |= {case_id for _, case_id in self.by_message_id.values()}
        case_ids |= set(self.by_outbox_id.values())
        self._load_cases(case_ids, numbers)
        self._load_customers(addresses | recipients)
        auto_mail_limiter().load(recipients)

    def _load_message_ids(self, ids: set[str]) -> None:

        ids = ids - self.loaded_ids
        self.loaded_ids |= ids
        for chunk in _chunks(ids):
            for pk, mid, case_id in db.session.execute(
                select(Message.id, Message.message_id, Message.case_id).where(
                    Message.message_id.in_(chunk)
                )
            ):
                if mid not in self.by_message_id or self.by_message_id[mid][0] < pk:
                    self.by_message_id[mid] = (pk, case_id)
        missing = ids - set(self.by_message_id)
        for chunk in _chunks(missing):
            for mid, case_id in db.session.execute(
                select(OutboxMail.message_id, OutboxMail.case_id)
                .where(OutboxMail.message_id.in_(chunk), OutboxMail.case_id.is_not(None))
                .order_by(OutboxMail.id)
            ):
                self.by_outbox_id.setdefault(mid, case_id)

    def _load_cases(self, case_ids: set[int], numbers: set[str]) -> None:
        case_ids = case_ids - set(self.cases)
        numbers = numbers - set(self.cases_by_number)
        for case_id in case_ids:
            self.cases[case_id] = None
        for number in numbers:
            self.cases_by_number[number] = None
        if not case_ids and not numbers:
            return
        conditions = []
        if case_ids:
            conditions.append(Case.id.in_(case_ids))
        if numbers:
            conditions.append(Case.number.in_(numbers))
        for case in db.session.scalars(select(Case).where(or_(*conditions))):
            self.cases[case.id] = case
            self.cases_by_number[case.number] = case

    def _load_customers(self, addresses: set[str]) -> None:
        addresses = {a for a in addresses if a} - set(self.customers)
        for address in addresses:
            self.customers[address] = None
        for chunk in _chunks(addresses):
            for customer in db.session.scalars(select(Customer).where(Customer.email.in_(chunk))):
                self.customers[customer.email] = customer

    # answering (threading: see DatabaseLookups)

    def case(self, case_id: int) -> Case | None:
        if case_id not in self.cases:
            self.cases[case_id] = super().case(case_id)
        return self.cases[case_id]

    def case_by_number(self, number: str) -> Case | None:
        if number not in self.cases_by_number:
            self.cases_by_number[number] = super().case_by_number(number)
        return self.cases_by_number[number]

    def case_by_message_ids(self, ids: list[str]) -> Case | None:
        ids = ids[-mail_threading.MAX_REFERENCES :]
        in_batch = [self.batch_ids[i] for i in ids if i in self.batch_ids]
        if in_batch:  # newer than anything in the database
            return max(in_batch, key=lambda hit: hit[0])[1]
        if not set(ids) <= self.loaded_ids:
            return super().case_by_message_ids(ids)
        stored = [self.by_message_id[i] for i in ids if i in self.by_message_id]
        if stored:
            return self.case(max(stored)[1])
        case_id = next((self.by_outbox_id[i] for i in ids if i in self.by_outbox_id), None)
        return self.case(case_id) if case_id is not None else None

    def takes_part(self, case: Case, address: str | None) -> bool:
        if address and (id(case), address.lower()) in self.participants:
            return True
        return super().takes_part(case, address)

    def note_message(self, message: Message, case: Case) -> None:
        """A message of this batch: later mails may refer to it or to its sender."""
        if message.message_id:
            self.batch_ids[message.message_id] = (len(self.batch_ids), case)
        if message.from_address:
            self.participants.add((id(case), message.from_address.lower()))

    # customers

    def customer(self, address: str, name: str | None) -> Customer:
        """The customer of an address, created when new. If another process creates him at
        the same moment, the flush fails with IntegrityError and the batch runs again."""
        if address not in self.customers:
            self._load_customers({address})
        customer = self.customers[address]
        if customer is None:
            customer = Customer(email=address, name=(name or None) and name[:256])
            db.session.add(customer)
            self.customers[address] = customer
        return customer

    def mark_undeliverable(self, addresses) -> list[str]:
        self._load_customers(set(addresses))
        marked = []
        for address in sorted(addresses):
            customer = self.customers.get(address)
            if customer is not None and not customer.undeliverable:
                customer.undeliverable = True
                marked.append(address)
        return marked


def _chunks(values, size: int = 500):
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def mailbox_for(address: str | None):
    """The mailbox of an address, ``support+token@desk`` included; None when unknown."""
    if not address:
        return None
    address = address.strip().lower()
    local, _, domain = address.partition("@")
    base = f"{local.split('+', 1)[0]}@{domain}"
    return db.session.scalar(select(Mailbox).where(Mailbox.address.in_({address, base})))

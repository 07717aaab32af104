"""Rules for changing customers by hand: a valid, unique address, and a trace of every change.

The intake finds customers by their lower-case address, so a person who adds a customer or
corrects an address must leave exactly such an address behind. Changes of name and address
are recorded as Events by the tracker (``Customer.__tracked__``).
"""

from __future__ import annotations

import re

from sqlalchemy import func, inspect, select

from app.customers.models import Customer
from app.errors import DeskError
from app.extensions import db

# One address, no display name, no spaces, a dotted domain: what mail can be sent to.
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\.]+(\.[^@\s<>()\[\],;:\"\\.]+)+")
MAX_ADDRESS = 320  # RFC 3696 (with the erratum): 64 + 1 + 255


def clean_address(value: str | None) -> str:
    """The customer address as stored (trimmed, lower-case); a clear error if it is none."""
    address = (value or "").strip().lower()
    if not address:
        raise DeskError("Give the customer's e-mail address.")
    if len(address) > MAX_ADDRESS:
        raise DeskError(f"An e-mail address has at most {MAX_ADDRESS} characters.")
    if not _ADDRESS.fullmatch(address):
        raise DeskError(f"'{address}' is not an e-mail address (like name@example.com).")
    return address


def address_owner(address: str, *, except_id: int | None = None) -> int | None:
    """Id of the customer who has this address (whatever the caller may see), if any."""
    stmt = select(Customer.id).where(func.lower(Customer.email) == address.lower())
    if except_id is not None:
        stmt = stmt.where(Customer.id != except_id)
    return db.session.scalars(stmt.limit(1)).first()


def check_address_free(address: str, *, except_id: int | None = None) -> None:
    if address_owner(address, except_id=except_id) is not None:
        raise DeskError(f"Another customer already has the address {address}.")


def prepare_save(customer: Customer) -> Customer:
    """Before a person saves a customer (form or API): the address is clean and unique, the
    name trimmed; a corrected address is tried again (no longer marked undeliverable)."""
    with db.session.no_autoflush:  # the uniqueness query must not flush the change early
        customer.email = clean_address(customer.email)
        history = inspect(customer).attrs.email.history
        if history.deleted and history.deleted[0] != customer.email:
            customer.undeliverable = False
        check_address_free(customer.email, except_id=customer.id)
        customer.name = (customer.name or "").strip() or None
    return customer

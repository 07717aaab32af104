"""A customer's history: every case of the same customer, as far as the record rules allow.

The workspace's "Customer's other cases" panel and the customer's page list them (loaded
lazily, with htmx). An agent sees the cases the record rules give him (his pools' cases and
his own); of the others he learns only how many there are ("2 more in other pools"): no
number, subject or date of a case he may not open, but enough to ask a colleague or his
supervisor. Admins, managers and the desk itself see them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.audit.actor import current_actor
from app.cases.models import Case
from app.cases.record_rules import case_criterion
from app.extensions import db
from app.security import rules

LIMIT = 50  # cases the panel lists; the case list (filtered by customer) shows the rest


@dataclass
class CustomerCases:
    """The cases of one customer the user may see (newest first, at most ``LIMIT``), how many
    he may see in all, and how many exist that he may not."""

    customer: object
    cases: list[Case] = field(default_factory=list)
    visible_total: int = 0
    hidden: int = 0

    @property
    def more(self) -> int:
        return self.visible_total - len(self.cases)


def customer_cases(customer, *, user=None, besides: Case | None = None) -> CustomerCases:
    """The customer's cases for ``user`` (default: the actor), newest first, archived ones
    included (marked); ``besides``: a case to leave out (the one the workspace shows). The
    customer himself must be visible to the user (else AccessDenied, shown as 404)."""
    user = current_actor() if user is None else user
    rules.ensure_visible(customer, user)
    criterion: Any = case_criterion(user)  # a SQL criterion (the rule's type says object)
    mine = [Case.customer_id == customer.id]
    if besides is not None:
        mine.append(Case.id != besides.id)
    cases = list(
        db.session.scalars(
            select(Case)
            .where(*mine, criterion)
            .options(selectinload(Case.pool), selectinload(Case.assignee))
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(LIMIT)
        )
    )
    visible_total = len(cases)
    if visible_total == LIMIT:
        visible_total = db.session.scalar(select(func.count(Case.id)).where(*mine, criterion))
    # All of them less the visible ones (NOT of the criterion would miss rows where it is
    # NULL, e.g. no assignee).
    total = db.session.scalar(select(func.count(Case.id)).where(*mine)) or 0
    return CustomerCases(customer, cases, visible_total, max(total - visible_total, 0))

"""Record rules of cases and what hangs off a case (messages, events, customers)."""

from __future__ import annotations

from sqlalchemy import exists, or_, select

from app.agents.services import member_pool_ids, supervised_pool_ids
from app.audit.models import Event
from app.cases.models import Case, CaseIntakeAnswer, InactivityNotice, Message
from app.customers.models import Customer
from app.security.rules import record_rule


@record_rule
def case_criterion(user):
    """Cases of the user's pools, and cases assigned to him wherever they are."""
    return or_(Case.pool_id.in_(member_pool_ids(user)), Case.assignee_id == user.id)


def visible_case_ids(user):
    """``SELECT id FROM case WHERE <visible to user>``, for rules of rows that hang off a case."""
    return select(Case.id).where(case_criterion(user))


@record_rule
def message_criterion(user):
    return Message.case_id.in_(visible_case_ids(user))


@record_rule
def event_criterion(user):
    # Events without a case (system events) are for admins and managers only.
    return Event.case_id.in_(visible_case_ids(user))


@record_rule
def customer_criterion(user):
    """Customers who have a case the user sees; supervisors also see customers without any
    case yet (added by hand: they belong to no pool)."""
    of_cases = Customer.id.in_(select(Case.customer_id).where(case_criterion(user)))
    if supervised_pool_ids(user):
        return or_(of_cases, ~exists().where(Case.customer_id == Customer.id))
    return of_cases


@record_rule
def inactivity_notice_criterion(user):
    return InactivityNotice.case_id.in_(visible_case_ids(user))


@record_rule
def intake_answer_criterion(user):
    """The intake answers of the cases the user sees (the customer's own, in the portal,
    are the portal's business)."""
    return CaseIntakeAnswer.case_id.in_(visible_case_ids(user))


RULES = {
    Case: case_criterion,
    Message: message_criterion,
    Event: event_criterion,
    Customer: customer_criterion,
    InactivityNotice: inactivity_notice_criterion,
    CaseIntakeAnswer: intake_answer_criterion,
}

"""Record rules of departments and consultations."""

from __future__ import annotations

from app.cases.record_rules import visible_case_ids
from app.consultation.models import Consultation, Department
from app.security.rules import any_desk_role, record_rule


@record_rule
def consultation_criterion(user):
    """Consultations of the cases the user sees (an agent: his pools' cases and his own)."""
    return Consultation.case_id.in_(visible_case_ids(user))


RULES = {
    # One desk-wide list: every desk role reads it, only admins change it (permissions).
    Department: any_desk_role,
    Consultation: consultation_criterion,
}

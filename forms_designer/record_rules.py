"""Record rule of intake forms: supervisors design them and pick them for their topics;
managers read them. Agents do not need them (they see a case's answers, not the form)."""

from sqlalchemy import false, true

from app.security.roles import SUPERVISOR, role_names
from app.security.rules import record_rule
from forms_designer.models import IntakeForm


@record_rule
def intake_form_criterion(user):
    return true() if SUPERVISOR in role_names(user) else false()


RULES = {IntakeForm: intake_form_criterion}

"""Record rules of intake forms and their versions.

Admins and managers see every form (managers only read: permissions); a supervisor sees the
forms of the pools he supervises and the desk-wide ones (to link them to his topics); agents
see none (they see a case's answers, not the form). Only a supervisor of the form's pool (or
an admin) changes a form or its versions; desk-wide forms are for admins.
"""

from sqlalchemy import false, or_, select

from app.agents.services import pool_write_rule, supervised_pool_ids
from app.extensions import db
from app.security.roles import SUPERVISOR, role_names
from app.security.rules import record_rule
from forms_designer.models import IntakeForm, IntakeFormVersion


@record_rule
def intake_form_criterion(user):
    if SUPERVISOR not in role_names(user):
        return false()
    return or_(IntakeForm.pool_id.in_(supervised_pool_ids(user)), IntakeForm.pool_id.is_(None))


@record_rule
def intake_form_version_criterion(user):
    return IntakeFormVersion.form_id.in_(select(IntakeForm.id).where(intake_form_criterion(user)))


_form_rule = pool_write_rule("pool", without_pool="admins")


def intake_form_version_rule(row, user) -> None:
    """A version: as its form."""
    form = row.form if row.form is not None else db.session.get(IntakeForm, row.form_id)
    _form_rule(form, user)


RULES = {IntakeForm: intake_form_criterion, IntakeFormVersion: intake_form_version_criterion}
WRITE_RULES = {IntakeForm: _form_rule, IntakeFormVersion: intake_form_version_rule}

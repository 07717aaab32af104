"""Record rule of outgoing mail: the mail of the cases one sees; mail without a case (alerts
to supervisors) for admins and managers."""

from app.cases.record_rules import visible_case_ids
from app.outbox.models import OutboxMail
from app.security.rules import record_rule


@record_rule
def outbox_criterion(user):
    return OutboxMail.case_id.in_(visible_case_ids(user))


RULES = {OutboxMail: outbox_criterion}

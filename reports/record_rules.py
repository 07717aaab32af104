"""Record rules of report runs and subscriptions: admins and managers see every one, a
supervisor his own (their figures cover only the pools he supervises:
``reports.services.scope_for``), an agent none."""

from __future__ import annotations

from sqlalchemy import false

from app.security.roles import SUPERVISOR, role_names
from app.security.rules import record_rule
from reports.models import ReportDelivery, ReportRun, ReportSubscription


@record_rule
def report_run_criterion(user):
    if SUPERVISOR in role_names(user):
        return ReportRun.requested_by_id == user.id
    return false()


@record_rule
def report_subscription_criterion(user):
    if SUPERVISOR in role_names(user):
        return ReportSubscription.user_id == user.id
    return false()


@record_rule
def report_delivery_criterion(user):
    if SUPERVISOR in role_names(user):
        return ReportDelivery.subscription.has(ReportSubscription.user_id == user.id)
    return false()


RULES = {
    ReportRun: report_run_criterion,
    ReportSubscription: report_subscription_criterion,
    ReportDelivery: report_delivery_criterion,
}

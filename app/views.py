"""Registration of every view and API with the app's AppBuilder, menus grouped by role."""

from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

# The case list filtered to "status is not closed" (filter 7 of FAB's string filters is
# "not equal"); tests/cases/test_case_views.py checks that it keeps showing open cases only.
OPEN_CASES_URL = "/cases/list/?_flt_7_status=closed"


class DeskIndexView(IndexView):
    """The start page: logged-in users go straight to their cases."""

    route_base = ""

    @expose("/")
    def index(self):
        if getattr(current_user, "is_authenticated", False):
            return redirect(OPEN_CASES_URL)
        return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login"))


def register_views(appbuilder) -> None:
    from app.agents.views import AbsenceView, AgentView, MembershipView
    from app.audit.views import EventApi, EventView
    from app.cases.api import CaseApi, MessageApi
    from app.cases.views import CaseView
    from app.customers.views import CustomerApi, CustomerView
    from app.mail.views import MailboxView, RawMessageView
    from app.organisation.views import PoolView, SkillView, TopicView
    from app.outbox.views import OutboxView
    from forms_designer.views import IntakeFormView

    appbuilder.add_link("Open cases", href=OPEN_CASES_URL, icon="fa-inbox", category="Desk")
    appbuilder.add_view(CaseView, "All cases", icon="fa-archive", category="Desk")
    appbuilder.add_view(CustomerView, "Customers", icon="fa-address-book", category="Desk")
    appbuilder.add_view(PoolView, "Pools", icon="fa-object-group", category="Configuration")
    appbuilder.add_view(MailboxView, "Mailboxes", icon="fa-envelope", category="Configuration")
    appbuilder.add_view(SkillView, "Skills", icon="fa-graduation-cap", category="Configuration")
    appbuilder.add_view(TopicView, "Topics", icon="fa-sitemap", category="Configuration")
    appbuilder.add_view(AgentView, "Agents", icon="fa-user", category="Configuration")
    appbuilder.add_view(MembershipView, "Memberships", icon="fa-users", category="Configuration")
    appbuilder.add_view(AbsenceView, "Absences", icon="fa-plane", category="Configuration")
    appbuilder.add_view(IntakeFormView, "Intake forms", icon="fa-wpforms", category="Configuration")
    appbuilder.add_view(RawMessageView, "Raw mail", icon="fa-archive", category="Archive")
    from app.mail.views import AttachmentView, CategoryRuleView, QuarantineView
    from app.mail.webhook import register_webhook

    appbuilder.add_view(
        QuarantineView, "Quarantine", icon="fa-exclamation-triangle", category="Archive"
    )
    appbuilder.add_view(
        CategoryRuleView, "Category rules", icon="fa-random", category="Configuration"
    )
    appbuilder.add_view_no_menu(AttachmentView)
    register_webhook()  # POST /inbound/<mailbox>, fold_quotes filter
    appbuilder.add_view(EventView, "Events", icon="fa-history", category="Archive")
    appbuilder.add_view(OutboxView, "Outbox", icon="fa-paper-plane", category="Desk")
    appbuilder.add_api(CaseApi)
    appbuilder.add_api(MessageApi)
    appbuilder.add_api(CustomerApi)
    appbuilder.add_api(EventApi)
    from app.answering.views import register_answering

    register_answering(appbuilder)  # templates, documents, case actions, portal link page

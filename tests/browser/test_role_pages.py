"""Issue 9's pages in a real browser, each as the role that uses it, a screenshot of each kept
under ``artifacts/screenshots/`` (``roles-*.png``): the agent's lists, workspace dialogs and
absence page; the supervisor's SLA, consultation, questionnaire and approval pages; the
customer's portal close and exit survey. Each page must load without a script error or a
failed request, and offer only what its role may do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.agents import absences
from app.agents.models import Absence, AgentProfile
from app.answering.portal import portal_token
from app.audit.actor import acting_as
from app.cases.models import Case
from app.cases.workflow import CaseStatus
from app.core.timeutil import utcnow
from app.extensions import db
from app.questionnaires import services as questionnaires
from app.questionnaires.models import Moment
from app.sla.models import SlaCalendar
from tests.browser.conftest import shoot

pytestmark = pytest.mark.slow


def _login(page, desk, username: str) -> None:
    page.goto(desk["url"] + "/logout/")
    page.goto(desk["url"] + "/login/")
    page.fill("#username", username)
    page.fill("#password", desk["password"])
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()


def _visit(page, desk, path: str, name: str) -> str:
    response = page.goto(desk["url"] + path)
    assert response is not None and response.status == 200, (path, response and response.status)
    page.wait_for_load_state("networkidle")
    shoot(page, f"roles-{name}", full_page=True)
    return page.content()


def _in_app(desk, func):
    with desk["app"].app_context():
        try:
            return func()
        finally:
            db.session.remove()


def test_the_agents_pages(live_desk, browser_page):
    page, desk = browser_page, live_desk

    _login(page, desk, "agent1")
    mine = _visit(page, desk, "/desk/mine", "agent-my-cases")
    assert "My cases" in mine
    queue = _visit(page, desk, "/desk/queue", "agent-queue")
    assert "queue" in queue.lower()

    page.click("#ld-get-next")
    page.wait_for_selector("#case-workspace")
    shoot(page, "roles-agent-workspace")
    # An agent decides on no replies and assigns no cases.
    assert page.locator("#approve-form, #assign-form").count() == 0
    page.click("#more-button")
    page.wait_for_timeout(200)
    shoot(page, "roles-agent-more-menu")
    page.click("#consult-link")
    page.wait_for_selector("#consult-dialog.in")
    page.wait_for_timeout(300)
    shoot(page, "roles-agent-consult-dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector("#consult-dialog", state="hidden")
    page.keyboard.press("c")
    page.wait_for_selector("#close-dialog.in")
    page.wait_for_timeout(300)
    shoot(page, "roles-agent-close-questionnaire")
    page.keyboard.press("Escape")

    absence_page = _visit(page, desk, "/agents/me", "agent-absence-page")
    assert 'id="record-absence"' in absence_page and "True" not in absence_page
    assert page.errors == [], page.errors


def test_an_agent_back_from_absence_is_told_once(live_desk, browser_page):
    page, desk = browser_page, live_desk

    def away_last_week():
        user = db.session.scalars(select(User).filter_by(username="agent3")).one()
        profile = db.session.scalars(select(AgentProfile).filter_by(user_id=user.id)).one()
        now = utcnow()
        absence = Absence(
            agent=profile, starts_at=now - timedelta(days=7), ends_at=now + timedelta(days=1)
        )
        with acting_as(None):
            absences.save_absence(absence)
        absence.ends_at = now - timedelta(hours=1)
        with acting_as(None):
            absences.save_absence(absence)

    _in_app(desk, away_last_week)
    _login(page, desk, "agent3")
    page.wait_for_selector("#ld-return-notice")
    shoot(page, "roles-agent-welcome-back", full_page=True)
    page.goto(desk["url"] + "/desk/mine")
    assert page.locator("#ld-return-notice").count() == 0
    assert page.errors == [], page.errors


def test_the_supervisors_pages(live_desk, browser_page):
    page, desk = browser_page, live_desk
    ids = _in_app(
        desk,
        lambda: {
            "calendar": db.session.scalar(select(SlaCalendar.id).limit(1)),
            "waiting": db.session.scalar(
                select(Case.id).where(Case.status == CaseStatus.AWAITING_APPROVAL.value).limit(1)
            ),
        },
    )
    _login(page, desk, "supervisor")
    _visit(page, desk, "/sla-calendars/list/", "supervisor-sla-calendars")
    if ids["calendar"]:
        _visit(page, desk, f"/sla-calendars/show/{ids['calendar']}", "supervisor-sla-calendar")
    _visit(page, desk, "/sla-policies/list/", "supervisor-sla-policies")
    _visit(page, desk, "/sla-policies/add", "supervisor-sla-policy-add")
    _visit(page, desk, "/consultation/departments/list/", "supervisor-departments")
    _visit(page, desk, "/questionnaires/list/", "supervisor-questionnaires")
    _visit(page, desk, "/questions/list/", "supervisor-questions")
    _visit(page, desk, "/dictionaries/list/", "supervisor-dictionaries")
    assert ids["waiting"], "the demo has a reply waiting for approval"
    html = _visit(page, desk, f"/cases/show/{ids['waiting']}", "supervisor-approval")
    assert 'id="approve-form"' in html and 'id="reject-form"' in html
    assert 'id="release-form"' not in html  # its author gets a rejected reply back
    assert page.errors == [], page.errors


def test_the_customers_portal_close_and_survey(live_desk, browser_page):
    page, desk = browser_page, live_desk

    def open_case_with_survey():
        for case in db.session.scalars(
            select(Case)
            .where(
                Case.status.in_(
                    [CaseStatus.WAITING_ON_CUSTOMER.value, CaseStatus.IN_PROGRESS.value]
                )
            )
            .order_by(Case.status.desc(), Case.id)
        ):
            if questionnaires.questions_for(case, Moment.SURVEY):
                return portal_token(case)
        return None

    token = _in_app(desk, open_case_with_survey)
    assert token, "the demo has an open case whose pool has an exit survey"
    page.goto(desk["url"] + "/logout/")
    _visit(page, desk, f"/portal/case/{token}", "customer-portal-case")
    page.click("#portal-close-form button[type=submit]")
    page.wait_for_load_state()
    shoot(page, "roles-customer-survey", full_page=True)
    assert "/survey" in page.url
    for group in page.locator("form .ld-question").all():
        if group.locator("input[type=radio]").count():
            group.locator("input[type=radio]").last.check()
        elif group.locator("textarea, input[type=text]").count():
            group.locator("textarea, input[type=text]").first.fill("Quick and friendly.")
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    shoot(page, "roles-customer-survey-thanks", full_page=True)
    _visit(page, desk, f"/portal/case/{token}", "customer-portal-closed")
    assert page.errors == [], page.errors

"""The dashboard and the staffing forecast in a real browser, drawn offline by the vendored
Apache ECharts: a manager (the whole desk) and a supervisor (his pools); screenshots of each
page in artifacts/screenshots/."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from app.audit.models import Event
from app.cases.models import Case, Message
from app.core.timeutil import utcnow
from app.extensions import db
from app.organisation.models import Pool
from tests.browser.conftest import shoot

pytestmark = pytest.mark.slow

DAY = (1.0, 0.95, 0.9, 0.85, 0.7, 0.2, 0.1)  # Mon … Sun
HOUR = [0.1] * 7 + [0.6, 1.4, 1.8, 1.7, 1.3, 0.9, 1.2, 1.5, 1.3, 1.0, 0.7, 0.4] + [0.2] * 5


def add_history(app, weeks: int = 12) -> None:
    """Twelve weeks of mail on a weekly and daily rhythm, growing a little, most of it
    answered within the hour and closed, so the charts and the forecast have something."""
    rnd = random.Random(5)
    with app.app_context():
        pools = list(db.session.scalars(select(Pool.id)))
        agent = db.session.execute(db.text("select id from ab_user where username='agent1'"))
        agent_id = agent.scalar()
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        start = (now - timedelta(days=7 * weeks)).replace(hour=0)
        cases, n = [], 0
        at = start
        while at < now:
            growth = 1 + 0.4 * (at - start).days / (7 * weeks)
            rate = 2.2 * DAY[at.weekday()] * HOUR[at.hour] * growth
            for _ in range(int(rate) + (rnd.random() < rate % 1)):
                n += 1
                received = at + timedelta(minutes=rnd.randint(0, 59))
                answered = received + timedelta(minutes=rnd.randint(10, 240))
                closed = answered + timedelta(minutes=rnd.randint(30, 3000))
                done = closed < now - timedelta(hours=2)
                cases.append((received, answered if answered < now else None, closed, done))
            at += timedelta(hours=1)
        rows = []
        for i, (received, answered, closed, done) in enumerate(cases):
            rows.append(
                dict(
                    number=f"HIST-{i}",
                    subject="history",
                    pool_id=pools[i % len(pools)],
                    status="closed" if done else "received",
                    priority=2,
                    received_at=received,
                    updated_at=received,
                    first_response_at=answered if done else None,
                    closed_at=closed if done else None,
                    first_response_due_at=received + timedelta(hours=8),
                    resolution_due_at=received + timedelta(hours=40),
                    sla_due_at=received + timedelta(hours=40),
                    sla_paused_business_seconds=0,
                )
            )
        db.session.execute(insert(Case.__table__), rows)
        ids = dict(
            db.session.execute(select(Case.number, Case.id).where(Case.number.like("HIST-%"))).all()
        )
        messages, events = [], []
        for i, (received, answered, closed, done) in enumerate(cases):
            case_id = ids[f"HIST-{i}"]
            messages.append(
                dict(
                    case_id=case_id,
                    direction="inbound",
                    author_id=None,
                    subject="x",
                    created_at=received,
                )
            )
            if done:
                messages.append(
                    dict(
                        case_id=case_id,
                        direction="outbound",
                        author_id=agent_id,
                        subject="re",
                        created_at=answered,
                    )
                )
                claimed = received + (answered - received) * 0.7
                for when, old, new in (
                    (claimed, "received", "in_progress"),
                    (answered, "in_progress", "waiting_on_customer"),
                    (closed, "waiting_on_customer", "closed"),
                ):
                    events.append(
                        dict(
                            case_id=case_id,
                            created_at=when,
                            actor_name="agent1",
                            object_type="case",
                            action="status",
                            old_value=old,
                            new_value=new,
                        )
                    )
        db.session.execute(insert(Message.__table__), messages)
        db.session.execute(insert(Event.__table__), events)
        db.session.commit()
        db.session.remove()


def login(page, url, username, password):
    page.goto(url + "/logout/")
    page.goto(url + "/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()


CHARTS = ("chart-days", "chart-pools", "chart-today", "chart-week")


def test_the_dashboard_draws_offline_for_a_manager_and_a_supervisor(live_desk, browser_page):
    page = browser_page
    add_history(live_desk["app"])
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_desk["url"]) else None,
    )
    login(page, live_desk["url"], "manager", live_desk["password"])
    assert page.url.endswith("/reports/dashboard")  # the manager's first page
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart}[data-drawn] svg")
    shoot(page, "dashboard-manager")
    shoot(page, "dashboard-manager-full", full_page=True)
    today = page.locator("[data-kpi=received] .ld-card-value[data-window=today]")
    month = page.locator("[data-kpi=received] .ld-card-value[data-window=month]")
    assert today.is_visible() and not month.is_visible()
    page.click(".ld-period-switch [data-window=month]")
    assert month.is_visible() and not today.is_visible()
    assert int(month.inner_text()) >= int(today.inner_text()) > 0
    shoot(page, "dashboard-manager-month")
    pools = page.locator("#table-pools tbody tr").count()
    assert pools >= 2
    page.click("#chart-days-title ~ details summary")
    assert page.locator("#table-days").is_visible()
    assert page.locator("#table-days tbody tr").count() == 30

    page.goto(live_desk["url"] + "/reports/forecast")
    page.wait_for_selector("#chart-forecast[data-drawn] svg")
    page.wait_for_selector("#chart-agents[data-drawn] svg")
    assert page.locator("#table-backtest tbody tr").count() == 2
    assert page.locator("#table-forecast-days tbody tr").count() == 28
    shoot(page, "forecast-manager", full_page=True)

    login(page, live_desk["url"], "supervisor", live_desk["password"])
    page.goto(live_desk["url"] + "/reports/dashboard")
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart}[data-drawn] svg")
    assert 0 < page.locator("#table-pools tbody tr").count() < pools  # his pools only
    assert "your pools only" in page.locator(".ld-dash-sub").inner_text()
    shoot(page, "dashboard-supervisor", full_page=True)

    assert outside == [], outside  # nothing fetched from anywhere but the desk
    assert page.errors == [], page.errors  # no script error, no failed request

    login(page, live_desk["url"], "agent1", live_desk["password"])
    response = page.goto(live_desk["url"] + "/reports/dashboard")
    assert response.status == 403

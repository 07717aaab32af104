"""The dashboard: figures of today, this week and this month on the synthetic desk
(tests/reports/conftest.py, run on Tuesday 2026-11-10 12:00 UTC), worked out by hand; the
backlog per pool now; who may see what."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.core.timeutil import utcnow
from reports import dashboard
from tests.reports.conftest import NOW


def window(data, key):
    return next(w for w in data["windows"] if w["key"] == key)


def test_the_month_so_far_counted_by_hand(synthetic):
    data = dashboard.compute(None, NOW, "UTC")
    month = window(data, "month")
    assert month["since"] == "2026-11-01"
    # Inbound mails from 1 November: case 1 twice, 2, 3 (its reopening mail), 4, 5, 6.
    assert month["received"] == 7
    assert month["opened"] == 5  # cases 1, 2, 4, 5, 6 (3 came in October)
    assert month["closed"] == 4  # 1, 2, 3, 6
    assert month["sla_pct"] == 50.0  # 1 and 6 on time; 2 and 3 late
    # First replies in November: 2 h (1), 20 h (2), 0.5 h (5), 2 h (6): median 2 h;
    # 5 answered after its 09:15 due time.
    assert month["first_responses"] == 4
    assert month["first_response_median_h"] == 2.0
    assert month["first_response_sla_pct"] == 75.0
    assert (month["survey_score"], month["surveys"]) == (4.0, 3)  # 5, 3, 4
    # Nothing yet this week (from Monday 9 November) nor today.
    for key in ("week", "today"):
        w = window(data, key)
        assert (w["received"], w["opened"], w["closed"], w["surveys"]) == (0, 0, 0, 0)
        assert w["first_response_median_h"] is None and w["sla_pct"] is None


def test_the_backlog_per_pool_now(synthetic):
    data = dashboard.compute(None, NOW, "UTC")
    pools = {p["name"]: p for p in data["pools"]}
    # Pool A: case 4 (unassigned, overdue since the 5th), case 5 (waiting on the customer:
    # its clock is paused, not overdue) and the desk's own new case of today (unassigned,
    # not due yet); pool B: its new case of today. The backlog is the state now, as in the
    # report (test_metrics: backlog_now 4).
    a, b = pools["Pool A"], pools["Pool B"]
    assert (a["backlog"], a["unassigned"], a["in_progress"], a["overdue"]) == (3, 2, 0, 1)
    assert a["other"] == 1  # case 5, waiting on the customer
    assert a["oldest_unassigned_h"] == 6 * 24 + 3  # case 4 since Wednesday 09:00
    assert (b["backlog"], b["overdue"]) == (1, 0)
    assert data["now"] == {"backlog": 4, "overdue": 1, "unassigned": 3}


def test_volume_per_day_and_hour_of_the_week(synthetic):
    data = dashboard.compute(None, NOW, "UTC")
    days = {d["day"]: d for d in data["days"]}
    assert len(days) == 30 and max(days) == "2026-11-10"
    assert days["2026-11-02"] == {"day": "2026-11-02", "received": 3, "closed": 1}
    assert days["2026-11-04"]["received"] == 2 and days["2026-11-04"]["closed"] == 1
    week = {(c["weekday"], c["hour"]): c["mean"] for c in data["week_hours"]}
    assert data["profile_since"] == "2026-10-12"  # the four full weeks before this one
    assert week[("Mon", 14)] == 0.5  # two mails on Monday 2 November at 14:00, over 4 weeks
    assert week[("Wed", 9)] == 0.75  # 28 October, 4 November 09:00 and 09:55
    assert sum(week.values()) == pytest.approx(8 / 4)


def test_a_supervisor_sees_his_pools_only(synthetic):
    pool_a = synthetic.desk.pool_a.id
    data = dashboard.compute([pool_a], NOW, "UTC")
    assert [p["name"] for p in data["pools"]] == ["Pool A"]
    month = window(data, "month")
    assert (month["received"], month["closed"], month["surveys"]) == (6, 3, 2)  # without 6


@pytest.mark.parametrize(
    ("username", "status", "pools"),
    [
        ("manager", 200, {"Pool A", "Pool B"}),
        ("admin", 200, {"Pool A", "Pool B"}),
        ("supervisor_a", 200, {"Pool A"}),
        ("agent_a", 403, None),
    ],
)
def test_the_dashboard_page_per_role(synthetic, client, auth, username, status, pools):
    auth.login(username)
    page = client.get("/reports/dashboard")
    assert page.status_code == status
    if pools is None:
        return
    html = page.get_data(as_text=True)
    shown = {name for name in ("Pool A", "Pool B") if f"<td>{name}</td>" in html}
    assert shown == pools
    assert 'id="chart-days"' in html and 'id="table-days"' in html
    assert "echarts.min.js" in html and "googleapis" not in html and "gstatic" not in html
    assert html.count("<script") == html.count('nonce="')


def test_a_customer_gets_no_dashboard(synthetic, client):
    assert client.get("/reports/dashboard").status_code in (302, 401)  # to the login


def test_the_figures_are_kept_for_the_cache_time(synthetic, app):
    from app.cases.models import Case
    from app.extensions import db

    app.config["REPORTS_DASHBOARD_CACHE_SECONDS"] = 60
    first = dashboard.dashboard(None, utcnow(), "UTC")
    db.session.execute(db.update(Case).values(status="closed"))
    again = dashboard.dashboard(None, utcnow(), "UTC")
    assert (first["cached"], again["cached"]) == (False, True)
    assert again["now"] == first["now"]
    app.config["REPORTS_DASHBOARD_CACHE_SECONDS"] = 0
    fresh = dashboard.dashboard(None, utcnow(), "UTC")
    assert fresh["now"]["backlog"] == 0 and fresh["cached"] is False


@pytest.mark.parametrize(
    ("username", "start"),
    [
        ("manager", "/reports/dashboard"),
        ("supervisor_a", "/cases/"),
        ("agent_a", "/cases/"),
        ("admin", "/cases/"),
    ],
)
def test_a_manager_starts_on_the_dashboard_the_others_on_their_cases(
    desk, client, auth, username, start
):
    auth.login(username)
    location = client.get("/").headers["Location"]
    assert start in location
    menu = client.get(location.replace("http://localhost", "")).get_data(as_text=True)
    assert ('href="/reports/dashboard"' in menu) is (username != "agent_a")


def test_an_empty_desk_shows_zeros_and_no_chart_fails(app, client, auth, desk):
    from app.cases.models import Case, Message
    from app.extensions import db

    # The desk's two new cases and their mails are all it has: move them out of sight.
    db.session.execute(db.update(Message).values(created_at=NOW.replace(year=2030)))
    db.session.execute(db.update(Case).values(received_at=NOW.replace(year=2030)))
    data = dashboard.compute(None, NOW, "Europe/Warsaw")
    assert all(w["received"] == 0 and w["first_response_median_h"] is None for w in data["windows"])
    assert all(d["received"] == 0 for d in data["days"])
    assert {h["typical"] for h in data["today_hours"]} == {0}
    auth.login("manager")
    assert client.get("/reports/dashboard").status_code == 200


def test_a_day_without_first_replies_has_no_median_and_no_error(synthetic):
    # Wednesday 11:30: nobody has sent a first reply today (case 3's reply is not its first);
    # this week and month have cases 1 (2 h) and 2 (20 h): median 11 h, elapsed.
    data = dashboard.compute(None, datetime(2026, 11, 4, 11, 30), "UTC")
    windows = {w["key"]: w for w in data["windows"]}
    today = windows["today"]
    assert (today["first_responses"], today["first_response_median_h"]) == (0, None)
    assert today["opened"] == 1 and today["closed"] == 0 and today["sla_pct"] is None
    assert windows["week"]["first_response_median_h"] == 11.0
    assert windows["month"]["first_response_median_h"] == 11.0

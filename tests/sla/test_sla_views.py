"""Calendars and policies on the pages and the REST API, as each role: admins keep calendars,
supervisors the policies of their pools, managers read, agents see neither."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.core.timeutil import utcnow
from app.extensions import db
from app.sla import services
from app.sla.models import SlaCalendar, SlaClosure, SlaPolicy
from tests.sla.helpers import office_pool, warsaw_calendar


def test_the_calendar_page_previews_the_next_seven_days(desk, client, auth):
    calendar = warsaw_calendar()
    tomorrow = services.business_calendar(calendar).local_date(utcnow()) + timedelta(days=1)
    db.session.add(SlaClosure(calendar=calendar, day=tomorrow, reason="Inventory day"))
    db.session.commit()
    auth.login("supervisor_a")
    page = client.get(f"/sla-calendars/show/{calendar.id}").get_data(as_text=True)
    assert "Calendar preview" in page
    assert "Inventory day" in page
    assert tomorrow.strftime("%Y-%m-%d") in page


def test_the_preview_names_the_holidays(desk):
    days = services.preview(warsaw_calendar(), date(2026, 12, 21), 7)
    by_day = {d.day: d for d in days}
    assert by_day[date(2026, 12, 24)].note == "Christmas Eve"
    assert by_day[date(2026, 12, 24)].hours == []
    opens, closes = by_day[date(2026, 12, 23)].hours[0]
    assert (opens.hour, closes.hour) == (8, 16)  # local time


@pytest.mark.parametrize("role", ["supervisor_a", "manager", "agent_a"])
def test_only_admins_add_calendars(desk, client, auth, role):
    auth.login(role)
    response = client.post("/sla-calendars/add", data={"name": "Night shift", "time_zone": "UTC"})
    assert response.status_code in (302, 403)
    assert db.session.query(SlaCalendar).filter_by(name="Night shift").count() == 0


def test_an_admin_adds_a_calendar_and_its_hours(desk, client, auth):
    auth.login("admin")
    response = client.post(
        "/sla-calendars/add",
        data={"name": "Night shift", "time_zone": "Europe/Stockholm", "holiday_country": "SE"},
    )
    assert response.status_code == 302
    calendar = db.session.query(SlaCalendar).filter_by(name="Night shift").one()
    response = client.post(
        "/sla-hours/add",
        data={"calendar": calendar.id, "weekday": 0, "opens": "8:00", "closes": "24:00"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    [hours] = db.session.get(SlaCalendar, calendar.id).hours
    assert (hours.opens, hours.closes) == ("08:00", "24:00")
    page = client.post(
        "/sla-hours/add",
        data={"calendar": calendar.id, "weekday": 1, "opens": "16:00", "closes": "08:00"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "must close after they open" in page


def test_agents_see_no_sla_configuration(desk, client, auth):
    auth.login("agent_a")
    assert client.get("/sla-policies/list/").status_code == 403
    assert client.get("/sla-calendars/list/").status_code == 403
    headers = auth.token("agent_a")
    assert client.get("/api/v1/slapolicy/", headers=headers).status_code in (401, 403)


def test_a_supervisor_keeps_the_policies_of_his_pools_only(desk, client, auth):
    office_pool(desk)
    auth.login("supervisor_a")
    data = {
        "name": "Pool B urgent",
        "pool": desk.pool_b.id,
        "priority": 4,
        "first_response_minutes": 30,
        "resolution_minutes": 120,
        "active": "y",
    }
    client.post("/sla-policies/add", data=data)
    assert db.session.query(SlaPolicy).filter_by(name="Pool B urgent").count() == 0
    data.update(name="Pool A urgent", pool=desk.pool_a.id)
    assert client.post("/sla-policies/add", data=data).status_code == 302
    assert db.session.query(SlaPolicy).filter_by(name="Pool A urgent").count() == 1


def test_a_manager_reads_policies_but_does_not_change_them(desk, client, auth):
    office_pool(desk)
    policy = db.session.query(SlaPolicy).one()
    auth.login("manager")
    assert client.get("/sla-policies/list/").status_code == 200
    assert client.get(f"/sla-policies/edit/{policy.id}").status_code == 403


def test_the_api_follows_the_same_rules(desk, client, auth):
    calendar = office_pool(desk)
    supervisor = auth.token("supervisor_a")
    listed = client.get("/api/v1/slapolicy/", headers=supervisor)
    assert listed.status_code == 200 and listed.json["count"] == 1
    refused = client.post(
        "/api/v1/slacalendar/", json={"name": "Mine", "time_zone": "UTC"}, headers=supervisor
    )
    assert refused.status_code == 403
    foreign = client.post(
        "/api/v1/slapolicy/",
        json={
            "name": "B",
            "pool": desk.pool_b.id,
            "first_response_minutes": 10,
            "resolution_minutes": 20,
        },
        headers=supervisor,
    )
    assert foreign.status_code in (403, 404, 422)
    assert db.session.query(SlaPolicy).filter_by(name="B").count() == 0
    preview = client.get(
        f"/api/v1/slacalendar/{calendar.id}/preview?start=2026-12-24&days=3", headers=supervisor
    )
    assert preview.status_code == 200
    assert [d["note"] for d in preview.json["result"]] == [
        "Christmas Eve",
        "Christmas Day",
        "Second Day of Christmas",
    ]
    admin = auth.token("admin")
    bad = client.post(
        "/api/v1/slacalendar/",
        json={"name": "Atlantis", "time_zone": "Europe/Atlantis"},
        headers=admin,
    )
    assert bad.status_code == 400 and "time zone" in bad.json["message"]


def test_the_case_api_shows_both_targets(desk, client, auth):
    office_pool(desk)
    headers = auth.token("agent_a")
    body = client.get(f"/api/v1/case/{desk.case_a.id}", headers=headers).json["result"]
    assert "first_response_due_at" in body and "resolution_due_at" in body


def test_the_forms_offer_zones_countries_and_the_pools_calendar(desk, client, auth):
    calendar = office_pool(desk)
    auth.login("admin")
    form = client.get("/sla-calendars/add").get_data(as_text=True)
    assert "Europe/Warsaw" in form and 'value="PL"' in form
    form = client.get("/sla-policies/add").get_data(as_text=True)
    assert "First response within (business minutes)" in form
    form = client.get(f"/pools/edit/{desk.pool_a.id}").get_data(as_text=True)
    assert "Business calendar" in form and calendar.name in form


def test_the_sla_pages_read_as_words_not_python(desk, client, auth):
    """Flags read Yes/No, related rows "a, b", the abbreviation keeps its capitals, the
    closures tab is called so, and the policy form's plain dropdowns look like the others."""
    calendar = warsaw_calendar()
    db.session.commit()
    auth.login("supervisor_a")
    listing = client.get("/sla-calendars/list/").get_data(as_text=True)
    row = listing.split("Warsaw office", 1)[1].split("</tr>", 1)[0]
    assert ">Yes<" in row.replace(" ", "").replace("\n", "") and "True" not in row
    page = client.get(f"/sla-calendars/show/{calendar.id}").get_data(as_text=True)
    assert "Monday 08:00-16:00, Tuesday" in page and "[Monday" not in page
    assert ">Closures<" in page and "Sla closures" not in page
    form = client.get("/sla-policies/add").get_data(as_text=True)
    assert "New SLA policy" in form and "New sLA" not in form
    assert re.search(r'<select class="form-control"[^>]*id="priority"', form)

"""The event tracker: filters by case, user, type and time; keyset pages that walk every event
once; a streamed CSV with the same rows; record rules (agents see their cases' events only,
managers and admins all)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import insert, select

from app.audit import tracker
from app.audit.models import Event
from app.extensions import db


@pytest.fixture
def events(desk):
    """120 events on case A (by agent_a, every hour of five days back from 2026-11-30),
    a few on case B, a failed login without a case."""
    start = datetime(2026, 11, 30, 12, 0)
    agent = desk.user("agent_a")
    rows = [
        {
            "created_at": start - timedelta(hours=i),
            "actor_id": agent.id,
            "actor_name": agent.username,
            "case_id": desk.case_a.id,
            "object_type": "case",
            "action": "note" if i % 2 else "changed",
            "new_value": f"A-{i}",
        }
        for i in range(120)
    ]
    rows += [
        {
            "created_at": start - timedelta(minutes=30 + i),
            "actor_id": None,
            "actor_name": "system",
            "case_id": desk.case_b.id,
            "object_type": "case",
            "action": "changed",
            "new_value": f"B-{i}",
        }
        for i in range(3)
    ]
    rows.append(
        {
            "created_at": start,
            "actor_name": "system",
            "object_type": "user",
            "action": "login.failed",
            "new_value": "mallory",
        }
    )
    db.session.execute(insert(Event), rows)
    db.session.commit()


def _walk(client, **args) -> list[str]:
    """Every page of the tracker, following its "Older" link; the values shown, in order."""
    seen, url = [], "/eventtracker/"
    params = dict(args)
    while True:
        response = client.get(url, query_string=params)
        assert response.status_code == 200
        page = unescape(response.get_data(as_text=True))
        seen += re.findall(r"\b([AB]-\d+)\b", page)  # each row's summary names its value
        older = re.search(r'href="([^"]+)" id="event-older"', page)
        if not older:
            return seen
        url, params = older.group(1), None


def test_pages_walk_every_event_once_newest_first(app, desk, events, client, auth):
    auth.login("admin")
    seen = _walk(client, action="note")
    expected = [f"A-{i}" for i in range(120) if i % 2]
    assert seen == expected  # 60 notes: two pages of 50 and 10, no gaps, no repeats


def test_filters(app, desk, events):
    def values(**flt):
        page = tracker.page(tracker.EventFilter(**flt), size=500, user=desk.user("manager"))
        return [e.new_value for e in page.events]

    # Case B's own events: its three and its "created" (status received).
    assert set(values(case=desk.case_b.number)) == {"B-0", "B-1", "B-2", "received"}
    assert set(values(case=str(desk.case_b.id))) == {"B-0", "B-1", "B-2", "received"}
    assert len(values(user="agent_a")) == 120
    assert "mallory" in values(user="system") and "A-0" not in values(user="system")
    assert values(user="nobody") == []
    assert values(action="login.failed") == ["mallory"]
    # 2026-11-30 12:00 back to 11-26 13:00: the 29th alone holds hours 12..35 before noon.
    day = values(since="2026-11-29", until="2026-11-29", user="agent_a")
    assert day == [f"A-{i}" for i in range(13, 37)]
    with pytest.raises(Exception, match="ISO date"):
        values(since="yesterday")


def test_agents_see_only_their_cases_events(app, desk, events, client, auth):
    auth.login("agent_a")
    page = client.get("/eventtracker/", query_string={"case": desk.case_b.number})
    assert page.status_code == 200 and b"B-0" not in page.data and b"No event matches" in page.data
    page = client.get("/eventtracker/", query_string={"action": "login.failed"})
    assert b"mallory" not in page.data
    csv_text = client.get("/eventtracker/export.csv").get_data(as_text=True)
    assert "B-0" not in csv_text and "mallory" not in csv_text and "A-0" in csv_text
    auth.logout()
    auth.login("agent_b")
    page = client.get("/eventtracker/")
    assert b"A-0" not in page.data and b"B-0" in page.data


@pytest.mark.parametrize("username", ["manager", "admin"])
def test_managers_and_admins_see_every_event(app, desk, events, client, auth, username):
    auth.login(username)
    page = client.get("/eventtracker/", query_string={"action": "login.failed"})
    assert b"mallory" in page.data
    page = client.get("/eventtracker/", query_string={"case": desk.case_b.number})
    assert b"B-0" in page.data


def test_csv_export_is_streamed_with_the_filtered_rows(app, desk, events, client, auth):
    auth.login("manager")
    response = client.get(
        "/eventtracker/export.csv", query_string={"user": "agent_a", "action": "changed"}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["new_value"] for r in rows] == [f"A-{i}" for i in range(0, 120, 2)]
    assert {r["case"] for r in rows} == {desk.case_a.number}
    assert rows[0]["time_utc"] == "2026-11-30 12:00:00"


def test_csv_export_walks_batches_and_neutralises_formulas(app, desk):
    db.session.execute(
        insert(Event),
        [
            {"actor_name": "system", "object_type": "case", "action": "x", "new_value": f"=cmd|{i}"}
            for i in range(7)
        ],
    )
    db.session.commit()
    flt = tracker.EventFilter(action="x")
    chunks = list(tracker.csv_lines(flt, batch=3, user=desk.user("admin")))
    assert len(chunks) == 1 + 3  # the header, then batches of 3, 3 and 1
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == 7 and all(r["new_value"].startswith("'=") for r in rows)


def test_a_bad_filter_is_refused_with_the_reason(app, desk, client, auth):
    auth.login("admin")
    page = client.get("/eventtracker/", query_string={"until": "soon"})
    assert page.status_code == 400 and b"ISO date" in page.data
    assert client.get("/eventtracker/export.csv?since=x").status_code == 400
    assert client.get("/eventtracker/?before=garbage").status_code == 400


def test_the_tracker_is_one_query_per_page(app, desk, events):
    """Keyset: the page is read by one statement (plus the user lookup of a user filter)."""
    from sqlalchemy import event as sa_event

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa_event.listen(db.engine, "before_cursor_execute", listener)
    try:
        admin = desk.user("admin")
        first = tracker.page(tracker.EventFilter(), user=admin)
        tracker.page(tracker.EventFilter(), first.next_cursor, user=admin)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "FROM event" in s]) == 2
    assert db.session.scalar(select(Event.id).limit(1))

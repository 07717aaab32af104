"""My cases, My pools' queue and their counts in the navigation (issue 9): the right cases
for each role, correct counts, due marks by colour and icon, the API, a bounded number of
SQL statements whatever the number of cases and pools."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError

from app.agents.models import PoolMembership
from app.audit.actor import acting_as
from app.cases import actions, queues, services
from app.cases.models import Case
from app.core.timeutil import utcnow
from app.extensions import db
from app.jobs.queue import connection
from app.organisation.models import Pool, Skill
from tests.support.records import agent_profile, refresh

NOW = utcnow().replace(microsecond=0)


def _case(pool, subject, *, due_in_hours=8.0, **fields):
    with acting_as(None):
        case = services.open_case(pool=pool, subject=subject, commit=False)
    db.session.commit()
    values = {"sla_due_at": NOW + timedelta(hours=due_in_hours) if due_in_hours else None}
    values.update(fields)
    # arranged in the database directly: the state a case may be in, however it got there
    db.session.execute(update(Case).where(Case.id == case.id).values(**values))
    db.session.commit()
    return refresh(case)


def _rows(page: str) -> list[str]:
    """The case numbers of a list page, in their order."""
    table = page.split('id="ld-case-list"', 1)[1] if 'id="ld-case-list"' in page else ""
    return re.findall(r">(LD-\d+)</a>", table)


def _menu(page: str) -> str:
    return page.split('id="ld-desk-bar"', 1)[1].split("</ul>", 1)[0]


def test_my_cases_lists_the_agents_open_cases_most_urgent_first(client, auth, desk):
    agent = desk.user("agent_a")
    later = _case(desk.pool_a, "Later", due_in_hours=30)
    sooner = _case(desk.pool_a, "Sooner", due_in_hours=2)
    done = _case(desk.pool_a, "Done")
    someone_elses = _case(desk.pool_a, "Not his")
    with acting_as(agent):
        for case in (later, sooner, done, desk.case_a):
            actions.claim(case)
        actions.close(done)
    with acting_as(desk.user("supervisor_a")):
        actions.claim(someone_elses)
    auth.login("agent_a")
    page = client.get("/desk/mine").data.decode()
    assert _rows(page) == [sooner.number, desk.case_a.number, later.number]
    assert "My cases (3)" in page
    assert "Alice" in page and "Pool A" in page  # customer and pool columns


def test_the_queue_holds_the_waiting_cases_of_his_pools_only(client, auth, desk):
    waiting = _case(desk.pool_a, "Waiting", due_in_hours=1)
    postponed = _case(
        desk.pool_a, "Postponed", status="postponed", postponed_until=NOW + timedelta(days=1)
    )
    with acting_as(desk.user("supervisor_a")):
        taken = _case(desk.pool_a, "Taken")
        actions.claim(taken)
    auth.login("agent_a")
    page = client.get("/desk/queue").data.decode()
    assert _rows(page) == [waiting.number, desk.case_a.number]
    for absent in (postponed, taken, desk.case_b):
        assert absent.number not in page
    # agent B works in pool B: he sees neither pool A's queue nor its cases
    auth.logout()
    auth.login("agent_b")
    page = client.get("/desk/queue").data.decode()
    assert _rows(page) == [desk.case_b.number]
    assert "Pool A" not in _menu(page)
    assert client.get(f"/desk/queue?pool={desk.pool_a.id}").status_code == 404
    assert client.get("/desk/queue?pool=abc").status_code == 404


def test_the_queue_filters_by_pool_and_managers_see_every_pool(client, auth, desk):
    auth.login("manager")
    page = client.get("/desk/queue").data.decode()
    assert set(_rows(page)) == {desk.case_a.number, desk.case_b.number}
    assert "Pool A (1)" in _menu(page) and "Pool B (1)" in _menu(page)
    one = client.get(f"/desk/queue?pool={desk.pool_b.id}").data.decode()
    assert _rows(one) == [desk.case_b.number]
    assert "Queue: Pool B" in one
    # a manager takes no case: no Get next button, but the lists
    assert 'id="ld-get-next"' not in page and 'id="ld-my-cases"' in page


def test_an_agents_queue_skips_cases_needing_a_skill_he_lacks(client, auth, desk):
    german = Skill(name="German")
    db.session.add(german)
    db.session.commit()
    needs_german = _case(desk.pool_a, "Auf Deutsch", required_skill_id=german.id)
    with acting_as(desk.user("agent_a")):
        assert needs_german.id not in [c.id for c in queues.queue().cases]
        assert queues.counts().pools[0].waiting == 1
    profile = agent_profile(desk.user("agent_a"))
    profile.skills.append(german)
    db.session.commit()
    with acting_as(desk.user("agent_a")):
        assert needs_german.id in [c.id for c in queues.queue().cases]
    # a supervisor sees every waiting case of his pool
    with acting_as(desk.user("supervisor_a")):
        assert queues.counts().pools[0].waiting == 2


def test_counts_per_pool_with_overdue_and_his_own(desk):
    agent = desk.user("agent_a")
    _case(desk.pool_a, "Overdue", due_in_hours=-2)
    _case(desk.pool_a, "Fine", due_in_hours=10)
    mine_overdue = _case(desk.pool_a, "Mine, overdue", due_in_hours=-1)
    _case(desk.pool_a, "Postponed", status="postponed", due_in_hours=-5)
    _case(desk.pool_b, "Other pool", due_in_hours=-3)
    # his case in a pool he is not a member of still counts among his cases
    elsewhere = _case(desk.pool_b, "Forwarded to him")
    db.session.execute(
        update(Case)
        .where(Case.id.in_([mine_overdue.id, elsewhere.id]))
        .values(assignee_id=agent.id, status="in_progress")
    )
    db.session.commit()
    with acting_as(agent):
        counts = queues.counts()
    assert (counts.mine, counts.mine_overdue) == (2, 1)
    assert [(p.name, p.waiting, p.overdue) for p in counts.pools] == [("Pool A", 3, 1)]
    with acting_as(desk.user("admin")):
        counts = queues.counts()
    assert [(p.name, p.waiting, p.overdue) for p in counts.pools] == [
        ("Pool A", 3, 1),
        ("Pool B", 2, 1),
    ]


def test_the_navigation_shows_the_counts_on_every_page(client, auth, desk):
    _case(desk.pool_a, "Overdue", due_in_hours=-2)
    auth.login("agent_a")
    page = client.get(f"/cases/show/{desk.case_a.id}").data.decode()
    menu = _menu(page)
    assert "My cases (0)" in page
    assert "Queue (2)" in page
    assert f"/desk/queue?pool={desk.pool_a.id}" in menu
    assert "Pool A (2)" in menu and "1 overdue" in menu and "ld-count-overdue" in menu


def test_due_marks_by_colour_and_icon_in_every_case_list(app, client, auth, desk):
    overdue = _case(desk.pool_a, "Overdue", due_in_hours=-1)
    soon = _case(desk.pool_a, "Soon", due_in_hours=0.5)  # within the hour's warning time
    later = _case(desk.pool_a, "Later", due_in_hours=5)
    postponed = _case(
        desk.pool_a, "Postponed", status="postponed", postponed_until=NOW + timedelta(days=2)
    )
    assert overdue.is_overdue and not overdue.is_due_soon
    assert soon.is_due_soon and not later.is_due_soon and not postponed.is_due_soon
    badge = str(soon.due_badge())
    assert 'class="ld-due-soon"' in badge and "fa-clock-o" in badge and "Due soon" in badge
    badge = str(overdue.due_badge())
    assert 'class="ld-overdue"' in badge and "fa-exclamation-triangle" in badge
    assert "Overdue" in badge
    assert "postponed until" in str(postponed.due_badge())
    auth.login("agent_a")
    for url in ("/desk/queue", "/cases/list/"):
        page = client.get(url).data.decode()
        assert page.count('class="ld-due-soon"') == 1, url
        assert page.count('class="ld-overdue"') == 1, url
    app.config["SLA_WARN_BEFORE_MINUTES"] = 6 * 60
    assert later.is_due_soon


def test_the_api_answers_with_the_same_rules(client, auth, desk):
    with acting_as(desk.user("agent_a")):
        actions.claim(desk.case_a)
    waiting = _case(desk.pool_a, "Waiting", due_in_hours=-1)
    headers = auth.token("agent_a")
    mine = client.get("/api/v1/case/mine", headers=headers)
    assert mine.status_code == 200
    assert mine.json["count"] == 1 and mine.json["ids"] == [desk.case_a.id]
    assert mine.json["result"][0]["number"] == desk.case_a.number
    queue = client.get("/api/v1/case/queue", headers=headers).json
    assert queue["ids"] == [waiting.id] and queue["result"][0]["overdue"] is True
    counts = client.get("/api/v1/case/queue_counts", headers=headers).json["result"]
    assert counts["mine"] == 1
    assert counts["pools"] == [{"id": desk.pool_a.id, "name": "Pool A", "waiting": 1, "overdue": 1}]
    # another pool's queue is not his: 404
    other = client.get(f"/api/v1/case/queue?pool={desk.pool_b.id}", headers=headers)
    assert other.status_code == 404
    # the existing case API keeps answering by id
    assert client.get(f"/api/v1/case/{desk.case_a.id}", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/desk/mine", "/desk/queue"])
def test_the_lists_need_a_login(client, desk, path):
    assert client.get(path).status_code == 302
    assert client.get(f"/api/v1/case{path.removeprefix('/desk')}").status_code == 401


def test_menu_offers_the_lists(client, auth, desk):
    auth.login("agent_a")
    page = client.get("/desk/mine").data.decode()
    assert "My pools&#39; queue" in page or "My pools' queue" in page


def _statements(app, client, url) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    # The test's app context outlives the request: drop what an earlier request memoised, as
    # a real request starts without it.
    g.pop("_record_rule_cache", None)
    connection().delete(queues.COUNTS_KEY)  # the desk's counts too: the page counts again
    db.session.expire_all()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen)


def test_the_queue_page_runs_a_bounded_number_of_statements(app, client, auth, desk):
    auth.login("agent_a")
    client.get("/desk/queue")  # warm: first-request work is not the point
    small = _statements(app, client, "/desk/queue")
    profile = agent_profile(desk.user("agent_a"))
    for n in range(6):
        pool = Pool(name=f"Extra {n}")
        db.session.add(pool)
        db.session.flush()
        db.session.add(PoolMembership(agent_id=profile.id, pool_id=pool.id, priority=1))
        for m in range(10):
            _case(pool, f"Extra {n}.{m}", due_in_hours=m - 3)
    db.session.commit()
    big = _statements(app, client, "/desk/queue")
    assert big == small, (small, big)
    assert big <= 12
    page = client.get("/desk/queue").data.decode()
    assert len(_rows(page)) == queues.PAGE_SIZE


def test_the_desks_queue_counts_are_kept_a_few_seconds(app, desk):
    with acting_as(desk.user("agent_a")):
        assert queues.counts().pools[0].waiting == 1
    g.pop("_record_rule_cache", None)
    _case(desk.pool_a, "New")
    with acting_as(desk.user("agent_a")):
        assert queues.counts().pools[0].waiting == 1  # counted a moment ago
    g.pop("_record_rule_cache", None)
    connection().delete(queues.COUNTS_KEY)  # the seconds have passed
    with acting_as(desk.user("agent_a")):
        assert queues.counts().pools[0].waiting == 2
    app.config["QUEUE_COUNTS_CACHE_SECONDS"] = 0
    g.pop("_record_rule_cache", None)
    _case(desk.pool_a, "Newer")
    with acting_as(desk.user("agent_a")):
        assert queues.counts().pools[0].waiting == 3


def test_a_page_renders_without_counts_when_the_database_fails_them(
    client, auth, desk, monkeypatch
):
    def broken(user=None):
        raise OperationalError("SELECT", {}, Exception("gone"))

    auth.login("agent_a")
    monkeypatch.setattr(queues, "counts", broken)
    page = client.get("/cases/list/")
    assert page.status_code == 200
    assert 'id="ld-get-next"' in page.data.decode()
    assert 'id="ld-my-cases"' not in page.data.decode()

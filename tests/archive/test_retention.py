"""Retention: cases closed longer than CASE_ARCHIVE_AFTER_DAYS move to the archive (a mark and
an Event, never a delete), in batches, idempotently; the daily lists leave them out, the case
list and the API find them when asked; reopening takes a case out of the archive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.audit.actor import acting_as
from app.cases import actions, retention, services
from app.cases.models import Case
from app.cases.tasks import archive_closed_cases, periodic_jobs
from app.core.timeutil import utcnow
from app.extensions import db
from tests.support.records import events, refresh


def _closed_case(desk, subject: str, days_ago: int, pool=None) -> Case:
    with acting_as(None):
        case = services.open_case(
            pool=pool or desk.pool_a, subject=subject, customer=desk.customer_a
        )
        actions.close(case)
        db.session.commit()
    db.session.execute(
        update(Case).where(Case.id == case.id).values(closed_at=utcnow() - timedelta(days=days_ago))
    )
    db.session.commit()
    return refresh(case)


@pytest.fixture
def old_and_recent(desk):
    old = [_closed_case(desk, f"Ancient printer {i}", 800 + i) for i in range(5)]
    recent = _closed_case(desk, "Last month's printer", 30)
    return old, recent


def test_the_job_archives_old_closed_cases_in_batches_once(app, desk, old_and_recent):
    old, recent = old_and_recent
    assert retention.archive_closed_cases(batch=2) == 5  # three transactions: 2, 2, 1
    for case in old:
        case = refresh(case)
        assert case.archived_at is not None and case.status == "closed"
        assert [e.actor_name for e in events(case, "archived")] == ["system"]
        assert events(case, "archived")[0].summary.startswith("Moved to the archive")
    assert refresh(recent).archived_at is None
    assert refresh(desk.case_a).archived_at is None  # open cases never
    # Idempotent: a second run archives nothing and writes no Event.
    count = db.session.scalar(select(func.count()).where(Case.archived_at.is_not(None)))
    assert retention.archive_closed_cases() == 0
    assert db.session.scalar(select(func.count()).where(Case.archived_at.is_not(None))) == count
    assert all(len(events(c, "archived")) == 1 for c in old)
    # Nothing was deleted.
    assert db.session.scalar(select(func.count(Case.id))) == 2 + 6


def test_the_period_is_a_setting(app, desk, old_and_recent):
    app.config["CASE_ARCHIVE_AFTER_DAYS"] = 7
    assert retention.archive_closed_cases() == 6


def test_the_job_is_scheduled(app):
    jobs = {job.func.__name__: job for job in periodic_jobs()}
    assert jobs["archive_closed_cases"].interval == 3600
    assert archive_closed_cases() == 0


def test_daily_lists_leave_archived_cases_out(app, desk, old_and_recent, client, auth):
    old, recent = old_and_recent
    retention.archive_closed_cases()
    auth.login("supervisor_a")
    listed = client.get("/cases/list/?psize_CaseView=100").get_data(as_text=True)
    assert recent.number in listed
    assert all(c.number not in listed for c in old)
    assert 'id="archive-include"' in listed
    included = client.get("/cases/list/?psize_CaseView=100&archived=1").get_data(as_text=True)
    assert all(c.number in included for c in old) and recent.number in included
    assert 'id="archive-exclude"' in included
    # Sorting and paging keep the switch.
    sorted_page = client.get("/cases/list/?archived=1&_oc_CaseView=number&_od_CaseView=asc")
    assert old[0].number in sorted_page.get_data(as_text=True)
    # The API's list: the same.
    api = client.get("/api/v1/case/?q=(page_size:100)").json
    assert {c["number"] for c in api["result"]}.isdisjoint({c.number for c in old})
    api = client.get("/api/v1/case/?q=(page_size:100)&archived=1").json
    assert {c.number for c in old} <= {c["number"] for c in api["result"]}
    # My cases and the queue hold open cases only: never an archived one.
    for url in ("/desk/mine", "/desk/queue"):
        page = client.get(url).get_data(as_text=True)
        assert all(c.number not in page for c in old)
    # The case itself opens as before, marked.
    page = client.get(f"/cases/show/{old[0].id}").get_data(as_text=True)
    assert 'id="case-archived"' in page


def test_reopening_takes_a_case_out_of_the_archive(app, desk, old_and_recent):
    old, _ = old_and_recent
    retention.archive_closed_cases()
    case = refresh(old[0])
    with acting_as(desk.user("supervisor_a")):
        actions.reopen(case, reason="the customer called")
        db.session.commit()
    case = refresh(case)
    assert case.archived_at is None and case.status != "closed"
    change = [e for e in events(case, "changed") if e.field == "archived_at"]
    assert len(change) == 1 and change[0].new_value is None
    assert change[0].actor_id == desk.user("supervisor_a").id
    # Closed again, it waits the whole period before it is archived again.
    assert retention.archive_closed_cases() == 0


def test_a_customer_mail_to_an_archived_case_opens_a_new_case_that_follows_it(
    app, desk, old_and_recent
):
    """The archive is older than any pool's reopen window: the customer's mail opens a new
    case that points at the archived one (which stays archived)."""
    from app.mail import intake
    from tests.mail.helpers import make_mail

    old, _ = old_and_recent
    retention.archive_closed_cases()
    case = refresh(old[0])
    with acting_as(None):
        result = intake.receive(
            make_mail(
                sender="alice@customer.test",
                subject=f"Re: [{case.number}] {case.subject}",
                body="It is broken again.",
            ),
            mailbox=desk.mailbox_a,
            source="test",
        )
    new = db.session.get(Case, result.case_id)
    assert new.id != case.id and new.follows_case_id == case.id
    assert refresh(case).archived_at is not None

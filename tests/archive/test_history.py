"""History: the workspace's thread shows mails in and out, notes and consultations in time
order; one click lists the customer's other cases, as the record rules allow (cases in pools
the user does not work in are only counted); the customer's page lists his cases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.audit.actor import acting_as
from app.cases import services
from app.cases.models import Message, MessageDirection
from app.consultation.models import Department
from app.consultation.services import consult
from app.core.timeutil import utcnow
from app.extensions import db

HTMX = {"HX-Request": "true"}


def _message(case, direction, text, minutes_ago, **extra):
    db.session.add(
        Message(
            case=case,
            direction=direction,
            body_text=text,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
            **extra,
        )
    )


def test_the_thread_shows_every_kind_of_entry_in_time_order(app, desk, client, auth):
    case = desk.case_a
    case.messages[0].created_at = utcnow() - timedelta(minutes=60)  # the first mail
    # Entries written out of order: the thread sorts them by time.
    _message(case, MessageDirection.NOTE, "entry-note", 30, author=desk.user("agent_a"))
    _message(case, MessageDirection.OUTBOUND, "entry-reply", 40, author=desk.user("agent_a"))
    _message(case, MessageDirection.INBOUND, "entry-answer", 20, from_address="alice@customer.test")
    db.session.commit()
    db.session.add(Department(name="Legal", email="legal@example.test"))
    db.session.commit()
    with acting_as(desk.user("agent_a")):
        consult(case, db.session.query(Department).one().id, "entry-consultation question")
        db.session.commit()
    auth.login("agent_a")
    page = client.get(f"/cases/show/{case.id}?order=oldest").get_data(as_text=True)
    order = re.findall(r"entry-[a-z]+|Help with: Printer on fire", page)
    assert order == [
        "Help with: Printer on fire",
        "entry-reply",
        "entry-note",
        "entry-answer",
        "entry-consultation",
    ]
    kinds = re.findall(r'class="ld-kind ld-kind-(inbound|outbound|note|consultation)"', page)
    assert {"inbound", "outbound", "note", "consultation"} <= set(kinds)


@pytest.fixture
def alice_cases(desk):
    """Alice (customer_a) has her case in pool A, an older one in pool A and one in pool B."""
    with acting_as(None):
        older = services.open_case(
            pool=desk.pool_a, subject="Toner smudges", customer=desk.customer_a, commit=False
        )
        older.received_at = utcnow() - timedelta(days=400)
        elsewhere = services.open_case(
            pool=desk.pool_b, subject="Secret salary question", customer=desk.customer_a
        )
    db.session.commit()
    return older, elsewhere


def _panel(client, desk, **args):
    url = f"/cases/customer/{desk.customer_a.id}/cases"
    response = client.get(url, query_string=args, headers=HTMX)
    return response.status_code, response.get_data(as_text=True)


def test_an_agent_sees_his_pools_cases_and_only_a_count_of_the_others(
    app, desk, client, auth, alice_cases
):
    older, elsewhere = alice_cases
    auth.login("agent_a")
    workspace = client.get(f"/cases/show/{desk.case_a.id}").get_data(as_text=True)
    assert 'id="customer-other-cases"' in workspace  # loaded when opened (htmx)
    assert "Toner smudges" not in workspace
    status, panel = _panel(client, desk, besides=desk.case_a.id)
    assert status == 200
    assert older.number in panel and "Toner smudges" in panel
    assert desk.case_a.number not in panel  # the case he is looking at
    assert elsewhere.number not in panel and "Secret salary" not in panel
    assert "1 more in other pools" in panel


@pytest.mark.parametrize("username", ["admin", "manager"])
def test_admins_and_managers_see_every_case_of_the_customer(
    app, desk, client, auth, alice_cases, username
):
    older, elsewhere = alice_cases
    auth.login(username)
    status, panel = _panel(client, desk)
    assert status == 200
    for case in (desk.case_a, older, elsewhere):
        assert case.number in panel
    assert "other pools" not in panel


def test_an_agent_of_another_pool_may_not_look_at_the_customer(app, desk, client, auth):
    """Bob's agent has no case of Alice: her history is not his to see (404, not 'empty')."""
    auth.login("agent_b")
    status, _ = _panel(client, desk)
    assert status == 404


def test_the_customer_page_lists_his_cases(app, desk, client, auth, alice_cases):
    older, _ = alice_cases
    auth.login("supervisor_a")
    page = client.get(f"/customers/show/{desk.customer_a.id}").get_data(as_text=True)
    assert 'id="customer-cases"' in page
    assert f"/cases/customer/{desk.customer_a.id}/cases" in page
    assert 'nonce="' in page.split("htmx.min.js")[1][:80]  # the script carries the CSP nonce
    status, panel = _panel(client, desk)
    assert status == 200 and older.number in panel and desk.case_a.number in panel
    # No export or erasure for a supervisor.
    assert 'id="customer-erase"' not in page

"""The REST API's case list runs a fixed number of statements per page, however many rows it
shows and however many different pools, topics, skills, assignees and customers they have."""

from __future__ import annotations

from flask import g
from sqlalchemy import event

from app.audit.actor import acting_as
from app.cases import services
from app.customers.models import Customer
from app.extensions import db
from app.organisation.models import Skill, Topic


def _many_cases(desk, count: int) -> None:
    """``count`` cases in pool A, each with its own customer, topic and skill, half of them
    assigned (to the agent or the supervisor): nothing a row shows is shared with another."""
    assignees = [desk.user("agent_a"), desk.user("supervisor_a"), None]
    with acting_as(None):
        for n in range(count):
            customer = Customer(email=f"c{n}@many.test", name=f"Customer {n}")
            topic = Topic(name=f"Topic {n}", pool_id=desk.pool_a.id)
            skill = Skill(name=f"Skill {n}")
            db.session.add_all([customer, topic, skill])
            db.session.flush()
            case = services.open_case(
                pool=desk.pool_a,
                subject=f"Case {n}",
                customer=customer,
                mailbox=desk.mailbox_a,
                commit=False,
            )
            case.topic_id, case.required_skill_id = topic.id, skill.id
            assignee = assignees[n % len(assignees)]
            case.assignee_id = assignee.id if assignee is not None else None
    db.session.commit()


def _statements(client, headers, page_size: int) -> tuple[int, dict]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    # The test's app context outlives the request: forget what an earlier request memoised.
    g.pop("_record_rule_cache", None)
    db.session.expire_all()
    db.session.info.clear()
    query = f"(page:0,page_size:{page_size},order_column:number,order_direction:asc)"
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(f"/api/v1/case/?q={query}", headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(seen), response.json


def test_the_case_list_costs_the_same_statements_for_10_rows_as_for_100(app, client, desk, tokens):
    app.config["FAB_API_MAX_PAGE_SIZE"] = 100
    _many_cases(desk, 110)
    headers = tokens("agent_a")
    client.get("/api/v1/case/?q=(page_size:10)", headers=headers)  # warm: first-request work
    ten, small = _statements(client, headers, 10)
    hundred, large = _statements(client, headers, 100)
    assert len(small["result"]) == 10 and len(large["result"]) == 100
    assert hundred == ten
    assert ten <= 8
    # The related fields are still there, from the rows' own relations.
    row = next(r for r in large["result"] if r["subject"] == "Case 1")
    assert row["customer"]["email"] == "c1@many.test"
    assert row["topic"]["id"] and row["required_skill"]["id"]
    assert row["assignee"]["username"] == "supervisor_a"
    assert row["pool"]["name"] == "Pool A"
    # Record rules unchanged: pool B's case is not among pool A's agent's rows.
    assert large["count"] == 111
    assert all(r["pool"]["name"] == "Pool A" for r in large["result"])


def test_a_list_argument_against_the_schema_is_still_refused(client, desk, tokens):
    headers = tokens("agent_a")
    for _ in range(2):  # the second time from the validator kept for the schema
        answer = client.get("/api/v1/case/?q=(order_direction:sideways)", headers=headers)
        assert answer.status_code == 400
        assert "Not a valid rison schema" in answer.json["message"]
    assert client.get("/api/v1/case/?q=(page_size:5)", headers=headers).status_code == 200

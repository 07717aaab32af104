"""The first-run experience: `desk init --demo` builds a living desk a newcomer can log in to."""

from datetime import timedelta

from app.cases.models import Case, Message
from app.core.timeutil import utcnow
from app.extensions import db
from app.organisation.models import Pool


def test_desk_init_creates_admin_and_demo_desk(app, runner, client, tmp_path, monkeypatch):
    monkeypatch.setattr("config.INSTANCE_DIR", tmp_path)
    result = runner.invoke(args=["desk", "init", "--demo"])
    assert result.exit_code == 0, result.output
    assert "Created admin account 'admin'" in result.output
    name, password = (tmp_path / "admin-credentials.txt").read_text().split("\n")[:2]
    assert name == "admin" and len(password) >= 10
    assert db.session.query(Pool).count() == 3
    assert db.session.query(Case).count() == 300
    assert db.session.query(Message).filter_by(direction="outbound").count() > 50
    # machine mail reached the intake and opened no case: it waits on Automatic mail
    from app.mail.models import RawMessage, RawMessageStatus

    automatic = db.session.query(RawMessage).filter_by(status=RawMessageStatus.AUTOMATIC)
    assert automatic.count() == 3 and all(row.case_id is None for row in automatic)

    response = client.post("/login/", data={"username": "admin", "password": password})
    assert response.status_code == 302
    # The list shows the real cases, most urgent first.
    most_urgent = db.session.query(Case).order_by(Case.sla_due_at, Case.id).limit(25).all()
    page = client.get("/cases/list/").get_data(as_text=True)
    assert all(case.number in page for case in most_urgent)
    next_page = db.session.query(Case).order_by(Case.sla_due_at, Case.id).offset(25).first()
    assert next_page.number not in page

    client.get("/logout/")
    client.post("/login/", data={"username": "supervisor", "password": password})
    assert "Out of office" in client.get("/automatic-mail/list/").get_data(as_text=True)

    # demo users of every role log in with the same password and see their own slice
    client.get("/logout/")
    client.post("/login/", data={"username": "agent1", "password": password})
    api = client.get("/api/v1/case/?q=(page_size:100)").json
    assert 0 < api["count"] < 300
    assert {row["pool"]["name"] for row in api["result"]} <= {"Billing"}

    # running init again changes nothing and keeps the credentials
    again = runner.invoke(args=["desk", "init", "--demo"])
    assert again.exit_code == 0 and "Created admin" not in again.output
    assert db.session.query(Case).count() == 300


def test_demo_desk_has_answering_tools_to_show(app, runner):
    from app.answering import templates as answering
    from app.answering.models import Document, PoolLayout, ResponseTemplate
    from app.audit.actor import acting_as

    result = runner.invoke(args=["demo", "seed", "--cases", "10"])
    assert result.exit_code == 0, result.output
    assert db.session.query(ResponseTemplate).filter_by(name="Thank you").count() == 2
    assert db.session.query(PoolLayout).count() == 3
    assert db.session.query(Document).one().current_version is not None
    case = db.session.query(Case).filter(Case.status != "closed").first()
    agent = app.appbuilder.sm.find_user(username="supervisor")
    with acting_as(agent):
        template = answering.templates_for(case)[0]
        assert template.name in {"Thank you", "Need more details"}


def test_the_demo_desk_looks_like_a_working_day(app, runner):
    """Not every case weeks overdue: most open cases are due later today or tomorrow, some
    within two hours, a few overdue by hours (at most two days); others are closed with a
    first response, postponed, in progress with an assignee, awaiting approval."""
    from app.answering.models import Reply

    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    now = utcnow()
    cases = db.session.query(Case).all()
    assert len(cases) == 300
    by_status = {}
    for case in cases:
        by_status.setdefault(case.status, []).append(case)
    open_cases = [c for c in cases if c.is_open and c.status != "postponed"]
    overdue = [c for c in open_cases if c.is_overdue]
    due_soon = [c for c in open_cases if now <= c.sla_due_at < now + timedelta(hours=2)]
    due_later = [c for c in open_cases if c.sla_due_at >= now + timedelta(hours=2)]
    share = len(open_cases) / 100
    assert 5 * share <= len(overdue) <= 25 * share, len(overdue)
    assert 8 * share <= len(due_soon) <= 30 * share, len(due_soon)
    assert len(due_later) >= 50 * share, len(due_later)
    assert all(now - c.sla_due_at <= timedelta(days=2) for c in overdue)
    assert all(c.sla_due_at <= now + timedelta(days=2) for c in open_cases)

    closed = by_status["closed"]
    assert 60 <= len(closed) <= 150
    assert all(c.first_response_at and c.closed_at and c.closed_at <= now for c in closed)
    assert all(c.first_response_at <= c.closed_at for c in closed)
    postponed = by_status["postponed"]
    assert 5 <= len(postponed) <= 40
    assert all(c.postponed_until > now and not c.is_overdue for c in postponed)
    in_progress = by_status["in_progress"]
    assert len(in_progress) >= 50 and all(c.assignee is not None for c in in_progress)
    assert any(c.first_response_at for c in in_progress)
    assert 15 <= len(by_status["received"]) <= 100
    assert all(c.assignee is None for c in by_status["received"])
    waiting = by_status["awaiting_approval"]
    assert 2 <= len(waiting) <= 25
    pending = {r.case_id for r in db.session.query(Reply).filter_by(status="pending_approval")}
    assert pending == {c.id for c in waiting}
    assert by_status.get("under_consultation")

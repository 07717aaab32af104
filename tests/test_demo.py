"""The first-run experience: `desk init --demo` builds a living desk a newcomer can log in to."""

from app.cases.models import Case, Message
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
    statuses = {s for (s,) in db.session.query(Case.status).distinct()}
    assert {"received", "in_progress", "closed"} <= statuses
    assert db.session.query(Message).filter_by(direction="outbound").count() > 50

    response = client.post("/login/", data={"username": "admin", "password": password})
    assert response.status_code == 302
    page = client.get("/cases/list/").data.decode()
    assert "LD-000001" in page or "LD-0000" in page

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
    from app.answering import services as answering
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

"""Shared fixtures: a fresh, migrated database for every test, and a small desk to test on.

The schema is built once per session with the real Alembic migrations (so every test also
proves the migrations), then copied for each test: a file copy on SQLite, ``CREATE DATABASE
… TEMPLATE`` on PostgreSQL (``LOOPDESK_TEST_BACKEND=postgresql`` with ``TEST_DATABASE_URL``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKEND = os.environ.get("LOOPDESK_TEST_BACKEND", "sqlite")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
PASSWORD = "pw-{}"


def base_config(db_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        "FILE_STORE": str(tmp_path / "files"),
        "MAIL_SUPPRESS_SEND": True,
        "FAB_API_SWAGGER_UI": True,
    }


def build_schema(db_url: str, tmp_path) -> None:
    """Run the migrations and create the roles on an empty database."""
    from flask_migrate import upgrade

    from app import create_app
    from app.security.bootstrap import ensure_roles

    app = create_app(base_config(db_url, tmp_path))
    with app.app_context():
        upgrade()
        ensure_roles()
        from app.extensions import db

        db.session.commit()
        db.session.remove()
        db.engine.dispose()


class SqliteDatabases:
    def __init__(self, tmp_factory):
        self.dir = tmp_factory.mktemp("db")
        self.template = self.dir / "template.db"
        build_schema(f"sqlite:///{self.template}", self.dir)
        self.counter = itertools.count()

    def new(self) -> str:
        path = self.dir / f"test-{next(self.counter)}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = make_url(url).database
        if path and os.path.exists(path):
            os.unlink(path)

    def close(self):
        pass


class PostgresDatabases:
    def __init__(self, tmp_factory):
        self.base = make_url(TEST_DATABASE_URL)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.prefix = f"ld_{uuid.uuid4().hex[:8]}"
        self.template_name = f"{self.prefix}_tpl"
        self._exec(f'CREATE DATABASE "{self.template_name}"')
        build_schema(self._url(self.template_name), tmp_factory.mktemp("pg"))
        self.counter = itertools.count()

    def _exec(self, sql: str):
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def _url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def new(self) -> str:
        name = f"{self.prefix}_{next(self.counter)}"
        self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
        return self._url(name)

    def drop(self, url: str) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self):
        self._exec(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    if BACKEND == "postgresql":
        if not TEST_DATABASE_URL:
            pytest.exit("LOOPDESK_TEST_BACKEND=postgresql needs TEST_DATABASE_URL", 2)
        dbs = PostgresDatabases(tmp_path_factory)
    else:
        dbs = SqliteDatabases(tmp_path_factory)
    yield dbs
    dbs.close()


@pytest.fixture
def db_url(databases):
    url = databases.new()
    yield url
    databases.drop(url)


@pytest.fixture
def app_config(db_url, tmp_path):
    """Settings of the test app; tests may change them before asking for ``app``."""
    return base_config(db_url, tmp_path)


@pytest.fixture
def app(app_config):
    """A desk on a fresh database, with an app context pushed for the test body."""
    from app import create_app
    from app.extensions import db

    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Desk:
    """A small desk: two pools with an agent each, a supervisor of pool A, a manager, an
    admin, and cases in both pools."""

    pool_a: object = None
    pool_b: object = None
    users: dict = field(default_factory=dict)
    case_a: object = None
    case_b: object = None
    mailbox_a: object = None
    mailbox_b: object = None
    customer_a: object = None
    customer_b: object = None

    def user(self, name):
        return self.users[name]


def make_desk():
    from app.agents.models import AgentProfile, PoolMembership
    from app.audit.actor import acting_as
    from app.cases import services
    from app.cases.models import Message, MessageDirection
    from app.customers.models import Customer
    from app.extensions import db
    from app.mail.models import Mailbox
    from app.organisation.models import Pool
    from app.security.bootstrap import create_user

    desk = Desk()
    desk.pool_a = Pool(name="Pool A", sla_hours=8)
    desk.pool_b = Pool(name="Pool B", sla_hours=24)
    desk.mailbox_a = Mailbox(address="a@desk.test", pool=desk.pool_a)
    desk.mailbox_b = Mailbox(address="b@desk.test", pool=desk.pool_b)
    db.session.add_all([desk.pool_a, desk.pool_b, desk.mailbox_a, desk.mailbox_b])
    db.session.flush()
    specs = [
        ("admin", "Admin", None, False),
        ("manager", "Manager", None, False),
        ("supervisor_a", "Supervisor", desk.pool_a, True),
        ("agent_a", "Agent", desk.pool_a, False),
        ("agent_b", "Agent", desk.pool_b, False),
    ]
    for username, role, pool, supervises in specs:
        user = create_user(username, role, password=PASSWORD.format(username))
        desk.users[username] = user
        if pool is not None:
            profile = AgentProfile(user_id=user.id)
            db.session.add(profile)
            db.session.flush()
            db.session.add(PoolMembership(agent_id=profile.id, pool_id=pool.id, priority=1,
                                          is_supervisor=supervises))
    desk.customer_a = Customer(email="alice@customer.test", name="Alice")
    desk.customer_b = Customer(email="bob@customer.test", name="Bob")
    db.session.add_all([desk.customer_a, desk.customer_b])
    with acting_as(None):
        desk.case_a = services.open_case(pool=desk.pool_a, subject="Printer on fire",
                                         customer=desk.customer_a, mailbox=desk.mailbox_a,
                                         commit=False)
        desk.case_b = services.open_case(pool=desk.pool_b, subject="Invoice wrong",
                                         customer=desk.customer_b, mailbox=desk.mailbox_b,
                                         commit=False)
        for case, customer in ((desk.case_a, desk.customer_a), (desk.case_b, desk.customer_b)):
            db.session.add(Message(case=case, direction=MessageDirection.INBOUND,
                                   from_address=customer.email, subject=case.subject,
                                   body_text=f"Help with: {case.subject}"))
    db.session.commit()
    return desk


@pytest.fixture
def desk(app):
    return make_desk()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username: str):
        response = self.client.post(
            "/login/", data={"username": username, "password": PASSWORD.format(username)}
        )
        assert response.status_code == 302, f"login of {username} failed"
        return response

    def logout(self):
        return self.client.get("/logout/")

    def token(self, username: str) -> dict:
        """Bearer header for the REST API (JWT login)."""
        response = self.client.post(
            "/api/v1/security/login",
            json={"username": username, "password": PASSWORD.format(username),
                  "provider": "db"},
        )
        assert response.status_code == 200, response.data
        return {"Authorization": f"Bearer {response.json['access_token']}"}


@pytest.fixture
def auth(client):
    return Auth(client)


def requires_postgres():
    return pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL"
    )


def requires_redis():
    return pytest.mark.skipif(not TEST_REDIS_URL, reason="needs Redis: set TEST_REDIS_URL")

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
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.features import import_models

# Every model is mapped before a test module imports a view (views inspect their models).
import_models()

BACKEND = os.environ.get("LOOPDESK_TEST_BACKEND", "sqlite")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
PASSWORD = "pw-{}"


def base_config(db_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": None,
        "EMBEDDED_WORKER": False,
        "FILE_STORE": str(tmp_path / "files"),
        "MAIL_SUPPRESS_SEND": True,
        "FAB_API_SWAGGER_UI": True,
        # Test databases are swapped by copying files; a WAL file would outlive the swap.
        "SQLITE_WAL": False,
        # Fast hashing for the test accounts (production keeps scrypt).
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
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
    """The template is a migrated SQLite file; a test's database is a fresh copy of it."""

    def __init__(self, tmp_factory):
        self.dir = tmp_factory.mktemp("db")
        self.template = self.dir / "template.db"
        build_schema(f"sqlite:///{self.template}", self.dir)
        self.counter = itertools.count()

    def url(self, name: str) -> str:
        return f"sqlite:///{self.dir / (name + '.db')}"

    def reset(self, url: str) -> None:
        """(Re)create the database at ``url`` as a copy of the template (and drop the old
        database's write-ahead log, which would otherwise be replayed into the copy)."""
        path = make_url(url).database
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        shutil.copyfile(self.template, path)

    def new(self) -> str:
        url = self.url(f"test-{next(self.counter)}")
        self.reset(url)
        return url

    def drop(self, url: str) -> None:
        path = make_url(url).database
        for name in (path, path + "-wal", path + "-shm"):
            if name and os.path.exists(name):
                os.unlink(name)

    def close(self):
        pass


class PostgresDatabases:
    """The template is a migrated database; a test's database is CREATE DATABASE … TEMPLATE."""

    def __init__(self, tmp_factory):
        self.base = make_url(TEST_DATABASE_URL)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.prefix = f"ld_{uuid.uuid4().hex[:8]}"
        self.template_name = f"{self.prefix}_tpl"
        self._exec(f'CREATE DATABASE "{self.template_name}"')
        build_schema(self.url("tpl"), tmp_factory.mktemp("pg"))
        self.counter = itertools.count()

    def _exec(self, sql: str):
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def url(self, name: str) -> str:
        return self.base.set(database=f"{self.prefix}_{name}").render_as_string(hide_password=False)

    def reset(self, url: str) -> None:
        name = make_url(url).database
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')

    def new(self) -> str:
        url = self.url(str(next(self.counter)))
        self.reset(url)
        return url

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
    """A fresh database of its own, for tests that build their own app or processes."""
    url = databases.new()
    yield url
    databases.drop(url)


SHARED_DB = "shared"


@pytest.fixture
def app_config(databases, _shared_app, tmp_path):
    """Settings of the test app; a test may change them before it asks for ``app`` (it then
    gets an app of its own, built with those settings). The shared database exists from here
    on (``_shared_app``), so a test may also build an app from these settings itself."""
    return base_config(databases.url(SHARED_DB), tmp_path)


@pytest.fixture(scope="session")
def _shared_app(databases, tmp_path_factory):
    """One app for all tests that use the default settings: building an AppBuilder app takes
    about a second, a fresh database (file copy / template clone) a few milliseconds."""
    from app import create_app

    url = databases.url(SHARED_DB)
    databases.reset(url)
    app = create_app(base_config(url, tmp_path_factory.mktemp("shared")))
    return app, dict(app.config)


def _is_default(config: dict, databases) -> bool:
    default = base_config(databases.url(SHARED_DB), Path("/unused"))
    return all(config.get(k) == v for k, v in default.items() if k != "FILE_STORE") and set(
        config
    ) == set(default)


@pytest.fixture
def app(app_config, databases, _shared_app, tmp_path):
    """A desk on a fresh database, with an app context pushed for the test body."""
    from app import create_app
    from app.extensions import db

    if _is_default(app_config, databases):
        app, pristine = _shared_app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.reset(app_config["SQLALCHEMY_DATABASE_URI"])
        app.config.clear()
        app.config.update(pristine)
        app.config["FILE_STORE"] = app_config["FILE_STORE"]
        from app.jobs.queue import connection

        connection(app).flushall()
        owned = False
    else:
        config = dict(app_config)
        if config["SQLALCHEMY_DATABASE_URI"] == databases.url(SHARED_DB):
            config["SQLALCHEMY_DATABASE_URI"] = databases.new()
        app = create_app(config)
        owned = True
    with app.app_context():
        yield app
        db.session.remove()
    with app.app_context():
        db.engine.dispose()
    if owned and app.config["SQLALCHEMY_DATABASE_URI"] != databases.url(SHARED_DB):
        databases.drop(app.config["SQLALCHEMY_DATABASE_URI"])


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
            db.session.add(
                PoolMembership(
                    agent_id=profile.id, pool_id=pool.id, priority=1, is_supervisor=supervises
                )
            )
    desk.customer_a = Customer(email="alice@customer.test", name="Alice")
    desk.customer_b = Customer(email="bob@customer.test", name="Bob")
    db.session.add_all([desk.customer_a, desk.customer_b])
    with acting_as(None):
        desk.case_a = services.open_case(
            pool=desk.pool_a,
            subject="Printer on fire",
            customer=desk.customer_a,
            mailbox=desk.mailbox_a,
            commit=False,
        )
        desk.case_b = services.open_case(
            pool=desk.pool_b,
            subject="Invoice wrong",
            customer=desk.customer_b,
            mailbox=desk.mailbox_b,
            commit=False,
        )
        for case, customer in ((desk.case_a, desk.customer_a), (desk.case_b, desk.customer_b)):
            db.session.add(
                Message(
                    case=case,
                    direction=MessageDirection.INBOUND,
                    from_address=customer.email,
                    subject=case.subject,
                    body_text=f"Help with: {case.subject}",
                )
            )
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
            json={"username": username, "password": PASSWORD.format(username), "provider": "db"},
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


def submit_form(client, url: str, changes: dict):
    """Post the form at ``url`` as a browser would: every field's current value, with
    ``changes`` applied (unchecked checkboxes are left out, as browsers do)."""
    from html.parser import HTMLParser

    class FormParser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.values, self._select, self._first = {}, None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") == "checkbox":
                    if "checked" in a:
                        self.values[name] = a.get("value", "y")
                else:
                    self.values[name] = a.get("value", "")
            elif tag == "select" and name:
                self._select, self._first = name, None
            elif tag == "option" and self._select:
                if self._first is None:
                    self._first = a.get("value", "")
                    self.values.setdefault(self._select, self._first)
                if "selected" in a:
                    self.values[self._select] = a.get("value", "")

        def handle_endtag(self, tag):
            if tag == "select":
                self._select = None

    page = client.get(url)
    assert page.status_code == 200, f"GET {url}: {page.status_code}"
    parser = FormParser()
    parser.feed(page.data.decode())
    data = {k: v for k, v in parser.values.items() if k != "csrf_token"}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(url, data=data)

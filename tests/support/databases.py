"""Test databases: a migrated template built once per session, copied for each test (a file
copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL with
``LOOPDESK_TEST_BACKEND=postgresql`` and ``TEST_DATABASE_URL``), and the test app's settings."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKEND = os.environ.get("LOOPDESK_TEST_BACKEND", "sqlite")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


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


def requires_postgres():
    return pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL"
    )


def requires_redis():
    return pytest.mark.skipif(not TEST_REDIS_URL, reason="needs Redis: set TEST_REDIS_URL")

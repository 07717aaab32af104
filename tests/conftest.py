"""Shared fixtures: a fresh, migrated database for every test, and a small desk to test on.

The helpers behind them live in ``tests/support`` (databases, the desk, logins, forms).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.features import import_models
from tests.support.databases import (
    BACKEND,
    TEST_DATABASE_URL,
    PostgresDatabases,
    SqliteDatabases,
    base_config,
)
from tests.support.desk import Auth, make_desk
from tests.support.jobs import check_no_failed_jobs, failed_job_ids, failed_jobs

# Every model is mapped before a test module imports a view (views inspect their models).
import_models()


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
def app(request, app_config, databases, _shared_app, tmp_path):
    """A desk on a fresh database, with an app context pushed for the test body."""
    from app import create_app
    from app.extensions import db
    from app.jobs.queue import connection

    if _is_default(app_config, databases):
        app, pristine = _shared_app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.reset(app_config["SQLALCHEMY_DATABASE_URI"])
        app.config.clear()
        app.config.update(pristine)
        app.config["FILE_STORE"] = app_config["FILE_STORE"]
        connection(app).flushall()
        if app.appbuilder.sm.limiter.enabled:
            app.appbuilder.sm.limiter.reset()  # the portal's rate limits count per test
        owned = False
    else:
        config = dict(app_config)
        if config["SQLALCHEMY_DATABASE_URI"] == databases.url(SHARED_DB):
            config["SQLALCHEMY_DATABASE_URI"] = databases.new()
        app = create_app(config)
        owned = True
    queues = app.config["RQ_QUEUES"]
    earlier = frozenset(failed_job_ids(connection(app), queues))  # a real Redis keeps them
    with app.app_context():
        yield app
        db.session.remove()
        failed = failed_jobs(connection(app), queues, before=earlier)
    with app.app_context():
        db.engine.dispose()
    if owned and app.config["SQLALCHEMY_DATABASE_URI"] != databases.url(SHARED_DB):
        databases.drop(app.config["SQLALCHEMY_DATABASE_URI"])
    check_no_failed_jobs(request, failed)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def desk(app):
    return make_desk()


@pytest.fixture
def auth(client):
    return Auth(client)

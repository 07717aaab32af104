"""`flask db upgrade` from empty yields exactly the models: no pending autogenerate diff."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.search.models import include_name
from tests.support.databases import TEST_DATABASE_URL, base_config, requires_postgres


def _upgrade_and_diff(url, tmp_path):
    from flask_appbuilder import Model
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        upgrade()
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # The search index's FTS5 table and GIN/trigram indexes are the migration's own.
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            diff = compare_metadata(context, Model.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    return diff, tables


def test_upgrade_on_empty_sqlite_matches_the_models(tmp_path):
    diff, tables = _upgrade_and_diff(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    assert diff == []
    assert {"case", "message", "event", "raw_message", "ab_user", "pool"} <= tables


@requires_postgres()
def test_upgrade_on_empty_postgresql_matches_the_models(tmp_path):
    from sqlalchemy.engine import make_url

    base = make_url(TEST_DATABASE_URL)
    name = f"ld_migr_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        diff, tables = _upgrade_and_diff(url, tmp_path)
        assert diff == []
        assert {"case", "message", "event"} <= tables
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_downgrade_to_empty_and_up_again(tmp_path):
    from flask_migrate import downgrade, upgrade

    from app import create_app

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert "case" in inspect(conn).get_table_names()
    engine.dispose()


pytestmark = pytest.mark.filterwarnings("ignore")

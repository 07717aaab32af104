"""Migration 0025 turns every old intake_form row into a form (same id, topics keep their
link) with one version in the form-schema format; its downgrade puts the schema back."""

from __future__ import annotations

import json

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db as app_db
from forms_designer.schema import validate_schema
from tests.support.databases import base_config

REVISION = "0025"


def _exec(url, statements):
    engine = create_engine(url)
    with engine.begin() as conn:
        for sql, params in statements:
            conn.execute(text(sql), params)
    engine.dispose()


def _query(url, sql):
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def _migrate(app, step, revision):
    with app.app_context():
        step(revision=revision)
        app_db.session.remove()
        app_db.engine.dispose()


OLD_FIELDS = [
    {"name": "Invoice no", "label": "Invoice number", "type": "text", "required": True},
    {"name": "reason", "label": "Reason", "type": "select", "choices": ["Copy", "Wrong"]},
    {"name": "reason", "label": "Why else", "type": "textarea"},
    {"name": "9lives", "label": "Lives", "type": "mystery"},
]


@pytest.mark.filterwarnings("ignore")
def test_old_forms_become_forms_with_one_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        from alembic.script import ScriptDirectory

        before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    _migrate(app, upgrade, before)
    form = (
        "INSERT INTO intake_form (id, name, version, schema, published, created_at) "
        "VALUES (:id, :name, :version, :schema, :published, '2026-11-30 10:00:00')"
    )
    _exec(
        url,
        [
            (
                form,
                {
                    "id": 1,
                    "name": "Refund",
                    "version": 2,
                    "schema": json.dumps(OLD_FIELDS),
                    "published": 1,
                },
            ),
            (form, {"id": 2, "name": "Empty draft", "version": 1, "schema": "[]", "published": 0}),
            (
                "INSERT INTO topic (id, name, form_id, active, position) VALUES (1, 'Refunds', 1, 1, 0)",
                {},
            ),
        ],
    )
    _migrate(app, upgrade, REVISION)

    assert _query(url, "SELECT id, name, pool_id FROM intake_form ORDER BY id") == [
        (1, "Refund", None),
        (2, "Empty draft", None),
    ]
    assert _query(url, "SELECT form_id FROM topic") == [(1,)]
    versions = _query(
        url,
        "SELECT form_id, number, status, published_at IS NOT NULL, schema "
        "FROM intake_form_version ORDER BY form_id",
    )
    assert [v[:4] for v in versions] == [(1, 2, "current", 1), (2, 1, "draft", 0)]
    schema = json.loads(versions[0][4])
    assert validate_schema(schema, dictionaries={}) == []
    assert [(f["key"], f["type"]) for f in schema["fields"]] == [
        ("invoice_no", "short_text"),
        ("reason", "single_choice"),
        ("reason_2", "long_text"),
        ("f_9lives", "short_text"),
    ]
    assert schema["fields"][1]["options"] == [
        {"value": "Copy", "label": {"en": "Copy"}},
        {"value": "Wrong", "label": {"en": "Wrong"}},
    ]
    assert json.loads(versions[1][4]) == {"languages": ["en"], "fields": []}

    _migrate(app, downgrade, before)
    rows = _query(url, "SELECT id, version, published, schema FROM intake_form ORDER BY id")
    assert [r[:3] for r in rows] == [(1, 2, 1), (2, 1, 0)]
    assert json.loads(rows[0][3]) == schema
    assert _query(url, "SELECT form_id FROM topic") == [(1,)]

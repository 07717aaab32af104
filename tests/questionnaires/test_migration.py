"""Migration 0013 moves each pool's wrap-up text into a questionnaire and the old wrap-up
Events' answers into Answer rows; its downgrade writes the text back."""

from __future__ import annotations

import json

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db as app_db
from tests.support.databases import base_config

REVISION = "0013"


def _before(app) -> str:
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        return ScriptDirectory.from_config(config).get_revision(REVISION).down_revision


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


def _old_desk(url):
    now = "2026-11-30 10:00:00"
    pool = (
        "INSERT INTO pool (id, name, active, reopen_days, notification_mode, "
        "auto_response_enabled, wrap_up_questions) VALUES (:id, :name, 1, 14, 'full', 0, :text)"
    )
    case = (
        'INSERT INTO "case" (id, number, subject, pool_id, status, priority, received_at, '
        "updated_at) VALUES (:id, :number, 'x', :pool, 'closed', 2, :now, :now)"
    )
    event = (
        "INSERT INTO event (created_at, actor_name, case_id, object_type, action, details) "
        "VALUES (:now, 'agent1', :case, 'case', 'wrap_up', :details)"
    )
    answers = {"Was it solved?": "yes", "Refund?": "", "A question since removed": "x"}
    _exec(
        url,
        [
            (pool, {"id": 1, "name": "Billing", "text": "*Was it solved?\n\n  Refund?  \n"}),
            (pool, {"id": 2, "name": "Sales", "text": None}),
            (case, {"id": 1, "number": "LD-1", "pool": 1, "now": now}),
            (case, {"id": 2, "number": "LD-2", "pool": 2, "now": now}),
            (event, {"now": now, "case": 1, "details": json.dumps({"answers": answers})}),
            (event, {"now": now, "case": 2, "details": json.dumps({"answers": {"Q": "a"}})}),
        ],
    )


@pytest.mark.filterwarnings("ignore")
def test_the_wrap_up_text_and_its_answers_move_into_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(base_config(url, tmp_path))
    before = _before(app)
    with app.app_context():
        upgrade(revision=before)
        app_db.session.remove()
        app_db.engine.dispose()
    _old_desk(url)
    with app.app_context():
        upgrade(revision=REVISION)
        app_db.session.remove()
        app_db.engine.dispose()

    assert _query(url, "SELECT name, purpose, pool_id, asked_on, active FROM questionnaire") == [
        ("Wrap-up Billing", "wrap_up", 1, "close", 1)
    ]
    assert _query(url, "SELECT position, text, kind, required FROM question ORDER BY position") == [
        (1, "Was it solved?", "text", 1),
        (2, "Refund?", "text", 0),
    ]
    # Only non-empty answers to questions that still exist; the Events stay as they were.
    assert _query(
        url,
        "SELECT a.case_id, q.text, a.value_text, a.context FROM questionnaire_answer a "
        "JOIN question q ON q.id = a.question_id",
    ) == [(1, "Was it solved?", "yes", "close")]
    assert _query(url, "SELECT count(*) FROM event WHERE action = 'wrap_up'") == [(2,)]
    engine = create_engine(url)
    columns = {c["name"] for c in inspect(engine).get_columns("pool")}
    engine.dispose()
    assert "wrap_up_questions" not in columns and "close_policy" in columns
    assert _query(url, "SELECT DISTINCT close_policy FROM pool") == [("agents",)]

    with app.app_context():
        downgrade(revision=before)
        app_db.session.remove()
        app_db.engine.dispose()
    assert _query(url, "SELECT id, wrap_up_questions FROM pool ORDER BY id") == [
        (1, "*Was it solved?\nRefund?"),
        (2, None),
    ]

"""The customer's intake answers as rows of the case: one per value, labels in the desk's
language, shown atop the workspace, filterable in the lists, never deleted."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, event, text

from app.audit.actor import acting_as
from app.cases import actions, queues
from app.cases.intake_answers import answers_of, record_intake_answers
from app.cases.models import CaseIntakeAnswer
from app.errors import DeletionForbidden
from app.extensions import db
from app.security.rules import visible
from forms_designer.models import IntakeForm, IntakeFormVersion
from tests.support.records import events

SCHEMA = {
    "languages": ["en", "pl"],
    "fields": [
        {"key": "intro", "type": "heading", "label": {"en": "About you", "pl": "O tobie"}},
        {
            "key": "reason",
            "type": "single_choice",
            "label": {"en": "What do you need?", "pl": "Czego potrzebujesz?"},
            "options": [
                {"value": "copy", "label": {"en": "A copy of an invoice", "pl": "Kopia"}},
                {"value": "fix", "label": {"en": "A corrected invoice", "pl": "Korekta"}},
            ],
        },
        {
            "key": "months",
            "type": "multiple_choice",
            "label": {"en": "Which months?", "pl": "Które miesiące?"},
            "options": [
                {"value": "jan", "label": {"en": "January"}},
                {"value": "feb", "label": {"en": "February"}},
                {"value": "mar", "label": {"en": "March"}},
            ],
        },
        {"key": "invoice_no", "type": "short_text", "label": {"pl": "Numer faktury"}},
        {"key": "paper", "type": "checkbox", "label": {"en": "Also by post"}},
        {"key": "since", "type": "date", "label": {"en": "Since"}},
        {"key": "note", "type": "long_text", "label": {"en": "Anything else?"}},
    ],
}
ANSWERS = {
    "reason": "copy",
    "months": ["jan", "mar"],
    "invoice_no": "FV/2026/117",
    "paper": False,
    "since": date(2026, 11, 1),
    "note": "",  # not answered: no row
    "stray": "not in the form",  # ignored
}


def _record(case):
    form = IntakeForm(name=f"Form of {case.number}", pool=case.pool)
    version = IntakeFormVersion(form=form, number=1, status="current", schema=SCHEMA)
    db.session.add_all([form, version])
    db.session.flush()
    rows = record_intake_answers(case, version.id, SCHEMA, ANSWERS)
    db.session.commit()
    return rows


def test_one_row_per_value_in_the_forms_order(desk):
    [first, *_] = _record(desk.case_a)
    rows = answers_of(desk.case_a)
    assert [(r.field_key, r.label, r.value_text, r.value_label) for r in rows] == [
        ("reason", "What do you need?", "copy", "A copy of an invoice"),
        ("months", "Which months?", "jan", "January"),
        ("months", "Which months?", "mar", "March"),
        # No English label: the form's first language that has one.
        ("invoice_no", "Numer faktury", "FV/2026/117", None),
        ("paper", "Also by post", "no", None),
        ("since", "Since", "2026-11-01", None),
    ]
    assert {r.form_version_id for r in rows} == {first.form_version_id} != {None}
    assert [r.position for r in rows] == list(range(6))
    [event_row] = events(desk.case_a, "intake_answers")
    assert event_row.new_value == "6 answer(s)"


def test_answers_are_never_deleted(desk):
    _record(desk.case_a)
    row = answers_of(desk.case_a)[0]
    db.session.delete(row)
    with pytest.raises(DeletionForbidden):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(DeletionForbidden):
        db.session.execute(delete(CaseIntakeAnswer))
    db.session.rollback()
    with pytest.raises(Exception, match="never deleted"):
        db.session.execute(text("DELETE FROM case_intake_answer"))
    db.session.rollback()
    assert len(answers_of(desk.case_a)) == 6


def test_the_workspace_shows_the_answers_at_the_top_in_one_statement(app, client, auth, desk):
    _record(desk.case_a)
    auth.login("agent_a")
    statements = []

    def count(conn, cursor, statement, *args):
        if "case_intake_answer" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = client.get(f"/cases/show/{desk.case_a.id}").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    panel = page[page.index('id="case-intake-answers"') :]
    assert panel.index("s answers") < panel.index('id="case-conversation"')
    assert "What do you need?" in panel and "A copy of an invoice" in panel
    assert "January, March" in panel  # a multiple choice on one line
    assert "FV/2026/117" in panel
    # A case without answers shows no panel.
    auth.login("agent_b")
    other = client.get(f"/cases/show/{desk.case_b.id}").get_data(as_text=True)
    assert 'id="case-intake-answers"' not in other


def test_the_lists_filter_by_an_answer(client, auth, desk):
    _record(desk.case_a)
    with acting_as(desk.user("agent_a")):
        assert [c.id for c in queues.queue(answer="FV/2026").cases] == [desk.case_a.id]
        assert [c.id for c in queues.queue(answer="a copy").cases] == [desk.case_a.id]
        assert [c.id for c in queues.queue(answer="reason=copy").cases] == [desk.case_a.id]
        assert queues.queue(answer="months=copy").cases == []  # another field
        assert queues.queue(answer="nothing like it").total == 0
        actions.claim(desk.case_a)
        assert [c.id for c in queues.my_cases(answer="march").cases] == [desk.case_a.id]
        assert queues.my_cases(answer="february").total == 0
    auth.login("agent_a")
    page = client.get("/desk/mine?answer=jan").get_data(as_text=True)
    assert desk.case_a.number in page and 'value="jan"' in page
    assert desk.case_a.number not in client.get("/desk/mine?answer=zzz").get_data(as_text=True)
    api = client.get("/api/v1/case/mine?answer=FV").get_json()
    assert api["ids"] == [desk.case_a.id] and api["count"] == 1


def test_the_answer_filter_keeps_the_record_rules(desk):
    _record(desk.case_a)
    with acting_as(desk.user("agent_b")):  # pool B only: case A is not his
        assert queues.queue(answer="copy").cases == []


def test_answers_are_seen_by_who_sees_the_case(desk):
    _record(desk.case_a)
    for username, expected in (("agent_a", 6), ("agent_b", 0), ("manager", 6)):
        query = visible(db.session.query(CaseIntakeAnswer), CaseIntakeAnswer, desk.user(username))
        assert query.count() == expected, username

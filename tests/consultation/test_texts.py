"""The consultation notices are system templates: reworded per language in the template
editor, which knows their placeholders (and only theirs)."""

from __future__ import annotations

from sqlalchemy import select

from app.answering.models import ResponseTemplate
from app.extensions import db


def _save(client, name, body):
    return client.post(
        "/answering/templates/add",
        data={"name": name, "language": "en", "subject": "Reminder", "body": body, "active": "y"},
        follow_redirects=True,
    )


def test_the_template_editor_accepts_consultation_placeholders_only_in_those_notices(
    client, auth, desk
):
    auth.login("admin")
    _save(client, "notice.consultation_reminder", "{{ department_name }}: {{ question }}")
    page = _save(client, "greeting", "{{ department_name }}").get_data(as_text=True)
    names = set(db.session.scalars(select(ResponseTemplate.name)))
    assert "notice.consultation_reminder" in names
    assert "greeting" not in names
    assert "department_name" in page  # the refusal names the unknown placeholder

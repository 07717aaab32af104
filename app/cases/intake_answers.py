"""The customer's answers to a topic's intake form, stored with the case as rows.

The portal validates a submission against the published form version (``forms_designer``)
and then calls ``record_intake_answers(case, version_id, schema, answers)``: one
``CaseIntakeAnswer`` per answered field, and one per selected value of a multiple choice, in
the form's order, with the field's label and the option's label in the desk's language as
they were at that moment (a later version of the form changes neither). The agent's
workspace shows them at the top (``answers_of``: one statement); the lists filter by them
(``cases_with_answer``); reports count them per ``field_key`` and ``value_text``.

Cases sit below the forms designer, so the schema is read here as plain JSON (the designer's
format: ``{"languages": [...], "fields": [{"key", "type", "label": {lang: text},
"options": [{"value", "label"}]}, ...]}``); fields that collect nothing (headings, help
texts) and unanswered fields make no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select

from app.audit.tracking import record_event
from app.cases.models import Case, CaseIntakeAnswer
from app.errors import DeskError
from app.extensions import db

DISPLAY_TYPES = frozenset({"heading", "help_text"})
LABEL_LENGTH = 500
KEY_LENGTH = 191
MAX_ANSWER_LENGTH = 20_000


def desk_language() -> str:
    if has_app_context():
        return (current_app.config.get("DESK_DEFAULT_LANGUAGE") or "en").lower()
    return "en"


def text_in(texts: Any, language: str, languages: Sequence[str] = ()) -> str:
    """A per-language text (``{"en": …, "pl": …}`` or a plain string) in ``language``, else
    the form's first language that has one, else English, else any."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, Mapping):
        return ""
    for candidate in (language, *languages, "en"):
        value = texts.get(candidate)
        if isinstance(value, str) and value.strip():
            return value
    return next((v for v in texts.values() if isinstance(v, str) and v.strip()), "")


def _fields(schema: Any) -> list[Mapping]:
    fields = schema.get("fields") if isinstance(schema, Mapping) else schema
    if not isinstance(fields, list):
        return []
    return [f for f in fields if isinstance(f, Mapping) and isinstance(f.get("key"), str)]


def _as_text(value: Any) -> str | None:
    """One answer value as text: ``yes``/``no`` for a checkbox, ISO for dates, the name of
    an uploaded file; None for nothing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    filename = getattr(value, "filename", None)
    if filename is not None or (isinstance(value, Mapping) and "filename" in value):
        name = filename if filename is not None else value.get("filename")
        return str(name) if name else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple, set)) else [value]
    texts = [_as_text(item) for item in items]
    return [t for t in texts if t]


def record_intake_answers(
    case: Case,
    version_id: int | None,
    schema: Any,
    answers: Mapping[str, Any],
    *,
    commit: bool = False,
) -> list[CaseIntakeAnswer]:
    """Store ``answers`` (field key → value, as validated against ``schema``) with ``case``.

    One row per answered field in the schema's order; a list (multiple choice) gives a row per
    value. Keys the schema does not have are ignored (the schema decides what is asked); the
    labels are the desk language's. Records one Event on the case. The caller commits (the
    portal commits the case, its message and its answers together) unless ``commit``.
    """
    if case is None:
        raise DeskError("Answers belong to a case.")
    if not isinstance(answers, Mapping):
        raise DeskError("The answers must map field keys to values.")
    language = desk_language()
    languages = schema.get("languages", []) if isinstance(schema, Mapping) else []
    languages = [str(code) for code in languages] if isinstance(languages, list) else []
    rows: list[CaseIntakeAnswer] = []
    position = 0
    for field in _fields(schema):
        kind, key = field.get("type"), field["key"]
        if kind in DISPLAY_TYPES or key not in answers:
            continue
        label = (text_in(field.get("label"), language, languages) or key)[:LABEL_LENGTH]
        options = {
            str(o.get("value")): text_in(o.get("label"), language, languages)
            for o in field.get("options") or []
            if isinstance(o, Mapping) and o.get("value") is not None
        }
        for text in _values(answers[key]):
            if len(text) > MAX_ANSWER_LENGTH:
                raise DeskError(f"The answer to '{label}' is too long.")
            shown = options.get(text)
            rows.append(
                CaseIntakeAnswer(
                    case=case,
                    form_version_id=version_id,
                    field_key=key[:64],
                    label=label,
                    value_text=text,
                    value_label=shown[:LABEL_LENGTH] if shown and shown != text else None,
                    value_key=text[:KEY_LENGTH],
                    position=position,
                )
            )
            position += 1
    db.session.add_all(rows)
    if rows:
        record_event(
            db.session,
            case,
            "intake_answers",
            new=f"{len(rows)} answer(s)",
            details={"form_version_id": version_id, "fields": sorted({r.field_key for r in rows})},
        )
    if commit:
        db.session.commit()
    return rows


def answers_of(case: Case) -> list[CaseIntakeAnswer]:
    """The case's answers in the form's order (one statement; the workspace's panel)."""
    if case is None or case.id is None:
        return []
    stmt = (
        select(CaseIntakeAnswer)
        .where(CaseIntakeAnswer.case_id == case.id)
        .order_by(CaseIntakeAnswer.position, CaseIntakeAnswer.id)
    )
    return list(db.session.scalars(stmt))


def grouped(rows: Iterable[CaseIntakeAnswer]) -> list[tuple[str, list[str]]]:
    """``[(label, [shown values])]``: a multiple choice's rows as one line."""
    out: list[tuple[str, list[str]]] = []
    keys: list[str] = []
    for row in rows:
        if keys and keys[-1] == row.field_key:
            out[-1][1].append(row.shown)
        else:
            keys.append(row.field_key)
            out.append((row.label, [row.shown]))
    return out


def parse_answer_filter(value) -> tuple[str | None, str] | None:
    """A list's answer filter: ``"copy"`` (any field) or ``"reason=copy"`` (one field); the
    value matches the start of an answer or of its option's label, ignoring case."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > 200:
        raise DeskError("The answer to look for is at most 200 characters.")
    key, sep, rest = text.partition("=")
    if sep and key.strip() and key.strip().replace("_", "").isalnum() and rest.strip():
        return key.strip().lower(), rest.strip()
    return None, text


def cases_with_answer(value):
    """A criterion on ``Case``: it has an answer starting with ``value`` (see
    ``parse_answer_filter``); uses the (field_key, value_key) index when a field is named."""
    parsed = parse_answer_filter(value)
    if parsed is None:
        return None
    key, text = parsed
    pattern = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    match = func.lower(CaseIntakeAnswer.value_key).like(pattern, escape="\\") | func.lower(
        func.coalesce(CaseIntakeAnswer.value_label, "")
    ).like(pattern, escape="\\")
    stmt = select(CaseIntakeAnswer.case_id).where(match)
    if key is not None:
        stmt = stmt.where(CaseIntakeAnswer.field_key == key)
    return Case.id.in_(stmt)

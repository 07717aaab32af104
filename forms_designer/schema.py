"""The intake-form schema: what it may say, the problems that refuse it, its JSON Schema, and
which fields a set of answers makes visible.

A schema is a plain dict stored as JSON (README, "Form schema")::

    {"languages": ["en", "pl"],
     "fields": [{"key": "kind", "type": "single_choice", "label": {"en": ..., "pl": ...},
                 "required": true, "options": [{"value": "a", "label": {...}}]},
                {"key": "invoice_no", "type": "short_text", "label": {...},
                 "max_length": 40, "pattern": "^[0-9]+$",
                 "visible_if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]}}]}

``visible_if`` is a small JSON Schema fragment over the *answers object* (field key → answer).
Only a documented subset of keywords is allowed, so that the browser's evaluator
(``static/forms/visible_if.js``) and the server (``jsonschema``'s Draft 2020-12 validator)
agree; the server decides. A field's condition may refer only to earlier fields, so
visibility is decided in one pass from the top, and the answers of invisible fields are
dropped before later conditions look at them.

``dictionaries`` (for dropdowns) is a mapping ``{dictionary id: values}``, where values is a
list of strings or a questionnaires ``Dictionary`` (its active values count); when it is not
given, the dictionaries are read from the database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import has_app_context
from flask_wtf import FlaskForm
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import select

from app.extensions import db
from app.questionnaires.models import Dictionary

FIELD_TYPES: tuple[str, ...] = (
    "short_text",
    "long_text",
    "email",
    "phone",
    "number",
    "date",
    "single_choice",
    "multiple_choice",
    "dropdown",
    "checkbox",
    "file",
    "heading",
    "help_text",
    "hidden",
)
# Types that show something but collect no answer.
DISPLAY_TYPES = frozenset({"heading", "help_text"})
ANSWER_TYPES = frozenset(FIELD_TYPES) - DISPLAY_TYPES
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice"})
TEXT_TYPES = frozenset({"short_text", "long_text", "email", "phone"})

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
KEY_MAX = 64
# Names the runtime form class (forms_designer.builder) uses itself.
RESERVED_KEYS = frozenset(n for n in dir(FlaskForm) if KEY_PATTERN.match(n)) | {
    "csrf_token",
    "meta",
    "form_errors",
    "schema",
    "language",
    "layout",
}
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
MAX_FIELDS = 200
# Longest answer each text type accepts (a max_length may only lower it).
TEXT_CAPS = {"short_text": 255, "long_text": 10000, "email": 254, "phone": 40}
MAX_UPLOAD_MB = 25
# What every e-mail and phone answer must look like (the builder and the JSON Schema use them).
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^\+?[0-9][0-9 ()./-]{3,38}[0-9]$"
EXTENSION_PATTERN = re.compile(r"^\.[a-z0-9]{1,10}$")

COMMON_PROPERTIES = frozenset({"key", "type", "label", "help", "visible_if"})
# What each type may say beyond the common properties.
TYPE_PROPERTIES: dict[str, frozenset[str]] = {
    "short_text": frozenset({"required", "min_length", "max_length", "pattern"}),
    "long_text": frozenset({"required", "min_length", "max_length", "pattern"}),
    "email": frozenset({"required", "max_length"}),
    "phone": frozenset({"required", "pattern"}),
    "number": frozenset({"required", "minimum", "maximum"}),
    "date": frozenset({"required"}),
    "single_choice": frozenset({"required", "options"}),
    "multiple_choice": frozenset({"required", "options"}),
    "dropdown": frozenset({"required", "dictionary_id"}),
    "checkbox": frozenset({"required"}),
    "file": frozenset({"required", "accept", "max_size_mb"}),
    "heading": frozenset(),
    "help_text": frozenset(),
    "hidden": frozenset({"value"}),
}
ALL_PROPERTIES = COMMON_PROPERTIES.union(*TYPE_PROPERTIES.values())

# The keywords a condition may use: on the answers object, and on one answer's value.
OBJECT_KEYWORDS = frozenset({"properties", "required", "not", "allOf", "anyOf"})
VALUE_KEYWORDS = frozenset(
    {"const", "enum", "not", "allOf", "anyOf", "contains", "minimum", "maximum", "minLength"}
)
CONDITION_KEYWORDS = OBJECT_KEYWORDS | VALUE_KEYWORDS

Schema = Mapping[str, Any]


# --------------------------------------------------------------------------- reading helpers


def fields_of(schema: Schema) -> list[dict]:
    """The schema's fields in order (an empty list for a malformed schema)."""
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    return [f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else []


def languages_of(schema: Schema) -> list[str]:
    languages = schema.get("languages") if isinstance(schema, Mapping) else None
    return [x for x in languages if isinstance(x, str)] if isinstance(languages, list) else []


def text_in(texts: Any, language: str, languages: Sequence[str] = ()) -> str:
    """The text of a per-language dict in ``language``, else the schema's first language that
    has one, else English, else any; ``""`` when there is none."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, Mapping):
        return ""
    for candidate in (language, *languages, "en"):
        value = texts.get(candidate)
        if isinstance(value, str) and value.strip():
            return value
    return next((v for v in texts.values() if isinstance(v, str) and v.strip()), "")


def dictionary_values(dictionary: Any) -> list[str]:
    """Active values of a dictionary given as a list of strings or a ``Dictionary`` row."""
    if dictionary is None:
        return []
    if isinstance(dictionary, (list, tuple)):
        return [str(v) for v in dictionary]
    return [v.value for v in dictionary.values if v.active]


def load_dictionaries(schema: Schema) -> dict[int, list[str]]:
    """The active dictionaries the schema's dropdowns name, read from the database."""
    ids = {
        f.get("dictionary_id")
        for f in fields_of(schema)
        if f.get("type") == "dropdown" and isinstance(f.get("dictionary_id"), int)
    }
    if not ids or not has_app_context():
        return {}
    rows = db.session.scalars(
        select(Dictionary).where(Dictionary.id.in_(ids), Dictionary.active.is_(True))
    )
    return {row.id: dictionary_values(row) for row in rows}


def _dictionaries(schema: Schema, dictionaries: Mapping | None) -> dict[int, list[str]]:
    if dictionaries is None:
        return load_dictionaries(schema)
    return {int(k): dictionary_values(v) for k, v in dictionaries.items()}


def options_of(field: Mapping, dictionaries: Mapping[int, list[str]]) -> list[str]:
    """The values a choice or dropdown field accepts, in order."""
    if field.get("type") == "dropdown":
        return list(dictionaries.get(field.get("dictionary_id"), []))  # type: ignore[arg-type]
    options = field.get("options")
    if not isinstance(options, list):
        return []
    return [
        o["value"] for o in options if isinstance(o, Mapping) and isinstance(o.get("value"), str)
    ]


def _given(field: Mapping, name: str) -> bool:
    return field.get(name) is not None


# --------------------------------------------------------------------------- validation


def validate_schema(schema: Any, dictionaries: Mapping | None = None) -> list[str]:
    """Every problem that keeps the desk from serving ``schema``; ``[]`` when it is fine.

    Each message names the field (by key, or by position when it has no usable key).
    """
    if not isinstance(schema, Mapping):
        return ["The form schema must be an object with 'languages' and 'fields'."]
    problems: list[str] = []
    unknown = sorted(set(schema) - {"languages", "fields"})
    if unknown:
        problems.append(f"Unknown schema properties: {', '.join(unknown)}.")
    languages = schema.get("languages")
    if not isinstance(languages, list) or not languages:
        problems.append('The form must declare its languages (e.g. ["en", "pl"]).')
        languages = []
    else:
        for language in languages:
            if not isinstance(language, str) or not LANGUAGE_PATTERN.match(language):
                problems.append(f"{language!r} is not a language code (such as 'en' or 'pl').")
        if len(set(map(str, languages))) != len(languages):
            problems.append("A language is declared twice.")
        languages = [x for x in languages if isinstance(x, str)]
    fields = schema.get("fields")
    if not isinstance(fields, list):
        problems.append("The form must have a list of fields.")
        return problems
    if len(fields) > MAX_FIELDS:
        problems.append(f"A form has at most {MAX_FIELDS} fields, this one {len(fields)}.")
    known = _dictionaries(schema, dictionaries)
    earlier: dict[str, dict] = {}  # key → field, of the fields above the current one
    seen: set[str] = set()
    for position, field in enumerate(fields, start=1):
        if not isinstance(field, Mapping):
            problems.append(f"Field {position} must be an object.")
            continue
        key = field.get("key")
        name = f"Field '{key}'" if isinstance(key, str) and key else f"Field {position}"
        problems.extend(_field_problems(field, name, position, languages, known, earlier, seen))
        if isinstance(key, str):
            seen.add(key)
            if field.get("type") in ANSWER_TYPES:
                earlier.setdefault(key, dict(field))
    return problems


def _field_problems(
    field: Mapping,
    name: str,
    position: int,
    languages: Sequence[str],
    dictionaries: Mapping[int, list[str]],
    earlier: Mapping[str, dict],
    seen: set[str],
) -> list[str]:
    problems: list[str] = []
    key = field.get("key")
    if not isinstance(key, str) or not key:
        problems.append(f"Field {position} has no key.")
    elif not KEY_PATTERN.match(key) or len(key) > KEY_MAX:
        problems.append(
            f"{name}: the key must start with a lowercase letter and hold only lowercase "
            f"letters, digits and _ (at most {KEY_MAX} characters)."
        )
    elif key in RESERVED_KEYS:
        problems.append(f"{name}: the key {key!r} is reserved; choose another.")
    elif key in seen:
        problems.append(f"{name}: the key is used by an earlier field; keys must be unique.")
    kind = field.get("type")
    if kind not in FIELD_TYPES:
        problems.append(f"{name}: unknown type {kind!r} (known: {', '.join(FIELD_TYPES)}).")
        return problems
    unknown = sorted(set(field) - ALL_PROPERTIES)
    if unknown:
        problems.append(f"{name}: unknown properties {', '.join(unknown)}.")
    allowed = COMMON_PROPERTIES | TYPE_PROPERTIES[kind]
    misplaced = sorted(p for p in set(field) & ALL_PROPERTIES - allowed if _given(field, p))
    if misplaced:
        problems.append(f"{name}: {', '.join(misplaced)} does not apply to a {kind} field.")
    problems.extend(_text_problems(field, name, kind, languages))
    if _given(field, "required") and not isinstance(field["required"], bool):
        problems.append(f"{name}: required must be true or false.")
    problems.extend(_limit_problems(field, name, kind))
    problems.extend(_choice_problems(field, name, kind, languages, dictionaries))
    if kind == "hidden" and not isinstance(field.get("value"), (str, int, float, bool)):
        problems.append(f"{name}: a hidden field needs its fixed value.")
    if kind == "file":
        problems.extend(_file_problems(field, name))
    if _given(field, "visible_if"):
        problems.extend(condition_problems(field["visible_if"], name, earlier, dictionaries))
    return problems


def _text_problems(field: Mapping, name: str, kind: str, languages: Sequence[str]) -> list[str]:
    problems: list[str] = []
    label = field.get("label")
    if kind != "hidden" or label is not None:
        problems.extend(_per_language(label, f"{name}: the label", languages, required=True))
    if field.get("help") is not None:
        problems.extend(_per_language(field["help"], f"{name}: the help", languages))
    return problems


def _per_language(
    texts: Any, what: str, languages: Sequence[str], *, required: bool = False
) -> list[str]:
    if not isinstance(texts, Mapping):
        return [f'{what} must be a text per language, e.g. {{"en": "..."}}.']
    problems = []
    stray = sorted(str(k) for k in texts if k not in languages)
    if stray:
        problems.append(f"{what} is given in {', '.join(stray)}, which the form does not declare.")
    for language, text in texts.items():
        if not isinstance(text, str):
            problems.append(f"{what} in {language} must be text.")
    if required:
        missing = [x for x in languages if not (isinstance(texts.get(x), str) and texts[x].strip())]
        if missing:
            problems.append(f"{what} has no text in {', '.join(missing)}.")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _limit_problems(field: Mapping, name: str, kind: str) -> list[str]:
    problems: list[str] = []
    cap = TEXT_CAPS.get(kind)
    for limit in ("min_length", "max_length"):
        value = field.get(limit)
        if value is None or limit not in TYPE_PROPERTIES[kind]:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"{name}: {limit} must be a whole number of 0 or more.")
        elif cap is not None and value > cap:
            problems.append(f"{name}: {limit} may be at most {cap} for a {kind} field.")
    low, high = field.get("min_length"), field.get("max_length")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(f"{name}: min_length ({low}) is greater than max_length ({high}).")
    if kind == "number":
        for limit in ("minimum", "maximum"):
            if _given(field, limit) and not _is_number(field[limit]):
                problems.append(f"{name}: {limit} must be a number.")
        low, high = field.get("minimum"), field.get("maximum")
        if _is_number(low) and _is_number(high) and float(low) > float(high):  # type: ignore[arg-type]
            problems.append(f"{name}: minimum ({low}) is greater than maximum ({high}).")
    pattern = field.get("pattern")
    if pattern is not None and "pattern" in TYPE_PROPERTIES[kind]:
        if not isinstance(pattern, str) or not pattern:
            problems.append(f"{name}: the pattern must be a regular expression.")
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"{name}: the pattern {pattern!r} does not compile ({exc}).")
    return problems


def _choice_problems(
    field: Mapping,
    name: str,
    kind: str,
    languages: Sequence[str],
    dictionaries: Mapping[int, list[str]],
) -> list[str]:
    problems: list[str] = []
    if kind in CHOICE_TYPES:
        options = field.get("options")
        if not isinstance(options, list) or not options:
            return [f"{name}: a {kind} field needs at least one option."]
        values: list[str] = []
        for number, option in enumerate(options, start=1):
            if not isinstance(option, Mapping) or not isinstance(option.get("value"), str):
                problems.append(f"{name}: option {number} needs a value (text).")
                continue
            value = option["value"]
            if not value.strip():
                problems.append(f"{name}: option {number} has an empty value.")
            if value in values:
                problems.append(f"{name}: the option value {value!r} is used twice.")
            values.append(value)
            problems.extend(
                _per_language(
                    option.get("label"),
                    f"{name}: option {value!r}'s label",
                    languages,
                    required=True,
                )
            )
    if kind == "dropdown":
        dictionary_id = field.get("dictionary_id")
        if not isinstance(dictionary_id, int) or isinstance(dictionary_id, bool):
            problems.append(f"{name}: a dropdown needs the dictionary its values come from.")
        elif dictionary_id not in dictionaries:
            problems.append(f"{name}: dictionary {dictionary_id} does not exist or is not active.")
        elif not dictionaries[dictionary_id]:
            problems.append(f"{name}: dictionary {dictionary_id} has no active values.")
    return problems


def _file_problems(field: Mapping, name: str) -> list[str]:
    problems: list[str] = []
    accept = field.get("accept")
    if accept is not None:
        if not isinstance(accept, list) or not accept:
            problems.append(f'{name}: accept must be a list of file extensions such as ".pdf".')
        else:
            bad = [a for a in accept if not (isinstance(a, str) and EXTENSION_PATTERN.match(a))]
            if bad:
                problems.append(
                    f"{name}: {', '.join(map(repr, bad))} is not a lowercase file extension "
                    'such as ".pdf".'
                )
    size = field.get("max_size_mb")
    if size is not None and (not _is_number(size) or not 0 < size <= MAX_UPLOAD_MB):
        problems.append(
            f"{name}: max_size_mb must be a number above 0 and at most {MAX_UPLOAD_MB}."
        )
    return problems


# --------------------------------------------------------------------------- conditions


def condition_problems(
    condition: Any,
    name: str,
    earlier: Mapping[str, Mapping],
    dictionaries: Mapping[int, list[str]] | None = None,
) -> list[str]:
    """Problems of a ``visible_if``: keywords outside the subset, references to fields that
    are not earlier answer fields, malformed values, values no option has."""
    problems: list[str] = []
    _check_object(condition, f"{name}: visible_if", earlier, dictionaries or {}, problems)
    if not problems:
        try:
            Draft202012Validator.check_schema(condition)
        except SchemaError as exc:
            problems.append(f"{name}: visible_if is not a valid JSON Schema ({exc.message}).")
    return problems


def _check_object(node, where, earlier, dictionaries, problems) -> None:
    if not isinstance(node, Mapping):
        problems.append(f"{where} must be an object (a JSON Schema fragment).")
        return
    for keyword, value in node.items():
        if keyword not in OBJECT_KEYWORDS:
            hint = " (use it inside properties)" if keyword in VALUE_KEYWORDS else ""
            problems.append(f"{where}: unsupported keyword {keyword!r} here{hint}.")
        elif keyword == "properties":
            if not isinstance(value, Mapping) or not value:
                problems.append(f"{where}: properties must name at least one field.")
                continue
            for key, sub in value.items():
                if _refers(key, where, earlier, problems):
                    _check_value(sub, f"{where} on '{key}'", earlier[key], dictionaries, problems)
        elif keyword == "required":
            if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
                problems.append(f"{where}: required must be a list of field keys.")
                continue
            for key in value:
                _refers(key, where, earlier, problems)
        elif keyword == "not":
            _check_object(value, where, earlier, dictionaries, problems)
        else:
            if not isinstance(value, list) or not value:
                problems.append(f"{where}: {keyword} must be a non-empty list of conditions.")
                continue
            for sub in value:
                _check_object(sub, where, earlier, dictionaries, problems)


def _refers(key, where, earlier, problems) -> bool:
    if key not in earlier:
        problems.append(
            f"{where} refers to {key!r}, which is not an earlier field (a condition may only "
            "look at fields above it)."
        )
        return False
    return True


def _check_value(node, where, target: Mapping, dictionaries, problems) -> None:
    if not isinstance(node, Mapping):
        problems.append(f"{where} must be an object (a JSON Schema fragment).")
        return
    allowed = set(options_of(target, dictionaries)) if target.get("type") in CHOICE_TYPES else None
    for keyword, value in node.items():
        if keyword not in VALUE_KEYWORDS:
            problems.append(f"{where}: unsupported keyword {keyword!r} in a condition.")
        elif keyword in ("const", "enum"):
            values = value if keyword == "enum" else [value]
            if keyword == "enum" and (not isinstance(value, list) or not value):
                problems.append(f"{where}: enum must be a non-empty list of values.")
                continue
            if allowed is not None and target.get("type") == "single_choice":
                strays = [v for v in values if v not in allowed]
                if strays:
                    problems.append(
                        f"{where}: {', '.join(map(repr, strays))} is not one of the field's options."
                    )
        elif keyword in ("minimum", "maximum"):
            if not _is_number(value):
                problems.append(f"{where}: {keyword} must be a number.")
        elif keyword == "minLength":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"{where}: minLength must be a whole number of 0 or more.")
        elif keyword == "not":
            _check_value(value, where, target, dictionaries, problems)
        elif keyword == "contains":
            if target.get("type") != "multiple_choice":
                problems.append(f"{where}: contains applies to multiple-choice fields only.")
            else:
                _check_value(
                    value, where, {"type": "single_choice", **_opts(target)}, dictionaries, problems
                )
        else:
            if not isinstance(value, list) or not value:
                problems.append(f"{where}: {keyword} must be a non-empty list of conditions.")
                continue
            for sub in value:
                _check_value(sub, where, target, dictionaries, problems)


def _opts(target: Mapping) -> dict:
    return {"options": target.get("options", [])}


def condition_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers as conditions see them: JSON values only (an uploaded file by its name)."""
    seen: dict[str, Any] = {}
    for key, value in answers.items():
        if value is None:
            continue
        if hasattr(value, "filename"):  # an uploaded file (werkzeug FileStorage)
            if not value.filename:
                continue
            value = value.filename
        seen[key] = value
    return seen


def condition_holds(condition: Mapping | None, answers: Mapping[str, Any]) -> bool:
    """True when the answers satisfy ``condition`` (no condition: always)."""
    if condition is None:
        return True
    return Draft202012Validator(condition).is_valid(condition_answers(answers))


def visible_keys(schema: Schema, answers: Mapping[str, Any]) -> set[str]:
    """Keys of the fields that ``answers`` make visible (display fields included).

    From the top: a field is visible when its condition holds for the answers of the visible
    fields above it; an invisible field's answer is not seen by the conditions below it. A
    hidden-type field's answer is its fixed value, whatever ``answers`` says.
    """
    visible: set[str] = set()
    seen: dict[str, Any] = {}
    for field in fields_of(schema):
        key = field.get("key")
        if not isinstance(key, str):
            continue
        if not condition_holds(field.get("visible_if"), seen):
            continue
        visible.add(key)
        if field.get("type") == "hidden":
            seen[key] = field.get("value")
        elif field.get("type") in ANSWER_TYPES and key in answers:
            seen.update(condition_answers({key: answers[key]}))
    return visible


# --------------------------------------------------------------------------- JSON Schema


def json_schema(schema: Schema, language: str, dictionaries: Mapping | None = None) -> dict:
    """The JSON Schema (draft 2020-12) of the answers object a submission of ``schema``
    yields: titles and descriptions in ``language``; a field with a condition is required only
    when its condition holds, and absent when it does not (the server drops such answers).

    Dates and e-mail addresses carry a pattern and a ``format``; an impossible date such as
    2026-02-30 fits the pattern and is refused only by a validator that asserts formats
    (``format_checker=Draft202012Validator.FORMAT_CHECKER``), as the builder always does."""
    known = _dictionaries(schema, dictionaries)
    languages = languages_of(schema)
    properties: dict[str, dict] = {}
    required: list[str] = []
    conditional: list[dict] = []
    for field in fields_of(schema):
        kind, key = field.get("type"), field.get("key")
        if kind not in ANSWER_TYPES or not isinstance(key, str):
            continue
        prop = _property(field, known)
        title = text_in(field.get("label"), language, languages)
        if title:
            prop["title"] = title
        description = text_in(field.get("help"), language, languages)
        if description:
            prop["description"] = description
        properties[key] = prop
        needed = bool(field.get("required")) and kind != "hidden"
        condition = field.get("visible_if")
        if condition is None:
            if needed:
                required.append(key)
            continue
        rule: dict[str, Any] = {"if": condition, "else": {"not": {"required": [key]}}}
        if needed:
            rule["then"] = {"required": [key]}
        conditional.append(rule)
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    if conditional:
        out["allOf"] = conditional
    return out


def _property(field: Mapping, dictionaries: Mapping[int, list[str]]) -> dict:
    kind = field["type"]
    if kind in TEXT_TYPES:
        prop: dict[str, Any] = {"type": "string", "minLength": 1}
        if _given(field, "min_length") and field["min_length"] > 1:
            prop["minLength"] = field["min_length"]
        prop["maxLength"] = min(field.get("max_length") or TEXT_CAPS[kind], TEXT_CAPS[kind])
        patterns = [p for p in (_builtin_pattern(kind), field.get("pattern")) if p]
        if len(patterns) == 1:
            prop["pattern"] = patterns[0]
        elif patterns:
            prop["allOf"] = [{"pattern": p} for p in patterns]
        if kind == "email":
            prop["format"] = "email"
        return prop
    if kind == "number":
        prop = {"type": "number"}
        for limit in ("minimum", "maximum"):
            if _given(field, limit):
                prop[limit] = field[limit]
        return prop
    if kind == "date":
        return {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    if kind in ("single_choice", "dropdown"):
        return {"type": "string", "enum": options_of(field, dictionaries)}
    if kind == "multiple_choice":
        prop = {
            "type": "array",
            "items": {"enum": options_of(field, dictionaries)},
            "uniqueItems": True,
        }
        if field.get("required"):
            prop["minItems"] = 1
        return prop
    if kind == "checkbox":
        return {"const": True} if field.get("required") else {"type": "boolean"}
    if kind == "file":
        return {"type": "string", "minLength": 1}  # the uploaded file's name
    return {"const": field.get("value")}  # hidden


def _builtin_pattern(kind: str) -> str | None:
    return {"email": EMAIL_PATTERN, "phone": PHONE_PATTERN}.get(kind)


def answer_keys(schema: Schema) -> Iterable[str]:
    """Keys of the fields that collect an answer, in order."""
    return [f["key"] for f in fields_of(schema) if f.get("type") in ANSWER_TYPES and "key" in f]

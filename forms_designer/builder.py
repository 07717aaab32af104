"""The WTForms class of a form schema, built at run time, and the server's verdict on a
submission.

``build_form_class(schema, language)`` gives a ``FlaskForm`` subclass with one WTForms field
per answer field (headings, help texts and hidden values are not inputs; the class lists every
field in ``layout`` for the page to render in order). ``validate_submission`` is what decides:
it walks the fields from the top, validates only the fields the answers so far make visible,
gives hidden-type fields their fixed value, and drops whatever the browser sent for a field it
considers invisible, so a tampered page cannot make the desk keep or demand an answer the
schema's conditions rule out.

The checks follow the JSON Schema of ``forms_designer.schema.json_schema``: patterns are
searched (not anchored: write ``^...$``), lengths count characters, a text of only spaces is
no answer. Error messages are in the customer's language when this module has them (English,
Polish, Swedish, German), else in English.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import EmailField, TelField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, DateInput, ListWidget, NumberInput

from forms_designer.schema import (
    ANSWER_TYPES,
    DISPLAY_TYPES,
    EMAIL_PATTERN,
    MAX_UPLOAD_MB,
    PHONE_PATTERN,
    TEXT_CAPS,
    Schema,
    _dictionaries,
    condition_answers,
    condition_holds,
    fields_of,
    languages_of,
    options_of,
    text_in,
)

# The messages of the checks, per language; ``{n}`` and ``{types}`` are filled in.
MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "en": "This field is required.",
        "pl": "To pole jest wymagane.",
        "sv": "Det här fältet är obligatoriskt.",
        "de": "Dieses Feld ist erforderlich.",
    },
    "checkbox": {
        "en": "Please tick this box to continue.",
        "pl": "Zaznacz to pole, aby kontynuować.",
        "sv": "Kryssa i rutan för att fortsätta.",
        "de": "Bitte kreuzen Sie dieses Feld an, um fortzufahren.",
    },
    "min_length": {
        "en": "Please enter at least {n} characters.",
        "pl": "Wpisz co najmniej {n} znaków.",
        "sv": "Skriv minst {n} tecken.",
        "de": "Bitte geben Sie mindestens {n} Zeichen ein.",
    },
    "max_length": {
        "en": "Please enter at most {n} characters.",
        "pl": "Wpisz najwyżej {n} znaków.",
        "sv": "Skriv högst {n} tecken.",
        "de": "Bitte geben Sie höchstens {n} Zeichen ein.",
    },
    "pattern": {
        "en": "This value does not have the expected format.",
        "pl": "Ta wartość ma niewłaściwy format.",
        "sv": "Värdet har inte det förväntade formatet.",
        "de": "Dieser Wert hat nicht das erwartete Format.",
    },
    "email": {
        "en": "Please enter a valid e-mail address.",
        "pl": "Podaj poprawny adres e-mail.",
        "sv": "Ange en giltig e-postadress.",
        "de": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    },
    "phone": {
        "en": "Please enter a valid phone number.",
        "pl": "Podaj poprawny numer telefonu.",
        "sv": "Ange ett giltigt telefonnummer.",
        "de": "Bitte geben Sie eine gültige Telefonnummer ein.",
    },
    "number": {
        "en": "Please enter a number.",
        "pl": "Podaj liczbę.",
        "sv": "Ange ett tal.",
        "de": "Bitte geben Sie eine Zahl ein.",
    },
    "minimum": {
        "en": "Please enter a number of at least {n}.",
        "pl": "Podaj liczbę nie mniejszą niż {n}.",
        "sv": "Ange ett tal som är minst {n}.",
        "de": "Bitte geben Sie eine Zahl von mindestens {n} ein.",
    },
    "maximum": {
        "en": "Please enter a number of at most {n}.",
        "pl": "Podaj liczbę nie większą niż {n}.",
        "sv": "Ange ett tal som är högst {n}.",
        "de": "Bitte geben Sie eine Zahl von höchstens {n} ein.",
    },
    "date": {
        "en": "Please enter a date (YYYY-MM-DD).",
        "pl": "Podaj datę (RRRR-MM-DD).",
        "sv": "Ange ett datum (ÅÅÅÅ-MM-DD).",
        "de": "Bitte geben Sie ein Datum ein (JJJJ-MM-TT).",
    },
    "choice": {
        "en": "Please choose one of the options.",
        "pl": "Wybierz jedną z opcji.",
        "sv": "Välj ett av alternativen.",
        "de": "Bitte wählen Sie eine der Optionen.",
    },
    "file_type": {
        "en": "Files of this type are not accepted (allowed: {types}).",
        "pl": "Pliki tego typu nie są przyjmowane (dozwolone: {types}).",
        "sv": "Filer av den här typen tas inte emot (tillåtna: {types}).",
        "de": "Dateien dieses Typs werden nicht angenommen (erlaubt: {types}).",
    },
    "file_size": {
        "en": "The file is too large (at most {n} MB).",
        "pl": "Plik jest za duży (najwyżej {n} MB).",
        "sv": "Filen är för stor (högst {n} MB).",
        "de": "Die Datei ist zu groß (höchstens {n} MB).",
    },
}

NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def message(name: str, language: str, **params: Any) -> str:
    """The check's message in ``language`` (English when there is no translation)."""
    texts = MESSAGES[name]
    base = language.split("-")[0] if language else "en"
    return texts.get(language, texts.get(base, texts["en"])).format(**params)


def _show(number: float | int) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# --------------------------------------------------------------------------- checks


def _present(kind: str, data: Any) -> bool:
    """Whether a field's data is an answer (spaces, an empty list, an unticked box are not)."""
    if kind == "checkbox":
        return data is True
    if kind == "multiple_choice":
        return bool(data)
    if kind == "file":
        return bool(data) and bool(getattr(data, "filename", ""))
    return isinstance(data, str) and bool(data.strip())


class Presence:
    """First check of every field: an empty required field is an error, an empty optional
    field is fine and skips the checks after it."""

    def __init__(self, kind: str, required: bool, language: str, conditional: bool = False):
        self.kind, self.required, self.language = kind, required, language
        # The "required" flag makes WTForms' widgets render the HTML attribute, which would
        # block the submit of a page whose conditional field is hidden (and, on checkboxes of a
        # multiple choice, would demand every one).
        blocking = required and not conditional and kind != "multiple_choice"
        self.field_flags = {"required": True} if blocking else {}

    def __call__(self, form, field) -> None:
        if _present(self.kind, field.data):
            return
        if not self.required:
            field.errors[:] = []
            raise StopValidation()
        which = "checkbox" if self.kind == "checkbox" else "required"
        raise StopValidation(message(which, self.language))


class Length:
    def __init__(self, low: int | None, high: int | None, language: str):
        self.low, self.high, self.language = low, high, language

    def __call__(self, form, field) -> None:
        size = len(field.data.strip())
        if self.low is not None and size < self.low:
            raise ValidationError(message("min_length", self.language, n=self.low))
        if self.high is not None and size > self.high:
            raise ValidationError(message("max_length", self.language, n=self.high))


class Pattern:
    """``re.search``, as JSON Schema's ``pattern``: the designer anchors with ``^...$``."""

    def __init__(self, pattern: str, language: str, which: str = "pattern"):
        self.regex, self.language, self.which = re.compile(pattern), language, which

    def __call__(self, form, field) -> None:
        if not self.regex.search(field.data.strip()):
            raise ValidationError(message(self.which, self.language))


def parse_number(raw: str) -> int | float | None:
    """A number as customers write it ("12", "12.5", "12,5", "1 200"); None if it is none."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if not NUMBER_PATTERN.match(text):
        return None
    value = float(text)
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


class Number:
    def __init__(self, minimum: float | None, maximum: float | None, language: str):
        self.minimum, self.maximum, self.language = minimum, maximum, language

    def __call__(self, form, field) -> None:
        value = parse_number(field.data)
        if value is None:
            raise StopValidation(message("number", self.language))
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(message("minimum", self.language, n=_show(self.minimum)))
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(message("maximum", self.language, n=_show(self.maximum)))


def parse_date(raw: str) -> date | None:
    text = raw.strip()
    if not DATE_PATTERN.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class Date:
    def __init__(self, language: str):
        self.language = language

    def __call__(self, form, field) -> None:
        if parse_date(field.data) is None:
            raise ValidationError(message("date", self.language))


class Choice:
    """Only the field's own options (or its dictionary's active values)."""

    def __init__(self, values: list[str], language: str):
        self.values, self.language = set(values), language

    def __call__(self, form, field) -> None:
        chosen = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in self.values for v in chosen):
            raise ValidationError(message("choice", self.language))


class Upload:
    def __init__(self, accept: list[str] | None, max_size_mb: float | None, language: str):
        self.accept = [a.lower() for a in accept] if accept else None
        self.max_bytes = (max_size_mb or MAX_UPLOAD_MB) * 1024 * 1024
        self.max_size_mb = max_size_mb or MAX_UPLOAD_MB
        self.language = language

    def __call__(self, form, field) -> None:
        upload = field.data
        extension = os.path.splitext(upload.filename.lower())[1]
        if self.accept is not None and extension not in self.accept:
            types = ", ".join(self.accept)
            raise ValidationError(message("file_type", self.language, types=types))
        if _size(upload) > self.max_bytes:
            raise ValidationError(message("file_size", self.language, n=_show(self.max_size_mb)))


def _size(upload) -> int:
    stream = upload.stream
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


# --------------------------------------------------------------------------- the form class


class NumberField(StringField):
    """A number input that keeps what was typed; ``Number`` parses and checks it (so the
    message is the customer's language, and "12,5" is a number)."""

    widget = NumberInput(step="any")


class DateField(StringField):
    """A date input (``YYYY-MM-DD``, what browsers send); ``Date`` checks it."""

    widget = DateInput()


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _field(spec: Mapping, language: str, languages: list[str], dictionaries) -> Any:
    kind = spec["type"]
    required = bool(spec.get("required"))
    label = text_in(spec.get("label"), language, languages)
    description = text_in(spec.get("help"), language, languages)
    conditional = spec.get("visible_if") is not None
    checks: list[Any] = [Presence(kind, required, language, conditional)]
    render: dict[str, Any] = {}
    if conditional:
        render["data-visible-if"] = json.dumps(spec["visible_if"], separators=(",", ":"))
    if kind in TEXT_CAPS:
        high = min(spec.get("max_length") or TEXT_CAPS[kind], TEXT_CAPS[kind])
        low = spec.get("min_length")
        checks.append(Length(low, high, language))
        render["maxlength"] = high
        if low:
            render["minlength"] = low
        if kind == "email":
            checks.append(Pattern(EMAIL_PATTERN, language, "email"))
        if kind == "phone":
            checks.append(Pattern(PHONE_PATTERN, language, "phone"))
        if spec.get("pattern"):
            checks.append(Pattern(spec["pattern"], language))
    args = {"label": label, "description": description, "validators": checks, "render_kw": render}
    if kind == "short_text":
        return StringField(filters=[_strip], **args)
    if kind == "long_text":
        return TextAreaField(filters=[_strip], **args)
    if kind == "email":
        return EmailField(filters=[_strip], **args)
    if kind == "phone":
        return TelField(filters=[_strip], **args)
    if kind == "number":
        checks.append(Number(spec.get("minimum"), spec.get("maximum"), language))
        for limit in ("minimum", "maximum"):
            if spec.get(limit) is not None:
                render[limit[:3]] = spec[limit]
        return NumberField(filters=[_strip], **args)
    if kind == "date":
        checks.append(Date(language))
        return DateField(filters=[_strip], **args)
    if kind in ("single_choice", "multiple_choice", "dropdown"):
        values = options_of(spec, dictionaries)
        checks.append(Choice(values, language))
        if kind == "dropdown":
            choices = [("", "—")] + [(v, v) for v in values]
            return SelectField(choices=choices, validate_choice=False, **args)
        labels = {o["value"]: o.get("label") for o in spec.get("options") or []}
        choices = [(v, text_in(labels.get(v), language, languages) or v) for v in values]
        if kind == "single_choice":
            return RadioField(choices=choices, validate_choice=False, **args)
        return CheckboxesField(choices=choices, validate_choice=False, **args)
    if kind == "checkbox":
        return BooleanField(**args)
    if kind == "file":
        checks.append(Upload(spec.get("accept"), spec.get("max_size_mb"), language))
        if spec.get("accept"):
            render["accept"] = ",".join(spec["accept"])
        return FileField(**args)
    raise ValueError(f"No input for a {kind} field")


def build_form_class(
    schema: Schema, language: str, dictionaries: Mapping | None = None
) -> type[FlaskForm]:
    """A ``FlaskForm`` subclass with one field per answer field of ``schema``, labels, help
    and messages in ``language``; ``layout`` lists every field spec in order (headings and
    help texts included) and ``schema`` the schema, for the page that renders it."""
    known = _dictionaries(schema, dictionaries)
    languages = languages_of(schema)
    attributes: dict[str, Any] = {
        "schema": schema,
        "language": language,
        "layout": fields_of(schema),
    }
    for spec in fields_of(schema):
        if spec.get("type") in ANSWER_TYPES and spec.get("type") != "hidden":
            attributes[spec["key"]] = _field(spec, language, languages, known)
    return type("IntakeAnswersForm", (FlaskForm,), attributes)


# Built classes of published versions (their schemas never change), per process.
_BUILT: dict[tuple, type[FlaskForm]] = {}
_BUILT_MAX = 512


def form_class_of(version, language: str, dictionaries: Mapping | None = None) -> type[FlaskForm]:
    """``build_form_class`` for a stored version, built once per process for a published
    version and language (a draft is rebuilt every time: it still changes). The key holds
    the dropdowns' current values, so a dictionary edited since gives a fresh class."""
    schema = version.schema
    known = _dictionaries(schema, dictionaries)
    if version.status == "draft" or version.id is None:
        return build_form_class(schema, language, known)
    key = (
        version.id,
        language,
        tuple(sorted((k, tuple(v)) for k, v in known.items())),
    )
    built = _BUILT.get(key)
    if built is None:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        built = _BUILT[key] = build_form_class(schema, language, known)
    return built


def _answer(kind: str, data: Any) -> Any:
    """The typed answer of a valid field (None: no answer)."""
    if not _present(kind, data):
        return False if kind == "checkbox" else None
    if kind == "number":
        return parse_number(data)
    if kind == "date":
        parsed = parse_date(data)
        return parsed.isoformat() if parsed else None
    if kind == "multiple_choice":
        return list(dict.fromkeys(data))
    if isinstance(data, str):
        return data.strip()
    return data


def _multidict(data) -> MultiDict:
    if data is None:
        return MultiDict()
    if isinstance(data, MultiDict):
        return data
    return MultiDict(data)


def validate_submission(
    schema: Schema,
    formdata,
    files=None,
    language: str = "en",
    dictionaries: Mapping | None = None,
    form_class: type[FlaskForm] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check a customer's submission against ``schema``: ``(answers, errors)``.

    ``answers`` maps each visible answer field to its typed value (text, number, ISO date,
    option value(s), True/False, an uploaded ``FileStorage``, a hidden field's fixed value);
    ``errors`` maps field keys to their messages in ``language``. A field whose condition does
    not hold is neither required nor kept, whatever the browser sent for it. ``form_class``:
    the schema's class already built for ``language`` (``form_class_of``).
    """
    if form_class is None:
        form_class = build_form_class(schema, language, _dictionaries(schema, dictionaries))
    data = CombinedMultiDict([_multidict(files), _multidict(formdata)])
    form = form_class(formdata=data, meta={"csrf": False})
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    seen: dict[str, Any] = {}  # what the conditions below see: the valid visible answers
    for spec in fields_of(schema):
        kind, key = spec.get("type"), spec.get("key")
        if kind in DISPLAY_TYPES or not isinstance(key, str):
            continue
        if not condition_holds(spec.get("visible_if"), seen):
            continue
        if kind == "hidden":
            answers[key] = seen[key] = spec.get("value")
            continue
        field = form[key]
        if not field.validate(form):
            errors[key] = list(field.errors)
            continue
        value = _answer(str(kind), field.data)
        if value is None:
            continue
        answers[key] = value
        seen.update(condition_answers({key: value}))
    return answers, errors

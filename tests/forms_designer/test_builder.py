"""The runtime WTForms class and the server's verdict on a submission: every field type, every
limit, conditions that make a field required only when visible, and a browser that claims a
field the server considers hidden."""

from __future__ import annotations

import io
import re

import pytest
from jsonschema import Draft202012Validator
from werkzeug.datastructures import FileStorage, MultiDict
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from forms_designer.builder import (
    MESSAGES,
    DateField,
    NumberField,
    build_form_class,
    validate_submission,
)
from forms_designer.schema import json_schema, validate_schema
from tests.forms_designer.schemas import DICTIONARIES, full, label, with_changes

# The smallest submission of the full schema that the server accepts.
VALID = {"kind": "other", "email": "ann@customer.example", "agree": "y"}


def submit(data=None, files=None, schema=None, language="en", **changes):
    formdata = MultiDict({**VALID, **changes} if data is None else data)
    return validate_submission(schema or full(), formdata, files, language, DICTIONARIES)


def errors_of(key, language="en", schema=None, files=None, **changes):
    answers, errors = submit(schema=schema, language=language, files=files, **changes)
    return errors.get(key, [])


def upload(name="scan.pdf", size=10):
    return MultiDict({"scan": FileStorage(io.BytesIO(b"x" * size), filename=name)})


def test_the_form_class_has_the_right_input_per_type(app):
    form_class = build_form_class(full(), "pl", DICTIONARIES)
    form = form_class(formdata=None, meta={"csrf": False})
    kinds = {
        "kind": RadioField,
        "invoice_no": StringField,
        "details": TextAreaField,
        "amount": NumberField,
        "invoice_date": DateField,
        "channels": SelectMultipleField,
        "product": SelectField,
        "agree": BooleanField,
    }
    for key, kind in kinds.items():
        assert isinstance(form[key], kind), key
    assert form["email"].widget.input_type == "email"
    assert form["phone"].widget.input_type == "tel"
    assert form["scan"].widget.input_type == "file"
    for key in ("intro", "note", "source"):  # shown or fixed, never an input
        assert key not in form
    assert [f["key"] for f in form_class.layout][:3] == ["intro", "note", "source"]
    assert form["invoice_no"].label.text == "Invoice number (pl)"
    assert form["invoice_no"].description == "W prawym górnym rogu"
    assert form["details"].description == ""  # no help in any language
    assert [c[0] for c in form["product"].choices] == ["", "Basic", "Pro", "Enterprise"]
    assert form["kind"].choices[0] == ("copy", "Copy (pl)")
    html = form["invoice_no"]()
    assert 'maxlength="10"' in html and 'minlength="3"' in html
    required = re.compile(r"\srequired[\s>]")
    assert "data-visible-if" in html and not required.search(html)  # conditional: no blocking
    assert required.search(form["email"]()) and 'accept=".pdf,.png"' in form["scan"]()
    assert 'min="0"' in form["amount"]() and 'max="1000"' in form["amount"]()


def test_a_complete_valid_submission_gives_typed_answers(app):
    answers, errors = submit(
        kind="wrong",
        invoice_no=" 12345 ",
        details="Twice the amount",
        phone="+48 601 234 567",
        amount="12,5",
        invoice_date="2026-11-30",
        channels=["post", "mail"],
        post_address="Main St 1",
        product="Pro",
        files=upload(),
    )
    assert errors == {}
    scan = answers.pop("scan")
    assert scan.filename == "scan.pdf"
    assert answers == {
        "source": "portal",
        "kind": "wrong",
        "invoice_no": "12345",
        "details": "Twice the amount",
        "email": "ann@customer.example",
        "phone": "+48 601 234 567",
        "amount": 12.5,
        "invoice_date": "2026-11-30",
        "channels": ["post", "mail"],
        "post_address": "Main St 1",
        "product": "Pro",
        "agree": True,
    }


LIMITS = [
    # (field, posted value, expected message key, other posted values)
    ("kind", "", "required", {}),
    ("kind", "lost", "choice", {}),
    ("email", "", "required", {}),
    ("email", "not-an-address", "email", {}),
    ("email", "a@" + "b" * 260 + ".example", "max_length", {}),
    ("invoice_no", "12", "min_length", {"kind": "copy"}),
    ("invoice_no", "12345678901", "max_length", {"kind": "copy"}),
    ("invoice_no", "12a45", "pattern", {"kind": "copy"}),
    ("invoice_no", "   ", "required", {"kind": "copy"}),
    ("details", "x" * 501, "max_length", {"kind": "wrong", "invoice_no": "123"}),
    ("phone", "call me", "phone", {}),
    ("amount", "twelve", "number", {}),
    ("amount", "1_000", "number", {}),
    ("amount", "nan", "number", {}),
    ("amount", "-1", "minimum", {}),
    ("amount", "1000.5", "maximum", {}),
    ("invoice_date", "30.11.2026", "date", {}),
    ("invoice_date", "2026-02-30", "date", {}),
    ("channels", ["mail", "fax"], "choice", {}),
    ("product", "Ultra", "choice", {}),
    ("agree", "", "checkbox", {}),
]


@pytest.mark.parametrize(("key", "value", "which", "others"), LIMITS)
def test_every_limit_is_enforced_with_its_message(app, key, value, which, others):
    found = errors_of(key, **{**others, key: value})
    assert len(found) == 1, found
    assert found[0].split("{")[0].startswith(MESSAGES[which]["en"].split("{")[0])


def test_a_phone_pattern_of_the_designer_applies_on_top_of_the_phone_check(app):
    schema = with_changes("phone", pattern="^\\+48")
    assert validate_schema(schema, DICTIONARIES) == []
    assert errors_of("phone", schema=schema, phone="+46 70 123 45 67") == [
        MESSAGES["pattern"]["en"]
    ]
    assert errors_of("phone", schema=schema, phone="+48 601 234 567") == []


def test_file_type_and_size_are_checked(app):
    assert errors_of("scan", files=upload("scan.exe")) == [
        "Files of this type are not accepted (allowed: .pdf, .png)."
    ]
    assert errors_of("scan", files=upload("SCAN.PDF")) == []
    assert errors_of("scan", files=upload(size=1024 * 1024 + 1)) == [
        "The file is too large (at most 1 MB)."
    ]
    answers, errors = submit(files=MultiDict({"scan": FileStorage(io.BytesIO(b""), filename="")}))
    assert errors == {} and "scan" not in answers  # optional: nothing uploaded is fine


def test_an_optional_field_left_empty_is_no_answer(app):
    answers, errors = submit(phone="", amount="", invoice_date="", product="")
    assert errors == {}
    assert not {"phone", "amount", "invoice_date", "product"} & set(answers)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "This field is required."),
        ("pl", "To pole jest wymagane."),
        ("sv", "Det här fältet är obligatoriskt."),
        ("de", "Dieses Feld ist erforderlich."),
        ("fr", "This field is required."),  # no translation: English
    ],
)
def test_messages_are_in_the_customers_language(app, language, expected):
    assert errors_of("email", language=language, email="") == [expected]


def test_a_conditional_field_is_required_only_when_visible(app):
    assert errors_of("invoice_no", kind="other") == []
    assert errors_of("invoice_no", kind="copy") == ["This field is required."]
    assert errors_of("post_address", channels=["mail"]) == []
    assert errors_of("post_address", channels=["post"]) == ["This field is required."]


def test_a_value_posted_for_a_field_the_server_considers_hidden_is_dropped(app):
    # The browser showed invoice_no and details (a tampered page, or a stale script) and
    # posts them with kind "other": the server's condition says hidden, so neither is kept,
    # and their invalid values are no error either.
    answers, errors = submit(kind="other", invoice_no="not digits", details="x" * 900)
    assert errors == {}
    assert "invoice_no" not in answers and "details" not in answers


def test_a_claimed_visibility_does_not_make_a_hidden_field_count(app):
    # A client claims "details" is visible; its condition rests on kind, which is invalid
    # ("lost"), so the server sees no kind at all and keeps details hidden.
    answers, errors = submit(kind="lost", details="claimed", details__visible="1")
    assert set(errors) == {"kind"}
    assert "details" not in answers


def test_a_hidden_type_field_keeps_its_fixed_value_whatever_is_posted(app):
    answers, errors = submit(source="forged")
    assert errors == {} and answers["source"] == "portal"


def test_a_chain_of_conditions_drops_the_fields_below_a_hidden_one(app):
    schema = full()
    schema["fields"].append(
        {
            "key": "copies",
            "type": "number",
            "label": label("Copies"),
            "required": True,
            "visible_if": {"required": ["invoice_no"]},
        }
    )
    assert errors_of("copies", schema=schema, kind="copy", invoice_no="123") == [
        "This field is required."
    ]
    answers, errors = submit(schema=schema, kind="other", invoice_no="123", copies="")
    assert errors == {} and "copies" not in answers


ACCEPTED = [
    {},
    {"kind": "copy", "invoice_no": "555"},
    {"kind": "wrong", "invoice_no": "555", "details": "Too much", "amount": "3"},
    {"channels": ["post"], "post_address": "Main St 1", "product": "Basic"},
    {"kind": "other", "invoice_no": "ignored"},
]
REFUSED = [
    {"kind": "copy"},
    {"kind": "wrong", "invoice_no": "555"},
    {"amount": "1001"},
    {"channels": ["post"]},
    {"agree": ""},
    {"email": "nobody"},
]


def _typed(answers):
    return {k: (v.filename if hasattr(v, "filename") else v) for k, v in answers.items()}


@pytest.mark.parametrize("changes", ACCEPTED)
def test_the_json_schema_accepts_what_the_builder_accepts(app, changes):
    answers, errors = submit(**changes)
    assert errors == {}
    validator = Draft202012Validator(json_schema(full(), "en", DICTIONARIES))
    assert list(validator.iter_errors(_typed(answers))) == []


@pytest.mark.parametrize("changes", REFUSED)
def test_the_json_schema_refuses_what_the_builder_refuses(app, changes):
    answers, errors = submit(**changes)
    assert errors
    # The same answers as the customer meant them, typed as the builder would have kept them.
    meant = dict(_typed(answers))
    for key, value in {**VALID, **changes}.items():
        if key in errors:
            if key == "agree":
                meant[key] = False
            elif key == "amount":
                meant[key] = float(value)
            elif value:
                meant[key] = value
    validator = Draft202012Validator(json_schema(full(), "en", DICTIONARIES))
    assert not validator.is_valid(meant), meant


def _choices(form_class, key="product"):
    return [value for value, _label in form_class(meta={"csrf": False})[key].choices]


def test_a_published_versions_class_is_built_once_per_language_and_follows_its_dictionary(app):
    from types import SimpleNamespace

    from forms_designer.builder import form_class_of

    version = SimpleNamespace(id=987_654, status="current", schema=full())
    polish = form_class_of(version, "pl", DICTIONARIES)
    assert form_class_of(version, "pl", DICTIONARIES) is polish  # kept, not built again
    assert form_class_of(version, "de", DICTIONARIES) is not polish
    assert polish(meta={"csrf": False})["invoice_no"].label.text == "Invoice number (pl)"
    # A value added to the dropdown's dictionary since is offered at once.
    grown = {k: [*v, "Ultimate"] for k, v in DICTIONARIES.items()}
    assert "Ultimate" in _choices(form_class_of(version, "pl", grown))
    assert "Ultimate" not in _choices(polish)
    # A draft still changes: it is built every time.
    draft = SimpleNamespace(id=987_655, status="draft", schema=full())
    assert form_class_of(draft, "pl", DICTIONARIES) is not form_class_of(draft, "pl", DICTIONARIES)

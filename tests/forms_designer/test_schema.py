"""The schema checks: a schema the desk can serve passes; each kind of mistake is refused with
a message naming the field; visibility and the JSON Schema follow the conditions."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from forms_designer.schema import FIELD_TYPES, json_schema, validate_schema, visible_keys
from tests.forms_designer.schemas import DICTIONARIES, field, full, label, with_changes


def problems(schema, dictionaries=DICTIONARIES):
    return validate_schema(schema, dictionaries=dictionaries)


def test_the_full_schema_is_accepted_and_uses_every_type():
    assert problems(full()) == []
    assert {f["type"] for f in full()["fields"]} == set(FIELD_TYPES)


def _append(schema, new):
    schema["fields"].append(new)
    return schema


REFUSALS = [
    (
        "unknown type",
        lambda: _append(full(), {"key": "x", "type": "slider", "label": label("X")}),
        "Field 'x': unknown type 'slider'",
    ),
    (
        "duplicate key",
        lambda: _append(full(), {"key": "email", "type": "email", "label": label("Again")}),
        "Field 'email': the key is used by an earlier field",
    ),
    (
        "key not an identifier",
        lambda: _append(full(), {"key": "Bad-Key", "type": "email", "label": label("X")}),
        "Field 'Bad-Key': the key must start with a lowercase letter",
    ),
    (
        "condition on an unknown field",
        lambda: with_changes("phone", visible_if={"required": ["nothing"]}),
        "Field 'phone': visible_if refers to 'nothing', which is not an earlier field",
    ),
    (
        "condition on a later field",
        lambda: with_changes("kind", visible_if={"required": ["email"]}),
        "Field 'kind': visible_if refers to 'email', which is not an earlier field",
    ),
    (
        "condition on a heading",
        lambda: with_changes("phone", visible_if={"required": ["intro"]}),
        "Field 'phone': visible_if refers to 'intro'",
    ),
    (
        "unsupported keyword",
        lambda: with_changes(
            "phone", visible_if={"properties": {"kind": {"pattern": "^c"}}, "required": ["kind"]}
        ),
        "Field 'phone': visible_if on 'kind': unsupported keyword 'pattern'",
    ),
    (
        "value keyword on the answers object",
        lambda: with_changes("phone", visible_if={"const": "x"}),
        "Field 'phone': visible_if: unsupported keyword 'const' here (use it inside properties)",
    ),
    (
        "condition value no option has",
        lambda: with_changes(
            "phone", visible_if={"properties": {"kind": {"const": "lost"}}, "required": ["kind"]}
        ),
        "'lost' is not one of the field's options",
    ),
    (
        "malformed condition number",
        lambda: with_changes("product", visible_if={"properties": {"amount": {"minimum": "5"}}}),
        "Field 'product': visible_if on 'amount': minimum must be a number",
    ),
    (
        "pattern that does not compile",
        lambda: with_changes("invoice_no", pattern="[0-9"),
        "Field 'invoice_no': the pattern '[0-9' does not compile",
    ),
    (
        "min_length above max_length",
        lambda: with_changes("invoice_no", min_length=12, max_length=10),
        "Field 'invoice_no': min_length (12) is greater than max_length (10)",
    ),
    (
        "max_length above the cap",
        lambda: with_changes("invoice_no", max_length=1000),
        "Field 'invoice_no': max_length may be at most 255",
    ),
    (
        "minimum above maximum",
        lambda: with_changes("amount", minimum=10, maximum=5),
        "Field 'amount': minimum (10) is greater than maximum (5)",
    ),
    (
        "choice without options",
        lambda: with_changes("kind", options=[]),
        "Field 'kind': a single_choice field needs at least one option",
    ),
    (
        "duplicate option",
        lambda: with_changes("channels", options=[field(full(), "channels")["options"][0]] * 2),
        "Field 'channels': the option value 'mail' is used twice",
    ),
    (
        "label missing in a declared language",
        lambda: with_changes("email", label={"en": "E-mail", "pl": "E-mail", "sv": " "}),
        "Field 'email': the label has no text in sv, de",
    ),
    (
        "label in an undeclared language",
        lambda: with_changes("email", label={**label("E-mail"), "fr": "Courriel"}),
        "Field 'email': the label is given in fr, which the form does not declare",
    ),
    (
        "option label missing a language",
        lambda: with_changes("kind", options=[{"value": "a", "label": {"en": "A"}}]),
        "Field 'kind': option 'a''s label has no text in pl, sv, de",
    ),
    (
        "dropdown without a dictionary",
        lambda: with_changes("product", dictionary_id=None),
        "Field 'product': a dropdown needs the dictionary",
    ),
    (
        "dropdown of a dictionary that does not exist",
        lambda: with_changes("product", dictionary_id=999),
        "Field 'product': dictionary 999 does not exist or is not active",
    ),
    (
        "limit that does not apply to the type",
        lambda: with_changes("amount", pattern="^1"),
        "Field 'amount': pattern does not apply to a number field",
    ),
    (
        "unknown property",
        lambda: with_changes("amount", colour="red"),
        "Field 'amount': unknown properties colour",
    ),
    (
        "hidden field without its value",
        lambda: with_changes("source", value=None),
        "Field 'source': a hidden field needs its fixed value",
    ),
    (
        "file extension not an extension",
        lambda: with_changes("scan", accept=["pdf"]),
        "Field 'scan': 'pdf' is not a lowercase file extension",
    ),
    (
        "file size above the cap",
        lambda: with_changes("scan", max_size_mb=500),
        "Field 'scan': max_size_mb must be a number above 0 and at most 25",
    ),
    (
        "no languages",
        lambda: {**full(), "languages": []},
        "The form must declare its languages",
    ),
]


@pytest.mark.parametrize(
    ("make", "expected"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_schema_the_desk_cannot_serve_is_refused_with_a_clear_message(make, expected):
    found = problems(make())
    assert any(expected in p for p in found), found


def test_every_problem_is_listed_at_once():
    schema = with_changes("invoice_no", pattern="(", min_length=50, max_length=2)
    field(schema, "amount")["minimum"] = 9
    field(schema, "amount")["maximum"] = 1
    found = problems(schema)
    assert len(found) == 3, found


def test_dictionaries_are_read_from_the_database_when_not_given(app):
    from tests.support.questionnaires import make_dictionary

    products = make_dictionary("Which product?", ["Basic", "Pro"])
    schema = with_changes("product", dictionary_id=products.id)
    assert validate_schema(schema) == []
    assert json_schema(schema, "en")["properties"]["product"]["enum"] == ["Basic", "Pro"]
    products.active = False
    assert any("is not active" in p for p in validate_schema(schema))


def test_visibility_follows_the_conditions_from_the_top():
    schema = full()
    always = {"intro", "note", "source", "kind", "email", "phone", "amount"}
    assert always <= visible_keys(schema, {})
    assert "invoice_no" not in visible_keys(schema, {})
    assert {"invoice_no", "details"} <= visible_keys(schema, {"kind": "wrong"})
    assert "details" not in visible_keys(schema, {"kind": "copy"})
    assert "post_address" in visible_keys(schema, {"channels": ["mail", "post"]})
    assert "post_address" not in visible_keys(schema, {"channels": ["mail"]})


def test_an_invisible_field_hides_the_fields_that_depend_on_it():
    schema = full()
    schema["fields"].append(
        {
            "key": "copies",
            "type": "number",
            "label": label("Copies"),
            "visible_if": {"required": ["invoice_no"]},
        }
    )
    assert problems(schema) == []
    # invoice_no is answered, but invisible once kind is "other": copies goes with it.
    assert "copies" in visible_keys(schema, {"kind": "copy", "invoice_no": "123"})
    assert "copies" not in visible_keys(schema, {"kind": "other", "invoice_no": "123"})


def test_json_schema_requires_a_conditional_field_only_when_visible():
    schema = json_schema(full(), "pl")
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    base = {"kind": "other", "email": "a@b.example", "agree": True}
    assert validator.is_valid(base)
    assert not validator.is_valid({**base, "kind": "copy"})  # invoice number now required
    assert validator.is_valid({**base, "kind": "copy", "invoice_no": "1234"})
    assert not validator.is_valid({**base, "invoice_no": "1234"})  # invisible: must be absent
    assert schema["properties"]["invoice_no"]["title"] == "Invoice number (pl)"
    assert schema["properties"]["invoice_no"]["description"] == "W prawym górnym rogu"
    assert "intro" not in schema["properties"]

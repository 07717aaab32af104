"""Schemas the forms-designer tests share: one field of every type, with a condition."""

from __future__ import annotations

import copy

LANGUAGES = ["en", "pl", "sv", "de"]
PRODUCTS_ID = 7
PRODUCTS = ["Basic", "Pro", "Enterprise"]
DICTIONARIES = {PRODUCTS_ID: PRODUCTS}


def label(text: str) -> dict:
    return {"en": text, "pl": f"{text} (pl)", "sv": f"{text} (sv)", "de": f"{text} (de)"}


def option(value: str) -> dict:
    return {"value": value, "label": label(value.title())}


FULL = {
    "languages": LANGUAGES,
    "fields": [
        {"key": "intro", "type": "heading", "label": label("About your invoice")},
        {"key": "note", "type": "help_text", "label": label("We answer within a day.")},
        {"key": "source", "type": "hidden", "value": "portal"},
        {
            "key": "kind",
            "type": "single_choice",
            "label": label("What happened?"),
            "required": True,
            "options": [option("copy"), option("wrong"), option("other")],
        },
        {
            "key": "invoice_no",
            "type": "short_text",
            "label": label("Invoice number"),
            "help": {"en": "Top right of the invoice", "pl": "W prawym górnym rogu"},
            "required": True,
            "min_length": 3,
            "max_length": 10,
            "pattern": "^[0-9]+$",
            "visible_if": {
                "properties": {"kind": {"enum": ["copy", "wrong"]}},
                "required": ["kind"],
            },
        },
        {
            "key": "details",
            "type": "long_text",
            "label": label("What is wrong?"),
            "required": True,
            "max_length": 500,
            "visible_if": {"properties": {"kind": {"const": "wrong"}}, "required": ["kind"]},
        },
        {"key": "email", "type": "email", "label": label("E-mail"), "required": True},
        {"key": "phone", "type": "phone", "label": label("Phone")},
        {
            "key": "amount",
            "type": "number",
            "label": label("Amount"),
            "minimum": 0,
            "maximum": 1000,
        },
        {"key": "invoice_date", "type": "date", "label": label("Invoice date")},
        {
            "key": "channels",
            "type": "multiple_choice",
            "label": label("Where did you get it?"),
            "options": [option("mail"), option("post"), option("portal")],
        },
        {
            "key": "post_address",
            "type": "short_text",
            "label": label("Postal address"),
            "required": True,
            "visible_if": {
                "properties": {"channels": {"contains": {"const": "post"}}},
                "required": ["channels"],
            },
        },
        {
            "key": "product",
            "type": "dropdown",
            "label": label("Product"),
            "dictionary_id": PRODUCTS_ID,
        },
        {"key": "agree", "type": "checkbox", "label": label("I agree"), "required": True},
        {
            "key": "scan",
            "type": "file",
            "label": label("A scan"),
            "accept": [".pdf", ".png"],
            "max_size_mb": 1,
        },
    ],
}


def full() -> dict:
    return copy.deepcopy(FULL)


def field(schema: dict, key: str) -> dict:
    return next(f for f in schema["fields"] if f["key"] == key)


def with_changes(key: str, **changes) -> dict:
    """The full schema with one field's properties changed (``None`` removes one)."""
    schema = full()
    target = field(schema, key)
    for name, value in changes.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return schema

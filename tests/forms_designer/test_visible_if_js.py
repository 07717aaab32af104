"""The browser's evaluator of conditions (static/forms/visible_if.js) agrees with the server's
(jsonschema) on a table of cases, run in Node and in Debian's headless Chromium; each engine
that is missing skips with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from forms_designer.schema import condition_holds, validate_schema, visible_keys
from tests.forms_designer.schemas import DICTIONARIES, full

SCRIPT = (
    Path(__file__).resolve().parents[2] / "forms_designer" / "static" / "forms" / "visible_if.js"
)
CHROMIUM = "/usr/bin/chromium"

KIND = {"properties": {"kind": {"const": "b"}}, "required": ["kind"]}
CASES = [
    (KIND, {"kind": "b"}),
    (KIND, {"kind": "a"}),
    (KIND, {}),
    ({"properties": {"kind": {"const": "b"}}}, {}),  # properties alone: absent passes
    ({"properties": {"kind": {"enum": ["a", "b"]}}, "required": ["kind"]}, {"kind": "a"}),
    ({"properties": {"kind": {"enum": ["a", "b"]}}, "required": ["kind"]}, {"kind": "c"}),
    ({"not": KIND}, {"kind": "b"}),
    ({"not": KIND}, {}),
    ({"allOf": [KIND, {"required": ["n"]}]}, {"kind": "b", "n": 1}),
    ({"allOf": [KIND, {"required": ["n"]}]}, {"kind": "b"}),
    ({"anyOf": [KIND, {"required": ["n"]}]}, {"n": 0}),
    ({"anyOf": [KIND, {"required": ["n"]}]}, {"kind": "x"}),
    ({"properties": {"n": {"minimum": 5}}, "required": ["n"]}, {"n": 5}),
    ({"properties": {"n": {"minimum": 5}}, "required": ["n"]}, {"n": 4.99}),
    ({"properties": {"n": {"maximum": 5}}}, {"n": 5.0}),
    ({"properties": {"n": {"maximum": 5}}}, {"n": 6}),
    ({"properties": {"n": {"minimum": 5}}}, {"n": "7"}),  # not a number: minimum ignores it
    ({"properties": {"n": {"const": 1}}}, {"n": True}),  # true is no 1
    ({"properties": {"n": {"const": 1}}}, {"n": 1.0}),
    ({"properties": {"ok": {"const": True}}, "required": ["ok"]}, {"ok": True}),
    ({"properties": {"ok": {"const": True}}, "required": ["ok"]}, {"ok": False}),
    ({"properties": {"t": {"minLength": 3}}}, {"t": "ab"}),
    ({"properties": {"t": {"minLength": 3}}}, {"t": "abc"}),
    ({"properties": {"t": {"minLength": 3}}}, {"t": "😀😀"}),  # two characters, four UTF-16 units
    ({"properties": {"t": {"minLength": 2}}}, {"t": "żó"}),
    ({"properties": {"t": {"minLength": 3}}}, {"t": 12345}),  # not a string: ignored
    ({"properties": {"c": {"contains": {"const": "post"}}}}, {"c": ["mail", "post"]}),
    ({"properties": {"c": {"contains": {"const": "post"}}}}, {"c": ["mail"]}),
    ({"properties": {"c": {"contains": {"const": "post"}}}}, {"c": []}),
    ({"properties": {"c": {"contains": {"const": "post"}}}}, {"c": "post"}),  # no array
    ({"properties": {"c": {"const": ["a", "b"]}}}, {"c": ["a", "b"]}),
    ({"properties": {"c": {"const": ["a", "b"]}}}, {"c": ["b", "a"]}),
    ({"properties": {"c": {"not": {"contains": {"enum": ["x", "y"]}}}}}, {"c": ["z"]}),
    ({"required": ["a", "b"]}, {"a": 1, "b": None}),  # an empty answer is no answer
    ({"required": []}, {}),
    ({"properties": {"d": {"enum": ["2026-01-01", "2026-12-04"]}}}, {"d": "2026-12-04"}),
]

ANSWERS = [
    {},
    {"kind": "copy"},
    {"kind": "wrong", "invoice_no": "12"},
    {"kind": "other", "invoice_no": "12", "details": "x"},
    {"channels": ["post"]},
    {"channels": ["mail"], "post_address": "Main St"},
]


def python_results():
    conditions = [condition_holds(condition, answers) for condition, answers in CASES]
    keys = [sorted(visible_keys(full(), answers)) for answers in ANSWERS]
    return conditions, keys


def test_the_cases_are_conditions_the_designer_accepts():
    for condition, _answers in CASES:
        schema = {
            "languages": ["en"],
            "fields": [
                {"key": k, "type": "short_text", "label": {"en": k}}
                for k in ("kind", "n", "ok", "t", "d", "a", "b")
            ]
            + [
                {
                    "key": "c",
                    "type": "multiple_choice",
                    "label": {"en": "c"},
                    "options": [{"value": v, "label": {"en": v}} for v in "ab"]
                    + [{"value": v, "label": {"en": v}} for v in ("mail", "post", "x", "y", "z")],
                },
                {
                    "key": "shown",
                    "type": "short_text",
                    "label": {"en": "s"},
                    "visible_if": condition,
                },
            ],
        }
        assert validate_schema(schema, DICTIONARIES) == [], condition
    conditions, _ = python_results()
    assert True in conditions and False in conditions


NODE_RUNNER = """
const api = require(process.argv[1]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const conditions = input.cases.map(c => api.isVisible(c[0], c[1]));
const keys = input.answers.map(a => api.visibleKeys(input.schema, a).sort());
process.stdout.write(JSON.stringify([conditions, keys]));
"""


def _payload():
    return {"cases": CASES, "answers": ANSWERS, "schema": full()}


def test_node_agrees_with_the_server():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the Chromium test covers the evaluator")
    done = subprocess.run(
        [node, "-e", NODE_RUNNER, str(SCRIPT)],
        input=json.dumps(_payload()),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    conditions, keys = json.loads(done.stdout)
    expected_conditions, expected_keys = python_results()
    assert list(zip(CASES, conditions, strict=True)) == list(
        zip(CASES, expected_conditions, strict=True)
    )
    assert keys == expected_keys


def test_chromium_agrees_with_the_server():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -r requirements-dev.txt)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (scripts/install-test-packages.sh installs chromium)")
    from tests.browser.conftest import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><title>conditions</title>")
            page.add_script_tag(path=str(SCRIPT))
            conditions, keys = page.evaluate(
                """input => [
                    input.cases.map(c => window.LoopdeskForms.isVisible(c[0], c[1])),
                    input.answers.map(a => window.LoopdeskForms.visibleKeys(input.schema, a).sort()),
                ]""",
                _payload(),
            )
        finally:
            browser.close()
    expected_conditions, expected_keys = python_results()
    assert list(zip(CASES, conditions, strict=True)) == list(
        zip(CASES, expected_conditions, strict=True)
    )
    assert keys == expected_keys


def test_the_desk_serves_the_evaluator(client):
    response = client.get("/static/forms_designer/forms/visible_if.js")
    assert response.status_code == 200
    assert b"LoopdeskForms" in response.data and response.mimetype.endswith("javascript")

"""Schemathesis against the desk's own OpenAPI document, in process over the Flask app: every
operation, called with generated input (valid and invalid) as an admin and as an agent,
answers without a server error, and each error has the desk's error body."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

# Examples per operation and generation mode; a run of every operation stays under a minute.
EXAMPLES = int(os.environ.get("LOOPDESK_SCHEMATHESIS_EXAMPLES", "2"))
# Logging in and out with random credentials tests FAB, and trips the login throttle.
SKIPPED = {"/api/v1/security/login", "/api/v1/security/refresh"}


def _operations(app, headers):
    spec = app.test_client().get("/api/v1/_openapi", headers=headers).json
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path not in SKIPPED:
            yield operation


def _error_body_is_the_desks(response) -> str | None:
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("message"), str)):
        return f"not the error body: {response.content[:200]!r}"
    if not isinstance(body.get("errors"), dict):
        return f"no errors object: {response.content[:200]!r}"
    return None


# The admin reaches every operation's code; an agent mostly its refusals and record rules.
ROLES = [
    ("admin", (GenerationMode.POSITIVE, GenerationMode.NEGATIVE), EXAMPLES),
    ("agent_a", (GenerationMode.POSITIVE,), 1),
]


@pytest.mark.parametrize(("username", "modes", "examples"), ROLES, ids=[r[0] for r in ROLES])
def test_no_operation_answers_a_server_error(app, desk, auth, username, modes, examples):
    headers = auth.token(username)
    failures = []
    called = set()
    operations = list(_operations(app, headers))
    for operation in operations:
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy, _=st.just(None))
            def check(case, _):
                response = case.call(headers=headers)
                called.add((case.method, case.path))
                if response.status_code >= 500:
                    # the check's own report: the request to reproduce it with
                    try:
                        case.validate_response(response, checks=[not_a_server_error])
                    except BaseException as exc:  # noqa: BLE001 - collect every operation's
                        failures.append(f"{case.method} {case.formatted_path}: {exc}"[:900])
                    return
                problem = _error_body_is_the_desks(response)
                if problem:
                    failures.append(f"{case.method} {case.formatted_path}: {problem}")

            check()
    assert len(operations) > 80  # the whole API, not a document that failed to load
    assert len(called) == len(operations)
    assert not failures, "\n".join(sorted(set(failures))[:40])

"""Helpers of the REST API tests: a bearer token per role (JWT login)."""

from __future__ import annotations

import pytest


@pytest.fixture
def tokens(app, desk, auth):
    """``tokens("agent_a")``: the Authorization header of that desk user, logged in once."""
    cache: dict[str, dict] = {}

    def token(username: str) -> dict:
        if username not in cache:
            cache[username] = auth.token(username)
        return cache[username]

    return token

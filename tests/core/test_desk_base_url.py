"""Links mailed to customers follow the address the desk is reached at when DESK_BASE_URL is
unset: the request's host and port, else LOOPDESK_HOST:LOOPDESK_PORT (what run.py serves)."""

from __future__ import annotations

from app.core.urls import desk_base_url


def test_unset_by_default(app):
    assert app.config["DESK_BASE_URL"] is None
    assert (app.config["LOOPDESK_HOST"], app.config["LOOPDESK_PORT"]) == ("127.0.0.1", 5000)


def test_inside_a_request_the_host_and_port_the_request_used(app):
    with app.test_request_context("/", base_url="http://desk.local:8123"):
        assert desk_base_url() == "http://desk.local:8123"


def test_outside_a_request_the_served_host_and_port(app):
    app.config["LOOPDESK_PORT"] = 8123
    assert desk_base_url() == "http://127.0.0.1:8123"
    app.config["LOOPDESK_HOST"] = "::1"
    assert desk_base_url() == "http://[::1]:8123"


def test_an_explicit_public_address_wins(app):
    app.config["DESK_BASE_URL"] = "https://desk.example.com/"
    assert desk_base_url() == "https://desk.example.com"
    with app.test_request_context("/", base_url="http://127.0.0.1:8123"):
        assert desk_base_url() == "https://desk.example.com"

"""The address at which people reach the desk, for links that leave it (mail to customers).

``DESK_BASE_URL`` names it in production (``https://desk.example.com``). When it is unset the
desk uses the address it is actually reached at: inside a request the host and port the
browser (or API client) used; outside a request (jobs, CLI) the host and port ``python
run.py`` serves (``LOOPDESK_HOST``, ``LOOPDESK_PORT``). So ``LOOPDESK_PORT=8080 make run``
sends links to port 8080, not to a fixed 5000.
"""

from __future__ import annotations

import socket

from flask import current_app, has_request_context, request

# Hosts that mean "every interface": no one can follow a link to them.
_ANY_HOST = {"", "0.0.0.0", "::", "[::]"}


def served_address(config) -> tuple[str, int]:
    """(host, port) that ``python run.py`` binds, from the configuration."""
    return str(config.get("LOOPDESK_HOST") or "127.0.0.1"), int(config.get("LOOPDESK_PORT") or 5000)


def desk_base_url() -> str:
    """``scheme://host[:port]`` of the desk, without a trailing slash (see the module doc)."""
    configured = current_app.config.get("DESK_BASE_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    host, port = served_address(current_app.config)
    if host in _ANY_HOST:
        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"

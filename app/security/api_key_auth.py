"""API keys at the REST API's door: which header carries one, and acting as its owner within
the key's role.

A client sends ``Authorization: Bearer ldk_…`` or ``X-API-Key: ldk_…``. Flask-AppBuilder's
``protect`` asks the security manager for the key before it looks for a JWT
(``FAB_API_KEY_ENABLED``); ``DeskSecurityManager`` answers with ``presented_key`` and
``authenticate`` below. The keys themselves (hashed at rest, revocable) belong to the
``app.apikeys`` feature, which hands its checker to ``install_authenticator`` when a desk
starts, so this machinery imports no feature.

A valid key makes the request act as the key's owner (``current_actor``), but with only the
key's role: ``scope_of`` narrows the roles Flask-AppBuilder's permission checks and the
record rules (``app.security.roles.role_names``) see, so an admin's key scoped to "Agent"
reads what that agent reads and no more. An unknown or revoked key is answered 401 with
``{"message": …}`` before any view runs, whatever the endpoint.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, has_request_context, jsonify, request

PREFIX = "ldk_"
HEADER = "X-API-Key"
API_PREFIX = "/api/"
REFUSED = "Invalid or revoked API key."
# Kept on the request (its WSGI environ), not on ``g``: an app context, and its ``g``, may
# outlive one request (tests, the CLI), a request's key must not.
_SCOPE = "loopdesk.api_key_scope"  # (user id, role name) of the key in use
_CHECKED = "loopdesk.api_key_checked"  # (key, answer): the key already checked

# authenticator(key) -> (user, role name) of a valid key, or None
Authenticator = Callable[[str], "tuple[object, str] | None"]
_authenticator: Authenticator | None = None


def install_authenticator(authenticator: Authenticator | None) -> None:
    global _authenticator
    _authenticator = authenticator


def presented_key() -> str | None:
    """The API key the request carries, or None (a JWT is no API key)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        if token.startswith(PREFIX):
            return token
    token = request.headers.get(HEADER, "").strip()
    return token or None


def authenticate(key: str):
    """The key's owner, acting within the key's role, or None; once per request."""
    environ = request.environ
    checked = environ.get(_CHECKED)
    if checked is not None and checked[0] == key:
        found = checked[1]
    else:
        found = _authenticator(key) if _authenticator is not None else None
        environ[_CHECKED] = (key, found)
    if found is None:
        return None
    user, role_name = found
    g.user = user
    g._api_key_user = True
    environ[_SCOPE] = (user.id, role_name)
    return user


def scope_of(user) -> str | None:
    """The one role ``user`` acts in during this request (his API key's), or None."""
    if not has_request_context():
        return None
    scope = request.environ.get(_SCOPE)
    if scope is None or scope[0] != getattr(user, "id", None):
        return None
    return scope[1]


def _refuse_bad_keys():
    g.pop("_api_key_user", None)  # Flask-AppBuilder's mark of a key's user: this request's only
    if not request.path.startswith(API_PREFIX):
        return None
    key = presented_key()
    if key is None or authenticate(key) is not None:
        return None
    response = jsonify(message=REFUSED)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="loopdesk", error="invalid_token"'
    return response


def install_api_key_door(app: Flask) -> None:
    app.before_request(_refuse_bad_keys)

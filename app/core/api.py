"""What every REST endpoint shares: one error body, one way to page, the OpenAPI document.

* **Errors.** Every answer under ``/api/`` with a status of 400 or more has the body
  ``{"message": "<for people>", "errors": {<field>: [<reasons>]}}`` (``errors`` is empty when
  no field is to blame). Flask-AppBuilder answers in several shapes: ``{"message": "..."}``
  (401, 403, 404, 500), ``{"message": {<field>: [...]}}`` (its 422 of a schema's validation),
  ``{"msg": "..."}`` (flask-jwt-extended's token errors), and an HTML page for a route that
  does not exist (404) or a method it does not take (405). ``normalise_error_body`` rewrites
  each after the fact, so no view has to remember it and FAB's own paths are covered too.
* **Pages.** FAB's lists take ``page`` and ``page_size`` (in the rison ``q``) and cap the
  size at ``FAB_API_MAX_PAGE_SIZE``; the lists written by hand (``paginate``) take the same
  two query parameters with the same cap and answer ``count`` (all matching rows), ``page``,
  ``page_size`` and ``result``.
* **OpenAPI.** ``/api/v1/_openapi`` declares the two ways in (``jwt``: the bearer token of
  ``/api/v1/security/login``; ``api_key``: ``X-API-Key``, or ``Authorization: Bearer ldk_…``)
  that FAB's operations already refer to, and the error body as a schema; Swagger UI
  (``/swagger/v1``) is FAB's, served with its bundled assets from the desk itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import prison
from apispec import APISpec
from apispec.exceptions import DuplicateComponentNameError
from flask import Flask, current_app, json, jsonify, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.api.manager import OpenApi, SwaggerView
from werkzeug.exceptions import HTTPException

from app.errors import DeskError

API_PREFIX = "/api/"
INVALID_INPUT = "The request has invalid fields."

ERROR_SCHEMA = {
    "type": "object",
    "required": ["message", "errors"],
    "properties": {
        "message": {"type": "string", "description": "What went wrong, for people."},
        "errors": {
            "type": "object",
            "description": "The fields to blame, each with its reasons (may be empty).",
            "additionalProperties": True,
        },
    },
}
ERROR_RESPONSES = {
    "400": "Bad request: invalid input",
    "401": "Not logged in, or an invalid token or API key",
    "403": "The caller's role or a rule of the desk does not allow this",
    "404": "No such record, or not one the caller may see",
    "405": "The method is not allowed here",
    "409": "The record changed, or its state does not allow this",
    "422": "Invalid fields",
    "500": "Server error",
}
SECURITY_SCHEMES = {
    "jwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access_token of POST /api/v1/security/login.",
    },
    "api_key": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (ldk_…) from the API keys page, acting within its role; "
        "also accepted as Authorization: Bearer ldk_….",
    },
}


# --- error bodies ------------------------------------------------------------------------------


def error_body(message: str, errors: dict | None = None, **extra: Any) -> dict:
    return {**extra, "message": message, "errors": errors or {}}


def _as_errors(value) -> dict:
    """A validation's messages as ``{field: [reasons]}``."""
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, list) else [v] for k, v in value.items()}
    if isinstance(value, list):
        return {"_schema": value}
    return {}


def normalised(body: Any, status: int) -> dict:
    """Any error body FAB, flask-jwt-extended or a view wrote, as ``{"message", "errors"}``."""
    if not isinstance(body, dict):
        return error_body(_default_message(status))
    extra = {k: v for k, v in body.items() if k not in ("message", "errors", "msg")}
    message = body.get("message", body.get("msg"))
    errors = _as_errors(body.get("errors"))
    if isinstance(message, (dict, list)):  # FAB's 422: the schema's messages per field
        errors = {**_as_errors(message), **errors}
        message = INVALID_INPUT
    if not isinstance(message, str) or not message:
        message = _default_message(status)
    return error_body(message, errors, **extra)


def _default_message(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def normalise_error_body(response):
    """``after_request``: give every ``/api/`` error the desk's error body."""
    if response.status_code < 400 or not request.path.startswith(API_PREFIX):
        return response
    if response.direct_passthrough or response.is_streamed:
        return response
    body = None
    if response.is_json:
        body = response.get_json(silent=True)
    fixed = normalised(body, response.status_code)
    if body == fixed:
        return response
    response.set_data(json.dumps(fixed))
    response.mimetype = "application/json"
    return response


def _http_error(exc: HTTPException):
    """A route that does not exist, a method it does not take, a body too large …: JSON under
    ``/api/``, the usual page elsewhere."""
    if not request.path.startswith(API_PREFIX):
        return exc
    response = jsonify(error_body(exc.description or _default_message(exc.code or 500)))
    response.status_code = exc.code or 500
    allowed = getattr(exc, "valid_methods", None)
    if exc.code == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _invalid_token(reason: str):
    # flask-jwt-extended answers a malformed token 422; it is a failed login like any other.
    response = jsonify(error_body(f"Invalid token: {reason}"))
    response.status_code = 401
    return response


MAX_ID = 2**63 - 1


def refuse_impossible_ids():
    """``before_request``: an id in the path that no row can have (not a whole number, or
    beyond the database's 64-bit integers) is answered 404 at once. Werkzeug's ``int``
    converter has no upper bound and FAB's ``/<pk>`` routes take any text, which SQLite
    refuses to bind (a 500) and PostgreSQL to compare."""
    if not request.path.startswith(API_PREFIX) or not request.view_args:
        return None
    for name, value in request.view_args.items():
        if name != "pk" and not name.endswith("_id"):
            continue
        text = str(value)
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
            response = jsonify(error_body("Not found"))
            response.status_code = 404
            return response
    return None


def refuse_bad_rison():
    """``before_request``: a ``q`` argument that is no rison is answered 400 here. FAB's
    ``rison`` decorator catches only the parser's own error, and ``(((`` sends the parser
    into endless recursion (a 500)."""
    if not request.path.startswith(API_PREFIX) or "q" not in request.args:
        return None
    try:
        args = prison.loads(request.args["q"])
    except (prison.decoder.ParserException, RecursionError, ValueError, TypeError, IndexError):
        return _bad_request("Not a valid rison/json argument")
    if _has_huge_number(args):
        # the database's integers end at 2**63 (a page, a size, a filter's value)
        return _bad_request("A number in 'q' is too large.")
    page = args.get("page") if isinstance(args, dict) else None
    if isinstance(page, (int, float)) and page < 0:
        return _bad_request("'page' counts from 0.")
    return None


def _has_huge_number(value, depth: int = 0) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return abs(value) > MAX_ID
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return depth < 20 and any(_has_huge_number(v, depth + 1) for v in value)
    return False


def _bad_request(message: str):
    response = jsonify(error_body(message))
    response.status_code = 400
    return response


def install_api_errors(app: Flask) -> None:
    """The error body everywhere under ``/api/`` (after the AppBuilder: its JWT manager)."""
    app.before_request(refuse_impossible_ids)
    app.before_request(refuse_bad_rison)
    app.after_request(normalise_error_body)
    app.register_error_handler(HTTPException, _http_error)
    jwt = app.extensions.get("flask-jwt-extended")
    if jwt is not None:
        jwt.invalid_token_loader(_invalid_token)


# --- pages -------------------------------------------------------------------------------------

DEFAULT_PAGE_SIZE = 25


def _whole(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise DeskError(f"'{name}' is a whole number from 0 up.")
    return int(raw)


def page_args() -> tuple[int, int]:
    """``page`` (from 0) and ``page_size`` of the request; as FAB's lists do, a size of 0 or
    above ``FAB_API_MAX_PAGE_SIZE`` is that maximum."""
    limit = int(current_app.config.get("FAB_API_MAX_PAGE_SIZE") or 100)
    page = _whole("page", 0)
    size = _whole("page_size", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= limit:
        size = limit
    return page, size


def paginate(rows: Sequence, render) -> dict:
    """One page of ``rows`` as ``{"count", "page", "page_size", "result"}``."""
    page, size = page_args()
    start = page * size
    return {
        "count": len(rows),
        "page": page,
        "page_size": size,
        "result": [render(row) for row in rows[start : start + size]],
    }


PAGE_PARAMETERS = [
    {"in": "query", "name": "page", "schema": {"type": "integer", "minimum": 0}},
    {"in": "query", "name": "page_size", "schema": {"type": "integer", "minimum": 1}},
]


# --- the OpenAPI document ----------------------------------------------------------------------


def _declare_components(spec: APISpec) -> None:
    spec.components.schema("Error", ERROR_SCHEMA)
    for code, description in ERROR_RESPONSES.items():
        try:
            spec.components.response(
                code,
                {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            )
        except DuplicateComponentNameError:  # pragma: no cover - declared once per document
            pass


def _document_errors(paths: dict) -> None:
    """Each operation names the errors every call may meet (401, 404 for unknown ids, …)
    unless it documents them itself, each with the error body."""
    for operations in paths.values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in ("400", "401", "403", "404", "500"):
                responses.setdefault(code, {"$ref": f"#/components/responses/{code}"})
            for code, value in list(responses.items()):
                if str(code).startswith(("4", "5")) and "$ref" not in value:
                    value.setdefault(
                        "content",
                        {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    )


class DeskOpenApi(OpenApi):
    """FAB's ``/api/<version>/_openapi`` with the security schemes and the error body
    declared (FAB names ``jwt`` and ``api_key`` on its operations but declares neither)."""

    class_permission_name = "OpenApi"

    @expose("/<version>/_openapi")
    @protect()
    @safe
    def get(self, version):
        """The OpenAPI document of one version of the API.
        ---
        get:
          parameters:
          - in: path
            schema:
              type: string
            name: version
          responses:
            200:
              description: The OpenAPI document
              content:
                application/json:
                  schema:
                    type: object
        """
        spec = self._create_api_spec(version)
        _declare_components(spec)
        found = False
        for view in current_app.appbuilder.baseviews:  # type: ignore[attr-defined]
            if isinstance(view, BaseApi) and view.version == version:
                view.add_api_spec(spec)
                found = True
        if not found:
            return self.response_404()
        document = spec.to_dict()
        # After FAB's SecurityApi, which declares ``api_key`` as a bearer token only.
        document["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
        _document_errors(document.get("paths", {}))
        return self.response(200, **document)


def install_openapi(appbuilder) -> None:
    """The OpenAPI document and, with ``FAB_API_SWAGGER_UI``, Swagger UI (``/swagger/v1``)
    instead of FAB's own (``FAB_ADD_OPENAPI_VIEWS`` is off)."""
    appbuilder.add_api(DeskOpenApi)
    if current_app.config.get("FAB_API_SWAGGER_UI", False):
        appbuilder.add_view_no_menu(SwaggerView)

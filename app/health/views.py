"""``GET /health`` (no login: load balancers and monitoring) and ``GET /metrics`` (Prometheus,
with the ``METRICS_TOKEN``)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from app.health import checks, metrics
from app.health.settings import setting

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    """200 while the database answers (``status`` ok or degraded), 503 when it does not."""
    result = checks.check()
    response = jsonify(result.report)
    response.status_code = 200 if result.serving else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("token") or None


@bp.get("/metrics")
def prometheus_metrics():
    """404 while ``METRICS_TOKEN`` is unset (the figures are not published at all), 403 without
    the token or with a wrong one, else the figures."""
    expected = setting("METRICS_TOKEN")
    if not expected:
        return jsonify(error="not found"), 404
    given = presented_token()
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return jsonify(error="a valid metrics token is required"), 403
    response = Response(metrics.render(), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(appbuilder) -> None:
    current_app.register_blueprint(bp)

"""What every page of the desk is protected by: a CSRF token on every state-changing request,
session cookies a foreign site cannot ride on, and security headers on every response.

* **CSRF.** Flask-WTF's ``CSRFProtect`` checks every POST/PUT/PATCH/DELETE of the UI (our own
  views and Flask-AppBuilder's: ``/users/delete/<pk>`` included). Hand-written forms carry
  ``{{ csrf_token() }}`` in a hidden ``csrf_token`` input. Flask-AppBuilder's REST blueprints
  (``/api/v1/…``) exempt themselves, because a JWT or API-key client sends its credentials in
  the ``Authorization`` header, which a foreign page cannot set. Those APIs also accept the
  browser's session cookie (``allow_browser_login``), so a state-changing API call that is
  authenticated by the session alone must carry the token too (``X-CSRFToken`` header). The
  inbound mail webhook is exempt (``app.mail.webhook``): it is authenticated by its own token.
* **Cookies.** ``SameSite=Lax`` (a cross-site POST carries no session), ``Secure`` when the
  desk's public address (``DESK_BASE_URL``) is https.
* **Headers.** A Content-Security-Policy that allows scripts only from the desk itself or with
  the per-request nonce (Flask-AppBuilder's templates already write ``nonce="{{ csp_nonce() }}"``
  on each of their inline scripts; ``csp_nonce`` is the Jinja global defined here), no framing
  (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``), ``nosniff`` and a same-origin
  referrer. Styles allow ``'unsafe-inline'``: Flask-AppBuilder's templates and widgets
  (select2, the date picker) set ``style`` attributes; an injected style cannot run code.
"""

from __future__ import annotations

import secrets

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.extensions import csrf
from app.security.api_key_auth import install_api_key_door

# FAB's REST APIs; the webhook lives elsewhere (``/inbound/…``) and exempts itself.
API_PREFIX = "/api/"


def install_web_protection(app: Flask) -> None:
    """CSRF, cookie flags and headers for ``app`` (called by ``create_app`` before the
    AppBuilder registers its blueprints, so the REST blueprints find CSRFProtect and exempt
    themselves)."""
    secure = str(app.config.get("DESK_BASE_URL") or "").lower().startswith("https://")
    for prefix in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        app.config[f"{prefix}_SAMESITE"] = "Lax"
        app.config[f"{prefix}_SECURE"] = secure
        app.config[f"{prefix}_HTTPONLY"] = True
    proxies = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if proxies:
        # The client's address (login throttling, Events) and scheme, not the proxy's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    csrf.init_app(app)
    install_api_key_door(app)  # an unknown or revoked API key: 401 before anything else
    app.before_request(_session_api_calls_need_token)
    app.after_request(_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.register_error_handler(CSRFError, _refused)


def csp_nonce() -> str:
    """The nonce of this response's inline scripts (``<script nonce="{{ csp_nonce() }}">``)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str, *, remote_images: bool) -> str:
    """The policy of a page: everything from the desk itself, scripts also with ``nonce``.

    ``remote_images``: mail HTML may show https images (``MAIL_ALLOW_REMOTE_IMAGES``)."""
    images = "'self' data:" + (" https:" if remote_images else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _security_headers(response):
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        content_security_policy(
            csp_nonce(), remote_images=bool(current_app.config.get("MAIL_ALLOW_REMOTE_IMAGES"))
        ),
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _session_api_calls_need_token() -> None:
    """A REST call that changes something and is authenticated only by the browser's session
    cookie must carry the CSRF token (header ``X-CSRFToken``), as a form would: otherwise a
    foreign page could make the browser send it. Calls with an ``Authorization`` header (JWT,
    API key) cannot be forged cross-site and need none; neither does a call without a session
    (the JWT login itself)."""
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True) or not request.path.startswith(API_PREFIX):
        return
    if request.method not in config.get("WTF_CSRF_METHODS", {"POST", "PUT", "PATCH", "DELETE"}):
        return
    if (
        request.headers.get("Authorization")
        or request.headers.get("X-API-Key")
        or not current_user.is_authenticated
    ):
        return
    csrf.protect()


def _refused(exc: CSRFError):
    """400 with a reason a user can act on (reload the page), not a bare error page."""
    message = f"The form was refused ({exc.description}). Reload the page and try again."
    if request.path.startswith(API_PREFIX):
        return jsonify(message=message), 400
    appbuilder = getattr(current_app, "appbuilder", None)
    return render_template(
        "loopdesk/error.html",
        message=message,
        base_template=appbuilder.base_template if appbuilder else "appbuilder/baselayout.html",
        appbuilder=appbuilder,
    ), 400

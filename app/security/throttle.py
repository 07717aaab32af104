"""Login throttling: failed logins are counted per account and per client address over a
moving window; while either count is at its limit, logins there are refused (429), the right
password included, until old failures leave the window. Nobody is locked out for good.

* ``LOGIN_FAILURES_PER_ACCOUNT`` failures (10) of one account within ``LOGIN_FAILURE_WINDOW``
  seconds (900) hold that account's logins; a successful login clears the account's count.
  The account is the user the posted name or e-mail address belongs to (so switching between
  the two spellings gains nothing); an unknown name counts as itself, so the answer does not
  tell which accounts exist.
* ``LOGIN_FAILURES_PER_ADDRESS`` failures (30) from one client address hold that address
  (password spraying over many accounts). Behind a reverse proxy, ``TRUSTED_PROXY_COUNT`` says
  how many ``X-Forwarded-For`` hops to believe, so the address is the client's, not the proxy's.

The counts live in the desk's Redis (``REDIS_URL``: one count for all gunicorn processes; the
embedded queue's in-process store otherwise). Every failed login is an Event
(``login.failed``) with the name and the address, never the password. Both login doors are
covered: the page (``/login/``) and the REST API (``POST /api/v1/security/login``).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, jsonify, render_template, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.audit.models import Event
from app.extensions import db
from app.jobs.queue import connection
from app.security import api_key_auth

log = logging.getLogger(__name__)

# The endpoints that check a password: FAB's login page and its REST login.
LOGIN_ENDPOINTS = {"AuthDBView.login", "SecurityApi.login"}
KEY_PREFIX = "loopdesk:login-failures"
FAILED_LOGIN = "login.failed"
NAME_MAX = 256


def _now() -> float:
    """The clock of the windows (tests move it)."""
    return time.time()


@dataclass(frozen=True)
class Refusal:
    """Why a login is held, and for how long."""

    reason: str
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        return (
            f"Too many failed logins {self.reason}. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )


class LoginThrottle:
    """Moving-window counts of failed logins in Redis (one sorted set of times per key)."""

    def __init__(self, redis, *, per_account: int, per_address: int, window: int):
        self.redis = redis
        self.limits = {"account": per_account, "address": per_address}
        self.window = window

    def _key(self, kind: str, value: str) -> str:
        return f"{KEY_PREFIX}:{kind}:{value}"

    def _times(self, kind: str, value: str, now: float) -> list[float]:
        key = self._key(kind, value)
        pipe = self.redis.pipeline()
        pipe.zremrangebyscore(key, "-inf", now - self.window)
        pipe.zrange(key, 0, -1, withscores=True)
        return [score for _member, score in pipe.execute()[1]]

    def refusal(self, account: str, address: str) -> Refusal | None:
        """Why a login for ``account`` from ``address`` is held now, or None."""
        now = _now()
        for kind, value, reason in (
            ("account", account, "for this account"),
            ("address", address, "from your address"),
        ):
            limit = self.limits[kind]
            times = self._times(kind, value, now)
            if len(times) >= limit:
                # Free again when enough old failures have left the window.
                frees_at = times[len(times) - limit] + self.window
                return Refusal(reason, max(1, math.ceil(frees_at - now)))
        return None

    def failed(self, account: str, address: str) -> bool:
        """Count a failed login; True when it put the account or the address on hold."""
        now = _now()
        pipe = self.redis.pipeline()
        for kind, value in (("account", account), ("address", address)):
            key = self._key(kind, value)
            pipe.zadd(key, {f"{now}:{uuid.uuid4().hex}": now})
            pipe.expire(key, self.window + 1)
        pipe.execute()
        return self.refusal(account, address) is not None

    def succeeded(self, account: str) -> None:
        """The right password: the account's failures are forgiven (the address's are not)."""
        self.redis.delete(self._key("account", account))


def login_throttle(app: Flask | None = None) -> LoginThrottle:
    app = app or current_app
    config = app.config
    return LoginThrottle(
        connection(app),
        per_account=config["LOGIN_FAILURES_PER_ACCOUNT"],
        per_address=config["LOGIN_FAILURES_PER_ADDRESS"],
        window=config["LOGIN_FAILURE_WINDOW"],
    )


def client_address() -> str:
    return request.remote_addr or "unknown"


def account_key(name: str) -> str:
    """One key per account, whichever of its login name or e-mail address was typed."""
    sm = current_app.appbuilder.sm  # type: ignore[attr-defined]
    cleaned = name.strip()
    user = sm.find_user(username=cleaned) or sm.find_user(email=cleaned)
    return f"user:{user.id}" if user is not None else f"name:{cleaned.lower()[:NAME_MAX]}"


def _posted_username() -> str:
    if request.path.startswith("/api/"):
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    return name if isinstance(name, str) else ""


def hold_throttled_logins():
    """``before_request``: answer 429 to a login while its account or address is on hold,
    before any password is checked."""
    if request.method != "POST" or request.endpoint not in LOGIN_ENDPOINTS:
        return None
    username = _posted_username()
    refusal = login_throttle().refusal(
        account_key(username) if username else "name:", client_address()
    )
    if refusal is None:
        return None
    log.warning("login held for %r from %s: %s", username, client_address(), refusal.reason)
    if request.path.startswith("/api/"):
        response = jsonify(message=refusal.message)
    else:
        appbuilder = current_app.appbuilder  # type: ignore[attr-defined]
        response = current_app.make_response(
            render_template(
                "loopdesk/error.html",
                message=refusal.message,
                base_template=appbuilder.base_template,
                appbuilder=appbuilder,
            )
        )
    response.status_code = 429
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def record_failed_login(username: str) -> None:
    """Count the failure and keep it as an Event: who was tried, from where, by which door."""
    account = account_key(username)
    address = client_address()
    held = login_throttle().failed(account, address)
    user_id = int(account.split(":", 1)[1]) if account.startswith("user:") else None
    name = username.strip()[:NAME_MAX]
    db.session.add(
        Event(
            action=FAILED_LOGIN,
            object_type="ab_user",
            object_id=user_id,
            actor_name="anonymous",
            new_value=f"{name} from {address}",
            details={
                "username": name,
                "address": address,
                "via": "api" if request.path.startswith("/api/") else "page",
                "held": held,
            },
        )
    )
    db.session.commit()


class DeskSecurityManager(SecurityManager):
    """Flask-AppBuilder's security manager, with failed logins counted and recorded, and
    the answers of the built-in roles (``FAB_ROLES``, regexes in code) remembered."""

    _builtin_answers: dict[tuple[str, int, str, str], bool]

    def get_user_by_id(self, pk):
        """The logged-in user of a request, with his roles and groups in the same statement
        (every page asks for them: Flask-AppBuilder's plain ``get`` then loaded each lazily,
        two more round trips per request)."""
        user_model = self.user_model
        loaded = self.session.identity_map.get((user_model, (pk,), None))
        if loaded is not None:
            return loaded
        try:
            key = int(pk)
        except (TypeError, ValueError):
            return None
        stmt = (
            select(user_model)
            .where(user_model.id == key)
            .options(joinedload(user_model.roles), joinedload(user_model.groups))
        )
        return self.session.scalars(stmt).unique().first()

    def get_public_permissions(self):
        """The public role's permissions, read once per request: Flask-AppBuilder asks for
        them at every access check (twice for each REST call, two statements each)."""
        if not has_request_context():
            return super().get_public_permissions()
        holder = request._get_current_object()  # type: ignore[attr-defined]
        cached = getattr(holder, "_desk_public_permissions", None)
        if cached is None:
            cached = list(super().get_public_permissions())
            holder._desk_public_permissions = cached
        return cached

    def _has_access_builtin_roles(self, role, permission_name: str, view_name: str) -> bool:
        """Flask-AppBuilder matches every regex of the role for every check, and a page
        makes about thirty (each menu entry, each button): a few milliseconds per page. The
        built-in roles are fixed once the desk has started, so the answer of each (role,
        permission, view) is kept; the key holds the number of the role's rules, so rules
        added while the desk starts (menu access) are never answered from before."""
        answers = self.__dict__.setdefault("_builtin_answers", {})
        key = (role.name, len(self.builtin_roles.get(role.name, ())), permission_name, view_name)
        answer = answers.get(key)
        if answer is None:
            answer = super()._has_access_builtin_roles(role, permission_name, view_name)
            answers[key] = answer
        return answer

    def create_limiter(self, app: Flask):
        """Flask-AppBuilder's Flask-Limiter (the portal's public forms use it too), counting
        in the desk's Redis when ``REDIS_URL`` is set, so all gunicorn processes share the
        counts; in memory otherwise (the embedded default, the tests)."""
        app.config.setdefault(
            "RATELIMIT_STORAGE_URI", limiter_storage_uri(app.config.get("REDIS_URL"))
        )
        return super().create_limiter(app)

    # API keys (``app.security.api_key_auth``): Flask-AppBuilder's ``protect`` asks these
    # before it looks for a JWT.
    def extract_api_key_from_request(self):
        return api_key_auth.presented_key()

    def validate_api_key(self, api_key_string):
        return api_key_auth.authenticate(api_key_string)

    def get_user_roles(self, user):
        """The user's roles; within a request made with his API key, the key's role only."""
        roles = super().get_user_roles(user)
        scope = api_key_auth.scope_of(user)
        return roles if scope is None else [r for r in roles if r.name == scope]

    def auth_user_db(self, username, password):
        user = super().auth_user_db(username, password)
        if username:
            if user is None:
                record_failed_login(username)
            else:
                login_throttle().succeeded(account_key(username))
        return user


def limiter_storage_uri(redis_url: str | None) -> str:
    """Flask-Limiter's storage for ``REDIS_URL`` (``unix://`` is ``redis+unix://`` there)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+" + redis_url
    return redis_url


def install_login_throttle(app: Flask) -> None:
    app.before_request(hold_throttled_logins)

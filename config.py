"""Loopdesk configuration: the core settings, read from environment variables with safe
defaults, and the fixed settings of the frameworks.

Every setting can be overridden by an environment variable of the same name (declared in
``SETTINGS`` below, or in a feature's ``settings.py``; see ``app/core/settings.py``). With
nothing set, Loopdesk runs on an embedded default: a SQLite file under ``instance/``, an
in-process job queue (fakeredis plus a worker thread) and a secret key generated once and
kept under ``instance/``. A bad value stops the desk with one line that names it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.core.encryption import parse_keys
from app.core.settings import (
    Setting,
    address,
    boolean,
    define,
    integer,
    pattern,
    text,
    timezone,
    url,
)

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("LOOPDESK_INSTANCE", BASE_DIR / "instance")).resolve()


def _secret_key() -> str:
    """Return SECRET_KEY, or one generated on first start and kept in instance/secret_key.

    Keeping it on disk means sessions and signed links survive a restart of the desk.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = INSTANCE_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` spelling that many hosting providers hand out."""
    text = str(url).strip()
    if text.startswith("postgres://"):
        return "postgresql://" + text[len("postgres://") :]
    return text


def _database_url(value) -> str:
    result = normalise_database_url(value)
    if "://" not in result:
        raise ValueError("must be a SQLAlchemy URL, e.g. postgresql://user:pass@host/db")
    return result


# The core settings (features declare theirs in their own settings.py).
SETTINGS = define(
    [
        Setting(
            "SQLALCHEMY_DATABASE_URI",
            f"sqlite:///{INSTANCE_DIR / 'loopdesk.db'}",
            _database_url,
            "SQLAlchemy URL; postgresql://user:pass@host/db in production",
            env="DATABASE_URL",
            secret=True,
        ),
        Setting(
            "SQLITE_WAL",
            True,
            boolean,
            "SQLite only: write-ahead log, so readers and the embedded worker do not block "
            "each other",
        ),
        Setting(
            "REDIS_URL",
            None,
            url("redis", "rediss", "unix"),
            "unset: embedded queue (fakeredis + in-process worker thread); set: real Redis "
            "and separate `rq worker --with-scheduler` / `rq cron` processes",
            secret=True,
        ),
        Setting(
            "EMBEDDED_WORKER",
            False,
            boolean,
            "run jobs in a thread of the web process (`make run` turns it on)",
            env="LOOPDESK_EMBEDDED_WORKER",
        ),
        Setting(
            "CASE_NUMBER_PREFIX",
            "LD",
            pattern(r"[A-Z][A-Z0-9]{0,15}", "capital letters and digits, at most 16"),
            "prefix of case numbers and subject tags (LD-000123)",
        ),
        Setting(
            "DEFAULT_SLA_HOURS",
            24,
            integer(minimum=1),
            "hours until a new case is due when its pool has no SLA of its own",
        ),
        Setting("DESK_TIMEZONE", "UTC", timezone, "the desk's time zone"),
        Setting(
            "DESK_DEFAULT_LANGUAGE",
            "en",
            pattern(r"[a-z]{2}(-[a-z0-9]{2,8})?", "a language code such as en or pt-br"),
            "template language used when the customer's language has no version",
        ),
        Setting(
            "DESK_BASE_URL",
            None,
            url("http", "https"),
            "public address of the desk, used in links sent to customers; unset: the address "
            "the desk is reached at (the request's host, else LOOPDESK_HOST:LOOPDESK_PORT)",
        ),
        Setting(
            "SECRETS_KEY",
            None,
            parse_keys,
            "Fernet key(s), comma-separated, that encrypt mailbox passwords and tokens: the "
            "first encrypts, all decrypt (rotation); unset: derived from SECRET_KEY",
            secret=True,
        ),
        Setting(
            "LOGIN_FAILURES_PER_ACCOUNT",
            10,
            integer(minimum=1),
            "failed logins of one account within LOGIN_FAILURE_WINDOW before its logins are held",
        ),
        Setting(
            "LOGIN_FAILURES_PER_ADDRESS",
            30,
            integer(minimum=1),
            "failed logins from one client address within LOGIN_FAILURE_WINDOW before its "
            "logins are held",
        ),
        Setting(
            "LOGIN_FAILURE_WINDOW",
            900,
            integer(minimum=1),
            "seconds a failed login counts; a held login is free again when failures age out",
        ),
        Setting(
            "TRUSTED_PROXY_COUNT",
            0,
            integer(minimum=0, maximum=5),
            "reverse proxies in front of the desk whose X-Forwarded-For/-Proto to believe",
        ),
        Setting("LOOPDESK_HOST", "127.0.0.1", text, "where `python run.py` serves the desk"),
        Setting("LOOPDESK_PORT", 5000, integer(1, 65535), "port `python run.py` serves on"),
        Setting("MAIL_SERVER", "127.0.0.1", text, "default SMTP relay (mailboxes may override)"),
        Setting("MAIL_PORT", 25, integer(1, 65535), "port of the default SMTP relay"),
        Setting("MAIL_USE_TLS", False, boolean, "STARTTLS to the default relay"),
        Setting("MAIL_USE_SSL", False, boolean, "TLS from the start to the default relay"),
        Setting("MAIL_USERNAME", None, text, "login at the default relay"),
        Setting("MAIL_PASSWORD", None, text, "password at the default relay", secret=True),
        Setting(
            "MAIL_DEFAULT_SENDER",
            "support@loopdesk.example",
            address,
            "sender of mail that belongs to no mailbox",
        ),
        Setting(
            "MAIL_DOMAIN",
            "loopdesk.example",
            pattern(r"[A-Za-z0-9.-]+", "a domain name"),
            "the domain of the desk's Message-IDs",
        ),
        Setting(
            "FILE_STORE",
            str(INSTANCE_DIR / "files"),
            text,
            "content-addressed store for raw mail and attachments",
        ),
    ]
)


class Config:
    """Fixed settings of the frameworks; ``create_app`` reads ``SETTINGS`` (and every
    feature's) on top, then ``create_app(test_config)`` overrides."""

    SECRET_KEY = _secret_key()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    RQ_QUEUES = ["default", "mail", "reports", "webhooks"]

    # Flask-AppBuilder
    APP_NAME = "Loopdesk"
    APP_THEME = ""
    FAB_CREATE_DB = False  # the schema belongs to Alembic (flask db upgrade)
    FAB_ADD_SECURITY_VIEWS = True
    FAB_API_SWAGGER_UI = True
    # The desk registers the OpenAPI document and Swagger UI itself (app.core.api: the
    # security schemes and the error body declared).
    FAB_ADD_OPENAPI_VIEWS = False
    FAB_API_MAX_PAGE_SIZE = 100
    # REST calls may carry an API key (app.apikeys); FAB asks the desk's security manager.
    FAB_API_KEY_ENABLED = True
    FAB_UPDATE_PERMS = False  # roles are defined in code (app.security.roles), not in the DB
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    FAB_PASSWORD_COMPLEXITY_ENABLED = False
    # Flask-AppBuilder turns Flask-Limiter off unless told; on, it counts only routes with a
    # limit of their own (the portal's public forms; no default limits), in Redis when
    # REDIS_URL is set (``DeskSecurityManager.create_limiter``).
    RATELIMIT_ENABLED = True
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    LANGUAGES = {"en": {"flag": "gb", "name": "English"}}
    BABEL_DEFAULT_LOCALE = "en"

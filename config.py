"""Loopdesk configuration, read from environment variables with safe defaults.

Every setting can be overridden by an environment variable of the same name. With nothing set,
Loopdesk runs on an embedded default: a SQLite file under ``instance/``, an in-process job queue
(fakeredis plus a worker thread) and a secret key generated once and kept under ``instance/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("LOOPDESK_INSTANCE", BASE_DIR / "instance")).resolve()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


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
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


class Config:
    """Settings shared by every environment; ``create_app(test_config)`` overrides them."""

    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'loopdesk.db'}"
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # SQLite only: write-ahead log, so readers and the embedded worker do not block each other.
    SQLITE_WAL = _bool("SQLITE_WAL", True)

    # Unset: embedded queue (fakeredis + in-process worker thread). Set: real Redis and
    # separate `rq worker --with-scheduler` / `rq cron` processes.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Start the in-process worker thread; `make run` turns it on, tests and gunicorn leave it off.
    EMBEDDED_WORKER = _bool("LOOPDESK_EMBEDDED_WORKER", False)
    RQ_QUEUES = ["default", "mail", "reports"]

    # Flask-AppBuilder
    APP_NAME = "Loopdesk"
    APP_THEME = ""
    FAB_CREATE_DB = False  # the schema belongs to Alembic (flask db upgrade)
    FAB_ADD_SECURITY_VIEWS = True
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    FAB_UPDATE_PERMS = False  # roles are defined in code (app.security.roles), not in the DB
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    FAB_PASSWORD_COMPLEXITY_ENABLED = False
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    LANGUAGES = {"en": {"flag": "gb", "name": "English"}}
    BABEL_DEFAULT_LOCALE = "en"

    # Case numbers look like LD-000123; the prefix is the case tag in subjects.
    CASE_NUMBER_PREFIX = os.environ.get("CASE_NUMBER_PREFIX", "LD")
    # Hours until a new case is due when its pool has no SLA of its own.
    DEFAULT_SLA_HOURS = _int("DEFAULT_SLA_HOURS", 24)
    DESK_TIMEZONE = os.environ.get("DESK_TIMEZONE", "UTC")
    # Language of templates when a customer's language has none of its own.
    DESK_DEFAULT_LANGUAGE = os.environ.get("DESK_DEFAULT_LANGUAGE", "en")
    # Public address of the desk, used in links sent to customers (portal links). Unset: the
    # address the desk is reached at (the request's host, else LOOPDESK_HOST:LOOPDESK_PORT);
    # see app.core.urls.desk_base_url.
    DESK_BASE_URL = os.environ.get("DESK_BASE_URL") or None
    # Where `python run.py` (and so `make run`) serves the desk.
    LOOPDESK_HOST = os.environ.get("LOOPDESK_HOST", "127.0.0.1")
    LOOPDESK_PORT = _int("LOOPDESK_PORT", 5000)

    # Outgoing mail (Flask-Mail); each mailbox may override the relay later.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "support@loopdesk.example")
    MAIL_DOMAIN = os.environ.get("MAIL_DOMAIN", "loopdesk.example")

    # Where raw mail and attachments are stored (content-addressed, sha256).
    FILE_STORE = os.environ.get("FILE_STORE", str(INSTANCE_DIR / "files"))

"""Extension singletons shared by every app instance.

The AppBuilder is deliberately *not* here: one module-global AppBuilder does not register its
views on a second app (see shared notes, stack.md §1.6), so ``create_app`` builds one per app and
keeps it as ``app.appbuilder``.
"""

import sqlite3

from flask import current_app
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

from app.core.permits import sqlite_erasing

db = get_sqla_class()()
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()  # installed by app.security.web


def install_sqlite_pragmas(engine, *, wal: bool) -> None:
    """The embedded SQLite default: enforce foreign keys as PostgreSQL does, wait for a busy
    database instead of failing, and (``SQLITE_WAL``) use WAL so the web server and the
    in-process worker can read while the other writes."""

    def on_connect(dbapi_connection, connection_record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
            # The erasure permit the event table's trigger asks for (app.core.permits).
            dbapi_connection.create_function("loopdesk_erasing", 0, sqlite_erasing)

    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", on_connect)


def appbuilder():
    """The current app's AppBuilder (``create_app`` keeps one per app as ``app.appbuilder``),
    so callers need not reach for an attribute Flask does not declare."""
    return current_app.appbuilder  # type: ignore[attr-defined]

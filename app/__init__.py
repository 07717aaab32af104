"""The Loopdesk application factory."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from flask_appbuilder import AppBuilder
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import features
from app.audit.tracking import install_tracking
from app.cli import register_cli
from app.core.api import install_api_errors, install_openapi
from app.core.encryption import install_encryption
from app.core.settings import resolve_into
from app.errors import ConfigurationError, DeskError
from app.extensions import db, install_sqlite_pragmas, migrate
from app.extensions import mail as flask_mail
from app.jobs.queue import make_connection
from app.security.throttle import DeskSecurityManager, install_login_throttle
from app.security.web import install_web_protection

log = logging.getLogger(__name__)


def create_app(
    test_config: dict | None = None, *, check_services: bool = True, views: bool = True
) -> Flask:
    """Build a desk: config, database, queue, AppBuilder with every feature's views and API,
    record rules and CLI commands (the features are listed in ``app.features``).

    ``test_config`` overrides settings (tests, benchmarks). With ``check_services`` the
    database and Redis are contacted once, so a wrong URL fails here with one clear line.
    ``views=False`` leaves out the pages and the REST API (a third of the start-up time),
    for ``mail pipe``, which an MTA starts once per mail.
    """
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object("config.Config")
    app.config["FAB_ROLES"] = features.fab_roles()
    if test_config:
        app.config.update(test_config)
    resolve_into(app.config, features.settings())  # a bad value stops here, with one line
    install_encryption(app)

    features.import_models()
    install_tracking()
    features.install_record_rules()
    features.set_up_features()

    with app.app_context():
        try:
            db.init_app(app)  # creates the engine: a bad URL or missing driver fails here
        except Exception as exc:
            raise ConfigurationError(
                f"cannot use DATABASE_URL {_redact(app.config['SQLALCHEMY_DATABASE_URI'])}: "
                f"{_first_line(exc)}"
            ) from None
        migrate.init_app(app, db, directory=str(_migrations_dir()))
        flask_mail.init_app(app)
        # Before the AppBuilder: its REST blueprints exempt themselves from CSRF only if
        # CSRFProtect is already there.
        install_web_protection(app)
        install_login_throttle(app)
        install_sqlite_pragmas(db.engine, wal=app.config.get("SQLITE_WAL", True))
        if check_services:
            check_database(app)
        app.extensions["loopdesk_redis"] = _redis(app, check_services)
        # Not at the top: the start page imports the cases' pages, and this package's top is
        # run by every `import app.<anything>` (the worker, the CLI, the models).
        from app.views import DeskIndexView

        appbuilder = AppBuilder(
            base_template="loopdesk/base.html",
            indexview=DeskIndexView,
            security_manager_class=DeskSecurityManager,
        )
        appbuilder.init_app(app, db.session)
        if views:
            from app.core.views import refuse_bad_list_arguments  # not at the top: a page module

            app.before_request(refuse_bad_list_arguments)
            install_openapi(appbuilder)
            features.register_views(appbuilder)
        app.appbuilder = appbuilder

    _register_error_handlers(app)
    install_api_errors(app)
    register_cli(app)

    if app.config.get("EMBEDDED_WORKER") and not app.config.get("REDIS_URL"):
        # The schedule imports every feature's jobs: only a process that runs them needs it.
        from app.jobs.embedded import start_embedded_worker
        from app.schedule import PERIODIC_JOBS

        start_embedded_worker(app, PERIODIC_JOBS)
    return app


def freeze_startup_objects() -> None:
    """Move what start-up built (modules, FAB views, SQLAlchemy mappers: hundreds of
    thousands of objects that live as long as the process) out of the garbage collector's
    sight. Otherwise every full collection walks all of them again: measured on the mail
    intake, one sixth of its time. Forked workers (gunicorn, rq) also keep sharing those
    pages instead of copying them when the collector touches them.

    Called by the entry points that build one app for the life of the process (``run.py``,
    the RQ worker's app), not by ``create_app``: frozen objects are never freed, so a process
    that builds many apps (the tests) would keep them all.
    """
    gc.freeze()


def _migrations_dir():
    return Path(__file__).resolve().parent.parent / "migrations"


def check_database(app: Flask) -> None:
    """Connect once; raise ConfigurationError with one readable line if that fails."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means the same to the operator
        raise ConfigurationError(
            f"cannot use DATABASE_URL {_redact(url)}: {_first_line(getattr(exc, 'orig', exc))}"
        ) from None


def _redis(app: Flask, check: bool):
    url = app.config.get("REDIS_URL")
    try:
        conn = make_connection(url)
        if check and url:
            conn.ping()
    except Exception as exc:
        raise ConfigurationError(
            f"cannot use REDIS_URL {_redact(url)}: {_first_line(exc)}"
        ) from None
    return conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _redact(url: str | None) -> str:
    """Hide a password in a URL before it is printed."""
    if not url:
        return "(unset)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DeskError)
    def desk_error(exc: DeskError):
        db.session.rollback()
        if request.path.startswith("/api/"):
            return jsonify(message=str(exc)), exc.status_code
        return render_template(
            "loopdesk/error.html",
            message=str(exc),
            base_template=app.appbuilder.base_template,
            appbuilder=app.appbuilder,
        ), exc.status_code

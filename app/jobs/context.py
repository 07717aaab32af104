"""Job functions run outside any request: give them an app context.

In the embedded worker the thread already holds the desk's app context. In an ``rq worker``
process the first job builds the app once (from the same environment variables as the web
processes) and every later job reuses it.
"""

from __future__ import annotations

import functools

from flask import has_app_context

from app.core.features import resolve
from app.extensions import db

# The worker process builds the desk the way gunicorn does from "run:app": by name, since
# the job machinery sits below every feature and must not import the factory that wires
# them all together (the layers in pyproject.toml).
APP_FACTORY = "app:create_app"
FREEZE = "app:freeze_startup_objects"
_worker_app = None


def worker_app():
    global _worker_app
    if _worker_app is None:
        _worker_app = resolve(APP_FACTORY)()
        resolve(FREEZE)()  # this app serves every job of the worker process
    return _worker_app


def in_app_context(func):
    """Decorator for job functions: run inside an app context, closing the session after."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        app = worker_app()
        with app.app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper

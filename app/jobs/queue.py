"""The Redis connection and RQ queues of an app.

``REDIS_URL`` set: a real Redis, with separate ``rq worker --with-scheduler`` and ``rq cron``
processes. Unset: an in-memory fakeredis (with Lua, which RQ's scheduler needs) that the
embedded worker thread serves, so ``make run`` needs no Redis server.
"""

from __future__ import annotations

import threading

from flask import current_app
from rq import Queue

_EMBEDDED = "loopdesk_redis_embedded"  # app.extensions: the fakeredis, once somebody asked
_embedded_lock = threading.Lock()


def make_connection(redis_url: str | None):
    """A Redis client for ``redis_url``, or None when it is empty: the app then gets a
    private fakeredis server on first use (see ``connection``)."""
    if redis_url:
        from redis import Redis

        return Redis.from_url(redis_url)
    return None


def connection(app=None):
    """The app's Redis client. The embedded fakeredis is built when first asked for: it
    costs a third of a second, and a one-shot process (``mail pipe``, most commands) never
    needs it."""
    app = app or current_app
    conn = app.extensions.get("loopdesk_redis")
    if conn is not None:
        return conn
    with _embedded_lock:  # the web threads and the embedded worker share one server
        conn = app.extensions.get(_EMBEDDED)
        if conn is None:
            import fakeredis

            conn = fakeredis.FakeStrictRedis(server=fakeredis.FakeServer())
            app.extensions[_EMBEDDED] = conn
    return conn


def get_queue(name: str = "default", app=None) -> Queue:
    app = app or current_app
    return Queue(name, connection=connection(app))


def enqueue(func, *args, queue: str = "default", **kwargs):
    """Put ``func(*args, **kwargs)`` on a queue; RQ options go in as ``job_*`` kwargs."""
    return get_queue(queue).enqueue(func, *args, **kwargs)

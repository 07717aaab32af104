"""The Redis connection and RQ queues of an app.

``REDIS_URL`` set: a real Redis, with separate ``rq worker --with-scheduler`` and ``rq cron``
processes. Unset: an in-memory fakeredis (with Lua, which RQ's scheduler needs) that the
embedded worker thread serves, so ``make run`` needs no Redis server.
"""

from __future__ import annotations

from flask import current_app
from rq import Queue


def make_connection(redis_url: str | None):
    """A Redis client for ``redis_url``, or a private fakeredis server when it is empty."""
    if redis_url:
        from redis import Redis

        return Redis.from_url(redis_url)
    import fakeredis

    return fakeredis.FakeStrictRedis(server=fakeredis.FakeServer())


def connection(app=None):
    app = app or current_app
    return app.extensions["loopdesk_redis"]


def get_queue(name: str = "default", app=None) -> Queue:
    app = app or current_app
    return Queue(name, connection=connection(app))


def enqueue(func, *args, queue: str = "default", **kwargs):
    """Put ``func(*args, **kwargs)`` on a queue; RQ options go in as ``job_*`` kwargs."""
    return get_queue(queue).enqueue(func, *args, **kwargs)

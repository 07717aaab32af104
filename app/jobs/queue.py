"""The Redis connection and RQ queues of an app.

``REDIS_URL`` set: a real Redis, with separate ``rq worker --with-scheduler`` and ``rq cron``
processes. Unset: an in-memory fakeredis (with Lua, which RQ's scheduler needs) that the
embedded worker thread serves, so ``make run`` needs no Redis server.
"""

from __future__ import annotations

import threading

from flask import current_app
from redis import Redis
from rq import Queue

_EMBEDDED = "loopdesk_redis_embedded"  # app.extensions: the fakeredis, once somebody asked
_embedded_lock = threading.Lock()


def make_connection(redis_url: str | None):
    """A Redis client for ``redis_url``, or None when it is empty: the app then gets a
    private fakeredis server on first use (see ``connection``)."""
    if redis_url:
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
            import fakeredis  # not at the top: a third of a second, see above

            conn = fakeredis.FakeStrictRedis(server=fakeredis.FakeServer())
            app.extensions[_EMBEDDED] = conn
    return conn


def get_queue(name: str = "default", app=None) -> Queue:
    app = app or current_app
    return Queue(name, connection=connection(app))


#: RQ's own options, given to ``enqueue`` with a ``job_`` prefix so that they can never be
#: mistaken for the function's arguments (``job_result_ttl=60`` is RQ's ``result_ttl``).
RQ_OPTIONS = frozenset(
    {
        "timeout",
        "result_ttl",
        "ttl",
        "failure_ttl",
        "description",
        "depends_on",
        "id",
        "at_front",
        "meta",
        "retry",
    }
)


def split_job_options(kwargs: dict) -> tuple[dict, dict]:
    """``(function kwargs, RQ options)`` of ``enqueue``'s keyword arguments. RQ's own
    ``Queue.enqueue`` recognises some options only without the prefix and passes every other
    keyword to the function, so a misspelt option used to reach the job as an argument and
    fail it (``deliver_outbox() got an unexpected keyword argument 'job_result_ttl'``); an
    unknown ``job_`` option is refused here, when it is queued."""
    func_kwargs, options = {}, {}
    for key, value in kwargs.items():
        if not key.startswith("job_"):
            func_kwargs[key] = value
            continue
        option = key.removeprefix("job_")
        if option not in RQ_OPTIONS:
            raise TypeError(f"enqueue: unknown job option {key!r}")
        options["job_id" if option == "id" else option] = value
    return func_kwargs, options


def enqueue(func, *args, queue: str = "default", **kwargs):
    """Put ``func(*args, **kwargs)`` on a queue. RQ options go in with a ``job_`` prefix
    (``job_timeout``, ``job_result_ttl``, ``job_id``, …, see ``RQ_OPTIONS``); every other
    keyword is the function's."""
    func_kwargs, options = split_job_options(kwargs)
    return get_queue(queue).enqueue_call(func, args=args, kwargs=func_kwargs, **options)

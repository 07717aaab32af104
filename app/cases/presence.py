"""Who has a case open: the workspace's collision warning ("anna is viewing this case").

Each open case page sends a heartbeat every ``HEARTBEAT_SECONDS`` (htmx polling
``POST /cases/<id>/presence``); a heartbeat says who, and what he is doing (``viewing``, or
``replying`` while he types in the composer). An entry expires ``EXPIRES_SECONDS`` after its
last heartbeat, so a closed tab or a lost connection disappears by itself; leaving the page
removes it at once. No websockets and nothing in the database: the entries live in the desk's
Redis (``REDIS_URL``: one view for every gunicorn process; the embedded queue's in-process
store otherwise), like the login throttle's counts.

Per case, one sorted set (member: user id, score: when his entry expires) and one hash (user id
→ JSON with name and activity); both keys expire with their newest entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from app.cases.models import Case
from app.jobs.queue import connection

HEARTBEAT_SECONDS = 20
EXPIRES_SECONDS = 60
ACTIVITIES = ("viewing", "replying")
KEY_PREFIX = "loopdesk:presence"


def _now() -> float:
    """The clock of the entries (tests move it)."""
    return time.time()


@dataclass(frozen=True)
class Presence:
    """Someone who has the case open."""

    user_id: int
    name: str
    activity: str
    since: float  # when his page first said so

    @property
    def words(self) -> str:
        """ "anna is viewing this case" or "anna is viewing this case (replying)"."""
        return f"{self.name} is viewing this case" + (
            " (replying)" if self.activity == "replying" else ""
        )


def _keys(case_id: int) -> tuple[str, str]:
    return f"{KEY_PREFIX}:{case_id}:until", f"{KEY_PREFIX}:{case_id}:who"


def heartbeat(case: Case, user, activity: str = "viewing") -> None:
    """``user`` has ``case`` open (and is ``activity``) for the next ``EXPIRES_SECONDS``."""
    activity = activity if activity in ACTIVITIES else "viewing"
    now = _now()
    until_key, who_key = _keys(case.id)
    redis = connection()
    earlier = redis.hget(who_key, str(user.id))
    since = now
    if earlier is not None:
        old = json.loads(earlier)
        if old.get("activity") == activity:
            since = old.get("since", now)
    pipe = redis.pipeline()
    pipe.zadd(until_key, {str(user.id): now + EXPIRES_SECONDS})
    pipe.hset(
        who_key,
        str(user.id),
        json.dumps({"name": user.username, "activity": activity, "since": since}),
    )
    for key in (until_key, who_key):
        pipe.expire(key, EXPIRES_SECONDS + 1)
    pipe.execute()


def leave(case: Case, user) -> None:
    """``user`` closed the page: his entry goes at once."""
    until_key, who_key = _keys(case.id)
    pipe = connection().pipeline()
    pipe.zrem(until_key, str(user.id))
    pipe.hdel(who_key, str(user.id))
    pipe.execute()


def present(case: Case, *, besides=None) -> list[Presence]:
    """Who has ``case`` open now (without ``besides``, the asking user), longest first."""
    now = _now()
    until_key, who_key = _keys(case.id)
    redis = connection()
    gone = redis.zrangebyscore(until_key, "-inf", now)
    if gone:
        pipe = redis.pipeline()
        pipe.zremrangebyscore(until_key, "-inf", now)
        pipe.hdel(who_key, *gone)
        pipe.execute()
    ids = redis.zrangebyscore(until_key, now, "+inf")
    if not ids:
        return []
    people = []
    for user_id, raw in zip(ids, redis.hmget(who_key, ids), strict=True):
        if raw is None or (besides is not None and int(user_id) == besides.id):
            continue
        entry = json.loads(raw)
        people.append(Presence(int(user_id), entry["name"], entry["activity"], entry["since"]))
    return sorted(people, key=lambda p: (p.since, p.name))

"""A frozen clock for tests of jobs that count days: ``app.core.timeutil.utcnow`` (which every
column default and service uses) answers the time the test sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import timeutil


class FrozenClock:
    """``clock.now`` is what ``utcnow()`` answers (naive UTC); ``clock.advance(days=7)``."""

    def __init__(self, monkeypatch, start: datetime):
        self.now = start
        clock = self

        class _Frozen(datetime):
            @classmethod
            def now(cls, tz=None):
                moment = clock.now.replace(tzinfo=UTC)
                return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

        monkeypatch.setattr(timeutil, "datetime", _Frozen)

    def advance(self, **delta) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment

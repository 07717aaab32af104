"""Time helpers: the desk stores naive UTC timestamps on every database backend.

SQLite has no time zones, so storing naive UTC everywhere keeps comparisons identical on SQLite
and PostgreSQL; the views convert for display.
"""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current time as naive UTC, the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)

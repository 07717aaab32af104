"""Parsing what people and programs hand to a service, once, in the service.

A form sends strings, JSON sends strings, numbers, booleans or nulls, the CLI sends strings,
and Python callers send real values. Services pass every input through these functions, so
each door accepts and refuses exactly the same values with the same message, and no door
parses on its own (a door that did so answered 500 for a time with an offset once).

Every function raises ``DeskError`` (HTTP 400) naming the field; none lets a ``ValueError``,
``TypeError`` or ``OverflowError`` escape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal, overload

from app.errors import DeskError

# Ids are database integers (32 bit signed on PostgreSQL).
MAX_ID = 2**31 - 1


def parse_time(value, *, field: str = "until") -> datetime:
    """A point in time as the database stores it: naive UTC.

    Takes a ``datetime`` (aware: converted to UTC; naive: taken as UTC) or an ISO 8601 string:
    ``2026-12-05T14:30`` (what a browser's datetime-local field sends), with seconds, with an
    offset (``+02:00``) or ``Z``, or a date alone (midnight UTC).
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise DeskError(
                f"'{field}' must be an ISO date and time, e.g. 2026-12-05T14:30 or "
                "2026-12-05T14:30+02:00."
            ) from None
    elif value is None or (isinstance(value, str) and not value.strip()):
        raise DeskError(f"'{field}' is missing: give a date and time.")
    else:
        raise DeskError(f"'{field}' must be an ISO date and time as text.")
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):
            raise DeskError(f"'{field}' is out of range.") from None
    return moment


def parse_id(value, *, field: str) -> int | None:
    """A record id, or None when the value is empty (``None``, ``""``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise DeskError(f"'{field}' must be an id (a whole number).")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise DeskError(f"'{field}' must be an id (a whole number).")
    if not 0 < number <= MAX_ID:
        raise DeskError(f"'{field}' is not a valid id.")
    return number


@overload
def parse_text(
    value,
    *,
    field: str,
    max_length: int,
    required: Literal[True],
    what: str | None = None,
    one_line: bool = False,
) -> str: ...


@overload
def parse_text(
    value,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    what: str | None = None,
    one_line: bool = False,
) -> str | None: ...


def parse_text(
    value,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    what: str | None = None,
    one_line: bool = False,
) -> str | None:
    """Text with surrounding white space removed; None when empty and not required.

    Refused: text that is not valid Unicode (a lone surrogate from JSON), NUL characters
    (PostgreSQL cannot store them), line breaks in a ``one_line`` field (a subject).
    """
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise DeskError(f"'{field}' must be text.")
    if not text:
        if required:
            raise DeskError(what or f"'{field}' is missing.")
        return None
    if len(text) > max_length:
        raise DeskError(f"'{field}' has at most {max_length} characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DeskError(f"'{field}' is not valid Unicode text.") from None
    if "\x00" in text:
        raise DeskError(f"'{field}' must not contain NUL characters.")
    if one_line and ("\n" in text or "\r" in text):
        raise DeskError(f"'{field}' must be a single line.")
    return text


def parse_choice(value, choices, *, field: str):
    """One of ``choices`` (ints accept their text form, as forms send them)."""
    for choice in choices:
        if value == choice or (
            isinstance(choice, int)
            and not isinstance(value, bool)
            and isinstance(value, str)
            and value.strip() == str(choice)
        ):
            return choice
    allowed = ", ".join(str(c) for c in choices)
    raise DeskError(f"'{field}' must be one of {allowed}.")


def parse_flag(value, *, field: str, default: bool) -> bool:
    """A yes/no switch: booleans, and what forms and JSON clients send for them."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "y"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", "n"):
        return False
    raise DeskError(f"'{field}' must be true or false.")

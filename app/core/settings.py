"""Every setting of the desk, declared once: its name, default, type and meaning.

A setting is read once, when the app is built: from the app config when a caller gave it
(tests, ``create_app(test_config)``), else from the environment variable of the same name,
else its default. The value is parsed and checked on the way in, so a bad value stops the desk
with one line (``loopdesk: MAIL_PORT='abc': not a whole number``) instead of failing later, or
worse, being ignored. Code reads settings from ``current_app.config`` (or ``setting(name)``
where there may be no app context, e.g. when ``rq cron`` builds its schedule).

Core settings are declared in ``config.py``; each feature declares its own in its
``settings.py`` and names the list in its manifest (``Feature.settings``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from app.errors import ConfigurationError

Parser = Callable[[Any], Any]

_DEFINED: dict[str, Setting] = {}


@dataclass(frozen=True)
class Setting:
    """One setting. ``key`` is its name in the app config; ``env`` the environment variable
    (the same name unless told otherwise); ``parse`` turns text (or a value given in the app
    config) into the checked value, raising ValueError with a reason."""

    key: str
    default: Any
    parse: Parser
    doc: str
    env: str = ""
    secret: bool = False

    @property
    def env_name(self) -> str:
        return self.env or self.key

    def read(self, given: Any = None, environ: Mapping[str, str] | None = None) -> Any:
        """The checked value: ``given`` (from the app config) when set, else the
        environment's, else the default."""
        environ = os.environ if environ is None else environ
        source, raw = self.key, given
        if raw is None or raw == "":
            source, raw = self.env_name, environ.get(self.env_name)
        if raw is None or raw == "":
            return self.default
        try:
            return self.parse(raw)
        except (TypeError, ValueError) as exc:
            shown = "***" if self.secret else repr(raw)
            raise ConfigurationError(f"{source}={shown}: {exc}") from None


def define(settings: Iterable[Setting]) -> list[Setting]:
    """Make settings known (so ``setting(name)`` and the README check find them)."""
    listed = list(settings)
    for item in listed:
        _DEFINED[item.key] = item
    return listed


def defined() -> dict[str, Setting]:
    return dict(_DEFINED)


def resolve_into(config: MutableMapping[str, Any], settings: Iterable[Setting]) -> None:
    """Read and check ``settings`` into ``config`` (what ``create_app`` does once)."""
    for item in settings:
        config[item.key] = item.read(config.get(item.key))


def setting(key: str) -> Any:
    """A setting's value: the app's (checked when the app was built), or, outside an app
    context, read from the environment now."""
    if has_app_context() and key in current_app.config:
        return current_app.config[key]
    return _DEFINED[key].read()


# --- parsers ------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected on or off (1/0, true/false, yes/no)")


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("not a whole number")
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError("not a whole number") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise ValueError(f"must be at most {maximum}")
        return number

    return parse


def number(minimum: float | None = None) -> Parser:
    def parse(value: Any) -> float:
        try:
            result = float(value)
        except (TypeError, ValueError):
            raise ValueError("not a number") from None
        if minimum is not None and result < minimum:
            raise ValueError(f"must be at least {minimum}")
        return result

    return parse


def text(value: Any) -> str:
    return str(value).strip()


def choice(*options: str) -> Parser:
    def parse(value: Any) -> str:
        picked = str(value).strip().lower()
        if picked not in options:
            raise ValueError("must be one of " + ", ".join(options))
        return picked

    return parse


def pattern(regex: str, explanation: str) -> Parser:
    compiled = re.compile(regex)

    def parse(value: Any) -> str:
        result = str(value).strip()
        if not compiled.fullmatch(result):
            raise ValueError(explanation)
        return result

    return parse


def url(*schemes: str) -> Parser:
    def parse(value: Any) -> str:
        result = str(value).strip()
        scheme, sep, rest = result.partition("://")
        if not sep or scheme.lower() not in schemes or not rest:
            raise ValueError(
                "must be a URL starting with " + " or ".join(f"{s}://" for s in schemes)
            )
        return result

    return parse


def address(value: Any) -> str:
    result = str(value).strip()
    local, at, domain = result.rpartition("@")
    if not at or not local or "." not in domain or " " in result:
        raise ValueError("must be an e-mail address")
    return result


def limits(value: Any) -> tuple[tuple[int, int], ...]:
    """``M:N`` pairs (at most N in M minutes), e.g. ``10:10,30:15``; or such tuples."""
    if isinstance(value, (tuple, list)):
        pairs = [tuple(p) for p in value]
    else:
        pairs = [tuple(p.split(":")) for p in str(value).split(",") if p.strip()]
    try:
        result = tuple((int(m), int(n)) for m, n in pairs)
    except (TypeError, ValueError):
        raise ValueError("expected minutes:count pairs, e.g. 10:10,30:15") from None
    if not result or any(m <= 0 or n <= 0 for m, n in result):
        raise ValueError("expected positive minutes:count pairs, e.g. 10:10,30:15")
    return result


def timezone(value: Any) -> str:
    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a time zone (e.g. UTC, Europe/Warsaw)") from None
    return name

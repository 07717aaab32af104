"""What a feature folder adds to the desk, written down once in its ``feature.py``.

Every feature of Loopdesk (cases, mail, outbox, answering, the forms designer, reports, …) is
a package with a manifest, the way an Odoo addon has its ``__manifest__``::

    FEATURE = Feature(
        name="cases",
        models=("app.cases.models",),
        views="app.cases.views:register",      # register(appbuilder): views, APIs, menus
        cli="app.cases.cli:register",          # register(app): command groups
        jobs="app.cases.tasks:periodic_jobs",  # periodic_jobs() -> [PeriodicJob, ...]
        record_rules="app.cases.rules:RULES",  # {Model: criterion(user)}
        settings="app.cases.settings:SETTINGS",  # [Setting, ...] (app.core.settings)
        write_rules="app.cases.rules:WRITE_RULES",  # {Model: rule(row, user)}
        setup="app.answering.notices:connect",  # setup(): called once by every app
        permissions={AGENT: [["Case", "can_(list|show)"]], ...},
    )

Adding a feature means writing its folder and one line in ``app/features.py``; nothing
central changes. References are ``"module:attribute"`` strings, resolved only when the desk
needs them, so a manifest imports nothing heavy (``mail pipe`` starts without the views) and
features never import each other through their manifests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class PeriodicJob(NamedTuple):
    """A job that ``rq cron`` (or the embedded worker) enqueues every ``interval`` seconds."""

    func: Callable[..., Any]
    queue: str
    interval: int


@dataclass(frozen=True)
class Feature:
    """The manifest of one feature folder (see the module docstring)."""

    name: str
    models: tuple[str, ...] = ()
    views: str | None = None
    cli: str | None = None
    jobs: str | None = None
    record_rules: str | None = None
    settings: str | None = None  # "pkg.settings:SETTINGS": [Setting, ...]
    write_rules: str | None = None
    # Connects the feature to the others when a desk starts, with or without pages (e.g.
    # answering gives cases its notice renderer: imports stay one way).
    setup: str | None = None
    # Role name -> [[view name regex, permission regex], ...]; both are matched whole.
    permissions: Mapping[str, Sequence[Sequence[str]]] = field(default_factory=dict)


def resolve(ref: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names."""
    module_name, _, attribute = ref.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module

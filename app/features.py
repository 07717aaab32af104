"""The features of the desk, one line each, and what the app factory does with them.

A feature's folder holds its models, views, API, services, record rules, jobs, CLI and
templates; its ``feature.py`` says which of them the desk should register (see
``app.core.features``). The order below is the order of the menus' entries within each
category and of the CLI's command groups; dependencies between features do not depend on it.
"""

from __future__ import annotations

import functools
import importlib

import config
from app.core.features import Feature, PeriodicJob, resolve
from app.core.settings import Setting
from app.security import rules
from app.security.roles import compose_roles, grant_menu_access

FEATURES = (
    "app.cases",
    "app.customers",
    "app.organisation",
    "app.topics",
    "app.agents",
    "app.mail",
    "app.outbox",
    "app.answering",
    "app.knowledge",
    "app.sla",
    "app.consultation",
    "app.questionnaires",
    "app.audit",
    "app.jobs",
    "app.health",
    "forms_designer",
    "reports",
    "app.portal",
    "app.webhooks",
    "app.apikeys",
    "app.privacy",
    "app.search",
)

# Menu categories in the order the navigation shows them, whichever feature adds to them.
MENU_CATEGORIES = (
    ("Desk", "fa-inbox"),
    ("Configuration", "fa-cogs"),
    ("Answering", "fa-reply"),
    ("Archive", "fa-archive"),
)


@functools.cache
def features() -> tuple[Feature, ...]:
    return tuple(importlib.import_module(f"{name}.feature").FEATURE for name in FEATURES)


def import_models() -> None:
    """Import every model module, so ``Model.metadata`` (Alembic's target) is complete and
    every relationship resolves (Flask-AppBuilder's users and roles included)."""
    importlib.import_module("flask_appbuilder.security.sqla.models")
    for feature in features():
        for module in feature.models:
            importlib.import_module(module)


def settings() -> list[Setting]:
    """Every setting of the desk: the core ones (``config.SETTINGS``) and each feature's."""
    found: list[Setting] = list(config.SETTINGS)
    for feature in features():
        if feature.settings:
            found.extend(resolve(feature.settings))
    return found


def install_record_rules() -> None:
    """Hand every feature's record rules to the rule engine (``app.security.rules``)."""
    for feature in features():
        if feature.record_rules:
            rules.register(resolve(feature.record_rules))
        if feature.write_rules:
            rules.register_write_rules(resolve(feature.write_rules))


def set_up_features() -> None:
    """Run every feature's ``setup`` (what connects it to other features)."""
    for feature in features():
        if feature.setup:
            resolve(feature.setup)()


def register_views(appbuilder) -> None:
    """Views, REST APIs, blueprints and menus of every feature, then the menus each role may
    open (a role sees a menu entry only if it may use the page behind it)."""
    for category, icon in MENU_CATEGORIES:
        appbuilder.menu.add_category(category, icon=icon)
    for feature in features():
        if feature.views:
            resolve(feature.views)(appbuilder)
    # Categories nobody filled (e.g. a desk without some feature) are not shown.
    appbuilder.menu.menu = [
        item
        for item in appbuilder.menu.menu
        if item.childs or item.name not in dict(MENU_CATEGORIES)
    ]
    grant_menu_access(appbuilder)


def register_cli(app) -> None:
    for feature in features():
        if feature.cli:
            resolve(feature.cli)(app)


def periodic_jobs() -> list[PeriodicJob]:
    """Every feature's periodic jobs: what ``rq cron`` and the embedded worker schedule."""
    jobs: list[PeriodicJob] = []
    for feature in features():
        if feature.jobs:
            jobs.extend(resolve(feature.jobs)())
    return jobs


def fab_roles() -> dict[str, list[list[str]]]:
    """Flask-AppBuilder's built-in roles, from every feature's permissions (``FAB_ROLES``)."""
    return compose_roles(feature.permissions for feature in features())

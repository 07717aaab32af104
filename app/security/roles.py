"""The four desk roles as Flask-AppBuilder built-in roles.

Permissions are regular expressions over (view permission name, permission) and live in code,
reviewed like code, instead of in database rows that drift. Each feature lists what every role
may do with its views in its manifest (``feature.py``); ``compose_roles`` joins them into
``FAB_ROLES``. Views share permission names with their REST APIs through
``class_permission_name`` (``Case`` for CaseView and CaseApi, ...).

Two rules keep the roles honest:

* Every regex is matched whole. Flask-AppBuilder matches only the start of a name, so
  ``"Case"`` would also grant ``CaseAction`` and ``"Pool"`` the ``Pools`` menu.
* Menus are not granted by hand: ``grant_menu_access`` gives a role the menu entry of a page
  exactly when the role may open that page, so nobody sees a menu that answers 403.

No role has ``can_delete`` on Case, Message, RawMessage or Event; those views and APIs do not
even offer the route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from flask import current_app

from app.security.api_key_auth import scope_of

ADMIN = "Admin"
SUPERVISOR = "Supervisor"
MANAGER = "Manager"
AGENT = "Agent"
DESK_ROLES = (ADMIN, SUPERVISOR, MANAGER, AGENT)

READ = "can_(list|show|get|info|download)"
WRITE = "can_(list|show|get|info|add|edit|post|put|download)"

# What every logged-in desk user may do with his own account.
SELF_SERVICE = [
    ["UserInfoEditView", "can_this_form_(get|post)"],
    ["ResetMyPasswordView", "can_this_form_(get|post)"],
    ["UserDBModelView", "can_userinfo"],
    ["MyUserInfo", ".*"],
]

# Every desk role reads the REST API's description (app.core.api): the OpenAPI document and
# Swagger UI show all endpoints; which of them a caller may use is still his permissions'.
API_DOCS = [["OpenApi", "can_get"], ["SwaggerView", "can_show"]]

MENU_ACCESS = "menu_access"
# A menu link (not a view) names the view permission it leads to: item.loopdesk_requires.
REQUIRES = "loopdesk_requires"


def _whole(pattern: str) -> str:
    return pattern if pattern.endswith("$") else f"(?:{pattern})$"


def compose_roles(
    feature_permissions: Iterable[Mapping[str, Sequence[Sequence[str]]]],
) -> dict[str, list[list[str]]]:
    """``FAB_ROLES`` from the features' permission lists, every regex anchored at the end."""
    roles: dict[str, list[list[str]]] = {ADMIN: [[".*", ".*"]]}
    for role in (SUPERVISOR, MANAGER, AGENT):
        roles[role] = [[_whole(v), _whole(p)] for v, p in SELF_SERVICE + API_DOCS]
    for permissions in feature_permissions:
        for role, rows in permissions.items():
            if role == ADMIN:
                continue  # the admin may do everything anyway
            roles[role].extend([_whole(view), _whole(perm)] for view, perm in rows)
    return roles


def role_allows(pvms: Sequence[Sequence[str]], permission: str, view_name: str) -> bool:
    """The check Flask-AppBuilder makes for a built-in role (``re.match`` of both)."""
    return any(re.match(v, view_name) and re.match(p, permission) for v, p in pvms)


def _requirement(item) -> tuple[str, str] | None:
    """(permission, view permission name) a menu entry's page needs."""
    required = getattr(item, REQUIRES, None)
    if required is not None:
        return required
    view = item.baseview
    if view is None:
        return None
    method = view.default_view
    name = (getattr(view, "method_permission_name", None) or {}).get(method, method)
    return f"can_{name}", view.class_permission_name


def grant_menu_access(appbuilder) -> None:
    """Give each built-in role the menu entries (and their categories) of the pages it may
    open; called once every view is registered."""
    roles = appbuilder.sm.builtin_roles
    for role, pvms in roles.items():
        if role == ADMIN:
            continue
        granted: list[str] = []
        for top in appbuilder.menu.get_list():
            children = top.childs or []
            leaves = children or [top]
            visible = []
            for item in leaves:
                required = _requirement(item)
                if required is not None and role_allows(pvms, *required):
                    visible.append(item.name)
            if visible:
                granted.extend(visible)
                if children:
                    granted.append(top.name)
        pvms.extend([re.escape(name) + "$", MENU_ACCESS + "$"] for name in granted)


def add_link(appbuilder, name: str, href: str, *, requires: tuple[str, str], **kwargs) -> None:
    """``appbuilder.add_link`` that records which permission the link's page needs, so the
    menu entry shows only to roles that hold it."""
    appbuilder.add_link(name, href=href, **kwargs)
    setattr(appbuilder.menu.find(name), REQUIRES, requires)


def user_may(user, permission: str, view_name: str) -> bool:
    """What Flask-AppBuilder answers at a page or API door for ``user`` (``can_close`` on
    ``CaseAction``, ...), for the doors that have no such check: services called from the CLI
    and jobs ask it too, so ``--as manager`` cannot do what the manager's pages refuse."""
    roles = current_app.config.get("FAB_ROLES") or {}
    return any(role_allows(roles.get(name, ()), permission, view_name) for name in role_names(user))


def role_names(user) -> set[str]:
    """Names of the roles a user holds (empty for anonymous users)."""
    if user is None or not getattr(user, "is_authenticated", True):
        return set()
    names = {role.name for role in getattr(user, "roles", []) or []}
    scope = scope_of(user)  # a request made with an API key acts in the key's role only
    return names & {scope} if scope is not None else names

"""Menus follow permissions: a role sees a menu entry exactly when it may open the page behind
it, so nobody clicks into a 403 (the menu entries are derived, see app/security/roles.py)."""

import re

import pytest

MENU_LINK = re.compile(r'<a tabindex="-1" href="([^"]+)">(.*?)</a>', re.S)


def _menu(client) -> dict[str, str]:
    page = client.get("/cases/list/")
    assert page.status_code == 200
    links = MENU_LINK.findall(page.data.decode())
    return {re.sub(r"<[^>]+>|&nbsp;", "", label).strip(): href for href, label in links}


@pytest.mark.parametrize("username", ["agent_a", "supervisor_a", "manager", "admin"])
def test_every_menu_entry_opens_for_the_role_that_sees_it(client, auth, desk, username):
    auth.login(username)
    menu = _menu(client)
    assert "Open cases" in menu and "All cases" in menu
    for label, href in menu.items():
        response = client.get(href)
        assert response.status_code == 200, (
            f"{username}: menu {label!r} ({href}) answers {response.status_code}"
        )


def test_a_manager_sees_no_menu_he_cannot_use(client, auth, desk):
    """Managers read everything and change nothing: no Security pages, no Outbox (retries),
    no 'Open a case'."""
    auth.login("manager")
    menu = _menu(client)
    for hidden in ("List Users", "List Roles", "Outbox", "Open a case"):
        assert hidden not in menu
    assert {"Pools", "Raw mail", "Events", "Templates"} <= set(menu)
    assert client.get("/users/list/").status_code == 403
    assert client.get("/caseaction/open").status_code == 403


def test_an_agent_sees_no_archive_or_security_menu(client, auth, desk):
    """...but the event tracker, which shows him the events of his cases only."""
    auth.login("agent_a")
    menu = _menu(client)
    for hidden in ("Raw mail", "Quarantine", "Outbox", "List Users", "Agents"):
        assert hidden not in menu
    assert "Open a case" in menu
    assert "Events" in menu


def test_role_patterns_are_matched_whole(app):
    """Flask-AppBuilder matches role patterns at the start only: 'Case' must not grant the
    'CaseAction' view, nor 'Pool' the 'Pools' menu."""
    from app.security.roles import role_allows

    manager = app.appbuilder.sm.builtin_roles["Manager"]
    assert role_allows(manager, "can_list", "Case")
    assert not role_allows(manager, "can_close", "CaseAction")
    assert not role_allows(manager, "can_list", "CaseActionX")

"""The four desk roles as Flask-AppBuilder built-in roles.

Permissions are regular expressions over (view permission name, permission) and live in code,
reviewed like code, instead of in database rows that drift. Views share permission names with
their REST APIs through ``class_permission_name`` (``Case`` for CaseView and CaseApi, ...).

No role has ``can_delete`` on Case, Message, RawMessage or Event; those views and APIs do not
even offer the route.
"""

ADMIN = "Admin"
SUPERVISOR = "Supervisor"
MANAGER = "Manager"
AGENT = "Agent"
DESK_ROLES = (ADMIN, SUPERVISOR, MANAGER, AGENT)

READ = "can_(list|show|get|info|download)"
WRITE = "can_(list|show|get|info|add|edit|post|put|download)"
CASE_WORK = "can_(list|show|get|info|edit|put|transition|claim|release|close|case_action|thread)"

# Agent case actions of app/answering (view and API share the "CaseAction" permissions);
# approving replies is for supervisors.
ANSWERING_AGENT_ACTIONS = "can_(reply|note|forward|postpone|close|reopen|open)"
ANSWERING_SUPERVISOR_ACTIONS = "can_(reply|note|forward|postpone|close|reopen|open|approve)"

_SELF_SERVICE = [
    ["UserInfoEditView", "can_this_form_(get|post)"],
    ["ResetMyPasswordView", "can_this_form_(get|post)"],
    ["UserDBModelView", "can_userinfo"],
    ["MyUserInfo", ".*"],
    ["(Open cases|All cases|Case|Customer|Pool|Skill|Topic|My profile|Desk)", "menu_access"],
]

AGENT_PERMISSIONS = [
    ["Case", CASE_WORK],
    ["Message", READ],
    ["Customer", READ],
    ["Pool", READ],
    ["Skill", READ],
    ["Topic", READ],
    ["Mailbox", READ],
    ["Event", "can_(get|info)"],  # a case's history through the API; no Events menu
    # Answering (app/answering): case actions, templates and the document library.
    ["CaseAction", ANSWERING_AGENT_ACTIONS],
    ["(ResponseTemplate|Document)", READ],
    ["(Answering|Templates|Documents|Open a case)", "menu_access"],
    *_SELF_SERVICE,
]

SUPERVISOR_PERMISSIONS = [
    ["Case", CASE_WORK],
    ["Message", READ],
    ["Customer", "can_(list|show|get|info|edit|put)"],
    ["Pool", "can_(list|show|get|info|edit|put)"],
    ["(Mailbox|Skill|Topic|Agent|Membership|Absence|IntakeForm)", WRITE],
    ["(Event|RawMessage)", READ],
    ["RawMessage", "can_reprocess"],
    ["CategoryRule", WRITE],
    ["(Quarantine|Category rules)", "menu_access"],
    ["Outbox", "can_(list|show|retry)"],
    ["Outbox", "menu_access"],
    ["CaseAction", ANSWERING_SUPERVISOR_ACTIONS],
    ["(ResponseTemplate|PoolLayout|Signature|Document)", WRITE],
    [
        "(Answering|Templates|Headers & footers|Signatures|Documents|Document versions"
        "|Open a case)",
        "menu_access",
    ],
    [
        "(Configuration|Mailboxes|Skills|Topics|Agents|Memberships|Absences|Events|Raw mail)",
        "menu_access",
    ],
    *_SELF_SERVICE,
]

MANAGER_PERMISSIONS = [
    [
        "(Case|Message|Customer|Pool|Mailbox|Skill|Topic|Agent|Membership|Absence|IntakeForm"
        "|Event|RawMessage|CategoryRule)",
        READ,
    ],
    ["(ResponseTemplate|PoolLayout|Signature|Document)", READ],
    [".*", "menu_access"],
    *_SELF_SERVICE,
]

FAB_ROLES = {
    ADMIN: [[".*", ".*"]],
    SUPERVISOR: SUPERVISOR_PERMISSIONS,
    MANAGER: MANAGER_PERMISSIONS,
    AGENT: AGENT_PERMISSIONS,
}


def role_names(user) -> set[str]:
    """Names of the roles a user holds (empty for anonymous users)."""
    if user is None or not getattr(user, "is_authenticated", True):
        return set()
    return {role.name for role in getattr(user, "roles", []) or []}

"""Manifest of answering: templates, layouts, signatures, documents, the agent's case
actions and the portal link page (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR, WRITE

# Agent case actions (view and API share the "CaseAction" permissions); approving replies
# is for supervisors.
AGENT_ACTIONS = "can_(reply|note|forward|postpone|close|reopen|open)"
SUPERVISOR_ACTIONS = "can_(reply|note|forward|postpone|close|reopen|open|approve)"

FEATURE = Feature(
    name="answering",
    models=("app.answering.models",),
    views="app.answering.views:register",
    jobs="app.answering.tasks:periodic_jobs",
    record_rules="app.answering.record_rules:RULES",
    permissions={
        AGENT: [["CaseAction", AGENT_ACTIONS], ["(ResponseTemplate|Document)", READ]],
        SUPERVISOR: [
            ["CaseAction", SUPERVISOR_ACTIONS],
            ["(ResponseTemplate|PoolLayout|Signature|Document)", WRITE],
        ],
        MANAGER: [["(ResponseTemplate|PoolLayout|Signature|Document)", READ]],
    },
)

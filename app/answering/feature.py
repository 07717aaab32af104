"""Manifest of answering: templates and notices, layouts, signatures, documents, replies and
their approval, and the portal link page (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="answering",
    models=("app.answering.models",),
    views="app.answering.views:register",
    record_rules="app.answering.record_rules:RULES",
    write_rules="app.answering.record_rules:WRITE_RULES",
    setup="app.answering.templates:connect",
    settings="app.answering.settings:SETTINGS",
    permissions={
        # Replies share the case actions' permission view (CaseAction) with app.cases.
        AGENT: [["CaseAction", "can_reply"], ["(ResponseTemplate|Document)", READ]],
        SUPERVISOR: [
            ["CaseAction", "can_(reply|approve)"],
            ["(ResponseTemplate|PoolLayout|Signature|Document)", WRITE],
        ],
        MANAGER: [["(ResponseTemplate|PoolLayout|Signature|Document)", READ]],
    },
)

"""Manifest of the knowledge base: articles of standard answers in several languages, the
editor page, the reply composer's picker, usage counts and the portal's public suggestions
(see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR, WRITE

FEATURE = Feature(
    name="knowledge",
    models=("app.knowledge.models",),
    views="app.knowledge.views:register",
    record_rules="app.knowledge.record_rules:RULES",
    write_rules="app.knowledge.record_rules:WRITE_RULES",
    settings="app.knowledge.settings:SETTINGS",
    permissions={
        # can_use: the reply composer's picker (insert an article, counted).
        AGENT: [["KnowledgeArticle", READ], ["KnowledgeArticle", "can_use"]],
        SUPERVISOR: [["KnowledgeArticle", WRITE], ["KnowledgeArticle", "can_use"]],
        MANAGER: [["KnowledgeArticle", READ]],
    },
)

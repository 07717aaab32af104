"""Manifest of search (see ``app.core.features``): the navigation's box, the advanced page
and ``GET /api/v1/search``, over the index the migration's triggers keep (``models``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, SUPERVISOR

FEATURE = Feature(
    name="search",
    models=("app.search.models",),
    views="app.search.views:register",
    settings="app.search.settings:SETTINGS",
    record_rules="app.search.record_rules:RULES",
    permissions={
        AGENT: [["Search", "can_search"]],
        SUPERVISOR: [["Search", "can_search"]],
        MANAGER: [["Search", "can_search"]],
    },
)

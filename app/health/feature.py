"""Manifest of health and metrics (see ``app.core.features``): two routes, one setting."""

from app.core.features import Feature

FEATURE = Feature(
    name="health",
    views="app.health.views:register",
    settings="app.health.settings:SETTINGS",
)

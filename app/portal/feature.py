"""Manifest of the customer portal: public pages (login link, his cases, the case page with
reply and close, the exit survey) in English, Polish, Swedish and German (see
``app.core.features``)."""

from app.core.features import Feature

FEATURE = Feature(
    name="portal",
    models=("app.portal.models",),
    views="app.portal.views:register",
    settings="app.portal.settings:SETTINGS",
)

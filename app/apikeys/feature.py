"""Manifest of the REST API's keys (see ``app.core.features``): the model, the admin's page
and the checker the API's door uses (``app.security.api_key_auth``)."""

from app.core.features import Feature

FEATURE = Feature(
    name="apikeys",
    models=("app.apikeys.models",),
    views="app.apikeys.views:register",
    record_rules="app.apikeys.record_rules:RULES",
    setup="app.apikeys.services:install",
)

"""Manifest of the webhooks to a CRM (see ``app.core.features``): subscriptions, the
deliveries written with every change they tell of, the delivery jobs and the admin's pages.
Only admins (who hold every permission) see any of it."""

from app.core.features import Feature

FEATURE = Feature(
    name="webhooks",
    models=("app.webhooks.models",),
    views="app.webhooks.views:register",
    jobs="app.webhooks.tasks:periodic_jobs",
    record_rules="app.webhooks.record_rules:RULES",
    settings="app.webhooks.settings:SETTINGS",
    setup="app.webhooks.capture:install",
)

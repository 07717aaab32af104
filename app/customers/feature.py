"""Manifest of customers (see ``app.core.features``)."""

from app.core.features import Feature
from app.security.roles import AGENT, MANAGER, READ, SUPERVISOR

FEATURE = Feature(
    name="customers",
    models=("app.customers.models",),
    views="app.customers.views:register",
    permissions={
        AGENT: [["Customer", READ]],
        SUPERVISOR: [["Customer", "can_(list|show|get|info|add|post|edit|put)"]],
        MANAGER: [["Customer", READ]],
    },
)

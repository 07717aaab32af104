"""Manifest of the reports (see ``app.core.features``). Report runs have no record rule yet,
so only admins and managers see them (deny by default)."""

from app.core.features import Feature

FEATURE = Feature(name="reports", models=("reports.models",))

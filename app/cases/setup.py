"""What cases connect when a desk starts (the ``setup`` of the cases manifest)."""

from __future__ import annotations

from app.cases import due, handover


def connect() -> None:
    """Due times follow the SLA calendars; absences hand over through cases."""
    due.connect()
    handover.connect()

"""When a department has to answer: the one place that computes a consultation's deadline.

Plain hours for now; the SLA calendar (business hours, holidays) replaces the body of
``consultation_deadline`` without any caller changing.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def consultation_deadline(sent_at: datetime, department) -> datetime:
    """The moment ``department`` should have answered a consultation sent at ``sent_at``."""
    return sent_at + timedelta(hours=int(department.response_hours or 0))

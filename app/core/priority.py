"""Case priorities: stored as small integers so "most urgent first" is a plain ORDER BY."""

from enum import IntEnum


class Priority(IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


PRIORITY_CHOICES = [(p.value, p.label) for p in Priority]


def priority_label(value) -> str:
    try:
        return Priority(int(value)).label
    except (TypeError, ValueError):
        return "–"

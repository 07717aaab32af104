"""Mail that belongs to a case without being the customer's: e.g. a department answering a
consultation (``app.consultation``).

Features above the intake hand it a *claimer* when a desk starts (their manifest's
``setup``), the way answering hands cases its notice sender: the intake asks every claimer
about each mail before it threads it, and imports nothing of theirs. A claimed mail joins the
claimer's case with the claimer's direction (never ``inbound``: it is no customer mail), opens
no case, reopens none, gets no auto-response; the claimer's ``record`` then does the rest in
the intake's transaction (mark the consultation answered, move the case, its Events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class SideReply:
    """What a claimer says about a mail: its case, the direction of its thread entry, the
    rule that recognised it (recorded as ``threaded_by``) and what to do with the new
    message (called before the flush, inside the intake's transaction)."""

    case: object
    direction: str
    rule: str
    record: Callable[[object], None]


# claimer(parsed mail, hygiene flags, extra Message-IDs (a bounce's original)) -> SideReply
Claimer = Callable[[object, set, Sequence[str]], "SideReply | None"]

_claimers: list[Claimer] = []


def install(claimer: Claimer) -> None:
    """Let ``claimer`` look at every incoming mail (once per process; again is a no-op)."""
    if claimer not in _claimers:
        _claimers.append(claimer)


def claim(parsed, flags: set, extra_ids: Sequence[str] = ()) -> SideReply | None:
    """The first claimer's answer for this mail, or None: a mail like any other."""
    for claimer in _claimers:
        found = claimer(parsed, flags, extra_ids)
        if found is not None:
            return found
    return None

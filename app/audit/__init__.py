"""The event tracker: who did what, when, to which case. Events are append-only."""

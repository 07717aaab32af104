"""API keys for the REST API: hashed at rest, scoped to one role of their owner, revocable."""

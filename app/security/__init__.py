"""Roles (what each role may do) and record rules (which rows each user may see)."""

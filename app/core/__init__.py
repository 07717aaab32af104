"""Small helpers every feature uses (time, enums)."""

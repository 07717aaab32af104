"""The no-code intake-form designer. For now: the form model that topics link to."""
